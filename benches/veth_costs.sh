#!/usr/bin/env bash
# What a veth costs the kernel here, by operation: created with its peer in
# another namespace and put on a bridge, moved to another namespace and back, and
# deleted. Everything happens in two network namespaces made for the purpose
# (ctmx-a, ctmx-b) and removed at the end; the host's own interfaces are not
# touched. Each figure includes an `ip` process per operation (printed alone as
# "an ip command that only reads").
#
#   sudo bash benches/veth_costs.sh [N]      (as root; N pairs, default 50)
set -euo pipefail
N=${1:-50}
A=ctmx-a B=ctmx-b
cleanup() { ip netns del "$B" 2>/dev/null || true; ip netns del "$A" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$A"
ip netns add "$B"
ip -n "$A" link add ctmxbr type bridge
ip -n "$A" link set ctmxbr up
per_op() { # label, then a command run with $i from 1 to the count given first
  local count=$1 label=$2; shift 2
  local t0 t1 i
  t0=$(date +%s%N)
  for i in $(seq "$count"); do "$@" "$i"; done
  t1=$(date +%s%N)
  printf '%-58s %8d us\n' "$label" $(((t1 - t0) / count / 1000))
}
add() { ip -n "$A" link add "v$1" type veth peer name "p$1" netns "$B" && ip -n "$A" link set "v$1" master ctmxbr up; }
there() { ip -n "$B" link set "p$1" netns "$A"; }
back() { ip -n "$A" link set "p$1" netns "$B"; }
noop() { ip -n "$A" link show "v$1" >/dev/null; }
del() { ip -n "$A" link del "v$1"; }
per_op "$N" "veth created, peer in the other namespace, on the bridge" add
per_op "$N" "peer moved to the bridge's namespace" there
per_op "$N" "peer moved back" back
per_op "$N" "an ip command that only reads (link show)" noop
per_op 10 "veth deleted" del
