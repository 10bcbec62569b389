#!/usr/bin/env python3
"""`meson install --destdir D`, then D's giltrace traces a real program and
D's gilview draws the trace.

The installed giltrace must find its shim in the prefix layout
(bin/../LIBDIR/giltrace, tracer/cli/shim_locate.c), not in the build
directory; the man pages must be installed too.

usage: test_install.py BUILD_DIR
"""
import glob
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zlib

PYTHONS = ["/root/.pyenv/versions/3.12.1/bin/python3.12", "/usr/bin/python3.11"]

# Two CPU-bound threads passing the GIL back and forth (Beazley's countdown).
PROGRAM = """
import threading
def count(n):
    while n > 0:
        n -= 1
ts = [threading.Thread(target=count, args=(3000000,), name="count-%d" % i) for i in range(2)]
for t in ts: t.start()
for t in ts: t.join()
"""


def png_pixels(path):
    """(width, height, rows of RGB bytes) of an 8-bit RGB, non-interlaced PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat = 8, b""
    w = h = 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, color, interlace) == (8, 2, 0), f"unexpected PNG format {depth}/{color}/{interlace}"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * 3, [], bytearray(w * 3)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b = prev[i]
            c = prev[i - 3] if i >= 3 else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, rows


def main():
    build = sys.argv[1]
    python = next((p for p in PYTHONS if os.access(p, os.X_OK)), None)
    if not python:
        print(f"SKIP: no interpreter to trace (looked for {', '.join(PYTHONS)})")
        return 77
    meson = shutil.which("meson")
    if not meson:
        print("SKIP: meson is not on PATH")
        return 77
    with tempfile.TemporaryDirectory(prefix="giltrace-install-") as tmp:
        dest = os.path.join(tmp, "D")
        r = subprocess.run([meson, "install", "-C", build, "--no-rebuild", "--destdir", dest, "--quiet"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"meson install failed ({r.returncode}): {r.stdout}{r.stderr}"
        giltrace = glob.glob(os.path.join(dest, "**", "bin", "giltrace"), recursive=True)
        gilview = glob.glob(os.path.join(dest, "**", "bin", "gilview"), recursive=True)
        shims = glob.glob(os.path.join(dest, "**", "giltrace", "libgiltrace.so"), recursive=True)
        mans = sorted(os.path.basename(p) for p in glob.glob(os.path.join(dest, "**", "man1", "*.1"), recursive=True))
        assert len(giltrace) == 1 and len(gilview) == 1, f"installed programs: {giltrace} {gilview}"
        assert len(shims) == 1, f"installed shims: {shims}"
        assert mans == ["giltrace.1", "gilview.1"], f"installed man pages: {mans}"
        giltrace, gilview = giltrace[0], gilview[0]
        print("installed:", os.path.relpath(giltrace, dest), os.path.relpath(gilview, dest),
              os.path.relpath(shims[0], dest), *mans)

        env = {k: v for k, v in os.environ.items() if not k.startswith("GILTRACE_") and k != "LD_PRELOAD"}
        db = os.path.join(tmp, "t.db")
        r = subprocess.run([giltrace, "run", "-o", db, "--", python, "-c", PROGRAM],
                           capture_output=True, text=True, timeout=300, env=env)
        print(r.stderr.strip())
        assert r.returncode == 0, f"installed giltrace run exited {r.returncode}"
        con = sqlite3.connect(db)
        names = {n for (n,) in con.execute("SELECT name FROM threads")}
        holds = con.execute("SELECT count(*) FROM holds").fetchone()[0]
        con.close()
        assert {"count-0", "count-1"} <= names, f"thread names in the trace: {names}"
        assert holds > 2, f"only {holds} holds traced"

        png = os.path.join(tmp, "t.png")
        r = subprocess.run([gilview, "--screenshot", png, "--size", "800x200", db],
                           capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, f"installed gilview exited {r.returncode}: {r.stderr}"
        w, h, rows = png_pixels(png)
        # holds are drawn green: a strongly green pixel must be in the picture
        green = sum(1 for row in rows for i in range(0, len(row), 3)
                    if row[i + 1] > 120 and row[i] < 100 and row[i + 2] < 100)
        print(f"{holds} holds of threads {sorted(names)}; screenshot {w}x{h}, {green} green pixels")
        assert (w, h) == (800, 200), f"screenshot is {w}x{h}"
        assert green > 100, "the screenshot shows no holds"
    return 0


if __name__ == "__main__":
    sys.exit(main())
