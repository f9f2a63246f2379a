#!/usr/bin/env bash
# The systemd units of deploy/systemd, without systemd as PID 1 (see docs/deploy.md):
#
# - `systemd-analyze verify` passes with nothing on stderr, on copies of the units
#   whose ExecStart= points at the binaries Bazel built for this test (verify needs
#   the binary to exist); a copy with a misspelled key must make it complain (the
#   check can fail);
# - `systemd-analyze security --offline=yes` scores each unit at most 2.0;
# - the real aia_worker (listening; and joining only) and the real aia serve, started
#   with the unit's ExecStart= and the defaults of deploy/etc/*.env (tests/deploy/
#   unit_exec.py plays systemd), send READY=1 and, at SIGTERM, STOPPING=1 on a
#   notify socket (tests/deploy/notify_reader.py) and exit 0;
# - bad input: a missing certificate file, and a data root the user cannot read
#   (as nobody, like User=aia), end with exit status 2 and stderr naming the file.
#
# Runs from Bazel (sh_test; the binaries are data) or by hand:
#   tests/deploy/systemd_test.sh BIN_DIR   (BIN_DIR holds aia and aia_worker)
set -uo pipefail
# The source tree: this script's runfile is a symlink into it (tags "local").
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
fi
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/systemd_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
units=(aia-worker aia-coordinator)

if ! command -v systemd-analyze >/dev/null; then
  skip_all "systemd-analyze is missing (Debian's systemd)"
elif [[ ! -x /usr/bin/python3 ]]; then
  skip_all "/usr/bin/python3 is missing"
elif [[ ! -x $bin_dir/aia || ! -x $bin_dir/aia_worker ]]; then
  skip_all "no aia and aia_worker in $bin_dir"
fi

# Copies of the units with ExecStart= on the binaries under test.
mkdir -p "$tmp/units"
for unit in "${units[@]}"; do
  sed "s|^ExecStart=/usr/bin/|ExecStart=$bin_dir/|" "$src/deploy/systemd/$unit.service" \
    > "$tmp/units/$unit.service"
done

verify_units() {
  cd "$tmp/units" || return 1
  local files=() unit
  for unit in "${units[@]}"; do
    grep -q "^ExecStart=$bin_dir/" "$unit.service" || { echo "no ExecStart= rewritten in $unit"; return 1; }
    files+=("./$unit.service")
  done
  systemd-analyze verify "${files[@]}" 2>"$tmp/verify.err"
  local status=$?
  cat "$tmp/verify.err"
  ((status == 0)) || { echo "systemd-analyze verify exited with $status"; return 1; }
  [[ ! -s $tmp/verify.err ]] || { echo "systemd-analyze verify wrote to stderr"; return 1; }
  echo "verify: ${units[*]}: exit 0, stderr empty"
}

verify_catches_a_bad_key() {
  cd "$tmp/units" || return 1
  sed 's/^NoNewPrivileges=/NoNewPrivilege=/' aia-worker.service > bad-worker.service
  systemd-analyze verify ./bad-worker.service 2>"$tmp/bad.err"
  cat "$tmp/bad.err"
  grep -q "NoNewPrivilege" "$tmp/bad.err" || { echo "verify did not name the misspelled key"; return 1; }
}

security_score() {
  local unit=$1 out score
  out=$(cd "$tmp/units" && systemd-analyze security --offline=yes "./$unit.service" 2>&1)
  echo "$out" | tail -3
  score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
  [[ -n $score ]] || { echo "no exposure level in the output"; return 1; }
  echo "$unit.service: exposure $score"
  awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "$unit.service: exposure $score > 2.0"; return 1; }
}

# An env file from the package's defaults with NAME=VALUE lines replaced.
env_file() {
  local base=$1 out=$2; shift 2
  cp "$src/deploy/etc/$base.env" "$out"
  local pair
  for pair in "$@"; do
    grep -q "^${pair%%=*}=" "$out" || { echo "no ${pair%%=*} in $base.env"; return 1; }
    sed -i "s|^${pair%%=*}=.*|$pair|" "$out"
  done
}

# unit_exec.py with the binaries under test and /var/lib/aia in a temporary directory.
run_unit() {
  local unit=$1 env=$2; shift 2
  /usr/bin/python3 "$here/unit_exec.py" --unit="$src/deploy/systemd/$unit.service" \
    --env_file="$env" --map=/usr/bin="$bin_dir" --map=/var/lib/aia="$tmp/state" "$@"
}

notify() {
  local unit=$1 env=$2; shift 2
  mkdir -p "$tmp/state/data"
  echo "ExecStart: $(run_unit "$unit" "$env" --print)"
  timeout 60 /usr/bin/python3 "$here/notify_reader.py" --timeout=20 --stop -- \
    /usr/bin/python3 "$here/unit_exec.py" --unit="$src/deploy/systemd/$unit.service" \
    --env_file="$env" --map=/usr/bin="$bin_dir" --map=/var/lib/aia="$tmp/state" "$@"
}

