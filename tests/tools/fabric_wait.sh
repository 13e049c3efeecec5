# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the fabric shell tests, which define fail().

# fabric_scratch: a scratch directory $tmp, removed at exit, and the server
# the test starts ($server), killed at exit.
fabric_scratch() {
	tmp=$(mktemp -d) || exit 1
	server=""
	trap fabric_cleanup EXIT
	trap 'exit 1' INT TERM
}
fabric_cleanup() {
	[ -n "$server" ] && kill -9 "$server" 2>/dev/null
	rm -rf "$tmp"
}

# wait_desc FILE PID: wait up to 10 s for server PID to write its descriptor to FILE.
wait_desc() {
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || fail "no descriptor from the server within 10 s"
		kill -0 "$2" 2>/dev/null || fail "the server exited"
		sleep 0.1
	done
}
