# shellcheck shell=sh
# reverse_chain FILE: applies $sd/reverse-N … reverse-1 (pulumi's edits, newest first) to FILE in
# place, or dies 7. Each is a hunk file of core/remote/reverseEdit.ts, applied by the awk program
# below: argv the hunk file, then the file to change; ENVIRON GRA_OUT (where the result goes),
# GRA_NONL (1 = the file's last line has no newline). Every hunk is placed before anything is
# written: where its written lines occur once; where they occur more often, at the one whose
# nearest context lines match best (a tie is refused); a hunk that only puts lines back, where its
# whole context occurs exactly once. Hunks must not overlap. On success it writes GRA_OUT and prints
# nothing; otherwise it prints one line per hunk it cannot place, naming the managed keys (never a
# line's text: it may hold a secret), writes nothing and exits 1. Run with LC_ALL=C: lines are
# compared and cut as bytes.

# An awk program: its $ fields are awk's, not the shell's.
# shellcheck disable=SC2016
reverse_awk='function at(h, kind, i,  k, m) {
  m = cnt[h, kind]
  for (k = 1; k <= m; k++) if (!((i + k - 1) in F) || F[i + k - 1] != P[h, kind, k]) return 0
  return 1
}
function ctx(h, i) { return at(h, "B", i - cnt[h, "B"]) && at(h, "C", i + cnt[h, "R"]) }
# How many context lines match, counted outwards from the hunk until the first that does not.
function near(h, i,  k, s) {
  s = 0
  for (k = cnt[h, "B"]; k >= 1 && (i - 1 - cnt[h, "B"] + k) in F && F[i - 1 - cnt[h, "B"] + k] == P[h, "B", k]; k--) s++
  for (k = 1; k <= cnt[h, "C"] && (i + cnt[h, "R"] + k - 1) in F && F[i + cnt[h, "R"] + k - 1] == P[h, "C", k]; k++) s++
  return s
}
# One line is held back: the last one may lose its newline ($/% record).
function emit(s) {
  if (nheld) {
    printf "%s", held > out
    # A line put back without its newline (it was the last one) gets one when more lines follow.
    if (substr(held, length(held)) != "\n") printf "%s", eol > out
  }
  held = s; nheld = 1
}
function refuse(msg) { print msg; bad = 1 }
FILENAME == ARGV[1] && FNR == 1 { if ($0 !~ /^gra-reverse v1 /) { print "not a reverse-edit file"; bad = 1; exit 1 } next }
FILENAME == ARGV[1] {
  t = substr($0, 1, 1); s = substr($0, 2)
  if (t == "@") { nh++; label[nh] = s; next }
  if (t == "$") { eoft = s "\n"; cut = 1; next }
  if (t == "%") { eoft = s "\r\n"; cut = 2; next }
  if (t == "\\") { P[last] = substr(P[last], 1, length(P[last]) - 1); next }
  if (t == "-") { kind = "R"; j = index(s, "\t"); key = substr(s, 1, j - 1); s = substr(s, j + 1) }
  else if (t == "+") kind = "A"
  else if (t == " ") kind = (cnt[nh, "R"] + cnt[nh, "A"] ? "C" : "B")
  else { print "malformed reverse-edit line " FNR; bad = 1; exit 1 }
  k = ++cnt[nh, kind]; P[nh, kind, k] = s "\n"; last = nh SUBSEP kind SUBSEP k
  if (kind == "R") RK[nh, k] = key
  next
}
{ F[++n] = $0 "\n"; has[$0 "\n"] = 1 }
END {
  if (bad) exit 1
  out = ENVIRON["GRA_OUT"]
  eol = substr(F[1], length(F[1]) - 1) == "\r\n" ? "\r\n" : "\n"
  if (n > 0 && ENVIRON["GRA_NONL"] == 1) { v = substr(F[n], 1, length(F[n]) - 1); F[n] = v; has[v] = 1 }
  for (h = 1; h <= nh; h++) {
    nr = cnt[h, "R"]; found = 0; pos[h] = 0
    for (i = 1; i <= n + 1; i++) {
      if (nr ? at(h, "R", i) : ctx(h, i)) { found++; c[found] = i }
    }
    # Several: the one whose surroundings match best (a later edit may have changed a context line).
    if (found > 1 && nr) {
      best = -1; m = 0
      for (q = 1; q <= found; q++) {
        v = near(h, c[q])
        if (v > best) { best = v; m = 1; w = c[q] } else if (v == best) m++
      }
      if (m > 1 || best == 0) { refuse(label[h] ": the lines pulumi wrote occur " found " times with the same surroundings; cannot tell which to undo"); continue }
      found = 1; c[1] = w
    }
    if (found == 1) { pos[h] = c[1]; continue }
    if (found > 1) { refuse(label[h] ": the place to put back the removed lines is not unique"); continue }
    if (!nr) { refuse(label[h] ": the lines around what pulumi removed changed; cannot tell where to put it back"); continue }
    miss = ""
    for (k = 1; k <= nr; k++) if (!(P[h, "R", k] in has) && index(", " miss ", ", ", " RK[h, k] ", ") == 0) miss = miss (miss == "" ? "" : ", ") RK[h, k]
    if (miss == "") refuse(label[h] ": the lines pulumi wrote are no longer together as written (lines added or moved among them)")
    else refuse(miss ": changed since pulumi wrote it")
  }
  if (bad) exit 1
  # Two hunks on the same lines (or two insertions at one place) have no defined order.
  for (h = 1; h <= nh; h++) for (g = h + 1; g <= nh; g++) {
    a = pos[h]; ae = a + cnt[h, "R"]; b = pos[g]; be = b + cnt[g, "R"]
    if ((a < be && b < ae) || a == b || (a < b && b < ae) || (b < a && a < be)) refuse(label[h] " and " label[g] ": overlap")
  }
  if (bad) exit 1
  for (h = 1; h <= nh; h++) at_pos[pos[h]] = h
  printf "" > out
  for (i = 1; i <= n + 1; i++) {
    skip = 0
    if (i in at_pos) {
      h = at_pos[i]
      for (k = 1; k <= cnt[h, "A"]; k++) emit(P[h, "A", k])
      skip = cnt[h, "R"]
    }
    if (skip) { i += skip - 1; continue }
    if (i <= n) emit(F[i])
  }
  if (nheld && cut && held == eoft) held = substr(held, 1, length(held) - cut)
  if (nheld) printf "%s", held > out
  close(out)
}'
reverse_chain() {
  i=0
  while [ -e "$sd/reverse-$((i + 1))" ]; do i=$((i + 1)); done
  [ "$i" -gt 0 ] || return 1
  while [ "$i" -gt 0 ]; do
    if [ -n "$(tail -c 1 "$1")" ]; then GRA_NONL=1; else GRA_NONL=0; fi
    GRA_OUT="$1.next"
    export GRA_OUT GRA_NONL
    if ! why=$(LC_ALL=C awk "$reverse_awk" "$sd/reverse-$i" "$1"); then
      rm -f "$1.next"
      # Nothing is written, so every value any of pulumi's writes changed is still to put back:
      # the hunks' labels name their keys, never a value.
      keys=$(for f in "$sd"/reverse-*; do LC_ALL=C sed -n 's/^@//p' "$f"; done | LC_ALL=C awk '!seen[$0]++ { printf "%s%s", (n++ ? "; " : ""), $0 }')
      die 7 "$target changed after pulumi wrote it, and pulumi's edit cannot be undone on the file as it is now; nothing was changed:" "$why." "Pulumi's values to put back by hand: $keys." "If the runner rewrote the whole file (token rotation), no edit can be matched. The content from before pulumi is in $sd/original; put back what you want by hand, then run \"pulumi state delete <urn of this command>\" and destroy again."
    fi
    mv -f "$1.next" "$1"
    i=$((i - 1))
  done
}
