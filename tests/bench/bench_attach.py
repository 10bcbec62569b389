#!/usr/bin/env python3
"""What giltrace attach costs, as medians of runs on this machine:
  - the target's pause (every thread stopped) per attach and per detach:
    on a Python with two CPU-bound threads and a main thread waiting on
    stdin, the first attach (which loads the library) and later ones, and
    on a Python whose only thread never blocks (it is taken where it runs);
  - the recording cost per GIL event on the fake CPython (tests/fake_cpython)
    with giltrace attached, beside the same with the shim preloaded as
    giltrace run does it: one thread dropping and taking the GIL, two events
    a round, minus the untraced round; runs interleaved.

usage: bench_attach.py [--quick]   (env: GILTRACE, GILTRACE_SHIM, FAKE_CPYTHON; GILTRACE_BENCH_PYTHON)
"""
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

from benchlib import find_python, report, spread

QUICK = "--quick" in sys.argv
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GILTRACE = os.environ["GILTRACE"]
SHIM = os.environ["GILTRACE_SHIM"]
FAKE = os.environ["FAKE_CPYTHON"]
SKIP = 77
TARGET = os.path.join(ROOT, "tests", "integration", "programs", "attach_target.py")
# One thread that never blocks; it says "ready" once it runs Python code.
SOLO = "import time\nprint('ready', flush=True)\nend = time.time() + 600\nn = 0\nwhile time.time() < end:\n    n += 1\n"


class Refused(Exception):
    pass


def attach_once(pid, db):
    """(attach pause ms, detach pause ms) of one giltrace attach."""
    p = subprocess.run([GILTRACE, "attach", str(pid), "-f", "-o", db, "-d", "0.05"], capture_output=True, text=True,
                       timeout=120)
    if "operation not permitted" in p.stderr:
        raise Refused(p.stderr.strip())
    m = re.search(r"attached .*pausing it ([0-9.]+) ms.*\n(?:.*\n)*.*detached .*pausing it ([0-9.]+) ms", p.stderr)
    if p.returncode != 0 or not m:
        raise RuntimeError("giltrace attach failed: %s" % p.stderr)
    return float(m.group(1)), float(m.group(2))


def start(cmd):
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return p


def pauses(python, work, fresh, cycles):
    """Pauses on `fresh` new two-thread targets (first attach) and `cycles`
    attaches to one (later attaches), and on the solo CPU-bound target."""
    db = os.path.join(work, "t.db")
    first, first_detach, later, later_detach, solo = [], [], [], [], []
    for _ in range(fresh):
        p = start([python, TARGET, "cpu"])
        try:
            p.stdout.readline()
            a, d = attach_once(p.pid, db)
            first.append(a)
            first_detach.append(d)
            for _ in range(cycles if not later else 0):
                a, d = attach_once(p.pid, db)
                later.append(a)
                later_detach.append(d)
        finally:
            p.kill()
            p.wait()
    p = start([python, "-c", SOLO])
    try:
        p.stdout.readline()
        for _ in range(max(3, cycles // 3)):
            solo.append(attach_once(p.pid, db)[0])
    finally:
        p.kill()
        p.wait()
    return first, first_detach, later, later_detach, solo


def fake_round(mode, rounds, work):
    """ns per drop+take round of the fake CPython: untraced, preload, attach."""
    env = dict(os.environ)
    ring_dir = None
    if mode == "preload":
        ring_dir = tempfile.mkdtemp(prefix="giltrace-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        env.update(LD_PRELOAD=SHIM, GILTRACE_RUN_DIR=ring_dir)
    p = subprocess.Popen([FAKE, "wait", "uncontended", str(rounds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True, env=env)
    tracer = None
    try:
        p.stdout.readline()  # "waiting": past the dynamic loader, in main()
        if mode == "attach":
            tracer = subprocess.Popen([GILTRACE, "attach", str(p.pid), "-f", "-o", os.path.join(work, "f.db"),
                                       "-d", "0"], stderr=subprocess.PIPE, text=True)
            said = [tracer.stderr.readline()]
            while said[-1] and "tracing until" not in said[-1]:
                said.append(tracer.stderr.readline())
            if not said[-1]:
                raise RuntimeError("giltrace attach did not start: %s" % "".join(said))
        p.stdin.write("go\n")
        p.stdin.flush()
        result = p.stdout.readline()
        if tracer:
            tracer.send_signal(signal.SIGINT)
            err = tracer.communicate(timeout=120)[1]
            if tracer.returncode != 0:
                raise RuntimeError("giltrace attach failed: %s" % err)
        p.stdin.close()
        p.wait(timeout=120)
    finally:
        for q in (p, tracer):
            if q and q.poll() is None:
                q.kill()
                q.wait()
        if ring_dir:
            shutil.rmtree(ring_dir)
    return float(result.split("=")[1])


def main():
    python = find_python()
    work = tempfile.mkdtemp(prefix="giltrace-bench-attach-")
    try:
        fresh, cycles = (1, 2) if QUICK else (7, 30)
        first, first_d, later, later_d, solo = pauses(python, work, fresh, cycles)
    except Refused as e:
        print("SKIP: giltrace attach is not allowed to use ptrace here: %s" % e)
        return SKIP
    print("interpreter: %s; pauses in ms (interquartile ranges)" % python)
    print("  first attach, 3 threads (%d targets): %s; its detach: %s" % (fresh, spread(first, 2), spread(first_d, 2)))
    print("  later attaches (%d): %s; their detaches: %s" % (len(later), spread(later, 2), spread(later_d, 2)))
    print("  one CPU-bound thread, never blocked (%d): %s" % (len(solo), spread(solo, 2)))
    report("target's pause per attach, first (loads the library), median", statistics.median(first), "ms", "<= 5 ms")
    report("target's pause per attach, later, median", statistics.median(later), "ms", "<= 5 ms")
    report("target's pause per attach, one CPU-bound thread, median", statistics.median(solo), "ms", "<= 5 ms")
    report("target's pause per detach, median", statistics.median(later_d + first_d), "ms", "<= 5 ms")

    runs, rounds = (1, 50000) if QUICK else (9, 2000000)
    ns = {"untraced": [], "preload": [], "attach": []}
    for _ in range(runs):
        for mode in ns:
            ns[mode].append(fake_round(mode, rounds, work))
    base = statistics.median(ns["untraced"])
    print("fake CPython drop+take round (%d runs each, interleaved): untraced %.1f ns, LD_PRELOAD %.1f ns, attached "
          "%.1f ns" % (runs, base, statistics.median(ns["preload"]), statistics.median(ns["attach"])))
    report("recording cost per GIL event, LD_PRELOAD", (statistics.median(ns["preload"]) - base) / 2, "ns",
           "<= 25 ns")
    report("recording cost per GIL event, attached", (statistics.median(ns["attach"]) - base) / 2, "ns",
           "<= 25 ns, as LD_PRELOAD")
    shutil.rmtree(work)
    return 0


sys.exit(main())