worker_ready() {
  env_file worker "$tmp/w.env" AIA_LISTEN=127.0.0.1:0 || return 1
  notify aia-worker "$tmp/w.env"
}

joining_worker_ready() {
  # Nothing listens on port 1: the Joiner starts (and retries), which is when the
  # worker is ready.
  env_file worker "$tmp/j.env" AIA_LISTEN= AIA_JOIN=127.0.0.1:1 || return 1
  notify aia-worker "$tmp/j.env"
}

coordinator_ready() {
  env_file coordinator "$tmp/c.env" AIA_LISTEN=127.0.0.1:0 || return 1
  notify aia-coordinator "$tmp/c.env" || return 1
  [[ -d $tmp/state/runs ]] || { echo "no runs directory $tmp/state/runs"; return 1; }
}

# Runs the unit's command line, expects exit status 2 and stderr naming $want.
expect_refusal() {
  local unit=$1 env=$2 want=$3; shift 3
  mkdir -p "$tmp/state/data"
  echo "ExecStart: $(run_unit "$unit" "$env" --print)"
  timeout 30 /usr/bin/python3 "$here/unit_exec.py" --unit="$src/deploy/systemd/$unit.service" \
    --env_file="$env" --map=/usr/bin="$bin_dir" --map=/var/lib/aia="$tmp/state" "$@" \
    >"$tmp/out" 2>"$tmp/err"
  local status=$?
  cat "$tmp/err"
  ((status == 2)) || { echo "exit status $status, not 2"; return 1; }
  grep -qF "$want" "$tmp/err" || { echo "stderr does not name $want"; return 1; }
}

missing_certificate() {
  local unit=$1 base=$2
  env_file "$base" "$tmp/m.env" AIA_TLS_CERT="$tmp/missing/host.pem" \
    AIA_TLS_KEY="$tmp/missing/host.key" AIA_TLS_CA="$tmp/missing/ca.pem" || return 1
  expect_refusal "$unit" "$tmp/m.env" "$tmp/missing/host.pem"
}

unreadable_data_root() {
  getent passwd nobody >/dev/null || { echo "SKIP: no user nobody"; return 77; }
  ((EUID == 0)) || { echo "SKIP: not root (cannot run as nobody)"; return 77; }
  # nobody must reach the binary (Bazel's output lies under /root): a copy in a
  # directory of its own, and beside it a directory only root may enter, so that
  # nobody cannot resolve the data root below it.
  local dir
  dir=$(mktemp -d /var/tmp/aia-systemd-test.XXXXXX)
  chmod 0755 "$dir"
  mkdir -p "$dir/bin" "$dir/locked/data"
  cp "$bin_dir/aia_worker" "$dir/bin/"
  chmod 0755 "$dir/bin" "$dir/bin/aia_worker"
  # And the SDK library it links, where its RUNPATH ($ORIGIN/...) finds it.
  local real runpath lib
  real=$(readlink -f "$bin_dir/aia_worker")
  runpath=$(readelf -d "$real" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
  lib=$(ldd "$real" | awk '/libaia-plugin\.so/ { print $3 }')
  [[ $runpath == '$ORIGIN/'* && -f $lib ]] || { echo "no RUNPATH or libaia-plugin.so for the copy"; return 1; }
  mkdir -p "${runpath/\$ORIGIN/$dir/bin}" && cp "$lib" "${runpath/\$ORIGIN/$dir/bin}/" &&
    chmod -R a+rX "$dir" || return 1
  chmod 0700 "$dir/locked"
  env_file worker "$dir/d.env" AIA_DATA_ROOT="$dir/locked/data" || return 1
  chmod 0644 "$dir/d.env"
  bin_dir=$dir/bin
  local status=0
  expect_refusal aia-worker "$dir/d.env" "$dir/locked/data" --user=nobody || status=1
  rm -rf "$dir"
  ((status == 0)) || return 1
  grep -q "Permission denied" "$tmp/err" || { echo "not refused for permission"; return 1; }
}

missing_data_root() {
  env_file worker "$tmp/r.env" AIA_DATA_ROOT="$tmp/absent/data" || return 1
  expect_refusal aia-worker "$tmp/r.env" "$tmp/absent/data"
}

run_case verify_units verify_units
run_case verify_catches_a_bad_key verify_catches_a_bad_key
run_case security_score_worker security_score aia-worker
run_case security_score_coordinator security_score aia-coordinator
run_case worker_ready_and_stopping worker_ready
run_case joining_worker_ready_and_stopping joining_worker_ready
run_case coordinator_ready_and_stopping coordinator_ready
run_case worker_missing_certificate missing_certificate aia-worker worker
run_case coordinator_missing_certificate missing_certificate aia-coordinator coordinator
run_case worker_unreadable_data_root unreadable_data_root
run_case worker_missing_data_root missing_data_root
finish
