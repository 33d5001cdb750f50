// Every text `npm run plan` prints around the plan's data, in English and Japanese side by side.
// Keys, values, paths and file contents are never translated: they must match what the user types.
import type { Problem } from "../settings/validate";

export type Lang = "en" | "ja";
export const LANGS: readonly Lang[] = ["en", "ja"];

/** --lang wins; else the locale (LC_ALL, then LC_MESSAGES, then LANG, as POSIX orders them) picks ja_*. */
export function langOf(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Lang {
  if (flag !== undefined) return flag as Lang;
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || "";
  return /^ja([_.@-]|$)/i.test(locale) ? "ja" : "en";
}

export interface Destroy {
  /** restore = puts the file from before the edit back; remove = the file did not exist; keep = left as it is. */
  action: "restore" | "remove" | "keep";
  /** Compose services recreated afterwards, e.g. ["gitlab-runner"]. */
  recreates: string[];
  /** dockerd restarted afterwards. */
  restartsDocker: boolean;
}

interface Catalogue {
  planTitle(stack: string): string;
  resources(n: number): string;
  waitsOn: string;
  readOf(target: string): string;
  guardedWriteOf(target: string): string;
  filesOnCiServer: string;
  onDestroy(d: Destroy): string;
  unchanged: string;
  lineCounts(added: number, removed: number): string;
  outputs: string;
  wrote(n: number, dir: string): string;
  problemsTitle(n: number): string;
  problem(p: Problem): string;
  problemsFooter: string;
  planFailed: string;
  offlineServerFiles(dir: string): string;
  outNotAPlan(dir: string): string;
  warning: string;
  /** Known program warnings, by the English text's start; unknown ones are shown as they are. */
  warnings: [RegExp, string | ((match: string, ...groups: string[]) => string)][];
}

const EN: Catalogue = {
  planTitle: (stack) => `Plan for stack "${stack}" — offline: no AWS, no SSH, no Pulumi CLI; secrets are placeholders shown as [secret].`,
  resources: (n) => `Resources (${n}):`,
  waitsOn: "waits on:",
  readOf: (t) => `read ${t}`,
  guardedWriteOf: (t) => `guarded write of ${t}`,
  filesOnCiServer: "Files on the CI server:",
  onDestroy: (d) => {
    const then = [...(d.recreates.length ? [`recreates ${d.recreates.join(" ")}`] : []), ...(d.restartsDocker ? ["restarts docker"] : [])].map((t) => `, then ${t}`).join("");
    if (d.action === "keep") return "on destroy: kept as it is (a GitLab upgrade cannot be rolled back)";
    if (d.action === "remove") return `on destroy: removed (it did not exist before)${then}`;
    return `on destroy: put back as it was before this edit, unless it changed after pulumi wrote it${then}`;
  },
  unchanged: "unchanged",
  lineCounts: (a, r) => `+${a} -${r} lines`,
  outputs: "Outputs:",
  wrote: (n, dir) => `Wrote ${n} files to ${dir}`,
  problemsTitle: (n) => `The stack configuration has ${n} problem(s):`,
  problem: (p) => `  - ${p.key}: got ${p.value}; expected ${p.expected}`,
  problemsFooter: "Fix them with `pulumi config set --path <key> <value>` (secrets with --secret).",
  planFailed: "plan failed: ",
  offlineServerFiles: (dir) => `(offline, the CI server's files are those in ${dir}: copy the missing one there from the server, or pass --server-files DIR)`,
  outNotAPlan: (dir) => `--out ${dir} exists and does not hold an earlier plan: choose a new or empty directory`,
  warning: "warning: [runtime] ",
  warnings: [],
};

const JA: Catalogue = {
  planTitle: (stack) => `スタック "${stack}" の実行計画 — オフライン（AWS・SSH・Pulumi CLI は使いません）。シークレットはプレースホルダーで、[secret] と表示します。`,
  resources: (n) => `リソース（${n} 個）:`,
  waitsOn: "待機対象:",
  readOf: (t) => `${t} を読み取り`,
  guardedWriteOf: (t) => `${t} を保護付きで書き込み`,
  filesOnCiServer: "CIサーバ上のファイル:",
  onDestroy: (d) => {
    const then = [...(d.recreates.length ? [`${d.recreates.join(" ")} を再作成`] : []), ...(d.restartsDocker ? ["docker を再起動"] : [])].map((t) => `、その後 ${t}`).join("");
    if (d.action === "keep") return "destroy 時: そのまま残す（GitLab のバージョンアップは元に戻せないため）";
    if (d.action === "remove") return `destroy 時: 削除（pulumi 以前には存在しなかったため）${then}`;
    return `destroy 時: この編集の前の内容に戻す（pulumi が書き込んだ後に変更されていれば中止）${then}`;
  },
  unchanged: "変更なし",
  lineCounts: (a, r) => `+${a} -${r} 行`,
  outputs: "スタック出力:",
  wrote: (n, dir) => `${n} 個のファイルを ${dir} に書き出しました`,
  problemsTitle: (n) => `スタック設定に ${n} 件の問題があります:`,
  problem: (p) => `  - ${p.key}: 設定値 ${p.value}、正しい形式: ${p.expected}`,
  problemsFooter: "`pulumi config set --path <キー> <値>` で修正してください（シークレットは --secret を付けて設定します）。",
  planFailed: "実行計画を作成できませんでした: ",
  offlineServerFiles: (dir) => `（オフラインでは CIサーバのファイルとして ${dir} のファイルを使います。足りないファイルをサーバからそこへコピーするか、--server-files DIR を指定してください）`,
  outNotAPlan: (dir) => `--out ${dir} は既に存在し、以前の実行計画の出力ではありません。新しいディレクトリか空のディレクトリを指定してください`,
  warning: "警告: ",
  warnings: [
    [/^ciServer\.insecureSkipHostKeyCheck is true, but every host key is set and checked: [\s\S]*$/,
      "ciServer.insecureSkipHostKeyCheck が true ですが、ホスト鍵はすべて設定され検証されているため効果がありません。`pulumi config rm --path ciServer.insecureSkipHostKeyCheck` で削除してください。"],
    [/^ciServer\.insecureSkipHostKeyCheck is true: SSH does not verify (.*?), so [^.]*\. Pin (?:it|them): ([\s\S]*); then `pulumi config rm --path ciServer\.insecureSkipHostKeyCheck`\.$/,
      (_, peers: string, pin: string) =>
        `ciServer.insecureSkipHostKeyCheck が true のため、SSH は ${peers.replace(/the bastion /g, "踏み台 ").replace(/the CI server /g, "CIサーバ ").replace(/ nor /g, "、")} のホスト鍵を検証しません。` +
        `ログイン鍵・プロキシの認証情報・Runner のアクセスキーが、そのアドレスで応答した相手に送られます。鍵を固定してください: ${pin.replace(/`, then `/g, "` の後に `").replace(/`; `/g, "`、`")}。` +
        "その後 `pulumi config rm --path ciServer.insecureSkipHostKeyCheck` を実行します。"],
    [/^(\S+) is set \((.*)\) but has no effect: it counts only when ([\s\S]*?)\. Remove it with (`pulumi config rm --path \S+`), or turn that on\.$/,
      "$1 は設定されています（$2）が効果がありません。有効になる条件: $3。$4 で削除するか、その条件を満たしてください。"],
    [/^upgrade\.runnerImage (\S+) is a newer major than GitLab (\S+?): [\s\S]*$/, "upgrade.runnerImage $1 のメジャーバージョンが GitLab $2 より新しくなっています。Runner のメジャーバージョンは GitLab に合わせてください。"],
  ],
};

export const MESSAGES: Record<Lang, Catalogue> = { en: EN, ja: JA };

/** A program warning in the chosen language (the SDK prints them as "warning: [runtime] …"). */
export function warningText(lang: Lang, message: string): string {
  const m = MESSAGES[lang];
  for (const [pattern, text] of m.warnings) {
    // The same call twice: TypeScript picks String.replace's overload (string or function) per call, never for a union.
    if (pattern.test(message)) return m.warning + (typeof text === "string" ? message.replace(pattern, text) : message.replace(pattern, text));
  }
  return m.warning + message;
}

export function formatProblemsIn(lang: Lang, problems: Problem[]): string {
  const m = MESSAGES[lang];
  return `${m.problemsTitle(problems.length)}\n${problems.map(m.problem).join("\n")}\n${m.problemsFooter}`;
}
