#!/bin/bash
# Run the meson test suites of one or more build directories and end with
# one line "N passed, N failed, N skipped". Exit status 1 if any failed.
#   run-tests.sh [--suite S]... [--wrap CMD] BUILD_DIR...
set -u
suite=() wrap=()
while [ $# -gt 0 ]; do
	case "$1" in
	--suite) suite+=(--suite "$2"); shift 2 ;;
	--wrap) wrap=(--wrapper "$2"); shift 2 ;;
	*) break ;;
	esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
# Exercise hugepage paths when we may: reserve some 2 MiB pages, give them back after.
restore=""
if [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/nr_hugepages ] && [ -z "${UDMA_TEST_NO_HUGEPAGES:-}" ]; then
	old=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$old" -lt 64 ]; then
		echo 64 > /proc/sys/vm/nr_hugepages 2>/dev/null && restore=$old
		echo "reserved $(cat /proc/sys/vm/nr_hugepages) 2 MiB hugepages for the tests (was $old)"
	fi
fi
pass=0 fail=0 skip=0
for b in "$@"; do
	echo "== tests in $b"
	meson test -C "$b" --print-errorlogs --num-processes 2 "${suite[@]}" "${wrap[@]}"
	# the newest log: with --wrapper meson writes testlog-<wrapper>.json instead
	log=$(ls -t "$b"/meson-logs/testlog*.json 2>/dev/null | head -n 1)
	[ -n "$log" ] && [ -f "$log" ] || { fail=$((fail + 1)); continue; }
	read -r p f s < <(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r == "OK" or r == "EXPECTEDFAIL": p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
[ -n "$restore" ] && echo "$restore" > /proc/sys/vm/nr_hugepages
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
