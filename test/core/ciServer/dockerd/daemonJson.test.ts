import { strict as assert } from "node:assert";
import { withLiveRestore } from "../../../../core/ciServer/dockerd/daemonJson";
import { fixture } from "../../../helpers/fixtures";

describe("core/ciServer/dockerd/daemonJson withLiveRestore", () => {
  it("adds the key to Collaborage's daemon.json, keeping its indent and every other byte", () => {
    assert.equal(withLiveRestore(fixture("collaborage/ci-daemon.json")),
      '{\n   "insecure-registries": ["192.0.2.3:19081"],\n   "live-restore": true\n}\n');
  });

  it("an absent or empty file becomes a file with just the key", () => {
    assert.equal(withLiveRestore(null), '{\n  "live-restore": true\n}\n');
    assert.equal(withLiveRestore(" \n"), '{\n  "live-restore": true\n}\n');
  });

  it("one-line and empty objects, nested values and strings with braces", () => {
    assert.equal(withLiveRestore('{"a": {"b": [1, "}"]}, "c": "x,y"}'), '{"a": {"b": [1, "}"]}, "c": "x,y", "live-restore": true}');
    assert.equal(withLiveRestore("{}\n"), '{\n  "live-restore": true\n}\n');
    assert.equal(withLiveRestore('{\n\t"debug": false\n}'), '{\n\t"debug": false,\n\t"live-restore": true\n}');
  });

  it("a key already true is left as is; false (and duplicates) become true in place", () => {
    const on = '{ "live-restore": true, "debug": true }';
    assert.equal(withLiveRestore(on), on);
    assert.equal(withLiveRestore('{\n  "live-restore": false,\n  "debug": true\n}\n'), '{\n  "live-restore": true,\n  "debug": true\n}\n');
    assert.equal(withLiveRestore('{"live-restore": false, "live-restore": false}'), '{"live-restore": true, "live-restore": true}');
    // A nested key of the same name is not the daemon's option.
    assert.equal(withLiveRestore('{"x": {"live-restore": false}}'), '{"x": {"live-restore": false}, "live-restore": true}');
  });

  it("refuses text dockerd could not load, naming the file", () => {
    assert.throws(() => withLiveRestore('{"a": 1,}'), /^Error: \/etc\/docker\/daemon\.json on the CI server is not valid JSON .*Fix it by hand/);
    assert.throws(() => withLiveRestore("[1]"), /must hold a JSON object \(\{\.\.\.\}\); found an array/);
    assert.throws(() => withLiveRestore('"x"'), /found string/);
  });
});
