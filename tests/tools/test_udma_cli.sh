#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The udma command as users run it: every subcommand and its --help, exit
# status 2 for bad command lines (found before any work), exit status 1 for
# output that cannot be written, signals, the JSON schema of
# `udma perf --json`, the table's columns, the plot, and -y catching the
# corruption the error engine injects.
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
has out "^  fabric" "help lists fabric"
expect 0 "udma version" "$udma" version
for c in info perf demo; do
	expect 0 "udma $c --help" "$udma" $c --help
	has out "usage: udma $c" "udma $c --help prints its usage"
	expect 0 "udma help $c" "$udma" help $c
	has out "usage: udma $c" "udma help $c prints the same"
done

expect 0 "udma fabric --help" "$udma" fabric --help
has out "usage: udma fabric" "udma fabric --help prints its usage"
expect 2 "udma fabric with no subcommand: exit 2" "$udma" fabric

# ---- info --------------------------------------------------------------------------
expect 0 "udma info" "$udma" info
for w in "address modes" "va " "pa " "iommu" "hugepages free" "2 MiB" "domains:" "shm" "process" \
	 "engines" "cpu " "threads" "learned GB/s" "ISA-L" "libfabric" "DPDK" "gnuplot"; do
	has out "$w" "info shows '$w'"
done
has out "hand-over [0-9]* ns (learned)" "info, calibrated, calls the measured hand-over learned"
expect 0 "udma info -n (no calibration)" "$udma" info -n
# what a client gets: the default threads engine, a worker per CPU; uncalibrated,
# its hand-over cost is a guess, and says so
has out "^  threads   queued, $(getconf _NPROCESSORS_ONLN) lanes\\?," "info -n shows the default threads engine, a lane per CPU"
has out "hand-over 1000 ns (a guess, not measured yet)" "info -n calls the starting hand-over a guess"
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
# the RAID and storage functions, checked against references of the tool's own
for f in dualcast compare-pattern pq-gen pq-validate raid6-recover ec-encode ec-update ec-decode \
	dif-generate dif-verify dif-strip dif-insert; do
	expect 0 "perf -f $f -y on cpu and threads" \
		"$udma" perf -d 0.02 -s 1K -e cpu,threads:2 -f $f -y
	expect 0 "perf -f $f -y --burst 4" "$udma" perf -d 0.02 -s 1K -e cpu,auto -f $f -y --burst 4
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
# ... and found before any work: each of the last ones used to run (part of) the benchmark first
for a in "-q 0" "-q x" "-t 0" "-s 0..4K" "-s 8..4" "-s 4Q" "-s 1G" "-e nope" "-e threads:0" "-e error:bad=1" \
	 "-e cpu,cpu" "-f nope" "-m fast" "-d 0" "-d x" "-o plot.jpg" "--lat-every x" "--pool -f copy" \
	 "--pool --translate" "--translate -s 4K" "-r 0" "--domain -e cpu" "--json --markdown" "--bogus" "stray" "-d" \
	 "--pool -s 0" "--pool -s 8 -y" "-s 64 -e cpu -d 0.02 -o $tmp/no/such/dir/x.png" "--translate --cpu 1023"; do
	expect 2 "perf $a: exit 2" "$udma" perf $a
	if [ -s "$tmp/err" ]; then ok "perf $a: says why"; else no "perf $a: no message"; fi
done
# one size grammar for every subcommand: a bare B as udma perf takes it
expect 0 "perf -s 64B" "$udma" perf -d 0.02 -s 64B -e cpu

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
	expect 0 "JSON: each row's depth is the depth it ran at (peers called one at a time: 1)" "$py" - "$tmp/mover.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
depth = {r["name"]: r["depth"] for r in d["results"]}
assert depth["cpu"] == 32 and depth["auto"] == 32 and depth["memcpy"] == 1, depth
assert depth.get("dma_skeleton", 32) == 32, depth
PY
	expect 0 "JSON: a failed run says why" "$py" - "$tmp/failed.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["failed"] is True and "verification" in d["error"], d
PY
else
	echo "# python3 not found: JSON schema checks skipped"
fi

