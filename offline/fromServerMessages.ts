// The title, warning and errors of `npm run plan -- --from-server`, in English and Japanese side by side (as
// offline/messages.ts does for the plan). Keys, commands and ssh's own words are not translated.
import type { Lang } from "./messages";

export interface FromServerMessages {
  /** The plan's first line: where its CI-server files came from. */
  title(where: string): string;
  /** Before connecting, under ciServer.insecureSkipHostKeyCheck: the peers whose key is not checked. */
  unchecked(peers: string): string;
  wrongHostKey(where: string, keys: string, said: string): string;
  unreachable(where: string, said: string): string;
  readFailed(where: string, code: number | null, said: string): string;
  noLoginKey: string;
  noKeyFile(file: string): string;
}

const EN: FromServerMessages = {
  title: (where) => `The CI server's files below were read over SSH from ${where} (read-only); everything else is offline.`,
  unchecked: (peers) => `ciServer.insecureSkipHostKeyCheck is true: --from-server connects to ${peers} without checking the SSH host key.`,
  wrongHostKey: (where, keys, said) =>
    `the SSH host key of ${where} (or its bastion) is not the one in ${keys}: nothing was read.\n` +
    "  Check that ciServer.host and ciServer.port name the CI server, and compare the key it offers (ssh-keyscan, ssh-keygen -lf) with its console output.\n" +
    "  If the server was rebuilt, store its new key with `pulumi config set --path ciServer.hostKey \"…\"`; if not, someone may be in between: do not go on.\n" +
    `  ssh said: ${said}`,
  unreachable: (where, said) => `could not reach or log in to the CI server ${where} over SSH: ${said}\n  Check the address and port, the login user, and the key (--ssh-key FILE, or a key in the SSH agent).`,
  readFailed: (where, code, said) => `the read on the CI server ${where} failed (exit ${code}): ${said}\n  The login user needs passwordless sudo (sudo -n).`,
  noLoginKey: "--from-server needs a login key: --ssh-key FILE (the CI server login user's private key), or a running SSH agent (SSH_AUTH_SOCK) holding it",
  noKeyFile: (file) => `--ssh-key ${file}: no such file`,
};

const JA: FromServerMessages = {
  title: (where) => `以下の CIサーバのファイルは ${where} から SSH で読み取りました（読み取りのみ）。それ以外はオフラインです。`,
  unchecked: (peers) => `ciServer.insecureSkipHostKeyCheck が true のため、--from-server は ${peers} の SSH ホスト鍵を検証せずに接続します。`,
  wrongHostKey: (where, keys, said) =>
    `${where}（または踏み台）の SSH ホスト鍵が ${keys} と一致しません。何も読み取っていません。\n` +
    "  ciServer.host と ciServer.port が CIサーバを指しているか確認し、提示された鍵（ssh-keyscan、ssh-keygen -lf）をサーバのコンソール出力と照合してください。\n" +
    "  サーバを作り直した場合は `pulumi config set --path ciServer.hostKey \"…\"` で新しい鍵を保存してください。そうでなければ通信が傍受されている可能性があります。続行しないでください。\n" +
    `  ssh の出力: ${said}`,
  unreachable: (where, said) => `CIサーバ ${where} に SSH で接続またはログインできません: ${said}\n  アドレスとポート、ログインユーザー、鍵（--ssh-key FILE または SSH エージェントの鍵）を確認してください。`,
  readFailed: (where, code, said) => `CIサーバ ${where} での読み取りに失敗しました（終了コード ${code}）: ${said}\n  ログインユーザーにはパスワードなしの sudo（sudo -n）が必要です。`,
  noLoginKey: "--from-server にはログイン鍵が必要です: --ssh-key FILE（CIサーバのログインユーザーの秘密鍵）を指定するか、その鍵を持つ SSH エージェント（SSH_AUTH_SOCK）を起動してください",
  noKeyFile: (file) => `--ssh-key ${file}: ファイルがありません`,
};

export const FROM_SERVER_MESSAGES: Record<Lang, FromServerMessages> = { en: EN, ja: JA };
