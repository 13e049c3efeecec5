#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The udma command as users run it: every subcommand and its --help, exit
# status 2 for bad command lines, the JSON schema of `udma perf --json`,
# the plot, and -y catching the corruption the error engine injects.
#   test_udma_cli.sh UDMA [PYTHON3]
set -u
udma=$1
py=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0 n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
no() { n=$((n + 1)); echo "not ok $n - $1"; failed=1; }

# expect STATUS DESC CMD...: run, keep stdout/stderr in $tmp/out, $tmp/err
expect() {
	want=$1 desc=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" = "$want" ]; then ok "$desc"; else
		no "$desc: exit $got, want $want"
		sed 's/^/#   out: /' "$tmp/out" | tail -20
		sed 's/^/#   err: /' "$tmp/err" | tail -20
	fi
}

# has FILE TEXT DESC
has() {
	if grep -q -- "$2" "$tmp/$1"; then ok "$3"; else no "$3: no '$2' in $1"; sed 's/^/#   /' "$tmp/$1" | tail -20; fi
}

# ---- the command and its help -------------------------------------------------
expect 2 "no command: usage, exit 2" "$udma"
has err "usage: udma" "usage on stderr"
expect 2 "unknown command: exit 2" "$udma" frobnicate
has err "unknown command 'frobnicate'" "says which command"
expect 0 "udma help" "$udma" help
has out "perf" "help lists perf"
expect 0 "udma version" "$udma" version
for c in info perf demo; do
	expect 0 "udma $c --help" "$udma" $c --help
	has out "usage: udma $c" "udma $c --help prints its usage"
	expect 0 "udma help $c" "$udma" help $c
	has out "usage: udma $c" "udma help $c prints the same"
done

# `udma fabric` is built in where its source is (tools/fabric_cmd.c)
if "$udma" help | grep -q "^  fabric"; then
	expect 0 "udma fabric --help" "$udma" fabric --help
	has out "usage: udma fabric" "udma fabric --help prints its usage"
	expect 2 "udma fabric with no subcommand: exit 2" "$udma" fabric
fi

# ---- info --------------------------------------------------------------------------
expect 0 "udma info" "$udma" info
for w in "address modes" "va " "pa " "iommu" "hugepages free" "2 MiB" "domains:" "shm" "process" \
	 "engines" "cpu " "threads" "learned GB/s" "ISA-L" "libfabric" "DPDK" "gnuplot"; do
	has out "$w" "info shows '$w'"
done
expect 0 "udma info -n (no calibration)" "$udma" info -n
expect 2 "udma info --bogus: exit 2" "$udma" info --bogus
expect 2 "udma info extra: exit 2" "$udma" info extra

# ---- demo --------------------------------------------------------------------------
expect 0 "udma demo -m va" "$udma" demo -m va
has out "round trip ok" "demo round trip"
expect 2 "udma demo -m xx: exit 2" "$udma" demo -m xx

# ---- perf: movers ------------------------------------------------------------------
expect 0 "perf on cpu, threads, auto" "$udma" perf -d 0.05 -s 64,4K -e cpu,threads,auto --no-progress
for w in "ops/s" "GB/s" "p50" "p99" "64 B" "4 KiB" "cpu " "threads " "auto " "ran on"; do
	has out "$w" "perf table shows '$w'"
done
# the host may move the vCPUs: each run says how far apart two CPUs were
[ "$(getconf _NPROCESSORS_ONLN)" -gt 1 ] && has out "a cache line passed between two CPUs: " "perf says the cross-CPU round trip"
expect 0 "perf --markdown" "$udma" perf -d 0.02 -s 256 -e cpu --markdown
has out "|---:|" "markdown table"
for f in zero fill8 fill64 copy xor2 xor8 xor16 crc32c copy-crc32c compare; do
	expect 0 "perf -f $f -y on cpu and threads" "$udma" perf -d 0.02 -s 100,4K -e cpu,threads:2 -f $f -y
done
for m in poll callback wait; do
	expect 0 "perf -m $m -y, 2 threads" "$udma" perf -d 0.03 -s 1K -e cpu,threads,auto -m $m -t 2 -q 8 -y
done
expect 0 "perf 0-byte requests" "$udma" perf -d 0.02 -s 0 -e cpu -y
expect 0 "perf --reps 3" "$udma" perf -d 0.02 -r 3 -s 4K -e cpu,auto -j
cp "$tmp/out" "$tmp/reps.json"
if [ -n "$py" ]; then
	expect 0 "JSON: 3 repetitions, the median reported" "$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["results"]:
    v = sorted(r["ops_per_s_reps"])
    assert len(v) == 3 and abs(r["ops_per_s"] - v[1]) <= 1e-6 * v[1], r
' "$tmp/reps.json"
fi

# -y catches the error engine's corruption, with the reason; without -y it goes unseen
expect 1 "perf -y catches corrupt=7" "$udma" perf -d 0.2 -s 4K -e error:corrupt=7 -y
has err "verification" "the reason names verification"
has err "error" "the reason names the engine"
expect 0 "corruption unseen without -y" "$udma" perf -d 0.05 -s 4K -e error:corrupt=7
expect 1 "a failing engine fails the run" "$udma" perf -d 0.2 -s 4K -e error:fail=3
has err "failed on engine error" "the reason names the failure"

