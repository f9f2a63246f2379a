#!/usr/bin/env bash
# Builds the Debian package aia_<version>_amd64.deb and prints its path on the last
# line of stdout.
#
#   deploy/build-deb.sh [--bin_dir=DIR] [OUT_DIR]
#
# OUT_DIR (default: the current directory) receives the package. Without --bin_dir
# the binaries and the SDK are built with `bazel build -c opt //coordinator:aia
# //worker:aia_worker //sdk:sdk_tree`; with --bin_dir=DIR, DIR/aia, DIR/aia_worker
# and DIR/aia-sdk.tar are packaged as they are (tests/deploy/deb_test.sh passes
# what Bazel built for it).
#
# Contents: /usr/bin/{aia,aia_worker}, the plugin SDK (sdk/make_tree.sh:
# /usr/include/aia/, /usr/lib/x86_64-linux-gnu/libaia-plugin.so, which the binaries
# link, and its pkg-config file aia-plugin.pc), the empty plugin directory
# /usr/lib/aia/plugins, /lib/systemd/system/aia-{worker,coordinator}.service
# (deploy/systemd), /etc/aia/{worker,coordinator}.env (deploy/etc; conffiles),
# /usr/share/doc/aia/ (README.md, docs/*.md, examples/*.textproto, copyright), the
# maintainer scripts of deploy/debian. Depends: is computed with dpkg-shlibdeps from
# the libraries the binaries link, plus passwd (the maintainer scripts' useradd).
# The version is kVersion of base/version.h. Needs dpkg-dev.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
bin_dir="" out_dir=""
for arg in "$@"; do
  case "$arg" in
    --bin_dir=*) bin_dir=${arg#--bin_dir=} ;;
    -h | --help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "build-deb.sh: unknown flag $arg" >&2; exit 2 ;;
    *)
      [[ -z $out_dir ]] || { echo "build-deb.sh: one OUT_DIR only" >&2; exit 2; }
      out_dir=$arg ;;
  esac
done
out_dir=${out_dir:-.}
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
for tool in dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "build-deb.sh: $tool is missing (apt-get install dpkg-dev)" >&2; exit 1; }
done

version=$(sed -n 's/.*kVersion\[\] = "\([^"]*\)".*/\1/p' "$root/base/version.h")
[[ -n $version ]] || { echo "build-deb.sh: no kVersion in $root/base/version.h" >&2; exit 1; }

if [[ -z $bin_dir ]]; then
  (cd "$root" && bazel build -c opt //coordinator:aia //worker:aia_worker //sdk:sdk_tree >&2)
  bazel_bin=$(cd "$root" && bazel info -c opt bazel-bin 2>/dev/null)
  aia_bin=$bazel_bin/coordinator/aia
  worker_bin=$bazel_bin/worker/aia_worker
  sdk_tar=$bazel_bin/sdk/aia-sdk.tar
else
  aia_bin=$bin_dir/aia
  worker_bin=$bin_dir/aia_worker
  sdk_tar=$bin_dir/aia-sdk.tar
fi
[[ -f $sdk_tar ]] || { echo "build-deb.sh: $sdk_tar is missing" >&2; exit 1; }
for binary in "$aia_bin" "$worker_bin"; do
  [[ -x $binary ]] || { echo "build-deb.sh: $binary is not an executable" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/aia-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
pkg=$work/aia_${version}_amd64
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/aia" \
  "$pkg/usr/share/doc/aia/examples" "$pkg/usr/lib/aia/plugins"
tar -C "$pkg" --no-same-owner -xf "$sdk_tar"
chmod -R u+w "$pkg/usr"
install -m 0755 "$aia_bin" "$pkg/usr/bin/aia"
install -m 0755 "$worker_bin" "$pkg/usr/bin/aia_worker"
# Debug information stays out of the package (Debian's binaries are stripped too).
strip --strip-unneeded "$pkg/usr/bin/aia" "$pkg/usr/bin/aia_worker" \
  "$pkg/usr/lib/x86_64-linux-gnu/libaia-plugin.so"
install -m 0644 "$here"/systemd/aia-worker.service "$here"/systemd/aia-coordinator.service \
  "$pkg/lib/systemd/system/"
install -m 0644 "$here"/etc/worker.env "$here"/etc/coordinator.env "$pkg/etc/aia/"
install -m 0644 "$root/README.md" "$root"/docs/*.md "$here/debian/copyright" \
  "$pkg/usr/share/doc/aia/"
install -m 0644 "$root"/examples/*.textproto "$pkg/usr/share/doc/aia/examples/"
install -m 0755 "$here"/debian/postinst "$here"/debian/prerm "$here"/debian/postrm "$pkg/DEBIAN/"
(cd "$pkg" && find etc -type f | sed 's|^|/|' | sort) > "$pkg/DEBIAN/conffiles"
# The shared library: ld.so's cache is rebuilt once dpkg is done.
echo "activate-noawait ldconfig" > "$pkg/DEBIAN/triggers"

# dpkg-shlibdeps wants a source package's debian/control beside it.
mkdir -p "$work/src/debian"
printf 'Source: aia\n\nPackage: aia\nArchitecture: amd64\n' > "$work/src/debian/control"
# libaia-plugin.so is the package's own (found with -l, no dependency for it).
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O --ignore-missing-info -l"$pkg/usr/lib/x86_64-linux-gnu" \
  -e"$pkg/usr/bin/aia" -e"$pkg/usr/bin/aia_worker" \
  -e"$pkg/usr/lib/x86_64-linux-gnu/libaia-plugin.so" 2>"$work/shlibdeps.err") || {
  cat "$work/shlibdeps.err" >&2; exit 1; }
depends=${shlibs#shlibs:Depends=}
[[ -n $depends && $depends != "$shlibs" ]] || { echo "build-deb.sh: dpkg-shlibdeps said: $shlibs" >&2; exit 1; }
depends="$depends, passwd"
installed_size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
  -e "s/@DEPENDS@/$depends/" "$here/debian/control.in" > "$pkg/DEBIAN/control"

deb=$out_dir/aia_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
echo "$deb"
