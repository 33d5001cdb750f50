# shellcheck shell=sh
# The guarded write (compare-and-swap) of one file on the CI server, the create of every
# ci-server-*-write command. Stdin: one line "<state read: absent or sha256> <sha256 of the new
# content> [<reverse edit, base64>]", then the new content's exact bytes (scripts.ts's
# guardedWriteStdin). Exit codes: scripts.ts's EXIT.
# Preamble: target dir root sd hint new_mode keep compose_cmd validate_dir has_after.
# Functions: die state_of put keep_reverse stamp prune no_link compose_select signal_traps tmp_in_dir; with a window
# (the compose-up after-action's) also window_check and its preamble values window_*; with has_after=1
# also after and after_again (the after-action: core/remote/afterActions.ts), which set $why,
# $after_done and $after_check.

# sudo's secure_path may lack /usr/local/bin, where docker-compose v1 lives on CentOS 7 hosts.
if [ -n "$compose_cmd" ]; then
  PATH="$PATH:/usr/local/sbin:/usr/local/bin"
  export PATH
fi
no_link
IFS=' ' read -r expected newsum rev || die 2 'stdin must start with a line: the state that was read (absent or its sha256) and the sha256 of the new content.'
case $expected in
  absent) ;;
  *) printf "%s\n" "$expected" | grep -Eqx "[0-9a-f]{64}" || die 2 "first stdin line is neither absent nor a sha256." ;;
esac
printf "%s\n" "$newsum" | grep -Eqx "[0-9a-f]{64}" || die 2 "first stdin line lacks the sha256 of the new content."
case $rev in *[!A-Za-z0-9+/=]*) die 2 "the third field of the first stdin line (the reverse edit) is not base64." ;; esac
[ -d "$dir" ] || (umask 022 && mkdir -p "$dir")
umask 077

tmp_in_dir
cat > "$tmp"
[ "$(state_of "$tmp")" = "$newsum" ] || die 2 "the new content for $target arrived incomplete (connection dropped?); nothing was written."
cur=$(state_of "$target")
new=$(state_of "$tmp")
# Identifies this write's stdin; restore uses it to tell a replaced resource from the owner.
owner=$({ printf "%s %s%s\n" "$expected" "$newsum" "${rev:+ $rev}"; cat "$tmp"; } | sha256sum)
owner=${owner%% *}
if [ "$cur" = "$new" ]; then
  # A write of this content killed between its rename and its markers left its reverse edit.
  if [ -e "$sd/reverse.tmp" ] && [ "$(head -n 1 "$sd/reverse.tmp")" = "gra-reverse v1 $new" ]; then
    keep_reverse
    put "$sd/written" "$new"
  fi
  # This resource now owns the edit (a replacement's old delete must then do nothing). The
  # written marker stays: if the file got here by someone else's change, destroy must not
  # undo that change. Only a write killed between its rename and its markers sets it.
  if [ -e "$sd/written" ]; then
    put "$sd/owner" "$owner"
  elif [ -e "$sd/original" ] || [ -e "$sd/original.absent" ]; then
    put "$sd/written" "$new"
    put "$sd/owner" "$owner"
  fi
  echo "unchanged: $target"
  exit 0
fi
[ "$cur" = "$expected" ] || die 3 "$target changed on the server since it was read (expected $expected, found $cur). Someone or the runner edited it; nothing was written." "$hint"
# A write whose recreate would meet the snapshot window stops here (window_check: lib/snapshot_window.sh,
# sent with its values only when the after-action has a window).
if [ -n "${window_start-}" ]; then
  window_check
  [ -z "$window_refusal" ] || die 9 "$window_refusal" "Nothing was written: $target is as it was."
fi
[ -z "$compose_cmd" ] || compose_select
if [ "$cur" = absent ]; then
  chmod "$new_mode" "$tmp"
else
  chown --reference="$target" "$tmp"
  chmod --reference="$target" "$tmp"
fi
if [ -n "$validate_dir" ]; then
  compose -f "$tmp" --project-directory "$validate_dir" config -q ||
    die 4 "the new content of $target failed 'compose config -q' (output above); the file was left untouched."
fi
mkdir -p "$sd"
chmod 0700 "$root" "$sd"
rm -f "$sd/reverse.tmp"
# How to undo this edit on a file that changed later; root-only like the backups (secrets).
if [ -n "$rev" ] && [ "$cur" != absent ]; then
  printf "%s" "$rev" | base64 -d > "$sd/reverse.tmp" || die 2 "the reverse edit on stdin is not valid base64; nothing was written."
  [ "$(head -n 1 "$sd/reverse.tmp")" = "gra-reverse v1 $new" ] || die 2 "the reverse edit on stdin is not for the new content of $target; nothing was written."
fi
fresh=0
if [ ! -e "$sd/original" ] && [ ! -e "$sd/original.absent" ]; then
  fresh=1
  # Reverse edits of an earlier life of this state dir (restored since) are not ours to apply.
  rm -f "$sd"/reverse-* "$sd/diverged" "$sd/undone"
  if [ "$cur" = absent ]; then
    : > "$sd/original.absent"
  else
    cp -p "$target" "$sd/original.tmp"
    mv -f "$sd/original.tmp" "$sd/original"
  fi
# Someone else changed the file since pulumi's last write (the runner rewriting it on a token
# rotation, a hand edit) and this write builds on that: `original` no longer is this file without
# pulumi's edits, so destroy must undo the edits instead of putting it back.
elif [ -e "$sd/written" ] && [ "$(cat "$sd/written")" != "$cur" ]; then
  : > "$sd/diverged"
fi
backup=
if [ "$cur" != absent ]; then
  stamp backup
  backup=$stamped
  cp -p "$target" "$backup"
  prune backup "$keep"
fi
# Last look before the swap: the runner may have rewritten the file meanwhile.
[ "$(state_of "$target")" = "$cur" ] || die 3 "$target changed on the server while it was being replaced; nothing was written." "$hint"
# A failed update leaves the old stdin in Pulumi's state: the owner must go back with the file.
prev_owner=
[ ! -e "$sd/owner" ] || prev_owner=$(cat "$sd/owner")
mv -f "$tmp" "$target"
[ ! -e "$sd/reverse.tmp" ] || keep_reverse
put "$sd/written" "$new"
put "$sd/owner" "$owner"
echo "wrote: $target (backup: ${backup:-none, the file is new})"
[ "$has_after" = 1 ] || exit 0
if ! after; then
  # The after-action failed: the file, the markers and the service go back as they were.
  if [ "$cur" = absent ]; then
    rm -f "$target"
  else
    tmp=$(mktemp "$dir/.gra-tmp.XXXXXX")
    cp -p "$backup" "$tmp"
    mv -f "$tmp" "$target"
  fi
  if [ "$fresh" = 1 ]; then
    rm -f "$sd/original" "$sd/original.absent" "$sd/written" "$sd/owner" "$sd/diverged"
  else
    put "$sd/written" "$cur"
    if [ -n "$prev_owner" ]; then put "$sd/owner" "$prev_owner"; else rm -f "$sd/owner"; fi
  fi
  [ -z "$added" ] || rm -f "$added"
  after_again || true
  # shellcheck disable=SC2154 # $why, $after_done and $after_check come with the after-action.
  die 5 "$why; restored $target and $after_done; $after_check."
fi
