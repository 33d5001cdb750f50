// One guarded edit of a file on the CI server, as the RemoteFileEdit component runs it: the write's
// parameters, whether destroy undoes it, and the render from the file as read. The CI server's
// edits (core/ciServer/) are values of this type; editStdin.ts turns one into its write's stdin.
import type { LineFormat } from "./reverseEdit";
import type { GuardedWrite } from "./scripts";

export interface RemoteEdit {
  write: GuardedWrite;
  /** false: destroy leaves the edit in place (a GitLab upgrade cannot be rolled back). */
  restoreOnDestroy: boolean;
  /** The file's syntax, to name the managed key of each line in destroy's messages (default "lines"). */
  format?: LineFormat;
  /** New file text from the current one (null = the file does not exist). Throws on a bad state. */
  render(current: string | null): string;
  /** What is worth a warning but not a refusal, given the current file (shown at `pulumi up`). */
  warnings?(current: string | null): string[];
  /**
   * Everything render depends on, secrets included. When it changes the file is read again; the
   * summary alone would miss a change of a masked value (a proxy password) and the write would
   * then compare against a stale read.
   */
  fingerprint: string;
}
