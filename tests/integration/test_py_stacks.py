#!/usr/bin/env python3
"""Python stacks (giltrace run --stacks) on one real interpreter: the
program programs/py_sites.py has known functions at known lines (found by
their "# @marker" comments), and the trace must name exactly those
functions and lines at the RELEASE and BUSY events they cause:
  - a sleeper: time.sleep in `alpha` releases and waits at its line;
  - a spinner: `beta`'s one-line loop is where its forced releases happen;
  - a three-deep chain: three < two < one, each at its call line;
  - a coroutine (`gamma`, run by asyncio) and a generator (`delta`);
  - a thread started from C (_thread.start_new_thread of time.sleep):
    events, and no Python stack at all;
  - code compiled again and again with exec: each round's function under
    its own name and file (a freed code object's address reused is not
    taken for the old one);
and every other site of that file names one of its functions at a line
inside it (never garbage). Then `giltrace report` names the
same sites (text and JSON), `--folded` gives flame graph lines, `export
--format chrome` puts the stacks on the hold and wait slices, and
`--py-stacks` alone (and env-only mode, GILTRACE_PYSTACKS=1) records the
Python stacks without native ones. Last,
Beazley's echo convoy: the wait weight of `--folded wait` sits on the
client's recv/sendall lines, the forced releases on the CPU thread's loop;
`giltrace attach --py-stacks` to the program running finds the same
names and lines; and (3.12+) an own-GIL subinterpreter's releases are at
the line of the code it runs.

usage: test_py_stacks.py SPEC      (SPEC as in pythons.py: 3.12, debian-3.11 ...)
       test_py_stacks.py --wrong-layout SPEC...
The second form traces with a deliberately wrong frame layout
(GILTRACE_TEST_PY_SKEW): Python stacks must go off with one line on stderr,
the program must run unharmed, and the rest of the trace must be there.
Exits 77 (SKIP) with the reason when no interpreter asked for is here.
"""
import ast
import glob
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402
import subprocess  # noqa: E402

from gilcheck import (GILTRACE, SKIP, Attached, Background, CheckFailed, Lines, Trace, check,  # noqa: E402
                      export_chrome, program, ptrace_refused, run_watched, trace)

SOURCE = program("py_sites.py")


def markers():
    """marker -> line number in py_sites.py."""
    out = {}
    with open(SOURCE) as f:
        for n, text in enumerate(f, 1):
            m = re.search(r"# @([a-z-]+)$", text.rstrip())
            if m:
                out[m.group(1)] = n
    return out


def functions():
    """function name -> [(first line, last line)] of its definitions in py_sites.py."""
    with open(SOURCE) as f:
        tree = ast.parse(f.read())
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.setdefault(node.name, []).append((node.lineno, node.end_lineno))
        elif isinstance(node, ast.Lambda):
            out.setdefault("<lambda>", []).append((node.lineno, node.end_lineno))
    return out


