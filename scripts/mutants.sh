#!/bin/bash
# Mutation testing (`make mutants`): put each small bug of tests/mutants/list.txt
# into a scratch copy of the tree, one at a time, build, run the tests the list
# names for it, and say whether they noticed.
#   mutants.sh [ID...]          all mutants, or only those named
# killed: a test failed or timed out; survived: all passed (a missing test);
# invalid: the mutant did not build (a defect of the list). Exit status 0 only
# if every mutant run was killed; 2 if the list is stale or the tests fail
# without any mutant.
# Environment: MUTANTS_LIST (default tests/mutants/list.txt), MUTANTS_DIR (scratch,
# default build-mutants/), MUTANT_TIMEOUT (seconds for one mutant's tests unless
# the list says, default 180).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
list=${MUTANTS_LIST:-$root/tests/mutants/list.txt}
work=${MUTANTS_DIR:-$root/build-mutants}
src=$work/src build=$work/build logs=$work/logs
tmo=${MUTANT_TIMEOUT:-180}
helper() { python3 "$root/scripts/mutants.py" "$@"; }
now() { date +%s; }
t0=$(now)

# The scratch copy: the tree as it is now (tracked and untracked files), built once.
mkdir -p "$src" "$logs"
helper sync "$root" "$src" || exit 2
rows=$(helper check "$list" "$src" "$@") || exit 2
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$src" -Dwerror=false -Ddpdk=disabled >"$logs/setup.log" 2>&1 ||
		{ echo "meson setup failed: $logs/setup.log"; exit 2; }
fi
# the build files follow the meson.build files now, before their tests are looked up
ninja -C "$build" build.ninja >>"$logs/setup.log" 2>&1 || { echo "meson reconfigure failed: $logs/setup.log"; exit 2; }

# Build the tests a selection needs; then run them: "ran failed-tests" (see mutants.py).
build_for() { # TEST...
	local t
	t=$(helper targets "$build" "$@") || return 2
	# shellcheck disable=SC2086 # one target a line
	ninja -C "$build" -j2 $t
}
run_tests() { # LOG_NAME SECONDS REPEAT TEST...
	local name=$1 secs=$2 repeat=$3
	shift 3
	rm -f "$build/meson-logs/$name.json"
	# repeated (a race's bug is caught by chance): until the first failure
	timeout -k 10 "$secs" meson test -C "$build" --no-rebuild --num-processes 2 --logbase "$name" \
		--repeat "$repeat" --maxfail 1 "$@" >>"$logs/$name.log" 2>&1
	echo "$? $(helper results "$build/meson-logs/$name.json")"
}

# The selected tests must pass on the unchanged tree, or nothing below means anything.
all_tests=$(cut -f5 <<<"$rows" | tr ' ' '\n' | sort -u | tr '\n' ' ')
# shellcheck disable=SC2086
helper targets "$build" $all_tests >/dev/null || exit 2 # a test the list names is gone
echo "== baseline: $all_tests"
: >"$logs/baseline.log"
# shellcheck disable=SC2086
build_for $all_tests >>"$logs/baseline.log" 2>&1 || { echo "the unchanged tree does not build: $logs/baseline.log"; exit 2; }
# shellcheck disable=SC2086
read -r rc ran failed < <(run_tests baseline 900 1 $all_tests)
if [ "$rc" != 0 ] || [ "$failed" != - ]; then
	echo "the tests fail without any mutant ($failed, status $rc): $logs/baseline.log"
	exit 2
fi

# One mutant at a time; its file is put back whatever happens.
current="" saved="$work/saved"
restore() { [ -n "$current" ] && cp "$saved" "$src/$current"; current=""; }
trap 'restore; exit 130' INT TERM
killed=0 survived=0 invalid=0
table=$work/last-run.md
printf '| mutant | file | what | result | killed by | s |\n|---|---|---|---|---|---|\n' >"$table"
printf '%-28s %-9s %-40s %s\n' mutant result "killed by" seconds
while IFS=$'\t' read -r id file secs repeat tests what; do
	start=$(now)
	[ "$secs" = - ] && secs=$tmo
	: >"$logs/$id.log"
	cp "$src/$file" "$saved"
	current=$file
	helper apply "$list" "$id" "$src" || { restore; exit 2; }
	# shellcheck disable=SC2086
	if ! build_for $tests >>"$logs/$id.log" 2>&1; then
		result=invalid by="does not build" invalid=$((invalid + 1))
	else
		# shellcheck disable=SC2086
		read -r rc ran failed < <(run_tests "$id" "$secs" "$repeat" $tests)
		if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
			result=killed by="timeout after $secs s" killed=$((killed + 1))
			[ "$failed" != - ] && by="$by: $failed"
		elif [ "$failed" != - ]; then
			result=killed by=$failed killed=$((killed + 1))
		elif [ "$rc" = 0 ]; then
			result=survived by="-" survived=$((survived + 1))
		else # meson itself failed: no verdict
			result=invalid by="meson test status $rc, $ran ran" invalid=$((invalid + 1))
		fi
	fi
	restore
	secs_used=$(($(now) - start))
	printf '%-28s %-9s %-40s %s\n' "$id" "$result" "$by" "$secs_used"
	printf '| %s | %s | %s | %s | %s | %s |\n' "$id" "$file" "$what" "$result" "$by" "$secs_used" >>"$table"
done <<<"$rows"
trap - INT TERM

echo "$killed killed, $survived survived, $invalid invalid in $(($(now) - t0)) s (table: $table; logs: $logs/ID.log, $build/meson-logs/ID.txt)"
[ "$survived" = 0 ] && [ "$invalid" = 0 ]
