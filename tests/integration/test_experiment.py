#!/usr/bin/env python3
"""giltrace run --experiment (issue 17): the mode is opt-in and loudly
labelled (run summary, the trace's meta, giltrace report), bad specs are
refused in one line, env-only mode and attach refuse it, and under
priority-gil an I/O thread gets the GIL back after a voluntary release far
sooner than the switch interval, while without it (the control) it waits a
whole interval; switch-interval=io:MS gives that thread its own interval.
Figures come from each trace (giltrace report --json: the I/O thread's
median wait), never from timing the test. The program's output (a
checksum) is the same in every mode: scheduling changes, semantics don't.

usage: test_experiment.py GILTRACE [PYTHON]
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gilcheck import Cases, one_line, program, run_cli as run  # noqa: E402

case = Cases()
# A long interval, so that an OS that takes milliseconds to wake a thread
# (a loaded 2-CPU CI machine) cannot blur the difference the checks look at.
INTERVAL_MS = 100
ROUNDS = 40
BANNER = "*** EXPERIMENT "


def traced(giltrace, python, db, experiment):
    args = [giltrace, "run", "-f", "-o", db]
    if experiment:
        args += ["--experiment", experiment]
    return run(args + ["--", python, program("io_beside_cpu.py"), str(INTERVAL_MS), str(ROUNDS)])


def io_thread(giltrace, db):
    """The I/O thread's report (JSON), and the report's stderr."""
    p = run([giltrace, "report", "--json", db])
    doc = json.loads(p.stdout)
    threads = [t for proc in doc["processes"] for t in proc["threads"] if t.get("name") == "io"]
    return (threads[0] if threads else None), p.stderr


def median_wait_ms(t):
    return t["wait_latency_ns"]["p50"] / 1e6 if t and t["wait_latency_ns"]["count"] else None


def main():
    giltrace = sys.argv[1]
    python = sys.argv[2] if len(sys.argv) > 2 else sys.executable
    work = tempfile.mkdtemp(prefix="giltrace-experiment-")
    base, prio, knob = (os.path.join(work, n + ".db") for n in ("base", "prio", "knob"))

    p = run([giltrace, "run", "--help"])
    case("run --help tells of --experiment", "--experiment SPEC" in p.stdout and "priority-gil" in p.stdout)
    for spec in ["priority", "switch-interval=io", "switch-interval=io:10001", "cpu:1", ""]:
        p = run([giltrace, "run", "-o", os.path.join(work, "x.db"), "--experiment", spec, "--", "true"])
        case("--experiment %r refused in one line" % spec,
             p.returncode == 2 and one_line(p.stderr) and not os.path.exists(os.path.join(work, "x.db")),
             p.stderr.strip())
    p = run([giltrace, "attach", "--experiment", "priority-gil", "1"])
    case("attach refuses --experiment", p.returncode == 2 and one_line(p.stderr) and "run's alone" in p.stderr,
         p.stderr.strip())

    off = traced(giltrace, python, base, None)
    on = traced(giltrace, python, prio, "priority-gil")
    case("both runs traced", off.returncode == 0 and on.returncode == 0, off.stderr[-500:] + on.stderr[-500:])
    case("same program output", off.stdout == on.stdout and "rounds %d" % ROUNDS in on.stdout,
         "%r vs %r" % (off.stdout, on.stdout))
    case("summary labelled", BANNER + "priority-gil" in on.stderr and BANNER not in off.stderr)
    p = run(["sqlite3", prio, "SELECT value FROM meta WHERE key = 'experiment'"])
    q = run(["sqlite3", base, "SELECT count(*) FROM meta WHERE key = 'experiment'"])
    case("meta labelled", p.stdout.strip() == "priority-gil" and q.stdout.strip() == "0", p.stdout + q.stdout)
    p = run([giltrace, "report", prio])
    q = run([giltrace, "report", base])
    case("report labelled", p.stdout.startswith(BANNER + "priority-gil") and BANNER not in q.stdout)

    t_off, _ = io_thread(giltrace, base)
    t_on, err = io_thread(giltrace, prio)
    case("report --json labelled on stderr", BANNER + "priority-gil" in err)
    m_off, m_on = median_wait_ms(t_off), median_wait_ms(t_on)
    print("I/O thread's median GIL wait: %s ms without, %s ms under priority-gil (switch interval %d ms)"
          % (m_off, m_on, INTERVAL_MS))
    case("control: without the mode a wait lasts a switch interval",
         m_off is not None and m_off >= 0.9 * INTERVAL_MS, "%s ms" % m_off)
    case("under priority-gil the median wait is far below the interval",
         m_on is not None and m_on < INTERVAL_MS / 10.0, "%s ms" % m_on)

    kn = traced(giltrace, python, knob, "switch-interval=io:2")
    t_kn, _ = io_thread(giltrace, knob)
    m_kn = median_wait_ms(t_kn)
    print("I/O thread's median GIL wait under switch-interval=io:2: %s ms" % m_kn)
    case("switch-interval=io:2 gives the I/O thread a 2 ms interval (median wait at least 2 ms, far below %d ms)"
         % INTERVAL_MS, kn.returncode == 0 and m_kn is not None and 1.8 <= m_kn < INTERVAL_MS / 2.0,
         "median %s ms" % m_kn)

    env_db = os.path.join(work, "env.db")
    p = run([python, "-c", "print('hi')"], env_extra={
        "LD_PRELOAD": os.environ.get("GILTRACE_SHIM", ""), "GILTRACE_OUTPUT": env_db,
        "GILTRACE_EXPERIMENT": "priority-gil"}) if os.environ.get("GILTRACE_SHIM") else None
    if p is not None:
        case("env-only mode refuses GILTRACE_EXPERIMENT in one line and still traces",
             p.stdout == "hi\n" and "honoured only under giltrace run" in p.stderr and one_line(p.stderr)
             and os.path.exists(env_db), p.stderr.strip())
    if case.failures == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("traces kept in %s" % work)
    return 1 if case.failures else 0


if __name__ == "__main__":
    sys.exit(main())
