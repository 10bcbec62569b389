#!/usr/bin/env python3
"""The shim under faults that must not harm the traced program nor lose
data silently (issue 12), each case on a real interpreter:

  vfork          a subprocess whose exec fails in a vfork child (CPython
                 3.10+) does not make the child dump, end or unlink its
                 parent's trace (env-only)
  fork-child-names  a fork child of a program that imported threading:
                 its main thread is named (CPython leaves the parent's tid
                 in the Thread's _native_id)
  exit-under-threads  env-only: the main thread calls libc's exit() without
                 the GIL while six threads still hand it over; in each of 8
                 runs the trace is cut at one moment for every thread: no
                 hold overlaps another
  shared-output  env-only GILTRACE_OUTPUT in a world-writable sticky
                 directory: the trace is a new 0600 file; a symlink planted
                 at its name is not followed, another user's planted file is
                 not written into, and one they hold locked is not waited
                 for; processes of one user sharing an output append to it
  ring-fs-full   the ring directory on a 1 MiB tmpfs (mounted in a private
                 mount namespace), many events: env-only and giltrace run
                 both exit 0 with the program's output, write a trace,
                 count and report the lost events, and one line names the
                 cause (the file system's free space)
  embedded-uwsgi  uWSGI's python3 plugin dlopens libpython after start:
                 giltrace run -- uwsgi --plugin python3 --threads 4, under a
                 bounded load, then SIGTERM (--master --die-on-term): every thread of
                 the embedded interpreter is recorded, no holds overlap
  squatted-ring-dir  /dev/shm/giltrace-UID taken by another user's
                 directory or a symlink: env-only tracing falls back to
                 $TMPDIR; with every base taken, one line names each

usage: test_shim_faults.py CASE GILTRACE SHIM
"""
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

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


def in_private_mounts(setup, cmd, env, timeout=300):
    """Run `cmd` in a mount namespace of its own after the shell lines
    `setup` (mounts there are seen by nobody else). Returns the
    CompletedProcess (text); Skip if this machine does not allow it."""
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs -o size=64k giltrace-probe /mnt"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise gilcheck.Skip("cannot make a private mount namespace with a tmpfs (unshare --mount, mount -t tmpfs: "
                            "needs root or CAP_SYS_ADMIN): %s" % probe.stderr.strip())
    script = "set -e\n%s\nexec \"$@\"" % setup
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"] + list(cmd),
                          env=env, capture_output=True, text=True, timeout=timeout)


