#!/usr/bin/env python3
"""giltrace attach as a user meets it when things are not simple: usage
errors; the one-line refusals (no such process, not a CPython, a static
program, the shim already preloaded, already traced by a debugger, already
attached, no ptrace permission); a target that exits while traced or while
being attached; and giltrace SIGKILLed at each step of attaching, tracing
and detaching, which the target must survive unharmed, after which the
next attach takes over.

usage: test_attach_cli.py GILTRACE SHIM STATIC_SLEEPER
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
import gilcheck  # noqa: E402
from gilcheck import Attached, Background, CheckFailed, Target, ptrace_refused  # noqa: E402

SKIP = 77
failures = 0


def case(name, ok, detail=""):
    global failures
    print("%s  %s%s" % ("ok  " if ok else "FAIL", name, (": " + detail) if detail else ""), flush=True)
    failures += 0 if ok else 1


def one_line(stderr):
    return len(stderr.strip().splitlines()) == 1


def run(cmd, env_extra=None, timeout=120):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def wait_for_sleep(pid):
    """Until the process is blocked in a system call (it has started)."""
    for _ in range(3000):
        try:
            with open("/proc/%d/syscall" % pid) as f:
                if f.read().split()[0] not in ("running", "-1"):
                    return
        except (OSError, IndexError):
            pass
        time.sleep(0.001)


def events(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        con.close()


def usage_cases(giltrace):
    p = run([giltrace, "attach", "--help"])
    case("attach --help", p.returncode == 0 and "usage: giltrace attach PID" in p.stdout and "--duration" in p.stdout)
    p = run([giltrace, "--help"])
    case("attach in giltrace --help", p.returncode == 0 and "attach PID" in p.stdout)
    for args, what in [([], "no process id"), (["abc"], "not a process id"), (["1", "-d", "soon"], "--duration"),
                       (["1", "--bogus"], "unknown option"), (["1", "2"], "one process id")]:
        p = run([giltrace, "attach"] + args)
        case("usage error: %s" % what, p.returncode == 2 and one_line(p.stderr) and what in p.stderr,
             p.stderr.strip())


def refusal(name, giltrace, pid, expect, work, env_extra=None):
    out = os.path.join(work, "refused.db")
    p = run([giltrace, "attach", str(pid), "-o", out], env_extra)
    case(name, p.returncode == 1 and one_line(p.stderr) and expect in p.stderr and not os.path.exists(out),
         p.stderr.strip())


def refusal_cases(giltrace, shim, static_sleeper, py, work):
    gone = subprocess.Popen(["true"])
    gone.wait()
    refusal("no such process", giltrace, gone.pid, "no process %d" % gone.pid, work)
    with Background(["sleep", "60"]) as s:
        wait_for_sleep(s.pid)
        refusal("not a CPython", giltrace, s.pid, "is not a CPython", work)
    with Background([static_sleeper]) as s:
        wait_for_sleep(s.pid)
        refusal("statically linked", giltrace, s.pid, "is statically linked", work)
    ring_dir = tempfile.mkdtemp(prefix="giltrace-rings-", dir=work)
    env = dict(os.environ, LD_PRELOAD=shim, GILTRACE_RUN_DIR=ring_dir)
    with Background([py, "-c", "import time; time.sleep(60)"], env=env) as s:
        wait_for_sleep(s.pid)
        refusal("the shim already preloaded", giltrace, s.pid, "already runs with libgiltrace.so preloaded", work)
    with Background([py, "-c", "import time; time.sleep(60)"]) as s:
        wait_for_sleep(s.pid)
        # A debugger of our own: PTRACE_SEIZE from another process, then wait.
        seize = "import ctypes, time; assert ctypes.CDLL(None).ptrace(0x4206, %d, 0, 0) == 0; print('x', flush=True); " \
                "time.sleep(60)" % s.pid
        with Background([py, "-c", seize], stdout=subprocess.PIPE, text=True) as tracer:
            if tracer.p.stdout.readline().strip() == "x":
                refusal("already traced", giltrace, s.pid, "is already traced by process %d" % tracer.pid, work)
            else:
                case("already traced", False, "the helper could not ptrace the target")


def permission_case(giltrace, py, work):
    """A process that is not dumpable may only be traced with CAP_SYS_PTRACE:
    giltrace run without any capability must say so."""
    setpriv = shutil.which("setpriv")
    if not setpriv:
        print("n/a   no ptrace permission (setpriv is not installed)")
        return
    body = "import ctypes, time; ctypes.CDLL(None).prctl(4, 0, 0, 0, 0); print('x', flush=True); time.sleep(60)"
    with Background([py, "-c", body], stdout=subprocess.PIPE, text=True) as s:
        s.p.stdout.readline()
        out = os.path.join(work, "denied.db")
        p = run([setpriv, "--bounding-set", "-all", "--inh-caps", "-all", giltrace, "attach", str(s.pid), "-o", out])
        case("no ptrace permission: one line naming CAP_SYS_PTRACE",
             p.returncode == 1 and one_line(p.stderr) and "operation not permitted" in p.stderr and
             "CAP_SYS_PTRACE" in p.stderr and not os.path.exists(out), p.stderr.strip())


def already_attached_case(giltrace, py, work):
    with Target(py, "cpu") as target:
        with Attached(target.pid, os.path.join(work, "first.db")) as first:
            if not first.tracing:
                rc, err = first.stop()
                raise CheckFailed("attach failed: " + err.strip())
            refusal("already attached by another giltrace", giltrace, target.pid,
                    "is being traced by another giltrace attach (pid %d)" % first.p.pid, work)
            rc, err = first.stop()
            case("the first attach goes on and detaches", rc == 0 and "detached" in err, err.strip())
        out, trc = target.finish()
        case("the target finishes right", trc == 0 and "bad=0" in out, out.strip())


def exit_cases(giltrace, py, work):
    out = os.path.join(work, "exits.db")
    with Target(py, "sleeper") as target:
        with Attached(target.pid, out) as a:
            time.sleep(0.2)  # how long it is traced before it ends
            target.finish()
            rc, err = a.stop()
    case("target exits while traced: the trace is written", rc == 0 and "exited after" in err and events(out) > 0,
         err.strip().splitlines()[-1] if err.strip() else "")
    with Target(py, "sleeper") as target:
        with Attached(target.pid, out) as a:
            time.sleep(0.2)  # how long it is traced before it dies
            target.p.kill()
            target.p.wait()
            rc, err = a.stop()
    case("target killed while traced: the trace is written", rc == 0 and events(out) > 0, err.strip())
    with Target(py, "cpu") as target:
        a = subprocess.Popen([giltrace, "attach", str(target.pid), "-f", "-o", out], stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, GILTRACE_TEST_PAUSE_AT="stopped"))
        time.sleep(0.3)  # giltrace is inside its second-long pause (nothing depends on the exact moment)
        target.p.kill()
        err = a.communicate(timeout=60)[1]
    case("target killed while being attached: said in one line", a.returncode == 1 and one_line(err) and
         "exited during the attach" in err, err.strip())


def kill_cases(giltrace, py, work):
    """giltrace SIGKILLed at each step: the target carries on every time,
    and the next attach traces it (taking over a session left running)."""
    rings = tempfile.mkdtemp(prefix="giltrace-orphans-", dir=work)
    out = os.path.join(work, "killed.db")
    with Target(py, "cpu") as target:
        for point in ["stopped", "dlopen", "giltrace_attach_start", "tracing", "giltrace_attach_stop"]:
            p = run([giltrace, "attach", str(target.pid), "-f", "-o", out, "-d", "0.3", "--ring-dir", rings],
                    {"GILTRACE_TEST_DIE_AT": point})
            alive = target.p.poll() is None
            try:
                t, _ = target.mark()
                responsive = t > 0
            except CheckFailed:
                responsive = False
            with open("/proc/%d/maps" % target.pid) as f:
                loaded = "libgiltrace-attach.so" in f.read()
            case("giltrace killed at %s: the target carries on" % point,
                 p.returncode == -signal.SIGKILL and alive and responsive and loaded == (point != "stopped"),
                 "giltrace %s, target alive %s, responsive %s, library loaded %s" % (p.returncode, alive, responsive,
                                                                                     loaded))
        p = run([giltrace, "attach", str(target.pid), "-f", "-o", out, "-d", "0.5"])
        case("the next attach takes over and traces", p.returncode == 0 and events(out) > 0, p.stderr.strip())
        stdout, trc = target.finish()
        case("the target finishes right", trc == 0 and "bad=0" in stdout, stdout.strip())


def main():
    giltrace, shim, static_sleeper = sys.argv[1:4]
    gilcheck.GILTRACE = giltrace
    py = pythons.first_of(["3.11", "3.12", "3.13", "3.10", "3.9", "3.8", "3.7", "debian-3.11"])
    if py is None:
        print("SKIP: no Python 3.7+ on this machine")
        return SKIP
    work = tempfile.mkdtemp(prefix="giltrace-attach-cli-")
    try:
        with Background([py, "-c", "import time; time.sleep(60)"]) as s:
            wait_for_sleep(s.pid)
            p = run([giltrace, "attach", str(s.pid), "-q", "-o", os.path.join(work, "probe.db"), "-d", "0.01"])
            reason = ptrace_refused(p.stderr) if p.returncode else None
        usage_cases(giltrace)
        if reason:
            print("SKIP: giltrace attach is not allowed to use ptrace here: %s" % reason)
            return SKIP
        refusal_cases(giltrace, shim, static_sleeper, py, work)
        permission_case(giltrace, py, work)
        already_attached_case(giltrace, py, work)
        exit_cases(giltrace, py, work)
        kill_cases(giltrace, py, work)
    except CheckFailed as e:
        case("unexpected", False, str(e))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
