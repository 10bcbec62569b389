#!/usr/bin/env python3
"""Every Python process of a tree is traced, with the right pid and parent:
a fork from a non-main thread, a fork that execs Python, multiprocessing with
spawn and forkserver; a subprocess that is not Python leaves no row; nothing
deadlocks (the run has a deadline).

usage: test_process_tree.py GILTRACE
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    giltrace = sys.argv[1]
    failures = 0
    ran = 0
    for spec in ("3.12", "3.13", "debian-3.11"):
        python, version = pythons.find(spec)
        if python is None:
            print("SKIP  %s: %s" % (spec, version))
            continue
        ran += 1
        work = tempfile.mkdtemp(prefix="giltrace-tree-")
        db = os.path.join(work, "tree.db")
        try:
            p = subprocess.run([giltrace, "run", "-q", "-o", db, "--", python, "-W", "ignore",
                                os.path.join(HERE, "programs", "process_tree.py")],
                               capture_output=True, text=True, timeout=240)
        except subprocess.TimeoutExpired:
            print("FAIL  %s: the traced process tree did not finish in 240 s (a deadlock?)" % spec)
            failures += 1
            continue
        if p.returncode != 0:
            print("FAIL  %s: exit %d: %s" % (spec, p.returncode, p.stderr.strip()[-500:]))
            failures += 1
            continue
        made = json.loads(p.stdout.strip().splitlines()[-1])
        con = sqlite3.connect(db)
        rows = {pid: (ppid, exe, argv, n) for pid, ppid, exe, argv, n in con.execute(
            "SELECT pid, ppid, exe, argv, (SELECT count(*) FROM events e WHERE e.pid = p.pid) FROM processes p")}
        con.close()
        main_pid = made["main"]
        expect = {made["thread_fork"]: main_pid, made["exec_child"]: main_pid}
        for pid, ppid in made["spawn"]:
            expect[pid] = main_pid
        forkserver_parents = {ppid for _, ppid in made["forkserver"]}
        for pid, ppid in made["forkserver"]:
            expect[pid] = ppid
        problems = []
        for pid, ppid in sorted(expect.items()):
            if pid not in rows:
                problems.append("no row for pid %d" % pid)
            elif rows[pid][0] != ppid:
                problems.append("pid %d has ppid %d, not %d" % (pid, rows[pid][0], ppid))
        for fs in forkserver_parents:
            if fs not in rows or rows[fs][0] != main_pid:
                problems.append("the forkserver %d should be a traced child of %d" % (fs, main_pid))
        if made["exec_child"] in rows and "-c" not in (rows[made["exec_child"]][2] or ""):
            problems.append("the exec'd child's row should describe the new image (argv with -c)")
        shells = [pid for pid, r in rows.items() if r[1] and r[1].endswith("/sh")]
        if shells:
            problems.append("a non-Python subprocess has rows: %s" % shells)
        if made["thread_fork"] in rows and rows[made["thread_fork"]][3] == 0:
            problems.append("the child forked from a thread recorded no events")
        if problems:
            failures += 1
            print("FAIL  %s: %s" % (spec, "; ".join(problems)))
        else:
            print("ok    %s: %d processes, every pid and parent right (fork from a thread, fork+exec, spawn, "
                  "forkserver); no row for sh" % (spec, len(rows)))
            shutil.rmtree(work, ignore_errors=True)
    if ran == 0:
        print("SKIP: no Python 3.12, 3.13 or Debian 3.11 found")
        return SKIP
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