def case_squatted_ring_dir(giltrace, shim, work):
    python = pythons.first_of(["3.12", "3.13", "3.11", "debian-3.11"])
    if python is None:
        raise gilcheck.Skip("no Python 3.11+ found")
    uid = os.geteuid()
    other = 65534 if uid != 65534 else 65533
    tmpdir = os.path.join(work, "tmp")
    os.mkdir(tmpdir)
    trap = os.path.join(work, "trap")
    os.mkdir(trap)
    os.chmod(trap, 0o777)
    notes = []
    squats = {
        "another user's directory": "mkdir -m 777 /dev/shm/giltrace-%d; chown %d /dev/shm/giltrace-%d"
                                    % (uid, other, uid),
        "a symlink": "ln -s %s /dev/shm/giltrace-%d" % (trap, uid),
    }
    for what, squat in squats.items():
        shutil.rmtree(os.path.join(work, "out"), ignore_errors=True)
        shutil.rmtree(os.path.join(tmpdir, "giltrace-%d" % uid), ignore_errors=True)
        env = env_only(shim, work, TMPDIR=tmpdir)
        del env["GILTRACE_RING_DIR"]
        p = in_private_mounts("mount -t tmpfs -o size=16m giltrace-shm /dev/shm\n" + squat,
                              [python, program("sleep0.py"), "200", "2"], env)
        check(p.returncode == 0 and p.stdout == "program finished normally\n",
              "%s: the program exited %d, stdout %r" % (what, p.returncode, p.stdout))
        check(p.stderr == "", "%s: the shim said something: %r" % (what, p.stderr))
        dbs = os.listdir(os.path.join(work, "out"))
        check(len(dbs) == 1, "%s: no trace written (%s)" % (what, dbs))
        ring_dir = os.path.join(tmpdir, "giltrace-%d" % uid)
        check(os.path.isdir(ring_dir) and os.stat(ring_dir).st_mode & 0o777 == 0o700,
              "%s: the ring directory %s was not made (mode 0700)" % (what, ring_dir))
        check(os.listdir(trap) == [], "%s: something was written through the symlink: %s" % (what, os.listdir(trap)))
        db = sqlite3.connect(os.path.join(work, "out", dbs[0]))
        events = db.execute("SELECT count(*) FROM events").fetchone()[0]
        db.close()
        check(events > 400, "%s: only %d events" % (what, events))
        notes.append("%s: traced through $TMPDIR (%d events)" % (what, events))

    # Every base taken: one line that says what each gave.
    taken = "".join("mkdir -m 777 %s/giltrace-%d; chown %d %s/giltrace-%d\n" % (b, uid, other, b, uid)
                    for b in ("/dev/shm", tmpdir, "/tmp"))
    # The program and the shim (with the writer module beside it) are copied
    # out of the source and build trees, which may lie under the /tmp that
    # this case mounts over.
    sleep0 = os.path.join(work, "sleep0.py")
    shutil.copy(program("sleep0.py"), sleep0)
    copied = os.path.join(work, "lib")
    os.mkdir(copied)
    for name in ("libgiltrace.so", "libgiltrace-writer.so"):
        shutil.copy(os.path.join(os.path.dirname(shim), name), copied)
    env = env_only(os.path.join(copied, "libgiltrace.so"), work, TMPDIR=tmpdir)
    del env["GILTRACE_RING_DIR"]
    shutil.rmtree(os.path.join(tmpdir, "giltrace-%d" % uid), ignore_errors=True)
    p = in_private_mounts("mount -t tmpfs -o size=16m giltrace-shm /dev/shm\n"
                          "mount -t tmpfs -o size=16m giltrace-tmp /tmp\n" + taken,
                          [python, sleep0, "10", "1"], env)
    check(p.returncode == 0 and p.stdout == "program finished normally\n",
          "all taken: the program exited %d, stdout %r" % (p.returncode, p.stdout))
    line = p.stderr.strip()
    named = all(("%s/giltrace-%d" % (b, uid)) in line for b in ("/dev/shm", tmpdir, "/tmp"))
    check(gilcheck.one_line(p.stderr) and named and "running untraced" in line,
          "all taken: expected one line naming each directory tried, got %r" % p.stderr)
    notes.append("all taken: %r" % line)
    return "; ".join(notes)


def case_fork_child_names(giltrace, shim, work):
    python = pythons.first_of(["3.12", "3.13", "3.11", "3.10", "3.9", "3.8", "debian-3.11"])
    if python is None:
        raise gilcheck.Skip("no Python 3.8+ found (threads have native ids from 3.8)")
    t = gilcheck.trace(python, [program("fork_child_names.py")], work, "fork")
    child = int(t.stdout.split()[-1])
    names = dict(t.q("SELECT tid, name FROM threads WHERE pid = ?", child))
    t.close()
    check(names.get(child) == "MainThread", "the child's main thread %d is named %r (threads: %s)"
          % (child, names.get(child), names))
    check(sorted(n for tid, n in names.items() if tid != child) == ["child-0", "child-1"],
          "the child's other threads: %s" % names)
    return "child %d: %s" % (child, ", ".join("%d %s" % kv for kv in sorted(names.items())))


def overlapping_holds(db):
    return db.execute("""SELECT count(*) FROM (
        SELECT start_ns, max(end_ns) OVER (PARTITION BY pid, gil ORDER BY start_ns, end_ns
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before_end
        FROM holds) WHERE start_ns < before_end""").fetchone()[0]