def check_trace(t, v):
    line = markers()
    tids = json.loads(t.stdout.strip().splitlines()[-1])["python_tids"]
    ours = "filename LIKE '%py_sites.py'"
    sites = {(f, ln, k): n for f, ln, k, n in t.q(
        "SELECT function, line, kind, count(*) FROM py_event_sites WHERE %s GROUP BY 1, 2, 3" % ours)}
    expected = {
        ("alpha", line["alpha-sleep"]), ("three", line["three-sleep"]), ("gamma", line["gamma-sleep"]),
        ("delta", line["delta-sleep"]),
    }
    for fn, ln in sorted(expected):
        check(sites.get((fn, ln, "RELEASE"), 0) >= 10,
              "%s:%d should release the GIL (sleep) >= 10 times: %s" % (fn, ln, sites))
        check(sites.get((fn, ln, "BUSY"), 0) >= 1, "%s:%d should wait for the GIL after its sleep: %s" % (fn, ln, sites))
    check(sites.get(("beta", line["beta-loop"], "RELEASE"), 0) >= 1,
          "the spinner's loop line %d should release the GIL: %s" % (line["beta-loop"], sites))
    # Other sites happen too (a thread forced off wherever it runs Python
    # code; the stopper's sleep; main's print...): each must name a function
    # of the file and a line inside it.
    bodies = functions()
    for (fn, ln, kind), n in sites.items():
        name = fn.rsplit(".", 1)[-1]
        check(name == "<module>" or any(lo <= ln <= hi for lo, hi in bodies.get(name, [])),
              "Python site %s:%d (%s x%d) is not a line of that function in py_sites.py" % (fn, ln, kind, n))

    forced_at = dict(t.q("""
        SELECT s.function || ':' || s.line, count(*) FROM holds h JOIN py_event_sites s
          ON s.pid = h.pid AND s.tid = h.tid AND s.gil = h.gil AND s.ts_ns = h.end_ns AND s.kind = 'RELEASE'
        WHERE h.forced = 1 AND s.%s GROUP BY 1""" % ours))
    check(forced_at.get("beta:%d" % line["beta-loop"], 0) >= 1,
          "forced releases should happen at beta's loop line: %s" % forced_at)

    # the chain, the coroutine and the generator: their outer frames too
    def frames_under(fn, ln, depth):
        rows = t.q("""SELECT f.py_stack_id, f.frame, f.function, f.line FROM py_frames f
                      WHERE f.py_stack_id IN (SELECT py_stack_id FROM py_frames WHERE frame = 0 AND function = ?
                                              AND line = ?) AND f.frame < ? ORDER BY 1, 2""", fn, ln, depth)
        stacks = {}
        for sid, frame, name, fl in rows:
            stacks.setdefault(sid, []).append((name, fl))
        return list(stacks.values())
    chain = frames_under("three", line["three-sleep"], 3)
    check(chain and all(s == [("three", line["three-sleep"]), ("two", line["two-call"]), ("one", line["one-call"])]
                        for s in chain), "three < two < one expected: %s" % chain[:3])
    gen = frames_under("delta", line["delta-sleep"], 2)
    check(gen and all(s == [("delta", line["delta-sleep"]), ("generator_thread", line["delta-consume"])]
                      for s in gen), "delta < generator_thread expected: %s" % gen[:3])
    coro = t.q("""SELECT DISTINCT f.py_stack_id FROM py_frames f WHERE f.frame = 0 AND f.function = 'gamma'""")
    for (sid,) in coro:
        names = [r[0] for r in t.q("SELECT function FROM py_frames WHERE py_stack_id = ? ORDER BY frame", sid)]
        check("coroutine_thread" in names, "the coroutine's stack should reach coroutine_thread: %s" % names)

    # exec'd code: each round's function in its own file, never another's
    execs = t.q("SELECT DISTINCT function, filename, line FROM py_event_sites WHERE function LIKE 'eps%'")
    check(len(execs) >= 15, "exec'd functions eps0..eps19 should release the GIL: %s" % execs)
    for fn, filename, ln in execs:
        check(filename == "<exec-%d>" % (int(fn[3:]) % 2) and ln == 3, "exec'd code misnamed: %s %s:%s" % (fn, filename, ln))
    # nothing garbled: every frame names a code object, with a line
    bad = t.q("SELECT py_stack_id, frame, function, filename, line FROM py_frames "
              "WHERE function IS NULL OR function = '' OR filename IS NULL OR filename = '' OR line IS NULL LIMIT 5")
    check(not bad, "frames without a name, file or line: %s" % bad)

    # the thread started from C: GIL events, no Python stack
    c_threads = [tid for (tid,) in t.q("SELECT DISTINCT tid FROM events WHERE kind = 'RELEASE'") if tid not in tids]
    check(len(c_threads) == 1, "one thread started from C expected among %s (Python ones: %s)" % (c_threads, tids))
    n = t.one("SELECT count(*) FROM py_event WHERE tid = ?", c_threads[0])
    check(n == 0, "the thread started from C has no Python frame, yet %d Python stacks" % n)
    total = t.one("SELECT count(*) FROM py_event")
    lost = t.one("SELECT sum(lost_stacks) FROM py_process")
    check(lost == 0, "%d Python stacks lost" % lost)
    return "%d events with a Python stack; sites %s" % (total, sorted(
        "%s:%d %s x%d" % (f, ln, k, n) for (f, ln, k), n in sites.items()))


