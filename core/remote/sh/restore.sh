# shellcheck shell=sh
# The restore of one file on the CI server, the delete of every ci-server-*-write command: puts
# back the content from before pulumi's first write (or removes a file pulumi created), or, when the
# file changed since, undoes only pulumi's edits; then the after-action (restore_after). Keeps the
# timestamped backups. Stdin: the create's stdin (remote.Command runs delete with it).
# Preamble: target dir sd keep compose_cmd has_after empty_sha256.
# Functions: die state_of stamp prune reverse_chain signal_traps tmp_in_dir; with has_after=1 also restore_after
# (core/remote/afterActions.ts's restoreAfterLines).

# sudo's secure_path may lack /usr/local/bin, where docker-compose v1 lives on CentOS 7 hosts.
if [ -n "$compose_cmd" ] || [ "$has_after" = 1 ]; then
  PATH="$PATH:/usr/local/sbin:/usr/local/bin"
  export PATH
fi
if [ ! -e "$sd/written" ]; then
  echo "nothing to restore: pulumi never changed $target"
  exit 0
fi
# remote.Command runs delete with the stdin of its create. A replaced resource's delete runs
# after its successor's create; its stdin then no longer matches the owner: leave the file.
if [ ! -t 0 ]; then
  mine=$(sha256sum)
  mine=${mine%% *}
  if [ "$mine" != "$empty_sha256" ] && [ -e "$sd/owner" ] && [ "$(cat "$sd/owner")" != "$mine" ]; then
    echo "nothing to restore: $target was written since by a newer pulumi resource"
    exit 0
  fi
fi
exec < /dev/null
written=$(cat "$sd/written")
if [ -e "$sd/original.absent" ]; then
  orig=absent
elif [ -e "$sd/original" ]; then
  orig=$(state_of "$sd/original")
else
  die 7 "$sd/written exists but no original was saved; restore $target by hand, then remove $sd/written."
fi
[ ! -L "$target" ] || die 7 "$target is now a symbolic link; nothing was changed."
cur=$(state_of "$target")
if [ "$cur" = "$written" ] && [ ! -e "$sd/diverged" ]; then
  # What pulumi wrote is kept too: a restore never loses a version of the file.
  stamp before-restore
  cp -p "$target" "$stamped"
  prune before-restore "$keep"
  if [ "$orig" = absent ]; then
    rm -f "$target"
    echo "removed: $target (it did not exist before pulumi)"
  else
    umask 077
    tmp_in_dir
    cp -p "$sd/original" "$tmp"
    mv -f "$tmp" "$target"
    echo "restored: $target"
  fi
elif [ "$cur" = "$orig" ]; then
  echo "$target already has its original content; finishing the restore"
# An earlier destroy undid pulumi's edits and then failed in its after-action: the edits cannot
# be undone twice, so finish from there.
elif [ -e "$sd/undone" ] && [ "$cur" = "$(cat "$sd/undone")" ]; then
  echo "$target already has pulumi's edits undone; finishing the restore"
# Changed since (a later upgrade, a hand edit elsewhere): undo only pulumi's edits, newest
# first, on a copy; the file is replaced only when every one of them applied.
elif [ "$orig" != absent ] && [ -e "$sd/reverse-1" ]; then
  umask 077
  work=
  tmp=
  trap 'rm -f "$work" "$work.next" "$tmp"' EXIT
  signal_traps
  work=$(mktemp "$sd/.gra-work.XXXXXX")
  cp "$target" "$work"
  reverse_chain "$work"
  tmp=$(mktemp "$dir/.gra-tmp.XXXXXX")
  cat "$work" > "$tmp"
  chown --reference="$target" "$tmp"
  chmod --reference="$target" "$tmp"
  stamp before-restore
  cp -p "$target" "$stamped"
  prune before-restore "$keep"
  [ "$(state_of "$target")" = "$cur" ] || die 7 "$target changed while destroy was undoing pulumi's edit; nothing was changed. Run pulumi destroy again."
  state_of "$tmp" > "$sd/undone.tmp"
  mv -f "$sd/undone.tmp" "$sd/undone"
  mv -f "$tmp" "$target"
  echo "undid pulumi's edit of $target, keeping the changes made after it (before: $stamped)"
elif [ "$cur" = "$written" ]; then
  die 7 "$target was changed between two of pulumi's writes and no reverse edit was kept; putting back the content from before pulumi would lose that change; nothing was changed. The content from before pulumi is in $sd/original; put back what you want by hand, then run \"pulumi state delete <urn of this command>\" and destroy again."
else
  if [ "$orig" = absent ]; then where="it did not exist before pulumi ($sd/original.absent)"; else where="the content from before pulumi is in $sd/original"; fi
  die 7 "$target changed after pulumi wrote it (wrote $written, found $cur); nothing was changed." "$where." 'Put back the content you want by hand (timestamped backups are in the same directory), then run "pulumi state delete <urn of this command>" and destroy again.'
fi
[ "$has_after" = 0 ] || restore_after
rm -f "$sd/original" "$sd/original.absent" "$sd/written" "$sd/owner" "$sd/reverse.tmp" "$sd"/reverse-* "$sd/diverged" "$sd/undone"
