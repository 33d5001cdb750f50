// Small pure predicates shared by the settings validator and the renderers.

export function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIPv4Cidr(s: string): boolean {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  return !!m && isIPv4(m[1]) && Number(m[2]) <= 32;
}

export function isHostname(s: string): boolean {
  return s.length <= 253 && /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$/.test(s);
}

/** A NO_PROXY entry as Go's net/http (runner, docker-machine, dockerd) understands it. */
export function isNoProxyEntry(s: string): boolean {
  if (s === "*") return true;
  const host = s.replace(/^\./, "").replace(/:\d{1,5}$/, "");
  return isIPv4(host) || isIPv4Cidr(s) || isHostname(host);
}

export const AWS_ID = {
  ami: /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/,
  vpc: /^vpc-[0-9a-f]{8}([0-9a-f]{9})?$/,
  subnet: /^subnet-[0-9a-f]{8}([0-9a-f]{9})?$/,
  securityGroup: /^sg-[0-9a-f]{8}([0-9a-f]{9})?$/,
} as const;

export const isRegion = (s: string) => /^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(s);
export const isZoneLetter = (s: string) => /^[a-z]$/.test(s);
export const isInstanceType = (s: string) => /^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(s);

/** http(s)://host:port with an optional trailing slash and no credentials, path or query. */
export function proxyUrlProblem(s: string): string | undefined {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return "a URL with a scheme, e.g. http://192.0.2.1:3128";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "a URL with scheme http:// or https://";
  if (url.username || url.password) return "a URL without credentials (put user:password in the secret key proxyCredentials)";
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) return "scheme://host:port only, without a path";
  if (!url.port) return "a URL with an explicit port, e.g. http://192.0.2.1:3128";
  return undefined;
}