def check_report(t, v):
    """giltrace report names the same sites, in text and JSON."""
    line = markers()
    code, out, err = run_watched([GILTRACE, "report", t.path], 300)
    check(code == 0, "report failed: %s" % err)
    check("Python release sites" in out and "alpha (py_sites.py:%d)" % line["alpha-sleep"] in out,
          "the text report should list alpha's sleep line:\n%s" % out)
    code, out, err = run_watched([GILTRACE, "report", "--json", t.path], 300)
    check(code == 0, "report --json failed: %s" % err)
    doc = json.loads(out)
    py = doc["processes"][0].get("python_sites")
    check(py is not None, "no python_sites in the JSON report")
    rel = {(s["function"], s["line"]): s for s in py["release"] if s["filename"].endswith("py_sites.py")}
    check(("alpha", line["alpha-sleep"]) in rel and rel[("alpha", line["alpha-sleep"])]["forced"] == 0,
          "alpha's sleep should be a voluntary release site: %s" % list(rel)[:10])
    beta = rel.get(("beta", line["beta-loop"]))
    check(beta is not None and beta["forced"] >= 1, "beta's loop should be a forced release site: %s" % beta)
    waits = {(s["function"], s["line"]) for s in py["wait"] if s["filename"].endswith("py_sites.py")}
    check(("alpha", line["alpha-sleep"]) in waits, "waits should begin at alpha's sleep: %s" % waits)
    blame = [(s["function"], s["line"]) for s in py["blame"] if (s["filename"] or "").endswith("py_sites.py")]
    check(blame and blame[0] == ("beta", line["beta-loop"]),
          "the spinner's loop should be blamed first for others' waits: %s" % blame[:5])
    # the SQL rule of formats/tdb/SCHEMA.md gives the report's figure exactly
    sql = t.one("""
        WITH h AS MATERIALIZED (
          SELECT h.pid, h.gil, h.tid, h.start_ns, h.end_ns, s.function, s.line
          FROM holds h JOIN py_event_sites s ON s.pid = h.pid AND s.tid = h.tid AND s.gil = h.gil
            AND s.ts_ns = h.end_ns AND s.kind = 'RELEASE'),
        w AS MATERIALIZED (SELECT pid, gil, tid, start_ns, end_ns FROM waits)
        SELECT sum(min(w.end_ns, h.end_ns) - max(w.start_ns, h.start_ns))
        FROM w JOIN h ON h.pid = w.pid AND h.gil = w.gil AND h.tid <> w.tid
          AND h.start_ns < w.end_ns AND h.end_ns > w.start_ns
        WHERE h.function = 'beta' AND h.line = ?""", line["beta-loop"])
    beta_ns = [s["ns"] for s in py["blame"] if s["function"] == "beta" and s["line"] == line["beta-loop"]]
    check(beta_ns == [sql], "blame of beta's loop: report %s ns, SQL %s ns" % (beta_ns, sql))
    for kind in ("hold", "wait"):
        code, out, err = run_watched([GILTRACE, "report", "--folded", kind, t.path], 300)
        check(code == 0 and out, "--folded %s failed: %s" % (kind, err))
        for row in out.splitlines():
            check(re.match(r"^.+ \d+$", row), "--folded %s: malformed line %r" % (kind, row))
    code, out, err = run_watched([GILTRACE, "report", "--folded", "wait", t.path], 300)
    # the workers' start barrier (go.wait(): all wake at once while beta
    # spins) is a wait in threading.py, not one of the sleepers'
    rows = [r for r in out.splitlines() if "(threading.py:" not in r.rsplit(" ", 1)[0].split(";")[-1]]
    heavy = max(rows, key=lambda r: int(r.rsplit(" ", 1)[1]))
    check(heavy.rsplit(" ", 1)[0].split(";")[-1].startswith(("alpha", "three", "gamma", "delta")),
          "the heaviest wait stack should end in a sleeper: %s" % heavy)
    # export --format chrome: the slices carry the Python stacks at their ends
    doc = export_chrome(t.path, os.path.dirname(t.path), "sites")
    waits = [e["args"]["python_wait"] for e in doc["traceEvents"]
             if e.get("name") == "waits for GIL" and "python_wait" in e.get("args", {})]
    alpha = "alpha (py_sites.py:%d)" % line["alpha-sleep"]
    check(any(w.startswith(alpha) for w in waits), "no exported wait begins at %s: %s" % (alpha, waits[:3]))
    forced = [e["args"].get("python_release", "") for e in doc["traceEvents"]
              if e.get("name") == "holds GIL" and e["args"].get("forced")]
    beta = "beta (py_sites.py:%d)" % line["beta-loop"]
    check(forced and sum(f.startswith(beta) for f in forced) >= 1,
          "exported forced holds should end at %s: %s" % (beta, forced[:3]))
    return "report: %d release, %d wait, %d blame sites" % (len(py["release"]), len(py["wait"]), len(py["blame"]))


