#!/usr/bin/env python3
"""`giltrace report` and `giltrace export` as a user meets them: help, one
clear line and a non-zero status for every bad invocation or input, and
valid output (text, JSON, Trace Event Format, PNG charts when the renderer
is built in) on a trace of the fake CPython.

usage: test_report_cli.py GILTRACE FAKE_CPYTHON_PLAIN
"""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gilcheck import Cases, CheckFailed, check_chrome, one_line, run_cli as run  # noqa: E402

case = Cases()


def main():
    giltrace, fake = sys.argv[1:3]
    work = tempfile.mkdtemp(prefix="giltrace-report-cli-")
    db = os.path.join(work, "t.db")
    p = run([giltrace, "run", "-q", "-o", db, "--", fake, "cpu", "2", "3000", "1000"])
    case("a trace to report on", p.returncode == 0 and os.path.exists(db), p.stderr.strip())

    p = run([giltrace, "--help"])
    case("--help lists report and export", p.returncode == 0 and "report" in p.stdout and "export" in p.stdout)
    p = run([giltrace, "report", "--help"])
    case("report --help", p.returncode == 0 and "usage: giltrace report" in p.stdout and "--json" in p.stdout)
    p = run([giltrace, "export", "--help"])
    case("export --help", p.returncode == 0 and "usage: giltrace export" in p.stdout and "chrome" in p.stdout)

    for args, status in [([], 2), (["--bogus", db], 2), (["--sites", "0", db], 2), ([db, db], 2),
                         ([os.path.join(work, "missing.db")], 1), (["/etc/passwd"], 1), ([work], 1)]:
        p = run([giltrace, "report"] + args)
        case("report %s refused" % " ".join(a.replace(work, "W") for a in args),
             p.returncode == status and one_line(p.stderr) and p.stdout == "", p.stderr.strip())

    p = run([giltrace, "report", db])
    case("report prints threads, blame and convoys", p.returncode == 0 and "wait latency" in p.stdout and
         "blame" in p.stdout and "convoys" in p.stdout and p.stderr == "", p.stderr.strip())
    p = run([giltrace, "report", "--json", db])
    try:
        doc = json.loads(p.stdout)
        ok = doc["report_version"] == 1 and len(doc["processes"]) == 1 and doc["processes"][0]["threads"]
    except (ValueError, KeyError, IndexError):
        ok = False
    case("report --json is the documented JSON", p.returncode == 0 and ok)

    png = os.path.join(work, "charts.png")
    p = run([giltrace, "report", "--png", png, db])
    if p.returncode == 0:
        with open(png, "rb") as f:
            case("report --png writes a PNG", f.read(8) == b"\x89PNG\r\n\x1a\n")
    else:
        case("report --png without the renderer: one line", one_line(p.stderr) and "renderer" in p.stderr,
             p.stderr.strip())

    out = os.path.join(work, "t.json")
    for args, status in [(["--format", "chrome", db], 2), (["--format", "svg", "-o", out, db], 2),
                         (["-o", out], 2), (["-o", out, os.path.join(work, "missing.db")], 1)]:
        p = run([giltrace, "export"] + args)
        case("export %s refused" % " ".join(a.replace(work, "W") for a in args),
             p.returncode == status and one_line(p.stderr) and not os.path.exists(out), p.stderr.strip())
    p = run([giltrace, "export", "--format", "chrome", "-o", out, db])
    case("export writes the file", p.returncode == 0 and os.path.exists(out), p.stderr.strip())
    try:
        with open(out) as f:
            slices, instants, tracks = check_chrome(json.load(f))
        case("the export is valid Trace Event Format", slices > 0 and tracks == 3,
             "%d slices, %d tracks" % (slices, tracks))
    except (ValueError, CheckFailed) as e:
        case("the export is valid Trace Event Format", False, str(e))
    p = run([giltrace, "export", "-o", out, db])
    case("an existing export is not replaced without --force", p.returncode == 2 and one_line(p.stderr) and
         "--force" in p.stderr, p.stderr.strip())
    p = run([giltrace, "export", "-o", "-", db])
    try:
        ok = p.returncode == 0 and len(json.loads(p.stdout)["traceEvents"]) > 0
    except ValueError:
        ok = False
    case("export -o - writes to standard output", ok)
    left = sorted(f for f in os.listdir(work) if ".tmp-" in f)
    case("no temporary files left", left == [], str(left))

    if case.failures == 0:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if case.failures else 0


if __name__ == "__main__":
    sys.exit(main())