def case_exit_under_threads(giltrace, shim, work):
    python = pythons.first_of(["3.12", "3.13", "3.11", "debian-3.11"])
    if python is None:
        raise gilcheck.Skip("no Python 3.11+ found")
    env = env_only(shim, work)
    figures = []
    for run in range(8):
        p = subprocess.run([python, program("exit_under_threads.py"), "6", "0.5"], env=env, capture_output=True,
                           text=True, timeout=300)
        check(p.returncode == 0, "run %d: the program exited %d: %s" % (run, p.returncode, p.stderr))
        pid = int(p.stdout.split()[0])
        path = os.path.join(work, "out", "gil-%d.db" % pid)
        check(os.path.exists(path), "run %d: no trace (%s)" % (run, p.stderr.strip()))
        db = sqlite3.connect(path)
        switchers = db.execute("SELECT count(DISTINCT tid) FROM holds JOIN threads USING (pid, tid) "
                               "WHERE name LIKE 'switcher-%'").fetchone()[0]
        holds = db.execute("SELECT count(*) FROM holds").fetchone()[0]
        overlaps = overlapping_holds(db)
        db.close()
        figures.append((holds, overlaps))
        check(switchers == 6, "run %d: holds of %d of the 6 switching threads" % (run, switchers))
    check(all(o == 0 for _, o in figures), "overlapping holds per run (holds, overlapping): %s" % figures)
    return "8 runs, holds per run %s, 0 overlapping" % [h for h, _ in figures]