def check_py_only(py, v, wd):
    """--py-stacks: the same Python sites, and no native stack."""
    line = markers()
    t = trace(py, [SOURCE], wd, "py-only", ["--py-stacks"])
    n = t.one("SELECT count(*) FROM py_event_sites WHERE function = 'alpha' AND line = ? AND kind = 'RELEASE'",
              line["alpha-sleep"])
    native = t.one("SELECT count(*) FROM event_stacks")
    check(n >= 10 and native == 0, "--py-stacks: %d releases at alpha's sleep, %d native stacks" % (n, native))
    code, out, err = run_watched([GILTRACE, "report", t.path], 300)
    check(code == 0 and "Python release sites" in out and "native stacks" not in out,
          "--py-stacks: the report should have the Python sections and no empty native ones:\n%s" % out)
    return "%d releases at alpha:%d, no native stack" % (n, line["alpha-sleep"])


def check_env_only(py, v, wd):
    """Env-only mode: LD_PRELOAD=libgiltrace.so GILTRACE_OUTPUT=... and
    GILTRACE_PYSTACKS=1; the process writes its own trace at exit."""
    shim = os.path.join(os.path.dirname(os.path.abspath(GILTRACE)), "libgiltrace.so")
    check(os.path.exists(shim), "no libgiltrace.so beside %s" % GILTRACE)
    out = os.path.join(wd, "env-%p.db")
    env = dict(os.environ, LD_PRELOAD=shim, GILTRACE_OUTPUT=out, GILTRACE_PYSTACKS="1")
    code, stdout, stderr = run_watched([py, SOURCE], 300, env)
    check(code == 0, "py_sites.py failed in env-only mode: %s" % stderr)
    dbs = glob.glob(out.replace("%p", "*"))
    check(len(dbs) == 1, "one trace expected from env-only mode: %s" % dbs)
    t = Trace(dbs[0], stdout, stderr, 0)
    line = markers()
    n = t.one("SELECT count(*) FROM py_event_sites WHERE function = 'alpha' AND line = ? AND kind = 'RELEASE'",
              line["alpha-sleep"])
    check(n == 40, "env-only: 40 releases at alpha:%d expected, got %d" % (line["alpha-sleep"], n))
    return "40 releases at alpha:%d" % line["alpha-sleep"]


def check_echo(py, v, wd):
    """Beazley's convoy (tests/bench/programs/echo_cpu.py: an echo client
    beside a CPU-bound thread): --folded wait puts the client's recv/sendall
    lines on top of the wait weight, and the CPU thread's loop is where the
    forced releases happen."""
    echo = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "programs",
                        "echo_cpu.py")
    with open(echo) as f:
        text = f.read().splitlines()
    io_lines = {n for n, ln in enumerate(text, 1) if "client.recv(" in ln or "client.sendall(" in ln}
    spin = next(n for n, ln in enumerate(text, 1) if ln.startswith("def spin("))
    spin_lines = set(range(spin + 1, spin + 5))
    t = trace(py, [echo, "100", "cpu"], wd, "echo", ["--py-stacks"])
    code, out, err = run_watched([GILTRACE, "report", "--folded", "wait", t.path], 300)
    check(code == 0, "--folded wait failed: %s" % err)
    weight, on_io = 0, 0
    for row in out.splitlines():
        stack, ns = row.rsplit(" ", 1)
        weight += int(ns)
        inner = stack.split(";")[-1]
        m = re.match(r"^main \(echo_cpu\.py:(\d+)\)$", inner)
        if m and int(m.group(1)) in io_lines:
            on_io += int(ns)
    check(weight > 0 and on_io >= weight * 0.8,
          "the recv/sendall lines should carry most of the wait weight: %d of %d ns\n%s" % (on_io, weight, out))
    forced = t.q("""SELECT s.function, s.line, count(*) FROM holds h JOIN py_event_sites s
                    ON s.pid = h.pid AND s.tid = h.tid AND s.gil = h.gil AND s.ts_ns = h.end_ns AND s.kind = 'RELEASE'
                    WHERE h.forced = 1 GROUP BY 1, 2 ORDER BY 3 DESC""")
    check(forced and forced[0][0] == "spin" and forced[0][1] in spin_lines,
          "forced releases should happen in spin's loop (lines %s): %s" % (sorted(spin_lines), forced[:5]))
    return "%.0f%% of the wait weight at recv/sendall; forced releases at spin:%d x%d" % (
        100.0 * on_io / weight, forced[0][1], forced[0][2])


