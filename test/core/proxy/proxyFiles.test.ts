import { strict as assert } from "node:assert";
import { noProxyList, noProxyValue } from "../../../core/proxy/noProxy";
import { aptProxyConf, dockerdProxyDropIn, profileExports, withCredentials } from "../../../core/proxy/proxyFiles";

const urls = { http: "http://192.0.2.1:3128", https: "http://192.0.2.1:3128", noProxy: "localhost,127.0.0.1,192.0.2.3,192.0.2.0/24" };

describe("NO_PROXY list", () => {
  it("holds loopback, the CI host, the worker subnet and the user's extras, once each", () => {
    assert.deepEqual(
      noProxyList({ ciHost: "192.0.2.3", workerSubnetCidr: "192.0.2.0/24", instanceRole: false, extra: ["gitlab.example.com", "192.0.2.3", ".internal"] }),
      ["localhost", "127.0.0.1", "192.0.2.3", "192.0.2.0/24", "gitlab.example.com", ".internal"],
    );
  });

  it("adds the metadata service when credentials come from an instance role", () => {
    assert.ok(noProxyList({ ciHost: "192.0.2.3", instanceRole: true, extra: [] }).includes("169.254.169.254"));
    assert.ok(!noProxyList({ ciHost: "192.0.2.3", instanceRole: false, extra: [] }).includes("169.254.169.254"));
  });

  it("rejects malformed entries by name", () => {
    assert.throws(() => noProxyValue({ ciHost: "192.0.2.3", instanceRole: false, extra: ["10.0.0.0/40", "bad host"] }), /invalid NO_PROXY entries: 10\.0\.0\.0\/40, bad host/);
  });
});

describe("proxy files", () => {
  it("apt: one Acquire line per scheme, in its own conf.d file", () => {
    assert.equal(aptProxyConf(urls), 'Acquire::http::Proxy "http://192.0.2.1:3128/";\nAcquire::https::Proxy "http://192.0.2.1:3128/";\n');
  });

  it("profile: upper and lower case exports, quoted", () => {
    assert.equal(profileExports(urls), [
      "export HTTP_PROXY='http://192.0.2.1:3128'",
      "export HTTPS_PROXY='http://192.0.2.1:3128'",
      "export NO_PROXY='localhost,127.0.0.1,192.0.2.3,192.0.2.0/24'",
      "export http_proxy='http://192.0.2.1:3128'",
      "export https_proxy='http://192.0.2.1:3128'",
      "export no_proxy='localhost,127.0.0.1,192.0.2.3,192.0.2.0/24'",
      "",
    ].join("\n"));
  });

  it("dockerd drop-in: a [Service] section with the three variables (the runbook copies the whole unit)", () => {
    assert.equal(dockerdProxyDropIn(urls), [
      "# Managed by gitlab-runner-autoscaling (pulumi). Removed by pulumi destroy.",
      "[Service]",
      'Environment="HTTP_PROXY=http://192.0.2.1:3128"',
      'Environment="HTTPS_PROXY=http://192.0.2.1:3128"',
      'Environment="NO_PROXY=localhost,127.0.0.1,192.0.2.3,192.0.2.0/24"',
      "",
    ].join("\n"));
  });

  it("escapes systemd specifiers so a URL-encoded password survives", () => {
    const url = withCredentials("http://192.0.2.1:3128", "user:p%w@d");
    assert.equal(url, "http://user:p%25w%40d@192.0.2.1:3128");
    assert.match(dockerdProxyDropIn({ ...urls, http: url }), /HTTP_PROXY=http:\/\/user:p%%25w%%40d@192\.0\.2\.1:3128"/);
  });

  it("leaves a URL without credentials as it is", () => {
    assert.equal(withCredentials("http://192.0.2.1:3128"), "http://192.0.2.1:3128");
    assert.equal(withCredentials("http://192.0.2.1:3128/", "u:p"), "http://u:p@192.0.2.1:3128/");
  });
});
