// The stdin of a RemoteEdit's write: the new text for the file as read and, for an edit destroy
// undoes, how to undo it (core/remote/reverseEdit.ts), so that destroy can keep later changes.
import type { RemoteEdit } from "./remoteEdit";
import { expectedState, type ReadResult } from "./readResult";
import { reverseEdit } from "./reverseEdit";
import { guardedWriteStdin } from "./scripts";

export function editStdin(edit: RemoteEdit, current: ReadResult): string {
  const next = edit.render(current.exists ? current.content : null);
  // A new file is undone by removing it, an unchanged one needs nothing.
  const reverse = edit.restoreOnDestroy && current.exists && next !== current.content
    ? reverseEdit(edit.format ?? "lines", next, current.content)
    : undefined;
  return guardedWriteStdin(expectedState(current), next, reverse);
}
