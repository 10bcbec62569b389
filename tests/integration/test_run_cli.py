#!/usr/bin/env python3
"""`giltrace run` and env-only mode as a user meets them: exit statuses,
refusals before the command starts, --help, bad values, and the one line
printed for a Python whose GIL cannot be identified.

usage: test_run_cli.py GILTRACE SHIM FAKE_CPYTHON_PLAIN
"""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gilcheck import Background, Cases, CheckFailed, Lines, one_line, run_cli as run  # noqa: E402

case = Cases()


def main():
    giltrace, shim, fake = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="giltrace-cli-")
    out = os.path.join(work, "t.db")
    marker = os.path.join(work, "ran")
    touch = ["sh", "-c", "touch %s" % marker]

    p = run([giltrace, "run", "--help"])
    case("run --help", p.returncode == 0 and "usage: giltrace run" in p.stdout and "--buffer-mb" in p.stdout)
    p = run([giltrace, "--help"])
    case("--help", p.returncode == 0 and "run" in p.stdout)
    p = run([giltrace, "frobnicate"])
    case("unknown command", p.returncode == 2 and one_line(p.stderr), p.stderr.strip())
    p = run([giltrace, "run"])
    case("no command", p.returncode == 2 and one_line(p.stderr) and "no command" in p.stderr, p.stderr.strip())
    p = run([giltrace, "run", "--bogus", "--", "true"])
    case("unknown option", p.returncode == 2 and one_line(p.stderr), p.stderr.strip())
    for bad in ["0", "abc", "99999999"]:
        p = run([giltrace, "run", "--buffer-mb", bad, "--", "true"])
        case("--buffer-mb %s refused" % bad, p.returncode == 2 and one_line(p.stderr), p.stderr.strip())

    for opt, bad in [("--ring-mode", "circular"), ("--trigger-wait-ms", "0"), ("--trigger-wait-ms", "soon")]:
        p = run([giltrace, "run", opt, bad, "--", "true"])
        case("%s %s refused" % (opt, bad), p.returncode == 2 and one_line(p.stderr), p.stderr.strip())
    for cmd in (["recover"], ["recover", "/nonexistent"], ["snapshot"], ["snapshot", "notapid"]):
        p = run([giltrace] + cmd)
        case("giltrace %s: one line, non-zero" % " ".join(cmd), p.returncode != 0 and one_line(p.stderr),
             p.stderr.strip())

    p = run([giltrace, "run", "-q", "-o", out, "--", "sh", "-c", "exit 7"])
    case("exit status is the command's", p.returncode == 7, str(p.returncode))
    p = run([giltrace, "run", "-q", "-f", "-o", out, "--", "sh", "-c", "kill -TERM $$"])
    case("killed by a signal: 128+N", p.returncode == 128 + 15, str(p.returncode))
    p = run([giltrace, "run", "-f", "-o", out, "--", "sh", "-c", "echo hi"])
    db = sqlite3.connect(out)
    procs = db.execute("SELECT count(*) FROM processes").fetchone()[0]
    db.close()
    case("a non-Python command gives an empty, valid trace", p.returncode == 0 and procs == 0 and
         "no Python process" in p.stderr and p.stdout == "hi\n", p.stderr.strip())

    os.remove(out)
    p = run([giltrace, "run", "-o", out, "--", "/nonexistent/program"])
    case("command not found: 127, no trace", p.returncode == 127 and not os.path.exists(out) and
         one_line(p.stderr), p.stderr.strip())
    left = [f for f in os.listdir(work)]
    case("nothing left behind after a failed start", left == [], str(left))

    p = run([giltrace, "run", "-o", "/nonexistent/dir/t.db", "--"] + touch)
    case("unwritable output refused before the command runs",
         p.returncode != 0 and not os.path.exists(marker) and one_line(p.stderr), p.stderr.strip())
    open(out, "w").write("precious")
    p = run([giltrace, "run", "-o", out, "--"] + touch)
    case("existing output refused without --force",
         p.returncode != 0 and not os.path.exists(marker) and open(out).read() == "precious" and
         "--force" in p.stderr, p.stderr.strip())
    p = run([giltrace, "run", "-q", "-f", "-o", out, "--"] + touch)
    case("--force replaces it", p.returncode == 0 and os.path.exists(marker) and
         open(out, "rb").read(16) == b"SQLite format 3\0")
    p = run([giltrace, "run", "-o", work, "--", "true"])
    case("a directory as output refused", p.returncode != 0 and one_line(p.stderr), p.stderr.strip())

    # A process that claims to be CPython but whose GIL cannot be identified.
    p = run([giltrace, "run", "-f", "-o", out, "--", fake, "unidentifiable", "2", "20000"])
    lines = [l for l in p.stderr.splitlines() if "not identified" in l]
    case("unidentifiable GIL: runs untraced with one line", p.returncode == 0 and len(lines) == 1 and
         "switch_number=" in p.stdout, p.stderr.strip())
    db = sqlite3.connect(out)
    row = db.execute("SELECT gil, (SELECT count(*) FROM events) FROM processes").fetchone()
    db.close()
    case("...and its trace says gil 'unknown', no events", row == ("unknown", 0), str(row))
    p = run([giltrace, "run", "-f", "-o", out, "--", fake, "cpu", "2", "20000", "1000"])
    case("the same program with a CPython-shaped GIL is traced",
         p.returncode == 0 and "not identified" not in p.stderr and "GIL: condvar" in p.stderr, p.stderr.strip())

    # A command that leaves a detached process running: giltrace says which
    # pid it waits for; a second Ctrl-C stops the wait and the trace is written.
    # (The lines are read as they come: no sleeping.)
    detached = os.path.join(work, "detached.db")
    left_pid = None
    with Background([giltrace, "run", "-o", detached, "--", "sh", "-c",
                     "setsid sleep 600 </dev/null >/dev/null 2>&1 & echo $!; exec %s cpu 2 2000 1000 >/dev/null"
                     % fake], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as g:
        try:
            left_pid = int(g.p.stdout.readline())
            err = Lines(g.p.stderr, "giltrace run")
            line = err.get()
            while line and "waiting for" not in line:
                line = err.get()
            case("the wait for a detached process names its pid", "pid %d " % left_pid in line, line.strip())
            g.p.send_signal(signal.SIGINT)
            line = err.get()
            case("a first Ctrl-C asks for a second", "once more" in line, line.strip())
            g.p.send_signal(signal.SIGINT)
            rest = "".join(iter(err.get, ""))
            status = g.p.wait(timeout=60)
            case("a second Ctrl-C stops waiting: the trace is written, the status is the command's",
                 status == 0 and os.path.exists(detached) and "stopped waiting" in rest and
                 "GIL events from 1 process" in rest, rest.strip())
        except CheckFailed as e:
            case("the wait for a detached process", False, str(e))
        finally:
            if left_pid:
                os.kill(left_pid, signal.SIGKILL)

    # A process of the run that becomes another user, with giltrace and its
    # shim in a private folder (a build under a 0700 home): the loader can
    # still open the shim, so nothing lands in the program's stderr.
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        print("note: the change-user case needs root and setpriv (util-linux); not checked")
    else:
        private = tempfile.mkdtemp(prefix="giltrace-private-")  # mode 0700
        for f in (giltrace, shim):
            shutil.copy(f, private)
        base = tempfile.mkdtemp(prefix="giltrace-base-")  # where the run's folders go: open to all
        os.chmod(base, 0o755)
        p = run([os.path.join(private, os.path.basename(giltrace)), "run", "-q", "--ring-dir", base,
                 "-o", os.path.join(work, "su.db"),
                 "--", setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", "id -u"])
        shared = os.listdir(base)
        case("a child that becomes nobody under a private build: no loader error in its stderr, no copy left",
             p.returncode == 0 and p.stdout == "65534\n" and p.stderr == "" and shared == [],
             (p.stderr.strip() + " " + " ".join(shared)).strip())
        shutil.rmtree(private, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)

    # Env-only mode.
    ring_dir = tempfile.mkdtemp(prefix="giltrace-envrings-")
    env = {"LD_PRELOAD": shim, "GILTRACE_OUTPUT": os.path.join(work, "env-%p.db"), "GILTRACE_RING_DIR": ring_dir}
    p = run([fake, "cpu", "2", "20000", "1000"], env)
    dbs = [f for f in os.listdir(work) if f.startswith("env-")]
    ok = p.returncode == 0 and p.stderr == "" and len(dbs) == 1 and os.listdir(ring_dir) == []
    if ok:
        db = sqlite3.connect(os.path.join(work, dbs[0]))
        pid, n = db.execute("SELECT pid, (SELECT count(*) FROM events) FROM processes").fetchone()
        db.close()
        ok = dbs[0] == "env-%d.db" % pid and n > 0
    case("env-only mode writes the process's own trace at exit and removes its ring", ok, p.stderr + str(dbs))
    plain = run([fake, "cpu", "1", "1000", "1000"])
    for var, value in [("GILTRACE_BUFFER_MB", "lots"), ("GILTRACE_OUTPUT", "/tmp/x-%z.db"),
                       ("GILTRACE_RING_DIR", "/"), ("GILTRACE_RING_MODE", "sideways"),
                       ("GILTRACE_TRIGGER_WAIT_MS", "100")]:
        bad = dict(env)
        bad[var] = value
        p = run([fake, "cpu", "1", "1000", "1000"], bad)
        case("bad %s: one line, program unharmed" % var,
             p.returncode == plain.returncode == 0 and p.stdout.startswith("switch_number=") and one_line(p.stderr) and
             var in p.stderr, p.stderr.strip())

    if case.failures == 0:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(ring_dir, ignore_errors=True)
    return 1 if case.failures else 0


if __name__ == "__main__":
    sys.exit(main())