def check_attach(py, v, wd):
    """giltrace attach --py-stacks to py_sites.py running: the same names and
    lines as under giltrace run (3.7+: attach refuses older interpreters)."""
    if v < (3, 7):
        return "n/a before 3.7"
    out = os.path.join(wd, "attached.db")
    with Background([py, SOURCE, "--wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as target:
        lines = Lines(target.p.stdout, "py_sites.py")
        check(lines.get().strip() == "ready", "py_sites.py --wait did not start")
        with Attached(target.pid, out, "--py-stacks") as a:
            if not a.tracing:
                code, said = a.stop()
                why = ptrace_refused(said)
                if why:
                    return "not checked: %s" % why
                raise CheckFailed("giltrace attach did not start: %s" % said)
            target.p.stdin.write("go\n")
            target.p.stdin.flush()
            result = lines.get(120)
            code, said = a.stop()
            check(code == 0, "giltrace attach exited %d: %s" % (code, said))
        target.p.stdin.write("end\n")
        target.p.stdin.close()
        check(target.p.wait(60) == 0, "py_sites.py --wait failed under attach")
    t = Trace(out, result, said, 0)
    return "attach: " + check_trace(t, v)


def check_subinterpreter(py, v, wd):
    """An own-GIL subinterpreter (3.12+, programs/subinterpreter.py): its
    sleeps release its GIL (gil 1) at the line of the code it runs."""
    if v < (3, 12):
        return "n/a before 3.12"
    t = trace(py, [program("subinterpreter.py")], wd, "sub", ["--py-stacks"])
    # _interpreters.run_string compiles its code as "<string>", from 3.14 as "<script>"
    where = "<script>" if v >= (3, 14) else "<string>"
    n = t.one("SELECT count(*) FROM py_event_sites WHERE gil = 1 AND kind = 'RELEASE' AND function = '<module>' "
              "AND filename = ? AND line = 3", where)
    check(n == 50, "the subinterpreter's 50 sleeps should release its GIL at %s:3, got %d" % (where, n))
    bad = t.q("SELECT py_stack_id, frame, function, filename, line FROM py_frames "
              "WHERE function IS NULL OR function = '' OR filename IS NULL OR line IS NULL LIMIT 5")
    check(not bad, "frames without a name, file or line: %s" % bad)
    return "50 releases of GIL 1 at %s:3" % where


def wrong_layout(specs):
    for spec in specs:
        py, version = pythons.find(spec)
        if py:
            break
    else:
        print("SKIP: none of %s here" % ", ".join(specs))
        return SKIP
    wd = tempfile.mkdtemp(prefix="giltrace-pystack-")
    t = trace(py, [SOURCE], wd, "skew", ["--stacks"], env={"GILTRACE_TEST_PY_SKEW": "8"})
    said = [ln for ln in t.stderr.splitlines() if "Python stacks off" in ln]
    check(len(said) == 1, "one line saying Python stacks are off expected; stderr:\n%s" % t.stderr)
    check(json.loads(t.stdout.strip().splitlines()[-1])["python_tids"], "the program's output is missing")
    check(t.one("SELECT count(*) FROM py_event") == 0, "Python stacks recorded with a wrong layout")
    events = t.one("SELECT count(*) FROM events")
    native = t.one("SELECT count(*) FROM event_stacks")
    check(events > 100 and native > 10, "the trace should go on: %d events, %d native stacks" % (events, native))
    print("ok  Python %s, wrong layout: %r; %d events, %d native stacks" % (version, said[0], events, native))
    return 0


def main():
    if sys.argv[1] == "--wrong-layout":
        try:
            return wrong_layout(sys.argv[2:])
        except CheckFailed as e:
            print("FAIL  wrong layout: %s" % e)
            return 1
    spec = sys.argv[1]
    py, version = pythons.find(spec)
    if not py:
        print("SKIP: %s" % version)
        return SKIP
    v = tuple(int(x) for x in version.split(".")[:2])
    wd = tempfile.mkdtemp(prefix="giltrace-pystack-")
    failures = 0
    t = trace(py, [SOURCE], wd, "sites", ["--stacks"])
    checks = (("py_sites: names and lines", lambda: check_trace(t, v)), ("report sections", lambda: check_report(t, v)),
              ("--py-stacks alone", lambda: check_py_only(py, v, wd)),
              ("env-only GILTRACE_PYSTACKS=1", lambda: check_env_only(py, v, wd)),
              ("echo convoy: --folded wait", lambda: check_echo(py, v, wd)),
              ("giltrace attach --py-stacks", lambda: check_attach(py, v, wd)),
              ("own-GIL subinterpreter", lambda: check_subinterpreter(py, v, wd)))
    for name, fn in checks:
        try:
            print("ok    %s (Python %s): %s" % (name, version, fn()))
        except CheckFailed as e:
            print("FAIL  %s (Python %s): %s" % (name, version, e))
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
