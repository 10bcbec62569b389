#!/usr/bin/env python3
"""What the shim adds, measured on the fake CPython (tests/fake_cpython)
with libgiltrace.so preloaded exactly as `giltrace run` does it, traced and
untraced runs interleaved, medians:
  - per GIL event: one thread dropping and taking the GIL (2 events a round,
    8 interposed calls), fresh ring memory as in a real append-mode run;
    and the same with --stacks (GILTRACE_STACKS=1: the RELEASE of each round
    carries its native stack), beside it;
  - per GIL event, *inside the GIL mutex*: the time from lock(M) returning
    to unlock(M), summed by the fake CPython itself (a RELEASE and an
    ACQUIRE a round), traced minus untraced — what every other thread
    waiting on M feels; with --stacks too;
  - the same inside-M figure in instructions, counted by callgrind over
    the fake's critical-section functions alone (fake_gil_inside_*), which
    no other load on the machine can move (skipped, saying so, without
    valgrind);
  - per ordinary mutex lock/unlock pair in a process whose GIL is known,
    and in one with 3 GILs (two own-GIL subinterpreters' heap GILs).

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


def fake_env(traced, stacks, env_extra):
    """The fake's environment, preloading the shim as `giltrace run` does when
    traced, and the ring directory made for it (None untraced)."""
    env = dict(os.environ)
    env.update(env_extra or {})
    ring_dir = None
    if traced:
        ring_dir = tempfile.mkdtemp(prefix="giltrace-bench-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        env.update(LD_PRELOAD=SHIM, GILTRACE_RUN_DIR=ring_dir, GILTRACE_STACKS="1" if stacks else "0")
    return env, ring_dir


def measure(args, traced, stacks=False, env_extra=None):
    env, ring_dir = fake_env(traced, stacks, env_extra)
    out = subprocess.run([FAKE] + args, capture_output=True, text=True, env=env, check=True).stdout
    if ring_dir:
        shutil.rmtree(ring_dir)
    return float(out.split("=")[1])


def compare(args, stacks=False, env_extra=None):
    plain, traced, with_stacks = [], [], []
    for _ in range(RUNS):
        plain.append(measure(args, False, env_extra=env_extra))
        traced.append(measure(args, True, env_extra=env_extra))
        if stacks:
            with_stacks.append(measure(args, True, True, env_extra=env_extra))
    if stacks:
        return statistics.median(plain), statistics.median(traced), statistics.median(with_stacks)
    return statistics.median(plain), statistics.median(traced)


def instructions(args, function, per, traced, stacks=False, env_extra=None):
    """Instructions run in `function` (callgrind) per `per`."""
    env, ring_dir = fake_env(traced, stacks, env_extra)
    with tempfile.TemporaryDirectory() as out:
        r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.path.join(out, "cg"),
                            "--toggle-collect=" + function, FAKE] + args,
                           capture_output=True, text=True, env=env)
    if ring_dir:
        shutil.rmtree(ring_dir)
    for line in r.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1]) / per
    raise SystemExit("bench_shim: callgrind printed no count:\n" + r.stderr)


def main():
    rounds = "50000" if QUICK else "2000000"
    plain, traced, stacked = compare(["uncontended", rounds], stacks=True)
    print("fake CPython drop+take round: %.1f ns untraced, %.1f ns traced, %.1f ns traced with --stacks (%d runs each)"
          % (plain, traced, stacked, RUNS))
    report("added cost per GIL event (via the wrappers)", (traced - plain) / 2, "ns", "<= 25 ns")
    report("added cost per GIL event with --stacks", (stacked - plain) / 2, "ns", "(none set)")
    report("  of which the RELEASE's stack", stacked - traced, "ns", "-")
    plain, traced, stacked = compare(["critical", rounds], stacks=True)
    print("time inside the GIL mutex per event: %.1f ns untraced, %.1f ns traced, %.1f ns with --stacks"
          % (plain, traced, stacked))
    report("added inside the GIL mutex per event", traced - plain, "ns", "<= 8 ns")
    report("added inside the GIL mutex per event with --stacks", stacked - plain, "ns", "<= 8 ns")
    valgrind = shutil.which("valgrind")
    if valgrind:
        rounds = 2000 if QUICK else 20000
        args = ["critical", str(rounds)]
        plain = instructions(args, "fake_gil_inside_*", 2 * rounds, False)
        traced = instructions(args, "fake_gil_inside_*", 2 * rounds, True)
        stacked = instructions(args, "fake_gil_inside_*", 2 * rounds, True, True)
        print("instructions inside the GIL mutex per event (callgrind): %.1f untraced, %.1f traced, %.1f with --stacks"
              % (plain, traced, stacked))
        report("added instructions inside the GIL mutex per event", traced - plain, "instr", "(none set)")
        report("added instructions inside the GIL mutex per event, --stacks", stacked - plain, "instr", "(none set)")
    else:
        print("SKIP instructions inside the GIL mutex: no valgrind on this machine")
    pairs = "200000" if QUICK else "50000000"
    for gils in (1, 3):
        plain, traced = compare(["mutex", pairs, str(gils)], env_extra={"FAKE_CPYTHON_VERSION": "3.12"})
        print("ordinary mutex lock+unlock, %d GIL%s: %.2f ns untraced, %.2f ns traced"
              % (gils, "" if gils == 1 else "s", plain, traced))
        report("added cost per non-GIL mutex lock/unlock pair, %d GIL%s" % (gils, "" if gils == 1 else "s"),
               traced - plain, "ns", "<= 2 ns")
        if valgrind:
            n = 2000 if QUICK else 200000
            env = {"FAKE_CPYTHON_VERSION": "3.12"}
            plain = instructions(["mutex", str(n), str(gils)], "fake_mutex_pairs", n, False, env_extra=env)
            traced = instructions(["mutex", str(n), str(gils)], "fake_mutex_pairs", n, True, env_extra=env)
            print("  instructions per pair (callgrind): %.1f untraced, %.1f traced" % (plain, traced))


main()
