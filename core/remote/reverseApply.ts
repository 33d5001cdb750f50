// The server side of core/remote/reverseEdit.ts: the awk mini-patch that applies a hunk file to the
// file as it is now, and the shell around it, kept in core/remote/sh/lib/ (reverse_chain.sh, and
// stamp.sh and prune.sh, the bound on timestamped backups). The CI server has POSIX sh, coreutils
// and awk (mawk on Ubuntu, gawk on CentOS 7 / Amazon Linux 2): no python, no patch.
import { shFile } from "./shFiles";

/**
 * The awk mini-patch (its contract is in core/remote/sh/lib/reverse_chain.sh, which holds it as
 * `reverse_awk='…'`): exported so that tests run the very program the restore carries.
 */
export const REVERSE_AWK: string = (() => {
  const m = /^reverse_awk='([^']*)'$/m.exec(shFile("lib/reverse_chain.sh").join("\n"));
  if (!m) throw new Error("core/remote/sh/lib/reverse_chain.sh lacks its reverse_awk='…' program");
  return m[1];
})();
