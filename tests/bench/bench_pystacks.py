#!/usr/bin/env python3
"""What Python stacks cost per stacked event, on a real interpreter: one
thread calls os.lseek on /dev/null (a RELEASE and an ACQUIRE of the GIL each
time, uncontended) at the bottom of a Python call chain `depth` frames deep, under
libgiltrace.so preloaded as `giltrace run` does it, with Python stacks off
and on (--py-stacks: GILTRACE_PYSTACKS=1, no native stacks), interleaved.
Time is the thread's CPU time (time.thread_time_ns), and the fastest run of
each is compared: on a shared machine the slower runs measure the neighbours. The
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
CALLS = 50000 if QUICK else 1000000
SHIM = os.environ["GILTRACE_SHIM"]

PROGRAM = r"""
import os, sys, time
def chain(n, calls):
    if n > 1:
        return chain(n - 1, calls)
    fd = os.open("/dev/null", os.O_RDONLY)
    seek = os.lseek
    t = time.thread_time_ns()
    for _ in range(calls):
        seek(fd, 0, 0)
    return time.thread_time_ns() - t
print(chain(int(sys.argv[1]), int(sys.argv[2])) / int(sys.argv[2]))
"""


def measure(python, depth, py_stacks):
    ring_dir = tempfile.mkdtemp(prefix="giltrace-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    env = dict(os.environ, LD_PRELOAD=SHIM, GILTRACE_RUN_DIR=ring_dir, GILTRACE_STACKS="0",
               GILTRACE_PYSTACKS="1" if py_stacks else "0")
    out = subprocess.run([python, "-c", PROGRAM, str(depth), str(CALLS)], capture_output=True, text=True, env=env,
                         check=True)
    shutil.rmtree(ring_dir)
    return float(out.stdout.strip())


def main():
    python = find_python()
    print("Python stacks on %s, %d lseek calls a run, %d runs each" % (python, CALLS, RUNS))
    for depth in (1, 10, 40):
        off, on = [], []
        for _ in range(RUNS):
            off.append(measure(python, depth, False))
            on.append(measure(python, depth, True))
        print("  depth %2d: %.1f ns a call traced, %.1f ns with Python stacks (fastest runs; medians %.1f, %.1f)"
              % (depth, min(off), min(on), statistics.median(off), statistics.median(on)))
        report("Python stack per stacked event, %d frames deep" % depth, min(on) - min(off), "ns",
               "<= 300 ns" if depth <= 10 else "(none set)")


if __name__ == "__main__":
    main()
