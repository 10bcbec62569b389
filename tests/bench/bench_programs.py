#!/usr/bin/env python3
"""Whole-program slowdown, traced (`giltrace run`) vs untraced, runs
interleaved, medians of the programs' own timings:
  - two CPU-bound threads (examples/countdown.py);
  - round trips over a TCP echo server with a CPU-bound thread beside them,
    and the same without it (the highest GIL event rate we have);
and the database bytes per event of those real traces.

usage: bench_programs.py [--quick]      (env: GILTRACE; GILTRACE_BENCH_PYTHON)
"""
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

QUICK = "--quick" in sys.argv
RUNS = 1 if QUICK else 7
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GILTRACE = os.environ["GILTRACE"]


def find_python():
    if os.environ.get("GILTRACE_BENCH_PYTHON"):
        return os.environ["GILTRACE_BENCH_PYTHON"]
    for pattern in ["/root/.pyenv/versions/3.12.*/bin/python3.12", "/root/.pyenv/versions/3.11.*/bin/python3.11",
                    "/usr/bin/python3"]:
        found = sorted(glob.glob(pattern))
        if found:
            return found[-1]
    return sys.executable


def timed(cmd, pattern):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(re.search(pattern, out).group(1))


def compare(python, args, pattern, work):
    plain, traced, sizes = [], [], []
    db = os.path.join(work, "t.db")
    for _ in range(RUNS):
        plain.append(timed([python] + args, pattern))
        traced.append(timed([GILTRACE, "run", "-q", "-f", "-o", db, "--", python] + args, pattern))
        import sqlite3
        con = sqlite3.connect(db)
        events = con.execute("SELECT count(*) FROM events").fetchone()[0]
        con.close()
        sizes.append((os.path.getsize(db), events))
    return statistics.median(plain), statistics.median(traced), sizes[-1]


def report(name, value, unit, goal):
    print("%-52s %10.2f %-8s (goal %s)" % (name, value, unit, goal))


def main():
    python = find_python()
    work = tempfile.mkdtemp(prefix="giltrace-bench-")
    print("interpreter: %s; %d runs each, interleaved" % (python, RUNS))
    count = "2000000" if QUICK else "30000000"
    plain, traced, (size, events) = compare(python, [os.path.join(ROOT, "examples", "countdown.py"), "2", count],
                                            r": ([0-9.]+) s", work)
    print("countdown, 2 threads: %.3f s untraced, %.3f s traced; %d events, %.1f B/event"
          % (plain, traced, events, size / max(events, 1)))
    report("slowdown, two CPU-bound threads", 100 * (traced / plain - 1), "%", "<= 1%")
    rounds = "50" if QUICK else "400"
    plain, traced, (size, events) = compare(python, [os.path.join(HERE, "programs", "echo_cpu.py"), rounds, "cpu"],
                                            r"elapsed=([0-9.]+)", work)
    print("echo + CPU thread, %s round trips: %.3f s untraced, %.3f s traced; %d events"
          % (rounds, plain, traced, events))
    report("slowdown, socket echo with a CPU-bound thread", 100 * (traced / plain - 1), "%", "<= 3%")
    rounds = "2000" if QUICK else "40000"
    plain, traced, (size, events) = compare(python, [os.path.join(HERE, "programs", "echo_cpu.py"), rounds, "nocpu"],
                                            r"elapsed=([0-9.]+)", work)
    print("echo alone, %s round trips: %.3f s untraced, %.3f s traced; %d events (%.0f events/s), %.1f B/event"
          % (rounds, plain, traced, events, events / traced, size / max(events, 1)))
    report("slowdown, socket echo alone (highest event rate)", 100 * (traced / plain - 1), "%", "none set")
    report("database bytes per event, echo trace", size / max(events, 1), "B", "<= 16")
    shutil.rmtree(work)


main()
