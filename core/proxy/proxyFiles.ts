// Proxy files for the AMI builder and the CI server. The runbook appends to /etc/apt/apt.conf and
// copies the whole docker.service unit; separate files are idempotent, reversible and survive
// package upgrades of the unit.

export interface ProxyUrls {
  http: string;
  https: string;
  noProxy: string;
}

export const APT_PROXY_PATH = "/etc/apt/apt.conf.d/95gitlab-runner-autoscaling-proxy";
/** On the builder (and so in the AMI): the drop-in docker-machine's own one must not erase. */
export const BUILDER_DOCKER_DROPIN_PATH = "/etc/systemd/system/docker.service.d/http-proxy.conf";
/** On the CI server: our own name, so an operator's existing drop-in is left alone. */
export const CI_DOCKER_DROPIN_PATH = "/etc/systemd/system/docker.service.d/gitlab-runner-autoscaling-proxy.conf";
export const PROFILE_MARKER = "gitlab-runner-autoscaling proxy";

const withSlash = (url: string) => (url.endsWith("/") ? url : `${url}/`);

export function aptProxyConf(p: Pick<ProxyUrls, "http" | "https">): string {
  return `Acquire::http::Proxy "${withSlash(p.http)}";\nAcquire::https::Proxy "${withSlash(p.https)}";\n`;
}

/** Upper- and lower-case exports: curl reads lower case, Go tools read both. */
export function profileExports(p: ProxyUrls): string {
  const pairs: [string, string][] = [
    ["HTTP_PROXY", p.http], ["HTTPS_PROXY", p.https], ["NO_PROXY", p.noProxy],
    ["http_proxy", p.http], ["https_proxy", p.https], ["no_proxy", p.noProxy],
  ];
  return pairs.map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'\n`).join("");
}

/** systemd expands % specifiers in Environment=; a URL-encoded password must keep its %. */
const systemdValue = (v: string) => v.replace(/%/g, "%%").replace(/\\/g, "\\\\").replace(/"/g, '\\"');

export function dockerdProxyDropIn(p: ProxyUrls): string {
  return [
    "# Managed by gitlab-runner-autoscaling (pulumi). Removed by pulumi destroy.",
    "[Service]",
    `Environment="HTTP_PROXY=${systemdValue(p.http)}"`,
    `Environment="HTTPS_PROXY=${systemdValue(p.https)}"`,
    `Environment="NO_PROXY=${systemdValue(p.noProxy)}"`,
    "",
  ].join("\n");
}

/** Proxy URL with user:password spliced in (the credentials are a Pulumi secret). */
export function withCredentials(url: string, credentials?: string): string {
  if (!credentials) return url;
  const i = credentials.indexOf(":");
  const user = i < 0 ? credentials : credentials.slice(0, i);
  const pass = i < 0 ? "" : credentials.slice(i + 1);
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(pass);
  return u.toString().replace(/\/$/, url.endsWith("/") ? "/" : "");
}

export function hasCredentials(p: Pick<ProxyUrls, "http" | "https">): boolean {
  return [p.http, p.https].some((u) => {
    const url = new URL(u);
    return !!(url.username || url.password);
  });
}

/** The URLs as previews and plans show them: credentials replaced by [secret]. */
export function maskProxyUrls(p: ProxyUrls): ProxyUrls {
  return { http: maskUrlCredentials(p.http), https: maskUrlCredentials(p.https), noProxy: p.noProxy };
}

/** A URL with its user:password (if any) replaced by [secret]. */
export const maskUrlCredentials = (url: string) => url.replace(/^(\w+:\/\/)[^@/]*@/, "$1[secret]@");

/**
 * Any text (a message, a warning, a plan line) with the password of every URL in it masked, the
 * user name kept: `http://user:****@host:3128`. A user part without a password may be a token, so
 * it is masked whole. For values typed in plain config; a secret's URL goes through maskUrlCredentials.
 */
export const maskCredentialsInText = (text: string) =>
  text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:"'<>]*)(:[^\s/?#"'<>]*)?@/gi, (_m, scheme: string, user: string, pass?: string) =>
    pass !== undefined ? `${scheme}${user}:****@` : user === "[secret]" ? `${scheme}[secret]@` : `${scheme}****@`);
