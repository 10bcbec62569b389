#!/usr/bin/env python3
"""`giltrace export --format chrome` drawn by a real viewer: speedscope
(npm package, installed by script/bootstrap) in headless Chromium, loading
the export from the filesystem, on the traces of two examples: countdown
(two CPU-bound threads) and the echo server (I/O beside a CPU-bound thread,
two processes, with stacks; its lane used to become a 43-level staircase of
mis-nested waits). Checks:
  - speedscope imports every thread and warns of no mis-nested slice (it
    says "Tried to end ..." or "... was still open at end of profile");
  - each thread's hold total, as speedscope adds it up, equals the report's
    held_ns (a patched copy of speedscope logs its per-profile totals);
  - the export carries a handoff arrow per handoff, a utilisation counter
    per GIL, the trace's clock origin and wall-clock anchor, and the same
    document gzip-compressed when the file name ends in .gz.

usage: test_speedscope.py GILTRACE
env: GILTRACE_SPEEDSCOPE (the speedscope package's dist/release folder;
     default ~/.cache/giltrace/speedscope/node_modules/speedscope/dist/release)
"""
import base64
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GILTRACE = sys.argv[1]
SPEEDSCOPE = os.environ.get("GILTRACE_SPEEDSCOPE") or os.path.expanduser(
    "~/.cache/giltrace/speedscope/node_modules/speedscope/dist/release")
MARK = "giltrace-profile "


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def patched_app(wd):
    """A copy of speedscope whose trace importer logs, for each profile it
    builds, its name and the total weight (us) of its "holds GIL" frames."""
    app = os.path.join(wd, "speedscope")
    shutil.copytree(SPEEDSCOPE, app)
    (bundle,) = [f for f in os.listdir(app) if re.match(r"speedscope-.*\.js$", f)]
    path = os.path.join(app, bundle)
    text = open(path).read()
    m = re.search(r"was still open at end of profile\. Closing automatically\.`\),(\w+)\.leaveFrame\((\w+),"
                  r"\1\.getTotalWeight\(\)\)\}return \1\.build\(\)\}", text)
    if not m:
        raise AssertionError("speedscope's trace importer is not where this test looks for it (version?)")
    b = m.group(1)
    log = ('let P__=%s.build();let h__=0;P__.forEachFrame(f=>{if(f.name.startsWith("holds GIL"))'
           'h__+=f.getSelfWeight()});console.log("%s"+JSON.stringify({name:P__.getName(),held_us:h__}));'
           'return P__}' % (b, MARK))
    open(path, "w").write(text.replace(m.group(0), m.group(0).replace("return %s.build()}" % b, log)))
    return app


def speedscope(app, export, wd):
    """Console lines of speedscope loading `export` (as its CLI does: a JS file
    that hands the document over in base64)."""
    loader = os.path.join(wd, os.path.basename(export) + ".js")
    with open(export, "rb") as f:
        data = base64.b64encode(f.read()).decode()
    with open(loader, "w") as f:
        f.write("speedscope.loadFileFromBase64(%s, %s);\n" % (json.dumps(os.path.basename(export)), json.dumps(data)))
    url = "file://%s/index.html#localProfilePath=%s" % (app, loader)
    r = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                        "--v=0", "--virtual-time-budget=20000", "--user-data-dir=" + os.path.join(wd, "chromium"),
                        "--dump-dom", url], capture_output=True, text=True, timeout=300)
    return [line for line in r.stderr.splitlines() if ":CONSOLE" in line]


def check(name, db, app, wd):
    export = os.path.join(wd, name + ".json")
    r = subprocess.run([GILTRACE, "export", "-f", "-o", export, db], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert re.search(r"export: [\d,]+ trace events from [\d,]+ GIL events written to", r.stderr), r.stderr
    doc = json.load(open(export))
    report = json.loads(subprocess.run([GILTRACE, "report", "--json", db], capture_output=True, text=True,
                                       check=True).stdout)

    console = speedscope(app, export, wd)
    bad = [line for line in console if "Tried to end" in line or "was still open" in line]
    assert not bad, "%s: speedscope found %d mis-nested slices, e.g. %s" % (name, len(bad), bad[0])
    totals = {}
    for line in console:
        m = re.search(r'"%s(\{.*\})", source:' % MARK, line)
        if m:
            p = json.loads(m.group(1))
            m2 = re.search(r"\(pid (\d+)\), .*\(tid (\d+)\)$", p["name"])
            assert m2, p["name"]
            totals[(int(m2.group(1)), int(m2.group(2)))] = p["held_us"]
    lanes = 0
    for proc in report["processes"]:
        for t in proc["threads"]:
            key = (proc["pid"], t["tid"])
            assert key in totals, "%s: speedscope shows no thread %s (it shows %s)" % (name, key, sorted(totals))
            holds = t["acquires"]
            assert abs(totals[key] * 1000 - t["held_ns"]) <= 1 + holds * 1e-3, (
                "%s: thread %s held %.3f us in speedscope, %d ns in the report" % (name, key, totals[key],
                                                                                   t["held_ns"]))
            lanes += 1

    events = doc["traceEvents"]
    handoffs = sum(g["handoffs"] for p in report["processes"] for g in p["gils"])
    assert sum(e["ph"] == "s" for e in events) == sum(e["ph"] == "f" for e in events) == handoffs, (
        name, handoffs)
    gils = {(p["pid"], g["gil"]) for p in report["processes"] for g in p["gils"] if g["holds"]}
    counters = {(e["pid"], e["name"]) for e in events if e["ph"] == "C"}
    assert counters == {(pid, "GIL %d held" % g) for pid, g in gils}, (counters, gils)
    first = min(p["start_ns"] for p in report["processes"])
    other = doc["otherData"]
    assert other["base_ns"] == first and other["clock"] == "CLOCK_MONOTONIC", other
    assert abs(other["base_unix_ns"] / 1e9 - time.time()) < 3600, other

    gz = os.path.join(wd, name + ".json.gz")
    r = subprocess.run([GILTRACE, "export", "-q", "-f", "-o", gz, db], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr, r.stderr
    with gzip.open(gz, "rt") as f:
        assert json.load(f) == doc, "%s: the .gz export is not the same document" % name
    print("ok %s: speedscope imported %d threads with no mis-nested slice, hold totals equal to the report's; "
          "%d handoff arrows, %d counter tracks, absolute time, gzip %.0f%% of the JSON" % (
              name, lanes, handoffs, len(counters), 100.0 * os.path.getsize(gz) / os.path.getsize(export)))


def main():
    if not shutil.which("chromium"):
        skip("no chromium (Debian package chromium; script/bootstrap installs it)")
    if not os.path.isfile(os.path.join(SPEEDSCOPE, "index.html")):
        skip("speedscope is not installed at %s (script/bootstrap installs it with npm)" % SPEEDSCOPE)
    python, why = pythons.find("3.12")
    if not python:
        skip("no Python 3.12: " + why)
    with tempfile.TemporaryDirectory() as wd:
        app = patched_app(wd)
        runs = [("countdown", [os.path.join(ROOT, "examples", "countdown.py"), "2", "5000000"], []),
                ("echo", [os.path.join(ROOT, "examples", "echo_server.py"), "1", "2"], ["--stacks"])]
        for name, args, opts in runs:
            db = os.path.join(wd, name + ".db")
            r = subprocess.run([GILTRACE, "run", "-q"] + opts + ["-o", db, "--", python] + args,
                               capture_output=True, text=True, timeout=300)
            assert r.returncode == 0, r.stderr
            check(name, db, app, wd)


main()
