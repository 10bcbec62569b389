#!/usr/bin/env python3
"""Integration test on one interpreter: trace real programs with
`giltrace run` and check the traces against what must be true.

usage: test_interpreter.py SPEC [CHECK...]   (SPEC: 2.7, 3.6 ... 3.13, debian-3.11, ft)
       test_interpreter.py --list SPEC       (the checks' names, one a line)

CHECK is a check's name (forced-holds, fidelity...; meson runs each as a
test of its own, e.g. forced-holds-3.12); none: all of them. Checks that
look at the same program's run share one trace (gilcheck.shared_trace).
Exits 77 (SKIP) with the reason when the interpreter is not on this machine
or the check is not for its version.
"""
import os
import re
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gilcheck import (Skip, check, check_chrome, check_report_invariants, check_slug,  # noqa: E402
                      export_chrome, program, report, run_checks, shared_trace, trace)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def worker_tids(t):
    main = t.one("SELECT pid FROM processes")
    return [r[0] for r in t.q("SELECT DISTINCT tid FROM holds WHERE tid <> ?", main)]


def cpu_pair(py, wd):
    """The run of two CPU-bound threads that several checks look at."""
    return shared_trace(py, [program("cpu_threads.py"), "1.0"], wd, "cpu")


def check_cpu_pair(py, v, wd):
    t = cpu_pair(py, wd)
    check(t.one("SELECT count(*) FROM processes") == 1, "one process expected")
    gil = t.one("SELECT gil FROM processes")
    check(gil == ("semaphore" if v < (3, 0) else "condvar"), "GIL kind %r" % gil)
    workers = worker_tids(t)
    check(len(workers) >= 2, "both worker threads should hold the GIL, holders: %s" % workers)
    overlaps = t.overlapping_holds()
    check(overlaps == 0, "%d holds overlap another thread's hold" % overlaps)
    kinds = t.kinds()
    # FORCED_SWITCH needs the dropping thread to see the drop request before
    # the taker clears it, a race it loses often on 3.7-3.10 and on a busy
    # machine: it is checked over all the CPU-bound runs (check_interval_follows).
    wanted = ["BUSY"] if v < (3, 0) else ["BUSY", "TIMEOUT", "DROP_REQUEST", "RETRY"]
    for k in wanted:
        check(kinds.get(k, 0) > 0, "no %s events: %s" % (k, kinds))
    return "kinds %s" % kinds


def check_forced_holds(py, v, wd):
    """Forced holds of the CPU pair last the switch interval (5 ms)."""
    return forced_holds_note(cpu_pair(py, wd), 5000)


def check_fidelity(py, v, wd):
    """The CPU pair's handoffs == the interpreter's own switch_number."""
    return fidelity_note(cpu_pair(py, wd))


