// The brief's own contract for OfflineWorld.execute (offline/mockEngine.ts): "when set, remote
// commands run through it instead of being answered from serverFiles". programRun.ts has to work
// around it not holding (READ_PATHS_WORKAROUND); this test keeps the defect visible.
import { strict as assert } from "node:assert";
import { apply, ciRoutes, hostStackConfig } from "../programRun";
import { useSandbox } from "../sandbox";

describe("offline engine with execute: serverFiles are not needed", function () {
  this.timeout(60_000);
  const ci = useSandbox("ci-2.1.0");

  it("runs the program with execute set and serverFiles {}", async () => {
    const sb = ci();
    const run = await apply(hostStackConfig(sb), { routes: ciRoutes(sb), serverFiles: {} });
    assert.equal(run.error?.message.match(/offline read [^:]+: no server file given for its path/)?.[0], undefined,
      "OfflineEngine.newResource computes answer() (the serverFiles look-up) even when execute ran the command");
    assert.equal(run.error, undefined, String(run.error));
  });
});
