// `npm run plan -- --from-server`: the server's files hold secrets the plan must never show (the
// runner token, proxy passwords, the access key's secret). Before anything is planned, each secret
// value is replaced by a placeholder: those the program writes itself by the placeholder the
// offline plan writes in their place (so an unchanged value compares equal), any other by a
// numbered one. The vault remembers what it replaced, to check a rebuilt text against the server's
// sha256 marker (unredact) and to scrub every output as a last guard. Pure, in memory only.
import { PLACEHOLDER_PROVIDER_SECRET, PLACEHOLDER_PROXY_CREDENTIALS } from "./placeholders";
import { withCredentials } from "../core/proxy/proxyFiles";

/** The user:password part of a URL as the offline plan writes it (core/proxy/proxyFiles.ts's withCredentials). */
export const PLACEHOLDER_USERINFO = /^\w+:\/\/([^@]*)@/.exec(withCredentials("http://h/", PLACEHOLDER_PROXY_CREDENTIALS))![1];

const UNIQUE = /gra-redacted-secret-\d+/g;
export const SCRUB_MIN_LENGTH = 8;

export class SecretVault {
  private readonly byPlaceholder = new Map<string, Set<string>>();
  private readonly uniqueOf = new Map<string, string>();

  /** Replaces `real` by a shared placeholder (one the offline plan also writes). */
  shared(placeholder: string, real: string): string {
    if (real === placeholder) return placeholder;
    const set = this.byPlaceholder.get(placeholder) ?? new Set<string>();
    set.add(real);
    this.byPlaceholder.set(placeholder, set);
    return placeholder;
  }

  /** Replaces `real` by its own numbered placeholder (the same value, the same placeholder). */
  unique(real: string): string {
    if (new RegExp(`^${UNIQUE.source}$`).test(real)) return real;
    let p = this.uniqueOf.get(real);
    if (!p) {
      p = `gra-redacted-secret-${this.uniqueOf.size + 1}`;
      this.uniqueOf.set(real, p);
      this.byPlaceholder.set(p, new Set([real]));
    }
    return p;
  }

  /** Every real value replaced so far. */
  secrets(): string[] {
    return [...this.byPlaceholder.values()].flatMap((s) => [...s]);
  }

  /**
   * The text with each placeholder put back, or undefined when one stands for several values (two
   * proxy passwords, say): then the original bytes cannot be known.
   */
  unredact(text: string): string | undefined {
    let out = text;
    for (const [p, reals] of this.byPlaceholder) {
      if (!out.includes(p)) continue;
      if (reals.size !== 1) return undefined;
      out = out.split(p).join([...reals][0]);
    }
    return out;
  }

