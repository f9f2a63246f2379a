#!/usr/bin/env bash
# The Debian package of deploy/build-deb.sh, in a clean Debian 12 root file system
# made once with `mmdebstrap --variant=essential --include=apt bookworm DIR` (the
# essential packages have no apt; no mirror argument:
# this machine's apt sources; it needs Debian's archive):
#
# - build: deploy/build-deb.sh --bin_dir=(the binaries Bazel built for this test)
#   prints the package's path last; its Depends: names libgrpc++1.51 and libatomic1;
# - bad input: `dpkg -i` without the dependencies fails naming libgrpc++1.51 as not
#   installed, and leaves nothing configured (then purged);
# - `apt-get install ./aia_*.deb` (after apt-get update) succeeds: user aia, /var/lib/aia
#   owned by it, the conffiles /etc/aia/*.env, the units, the docs;
# - `systemd-analyze verify` of the installed units (copied out, ExecStart= on the
#   binaries installed in the root; the root has no systemd): exit 0, stderr empty;
# - in the root (unshare --mount --pid --fork, /proc mounted, chroot, as the user aia):
#   aia_worker starts and announces its address; `aia run` of the packaged example
#   echo_transport and of a synthetic least-squares SGD, --local_workers=2, complete;
# - tutorial: the commands of docs/tutorial.md, exactly (tutorial_script.py), as the
#   new user reader: the plugin built with g++ and pkg-config aia-plugin, run on 4
#   local workers and on two daemons, its history read with NumPy;
# - `apt-get purge aia` leaves no file of the package, no user or group aia, no
#   /var/lib/aia, no /etc/aia.
#
# Runs from Bazel (sh_test; the binaries are data) or by hand:
#   tests/deploy/deb_test.sh BIN_DIR   (BIN_DIR holds aia, aia_worker and aia-sdk.tar)
# Every command in the root has a timeout.
set -uo pipefail
# Bazel's test PATH has no sbin: chroot, and useradd in the root's postinst.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
src=$(cd "$here/../.." && pwd)
source "$here/cases.sh"

