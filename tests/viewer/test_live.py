#!/usr/bin/env python3
"""test_live.py — `gilview --live PID` follows a running traced process:
headless screenshots of it taken a moment apart differ; in a real window
(under xvfb-run) its F12 screenshots show the window following the newest
events; once the process is gone, a new --live says so in one line.

usage: test_live.py GILVIEW GILTRACE
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
import pythons  # noqa: E402

CHURN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration", "programs",
                     "churn.py")


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def fail(why):
    print("FAIL: " + why)
    sys.exit(1)


def traced_python_pid(run):
    """The interpreter under `giltrace run` (its child), once it is there."""
    deadline = time.time() + 30
    while time.time() < deadline and run.poll() is None:
        pid = pythons.traced_child(run.pid)
        if pid:
            return pid
        time.sleep(0.1)  # polling for the child to exist
    fail("the traced program did not start")


def headless(gilview, pid, work):
    shots = []
    deadline = time.time() + 30
    while len(shots) < 2 and time.time() < deadline:
        out = os.path.join(work, "live%d.png" % len(shots))
        p = subprocess.run([gilview, "--live", str(pid), "--force", "--screenshot", out, "--size", "800x240"],
                           capture_output=True, text=True)
        if p.returncode == 0:
            with open(out, "rb") as f:
                data = f.read()
            if not shots or data != shots[-1]:
                shots.append(data)
        time.sleep(0.3)  # polling until the picture has changed
    if len(shots) < 2:
        fail("headless --live screenshots never changed while the process ran")
    print("ok    headless --live screenshots change as events arrive")


def inner(gilview, pid):
    import test_window_xvfb as xw
    x = xw.X()
    out = tempfile.mkdtemp(prefix="gilview-live-win-")
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    proc = subprocess.Popen([gilview, "--live", str(pid), "--size", "900x300", "--save-dir", out],
                            stdout=subprocess.PIPE, env=env)
    try:
        deadline = time.time() + 30
        pos = None
        while time.time() < deadline and pos is None:
            pos = x.find_window("gilview — live pid")
            time.sleep(0.1)  # polling for the window to be mapped
        pos = pos and x.enter("gilview — live pid", time.time() + 30)
        if pos is None:
            fail("no gilview window appeared")
        first = xw.snapshot(x, proc)
        later = first
        # a refresh takes only the new events (bench_live: a few ms), but
        # the window opens from the whole ring and ASan on a loaded machine
        # is slow: a generous bound
        deadline = time.time() + 90
        while later["b"] <= first["b"] and time.time() < deadline:
            time.sleep(0.3)  # polling until a refresh has happened
            later = xw.snapshot(x, proc)
        if later["b"] <= first["b"] or later["png"] == first["png"]:
            fail("the live window did not move on with the process (%s:%s then %s:%s)"
                 % (first["a"], first["b"], later["a"], later["b"]))
        print("ok    the live window follows the newest events: its right edge went from %.3f s to %.3f s"
              % (first["b"] / 1e9, later["b"] / 1e9))
        x.key(xw.XK_q)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        shutil.rmtree(out, ignore_errors=True)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--inner":
        inner(sys.argv[2], int(sys.argv[3]))
        return
    gilview, giltrace = os.path.abspath(sys.argv[1]), sys.argv[2]
    python = pythons.first_of(["3.12", "debian-3.11"])
    if python is None:
        skip("no Python 3.12 or Debian 3.11 to trace")
    work = tempfile.mkdtemp(prefix="gilview-live-")
    run = subprocess.Popen([giltrace, "run", "-q", "-o", os.path.join(work, "t.db"), "--", python, CHURN, "150"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        pid = traced_python_pid(run)
        headless(gilview, pid, work)
        if shutil.which("xvfb-run") and shutil.which("Xvfb"):
            env = dict(os.environ, SDL_VIDEODRIVER="x11")
            env.pop("WAYLAND_DISPLAY", None)
            r = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24 -nolisten tcp", sys.executable,
                                os.path.abspath(__file__), "--inner", gilview, str(pid)], env=env)
            if r.returncode != 0:
                sys.exit(r.returncode)
        else:
            print("SKIP  the window part: xvfb-run/Xvfb not installed")
    finally:
        run.terminate()
        run.wait()
    p = subprocess.run([gilview, "--live", str(pid), "--screenshot", os.path.join(work, "gone.png")],
                       capture_output=True, text=True)
    if p.returncode == 0 or len(p.stderr.strip().splitlines()) != 1:
        fail("--live on a finished process should fail in one line: %r" % p.stderr)
    print("ok    --live on a finished process: %s" % p.stderr.strip())
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
