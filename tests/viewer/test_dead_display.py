#!/usr/bin/env python3
"""test_dead_display.py — with $DISPLAY naming an X server that does not
run (a stale DISPLAY over ssh), gilview fails within seconds with one line,
instead of falling back to a driver that draws nowhere and waiting for good.

The bound is the harness's: gilview not done within 30 s fails the test.

usage: test_dead_display.py GILVIEW TRACE_GEN
"""
import os
import subprocess
import sys
import tempfile


def free_display():
    """A display number no X server here listens on (no socket, no lock)."""
    with open("/proc/net/unix") as f:
        unix = f.read()
    for n in range(99, 400):
        sock = "/tmp/.X11-unix/X%d" % n
        if not os.path.exists(sock) and not os.path.exists("/tmp/.X%d-lock" % n) and sock not in unix:
            return n
    return None


def main():
    gilview = sys.argv[1]
    n = free_display()
    if n is None:
        print("SKIP: every display number from :99 to :399 is taken here")
        return 77
    with tempfile.TemporaryDirectory(prefix="gilview-dead-") as tmp:
        trace = os.path.join(tmp, "t.db")
        subprocess.run([sys.argv[2], "-o", trace, "--events", "2000"], check=True, timeout=60,
                       stdout=subprocess.DEVNULL)
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
        env["DISPLAY"] = ":%d" % n
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
        try:
            r = subprocess.run([gilview, trace], capture_output=True, text=True, timeout=30, env=env,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            print("FAIL: gilview with DISPLAY=:%d (no server) was still running after 30 s" % n)
            return 1
    lines = r.stderr.strip().splitlines()
    print("DISPLAY=:%d -> rc %d: %s" % (n, r.returncode, r.stderr.strip()))
    if r.returncode != 1:
        print("FAIL: exit status %d, not 1" % r.returncode)
        return 1
    if len(lines) != 1 or not lines[0].startswith("gilview: ") or "DISPLAY=:%d" % n not in lines[0]:
        print("FAIL: not one line naming the display")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
