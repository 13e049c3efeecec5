#!/usr/bin/env python3
"""Text work for scripts/mutants.sh (which says how a run goes).

  mutants.py check LIST SRC [ID...]   every selected mutant applies exactly once in SRC;
                                      prints id, file, timeout (- if not given), repeat, tests,
                                      what (tab-separated)
  mutants.py apply LIST ID SRC        apply mutant ID to its file in SRC
  mutants.py sync ROOT SRC            make SRC hold ROOT's files (tracked and untracked, not
                                      ignored); only files whose content differs are written
  mutants.py targets BUILD TEST...    the ninja targets those meson tests need
  mutants.py results LOG              the tests of a meson test log that failed, and how many ran
"""
import json
import re
import os
import subprocess
import sys

FIELDS = ("file", "tests", "what", "timeout", "repeat")


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s) and s[i + 1] in "nt\\":
            out.append({"n": "\n", "t": "\t", "\\": "\\"}[s[i + 1]])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def parse(path):
    """The mutants of a list file, in order: dicts with id, file, tests, what, timeout, edits."""
    mutants, cur = [], None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        where = f"{path}:{n}"
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            cur = {"id": line[1:-1], "edits": [], "where": where, "timeout": "", "repeat": "1"}
            if any(m["id"] == cur["id"] for m in mutants):
                sys.exit(f"{where}: mutant {cur['id']} listed twice")
            mutants.append(cur)
        elif cur is None:
            sys.exit(f"{where}: text before the first [id]")
        elif line[:1] in "-+" and line[1:2] in ("", " "):
            text = unescape(line[2:])
            if line[0] == "-":
                cur["edits"].append([text, None])
            elif not cur["edits"] or cur["edits"][-1][1] is not None:
                sys.exit(f"{where}: a + line without its - line")
            else:
                cur["edits"][-1][1] = text
        elif ":" in line and line.split(":", 1)[0] in FIELDS:
            key, value = line.split(":", 1)
            cur[key] = value.strip()
        else:
            sys.exit(f"{where}: cannot read this line")
    for m in mutants:
        missing = [f for f in ("file", "tests", "what") if not m.get(f)]
        if missing or not m["edits"] or any(e[1] is None for e in m["edits"]):
            sys.exit(f"{m['where']}: mutant {m['id']} needs file, tests, what and -/+ pairs")
        if not m["repeat"].isdigit() or int(m["repeat"]) < 1 or not (m["timeout"] or "1").isdigit():
            sys.exit(f"{m['where']}: mutant {m['id']}: timeout and repeat are whole numbers, repeat at least 1")
    return mutants


def stale(m, src):
    """Why mutant m cannot be applied in src, or None."""
    path = os.path.join(src, m["file"])
    if not os.path.isfile(path):
        return f"{m['file']} does not exist"
    text = open(path, encoding="utf-8").read()
    for find, _ in m["edits"]:
        n = text.count(find)
        if n != 1:
            return f"{m['file']}: {find.strip()!r} occurs {n} times, not once"
    return None


def cmd_check(listfile, src, ids):
    mutants = parse(listfile)
    known = {m["id"] for m in mutants}
    unknown = [i for i in ids if i not in known]
    if unknown:
        sys.exit(f"no such mutant: {' '.join(unknown)}")
    bad = 0
    for m in mutants:
        if ids and m["id"] not in ids:
            continue
        why = stale(m, src)
        if why:
            print(f"stale mutant {m['id']} ({m['where']}): {why}", file=sys.stderr)
            bad += 1
            continue
        print("\t".join([m["id"], m["file"], m["timeout"] or "-", m["repeat"], m["tests"], m["what"]]))
    if bad:
        sys.exit(2)


