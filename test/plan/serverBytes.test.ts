// What reaches the servers, pinned: for every bundled stack and every set of CI server files a test
// uses, `npm run plan -- --out` writes files/ and diffs/ byte-identical to the golden copy in
// test/fixtures/server-bytes/. That copy must change ONLY when a server byte is meant to change
// (rewrite it with test/plan/writeServerBytes.ts and say why in the commit); a refactor never touches it.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BLOBS, caseDir, goldenTrees, planInto, serverTrees, SERVER_SOURCES, STACKS } from "./serverBytes";
import { sha256Hex } from "../../core/remote/readResult";

describe("server bytes: plan --out files/ and diffs/ equal the golden copy", function () {
  this.timeout(300000);
  let work: string;
  before(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), "gra-server-bytes-"))));
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it("covers every bundled stack and the CI server layouts", () => {
    assert.ok(STACKS.includes("Pulumi.dev.yaml") && STACKS.includes("Pulumi.autoscaler.yaml") && STACKS.some((s) => s.startsWith("examples/")), STACKS.join());
    assert.deepEqual([...SERVER_SOURCES].sort(), ["ci-1.1.0", "ci-2.1.0", "examples-ci-server"]);
  });

  it("every golden blob is the content its name (sha256) says: none was edited by hand", () => {
    const blobs = fs.readdirSync(BLOBS);
    assert.ok(blobs.length > 10);
    for (const b of blobs) assert.equal(sha256Hex(fs.readFileSync(path.join(BLOBS, b), "utf8")), b, b);
  });

  for (const stack of STACKS) for (const source of SERVER_SOURCES) {
    it(`${stack} on ${source}`, async () => {
      const golden = goldenTrees(stack, source);
      assert.ok(golden.size > 0, `no golden copy in ${caseDir(stack, source)}`);
      const got = serverTrees(await planInto(stack, source, work));
      assert.deepEqual([...got.keys()].sort(), [...golden.keys()].sort(), "the same files");
      for (const [rel, content] of golden) assert.ok(got.get(rel) === content, `${rel} differs from its golden copy (${path.relative(process.cwd(), caseDir(stack, source))}/index.txt)`);
    });
  }
});
