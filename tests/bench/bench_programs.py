#!/usr/bin/env python3
"""Whole-program slowdown, traced (`giltrace run`) vs untraced, runs
interleaved, medians of the programs' own timings:
  - two CPU-bound threads (examples/countdown.py);
  - round trips to a TCP echo server with a CPU-bound thread beside the
    client, and the same without it (the highest GIL event rate we have);
wall time and the traced process's own CPU time, as medians and best runs
(this VM's speed itself varies by 10-20% from run to run, even for a
single-threaded loop with no GIL traffic, so medians of 15 runs resolve a
few percent at best; the best run is the less noisy estimator);
and the database bytes per event of those real traces; the echo runs again
with native (--stacks) and Python (--py-stacks) stacks.

usage: bench_programs.py [--quick]      (env: GILTRACE; GILTRACE_BENCH_PYTHON)
"""
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile

from benchlib import find_python, report, spread

QUICK = "--quick" in sys.argv
RUNS = 1 if QUICK else 15
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GILTRACE = os.environ["GILTRACE"]


def timed(cmd, pattern):
    """(wall, cpu) seconds the program reports about itself."""
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(pattern, out)
    return float(m.group(1)), float(m.group(2))


def compare(python, args, pattern, work, run_args=()):
    """Interleaved untraced/traced runs: medians of wall and CPU time, and the
    size and event count of the last trace."""
    runs = {"plain": [], "traced": []}
    db = os.path.join(work, "t.db")
    for _ in range(RUNS):
        runs["plain"].append(timed([python] + args, pattern))
        runs["traced"].append(timed([GILTRACE, "run", "-q", "-f", "-o", db] + list(run_args) + ["--", python] + args,
                                    pattern))
    con = sqlite3.connect(db)
    events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    con.close()
    result = {}
    for what, index in (("wall", 0), ("cpu", 1)):
        plain = [r[index] for r in runs["plain"]]
        traced = [r[index] for r in runs["traced"]]
        print("  %s time: untraced median %.3f s (%s, best %.3f), traced %.3f s (%s, best %.3f)"
              % (what, statistics.median(plain), spread(plain), min(plain), statistics.median(traced),
                 spread(traced), min(traced)))
        result[what] = 100 * (statistics.median(traced) / statistics.median(plain) - 1)
        result[what + " best"] = 100 * (min(traced) / min(plain) - 1)
    return result, os.path.getsize(db), events


def main():
    python = find_python()
    work = tempfile.mkdtemp(prefix="giltrace-bench-")
    print("interpreter: %s; %d runs each, interleaved; (interquartile ranges)" % (python, RUNS))
    count = "2000000" if QUICK else "30000000"
    print("countdown.py, 2 CPU-bound threads, %s:" % count)
    slow, size, events = compare(python, [os.path.join(ROOT, "examples", "countdown.py"), "2", count],
                                 r": ([0-9.]+) s \(cpu ([0-9.]+) s\)", work)
    report("slowdown, two CPU-bound threads (wall, medians)", slow["wall"], "%", "<= 1%")
    report("slowdown, two CPU-bound threads (cpu, medians)", slow["cpu"], "%", "<= 1%")
    report("slowdown, two CPU-bound threads (cpu, best runs)", slow["cpu best"], "%", "<= 1%")
    rounds = "20" if QUICK else "200"
    echo = os.path.join(HERE, "programs", "echo_cpu.py")
    print("echo_cpu.py, %s round trips with a CPU-bound thread beside them:" % rounds)
    slow, size, events = compare(python, [echo, rounds, "cpu"], r"elapsed=([0-9.]+) cpu=([0-9.]+)", work)
    report("slowdown, socket echo with a CPU-bound thread (wall, medians)", slow["wall"], "%", "<= 3%")
    report("slowdown, socket echo with a CPU-bound thread (wall, best runs)", slow["wall best"], "%", "<= 3%")
    rounds = "2000" if QUICK else "20000"
    print("echo_cpu.py, %s round trips, no CPU thread (the highest GIL event rate we have):" % rounds)
    slow, size, events = compare(python, [echo, rounds, "nocpu"], r"elapsed=([0-9.]+) cpu=([0-9.]+)", work)
    report("slowdown, socket echo alone (wall, medians)", slow["wall"], "%", "none set")
    report("slowdown, socket echo alone (cpu, medians)", slow["cpu"], "%", "none set")
    report("database bytes per event, echo trace (%d events)" % events, size / max(events, 1), "B", "<= 16")
    print("echo_cpu.py, %s round trips, no CPU thread, traced with --stacks:" % rounds)
    slow, size, events = compare(python, [echo, rounds, "nocpu"], r"elapsed=([0-9.]+) cpu=([0-9.]+)", work,
                                 ["--stacks"])
    report("slowdown, socket echo alone with --stacks (wall, medians)", slow["wall"], "%", "none set")
    report("slowdown, socket echo alone with --stacks (cpu, medians)", slow["cpu"], "%", "none set")
    print("echo_cpu.py, %s round trips, no CPU thread, traced with --py-stacks:" % rounds)
    slow, size, events = compare(python, [echo, rounds, "nocpu"], r"elapsed=([0-9.]+) cpu=([0-9.]+)", work,
                                 ["--py-stacks"])
    report("slowdown, socket echo alone with --py-stacks (wall, medians)", slow["wall"], "%", "none set")
    report("slowdown, socket echo alone with --py-stacks (cpu, medians)", slow["cpu"], "%", "none set")
    rounds = "20" if QUICK else "200"
    print("echo_cpu.py, %s round trips with a CPU-bound thread, traced with --py-stacks:" % rounds)
    slow, size, events = compare(python, [echo, rounds, "cpu"], r"elapsed=([0-9.]+) cpu=([0-9.]+)", work,
                                 ["--py-stacks"])
    report("slowdown, socket echo with a CPU thread, --py-stacks (wall, medians)", slow["wall"], "%", "<= 3%")
    shutil.rmtree(work)


main()
