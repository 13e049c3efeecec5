#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Run every libFuzzer target of a -Dfuzz=true build for a bounded time each and
# print the figures (executions, corpus, coverage). New inputs go to
# BUILD/fuzz-corpus/<target> (the committed seeds in tests/fuzz/corpus stay as
# they are); a crash leaves BUILD/fuzz-artifacts/<target>-crash-* and fails.
#   fuzz.sh BUILD_DIR SECONDS_PER_TARGET [TARGET...]
set -u
build=$1 secs=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
targets=("$@")
if [ ${#targets[@]} = 0 ]; then
	for f in "$build"/tests/fuzz_*; do
		n=$(basename "$f")
		case "$n" in *_replay | *.p) continue ;; esac
		[ -x "$f" ] && targets+=("${n#fuzz_}")
	done
fi
mkdir -p "$build/fuzz-artifacts"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
fail=0 total=0
printf '%-14s %12s %10s %8s %8s %s\n' target executions exec/s corpus cov result
for t in "${targets[@]}"; do
	exe=$build/tests/fuzz_$t
	work=$build/fuzz-corpus/$t
	mkdir -p "$work"
	log=$build/fuzz-$t.log
	"$exe" -max_total_time="$secs" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096 \
		-artifact_prefix="$build/fuzz-artifacts/$t-" "$work" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	files=$(ls "$work" | wc -l)
	if [ $rc = 0 ]; then res=ok; else res="FAILED (rc $rc, see $log)"; fail=1; fi
	printf '%-14s %12s %10s %8s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$files" "${cov:-?}" "$res"
	total=$((total + ${execs:-0}))
done
echo "fuzz: ${#targets[@]} targets, $secs s each, $total executions in all"
[ $fail = 0 ]
