#!/bin/bash
# Run the meson test suites of one or more build directories and end with
# one line "N passed, N failed, N skipped" (CI reads it):
#   passed   test programs that passed (meson OK)
#   failed   test programs that failed or timed out; a meson run that failed with no
#            failed program (a build error, a bad --suite) and a build directory where
#            no test ran count one each
#   skipped  test programs that skipped (exit 77) plus the cmocka cases skipped inside
#            programs that passed, each listed with its reason before the closing line
# Exit status 1 if any failed.
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
# Exercise hugepage paths when we may: reserve some 2 MiB pages, give them back after.
restore=""
if [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/nr_hugepages ] && [ -z "${UDMA_TEST_NO_HUGEPAGES:-}" ]; then
	old=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$old" -lt 64 ]; then
		echo 64 > /proc/sys/vm/nr_hugepages 2>/dev/null && restore=$old
		echo "reserved $(cat /proc/sys/vm/nr_hugepages) 2 MiB hugepages for the tests (was $old)"
	fi
fi

# Count one meson log: prints the skipped programs and cases with their reasons on
# stderr, "passed failed skipped" on stdout.
count_log() {
	python3 - "$1" <<'PY'
import json, re, sys
p = f = s = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    r, name, out = t.get("result"), t.get("name"), t.get("stdout") or ""
    reasons = [l[6:] for l in out.splitlines() if l.startswith("SKIP: ")]
    if r == "SKIP":
        s += 1
        print(f"skipped: {name}: {'; '.join(reasons) or 'exit status 77'}", file=sys.stderr)
        continue
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    else:
        f += 1
        continue
    # cmocka's "[  SKIPPED ] case" on stdout, after skip_because's "SKIP: reason"
    why = ""
    for l in out.splitlines():
        if l.startswith("SKIP: "):
            why = l[6:]
        m = re.match(r"\[  SKIPPED \] (.+)$", l)
        if m and not re.match(r"\d+ test\(s\)", m.group(1)):
            s += 1
            print(f"skipped case: {name}: {m.group(1)}: {why or 'no reason given'}", file=sys.stderr)
            why = ""
print(p, f, s)
PY
}

pass=0 fail=0 skip=0
for b in "$@"; do
	echo "== tests in $b"
	# this run's own log: meson adds "-<wrapper>" to the name when wrapped
	logbase=run-tests
	rm -f "$b"/meson-logs/"$logbase".json "$b"/meson-logs/"$logbase"-*.json
	meson test -C "$b" --logbase "$logbase" --print-errorlogs --num-processes 2 "${suite[@]}" "${wrap[@]}"
	rc=$?
	logs=("$b"/meson-logs/"$logbase".json "$b"/meson-logs/"$logbase"-*.json)
	p=0 f=0 s=0
	for log in "${logs[@]}"; do
		[ -f "$log" ] && read -r p f s < <(count_log "$log")
	done
	if [ $((p + f + s)) = 0 ]; then
		echo "error: no test ran in $b" >&2
		f=1
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "error: meson test failed in $b (status $rc) with no failed test" >&2
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
[ -n "$restore" ] && echo "$restore" > /proc/sys/vm/nr_hugepages
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