def cmd_apply(listfile, mid, src):
    m = next((m for m in parse(listfile) if m["id"] == mid), None)
    if not m:
        sys.exit(f"no such mutant: {mid}")
    why = stale(m, src)
    if why:
        sys.exit(f"stale mutant {mid}: {why}")
    path = os.path.join(src, m["file"])
    text = open(path, encoding="utf-8").read()
    for find, repl in m["edits"]:
        text = text.replace(find, repl, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def cmd_sync(root, src):
    out = subprocess.run(["git", "-C", root, "ls-files", "-co", "--exclude-standard", "-z"],
                         check=True, capture_output=True).stdout
    files = {f for f in out.decode().split("\0") if f and os.path.isfile(os.path.join(root, f))}
    for f in files:
        a, b = os.path.join(root, f), os.path.join(src, f)
        data = open(a, "rb").read()
        if os.path.isfile(b) and open(b, "rb").read() == data:
            continue
        os.makedirs(os.path.dirname(b), exist_ok=True)
        with open(b, "wb") as o:  # a fresh mtime: ninja rebuilds what it changed
            o.write(data)
        os.chmod(b, os.stat(a).st_mode & 0o777)
    for d, _, names in os.walk(src):
        for n in names:
            rel = os.path.relpath(os.path.join(d, n), src)
            if rel not in files:
                os.remove(os.path.join(d, n))


def intro(build, kind):
    return json.load(open(os.path.join(build, "meson-info", f"intro-{kind}.json")))


def cmd_targets(build, names):
    tests = {t["name"]: t for t in intro(build, "tests")}
    files = {t["id"]: t["filename"] for t in intro(build, "targets")}
    unknown = [n for n in names if n not in tests]
    if unknown:
        sys.exit(f"no such meson test: {' '.join(unknown)}")
    out = set()
    for n in names:
        for dep in tests[n]["depends"]:
            out.update(os.path.relpath(f, build) for f in files[dep])
    print("\n".join(sorted(out)))


def failed_cases(stdout, stderr):
    """The cmocka cases a test's output lists as failed, in order; or, for a test that
    died (an assertion, a signal), the case it was running and the assertion."""
    cases = []
    for m in re.finditer(r"^\[  FAILED  \] (\S+)$", stdout or "", re.M):
        if m.group(1) not in cases:
            cases.append(m.group(1))
    if not cases:
        running = re.findall(r"^\[ RUN      \] (\S+)$", stdout or "", re.M)
        m = re.search(r"([\w.-]+\.[ch]):(\d+): \w+: Assertion", (stderr or "") + (stdout or ""))
        died = (running[-1:] if running else []) + ([f"assert@{m.group(1)}:{m.group(2)}"] if m else [])
        if died:
            cases.append(":".join(died))
    return cases


def cmd_results(log):
    """Prints how many tests ran and the failed ones: name[case case] or name(timeout), or -."""
    failed, ran = [], 0
    if os.path.isfile(log):
        for line in open(log):
            r = json.loads(line)
            ran += 1
            if r.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL"):
                name = r["name"].split(" / ")[-1]  # "udma:unit / xmap": the test's own name
                cases = failed_cases(r.get("stdout"), r.get("stderr"))
                if cases:  # the first three, and how many more
                    more = f" +{len(cases) - 3}" if len(cases) > 3 else ""
                    name += "[" + " ".join(cases[:3]) + more + "]"
                failed.append(name if r["result"] == "FAIL" else f"{name}({r['result'].lower()})")
    # --maxfail interrupts the repeats after a failure: those say nothing more
    real = [f for f in failed if not f.endswith("(interrupt)")]
    failed = list(dict.fromkeys(real or failed))
    print(ran, ", ".join(failed) or "-")


def main(argv):
    if len(argv) >= 3 and argv[0] == "check":
        cmd_check(argv[1], argv[2], argv[3:])
    elif len(argv) == 4 and argv[0] == "apply":
        cmd_apply(argv[1], argv[2], argv[3])
    elif len(argv) == 3 and argv[0] == "sync":
        cmd_sync(argv[1], argv[2])
    elif len(argv) >= 3 and argv[0] == "targets":
        cmd_targets(argv[1], argv[2:])
    elif len(argv) == 2 and argv[0] == "results":
        cmd_results(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
