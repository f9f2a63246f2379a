#!/usr/bin/env bash
# Builds the aia container image offline (no registry): a Debian 12 root file
# system made by mmdebstrap from this machine's apt sources with the aia package
# installed, imported into podman as the base, then deploy/container/Containerfile
# on top of it. Prints the image name on the last line of stdout.
#
#   deploy/container/build-image.sh [--deb=FILE] [--tag=NAME]
#
# --deb: the package (default: built with deploy/build-deb.sh); --tag: the image
# name (default localhost/aia:VERSION). Needs root, mmdebstrap and podman; about a
# minute.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
deb="" tag=""
for arg in "$@"; do
  case "$arg" in
    --deb=*) deb=${arg#--deb=} ;;
    --tag=*) tag=${arg#--tag=} ;;
    -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done
for tool in mmdebstrap podman; do
  command -v "$tool" >/dev/null || { echo "build-image.sh: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/aia-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [[ -z $deb ]]; then
  deb=$("$root/deploy/build-deb.sh" "$work" | tail -n 1)
fi
[[ -f $deb ]] || { echo "build-image.sh: no package at $deb" >&2; exit 1; }
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
version=$(dpkg-deb -f "$deb" Version)
tag=${tag:-localhost/aia:$version}

# The base: essential Debian 12 plus the package and what it depends on.
mkdir -p "$work/context"
cp "$deb" "$work/context/"
timeout 600 mmdebstrap --quiet --variant=essential --include=apt \
  --customize-hook="copy-in $deb /tmp" \
  --customize-hook="chroot \"\$1\" apt-get install -y --no-install-recommends /tmp/$(basename "$deb")" \
  --customize-hook='rm -f "$1"/tmp/*.deb; rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
  bookworm "$work/rootfs.tar" >&2
base=localhost/aia-base:$version
podman import --quiet "$work/rootfs.tar" "$base" >/dev/null
timeout 600 podman build --quiet --format docker --isolation=chroot --build-arg "BASE=$base" \
  -f "$here/Containerfile" -t "$tag" "$work/context" >&2
podman image rm --force "$base" >/dev/null 2>&1 || true
echo "$tag"
