#!/usr/bin/env bash
# A multi-host test bed on one machine: network namespaces joined by a bridge.
#
#   tests/netns/testbed.sh [--name=PREFIX] up [WORKERS]   (default 3 workers)
#   tests/netns/testbed.sh [--name=PREFIX] down
#   tests/netns/testbed.sh [--name=PREFIX] status
#
# `up` makes these namespaces ("hosts"), each with its loopback up and one veth link
# into the bridge:
#
#   PREFIX-coord   10.77.0.1    host name "coord"
#   PREFIX-w1      10.77.0.11   host name "worker1"
#   PREFIX-wI      10.77.0.(10+I)   "workerI"   (I = 1..WORKERS, at most 200)
#
# The bridge lives in a namespace of its own, PREFIX-br, so nothing is added to the
# machine's own (root) namespace: no interface, no address, no route. No namespace has
# a route beyond 10.77.0.0/24 or a link to any other network, so no packet can leave
# the test bed. `ip netns exec PREFIX-HOST CMD` runs CMD on a host; it sees
# /etc/netns/PREFIX-HOST/hosts as /etc/hosts (every host name above, on every host).
#
# `up` first removes any test bed of the same PREFIX (so it is idempotent), and undoes
# what it made if a step fails. `down` ends the processes still running in the test
# bed's namespaces (those were started there by the user of the test bed), deletes the
# namespaces (and with them their links and iptables rules) and the /etc/netns files;
# it succeeds when there is nothing to remove.
#
# PREFIX (default aia-tb) is at most 10 characters of [a-z0-9-], so several test beds
# can exist at once (tests use one per process).
#
# Exit status: 0 done; 1 a step failed (the message names it); 2 usage; 77 namespaces
# cannot be made here (not root, no `ip`, or `ip netns add` refused): callers skip.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"   # ip, iptables (Bazel tests get a short PATH)

prefix=aia-tb
while [[ $# -gt 0 && $1 == --* ]]; do
  case $1 in
    --name=*) prefix=${1#--name=} ;;
    *) echo "testbed.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $# -ge 1 ]] || { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
command=$1
shift
if [[ ! $prefix =~ ^[a-z0-9][a-z0-9-]{0,9}$ ]]; then
  echo "testbed.sh: --name must be 1-10 characters of [a-z0-9-], got '$prefix'" >&2
  exit 2
fi

subnet=10.77.0
bridge_ns=$prefix-br

# The test bed's namespaces that exist now.
namespaces() {
  ip netns list 2> /dev/null | awk '{print $1}' |
    grep -E "^${prefix}-(br|coord|w[0-9]+)\$" || true
}

unsupported() {
  echo "testbed.sh: cannot make network namespaces here: $*" >&2
  exit 77
}

down() {
  local ns pids
  for ns in $(namespaces); do
    pids=$(ip netns pids "$ns" 2> /dev/null || true)
    if [[ -n $pids ]]; then
      # shellcheck disable=SC2086
      kill -KILL $pids 2> /dev/null || true
    fi
  done
  for ns in $(namespaces); do
    ip netns delete "$ns" 2> /dev/null || echo "testbed.sh: could not delete namespace $ns" >&2
    rm -rf "/etc/netns/$ns"
  done
  # /etc/netns entries whose namespace is already gone.
  rm -rf /etc/netns/"$prefix"-br /etc/netns/"$prefix"-coord /etc/netns/"$prefix"-w[0-9]*
  rmdir /etc/netns 2> /dev/null || true
  if [[ -n $(namespaces) ]]; then
    echo "testbed.sh: namespaces left: $(namespaces | tr '\n' ' ')" >&2
    return 1
  fi
}

step() {
  if ! "$@"; then
    echo "testbed.sh: failed: $*" >&2
    return 1
  fi
}

# Makes host namespace $1 with address $2 linked to the bridge as port $3.
add_host() {
  local ns=$1 address=$2 port=$3
  step ip netns add "$ns"
  step ip -n "$ns" link set lo up
  # Both ends are made inside their namespaces: the link never exists in the root one.
  step ip link add name eth0 netns "$ns" type veth peer name "$port" netns "$bridge_ns"
  step ip -n "$bridge_ns" link set "$port" master br0
  step ip -n "$bridge_ns" link set "$port" up
  step ip -n "$ns" address add "$address/24" dev eth0
  step ip -n "$ns" link set eth0 up
  mkdir -p "/etc/netns/$ns"
  cp "$hosts_file" "/etc/netns/$ns/hosts"
}

up() {
  local workers=${1:-3}
  if [[ ! $workers =~ ^[0-9]+$ ]] || ((workers < 1 || workers > 200)); then
    echo "testbed.sh: WORKERS must be in [1, 200], got '$workers'" >&2
    exit 2
  fi
  [[ $(id -u) -eq 0 ]] || unsupported "not root (uid $(id -u))"
  command -v ip > /dev/null || unsupported "no ip command (apt-get install iproute2)"
  down
  trap 'status=$?; if ((status != 0)); then down || true; fi; rm -f "$hosts_file"' EXIT
  hosts_file=$(mktemp)
  {
    echo "127.0.0.1 localhost"
    echo "$subnet.1 coord"
    # "workers" names every worker host (dns:/// discovery: one name, every address).
    for ((i = 1; i <= workers; i++)); do echo "$subnet.$((10 + i)) worker$i workers"; done
  } > "$hosts_file"
  if ! error=$(ip netns add "$bridge_ns" 2>&1); then
    unsupported "ip netns add: $error"
  fi
  step ip -n "$bridge_ns" link set lo up
  step ip -n "$bridge_ns" link add br0 type bridge
  step ip -n "$bridge_ns" link set br0 up
  add_host "$prefix-coord" "$subnet.1" coord
  for ((i = 1; i <= workers; i++)); do
    add_host "$prefix-w$i" "$subnet.$((10 + i))" "w$i"
  done
  # Every host reaches every other across the bridge (a link comes up in well under a
  # second; wait for it, bounded).
  for ((i = 1; i <= workers; i++)); do
    local reached=0
    for _ in $(seq 50); do
      # A refused TCP connection proves the path works as well as an accepted one.
      local said
      said=$(ip netns exec "$prefix-coord" timeout 1 bash -c \
        "exec 3<>/dev/tcp/$subnet.$((10 + i))/9" 2>&1 || true)
      if [[ $said == *refused* ]]; then
        reached=1
        break
      fi
      sleep 0.1
    done
    ((reached)) || { echo "testbed.sh: worker$i ($subnet.$((10 + i))) unreachable from coord" >&2; return 1; }
  done
  echo "testbed.sh: up: $prefix-coord ($subnet.1, coord) and $workers workers" \
    "($prefix-w1..w$workers, $subnet.11.., worker1..)"
}

status() {
  local ns
  for ns in $(namespaces); do
    echo "$ns: $(ip -n "$ns" -br -4 address show | awk '$1 != "lo" {print $1, $3}' | tr '\n' ' ')"
  done
}

case $command in
  up) up "$@" ;;
  down) down ;;
  status) status ;;
  *) echo "testbed.sh: unknown command $command (up, down, status)" >&2; exit 2 ;;
esac
