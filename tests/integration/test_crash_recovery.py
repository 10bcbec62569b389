#!/usr/bin/env python3
"""Nothing recorded is lost when a traced process is killed: SIGKILL a
two-thread program halfway, and the trace holds at least as many of the
sleeping thread's GIL re-acquisitions as the program itself had counted (in
a file of its own) before it died — through `giltrace run`, which salvages
the rings of processes that died, and through env-only mode followed by
`giltrace recover`.

usage: test_crash_recovery.py GILTRACE SHIM
"""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "programs", "killed_midway.py")
WANT_SLEEPS = 200


def read_count(path):
    try:
        with open(path) as f:
            pid, done = f.read().split()
        return int(pid), int(done)
    except (OSError, ValueError):
        return None, 0


def run_until_midway_then_kill(cmd, count_file, env):
    """Start cmd, wait until the program has counted WANT_SLEEPS sleeps,
    SIGKILL the Python process, and return (launcher status, pid, count)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    pid, done = None, 0
    while done < WANT_SLEEPS:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("FAIL: the program stopped or stalled before %d sleeps (%d)" % (WANT_SLEEPS, done))
        time.sleep(0.05)  # polling the program's own progress file, not waiting for an outcome
        pid, done = read_count(count_file)
    os.kill(pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, pid, read_count(count_file)[1], err.decode()


def reacquisitions(db_path, pid):
    db = sqlite3.connect(db_path)
    row = db.execute("SELECT count(*) FROM events WHERE pid = ? AND tid = ? AND kind = 'ACQUIRE'", (pid, pid)).fetchone()
    lost = db.execute("SELECT lost_events FROM processes WHERE pid = ?", (pid,)).fetchone()
    db.close()
    return row[0], lost[0] if lost else None


def main():
    giltrace, shim = sys.argv[1], sys.argv[2]
    python = pythons.first_of(["3.12", "debian-3.11"])
    if python is None:
        print("SKIP: no Python 3.12 or Debian 3.11 to run the victim")
        return SKIP
    work = tempfile.mkdtemp(prefix="giltrace-crash-")
    failures = 0

    count_file = os.path.join(work, "count")
    db = os.path.join(work, "run.db")
    status, pid, done, err = run_until_midway_then_kill([giltrace, "run", "-o", db, "--", python, PROGRAM, count_file],
                                                         count_file, dict(os.environ))
    got, lost = reacquisitions(db, pid) if os.path.exists(db) else (0, None)
    ok = status == 128 + signal.SIGKILL and got >= done and lost == 0
    print("%s  giltrace run: killed after %d sleeps; the trace has %d re-acquisitions by that thread; status %d; "
          "lost %s" % ("ok  " if ok else "FAIL", done, got, status, lost))
    failures += not ok

    ring_dir = os.path.join(work, "rings")
    os.mkdir(ring_dir, 0o700)
    count_file = os.path.join(work, "count-env")
    env = dict(os.environ, LD_PRELOAD=shim, GILTRACE_OUTPUT=os.path.join(work, "env-%p.db"), GILTRACE_RING_DIR=ring_dir)
    status, pid, done, err = run_until_midway_then_kill([python, PROGRAM, count_file], count_file, env)
    rings = os.listdir(ring_dir)
    modes = sorted("%o" % (os.stat(os.path.join(ring_dir, r)).st_mode & 0o777) for r in rings)
    print("%s  the ring file is private: mode %s" % ("ok  " if modes == ["600"] else "FAIL", modes))
    failures += modes != ["600"]
    db = os.path.join(work, "recovered.db")
    p = subprocess.run([giltrace, "recover", "-q", "-o", db, ring_dir], capture_output=True, text=True)
    got, lost = reacquisitions(db, pid) if p.returncode == 0 else (0, None)
    ok = rings == ["%d.ring" % pid] and p.returncode == 0 and got >= done and lost == 0
    print("%s  env-only + giltrace recover: killed after %d sleeps; ring left: %s; recovered %d re-acquisitions%s"
          % ("ok  " if ok else "FAIL", done, rings, got, "" if p.returncode == 0 else "; " + p.stderr.strip()))
    failures += not ok
    if failures == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("kept %s" % work)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
