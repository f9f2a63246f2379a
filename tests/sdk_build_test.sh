#!/usr/bin/env bash
# The SDK's two ways to build a plugin outside aia's tree, each followed by a real
# `aia run` of the result on 4 local workers:
#
# - bazel: examples/out_of_tree/ (copied, its paths to aia's tree made absolute)
#   built with its own Bazel server and output root: bazel build //:libquickstart.so;
# - g++: the installed SDK (//sdk:sdk_tree unpacked, aia-plugin.pc's prefix moved
#   there) and the tutorial's one command, g++ ... $(pkg-config --cflags --libs
#   aia-plugin). (tests/deploy/deb_test.sh runs the tutorial on the real package.)
#
# Reads examples/out_of_tree from the source tree (the runfile is a symlink into
# it: tags "local").
set -uo pipefail
here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
src=$(cd "$here/.." && pwd)
source "$src/tests/deploy/cases.sh"
runfiles=${TEST_SRCDIR:-$0.runfiles}/aia
aia=$(readlink -f "$runfiles/coordinator/aia")
worker=$(readlink -f "$runfiles/worker/aia_worker")
sdk_tar=$(readlink -f "$runfiles/sdk/aia-sdk.tar")
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/sdk.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# aia run of the quick start with the plugins of $1; the run directory is $2.
run_quickstart() {
  timeout 120 "$aia" run "$src/examples/out_of_tree/quickstart.textproto" --plugin_dir="$1" \
    --local_workers=4 --worker_binary="$worker" --out="$2" --quiet
  local status=$?
  ((status == 0)) || { echo "aia run exited with $status"; return 1; }
  [[ $(wc -l < "$2/history.csv") -ge 3 ]] || { echo "history.csv has no saved steps"; return 1; }
  head -1 "$2/history.csv" | grep -q ",objective$" || { echo "no objective column"; return 1; }
}

bazel_workspace() {
  command -v bazel >/dev/null || { echo "SKIP: no bazel"; return 77; }
  local ws=$tmp/ws
  cp -r "$src/examples/out_of_tree" "$ws"
  sed -i -e "s|path = \"\\.\\./\\.\\.\"|path = \"$src\"|" -e "s|\"\\.\\./\\.\\./|\"$src/|" "$ws/WORKSPACE"
  grep -q "path = \"$src\"" "$ws/WORKSPACE" || { echo "WORKSPACE: no path to rewrite"; return 1; }
  # A Bazel server of its own: its output root here, stopped at the end.
  local bazel=(bazel --output_user_root="$tmp/bazel-root" --max_idle_secs=60)
  (cd "$ws" && HOME=$tmp timeout 900 "${bazel[@]}" build --symlink_prefix=/ //:libquickstart.so) \
    >"$tmp/bazel.log" 2>&1
  local status=$?
  tail -5 "$tmp/bazel.log"
  local bin
  bin=$(cd "$ws" && HOME=$tmp "${bazel[@]}" info bazel-bin 2>/dev/null)
  (cd "$ws" && HOME=$tmp "${bazel[@]}" shutdown) >/dev/null 2>&1
  ((status == 0)) || { echo "bazel build exited with $status"; return 1; }
  [[ -f $bin/libquickstart.so ]] || { echo "no $bin/libquickstart.so"; return 1; }
  mkdir -p "$tmp/bazel-plugins" && cp "$bin/libquickstart.so" "$tmp/bazel-plugins/"
  run_quickstart "$tmp/bazel-plugins" "$tmp/run-bazel"
}

gcc_and_pkg_config() {
  for tool in g++ pkg-config protoc; do
    command -v "$tool" >/dev/null || { echo "SKIP: no $tool"; return 77; }
  done
  local sdk=$tmp/sdk
  mkdir -p "$sdk" && tar -C "$sdk" -xf "$sdk_tar" || return 1
  local pc_dir=$sdk/usr/lib/x86_64-linux-gnu/pkgconfig
  sed -i "s|^prefix=/usr$|prefix=$sdk/usr|" "$pc_dir/aia-plugin.pc"
  local dir=$tmp/gcc
  mkdir -p "$dir/plugins" && cp "$src/examples/out_of_tree/quickstart."{proto,cc} "$dir/" || return 1
  (cd "$dir" && protoc --cpp_out=. quickstart.proto &&
    timeout 300 g++ -O2 -shared quickstart.cc quickstart.pb.cc \
      $(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs aia-plugin) -o plugins/libquickstart.so) ||
    { echo "the g++ build failed"; return 1; }
  run_quickstart "$dir/plugins" "$tmp/run-gcc"
}

run_case bazel_workspace_out_of_the_tree bazel_workspace
run_case gcc_and_pkg_config gcc_and_pkg_config
finish
