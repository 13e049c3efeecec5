#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Two hosts on one machine: network namespaces joined by a veth pair, with
# addresses in a private /30 that exists only inside them. `udma fabric
# serve` runs in one, `udma fabric copy` in the other: pull and push,
# verified, through domain operations and the mover's engine; then the
# server is killed and a copy must fail, in bounded time. Needs root and
# ip(8); otherwise it says why and exits 77 (skipped). Everything it makes
# goes away on exit, whatever the exit.
#   usage: test_fabric_netns.sh PATH/TO/udma
set -u
. "$(dirname "$0")/../tools/fabric_wait.sh"
udma=${1:?usage: test_fabric_netns.sh PATH/TO/udma}

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "not root: network namespaces need CAP_SYS_ADMIN"
command -v ip >/dev/null 2>&1 || skip "no ip(8): install iproute2"
command -v timeout >/dev/null 2>&1 || skip "no timeout(1)"
"$udma" fabric --help >/dev/null 2>&1 || skip "$udma has no fabric command"

# Names unique to this run, so two runs at once do not meet.
a=udma-fa-$$ b=udma-fb-$$ va=ufa$$ vb=ufb$$
addr_a=10.77.0.1 addr_b=10.77.0.2
tmp=$(mktemp -d) || exit 1
server=""
cleanup() {
	[ -n "$server" ] && kill -9 "$server" 2>/dev/null
	ip netns del "$a" 2>/dev/null
	ip netns del "$b" 2>/dev/null # the veth pair goes with its namespaces
	ip link del "$va" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$a" 2>"$tmp/err" || skip "cannot create a network namespace: $(cat "$tmp/err")"
ip netns add "$b" || exit 1
ip link add "$va" type veth peer name "$vb" 2>"$tmp/err" || skip "cannot create a veth pair: $(cat "$tmp/err")"
ip link set "$va" netns "$a" && ip link set "$vb" netns "$b" || exit 1
ip -n "$a" addr add "$addr_a/30" dev "$va" && ip -n "$a" link set "$va" up && ip -n "$a" link set lo up || exit 1
ip -n "$b" addr add "$addr_b/30" dev "$vb" && ip -n "$b" link set "$vb" up && ip -n "$b" link set lo up || exit 1

fail() { echo "FAIL: $*"; [ -f "$tmp/serve.err" ] && sed 's/^/  server: /' "$tmp/serve.err"; exit 1; }

# The server: 16 MiB, stopping by itself after 55 s (ip netns exec execs it: $! is its pid).
ip netns exec "$a" "$udma" fabric serve --addr "$addr_a" --size 16M --time 55 --timeout 5000 \
	--desc-file "$tmp/desc" >/dev/null 2>"$tmp/serve.err" &
server=$!
wait_desc "$tmp/desc" "$server"
echo "descriptor: $(cat "$tmp/desc")"

client() {
	timeout 30 ip netns exec "$b" "$udma" fabric copy "@$tmp/desc" --addr "$addr_b" --timeout 5000 "$@"
}
client --pull --size 8M --verify || fail "pull 8 MiB"
client --push --size 4M --offset 8M --verify || fail "push 4 MiB"
client --push --size 1M --offset 12M --verify --engine || fail "push 1 MiB through the engine"
client --pull --size 2M --offset 2M --verify --engine -n 2 || fail "pull 2 MiB through the engine"
# outside the region: refused before anything is sent
client --pull --size 1M --offset 16M >/dev/null 2>&1 && fail "a copy past the region succeeded"

# The server dies: a copy fails, in bounded time, and says so.
kill -9 "$server"
wait "$server" 2>/dev/null
server=""
start=$(date +%s)
client --pull --size 1M --timeout 2000 >/dev/null 2>"$tmp/dead.err" && fail "a copy from a dead server succeeded"
took=$(($(date +%s) - start))
echo "copy from the dead server failed in ${took} s: $(tail -1 "$tmp/dead.err")"
[ "$took" -le 10 ] || fail "the failure took ${took} s"
echo "ok: pull, push and engine copies verified across namespaces; a dead server fails copies in ${took} s"
exit 0
