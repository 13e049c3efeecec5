#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# `udma fabric serve --manual` against idle connections. Its loop polled:
# it spun a CPU while idle, and idle TCP connections starved honest ones
# (300 made a 64 KiB pull take 2 s instead of 0.4, 1000 made it time out).
# Now it sleeps in udma_fabric_progress_wait. Checked: the idle server
# uses well under a CPU (a spin uses all of one), before and behind 200
# idle connections, and an honest pull behind them succeeds, verified.
# Loopback only; bash for its /dev/tcp.
#   usage: test_fabric_manual.sh PATH/TO/udma
set -u
. "$(dirname "$0")/fabric_wait.sh"
udma=${1:?usage: test_fabric_manual.sh PATH/TO/udma}

skip() { echo "SKIP: $*"; exit 77; }
"$udma" fabric --help >/dev/null 2>&1 || skip "$udma has no fabric command"
[ -r /proc/self/stat ] || skip "no /proc/PID/stat for CPU time"

fabric_scratch
fail() { echo "FAIL: $*"; [ -f "$tmp/serve.err" ] && sed 's/^/  server: /' "$tmp/serve.err"; exit 1; }

# a port of our own: another test may hold the one we draw
for try in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 20000))
	# libfabric (tcp) leaks a handle per connection that never finished its
	# handshake (LeakSanitizer, ASan build): not udma's to report here
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$udma" fabric serve --manual --addr 127.0.0.1 --port $port --size 1M --time 120 \
			--desc-file "$tmp/desc" >/dev/null 2>"$tmp/serve.err" &
	server=$!
	i=0
	while [ ! -s "$tmp/desc" ] && kill -0 $server 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -s "$tmp/desc" ] && break
	kill -9 $server 2>/dev/null
	wait $server 2>/dev/null
	server=""
done
[ -n "$server" ] || fail "no server on any of 5 ports"

# CPU ticks (user + system) the server used over about a second; a busy
# spin uses all of them (CLK_TCK), a sleeping server next to none.
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' /proc/$server/stat; }
idle_cpu_check() {
	a=$(cpu_ticks)
	sleep 1
	b=$(cpu_ticks)
	used=$((b - a))
	[ $used -lt $((tck / 4)) ] || fail "the idle server used $used of $tck CPU ticks in a second ($1)"
	echo "ok: idle server used $used of $tck ticks in a second ($1)"
}
idle_cpu_check "no connections"

ulimit -n 4096 2>/dev/null
n=0
for ((k = 0; k < 200; k++)); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "idle connection $k refused"
	n=$((n + 1))
done
echo "ok: $n idle connections open"
idle_cpu_check "$n idle connections"

timeout 60 "$udma" fabric copy "@$tmp/desc" --addr 127.0.0.1 --pull --size 64K --verify --timeout 5000 \
	>"$tmp/copy.out" 2>&1 || { sed 's/^/  client: /' "$tmp/copy.out"; fail "the pull behind $n idle connections"; }
echo "ok: a 64 KiB pull behind $n idle connections, verified"

kill -INT $server
wait $server
rc=$?
server=""
[ $rc = 0 ] || fail "serve --manual: exit $rc after SIGINT"
exit 0
