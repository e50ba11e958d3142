#!/usr/bin/env bash
# Writes man pages for drahil and each of its subcommands, from their --help,
# with help2man: OUT_DIR/drahil.1.gz and OUT_DIR/drahil-<subcommand>.1.gz.
# The subcommands are those of this build (read from `drahil --help`).
# Usage: packaging/gen-manpages.sh PATH/TO/drahil OUT_DIR
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 PATH/TO/drahil OUT_DIR" >&2
  exit 2
fi
drahil=$(readlink -f "$1")
out=$2
command -v help2man >/dev/null || { echo "$0: help2man not found (apt-get install help2man)" >&2; exit 1; }
[[ -x $drahil ]] || { echo "$0: $1 is not an executable" >&2; exit 1; }

version=$("$drahil" --version | awk '{print $2}')
[[ -n $version ]] || { echo "$0: $drahil --version printed no version" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out"

# help2man runs a program by path and names the page after it, so each page
# gets a wrapper named like it that starts drahil with argv[0] "drahil" (the
# usage lines then read "drahil run ..." instead of a build path).
page() {  # page NAME DESCRIPTION SUBCOMMAND...
  local name=$1 desc=$2
  shift 2
  printf '#!/usr/bin/env bash\nexec -a drahil %q %s "$@"\n' "$drahil" "$*" >"$tmp/$name"
  chmod +x "$tmp/$name"
  help2man --locale=C.UTF-8 --no-info --no-discard-stderr --section=1 --source="drahil $version" \
    --version-string="$version" --name="$desc" --output="$tmp/$name.1" "$tmp/$name"
  # The wrapper's path appears nowhere but in help2man's header comment.
  sed -i "s|$tmp/||g" "$tmp/$name.1"
  gzip -9n <"$tmp/$name.1" >"$out/$name.1.gz"
}

# "  name   description" lines of the Subcommands: section.
subcommands() {
  "$drahil" --help | awk '/^Subcommands:/ {on=1; next} on && /^  [a-z]/ {print $1}'
}
description() {  # the first line of `drahil SUB --help`, ASCII (help2man
  # encodes --name twice under a UTF-8 locale; the body is read correctly)
  "$drahil" "$1" --help | head -n 1 | sed 's/→/->/g' | iconv -f UTF-8 -t ASCII//TRANSLIT
}

page drahil "hardware-in-the-loop test and validation for Kubernetes DRA drivers"
n=1
for sub in $(subcommands); do
  page "drahil-$sub" "$(description "$sub")" "$sub"
  n=$((n + 1))
done
echo "gen-manpages: $n pages in $out"
