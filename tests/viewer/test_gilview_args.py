#!/usr/bin/env python3
"""test_gilview_args.py — gilview's command line says what is wrong:
--range that does not parse says so (not "A before B"), A after B says
that, a range outside the trace warns in one line (the picture is still
written), --version and `gilview help` answer.

usage: test_gilview_args.py GILVIEW TRACE_GEN
"""
import os
import subprocess
import sys
import tempfile

failures = []


def run(*argv):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr.strip()


def expect(what, ok):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def main():
    gv = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="gilview-args-") as tmp:
        trace, png = os.path.join(tmp, "t.db"), os.path.join(tmp, "t.png")
        subprocess.run([sys.argv[2], "-o", trace, "--events", "2000", "--interval", "100000"], check=True,
                       timeout=60, stdout=subprocess.DEVNULL)
        for bad, says in (("abc", "cannot parse --range"), ("abc:1ms", "A is not a time"),
                          ("1ms:xyz", "B is not a time"), ("5ms:1ms", "A before B")):
            rc, _, err = run(gv, "--screenshot", png, "--range", bad, trace)
            print("  --range %s -> rc %d: %s" % (bad, rc, err))
            expect("--range %s: rc 2, one line saying '%s'" % (bad, says),
                   rc == 2 and len(err.splitlines()) == 1 and says in err)
        rc, _, err = run(gv, "--screenshot", png, "--range", "100s:200s", trace)
        print("  --range 100s:200s -> rc %d: %s" % (rc, err))
        expect("a range past the trace's end: one warning line, picture written",
               rc == 0 and len(err.splitlines()) == 1 and "outside the trace" in err and os.path.getsize(png) > 0)
        os.unlink(png)
        rc, _, err = run(gv, "--screenshot", png, "--range", "0:1ms", trace)
        expect("a range inside the trace: no warning", rc == 0 and err == "" and os.path.exists(png))
    rc, out, _ = run(gv, "--version")
    expect("--version prints 'gilview VERSION'", rc == 0 and out.startswith("gilview ") and len(out.split()) == 2)
    rc, out, _ = run(gv, "help")
    rc2, out2, _ = run(gv, "--help")
    expect("`gilview help` prints the help", rc == 0 and out.startswith("usage: gilview") and out == out2)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
