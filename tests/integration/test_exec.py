#!/usr/bin/env python3
"""A traced process that execs (issue 12, F6): each image of the pid is a
process row of its own, with its own threads, events and figures, under
giltrace run and in env-only mode, on a real interpreter
(programs/exec_images.py):

  run-python   os.execv to Python again, with --stacks: two process rows for
               the pid, each image with its own threads; per-image GIL held
               <= 100% of its run; each image ended cleanly; the native and
               Python stacks of each image's events are its own (ids not
               shared with the other image)
  run-true     os.execv to /bin/true: the Python image ended cleanly (its
               ring got its end before the exec), held <= 100%
  run-fail     an exec of a nonexistent path fails (ENOENT), the program
               goes on, then execs Python: the first image holds both of
               its phases' threads, the second image its own
  env-python, env-true, env-fail
               the same in env-only mode (env-python with GILTRACE_STACKS=1): the pid's GILTRACE_OUTPUT holds
               every image (the pre-exec one included), and the ring
               directory is left empty
  env-bare     env-only, os.execve of /bin/true with an empty environment
               (no LD_PRELOAD: nothing will write the pre-exec image): one
               line names the ring left for giltrace recover, which
               converts it into that image

usage: test_exec.py CASE GILTRACE SHIM
"""
import json
import os
import shutil
import sqlite3
import sys
import tempfile

import gilcheck
import pythons
from gilcheck import check, program

SKIP = 77


def python_3():
    python = pythons.first_of(["3.12", "3.13", "3.11", "3.10", "debian-3.11", "3.9", "3.8"])
    if python is None:
        raise gilcheck.Skip("no Python 3.8+ found (pyenv 3.8-3.13 or Debian's 3.11)")
    return python


def run_program(cmd, env, mode):
    code, out, err = gilcheck.run_watched(cmd, 300, env)
    check(code == 0, "%s exited %d; stderr:\n%s" % (" ".join(cmd), code, err))
    pid = int(out.split()[0])
    if mode == "fail":
        check("exec failed 2" in out, "the failed exec did not raise ENOENT in the program: %r" % out)
    return pid, out, err


# Expected images of the pid: (last argv word, thread names) per image.
EXPECTED = {
    "python": [("python", ["first-0", "first-1"]), ("second", ["second-0", "second-1"])],
    "true": [("true", ["first-0", "first-1"])],
    "bare": [("bare", ["first-0", "first-1"])],
    "fail": [("fail", ["after-0", "after-1", "first-0", "first-1"]), ("second", ["second-0", "second-1"])],
}


def check_images(db_path, pid, mode):
    """The trace at db_path holds the expected images of `pid`, each with its
    own threads and figures. Returns a summary."""
    db = sqlite3.connect(db_path)
    rows = db.execute("SELECT argv, start_ns, end_ns, exited FROM process WHERE pid = ? ORDER BY start_ns",
                      (pid,)).fetchall()
    events = db.execute("SELECT count(*) FROM events WHERE pid = ?", (pid,)).fetchone()[0]
    db.close()
    want = EXPECTED[mode]
    got = [json.loads(r[0])[-1] for r in rows]
    check(got == [w[0] for w in want], "process rows of pid %d: argv ends %s, expected %s" % (pid, got,
                                                                                            [w[0] for w in want]))
    for i, (argv, start, end, exited) in enumerate(rows):
        check(exited == 1, "image %d (%s) of pid %d did not end cleanly (exited = %s)" % (i, argv, pid, exited))
        if i:
            check(start >= rows[i - 1][2], "image %d starts before image %d ends" % (i, i - 1))
    doc = gilcheck.report(db_path)
    gilcheck.check_report_invariants(doc)
    procs = [p for p in doc["processes"] if p["pid"] == pid]
    check(len(procs) == len(want), "the report shows %d processes for pid %d, expected %d"
          % (len(procs), pid, len(want)))
    shown = 0
    figures = []
    for p, (_, names) in zip(procs, want):
        workers = sorted(t["name"] for t in p["threads"] if t["name"] and "-" in t["name"])
        check(workers == names, "image %s of pid %d: threads %s, expected %s" % (p["argv"][-1], pid, workers, names))
        for g in p["gils"]:
            check(g["held_ns"] <= p["duration_ns"], "image %s: GIL %d held %.1f%% of its run"
                  % (p["argv"][-1], g["gil"], 100.0 * g["held_ns"] / max(p["duration_ns"], 1)))
            figures.append("%.1f%%" % (100.0 * g["held_ns"] / max(p["duration_ns"], 1)))
        shown += p["events"]
    check(shown == events, "the images' reports show %d events, the trace holds %d" % (shown, events))
    note = "pid %d: %d images (%s), GIL held %s of each run, %d events" % (pid, len(rows), ", ".join(got),
                                                                          " / ".join(figures), events)
    if mode == "python":
        note += "; " + check_stacks_per_image(db_path, pid, rows)
    return note