# bad command lines: exit 2 and a message
for a in "-q 0" "-q x" "-t 0" "-s 0..4K" "-s 8..4" "-s 4Q" "-s 1G" "-e nope" "-e threads:0" "-e error:bad=1" \
	 "-e cpu,cpu" "-f nope" "-m fast" "-d 0" "-d x" "-o plot.jpg" "--lat-every x" "--pool -f copy" \
	 "--pool --translate" "--translate -s 4K" "-r 0" "--domain -e cpu" "--json --markdown" "--bogus" "stray" "-d"; do
	expect 2 "perf $a: exit 2" "$udma" perf $a
	if [ -s "$tmp/err" ]; then ok "perf $a: says why"; else no "perf $a: no message"; fi
done

# ---- JSON ----------------------------------------------------------------------------
expect 0 "perf --json with peers" "$udma" perf -j -d 0.05 -s 64..256 -e cpu,auto -y --peers
cp "$tmp/out" "$tmp/mover.json"
expect 1 "perf --json of a failed run" "$udma" perf -j -d 0.2 -s 4K -e error:corrupt=3 -y
cp "$tmp/out" "$tmp/failed.json"
if [ -n "$py" ]; then
	expect 0 "JSON: schema udma-perf/1 (movers)" "$py" - "$tmp/mover.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "udma-perf/1" and d["workload"] == "mover", d
for k in ("udma", "machine", "config", "results", "missing", "engines", "failed", "error", "peers"):
    assert k in d, k
x = d["machine"]["cross_cpu_round_trip_ns"]
assert x is None or x > 0, x
c = d["config"]
assert c["func"] == "copy" and c["sizes"] == [64, 128, 256] and c["engines"] == ["cpu", "auto"], c
assert c["verify"] is True and c["mode"] == "poll" and c["depth"] == 32 and c["threads"] == 1, c
rows = d["results"]
names = {r["name"] for r in rows}
assert {"cpu", "auto"} <= names, names
for r in rows:
    for k, t in (("name", str), ("peer", bool), ("size", int), ("ops", int), ("ops_per_s", (int, float)),
                 ("gb_per_s", (int, float)), ("ns_per_op", (int, float)), ("seconds", (int, float))):
        assert isinstance(r[k], t), (k, r)
    assert r["ops"] > 0 and r["ops_per_s"] > 0, r
    lat = r["latency_ns"]
    assert lat is None or (lat["p50"] <= lat["p99"] <= lat["max"] and lat["samples"] > 0), lat
    if not r["peer"]:
        assert isinstance(r["vs"], dict) and "ran_on" in r, r
# every peer either ran or is listed missing, with a reason
peers = {r["name"] for r in rows if r["peer"]}
missing = {m["peer"] for m in d["missing"]}
assert all(m["reason"] for m in d["missing"]), d["missing"]
for p in ("memcpy", "isa-l", "dma_skeleton"):
    assert p in peers or p in missing, (p, peers, missing)
assert any(e["name"] == "cpu" and len(e["learned_bytes_per_s"]) == 8 for e in d["engines"]), d["engines"]
assert d["failed"] is False and d["error"] is None
PY
	expect 0 "JSON: a failed run says why" "$py" - "$tmp/failed.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["failed"] is True and "verification" in d["error"], d
PY
else
	echo "# python3 not found: JSON schema checks skipped"
fi

# ---- plot ------------------------------------------------------------------------------
if "$udma" info -n | grep -q "gnuplot   /"; then
	expect 0 "perf --plot PNG" "$udma" perf -d 0.02 -s 64..1K -e cpu,auto --plot "$tmp/p.png"
	if [ "$(head -c 4 "$tmp/p.png" | od -An -c | tr -d ' ')" = "211PNG" ]; then ok "a PNG was drawn"; else no "no PNG"; fi
	has out "plot: " "says where the plot is"
	expect 0 "perf --plot SVG" "$udma" perf -d 0.02 -s 64..1K -e cpu --plot "$tmp/p.svg"
	has p.svg "<svg" "an SVG was drawn"
else
	echo "# gnuplot not found: drawing not tested"
fi
UDMA_GNUPLOT=/nonexistent expect 0 "perf --plot without gnuplot" "$udma" perf -d 0.02 -s 64 -e cpu --plot "$tmp/q.png"
has err "gnuplot not found" "says gnuplot is missing"
if [ -s "$tmp/q.png.gp" ]; then ok "keeps the gnuplot script"; else no "no script kept"; fi

# ---- progress line -------------------------------------------------------------------------
expect 0 "perf --progress" "$udma" perf -d 0.7 -s 4K -e cpu,auto --progress
has err "ops/s" "progress line on stderr"

# ---- other workloads -----------------------------------------------------------------------
expect 0 "perf --pool -y, up to 2 threads" "$udma" perf --pool -d 0.05 -t 2 -s 64,4K -y
has out "udma_pool" "pool table"
if [ -n "$py" ]; then
	"$udma" perf --pool -j -d 0.02 -s 256 >"$tmp/pool.json"
	expect 0 "JSON: pool" "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["workload"]=="pool" and d["results"][0]["name"]=="udma_pool", d' "$tmp/pool.json"
fi
expect 0 "perf --domain" "$udma" perf --domain -d 0.01
has out "system pull/memcpy" "domain table"
has out "process pull/vm_readv" "process domain row"
if [ -n "$py" ]; then
	"$udma" perf --domain -d 0.01 -j >"$tmp/domain.json"
	expect 0 "JSON: domain" "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["workload"]=="domain" and len(d["results"])==20 and all(r["udma_gb_per_s"]>0 for r in d["results"]), d' "$tmp/domain.json"
fi
expect 0 "perf --translate" "$udma" perf --translate --reps 1 --rep-ms 0.2
has out "va_to_iova, random" "translate table"
has out "iommu" "translate iommu rows"

echo "1..$n"
exit $failed