# ---- the table: columns as wide as their cells, the depth each row ran at ----------
# (a peer named memcpy+crc32_iscsi used to push its row's columns out of line)
expect 0 "perf copy-crc32c with peers" "$udma" perf -d 0.02 -s 1K -f copy-crc32c -e cpu --peers --no-progress
has out "memcpy+crc32_iscsi (peer)" "the long peer name is there"
if awk '/ engine .* ran on$/ { p = index($0, "ran on"); next }
	p && /^$/ { exit }
	p { if (length($0) == p - 3 || (substr($0, p - 2, 2) == "  " && substr($0, p, 1) != " ")) good++; else bad++ }
	END { exit !(p && good >= 2 && !bad) }' "$tmp/out"; then
	ok "every row's last column starts under its head"
else
	no "the table's columns are out of line"; sed 's/^/#   /' "$tmp/out"
fi
has out " engine .* depth .* lat avg" "the table has a depth column"
has out "grows with the depth column" "and says what the depth does to latency"

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
expect 0 "perf --seq --peers -y" "$udma" perf --seq --peers -e cpu,auto -s 4K,64K -d 0.05 -r 3 -y
has out "separate requests" "sequence table: the hand-written client's row"
has out "memcpy+isa-l" "sequence table: the direct calls' row"
expect 2 "perf --seq -j: exit 2 (a table only)" "$udma" perf --seq -j
expect 2 "perf --seq -q 4: exit 2" "$udma" perf --seq -q 4
# storage: a file on a disk file system (the build tree, not $tmp, which may be tmpfs)
sfile=./udma-cli-storage.$$
expect 0 "perf --storage with fio" "$udma" perf --storage "$sfile" --storage-size 4M -s 4K -q 4 -d 0.02 --peers
has out "udma / fio" "storage table"
expect 2 "perf --storage --rw x: exit 2" "$udma" perf --storage "$sfile" --rw x
expect 2 "perf --domain --rw read: exit 2" "$udma" perf --domain --rw read
if [ -n "$py" ]; then
	"$udma" perf --storage "$sfile" --rw write -s 64K -q 2 -d 0.02 -r 3 --peers -j >"$tmp/storage.json"
	expect 0 "JSON: storage, fio a peer (or missing with the reason)" "$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); u=[r for r in d["results"] if not r["peer"]]; f=[r for r in d["results"] if r["peer"]]; assert d["workload"]=="storage" and u[0]["ops_per_s"]>0 and len(u[0]["ops_per_s_reps"])==3 and d["config"]["udma_fixed_buffer_ios"]>0 and d["config"]["udma_plain_ios"]==0 and ((f and "fio" in f[0]["name"] and f[0]["ops_per_s"]>0) or d["missing"][0]["peer"]=="fio"), d' "$tmp/storage.json"
fi
rm -f "$sfile"
expect 0 "perf --translate" "$udma" perf --translate --reps 1 --rep-ms 0.2
has out "va_to_iova, random" "translate table"
has out "iommu" "translate iommu rows"

# ---- output that cannot be written: exit 1 and say so -----------------------------------
# (a closed stdout is held by /dev/null, so that nothing the command opens takes
# descriptor 1 and receives the output)
for c in "version" "help" "info -n" "demo -m va" "perf -d 0.02 -s 64 -e cpu" "perf -d 0.02 -s 64 -e cpu -j"; do
	if [ -w /dev/full ]; then
		"$udma" $c >/dev/full 2>"$tmp/err"
		st=$?
		if [ $st = 1 ] && grep -q "stdout" "$tmp/err"; then ok "$c, stdout full: exit 1, says so"; else
			no "$c, stdout full: exit $st, want 1 and a message"; sed 's/^/#   err: /' "$tmp/err"; fi
	fi
	"$udma" $c >&- 2>"$tmp/err"
	st=$?
	if [ $st = 1 ] && grep -q "stdout" "$tmp/err"; then ok "$c, stdout closed: exit 1, says so"; else
		no "$c, stdout closed: exit $st, want 1 and a message"; sed 's/^/#   err: /' "$tmp/err"; fi
done

