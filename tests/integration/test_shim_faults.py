#!/usr/bin/env python3
"""The shim under faults that must not harm the traced program nor lose
data silently (issue 12), each case on a real interpreter:

  vfork          a subprocess whose exec fails in a vfork child (CPython
                 3.10+) does not make the child dump, end or unlink its
                 parent's trace (env-only)

usage: test_shim_faults.py CASE GILTRACE SHIM
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gilcheck  # noqa: E402
import pythons  # noqa: E402

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
check = gilcheck.check


def program(name):
    return os.path.join(HERE, "programs", name)


def python_3_10_plus():
    python = pythons.first_of(["3.12", "3.13", "3.11", "3.10", "debian-3.11"])
    if python is None:
        raise gilcheck.Skip("no Python 3.10+ found (pyenv 3.10-3.13 or Debian's 3.11)")
    return python


def env_only(shim, work, **extra):
    """The environment of an env-only run writing work/out/gil-%p.db, rings
    in work/rings."""
    os.makedirs(os.path.join(work, "out"), exist_ok=True)
    rings = os.path.join(work, "rings")
    os.makedirs(rings, mode=0o700, exist_ok=True)
    env = dict(os.environ, LD_PRELOAD=shim, GILTRACE_OUTPUT=os.path.join(work, "out", "gil-%p.db"),
               GILTRACE_RING_DIR=rings)
    env.update(extra)
    return env


def case_vfork(giltrace, shim, work):
    python = python_3_10_plus()
    env = env_only(shim, work)
    p = subprocess.run([python, program("vfork_failed_exec.py")], env=env, capture_output=True, text=True,
                       timeout=300)
    check(p.returncode == 0, "the program exited %d: %s" % (p.returncode, p.stderr))
    pid = int(p.stdout.split()[-1])
    dbs = sorted(os.listdir(os.path.join(work, "out")))
    check(dbs == ["gil-%d.db" % pid], "expected only the parent's gil-%d.db, found %s" % (pid, dbs))
    db = sqlite3.connect(os.path.join(work, "out", dbs[0]))
    names = sorted(n for (n,) in db.execute("SELECT name FROM threads WHERE pid = ? AND name LIKE '%-_'", (pid,)))
    rows = db.execute("SELECT pid FROM processes").fetchall()
    events = db.execute("SELECT count(*) FROM events").fetchone()[0]
    db.close()
    check(rows == [(pid,)], "processes %s, expected only pid %d" % (rows, pid))
    check(names == ["after-0", "after-1", "before-0", "before-1"],
          "the threads of both phases should be in the trace, found %s" % names)
    check(os.listdir(os.path.join(work, "rings")) == [], "a ring was left behind: %s"
          % os.listdir(os.path.join(work, "rings")))
    return "one trace, the parent's (pid %d), with both phases' threads (%s), %d events" % (pid, ", ".join(names),
                                                                                        events)


CASES = {
    "vfork": case_vfork,
}


def main():
    case, giltrace, shim = sys.argv[1], sys.argv[2], sys.argv[3]
    work = tempfile.mkdtemp(prefix="giltrace-fault-%s-" % case)
    try:
        note = CASES[case](giltrace, shim, work)
    except gilcheck.Skip as e:
        print("SKIP: %s" % e)
        shutil.rmtree(work, ignore_errors=True)
        return SKIP
    except gilcheck.CheckFailed as e:
        print("FAIL  %s: %s (kept %s)" % (case, e, work))
        return 1
    print("ok    %s: %s" % (case, note))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