def check_walker_agreement(py, v, wd):
    """On the CPU pair's trace: the stored holds and waits, the summaries,
    the viewer's replay and the report all say what the one hold/wait
    walker says (tests/unit/test_walker_agreement.c)."""
    build = os.path.dirname(os.path.dirname(os.path.abspath(os.environ.get("GILTRACE", "giltrace"))))
    exe = os.environ.get("GILTRACE_WALKER_AGREEMENT") or os.path.join(build, "tests", "unit", "test_walker_agreement")
    if not os.access(exe, os.X_OK):
        raise Skip("no %s (the unit test's program; meson sets GILTRACE_WALKER_AGREEMENT)" % exe)
    t = cpu_pair(py, wd)
    r = subprocess.run([exe, t.path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                       timeout=300)
    check(r.returncode == 0, "disagreement on %s:\n%s" % (t.path, r.stdout))
    return r.stdout.strip()


def forced_hold_parts_us(t):
    """Split each forced hold of GIL 0 (A holds from s to its RELEASE r; a
    waiter W, whose last BUSY or RETRY was at b, asks at d) into the waiter's
    timed wait d - b, which the interpreter sets to the switch interval, and
    the delays the OS scheduler adds: b - s (W getting back onto a CPU after
    the previous handoff) and r - d (A noticing the request). Returns lists
    (holds, waits, delays) in microseconds."""
    rows = t.q("SELECT tid, ts_ns, kind FROM events WHERE gil = 0 AND pid = (SELECT min(pid) FROM processes)"
               " ORDER BY ts_ns")
    holder = start = drop = wait_start = None
    last_wait = {}
    holds, waits, delays = [], [], []
    for tid, ts, kind in rows:
        if kind in ("BUSY", "RETRY"):
            last_wait[tid] = ts
        elif kind == "ACQUIRE":
            holder, start, drop = tid, ts, None
        elif kind == "DROP_REQUEST" and holder is not None and tid != holder and tid in last_wait:
            drop, wait_start = ts, last_wait[tid]
        elif kind == "RELEASE" and tid == holder:
            if drop is not None and wait_start >= start:
                holds.append((ts - start) / 1000.0)
                waits.append((drop - wait_start) / 1000.0)
                delays.append(((wait_start - start) + (ts - drop)) / 1000.0)
            holder = None
    return holds, waits, delays


def forced_holds_note(t, interval_us):
    iv = t.one("SELECT switch_interval_us FROM processes")
    check(iv is not None and abs(iv - interval_us) <= 10, "switch_interval_us %s, expected %d" % (iv, interval_us))
    forced = [r[0] for r in t.q("SELECT end_ns - start_ns FROM holds WHERE forced = 1")]
    check(len(forced) >= 10, "only %d forced holds" % len(forced))
    median_us = statistics.median(forced) / 1000.0
    # A holder is only asked to drop after a waiter waited the whole interval.
    check(median_us >= 0.8 * interval_us,
          "median forced hold %.0f us is shorter than the %d us switch interval" % (median_us, interval_us))
    holds, waits, delays = forced_hold_parts_us(t)
    check(len(waits) >= 10, "only %d forced holds could be taken apart" % len(waits))
    wait, delay, parted = statistics.median(waits), statistics.median(delays), statistics.median(holds)
    note = ("median forced hold %.0f us over %d (interval %d us); of the %d taken apart, medians: hold %.0f us,"
            " the waiter's timed wait %.0f us, scheduler delays %.0f us"
            % (median_us, len(forced), interval_us, len(holds), parted, wait, delay))
    # Each hold taken apart is exactly its waiter's timed wait plus scheduler
    # delays; the interpreter sets only the wait, so that is what must match
    # the interval. (The holds' own median also carries the delays, which
    # on this 2-CPU machine, with other tests' threads beside, can double it.)
    check(wait >= 0.95 * interval_us, "the waiters' timed waits are shorter than the interval: " + note)
    if delay > 0.3 * interval_us:
        return note + "; upper bound not checked: the machine is busy"
    check(wait <= 1.5 * interval_us, "the waiters' timed waits are longer than the interval: " + note)
    return note


def fidelity_note(t):
    m = re.search(r"fidelity t0_ns=(\d+) t1_ns=(\d+) sn0=(\d+) sn1=(\d+) interval_addr=0x([0-9a-f]+)", t.stdout)
    check(m is not None, "the program could not read switch_number: %s" % t.stdout.strip())
    t0, t1, sn0, sn1 = (int(m.group(i)) for i in range(1, 5))
    mutex = int(m.group(5), 16) + 80
    recorded = t.one("SELECT address FROM gil WHERE gil = 0")
    check(recorded == mutex, "shim's GIL mutex 0x%x differs from the interpreter's 0x%x" % (recorded or 0, mutex))
    rows = t.q("SELECT ts_ns, tid FROM events WHERE kind = 'ACQUIRE' AND gil = 0 ORDER BY ts_ns")
    changes, prev = 0, None
    for ts, tid in rows:
        if t0 < ts < t1 and tid != prev:
            changes += 1
        prev = tid
    check(changes == sn1 - sn0, "ACQUIREs by a new holder: %d; interpreter's switch_number moved by %d"
          % (changes, sn1 - sn0))
    return "fidelity: %d handoffs == switch_number delta" % changes


def check_interval_follows(py, v, wd):
    t = trace(py, [program("cpu_threads.py"), "0.6", "0.001"], wd, "cpu1ms")
    note = forced_holds_note(t, 1000)
    forced = cpu_pair(py, wd).kinds().get("FORCED_SWITCH", 0) + t.kinds().get("FORCED_SWITCH", 0)
    runs = 2
    while forced == 0 and runs < 5:  # the race is lost on every drop of a run now and then
        runs += 1
        forced += trace(py, [program("cpu_threads.py"), "0.6", "0.001"], wd, "cpu1ms-%d" % runs).kinds().get(
            "FORCED_SWITCH", 0)
    check(forced > 0, "no FORCED_SWITCH events in %d CPU-bound runs" % runs)
    return note + "; %d FORCED_SWITCH events over %d CPU-bound runs" % (forced, runs)


def check_sleeper(py, v, wd):
    rounds = 200
    t = trace(py, [program("sleeper.py"), str(rounds)], wd, "sleeper")
    main = t.one("SELECT pid FROM processes")
    helper_end = t.one("SELECT max(ts_ns) FROM events WHERE tid <> ?", main)
    check(helper_end is not None, "the helper thread left no events")
    after = t.kinds("ts_ns > %d" % helper_end)
    check(after.get("RELEASE", 0) >= rounds and after.get("ACQUIRE", 0) >= rounds,
          "expected >= %d RELEASE/ACQUIRE pairs from the sleeps: %s" % (rounds, after))
    check(after.get("BUSY", 0) == 0, "BUSY events while only one thread wanted the GIL: %s" % after)
    return "after the helper: %s" % after


def check_locks(py, v, wd):
    """A threading.Lock is a sem_t like 2.7's GIL and the 3.13 parking lot's
    waits: none of its operations may be recorded as GIL events. 3.x takes an
    uncontended Lock without releasing the GIL, so the lock loop must add
    (almost) no events; 2.7 releases the GIL around every Lock.acquire, which
    is two real GIL events per round (a lock taken for the GIL would add
    more, out of alternation)."""
    rounds = 100000
    base = trace(py, [program("lock_contention.py"), "uncontended", "0"], wd, "lock0")
    t = trace(py, [program("lock_contention.py"), "uncontended", str(rounds)], wd, "lock1")
    added = t.one("SELECT count(*) FROM events") - base.one("SELECT count(*) FROM events")
    limit = rounds // 100 if v >= (3, 0) else 2.5 * rounds  # 2.7: + the 100-tick switches
    check(added <= limit, "%d uncontended threading.Lock pairs added %d GIL events (limit %d)" % (rounds, added, limit))
    t = trace(py, [program("lock_contention.py"), "contended", "20000"], wd, "lock2")
    check("counter=40000" in t.stdout, "the program's own result changed: %r" % t.stdout)
    gils = [r[0] for r in t.q("SELECT DISTINCT gil FROM events")]
    check(gils == [0], "a threading.Lock was taken for a GIL: gils %s" % gils)
    check(t.one("SELECT count(*) FROM gil") == 1, "more than one GIL identified")
    check(t.overlapping_holds() == 0, "holds overlap under lock contention")
    repeats = t.one("""SELECT count(*) FROM (
        SELECT kind, LAG(kind) OVER (PARTITION BY pid, tid, gil ORDER BY ts_ns) AS prev
        FROM events WHERE kind IN ('ACQUIRE', 'RELEASE')) WHERE kind = prev""")
    check(repeats == 0, "%d ACQUIRE/RELEASE out of alternation under lock contention" % repeats)
    return "uncontended: +%d events for %d lock pairs; contended: %s" % (added, rounds, t.kinds())


def check_subinterpreter(py, v, wd):
    return trace(py, [program("subinterpreter.py")], wd, "subinterp").check_own_gil()


def check_mp_pool(py, v, wd):
    t = trace(py, [program("mp_pool.py")], wd, "mp")
    check("sum=8555" in t.stdout, "the pool's result changed: %r" % t.stdout)
    rows = t.q("SELECT pid, ppid FROM processes ORDER BY start_ns")
    check(len(rows) == 4, "expected 4 processes (parent and 3 workers): %s" % rows)
    parent = rows[0][0]
    check(all(ppid == parent for _, ppid in rows[1:]), "workers should be children of %d: %s" % (parent, rows))
    if v >= (3, 7):
        # Before 3.7 a worker that starts no thread never creates a GIL: no events.
        quiet = t.one("SELECT count(*) FROM processes p WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.pid = p.pid)")
        check(quiet == 0, "%d processes have no events" % quiet)
    return "processes %s" % rows


def check_free_threaded_without_gil(py, v, wd):
    t = trace(py, [program("cpu_threads.py"), "0.5"], wd, "ft")
    gil = t.one("SELECT gil FROM processes")
    check(gil == "none", "a free-threaded run without a GIL should say gil 'none', not %r" % gil)
    switches = [r[0] for r in t.q("SELECT kind FROM events WHERE kind LIKE 'GIL_%' ORDER BY ts_ns")]
    check(switches and switches[0] == "GIL_DISABLED" and switches[-1] == "GIL_DISABLED",
          "GIL_DISABLED should open and close the GIL on/off history: %s" % switches)
    check(all(a != b for a, b in zip(switches, switches[1:])), "GIL on/off events out of alternation: %s" % switches)
    workers = worker_tids(t)
    check(workers == [], "threads held a GIL that was switched off: %s" % workers)
    return "gil 'none'; %d transient GIL_ENABLED/GIL_DISABLED pairs (extension imports)" % (len(switches) // 2)


def check_free_threaded_with_gil(py, v, wd):
    t = trace(py, [program("cpu_threads.py"), "0.5"], wd, "ft-gil", env={"PYTHON_GIL": "1"})
    gil = t.one("SELECT gil FROM processes")
    check(gil == "condvar", "PYTHON_GIL=1 should leave gil 'condvar', not %r" % gil)
    check(t.kinds().get("GIL_ENABLED", 0) >= 1, "no GIL_ENABLED event")
    check(len(worker_tids(t)) >= 2, "both worker threads should hold the GIL")
    check(t.overlapping_holds() == 0, "holds overlap")
    kinds = t.kinds()
    for k in ["BUSY", "TIMEOUT", "DROP_REQUEST"]:
        check(kinds.get(k, 0) > 0, "no %s events: %s" % (k, kinds))
    return "kinds %s" % kinds


FREE_THREADED_CHECKS = [
    ("free-threaded, GIL off: recorded as none", check_free_threaded_without_gil, (3, 13), None),
    ("free-threaded, PYTHON_GIL=1: traced like a GIL build", check_free_threaded_with_gil, (3, 13), None),
]


def check_names(py, v, wd):
    """threads.name holds each thread's Python name, read inside the
    process without the program's help (a rename shows once another thread
    starts)."""
    t = trace(py, [program("names.py")], wd, "names")
    want = dict((int(m.group(1)), m.group(2)) for m in re.finditer(r"thread tid=(\d+) name=(.*)", t.stdout))
    check(len(want) >= 5, "the program reported too few threads: %r" % t.stdout)
    got = dict(t.q("SELECT tid, name FROM threads"))
    wrong = dict((tid, (name, got.get(tid))) for tid, name in want.items() if got.get(tid) != name)
    check(not wrong, "names differ (want, got): %s" % wrong)
    return "%d threads named, e.g. %s" % (len(want), sorted(set(want.values()))[:4])


def sites(doc, key):
    return [s for p in doc["processes"] for s in (p.get(key) or [])]


def check_stack_sleep(py, v, wd):
    """--stacks on a sleeping program: the sleep call is among the top
    release sites, even on a stripped interpreter."""
    rounds = 200
    t = trace(py, [program("sleeper.py"), str(rounds)], wd, "sleep-stacks", ["--stacks"])
    doc = report(t.path)
    lost = sum(p["lost_stacks"] for p in doc["processes"])
    check(lost == 0, "%d stacks lost" % lost)
    top = sites(doc, "release_sites")[:5]
    check(top, "no release sites")
    sleep = [s for s in top if "sleep" in s["site"] or any("sleep" in (f["symbol"] or "") for f in s["frames"][:4])]
    check(sleep, "no sleep among the top release sites: %s" % [(s["site"], s["releases"]) for s in top])
    check(sleep[0]["releases"] >= rounds, "the sleep site has %d releases, want >= %d" % (sleep[0]["releases"], rounds))
    frames = t.one("SELECT count(*) FROM stack_frames")
    named = t.one("SELECT count(*) FROM stack_frames WHERE symbol IS NOT NULL")
    return "sleep site %r with %d releases; %d of %d frames named" % (sleep[0]["site"], sleep[0]["releases"],
                                                                    named, frames)


def check_forced_site(py, v, wd):
    """--stacks on two CPU-bound threads: the release site of the forced
    switches is the eval loop (_PyEval_EvalFrameDefault), also on stripped
    builds whose eval loop has no symbol (Debian's 3.14+, where the exported
    _PyEval_EvalFrameDefault is a small wrapper: the caller of
    _Py_HandlePending is named so by formats/tdb/stack_symbols.c)."""
    t = trace(py, [program("cpu_threads.py"), "0.6", "0.001"], wd, "forced-stacks", ["--stacks"])
    forced = sorted((s for s in sites(report(t.path), "release_sites") if s.get("forced")),
                    key=lambda s: -s["forced"])
    check(forced, "no release site with forced switches")
    top = forced[0]
    frames = " < ".join((f["symbol"] or "?") for f in top["frames"][:4])
    check(top["site"] == "_PyEval_EvalFrameDefault",
          "the forced switches' top release site is %r (%d forced; frames %s), not the eval loop"
          % (top["site"], top["forced"], frames))
    return "%d of %d forced switches released at %r (%s)" % (top["forced"], sum(s["forced"] for s in forced),
                                                              top["site"], frames)


def check_stack_stress(py, v, wd):
    """Stacks recorded while threads import extension modules (dlopen with
    the GIL held), threads come and go, and a thread forks: no deadlock (a
    watchdog kills and fails a run that hangs), every process traced, stacks
    in each, none lost."""
    t = trace(py, [program("stack_stress.py"), "2"], wd, "stress", ["--stacks"], timeout=120)
    m = re.search(r"stress imports=(\d+) libraries=(\d+) threads=(\d+) forks=(\d+)", t.stdout)
    check(m is not None, "the program did not finish its work: %r" % t.stdout)
    imports, libraries, threads, forks = (int(x) for x in m.groups())
    check(imports >= 5 and threads >= 20 and forks >= 4, "too little happened: %s" % m.group(0))
    procs = t.one("SELECT count(*) FROM processes")
    check(procs == 1 + forks, "%d processes traced, want %d" % (procs, 1 + forks))
    bare = t.q("SELECT pid FROM processes p WHERE NOT EXISTS (SELECT 1 FROM event_stacks e WHERE e.pid = p.pid)")
    check(not bare, "processes without stacks: %s" % bare)
    lost = t.one("SELECT sum(lost_stacks) FROM process")
    check(lost == 0, "%d stacks lost" % lost)
    doc = report(t.path)
    check_report_invariants(doc)
    modules = t.one("SELECT count(DISTINCT path) FROM stack_module")
    return "%s; %d processes, %d stacks, %d modules" % (m.group(0), procs, t.one("SELECT count(*) FROM stacks"),
                                                       modules)


def check_report(py, v, wd):
    """The report's invariants on real runs; a single-threaded program never
    waits."""
    t = trace(py, [program("cpu_threads.py"), "0.5"], wd, "report-cpu")
    n = check_report_invariants(report(t.path))
    t = trace(py, [program("single.py"), "200"], wd, "report-single")
    doc = report(t.path)
    n += check_report_invariants(doc)
    waits = [(th["tid"], th["waited_ns"]) for p in doc["processes"] for th in p["threads"] if th["waited_ns"]]
    check(not waits, "a single-threaded program waited: %s" % waits)
    return "%d threads checked" % n


def check_convoys(py, v, wd):
    """Beazley's convoy effect: an I/O thread next to a CPU-bound one pays a
    switch interval for each I/O; two CPU-bound threads show none."""
    t = trace(py, [os.path.join(ROOT, "tests", "bench", "programs", "echo_cpu.py"), "100", "cpu"], wd, "echo")
    doc = report(t.path)
    client = [p for p in doc["processes"] if p["pid"] == t.one("SELECT min(pid) FROM processes")][0]
    flagged = [th for th in client["threads"] if th["convoy"]["flagged"]]
    check(flagged, "no convoy in the echo + CPU thread run: %s" % [(th["tid"], th["convoy"]) for th in client["threads"]])
    episodes = flagged[0]["convoy"]["episodes"]
    check(episodes >= 50, "only %d convoy episodes over 100 round trips" % episodes)
    t = trace(py, [program("cpu_threads.py"), "1.0"], wd, "convoy-cpu")
    doc = report(t.path)
    main = t.one("SELECT min(pid) FROM processes")
    for p in doc["processes"]:
        for th in p["threads"]:
            check(not th["convoy"]["flagged"], "a convoy in two CPU-bound threads: %r" % th)
            if th["tid"] != main:
                check(th["convoy"]["episodes"] == 0, "CPU-bound worker %d has convoy episodes" % th["tid"])
    return "echo + CPU: %d episodes (%.0f ms waiting); CPU pair: none" % (episodes,
                                                                         flagged[0]["convoy"]["wait_ns"] / 1e6)


def check_export(py, v, wd):
    """giltrace export --format chrome: well-formed Trace Event Format."""
    t = trace(py, [program("names.py")], wd, "export")
    slices, instants, tracks = check_chrome(export_chrome(t.path, wd, "export"))
    holds = t.one("SELECT count(*) FROM holds") + t.one("SELECT count(*) FROM waits")
    check(slices == holds, "%d slices for %d holds and waits" % (slices, holds))
    note = "%d slices, %d instants, %d tracks" % (slices, instants, tracks)
    if v >= (3, 12):
        t = trace(py, [program("subinterpreter.py")], wd, "export-sub")
        slices, instants, tracks = check_chrome(export_chrome(t.path, wd, "export-sub"))
        note += "; with a subinterpreter GIL: %d tracks" % tracks
    return note


CHECKS = [
    ("two CPU-bound threads", check_cpu_pair, (2, 0), None),
    ("forced holds last the switch interval", check_forced_holds, (3, 0), None),
    ("handoffs == the interpreter's switch_number", check_fidelity, (3, 7), None),
    ("one hold/wait rule: tables, summaries, replay, report agree", check_walker_agreement, (2, 0), None),
    ("setswitchinterval(0.001) is followed", check_interval_follows, (3, 2), None),
    ("one thread sleeping in a loop", check_sleeper, (2, 0), None),
    ("threading.Lock is not the GIL", check_locks, (2, 0), None),
    ("own-GIL subinterpreter is gil 1", check_subinterpreter, (3, 12), None),
    ("multiprocessing pool", check_mp_pool, (2, 0), None),
    ("Python thread names", check_names, (2, 0), None),
    ("--stacks: the sleep call is a top release site", check_stack_sleep, (2, 0), None),
    ("--stacks: forced switches are released by the eval loop", check_forced_site, (3, 12), None),
    ("--stacks under imports, thread churn and forks", check_stack_stress, (2, 0), None),
    ("report invariants on real runs", check_report, (2, 0), None),
    ("convoys: echo + CPU thread, not a CPU pair", check_convoys, (3, 2), None),
    ("export --format chrome", check_export, (2, 0), None),
]


def checks_of(spec):
    return FREE_THREADED_CHECKS if spec == "ft" else CHECKS


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--list":
        print("\n".join(check_slug(c[1]) for c in checks_of(sys.argv[2])))
        sys.exit(0)
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    sys.exit(run_checks(sys.argv[1], checks_of(sys.argv[1]), sys.argv[2:]))