# ---- fabric serve: its command line before any work, its descriptor on stdout or a failure ----
if "$udma" fabric serve -s 4K -T 1 >"$tmp/out" 2>"$tmp/err" && grep -q "^udma1:" "$tmp/out"; then
	expect 0 "fabric serve -s 4096B (a bare B, as udma perf takes it)" "$udma" fabric serve -s 4096B -T 1
	for p in 70000 65536 abc -1; do
		expect 2 "fabric serve --port $p: exit 2" "$udma" fabric serve -s 4K -T 1 --port $p
		has err "bad port" "fabric serve --port $p: says why"
	done
	"$udma" fabric serve -s 4K -T 2 >&- 2>"$tmp/err"
	st=$?
	if [ $st = 1 ] && grep -q "cannot write the descriptor" "$tmp/err"; then ok "fabric serve, stdout closed: exit 1"; else
		no "fabric serve, stdout closed: exit $st, want 1 and a message"; sed 's/^/#   err: /' "$tmp/err"; fi
	if [ -w /dev/full ]; then
		"$udma" fabric serve -s 4K -T 2 >/dev/full 2>"$tmp/err"
		st=$?
		if [ $st = 1 ] && grep -q "cannot write the descriptor" "$tmp/err"; then ok "fabric serve, stdout full: exit 1"; else
			no "fabric serve, stdout full: exit $st, want 1 and a message"; sed 's/^/#   err: /' "$tmp/err"; fi
	fi
else
	echo "# fabric serve does not start here (the reason below): its tests skipped"
	sed 's/^/#   /' "$tmp/err"
fi

# ---- signals ---------------------------------------------------------------------------------
# --translate stops in its set-up: after SIGINT or SIGTERM during the VA mode's
# figures, no later mode is registered (that took 4 to 8 s before it stopped)
for sig in INT TERM; do
	"$udma" perf --translate --reps 1 --rep-ms 50 >"$tmp/tr.out" 2>"$tmp/tr.err" &
	pid=$!
	i=0
	while [ $i -lt 600 ] && ! grep -q "^va: *registered" "$tmp/tr.out"; do sleep 0.05; i=$((i + 1)); done
	t0=$(date +%s%N)
	kill -$sig $pid
	wait $pid
	st=$?
	echo "# perf --translate stopped $((($(date +%s%N) - t0) / 1000000)) ms after SIG$sig"
	if [ $st = 130 ] && grep -q "interrupted" "$tmp/tr.err" && ! grep -q "^pa:\|^iommu: *unregistered" "$tmp/tr.out"; then
		ok "perf --translate stops in its set-up on SIG$sig"
	else
		no "perf --translate after SIG$sig: exit $st"; sed 's/^/#   /' "$tmp/tr.out" "$tmp/tr.err"
	fi
done

# a hang-up during --peers stops the run like SIGTERM, and DPDK's runtime directory goes
if "$udma" info -n | grep -q "^  DPDK      [0-9]"; then
	"$udma" perf --peers -d 5 -s 4K -e cpu --no-progress >"$tmp/hup.out" 2>"$tmp/hup.err" &
	pid=$!
	dir= i=0
	while [ -z "$dir" ] && [ $i -lt 200 ]; do
		for d in /run/dpdk /var/run/dpdk "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk" /tmp/dpdk; do
			[ -d "$d/udma-perf-$pid" ] && dir=$d/udma-perf-$pid
		done
		sleep 0.05
		i=$((i + 1))
	done
	if [ -z "$dir" ]; then
		echo "# DPDK's EAL made no runtime directory for udma-perf-$pid: SIGHUP's clean-up not tested"
		kill $pid
		wait $pid
	else
		kill -HUP $pid
		wait $pid
		st=$?
		if [ $st = 130 ] && [ ! -d "$dir" ]; then ok "SIGHUP during --peers: exit 130, $dir removed"; else
			no "SIGHUP during --peers: exit $st, $dir $([ -d "$dir" ] && echo left behind || echo removed)"
			rm -rf "$dir"
		fi
	fi
else
	echo "# udma built without DPDK: the --peers hang-up test skipped"
fi

echo "1..$n"
exit $failed
