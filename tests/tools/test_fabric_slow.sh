#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Fabric clients whose system calls are slow: each `udma fabric copy` runs
# under strace -f, which stops every system call of every thread. On
# 2026-11-24 this made a fresh connection fail at once with "Connection
# timed out" in 5 of 6 runs. The progress thread read the clock, then
# waited for the fabric lock while the submitting thread stamped its
# refused post (rxm still connecting) later than that reading; the
# difference wrapped to "stalled forever" (lib/fabric/fabric.c, scan()).
# The same race, with a narrower window, failed about one run in 30 of
# tests/netns/test_fabric_netns.sh on a quiet machine.
# Loopback only; skips (77) without strace or where ptrace is refused.
#   usage: test_fabric_slow.sh PATH/TO/udma
set -u
. "$(dirname "$0")/fabric_wait.sh"
udma=${1:?usage: test_fabric_slow.sh PATH/TO/udma}

skip() { echo "SKIP: $*"; exit 77; }
command -v strace >/dev/null 2>&1 || skip "no strace(1): install strace"
command -v timeout >/dev/null 2>&1 || skip "no timeout(1)"
"$udma" fabric --help >/dev/null 2>&1 || skip "$udma has no fabric command"
strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace refused)"

fabric_scratch

fail() { echo "FAIL: $*"; [ -f "$tmp/serve.err" ] && sed 's/^/  server: /' "$tmp/serve.err"; exit 1; }

# The server runs at full speed; it stops by itself after 60 s.
"$udma" fabric serve --addr 127.0.0.1 --size 8M --time 60 --timeout 5000 \
	--desc-file "$tmp/desc" >/dev/null 2>"$tmp/serve.err" &
server=$!
wait_desc "$tmp/desc" "$server"

# Each client is a fresh process, so each makes a fresh connection.
n=0
client() {
	n=$((n + 1))
	# LeakSanitizer cannot run under ptrace (the ASan build): leaks are the other tests' job
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		timeout 60 strace -f -o /dev/null "$udma" fabric copy "@$tmp/desc" --addr 127.0.0.1 --timeout 5000 "$@" \
		>"$tmp/client.out" 2>&1 || { sed 's/^/  client: /' "$tmp/client.out"; fail "client $n ($*)"; }
}
for round in 1 2 3; do
	client --pull --size 2M --verify
	client --push --size 1M --offset 4M --verify
done
echo "ok: $n clients under strace connected and copied, verified"
exit 0
