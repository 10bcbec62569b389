#!/usr/bin/env python3
"""`giltrace top PID`, driven in tmux (send-keys, capture-pane) against a
traced program with named threads (programs/top_target.py), checked against
`giltrace report` of the same run.

The program's three named threads do their work and end; then it blocks on
stdin holding no GIL. From then on their figures are final, and top's
whole-run shares of them must be the report's: the same intervals under the
same rules (formats/trace_intervals.h), over the same life (first event to
last; none of them has an interval open). What may differ: top shows one
decimal (0.05 points of rounding), and it stamps events with the clock map of
the poll that read them while the report uses the map of the whole ring (a
few microseconds over a run of a second or so): TOLERANCE below is 0.2
points. The last-second shares of threads that ended must fall to 0.0 once
a second has passed. Convoy episodes are counted by the same rule: equal.

usage: test_top.py GILTRACE
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gilcheck  # noqa: E402
import pythons  # noqa: E402

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = 0.2  # percentage points, see above
DEADLINE = 90    # seconds for any awaited condition; passing it fails the test
WORKERS = ("spin-a", "spin-b", "napper")
ROW = re.compile(r"^\s*(\d+) (\S+)\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)\s+([\d.]+)\s+"
                 r"(.+?)\s{2,}(YES )?(\d+)\s*$")

cases = gilcheck.Cases()


class Tmux:
    """A tmux server of its own, with one session running `cmd`."""

    def __init__(self, cmd, n=0):
        self.sock = "giltrace-top-test-%d-%d" % (os.getpid(), n)
        self.run("new-session", "-d", "-s", "top", "-x", "150", "-y", "50", " ".join(cmd))

    def run(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), capture_output=True, text=True, timeout=30)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", "top").stdout

    def keys(self, *keys):
        self.run("send-keys", "-t", "top", *keys)

    def alive(self):
        return self.run("has-session", "-t", "top").returncode == 0

    def kill(self):
        self.run("kill-server")


def rows(screen):
    """{name: (held1s, held, wait1s, wait, longest, convoy flag, episodes)} and the names in screen order."""
    out, order = {}, []
    for line in screen.splitlines():
        m = ROW.match(line)
        if m:
            out[m.group(2)] = tuple(float(m.group(i)) for i in (3, 4, 5, 6)) + (m.group(9), bool(m.group(10)),
                                                                                   int(m.group(11)))
            order.append(m.group(2))
    return out, order


def await_screen(tmux, what, cond):
    """Poll the pane until cond(screen) holds; fail after DEADLINE seconds."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        s = tmux.screen()
        if cond(s):
            return s
        time.sleep(0.1)  # polling a condition, with a deadline that fails
    raise gilcheck.CheckFailed("top's screen never showed %s within %d s; it shows:\n%s" % (what, DEADLINE, s))


def check_top(giltrace, pid):
    tmux = Tmux([giltrace, "top", str(pid)])
    try:
        s = await_screen(tmux, "the three named threads", lambda s: all(n in rows(s)[0] for n in WORKERS))
        cases("top shows the named threads", True, ", ".join(rows(s)[1]))
        cases("default sort is held1s", "*HELD1s" in s)
        s = await_screen(tmux, "last-second shares of 0.0 for the ended threads",
                         lambda s: all(rows(s)[0].get(n, (1,))[0] == 0.0 and rows(s)[0][n][2] == 0.0 for n in WORKERS))
        final, _ = rows(s)
        cases("ended threads: last-second held and waited 0.0%", True)

        tmux.keys("n")
        s = await_screen(tmux, "the name sort", lambda s: "*NAME" in s)
        order = rows(s)[1]
        cases("key n sorts by name", order == sorted(order), " ".join(order))
        tmux.keys("W")
        s = await_screen(tmux, "the waited sort", lambda s: "*WAIT " in s)
        r, order = rows(s)
        waits = [r[n][3] for n in order]
        cases("key W sorts by waited share, most first", waits == sorted(waits, reverse=True),
              " ".join("%s=%.1f" % (n, r[n][3]) for n in order))
        sites = "spin (top_target.py:" in s or "nap (top_target.py:" in s
        cases("wait sites show a Python frame of the program", sites, "" if sites else "screen:\n" + s)
        tmux.keys("q")
        end = time.monotonic() + DEADLINE
        while tmux.alive() and time.monotonic() < end:
            time.sleep(0.1)  # polling for the exit, with a deadline
        cases("key q quits", not tmux.alive())
        return final
    finally:
        tmux.kill()


def compare(final, doc):
    threads = {t["name"]: t for t in doc["processes"][0]["threads"]}
    for n in WORKERS:
        t = threads.get(n)
        if not t:
            cases("report has thread %s" % n, False)
            continue
        held, waited = 100 * t["held_share"], 100 * t["waited_share"]
        top = final[n]
        cases("%s held %% of its life: top %.1f, report %.2f" % (n, top[1], held), abs(top[1] - held) <= TOLERANCE)
        cases("%s waited %% of its life: top %.1f, report %.2f" % (n, top[3], waited),
              abs(top[3] - waited) <= TOLERANCE)
        c = t["convoy"]
        cases("%s convoy episodes: top %d%s, report %d%s" % (n, top[6], " YES" if top[5] else "", c["episodes"],
                                                             " flagged" if c["flagged"] else ""),
              top[6] == c["episodes"] and top[5] == c["flagged"])


