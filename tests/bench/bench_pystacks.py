#!/usr/bin/env python3
"""What Python stacks cost per stacked event, on a real interpreter: one
thread calls os.lseek on /dev/null (a RELEASE and an ACQUIRE of the GIL each
time, uncontended) at the bottom of a Python call chain `depth` frames deep, under
libgiltrace.so preloaded as `giltrace run` does it, with Python stacks off
and on (--py-stacks: GILTRACE_PYSTACKS=1, no native stacks), interleaved.
A run times batches of 500 calls and keeps its fastest batch, and the
fastest run of each is compared: on a shared machine the slower ones
measure the neighbours (preemption, cache thrash), not the tracer. The
difference per call is the cost of one Python stack (walking the frames,
looking up each code object and interning the stack), paid at the RELEASE.

usage: bench_pystacks.py [--quick]      (env: GILTRACE_SHIM, GILTRACE_BENCH_PYTHON)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from benchlib import find_python, report

QUICK = "--quick" in sys.argv
RUNS = 5 if QUICK else 15
BATCHES = 40 if QUICK else 400
SHIM = os.environ["GILTRACE_SHIM"]

PROGRAM = r"""
import os, sys, time
def chain(n, batches, per):
    if n > 1:
        return chain(n - 1, batches, per)
    fd = os.open("/dev/null", os.O_RDONLY)
    seek, clock, best = os.lseek, time.perf_counter_ns, None
    for _ in range(batches):
        t = clock()
        for _ in range(per):
            seek(fd, 0, 0)
        d = clock() - t
        best = d if best is None or d < best else best
    return best / per
print(chain(int(sys.argv[1]), int(sys.argv[2]), 500))
"""


def measure(python, depth, py_stacks):
    ring_dir = tempfile.mkdtemp(prefix="giltrace-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    env = dict(os.environ, LD_PRELOAD=SHIM, GILTRACE_RUN_DIR=ring_dir, GILTRACE_STACKS="0",
               GILTRACE_PYSTACKS="1" if py_stacks else "0")
    out = subprocess.run([python, "-c", PROGRAM, str(depth), str(BATCHES)], capture_output=True, text=True, env=env,
                         check=True)
    shutil.rmtree(ring_dir)
    return float(out.stdout.strip())


def main():
    python = find_python()
    print("Python stacks on %s, %d batches of 500 lseek calls a run, %d runs each" % (python, BATCHES, RUNS))
    for depth in (1, 10, 40):
        off, on = [], []
        for _ in range(RUNS):
            off.append(measure(python, depth, False))
            on.append(measure(python, depth, True))
        print("  depth %2d: %.1f ns a call traced, %.1f ns with Python stacks (best runs; medians of runs %.1f, %.1f)"
              % (depth, min(off), min(on), statistics.median(off), statistics.median(on)))
        report("Python stack per stacked event, %d frames deep" % depth, min(on) - min(off), "ns",
               "<= 300 ns" if depth <= 10 else "(none set)")


if __name__ == "__main__":
    main()
