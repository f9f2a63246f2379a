#!/usr/bin/env bash
# Lays out the installed SDK as a tar (sdk/BUILD.bazel's sdk_tree; deploy/build-deb.sh
# unpacks it into the package):
#   usr/include/aia/<the headers, by their include paths>
#   usr/lib/x86_64-linux-gnu/libaia-plugin.so
#   usr/lib/x86_64-linux-gnu/pkgconfig/aia-plugin.pc
#
#   make_tree.sh OUT.tar VERSION_H PC_IN LIBRARY HEADER...
set -euo pipefail
out=$1 version_h=$2 pc_in=$3 library=$4
shift 4
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
lib=$tree/usr/lib/x86_64-linux-gnu
install -d "$lib/pkgconfig" "$tree/usr/include/aia"
install -m 0644 "$library" "$lib/libaia-plugin.so"
version=$(sed -n 's/.*kVersion\[\] = "\([^"]*\)".*/\1/p' "$version_h")
[[ -n $version ]] || { echo "make_tree.sh: no kVersion in $version_h" >&2; exit 1; }
sed "s/@VERSION@/$version/" "$pc_in" >"$lib/pkgconfig/aia-plugin.pc"
for header in "$@"; do
  # Generated headers live under bazel-out/<config>/bin/.
  path=${header#*/bin/}
  install -D -m 0644 "$header" "$tree/usr/include/aia/$path"
done
tar -C "$tree" --owner=0 --group=0 --sort=name --mtime=@0 -cf "$out" usr