def check_exit(giltrace, pid, run):
    """A process that exits under top: its frame says so and stays."""
    tmux = Tmux([giltrace, "top", str(pid)], 1)
    try:
        await_screen(tmux, "the named threads", lambda s: all(n in rows(s)[0] for n in WORKERS))
        run.stdin.write("exit\n")
        run.stdin.flush()
        s = await_screen(tmux, "the process's exit", lambda s: "(exited)" in s)
        cases("the process's exit shows, with its threads", all(n in rows(s)[0] for n in WORKERS))
        tmux.keys("q")
        end = time.monotonic() + DEADLINE
        while tmux.alive() and time.monotonic() < end:
            time.sleep(0.1)  # polling for the exit, with a deadline
        cases("q quits after the exit", not tmux.alive())
    finally:
        tmux.kill()


def check_errors(giltrace):
    r = gilcheck.run_cli([giltrace, "top", "--sort", "bogus", "1"])
    cases("--sort bogus: usage error, one line", r.returncode == 2 and gilcheck.one_line(r.stderr), r.stderr.strip())
    r = gilcheck.run_cli([giltrace, "top", str(os.getpid())])
    cases("an untraced pid: exit 1, one line", r.returncode == 1 and gilcheck.one_line(r.stderr), r.stderr.strip())


def check_attach(python):
    """top --attach --once on an untraced CPython: a frame of its two
    computing threads, then it detaches and the program runs on, unharmed,
    with no ring directory left behind."""
    base = os.environ.get("TMPDIR", "/tmp") if not os.path.isdir("/dev/shm") else "/dev/shm"
    before = set(d for d in os.listdir(base) if d.startswith("giltrace-attach-"))
    with gilcheck.Target(python, "cpu") as target:
        r = gilcheck.run_cli([gilcheck.GILTRACE, "top", "--attach", "--py-stacks", "--once", str(target.pid)])
        refused = gilcheck.ptrace_refused(r.stderr)
        if refused:
            print("n/a   --attach: this machine refuses ptrace (%s)" % refused)
            return
        # attached threads have no names: count rows, not names
        busy = [m for m in map(ROW.match, r.stdout.splitlines()) if m and float(m.group(4)) > 0]
        cases("--attach --once: exit 0 and rows of the computing threads", r.returncode == 0 and len(busy) >= 2,
              "" if r.returncode == 0 and len(busy) >= 2 else r.stdout + r.stderr)
        cases("--attach --py-stacks: a Python release site", "(attach_target.py:" in r.stdout)
        tmux = Tmux([gilcheck.GILTRACE, "top", "--attach", str(target.pid)], 2)
        try:
            # every thread's last second a whole second of its life: then
            # they share one denominator, and one GIL is held by one at a time
            s = await_screen(tmux, "two computing threads traced for 2 s or more under --attach",
                             lambda s: re.search(r"traced for [2-9]\.\d+ s|traced for \d\d+\.\d+ s", s) and
                             sum(1 for m in map(ROW.match, s.splitlines()) if m and float(m.group(4)) > 0) >= 2)
            busy = [m for m in map(ROW.match, s.splitlines()) if m]
            held = sum(float(m.group(3)) for m in busy)
            cases("one GIL: last-second held shares sum to at most 100%% (%.1f)" % held,
                  held <= 100.0 + 0.05 * len(busy))
            tmux.keys("q")
            end = time.monotonic() + DEADLINE
            while tmux.alive() and time.monotonic() < end:
                time.sleep(0.1)  # polling for the exit, with a deadline
            cases("--attach: q quits", not tmux.alive())
        finally:
            tmux.kill()
        r = gilcheck.run_cli([gilcheck.GILTRACE, "top", "--once", str(target.pid)])
        cases("--attach: detached (no ring mapped in the program any more)",
              r.returncode == 1 and "not being traced" in r.stderr, r.stderr.strip())
        out, code = target.finish()
        cases("the program ran on after the detach", code == 0 and "bad=0" in out, out.strip())
    after = set(d for d in os.listdir(base) if d.startswith("giltrace-attach-"))
    cases("no ring directory left behind", after <= before, " ".join(sorted(after - before)))


def main():
    giltrace = gilcheck.GILTRACE = sys.argv[1]
    if not shutil.which("tmux"):
        print("SKIP: tmux is not installed (script/bootstrap installs it); giltrace top was not tested")
        return SKIP
    python = pythons.first_of(["3.12", "debian-3.11"])
    if python is None:
        print("SKIP: no Python 3.12 or Debian 3.11 to run")
        return SKIP
    work = tempfile.mkdtemp(prefix="giltrace-top-")
    out = os.path.join(work, "top.db")
    run = subprocess.Popen([giltrace, "run", "-q", "-f", "--stacks", "-o", out, "--", python,
                            os.path.join(HERE, "programs", "top_target.py")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        lines = gilcheck.Lines(run.stdout, "the traced program")
        line = lines.get(timeout=DEADLINE)
        gilcheck.check(line.strip() == "idle", "the program did not finish its work: %r" % line)
        pid = pythons.traced_child(run.pid)
        gilcheck.check(pid is not None, "no traced child of giltrace run")
        once = gilcheck.run_cli([giltrace, "top", "--once", str(pid)])
        cases("--once prints a frame with the named threads",
              once.returncode == 0 and all(n in rows(once.stdout)[0] for n in WORKERS))
        if cases.failures:
            print(once.stdout + once.stderr)
        final = check_top(giltrace, pid)
        check_errors(giltrace)
        check_attach(python)
        check_exit(giltrace, pid, run)
        gilcheck.check(run.wait(timeout=DEADLINE) == 0, "giltrace run failed")
        compare(final, gilcheck.report(out))
    except gilcheck.CheckFailed as e:
        cases("top", False, str(e))
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    if cases.failures:
        print("trace kept in %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if cases.failures else 0


if __name__ == "__main__":
    sys.exit(main())
