import { strict as assert } from "node:assert";
import { closest, editDistance } from "../../settings/suggest";

describe("did-you-mean suggestions", () => {
  it("counts edits, a case change as one", () => {
    assert.equal(editDistance("runer", "runner"), 1);
    assert.equal(editDistance("idletime", "idleTime"), 1);
    assert.equal(editDistance("idleTime", "idleTime"), 0);
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(editDistance("", "abc"), 3);
  });

  it("suggests the nearest known key only when it is close", () => {
    const keys = ["ciServer", "upgrade", "proxy", "ami", "workers", "runner", "sshPrivateKey", "proxyCredentials"];
    assert.equal(closest("runer", keys), "runner");
    assert.equal(closest("worker", keys), "workers");
    assert.equal(closest("sshPrivatekey", keys), "sshPrivateKey");
    assert.equal(closest("ciserver", keys), "ciServer");
    assert.equal(closest("colour", keys), undefined);
    assert.equal(closest("am", keys), "ami");
    assert.equal(closest("xy", keys), undefined);
    assert.equal(closest("runnr", ["runner", "runners"]), "runner", "the nearest, not the first close one");
  });
});
