#!/usr/bin/env python3
"""What the shim adds, measured on the fake CPython (tests/fake_cpython)
with libgiltrace.so preloaded exactly as `giltrace run` does it, traced and
untraced runs interleaved, medians:
  - per GIL event: one thread dropping and taking the GIL (2 events a round,
    8 interposed calls), fresh ring memory as in a real append-mode run;
    and the same with --stacks (GILTRACE_STACKS=1: the RELEASE of each round
    carries its native stack), beside it;
  - per ordinary mutex lock/unlock pair in a process whose GIL is known.

usage: bench_shim.py [--quick]      (env: FAKE_CPYTHON, GILTRACE_SHIM)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from benchlib import report

QUICK = "--quick" in sys.argv
RUNS = 2 if QUICK else 9
FAKE = os.environ["FAKE_CPYTHON"]
SHIM = os.environ["GILTRACE_SHIM"]


def measure(args, traced, stacks=False):
    env = dict(os.environ)
    ring_dir = None
    if traced:
        ring_dir = tempfile.mkdtemp(prefix="giltrace-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        env.update(LD_PRELOAD=SHIM, GILTRACE_RUN_DIR=ring_dir, GILTRACE_STACKS="1" if stacks else "0")
    out = subprocess.run([FAKE] + args, capture_output=True, text=True, env=env, check=True).stdout
    if ring_dir:
        shutil.rmtree(ring_dir)
    return float(out.split("=")[1])


def compare(args, stacks=False):
    plain, traced, with_stacks = [], [], []
    for _ in range(RUNS):
        plain.append(measure(args, False))
        traced.append(measure(args, True))
        if stacks:
            with_stacks.append(measure(args, True, True))
    if stacks:
        return statistics.median(plain), statistics.median(traced), statistics.median(with_stacks)
    return statistics.median(plain), statistics.median(traced)


def main():
    rounds = "50000" if QUICK else "2000000"
    plain, traced, stacked = compare(["uncontended", rounds], stacks=True)
    print("fake CPython drop+take round: %.1f ns untraced, %.1f ns traced, %.1f ns traced with --stacks (%d runs each)"
          % (plain, traced, stacked, RUNS))
    report("added cost per GIL event (via the wrappers)", (traced - plain) / 2, "ns", "<= 25 ns")
    report("added cost per GIL event with --stacks", (stacked - plain) / 2, "ns", "(none set)")
    report("  of which the RELEASE's stack", stacked - traced, "ns", "-")
    pairs = "200000" if QUICK else "50000000"
    plain, traced = compare(["mutex", pairs])
    print("ordinary mutex lock+unlock: %.2f ns untraced, %.2f ns traced" % (plain, traced))
    report("added cost per non-GIL mutex lock/unlock pair", traced - plain, "ns", "<= 2 ns over ~6 ns")


main()
