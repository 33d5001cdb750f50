import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { imageOf } from "../../../core/ciServer/compose/composeFile";
import { plannedHops, upgradePath } from "../../../core/gitlabUpgrade/path";
import { isStopMinor } from "../../../core/gitlabUpgrade/stops";
import { formatVersion, imageVersion, parseVersion, versionText } from "../../../core/gitlabUpgrade/version";

const FIX = path.resolve(__dirname, "../../fixtures/collaborage");
/** GitLab's version in each Collaborage compose fixture. */
const fixtureGitlab = (file: string) => imageVersion(imageOf(fs.readFileSync(path.join(FIX, file), "utf8"), "gitlab")!)!;
const hops = (from: string, to: string, overrides: string[] = []) => upgradePath(parseVersion(from), parseVersion(to), overrides.map(parseVersion));
const texts = (p: { hops: { major: number; minor: number; patch?: number }[] }) => p.hops.map(formatVersion);

const TO_17_11 = ["16.3.9", "16.7.10", "16.11.10", "17.1.8", "17.3.7", "17.5.5", "17.8.7", "17.11.7"];
/** Stop patches an operator gives for 18.x (examples of the form; the program knows none). */
const STOPS_18 = ["18.2.8", "18.5.6", "18.8.7"];

describe("GitLab upgrade path", () => {
  it("reads 16.0.6 from the 2.1.0 and 2.0.0 fixtures and 12.4.2 from the 1.1.0 one", () => {
    assert.equal(versionText(fixtureGitlab("ci-docker-compose.yml")), "16.0.6");
    assert.equal(versionText(fixtureGitlab("ci-docker-compose.v2.0.0.yml")), "16.0.6");
    assert.equal(versionText(fixtureGitlab("ci-docker-compose.v1.1.0.yml")), "12.4.2");
  });

  it("Collaborage 2.x (16.0.6) to 17.11.7: every stop, then the target", () => {
    assert.deepEqual(texts(upgradePath(fixtureGitlab("ci-docker-compose.yml"), parseVersion("17.11.7"))), TO_17_11);
  });

  it("Collaborage 1.1 (12.4.2) to 17.11.7: the stops of 12 to 15 first", () => {
    assert.deepEqual(texts(upgradePath(fixtureGitlab("ci-docker-compose.v1.1.0.yml"), parseVersion("17.11.7"))), [
      "12.10.14", "13.0.14", "13.1.11", "13.8.8", "13.12.15", "14.0.12", "14.3.6", "14.9.5", "14.10.5",
      "15.0.5", "15.4.6", "15.11.13", ...TO_17_11,
    ]);
  });

  it("to the newest 18.x (18.11): the 18.x stops with the operator's patches; without them, the missing stops", () => {
    const withPatches = hops("16.0.6", "18.11.3", STOPS_18);
    assert.deepEqual(texts(withPatches), [...TO_17_11, ...STOPS_18, "18.11.3"]);
    assert.deepEqual(withPatches.missingPatches, []);
    const without = hops("16.0.6", "18.11.3");
    assert.deepEqual(texts(without), [...TO_17_11, "18.2.z (latest patch)", "18.5.z (latest patch)", "18.8.z (latest patch)", "18.11.3"]);
    assert.deepEqual(without.missingPatches.map(formatVersion), ["18.2.z (latest patch)", "18.5.z (latest patch)", "18.8.z (latest patch)"]);
    assert.deepEqual(texts(hops("12.4.2", "18.11.3", STOPS_18)).slice(-5), ["17.11.7", ...STOPS_18, "18.11.3"]);
  });

  it("a patch of the running minor, a move inside one stop interval, and no move at all", () => {
    assert.deepEqual(texts(hops("16.0.6", "16.0.10")), ["16.0.10"]);
    assert.deepEqual(texts(hops("16.4.0", "16.6.2")), ["16.6.2"]);
    assert.deepEqual(texts(hops("16.3.2", "16.4.0")), ["16.3.9", "16.4.0"], "a stop means its latest patch");
    assert.deepEqual(texts(hops("17.11.7", "17.11.7")), []);
    assert.deepEqual(texts(hops("17.11.7", "16.0.6")), [], "a downgrade is no path (the verdict refuses it)");
  });

  it("an override replaces a known patch too", () => {
    assert.deepEqual(texts(hops("16.0.6", "16.8.0", ["16.7.9"])), ["16.3.9", "16.7.9", "16.8.0"]);
  });

  it("plans the hop resources from 16.0, whatever the server runs", () => {
    assert.deepEqual(texts(plannedHops(parseVersion("17.11.7"))), TO_17_11);
    assert.deepEqual(texts(plannedHops(parseVersion("12.6.8"))), ["12.6.8"], "below the floor: the target alone");
    assert.deepEqual(texts(plannedHops(parseVersion("16.0.10"))), ["16.0.10"]);
  });

  it("knows which minors are stops (for upgrade.stopVersions)", () => {
    assert.deepEqual(["18.2.8", "18.3.1", "17.11.7", "16.4.0", "19.5.0"].map((v) => isStopMinor(parseVersion(v))), [true, false, true, false, true]);
  });
});
