# shellcheck shell=sh
# no_link: refuses a $target that is a symbolic link (a rename would replace the link) or not a
# regular file.

no_link() {
  [ ! -L "$target" ] || die 2 "$target is a symbolic link; replace it by the file it points to (a rename would replace the link)."
  [ ! -e "$target" ] || [ -f "$target" ] || die 2 "$target is not a regular file."
}