if [[ $# -ge 1 ]]; then
  bin_dir=$(cd "$1" && pwd)
else
  runfiles=${TEST_SRCDIR:-$0.runfiles}/aia
  bin_dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/bin.XXXXXX")
  ln -s "$(readlink -f "$runfiles/coordinator/aia")" "$bin_dir/aia"
  ln -s "$(readlink -f "$runfiles/worker/aia_worker")" "$bin_dir/aia_worker"
  ln -s "$(readlink -f "$runfiles/sdk/aia-sdk.tar")" "$bin_dir/aia-sdk.tar"
fi
# Not under TEST_TMPDIR: the root holds device nodes and is large; always removed.
tmp=$(mktemp -d /var/tmp/aia-deb-test.XXXXXX)
root=$tmp/root
cleanup() {
  umount -R "$root/proc" 2>/dev/null
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

missing=""
for tool in mmdebstrap dpkg-deb dpkg-shlibdeps unshare timeout systemd-analyze; do
  command -v "$tool" >/dev/null || missing+=" $tool"
done
if ((EUID != 0)); then
  skip_all "not root (mmdebstrap, chroot and apt-get need root)"
elif [[ -n $missing ]]; then
  skip_all "missing:$missing (scripts/setup.sh installs them)"
elif [[ ! -x $bin_dir/aia || ! -x $bin_dir/aia_worker ]]; then
  skip_all "no aia and aia_worker in $bin_dir"
fi

# In the root: a mount and pid namespace of its own, /proc mounted, bounded.
in_root() {
  local seconds=$1; shift
  # The root has no mount(8): unshare mounts its /proc (in the new namespaces).
  timeout --kill-after=5 "$seconds" unshare --mount --pid --fork --kill-child \
    --mount-proc="$root/proc" chroot "$root" "$@"
}

# Cases run in subshells: what a later case needs is kept in $tmp.
deb() { cat "$tmp/deb" 2>/dev/null; }
build_package() {
  timeout 300 "$src/deploy/build-deb.sh" --bin_dir="$bin_dir" "$tmp/out" >"$tmp/build.out" \
    2>"$tmp/build.err"
  local status=$?
  cat "$tmp/build.err" "$tmp/build.out"
  ((status == 0)) || { echo "build-deb.sh exited with $status"; return 1; }
  local deb
  deb=$(tail -1 "$tmp/build.out")
  local version
  version=$(sed -n 's/.*kVersion\[\] = "\([^"]*\)".*/\1/p' "$src/base/version.h")
  [[ $deb == "$tmp/out/aia_${version}_amd64.deb" && -f $deb ]] ||
    { echo "last line '$deb' is not the package aia_${version}_amd64.deb"; return 1; }
  local depends
  depends=$(dpkg-deb -f "$deb" Depends)
  echo "Depends: $depends"
  echo "size: $(stat -c %s "$deb") bytes, Installed-Size: $(dpkg-deb -f "$deb" Installed-Size) KiB"
  local lib
  for lib in 'libgrpc++1.51' libatomic1 libprotobuf32 libabsl20220623 libsystemd0 libc6 passwd; do
    sed 's/, /\n/g' <<<"$depends" | cut -d' ' -f1 | grep -qxF "$lib" ||
      { echo "Depends: lacks $lib"; return 1; }
  done
  dpkg-deb -c "$deb" | awk '{print $6}' > "$tmp/contents"
  for path in ./usr/bin/aia ./usr/bin/aia_worker ./lib/systemd/system/aia-worker.service \
      ./lib/systemd/system/aia-coordinator.service ./etc/aia/worker.env \
      ./etc/aia/coordinator.env ./usr/share/doc/aia/README.md ./usr/share/doc/aia/copyright \
      ./usr/share/doc/aia/running.md ./usr/share/doc/aia/examples/echo_transport.textproto; do
    grep -qxF "$path" "$tmp/contents" || { echo "the package lacks $path"; return 1; }
  done
  [[ $(dpkg-deb -f "$deb" Package) == aia ]] || return 1
  dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles > "$tmp/conffiles"
  diff <(printf '/etc/aia/coordinator.env\n/etc/aia/worker.env\n') "$tmp/conffiles" ||
    { echo "conffiles differ"; return 1; }
  echo "$deb" > "$tmp/deb"
}

make_root() {
  local deb
  deb=$(deb)
  [[ -n $deb ]] || { echo "no package built"; return 1; }
  local start=$SECONDS
  timeout 300 mmdebstrap --variant=essential --include=apt bookworm "$root" >"$tmp/mmdebstrap.log" 2>&1
  local status=$?
  tail -3 "$tmp/mmdebstrap.log"
  ((status == 0)) || { echo "mmdebstrap exited with $status"; return 1; }
  echo "root made in $((SECONDS - start)) s: $(du -sh "$root" | cut -f1)"
  cp "$deb" "$root/tmp/"
}

dpkg_without_dependencies() {
  [[ -d $root/usr ]] || { echo "no root"; return 1; }
  local name
  name=$(basename "$(deb)")
  in_root 60 dpkg -i "/tmp/$name" >"$tmp/dpkg.out" 2>&1
  local status=$?
  cat "$tmp/dpkg.out"
  ((status != 0)) || { echo "dpkg -i succeeded without the dependencies"; return 1; }
  grep -q "aia depends on libgrpc++1.51" "$tmp/dpkg.out" &&
    grep -q "Package libgrpc++1.51 is not installed" "$tmp/dpkg.out" ||
    { echo "dpkg did not name libgrpc++1.51 as not installed"; return 1; }
  local state
  state=$(in_root 30 dpkg-query -W -f='${Status}' aia)
  echo "aia: $state"
  [[ $state != *" installed" ]] || { echo "aia is configured anyway"; return 1; }
  in_root 60 dpkg --purge aia || { echo "dpkg --purge aia failed"; return 1; }
  ! in_root 30 getent passwd aia >/dev/null || { echo "user aia exists"; return 1; }
}

# A library present at a version older than the one the binaries were linked with
# (an empty stand-in package libgrpc++1.51 1.50.0-1): dpkg names the library and
# the version it found.
dpkg_with_an_old_library() {
  [[ -d $root/usr ]] || { echo "no root"; return 1; }
  local fake=$tmp/old-grpc
  mkdir -p "$fake/DEBIAN"
  printf '%s\n' 'Package: libgrpc++1.51' 'Version: 1.50.0-1' 'Architecture: amd64' \
    'Maintainer: aia tests <aia@localhost>' 'Description: an empty stand-in for an old gRPC' \
    >"$fake/DEBIAN/control"
  dpkg-deb --build --root-owner-group "$fake" "$root/tmp/old-grpc.deb" >/dev/null ||
    { echo "cannot build the stand-in package"; return 1; }
  in_root 60 dpkg -i /tmp/old-grpc.deb >/dev/null || { echo "cannot install the stand-in"; return 1; }
  local name
  name=$(basename "$(deb)")
  in_root 60 dpkg -i "/tmp/$name" >"$tmp/dpkg-old.out" 2>&1
  local status=$?
  cat "$tmp/dpkg-old.out"
  ((status != 0)) || { echo "dpkg -i succeeded with libgrpc++1.51 1.50.0-1"; return 1; }
  grep -q "aia depends on libgrpc++1.51 (>= 1.51.1)" "$tmp/dpkg-old.out" &&
    grep -q "Version of libgrpc++1.51 on system is 1.50.0-1" "$tmp/dpkg-old.out" ||
    { echo "dpkg did not name the old libgrpc++1.51 and its version"; return 1; }
  in_root 60 dpkg --purge aia libgrpc++1.51 >/dev/null || { echo "purge failed"; return 1; }
}

apt_install() {
  [[ -d $root/usr ]] || { echo "no root"; return 1; }
  local name start=$SECONDS
  name=$(basename "$(deb)")
  in_root 180 apt-get -q update >"$tmp/apt.log" 2>&1 || { tail "$tmp/apt.log"; echo "apt-get update failed"; return 1; }
  DEBIAN_FRONTEND=noninteractive in_root 300 apt-get -q -y install "/tmp/$name" >"$tmp/apt.log" 2>&1
  local status=$?
  tail -5 "$tmp/apt.log"
  ((status == 0)) || { echo "apt-get install ./$name exited with $status"; return 1; }
  echo "installed in $((SECONDS - start)) s"
  in_root 30 dpkg-query -W -f='${Status} ${Version}\n' aia
  in_root 30 getent passwd aia || { echo "no user aia"; return 1; }
  local owner
  owner=$(in_root 30 stat -c %U:%G:%a /var/lib/aia /var/lib/aia/data /etc/aia)
  echo "$owner"
  [[ $owner == $'aia:aia:750\naia:aia:750\nroot:aia:750' ]] ||
    { echo "/var/lib/aia, data, /etc/aia are not aia's (0750)"; return 1; }
  in_root 30 dpkg-query -W -f='${Conffiles}\n' aia
  in_root 30 dpkg -L aia > "$tmp/files" || return 1
  grep -qxF /usr/share/doc/aia/security.md "$tmp/files" || { echo "no docs"; return 1; }
}

verify_installed_units() {
  [[ -f $root/lib/systemd/system/aia-worker.service ]] || { echo "units not installed"; return 1; }
  # The root has no systemd (no sysinit.target for `verify --root`): verify the
  # installed units on this machine, their ExecStart= on the installed binaries.
  mkdir -p "$tmp/units"
  local unit
  for unit in aia-worker aia-coordinator; do
    sed "s|^ExecStart=/usr/bin/|ExecStart=$root/usr/bin/|" \
      "$root/lib/systemd/system/$unit.service" > "$tmp/units/$unit.service"
  done
  (cd "$tmp/units" && systemd-analyze verify ./aia-worker.service ./aia-coordinator.service) \
    2>"$tmp/verify.err"
  local status=$?
  cat "$tmp/verify.err"
  ((status == 0)) && [[ ! -s $tmp/verify.err ]] ||
    { echo "verify: exit $status or stderr not empty"; return 1; }
  for unit in aia-worker aia-coordinator; do
    (cd "$tmp/units" && systemd-analyze security --offline=yes "./$unit.service" 2>&1 | tail -1)
  done
}

as_aia() { in_root "$1" setpriv --reuid=aia --regid=aia --init-groups "${@:2}"; }

worker_starts() {
  [[ -x $root/usr/bin/aia_worker ]] || { echo "aia_worker not installed"; return 1; }
  # The worker runs until SIGTERM: stop it once it announced its address.
  as_aia 60 sh -c 'aia_worker --listen=127.0.0.1:0 --data_root=/var/lib/aia/data > /tmp/worker.out &
      pid=$!
      for i in $(seq 1 200); do
        grep -q "listening on" /tmp/worker.out && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.05
      done
      cat /tmp/worker.out
      kill -TERM $pid; wait $pid; echo "aia_worker exit status $?"' >"$tmp/worker.log" 2>&1
  cat "$tmp/worker.log"
  grep -qE "^aia_worker listening on 127\.0\.0\.1:[0-9]+$" "$tmp/worker.log" ||
    { echo "aia_worker did not announce its address"; return 1; }
  grep -q "aia_worker exit status 0" "$tmp/worker.log" || { echo "aia_worker did not exit 0"; return 1; }
}

run_completes() {
  [[ -x $root/usr/bin/aia ]] || { echo "aia not installed"; return 1; }
  cat > "$root/tmp/sgd_synthetic.textproto" <<'CONFIG'
name: "sgd_synthetic"
algorithm {
  name: "sgd"
  sgd { stepsize: 0.01 }
}
problem {
  name: "least_squares"
  synthetic { rows: 200 columns: 5 seed: 1 }
}
stop { iteration: 2000 time_s: 60 }
save { iteration: 100 }
seed: 42
CONFIG
  chmod 0644 "$root/tmp/sgd_synthetic.textproto"
  local config
  for config in /usr/share/doc/aia/examples/echo_transport.textproto /tmp/sgd_synthetic.textproto; do
    local name=${config##*/}
    as_aia 120 aia run "$config" --local_workers=2 --quiet --out="/var/lib/aia/runs-test/${name%.textproto}" \
      >"$tmp/run.log" 2>&1
    local status=$?
    cat "$tmp/run.log"
    ((status == 0)) || { echo "aia run $config exited with $status"; return 1; }
    [[ -d $root/var/lib/aia/runs-test/${name%.textproto} ]] || { echo "no run directory"; return 1; }
  done
}

# docs/tutorial.md, exactly: its sudo commands as root (the network: apt-get), the
# others as a new user in an empty folder, in a network namespace of their own
# (the tutorial's daemons take fixed loopback ports). The files it writes must be
# examples/out_of_tree's (tutorial_script.py checks). Prints the time from the
# empty folder to the finished run of step 4.
tutorial() {
  [[ -x $root/usr/bin/aia ]] || { echo "aia not installed"; return 1; }
  command -v ip >/dev/null || { echo "SKIP: no ip (iproute2) for the network namespace"; return 77; }
  python3 "$here/tutorial_script.py" "$src/docs/tutorial.md" "$src/examples/out_of_tree" "$tmp" ||
    { echo "tutorial_script.py failed"; return 1; }
  in_root 30 useradd --create-home --shell /bin/bash reader 2>/dev/null || in_root 30 getent passwd reader ||
    { echo "cannot add the user reader"; return 1; }
  cp "$(deb)" "$root/home/reader/" && cp "$tmp/root.sh" "$tmp/user.sh" "$root/tmp/" &&
    chmod 0644 "$root/tmp/root.sh" "$root/tmp/user.sh" || return 1
  DEBIAN_FRONTEND=noninteractive in_root 900 sh -c 'cd /home/reader && bash /tmp/root.sh' \
    >"$tmp/tutorial-root.log" 2>&1
  local status=$?
  tail -3 "$tmp/tutorial-root.log"
  ((status == 0)) || { echo "the tutorial's install step exited with $status"; return 1; }
  local ns=aia-tutorial-$$
  ip netns add "$ns" && ip -n "$ns" link set lo up || { echo "cannot make the namespace $ns"; return 1; }
  rm -f "$root/home/reader/aia_"*.deb
  timeout --kill-after=5 600 ip netns exec "$ns" unshare --mount --pid --fork --kill-child \
    --mount-proc="$root/proc" chroot "$root" setpriv --reuid=reader --regid=reader --init-groups \
    env HOME=/home/reader sh -c 'cd /home/reader && bash /tmp/user.sh' >"$tmp/tutorial.log" 2>&1
  status=$?
  ip netns delete "$ns"
  cat "$tmp/tutorial.log"
  ((status == 0)) || { echo "the tutorial's commands exited with $status"; return 1; }
  # From `mkdir quickstart` to the end of the 4-worker run (the next step's start).
  local start end
  start=$(sed -n 's/^TUTORIAL-STEP \([0-9.]*\) mkdir quickstart.*/\1/p' "$tmp/tutorial.log")
  end=$(sed -n 's/^TUTORIAL-STEP \([0-9.]*\) python3 read_history.py.*/\1/p' "$tmp/tutorial.log")
  [[ -n $start && -n $end ]] || { echo "no step times in the log"; return 1; }
  grep -q "completed: .* history in runs/quickstart" "$tmp/tutorial.log" || { echo "no completed run"; return 1; }
  grep -q "completed: .* history in runs/two-daemons" "$tmp/tutorial.log" ||
    { echo "no completed run on the two daemons"; return 1; }
  echo "tutorial: from an empty folder to a finished run in $(awk "BEGIN { printf \"%.1f\", $end - $start }") s"
}

apt_purge() {
  [[ -s $tmp/files ]] || { echo "no file list of the installed package"; return 1; }
  DEBIAN_FRONTEND=noninteractive in_root 120 apt-get -q -y purge aia >"$tmp/purge.log" 2>&1
  local status=$?
  tail -3 "$tmp/purge.log"
  ((status == 0)) || { echo "apt-get purge aia exited with $status"; return 1; }
  local left=0 path
  while IFS= read -r path; do
    # Directories the package shares with others (/usr/bin, /lib/systemd/system...).
    # (/etc/aia and /usr/share/doc/aia are checked below.)
    [[ -d $root$path ]] && continue
    if [[ -e $root$path || -L $root$path ]]; then echo "left: $path"; left=1; fi
  done < "$tmp/files"
  for path in /var/lib/aia /etc/aia /usr/share/doc/aia; do
    [[ ! -e $root$path ]] || { echo "left: $path"; left=1; }
  done
  if in_root 30 getent passwd aia; then echo "left: user aia"; left=1; fi
  if in_root 30 getent group aia; then echo "left: group aia"; left=1; fi
  ((left == 0)) || return 1
  echo "purged: $(wc -l < "$tmp/files") paths of the package gone, no user, group, /var/lib/aia"
}

run_case build_package build_package
run_case make_root make_root
run_case dpkg_without_dependencies_names_the_library dpkg_without_dependencies
run_case dpkg_with_an_old_library_names_its_version dpkg_with_an_old_library
run_case apt_install apt_install
run_case verify_installed_units verify_installed_units
run_case worker_starts_in_the_root worker_starts
run_case run_completes_in_the_root run_completes
run_case tutorial tutorial
run_case apt_purge_leaves_nothing apt_purge
finish
