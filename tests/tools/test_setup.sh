#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# `udma setup`: the state lines (hugepages per size and node, memlock,
# pagemap, vfio, the three address modes), --json that parses, help, a
# full stdout (1), bad usage (2), reserving as an unprivileged user (1, saying
# root is needed), and, as root only, a reservation of one more 2 MiB page
# that is read back and then restored to the old count.
#   usage: test_setup.sh PATH/TO/udma [PATH/TO/python3]
set -u
udma=${1:?usage: test_setup.sh PATH/TO/udma [python3]}
py=${2:-}
hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

fail() { echo "FAIL: $*"; sed 's/^/  out: /' "$out"; sed 's/^/  err: /' "$err"; exit 1; }
has() { grep -Eq "$1" "$out" || fail "no line matching '$1'"; }

"$udma" setup >"$out" 2>"$err" || fail "udma setup: exit $?"
has '^hugepages'
[ -r "$hp" ] && has '^  2 MiB +total [0-9]+, free [0-9]+, surplus [0-9]+'
[ -r /sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages ] && has 'node0: [0-9]+ \([0-9]+ free\)'
has '^memlock: limit '
has '^pagemap: PFNs (visible|hidden)'
has '^vfio: +/dev/vfio/vfio (present|absent); IOMMU groups: '
has '^  va +yes'
has '^  pa +(yes|no): '
has '^  iommu +yes, emulated'

if [ -n "$py" ]; then
	"$udma" setup --json >"$out" 2>"$err" || fail "udma setup --json: exit $?"
	want=$(cat "$hp" 2>/dev/null || echo none)
	"$py" - "$out" "$want" <<'PY' || fail "--json"
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("hugepages", "memlock", "pagemap", "vfio", "modes"):
    assert k in j, k
assert j["modes"]["va"] is True
two = [h for h in j["hugepages"] if h["size"] == 2 << 20]
if sys.argv[2] != "none":
    assert two and two[0]["total"] >= 0, two
PY
fi

"$udma" help setup >"$out" 2>"$err" && has '^usage: udma setup'
if [ -w /dev/full ]; then
	"$udma" setup >/dev/full 2>"$err"; rc=$?
	[ $rc = 1 ] && grep -q stdout "$err" || fail "stdout full: exit $rc, want 1 and a message"
fi
"$udma" setup --hugepages 3M:1 >"$out" 2>"$err"; rc=$?
[ $rc = 2 ] || fail "--hugepages 3M:1 (not a power of two): exit $rc, want 2"
"$udma" setup --hugepages 2M >"$out" 2>"$err"; rc=$?
[ $rc = 2 ] || fail "--hugepages 2M (no count): exit $rc, want 2"
"$udma" setup --bogus >"$out" 2>"$err"; rc=$?
[ $rc = 2 ] || fail "--bogus: exit $rc, want 2"

[ -r "$hp" ] || { echo "SKIP: no 2 MiB hugepages in this kernel: reservation not tested"; exit 0; }
if [ "$(id -u)" != 0 ]; then
	"$udma" setup --hugepages 2M:1 >"$out" 2>"$err"; rc=$?
	[ $rc = 1 ] && grep -q 'needs root' "$err" || fail "unprivileged reservation: exit $rc, want 1 and 'needs root'"
	echo "SKIP: not root: reserving hugepages not tested"
	exit 0
fi
# root: the same refusal for an unprivileged user, where setpriv can make one
if command -v setpriv >/dev/null 2>&1; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$udma" setup --hugepages 2M:1 >"$out" 2>"$err"; rc=$?
	[ $rc = 1 ] && grep -q 'needs root' "$err" || fail "as nobody: exit $rc, want 1 and 'needs root'"
fi
old=$(cat "$hp")
"$udma" setup --hugepages "2M:$((old + 1))" >"$out" 2>"$err"; rc=$?
now=$(cat "$hp")
echo "$old" >"$hp" # restore, whatever happened
[ "$(cat "$hp")" = "$old" ] || echo "warning: could not restore $hp to $old"
if [ $rc = 1 ] && grep -q 'the kernel gave' "$err"; then
	echo "SKIP: the kernel could not give one more 2 MiB page (memory fragmented)"
	exit 0
fi
[ $rc = 0 ] || fail "--hugepages 2M:$((old + 1)): exit $rc"
[ "$now" = $((old + 1)) ] || fail "nr_hugepages $now after reserving $((old + 1))"
has "^reserved $((old + 1)) 2 MiB hugepages"
echo "ok: setup lines, json, usage, reservation $old -> $((old + 1)) -> $old"
