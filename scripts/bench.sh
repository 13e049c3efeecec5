#!/bin/sh
# Every benchmark behind docs/performance.md: the `udma perf` workloads (each
# prints its own table; see docs/udma.1), then any program left in bench/.
set -e
b=${1:-build}
perf() {
	echo "== udma perf $*"
	"$b/tools/udma" perf "$@"
	echo
}
perf --translate --peers
perf --domain --markdown
perf --pool --peers -t 2 -s 64,256,4K --markdown
perf --peers -f copy -s 64..4M -e cpu,threads,threads:2,auto --markdown
perf -f copy -s 8 -e cpu -q 1 --lat-every 0 --markdown
perf --peers -f xor8 -s 1K..1M -e cpu,threads,auto --markdown
perf --peers -f crc32c -s 1K..1M -e cpu,threads,auto --markdown
for x in "$b"/bench/bench_*; do
	[ -x "$x" ] || continue
	echo "== $(basename "$x")"
	"$x"
done
