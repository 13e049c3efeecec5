#!/bin/sh
# Run every benchmark in bench/ (built into BUILD/bench). Each prints its own table.
set -e
b=${1:-build}
for x in "$b"/bench/bench_*; do
	[ -x "$x" ] || continue
	echo "== $(basename "$x")"
	"$x"
done
