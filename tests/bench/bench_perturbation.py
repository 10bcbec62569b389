#!/usr/bin/env python3
"""Does the program feel the tracer? The workloads of programs/perturb.py
(the echo convoy beside N CPU threads, the sleep(0) storm with T threads, two
CPU-bound threads, an I/O thread's round-trip latency beside N CPU threads)
run untraced, under `giltrace run` and env-only (LD_PRELOAD +
GILTRACE_OUTPUT), the three modes alternating in a rotating order, RUNS times
each. Only the programs' own figures are compared. For each workload it
prints the median of the untraced runs and, per traced mode, the ratio of
medians traced/untraced with a bootstrap 95% interval (goal: 0.97-1.03).
N and T go 1, 2, 4, 8, ... up to the machine's cores.

It runs from a build tree (meson passes GILTRACE, GILTRACE_SHIM) or from a
folder carried to another machine with no compiler (pass the paths):
  bench_perturbation.py [--quick] [--runs N] [--levels 4,8,16] [--only convoy,storm]
                        [--stacks | --py-stacks] [--giltrace PATH] [--shim PATH] [--python PATH] [--json FILE]
"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "programs", "perturb.py")
MODES = ("untraced", "run", "env")


def find_python():
    sys.path.insert(0, HERE)
    from benchlib import find_python as find
    return find()


def levels_for(cores):
    out, n = [], 1
    while n <= cores:
        out.append(n)
        n *= 2
    if out[-1] != cores:
        out.append(cores)
    return out


def workloads(levels, only, quick):
    """(name, program args, figure names) for every workload to measure."""
    scale = 4 if quick else 1
    out = []
    if "convoy" in only:
        for n in levels:
            out.append(("convoy N=%d" % n, ["convoy", str(n), str(max(4, 64 // n // scale))], ["seconds"]))
    if "storm" in only:
        for t in levels:
            out.append(("storm T=%d" % t, ["storm", str(t), str(max(500, 20000 // t // scale))], ["seconds"]))
    if "cpu2" in only:
        out.append(("two CPU threads", ["cpu2", "2", str(4000000 // scale)], ["seconds"]))
    if "latency" in only:
        n = max(1, levels[-1] // 2)
        out.append(("I/O latency beside N=%d" % n, ["latency", str(n), str(max(20, 400 // n // scale))],
                    ["p50_us", "p99_us"]))
    return out


def run_once(args, mode, work, opts):
    env = dict(os.environ)
    cmd = [opts.python, PROGRAM] + args
    out_dir = tempfile.mkdtemp(prefix="pert-", dir=work)
    if mode == "run":
        cmd = [opts.giltrace, "run", "-q", "-f", "-o", os.path.join(out_dir, "t.db")] + \
              (["--stacks"] if opts.stacks else []) + (["--py-stacks"] if opts.py_stacks else []) + ["--"] + cmd
    elif mode == "env":
        env.update(LD_PRELOAD=opts.shim, GILTRACE_OUTPUT=os.path.join(out_dir, "gil-%p.db"),
                   GILTRACE_STACKS="1" if opts.stacks else "0", GILTRACE_PYSTACKS="1" if opts.py_stacks else "0")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    shutil.rmtree(out_dir, ignore_errors=True)
    m = re.search(r"^result (.*)$", proc.stdout, re.M)
    if proc.returncode != 0 or not m:
        raise SystemExit("bench_perturbation: %s (%s) failed, exit %d:\n%s%s"
                         % (" ".join(args), mode, proc.returncode, proc.stdout, proc.stderr))
    if proc.stderr.strip():
        print("  note: %s (%s) said on stderr: %s" % (" ".join(args), mode, proc.stderr.strip().splitlines()[-1]))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", m.group(1))}


def median_ratio_interval(traced, plain, rng, resamples=2000):
    """Median(traced)/median(plain) and its bootstrap 95% interval."""
    ratio = statistics.median(traced) / statistics.median(plain)
    boots = []
    for _ in range(resamples):
        t = [rng.choice(traced) for _ in traced]
        p = [rng.choice(plain) for _ in plain]
        boots.append(statistics.median(t) / statistics.median(p))
    boots.sort()
    return ratio, boots[int(0.025 * resamples)], boots[int(0.975 * resamples) - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 runs, smaller workloads (keeps the bench working)")
    ap.add_argument("--runs", type=int, help="runs per mode and workload (default 7; --quick: 2)")
    ap.add_argument("--levels", help="N and T values, comma-separated (default 1, 2, 4, ... cores)")
    ap.add_argument("--only", default="convoy,storm,cpu2,latency", help="workloads to run")
    stacks = ap.add_mutually_exclusive_group()
    stacks.add_argument("--stacks", action="store_true",
                        help="traced runs record native and Python stacks (--stacks / GILTRACE_STACKS=1)")
    stacks.add_argument("--py-stacks", action="store_true",
                        help="traced runs record Python stacks only (--py-stacks / GILTRACE_PYSTACKS=1)")
    ap.add_argument("--giltrace", default=os.environ.get("GILTRACE"))
    ap.add_argument("--shim", default=os.environ.get("GILTRACE_SHIM"))
    ap.add_argument("--python", default=None)
    ap.add_argument("--json", help="write every sample here")
    opts = ap.parse_args()
    if not opts.giltrace or not opts.shim:
        raise SystemExit("bench_perturbation: give --giltrace and --shim (or GILTRACE, GILTRACE_SHIM)")
    opts.python = opts.python or find_python()
    runs = opts.runs or (2 if opts.quick else 7)
    cores = len(os.sched_getaffinity(0))
    levels = [int(x) for x in opts.levels.split(",")] if opts.levels else levels_for(cores)
    if opts.quick and not opts.levels:
        levels = levels[:2]
    version = subprocess.run([opts.python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print("perturbation: %d cores, Python %s (%s), %d runs per mode, modes alternating%s"
          % (cores, version, opts.python, runs,
             ", stacks on" if opts.stacks else ", Python stacks on" if opts.py_stacks else ""))
    print("ratio = median traced / median untraced of the program's own figure, [bootstrap 95% interval];"
          " goal 0.97-1.03")
    print("%-26s %-10s %14s   %-24s %-24s" % ("workload", "figure", "untraced", "giltrace run", "env-only"))
    work = tempfile.mkdtemp(prefix="giltrace-perturb-")
    rng = random.Random(20261204)
    results = []
    started = time.time()
    try:
        for name, args, figures in workloads(levels, opts.only.split(","), opts.quick):
            samples = {m: [] for m in MODES}
            for i in range(runs):
                order = MODES[i % 3:] + MODES[:i % 3]
                for mode in order:
                    samples[mode].append(run_once(args, mode, work, opts))
            for fig in figures:
                plain = [s[fig] for s in samples["untraced"]]
                cells = []
                for mode in ("run", "env"):
                    r, lo, hi = median_ratio_interval([s[fig] for s in samples[mode]], plain, rng)
                    cells.append("%.3f [%.3f, %.3f]" % (r, lo, hi))
                    results.append({"workload": name, "figure": fig, "mode": mode, "ratio": r, "lo": lo, "hi": hi})
                unit = "s" if fig == "seconds" else "us"
                print("%-26s %-10s %12.4g %s   %-24s %-24s" % (name, fig, statistics.median(plain), unit,
                                                             cells[0], cells[1]))
                sys.stdout.flush()
            results.append({"workload": name, "samples": samples})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("perturbation: done in %.0f s" % (time.time() - started))
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"cores": cores, "python": version, "runs": runs, "stacks": opts.stacks, "py_stacks": opts.py_stacks,
                       "results": results}, f, indent=1)


main()