  /** Any text with every secret the vault saw replaced by [secret]: the last guard before output. */
  scrub(text: string): string {
    const forms = new Set<string>();
    for (const s of this.secrets()) {
      forms.add(s);
      // A URL's user:password travels percent-encoded; its password alone may show too.
      for (const v of [s, safeDecode(s)]) {
        forms.add(v);
        const i = v.indexOf(":");
        if (i >= 0) forms.add(v.slice(i + 1));
      }
    }
    let out = text;
    // Short values (Collaborage's database password is "gitlab") would match ordinary words: they
    // are only kept out of the data the plan sees (redactServerText), not searched for in text.
    for (const f of [...forms].filter((x) => x.length >= SCRUB_MIN_LENGTH).sort((a, b) => b.length - a.length)) out = out.split(f).join("[secret]");
    // The numbered placeholders of other secrets (the runner token) read as what they stand for.
    return out.replace(UNIQUE, "[secret]");
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Keys whose value is a secret in config.toml, env and ini files (token_obtained_at is a date: unquoted, not matched). */
const SECRET_NAME = /(token|password|passwd|secret)/i;

/** `text` with every secret value replaced (see the file comment); the vault learns each one. */
export function redactServerText(text: string, vault: SecretVault): string {
  return text
    // Proxy URLs with credentials: common.env, the docker drop-in, config.toml's engine-env.
    .replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>]+)@/gi, (_m, scheme: string, userinfo: string) => `${scheme}${vault.shared(PLACEHOLDER_USERINFO, userinfo)}@`)
    // The access key's secret, as the program writes it (docker-machine's option, the cache's SecretKey, the fleeting credentials).
    .replace(/(amazonec2-secret-key=)([^"\s,\]]+)/g, (_m, k: string, v: string) => k + vault.shared(PLACEHOLDER_PROVIDER_SECRET, v))
    .replace(/^([ \t]*SecretKey[ \t]*=[ \t]*")((?:[^"\\]|\\.)*)"/gm, (_m, k: string, v: string) => `${k}${vault.shared(PLACEHOLDER_PROVIDER_SECRET, v)}"`)
    .replace(/^([ \t]*aws_secret_access_key[ \t]*=[ \t]*)(\S+)/gm, (_m, k: string, v: string) => k + vault.shared(PLACEHOLDER_PROVIDER_SECRET, v))
    // Anything else named like a secret: TOML `token = "…"` or `'…'`, env `REGISTRY_PASSWORD=…`
    // (bare or quoted, also as a compose list item, itself bare or quoted), YAML `POSTGRES_PASSWORD: …`
    // (also in a flow map), omnibus `gitlab_rails['db_password'] = '…'`.
    .replace(/^([ \t]*([A-Za-z0-9_.-]+)[ \t]*=[ \t]*(["']))((?:(?!\3)[^\\]|\\.)*)\3/gm, (m, k: string, name: string, q: string, v: string) =>
      SECRET_NAME.test(name) && looksSecret(v) ? `${k}${vault.unique(v)}${q}` : m)
    .replace(/^([ \t]*(?:-[ \t]+)?(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=)([^\s"'].*)$/gm, (m, k: string, name: string, v: string) =>
      SECRET_NAME.test(name) && looksSecret(v) ? k + vault.unique(v) : m)
    .replace(/^([ \t]*-[ \t]+(["'])([A-Za-z_][A-Za-z0-9_]*)=)((?:(?!\2)[^\\]|\\.)*)\2/gm, (m, k: string, q: string, name: string, v: string) =>
      SECRET_NAME.test(name) && looksSecret(v) ? `${k}${vault.unique(v)}${q}` : m)
    .replace(/([{,][ \t]*(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2[ \t]*:[ \t]*)(["']?)([^,}"'\s][^,}"']*?)\4(?=[ \t]*[,}])/g,
      (m, k: string, _q: string, name: string, vq: string, v: string) =>
        SECRET_NAME.test(name) && looksSecret(v) ? `${k}${vq}${vault.unique(v)}${vq}` : m)
    .replace(/^([ \t]*(?:-[ \t]+)?(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2:[ \t]+)([^\s|>&*#].*?)([ \t]*)$/gm, (m, k: string, _q: string, name: string, v: string, tail: string) =>
      SECRET_NAME.test(name) && looksSecret(v) ? k + vault.unique(v) + tail : m)
    .replace(/(\[[ \t]*['"]([A-Za-z0-9_]+)['"][ \t]*\][ \t]*=[ \t]*)(['"])((?:(?!\3)[^\\]|\\.)*)\3/g, (m, k: string, name: string, q: string, v: string) =>
      SECRET_NAME.test(name) && looksSecret(v) ? `${k}${q}${vault.unique(v)}${q}` : m);
}

/** Not a secret however it is named: empty, a boolean, a number, a URL (its credentials are handled above), or a placeholder. */
function looksSecret(v: string): boolean {
  const t = v.trim().replace(/^(["'])(.*)\1$/, "$2");
  return t !== "" && !/^(true|false|yes|no|on|off|null|~|\d+)$/i.test(t) && !t.includes("://") &&
    !t.includes(PLACEHOLDER_PROVIDER_SECRET) && !t.includes(PLACEHOLDER_USERINFO) && !new RegExp(`^${UNIQUE.source}$`).test(t);
}

/** A redacted value as it may be shown: every placeholder as [secret]. */
export function displayRedacted(text: string): string {
  return text.split(PLACEHOLDER_USERINFO).join("[secret]").split(PLACEHOLDER_PROVIDER_SECRET).join("[secret]").replace(UNIQUE, "[secret]");
}
