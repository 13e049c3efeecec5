#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `udma fabric` and signals (docs/udma.1: 130 when interrupted). When libudma
# linked libfabric, its psm provider's handlers turned SIGINT and SIGTERM
# into exit 1 (and left *.btr files behind): now perf and copy exit 130 on
# SIGINT, die by SIGTERM (143), and serve ends cleanly (0) on either.
# Loopback only.
#   usage: test_fabric_signals.sh PATH/TO/udma
set -u
. "$(dirname "$0")/fabric_wait.sh"
udma=${1:?usage: test_fabric_signals.sh PATH/TO/udma}
udma=$(cd "$(dirname "$udma")" && pwd)/$(basename "$udma") # the tests run in a scratch directory

skip() { echo "SKIP: $*"; exit 77; }
"$udma" fabric --help >/dev/null 2>&1 || skip "$udma has no fabric command"
# a non-interactive shell starts background commands with SIGINT ignored
env --default-signal=INT true 2>/dev/null || skip "env(1) has no --default-signal (coreutils 8.31)"

fabric_scratch

fail() { echo "FAIL: $*"; for f in "$tmp"/*.err; do [ -f "$f" ] && sed "s|^|  $(basename "$f" .err): |" "$f"; done; exit 1; }

cd "$tmp" || exit 1 # where psm wrote its *.btr files
env --default-signal=INT,TERM "$udma" fabric serve --addr 127.0.0.1 --size 1M --time 120 \
	--desc-file "$tmp/desc" >/dev/null 2>"$tmp/serve.err" &
server=$!
wait_desc "$tmp/desc" "$server"

# CMD... in the background until it has a connection (its first output
# line, or 1 s), then SIG; its exit status must be WANT.
signal_and_check() {
	want=$1 sig=$2 name=$3
	shift 3
	env --default-signal=INT,TERM "$udma" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	i=0
	while [ ! -s "$tmp/$name.out" ] && [ $i -lt 10 ] && kill -0 $pid 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -0 $pid 2>/dev/null || fail "$name ended before the signal"
	kill -"$sig" $pid
	wait $pid
	rc=$?
	[ $rc = "$want" ] || fail "$name: exit $rc after SIG$sig, want $want"
	echo "ok: $name exits $rc on SIG$sig"
}
signal_and_check 130 INT perf fabric perf "@$tmp/desc" --addr 127.0.0.1 -s 4K -d 60
signal_and_check 143 TERM perf-term fabric perf "@$tmp/desc" --addr 127.0.0.1 -s 4K -d 60
signal_and_check 130 INT copy fabric copy "@$tmp/desc" --addr 127.0.0.1 --pull -s 4K -n 1000000

kill -INT "$server"
wait "$server"
rc=$?
server=""
[ $rc = 0 ] || fail "serve: exit $rc after SIGINT, want 0"
echo "ok: serve exits 0 on SIGINT"
ls "$tmp"/*.btr >/dev/null 2>&1 && fail "backtrace files appeared: $(ls "$tmp"/*.btr)"
exit 0
