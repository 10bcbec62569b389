#!/usr/bin/env python3
"""test_window_xvfb.py — gilview in a real X window (under xvfb-run) takes
input events through XTest (wheel zoom at the cursor, drag pan, keys) and
its F12 screenshots change accordingly.

usage: test_window_xvfb.py GILVIEW TRACE_GEN [TRACE.db]   (without a trace: a synthetic one)
Exits 77 (SKIP) when xvfb-run, Xvfb or libXtst are missing.
"""
import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def fail(why):
    print("FAIL: " + why)
    sys.exit(1)


class X:
    """Just enough Xlib + XTest, through ctypes (no dev packages needed)."""

    def __init__(self):
        x11 = ctypes.util.find_library("X11") or "libX11.so.6"
        xtst = ctypes.util.find_library("Xtst") or "libXtst.so.6"
        try:
            self.x = ctypes.CDLL(x11)
            self.t = ctypes.CDLL(xtst)
        except OSError as e:
            skip("no libX11/libXtst (%s)" % e)
        self.x.XOpenDisplay.restype = ctypes.c_void_p
        self.x.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x.XDefaultRootWindow.restype = ctypes.c_ulong
        self.x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        self.x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                                      ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                                      ctypes.POINTER(ctypes.c_uint)]
        self.x.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
        self.x.XTranslateCoordinates.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_int,
                                                 ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                                 ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_ulong)]
        self.x.XKeysymToKeycode.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        self.x.XKeysymToKeycode.restype = ctypes.c_ubyte
        self.x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.x.XFree.argtypes = [ctypes.c_void_p]
        self.t.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                                ctypes.c_ulong]
        self.t.XTestFakeButtonEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
        self.t.XTestFakeKeyEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_ulong]
        self.x.XResizeWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_uint, ctypes.c_uint]
        self.x.XQueryPointer.argtypes = [ctypes.c_void_p, ctypes.c_ulong] + [ctypes.POINTER(ctypes.c_ulong)] * 2 + \
            [ctypes.POINTER(ctypes.c_int)] * 4 + [ctypes.POINTER(ctypes.c_uint)]
        self.x.XGetGeometry.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong)] + \
            [ctypes.POINTER(ctypes.c_int)] * 2 + [ctypes.POINTER(ctypes.c_uint)] * 4
        # X errors (a window SDL made and destroyed again) must not end the test
        handler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
        self.on_error = handler(lambda d, e: 0)
        self.x.XSetErrorHandler.argtypes = [handler]
        self.x.XSetErrorHandler(self.on_error)
        self.d = self.x.XOpenDisplay(None)
        if not self.d:
            fail("cannot open the X display %s" % os.environ.get("DISPLAY"))
        self.root = self.x.XDefaultRootWindow(self.d)

    def size(self, win):
        r = ctypes.c_ulong()
        x, y = ctypes.c_int(), ctypes.c_int()
        w, h, b, d = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
        if not self.x.XGetGeometry(self.d, win, ctypes.byref(r), ctypes.byref(x), ctypes.byref(y), ctypes.byref(w),
                                   ctypes.byref(h), ctypes.byref(b), ctypes.byref(d)):
            return 0
        return w.value * h.value

    def find_window(self, prefix):
        """(x, y) on screen of the (largest) top-level window whose name starts with prefix, or None."""
        r, p = ctypes.c_ulong(), ctypes.c_ulong()
        kids = ctypes.POINTER(ctypes.c_ulong)()
        n = ctypes.c_uint()
        if not self.x.XQueryTree(self.d, self.root, ctypes.byref(r), ctypes.byref(p), ctypes.byref(kids),
                                 ctypes.byref(n)):
            return None
        found, best = None, 0
        for i in range(n.value):
            name = ctypes.c_char_p()
            if self.x.XFetchName(self.d, kids[i], ctypes.byref(name)) and name.value:
                area = self.size(kids[i])
                if name.value.decode("utf-8", "replace").startswith(prefix) and area > best:
                    x, y, child = ctypes.c_int(), ctypes.c_int(), ctypes.c_ulong()
                    self.x.XTranslateCoordinates(self.d, kids[i], self.root, 0, 0, ctypes.byref(x),
                                                 ctypes.byref(y), ctypes.byref(child))
                    found, best = (x.value, y.value), area
                    self.win = kids[i]
                self.x.XFree(name)
        if kids:
            self.x.XFree(kids)
        return found

    def enter(self, prefix, deadline):
        """Put the pointer just inside the window find_window(prefix) finds,
        so that keyboard focus follows it (there is no window manager), and
        wait until the server has that window mapped under the pointer: from
        then on, keys reach it. Its (x, y), or None if that did not happen
        by `deadline`. (The window is looked up each time: SDL may make and
        destroy a window of the same name first.)"""
        while time.time() < deadline:
            pos = self.find_window(prefix)
            if pos:
                self.move(pos[0] + 5, pos[1] + 5)
                root, child = ctypes.c_ulong(), ctypes.c_ulong()
                c = [ctypes.c_int() for _ in range(4)]
                mask = ctypes.c_uint()
                self.x.XQueryPointer(self.d, self.root, ctypes.byref(root), ctypes.byref(child), *map(ctypes.byref, c),
                                     ctypes.byref(mask))
                if child.value == self.win:
                    return pos
            time.sleep(0.1)  # polling for the window to be mapped
        return None

    def resize(self, w, h):
        self.x.XResizeWindow(self.d, self.win, w, h)
        self.sync()

    def sync(self):
        self.x.XSync(self.d, 0)

    def move(self, x, y):
        self.t.XTestFakeMotionEvent(self.d, -1, x, y, 0)
        self.sync()

    def button(self, b, press):
        self.t.XTestFakeButtonEvent(self.d, b, 1 if press else 0, 0)
        self.sync()

    def click(self, b):
        self.button(b, True)
        self.button(b, False)

    def key(self, keysym):
        code = self.x.XKeysymToKeycode(self.d, keysym)
        self.t.XTestFakeKeyEvent(self.d, code, 1, 0)
        self.t.XTestFakeKeyEvent(self.d, code, 0, 0)
        self.sync()


