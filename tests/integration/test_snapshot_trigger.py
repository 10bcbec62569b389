#!/usr/bin/env python3
"""Traces of a process that is still running: `giltrace snapshot PID` returns
a valid trace of what it has recorded so far while it goes on (and finishes
as it would have); `giltrace run --trigger-wait-ms` writes a snapshot when a
thread waits too long for the GIL, and the program is unharmed.

usage: test_snapshot_trigger.py GILTRACE
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
failures = 0


def case(name, ok, detail=""):
    global failures
    print("%s  %s%s" % ("ok  " if ok else "FAIL", name, (": " + detail) if detail else ""))
    failures += 0 if ok else 1


def count(db, sql):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def main():
    giltrace = sys.argv[1]
    python = pythons.first_of(["3.12", "debian-3.11"])
    if python is None:
        print("SKIP: no Python 3.12 or Debian 3.11 to run")
        return SKIP
    work = tempfile.mkdtemp(prefix="giltrace-snap-")

    final = os.path.join(work, "final.db")
    run = subprocess.Popen([giltrace, "run", "-q", "-o", final, "--", python,
                            os.path.join(HERE, "programs", "churn.py"), "8"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    snap = os.path.join(work, "snap.db")
    pid, deadline, events = None, time.monotonic() + 60, 0
    while events == 0 and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)  # polling until the program has recorded something
        pid = pythons.traced_child(run.pid)
        if pid is None:
            continue
        p = subprocess.run([giltrace, "snapshot", "-q", "-f", "-o", snap, str(pid)], capture_output=True, text=True)
        if p.returncode == 0:
            events = count(snap, "SELECT count(*) FROM events")
    still_running = pid is not None and os.path.exists("/proc/%d" % pid) and run.poll() is None
    out, err = run.communicate(timeout=120)
    total = count(final, "SELECT count(*) FROM events") if os.path.exists(final) else 0
    case("snapshot of a running process", events > 0 and still_running and
         count(snap, "SELECT count(*) FROM processes WHERE pid = %d" % pid) == 1,
         "%d events, process still running: %s" % (events, still_running))
    case("...which then finishes as it would have", run.returncode == 0 and out == b"done\n" and total > events,
         "exit %d, %d events in its final trace" % (run.returncode, total))

    p = subprocess.run([giltrace, "snapshot", "999999999"], capture_output=True, text=True)
    case("snapshot of no such process: one line", p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1,
         p.stderr.strip())
    p = subprocess.run([giltrace, "snapshot", str(os.getpid())], capture_output=True, text=True)
    case("snapshot of an untraced process: one line", p.returncode != 0 and "not being traced" in p.stderr,
         p.stderr.strip())

    stalled = os.path.join(work, "stall.db")
    p = subprocess.run([giltrace, "run", "-q", "-o", stalled, "--trigger-wait-ms", "100", "--", python,
                        os.path.join(HERE, "programs", "stall.py")], capture_output=True, text=True, timeout=300)
    trig = os.path.join(work, "stall.trigger-1.db")
    longest = count(trig, "SELECT max(end_ns - start_ns) FROM waits") if os.path.exists(trig) else 0
    case("a long GIL wait writes a snapshot while the program goes on",
         p.returncode == 0 and p.stdout == "sorted 2000000\n" and os.path.exists(trig) and
         "snapshot written to" in p.stderr and longest >= 100e6,
         "%s; longest wait in the snapshot %.0f ms" % (p.stderr.strip().splitlines()[0] if p.stderr else "", longest / 1e6))
    if failures == 0:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