def check_stacks_per_image(db_path, pid, rows):
    """Each image's events point at stacks (native and Python) that exist and
    that no other image's events point at."""
    db = sqlite3.connect(db_path)
    found = []
    for view, column, table in (("event_stacks", "stack_id", "stacks"), ("py_event_stacks", "py_stack_id",
                                                                         "py_stacks")):
        ids = [set(r[0] for r in db.execute("SELECT %s FROM %s WHERE pid = ? AND ts_ns BETWEEN ? AND ?"
                                            % (column, view), (pid, start, end)))
               for _, start, end, _ in rows]
        known = set(r[0] for r in db.execute("SELECT %s FROM %s WHERE pid = ?" % (column, table), (pid,)))
        check(all(ids), "%s: an image has no event with a stack (%s)" % (view, [len(i) for i in ids]))
        check(not (ids[0] & ids[1]), "%s: both images' events point at stacks %s" % (view, sorted(ids[0] & ids[1])))
        check(ids[0] | ids[1] <= known, "%s: stacks %s are not in %s" % (view, sorted((ids[0] | ids[1]) - known),
                                                                          table))
        found.append("%s %d + %d" % (table, len(ids[0]), len(ids[1])))
    db.close()
    return ", ".join(found)


def case_run(giltrace, shim, work, mode):
    out = os.path.join(work, "trace.db")
    stacks = ["--stacks"] if mode == "python" else []
    pid, _, _ = run_program([giltrace, "run", "-q", "-o", out] + stacks + ["--", python_3(), program("exec_images.py"),
                                                                          mode], None, mode)
    return check_images(out, pid, mode)


def case_env(giltrace, shim, work, mode):
    rings = os.path.join(work, "rings")
    os.makedirs(rings, mode=0o700)
    os.makedirs(os.path.join(work, "out"))
    env = dict(os.environ, LD_PRELOAD=shim, GILTRACE_OUTPUT=os.path.join(work, "out", "gil-%p.db"),
               GILTRACE_RING_DIR=rings)
    if mode == "python":
        env["GILTRACE_STACKS"] = "1"
    pid, _, err = run_program([python_3(), program("exec_images.py"), mode], env, mode)
    check("giltrace:" not in err, "the shim said something: %s" % err)
    dbs = sorted(os.listdir(os.path.join(work, "out")))
    check(dbs == ["gil-%d.db" % pid], "expected gil-%d.db, found %s" % (pid, dbs))
    check(os.listdir(rings) == [], "left in the ring directory: %s" % os.listdir(rings))
    return check_images(os.path.join(work, "out", dbs[0]), pid, mode)


def case_env_bare(giltrace, shim, work):
    rings = os.path.join(work, "rings")
    os.makedirs(rings, mode=0o700)
    os.makedirs(os.path.join(work, "out"))
    env = dict(os.environ, LD_PRELOAD=shim, GILTRACE_OUTPUT=os.path.join(work, "out", "gil-%p.db"),
               GILTRACE_RING_DIR=rings)
    pid, _, err = run_program([python_3(), program("exec_images.py"), "bare"], env, "bare")
    left = os.listdir(rings)
    check(left == ["%d.exec.ring" % pid], "the ring directory holds %s, expected %d.exec.ring" % (left, pid))
    lines = [l for l in err.splitlines() if l.startswith("giltrace:")]
    ring = os.path.join(rings, left[0])
    check(len(lines) == 1 and ring in lines[0] and "giltrace recover" in lines[0],
          "expected one line naming %s and giltrace recover, got %r" % (ring, err))
    out = os.path.join(work, "recovered.db")
    code, _, rerr = gilcheck.run_watched([giltrace, "recover", "-o", out, rings], 300)
    check(code == 0, "giltrace recover exited %d: %s" % (code, rerr))
    return "one line (%s); %s" % (lines[0], check_images(out, pid, "bare"))


def main():
    case, giltrace, shim = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    how, mode = case.split("-", 1)
    gilcheck.GILTRACE = giltrace
    work = tempfile.mkdtemp(prefix="giltrace-exec-%s-" % case)
    try:
        if case == "env-bare":
            note = case_env_bare(giltrace, shim, work)
        else:
            note = (case_run if how == "run" else case_env)(giltrace, shim, work, mode)
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