def run_after_planting(cmd, env, plant):
    """Run cmd (exec'd by a shell that first tells us its pid), calling
    plant(pid) before the program starts. Returns (status, stdout, stderr)."""
    p = subprocess.Popen(["sh", "-c", 'echo $$; read go; exec "$@"', "sh"] + cmd, env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid = int(p.stdout.readline())
    plant(pid)
    out, err = p.communicate("go\n", timeout=300)
    return p.returncode, out, err


def case_shared_output(giltrace, shim, work):
    python = pythons.first_of(["3.12", "3.13", "3.11", "debian-3.11"])
    if python is None:
        raise gilcheck.Skip("no Python 3.11+ found")
    if os.geteuid() != 0:
        raise gilcheck.Skip("planting another user's files needs root (chown)")
    other = 65534
    shared = os.path.join(work, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o1777)
    trap = os.path.join(work, "trap")
    os.mkdir(trap)
    os.chmod(trap, 0o777)
    env = env_only(shim, work, GILTRACE_OUTPUT=os.path.join(shared, "gil-%p.db"))
    cmd = [python, program("sleep0.py"), "100", "2"]
    normal = "program finished normally\n"
    notes = []

    def target(pid):
        return os.path.join(shared, "gil-%d.db" % pid)

    # Nothing planted: a new trace, mode 0600, no temporary file left.
    status, out, err = run_after_planting(cmd, env, lambda pid: None)
    made = [f for f in os.listdir(shared)]
    check(status == 0 and out == normal and err == "", "plain: exit %d, %r, %r" % (status, out, err))
    check(len(made) == 1 and made[0].startswith("gil-") and made[0].endswith(".db"), "plain: files %s" % made)
    mode = os.stat(os.path.join(shared, made[0])).st_mode & 0o777
    check(mode == 0o600, "plain: the trace has mode %o, not 600" % mode)
    notes.append("new trace mode %o" % mode)

    # A symlink to a file in the attacker's directory.
    loot = os.path.join(trap, "loot.db")
    status, out, err = run_after_planting(cmd, env, lambda pid: os.symlink(loot, target(pid)))
    check(status == 0 and out == normal, "symlink: exit %d, %r" % (status, out))
    check(not os.path.exists(loot), "symlink: the trace was written through the planted symlink into %s" % loot)
    check(gilcheck.one_line(err) and "symbolic link" in err and "ring kept at" in err,
          "symlink: expected one line saying it is a symlink, got %r" % err)
    notes.append("symlink: %r" % err.strip())

    # Another user's empty file.
    planted = []

    def plant_file(pid):
        planted.append(target(pid))
        with open(target(pid), "w"):
            pass
        os.chown(target(pid), other, other)
        os.chmod(target(pid), 0o666)
    status, out, err = run_after_planting(cmd, env, plant_file)
    check(status == 0 and out == normal, "planted file: exit %d, %r" % (status, out))
    size = os.path.getsize(planted[0])
    check(size == 0, "planted file: another user's file was written into (%d bytes)" % size)
    check(gilcheck.one_line(err) and "another user" in err, "planted file: got %r" % err)
    notes.append("planted file: %r" % err.strip())

    # Another user's database, held locked by them until the program is done.
    locked = {}

    def plant_locked(pid):
        path = target(pid)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("CREATE TABLE t(x)")
        db.execute("BEGIN EXCLUSIVE")
        db.execute("INSERT INTO t VALUES (1)")
        os.chown(path, other, other)
        locked["db"] = db
    started = time.monotonic()
    status, out, err = run_after_planting(cmd, env, plant_locked)
    took = time.monotonic() - started
    locked["db"].execute("ROLLBACK")
    locked["db"].close()
    check(status == 0 and out == normal, "locked file: exit %d, %r" % (status, out))
    check(gilcheck.one_line(err) and "another user" in err and "locked" not in err,
          "locked file: expected a refusal without waiting for the lock, got %r" % err)
    notes.append("locked file: refused while still locked (run took %.1f s)" % took)

    # Two processes of this user with one output (no %p): both in it.
    shared_env = dict(env, GILTRACE_OUTPUT=os.path.join(shared, "together.db"))
    for _ in range(2):
        p = subprocess.run(cmd, env=shared_env, capture_output=True, text=True, timeout=300)
        check(p.returncode == 0 and p.stderr == "", "together: exit %d, %r" % (p.returncode, p.stderr))
    db = sqlite3.connect(os.path.join(shared, "together.db"))
    n = db.execute("SELECT count(*) FROM processes").fetchone()[0]
    db.close()
    check(n == 2, "together: %d processes in the shared output, not 2" % n)
    leftovers = [f for f in os.listdir(shared) if ".tmp-" in f]
    check(leftovers == [], "temporary files left: %s" % leftovers)
    notes.append("two processes appended to one output")
    return "; ".join(notes)


def case_ring_fs_full(giltrace, shim, work):
    python = pythons.first_of(["3.12", "3.13", "3.11", "debian-3.11"])
    if python is None:
        raise gilcheck.Skip("no Python 3.11+ found")
    small = os.path.join(work, "small")
    os.mkdir(small)
    mount = "mount -t tmpfs -o size=1m,mode=0700 giltrace-small %s" % small
    cmd = [python, program("sleep0.py"), "20000", "6"]
    normal = "program finished normally\n"
    notes = []

    def lost_of(path):
        db = sqlite3.connect(path)
        lost, events = db.execute("SELECT sum(lost_events), (SELECT count(*) FROM events) FROM processes").fetchone()
        db.close()
        return lost, events

    env = env_only(shim, work, GILTRACE_RING_DIR=small)
    p = in_private_mounts(mount, cmd, env)
    check(p.returncode == 0 and p.stdout == normal, "env-only: exit %d, stdout %r, stderr %r"
          % (p.returncode, p.stdout, p.stderr))
    dbs = os.listdir(os.path.join(work, "out"))
    check(len(dbs) == 1, "env-only: no trace written (%s); stderr %r" % (dbs, p.stderr))
    lost, events = lost_of(os.path.join(work, "out", dbs[0]))
    check(lost > 0 and events > 0, "env-only: %d events, %d lost" % (events, lost))
    lines = p.stderr.strip().splitlines()
    check(len(lines) == 1 and "MiB free" in lines[0] and small in lines[0],
          "env-only: expected one line naming the file system's free space, got %r" % p.stderr)
    notes.append("env-only: %d events, %d lost; %r" % (events, lost, lines[0]))

    db = os.path.join(work, "run.db")
    p = in_private_mounts(mount, [giltrace, "run", "-q", "--ring-dir", small, "-o", db, "--"] + cmd,
                          dict(os.environ))
    check(p.returncode == 0 and p.stdout == normal, "giltrace run: exit %d, stdout %r, stderr %r"
          % (p.returncode, p.stdout, p.stderr))
    check(os.path.exists(db), "giltrace run: no trace; stderr %r" % p.stderr)
    lost, events = lost_of(db)
    check(lost > 0 and events > 0, "giltrace run: %d events, %d lost" % (events, lost))
    check("MiB free" in p.stderr and "lost" in p.stderr,
          "giltrace run: the cause and the losses should be reported, got %r" % p.stderr)
    notes.append("giltrace run: %d events, %d lost; %r" % (events, lost, p.stderr.strip()))
    return "; ".join(notes)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, deadline_s=60):
    """Poll until something accepts on the port (the server's own
    readiness), or the server died, or the deadline passed."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return True
        except OSError:
            time.sleep(0.05)  # polling the server's readiness, not waiting for an outcome
    return False


def load(port, threads, each):
    """`threads` clients each making `each` requests; returns the count that succeeded."""
    done = []

    def client():
        for _ in range(each):
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=60).read()
                done.append(1)
            except OSError:
                pass
    ts = [threading.Thread(target=client) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return len(done)


def case_embedded_uwsgi(giltrace, shim, work):
    uwsgi = shutil.which("uwsgi")
    plugin = "/usr/lib/uwsgi/plugins/python3_plugin.so"
    if not uwsgi or not os.path.exists(plugin):
        raise gilcheck.Skip("needs Debian's uwsgi-core and uwsgi-plugin-python3 (script/bootstrap installs them)")
    port = free_port()
    db = os.path.join(work, "uwsgi.db")
    cmd = [giltrace, "run", "-q", "-o", db, "--", uwsgi, "--plugin", "python3", "--http-socket",
           "127.0.0.1:%d" % port, "--wsgi-file", program("wsgi_app.py"), "--threads", "4", "--master", "--die-on-term",
           "--disable-logging"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=work)
    try:
        check(wait_listening(port, proc), "uwsgi did not listen on port %d" % port)
        served = load(port, 8, 50)
    finally:
        proc.send_signal(signal.SIGTERM)  # giltrace run passes it on to uwsgi
        out, err = proc.communicate(timeout=120)
    check(served == 400, "%d of 400 requests served" % served)
    check(proc.returncode == 0, "giltrace run exited %d: %s" % (proc.returncode, err[-2000:]))
    check(os.path.exists(db), "no trace written: %s" % err[-2000:])
    t = gilcheck.Trace(db, out, err, proc.returncode)
    # The master and its worker (a fork child): the worker served the requests.
    procs = t.q("SELECT pid, python_version, gil FROM processes")
    check(len(procs) == 2 and all(p[1] for p in procs), "processes (master and worker): %s" % procs)
    pid = t.one("SELECT pid FROM holds GROUP BY pid ORDER BY count(*) DESC LIMIT 1")
    procs = [p for p in procs if p[0] == pid]
    threads = t.q("SELECT tid, count(*) FROM holds WHERE pid = ? GROUP BY tid", pid)
    acquires = t.one("SELECT count(*) FROM events WHERE pid = ? AND kind = 'ACQUIRE'", pid)
    overlaps = t.overlapping_holds()
    lost = t.one("SELECT sum(lost_events) FROM processes")
    t.close()
    check(len(threads) == 4, "holds by %d threads, expected the 4 of --threads 4: %s" % (len(threads), threads))
    check(acquires >= 400, "only %d ACQUIRE events for 400 requests" % acquires)
    check(overlaps == 0, "%d overlapping holds" % overlaps)
    check(lost == 0, "%d events lost" % lost)
    return "uwsgi worker %d, Python %s, gil %s: 400 requests, holds by %d threads %s, %d ACQUIRE, 0 overlapping" % (
        pid, procs[0][1].split()[0], procs[0][2], len(threads), [n for _, n in threads], acquires)


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
    "embedded-uwsgi": case_embedded_uwsgi,
    "ring-fs-full": case_ring_fs_full,
    "shared-output": case_shared_output,
    "exit-under-threads": case_exit_under_threads,
    "fork-child-names": case_fork_child_names,
    "squatted-ring-dir": case_squatted_ring_dir,
}


def main():
    case, giltrace, shim = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    # Not under /tmp: some cases mount a tmpfs of their own over /tmp.
    work = tempfile.mkdtemp(prefix="giltrace-fault-%s-" % case, dir="/var/tmp" if os.path.isdir("/var/tmp") else None)
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