XK_F12, XK_minus, XK_q, XK_f, XK_w, XK_Escape, XK_h, XK_Shift_L = 0xFFC9, 0x2D, 0x71, 0x66, 0x77, 0xFF1B, 0x68, 0xFFE1


def read_line(proc, deadline):
    import select
    while time.time() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], 0.2)
        if r:
            line = proc.stdout.readline()
            if not line:
                return None
            return line.decode()
        if proc.poll() is not None:
            return None
    return None


def snapshot(x, proc):
    x.key(XK_F12)
    line = read_line(proc, time.time() + 20)
    if not line:
        fail("no screenshot line from gilview (exit %s)" % proc.poll())
    m = re.match(r"saved (\S+) range (\S+):(\S+) size (\d+)x(\d+) lanes-at (\d+),(\d+)", line)
    if not m:
        fail("unexpected line: %r" % line)
    with open(m.group(1), "rb") as f:
        data = f.read()
    return {"path": m.group(1), "a": float(m.group(2)), "b": float(m.group(3)), "w": int(m.group(4)),
            "h": int(m.group(5)), "lx": int(m.group(6)), "ly": int(m.group(7)), "png": data}


def inner(gilview, trace):
    x = X()
    out = tempfile.mkdtemp(prefix="gilview-win-")
    # Under AddressSanitizer, LeakSanitizer reports allocations that D-Bus and
    # the X11 libraries SDL loads (and unloads at SDL_Quit) keep for good; the
    # other tests check giltrace's own code for leaks.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    proc = subprocess.Popen([gilview, "--size", "1000x360", "--save-dir", out, trace], stdout=subprocess.PIPE,
                            env=env)
    try:
        pos = None
        deadline = time.time() + 30
        while pos is None and time.time() < deadline:
            if proc.poll() is not None:
                fail("gilview exited with %s before showing a window" % proc.returncode)
            pos = x.find_window("gilview")
            time.sleep(0.1)
        pos = pos and x.enter("gilview", time.time() + 30)
        if pos is None:
            fail("no gilview window appeared")
        wx, wy = pos
        s0 = snapshot(x, proc)
        lw = s0["w"] - s0["lx"]
        nspp0 = (s0["b"] - s0["a"]) / lw
        print("fit: %.0f..%.0f ns (%.1f ns/px)" % (s0["a"], s0["b"], nspp0))

        # zoom in with the wheel at a point in the lane area: that point keeps its time
        cx, cy = s0["lx"] + lw // 3, s0["ly"] + 40
        x.move(wx + cx, wy + cy)
        t_cursor = s0["a"] + (cx - s0["lx"]) * nspp0
        for _ in range(3):
            x.click(4)
            time.sleep(0.05)
        time.sleep(0.3)
        s1 = snapshot(x, proc)
        nspp1 = (s1["b"] - s1["a"]) / lw
        print("wheel: %.0f..%.0f ns (%.1f ns/px)" % (s1["a"], s1["b"], nspp1))
        if not (nspp1 < nspp0 * 0.6):
            fail("three wheel clicks did not zoom in (%.2f -> %.2f ns/px)" % (nspp0, nspp1))
        t_after = s1["a"] + (cx - s0["lx"]) * nspp1
        if abs(t_after - t_cursor) > 2 * nspp0:
            fail("zoom did not keep the time under the cursor (%.0f -> %.0f)" % (t_cursor, t_after))
        if s1["png"] == s0["png"]:
            fail("the picture did not change after zooming")

        # drag 200 px to the right: the window moves 200 px earlier in time
        x.button(1, True)
        for step in range(1, 11):
            x.move(wx + cx + 20 * step, wy + cy)
            time.sleep(0.02)
        x.button(1, False)
        time.sleep(0.3)
        s2 = snapshot(x, proc)
        shift = s1["a"] - s2["a"]
        print("drag: %.0f..%.0f ns (moved %.0f ns = %.1f px)" % (s2["a"], s2["b"], shift, shift / nspp1))
        if abs(shift / nspp1 - 200) > 2:
            fail("dragging 200 px moved the window %.1f px" % (shift / nspp1))
        if s2["png"] == s1["png"]:
            fail("the picture did not change after panning")

        # '-' zooms out, 'f' fits the whole trace again
        x.key(XK_minus)
        time.sleep(0.2)
        s3 = snapshot(x, proc)
        if not ((s3["b"] - s3["a"]) > (s2["b"] - s2["a"]) * 1.3):
            fail("'-' did not zoom out")
        x.key(XK_f)
        time.sleep(0.2)
        s4 = snapshot(x, proc)
        if abs(s4["a"] - s0["a"]) > nspp0 or abs(s4["b"] - s0["b"]) > nspp0:
            fail("'f' did not fit the trace again")
        # w: the longest wait of the trace, framed in the middle of the window
        import sqlite3
        db = sqlite3.connect(trace)
        base = db.execute("SELECT value FROM meta WHERE key = 'base_ns'").fetchone()[0]
        ws, we = db.execute("SELECT start_ns, end_ns FROM waits ORDER BY end_ns - start_ns DESC, start_ns"
                            " LIMIT 1").fetchone()
        db.close()
        ws, we = ws - int(base), we - int(base)
        x.key(XK_w)
        time.sleep(0.2)
        s5 = snapshot(x, proc)
        print("w: %.0f..%.0f ns; the longest wait is %d..%d" % (s5["a"], s5["b"], ws, we))
        if not (s5["a"] <= ws and we <= s5["b"] and (s5["b"] - s5["a"]) < 4 * (we - ws) + 4000):
            fail("'w' did not frame the longest wait")

        # shift-drag selects a range: a statistics panel appears; Esc closes it
        x.key(XK_f)
        time.sleep(0.2)
        plain = snapshot(x, proc)
        x.move(wx + cx, wy + cy)
        t = x.x.XKeysymToKeycode(x.d, XK_Shift_L)
        x.t.XTestFakeKeyEvent(x.d, t, 1, 0)
        x.button(1, True)
        for step in range(1, 11):
            x.move(wx + cx + 25 * step, wy + cy)
            time.sleep(0.02)
        x.button(1, False)
        x.t.XTestFakeKeyEvent(x.d, t, 0, 0)
        x.sync()
        time.sleep(0.3)
        s6 = snapshot(x, proc)
        if s6["a"] != plain["a"] or s6["png"] == plain["png"]:
            fail("selecting a range did not show its statistics (or moved the window)")
        x.key(XK_Escape)
        # ? (h): the help overlay
        x.key(XK_h)
        time.sleep(0.2)
        s7 = snapshot(x, proc)
        if s7["png"] == s6["png"]:
            fail("h did not show the help")
        x.key(XK_h)

        # the window can be resized: the picture follows
        x.find_window("gilview")
        x.resize(800, 500)
        time.sleep(0.5)
        s8 = snapshot(x, proc)
        if (s8["w"], s8["h"]) != (800, 500):
            fail("after resizing to 800x500 the frame is %dx%d" % (s8["w"], s8["h"]))
        print("w, selection, help, resize: ok")

        x.key(XK_q)
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            fail("'q' did not quit")
        if rc != 0:
            fail("gilview exited with %d" % rc)
        print("ok")
    finally:
        if proc.poll() is None:
            proc.kill()
        if os.environ.get("GILVIEW_KEEP_SHOTS"):
            print("screenshots kept in " + out)
        else:
            shutil.rmtree(out, ignore_errors=True)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--inner":
        inner(sys.argv[2], sys.argv[3])
        return
    gilview = os.path.abspath(sys.argv[1])
    if not shutil.which("xvfb-run") or not shutil.which("Xvfb"):
        skip("xvfb-run/Xvfb not installed (apt-get install xvfb xauth)")
    if not (ctypes.util.find_library("Xtst") or os.path.exists("/usr/lib/x86_64-linux-gnu/libXtst.so.6")):
        skip("libXtst not installed (apt-get install libxtst6)")
    work = tempfile.mkdtemp(prefix="gilview-xvfb-")
    try:
        if len(sys.argv) > 3:
            trace = sys.argv[3]
        else:
            trace = os.path.join(work, "trace.db")
            subprocess.run([os.path.abspath(sys.argv[2]), "-o", trace, "--events", "30000", "--threads", "3",
                            "--interval", "100000"], check=True, stdout=subprocess.DEVNULL)
        env = dict(os.environ, SDL_VIDEODRIVER="x11")
        env.pop("WAYLAND_DISPLAY", None)
        r = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24 -nolisten tcp",
                            sys.executable, os.path.abspath(__file__), "--inner", gilview, trace], env=env)
        sys.exit(r.returncode)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
