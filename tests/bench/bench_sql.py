#!/usr/bin/env python3
"""How fast the trace database answers SQL: every query formats/tdb/SCHEMA.md
documents (its ```sql blocks, run whole), plus windows of 10 ms on holds,
waits and events at the start, the middle and the end of the trace, timed
through SQLite (Python's sqlite3 module: the same library as the sqlite3
shell), on two traces:
  - a generated one (tests/tools/trace_gen: 4 CPU-bound threads taking turns,
    10^8 events; --quick: 10^5), with how long writing it took;
  - a real traced program's (tests/bench/programs/echo_cpu.py: round trips
    to an echo server beside a CPU-bound thread, the highest GIL event rate
    of our programs; --quick: fewer rounds);
and each file's bytes per event. Goals (issue 15, at 10^8 events): a window
<= 20 ms, per-thread totals (SCHEMA.md's first two queries: thread_totals,
and the same from holds and waits) <= 2 s, <= 32 B/event.

usage: bench_sql.py [--quick] [--events N]   (env: GILTRACE, TRACE_GEN; GILTRACE_BENCH_PYTHON)
"""
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

from benchlib import find_python, report

QUICK = "--quick" in sys.argv
EVENTS = int(float(sys.argv[sys.argv.index("--events") + 1])) if "--events" in sys.argv else 10**5 if QUICK else 10**8
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GILTRACE = os.environ["GILTRACE"]
TRACE_GEN = os.environ["TRACE_GEN"]


def blocks():
    text = open(os.path.join(ROOT, "formats", "tdb", "SCHEMA.md")).read()
    return re.findall(r"```sql\n(.*?)```", text, re.S)


def timed(con, sql, args=()):
    """Seconds to run `sql` (one or more statements) and fetch every row."""
    t = time.perf_counter()
    for statement in [s for s in sql.split(";") if s.strip()]:
        con.execute(statement, args).fetchall()
    return time.perf_counter() - t


def bench(label, db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    events = con.execute("SELECT sum(events) FROM summary_lane").fetchone()[0]
    size = os.path.getsize(db)
    print("== %s: %s events, %.1f MB" % (label, format(events, ","), size / 1e6))
    report("%s: file size" % label, size / events, "B/event", "<= 32")
    start, end = con.execute("SELECT min(start_ns), max(end_ns) FROM processes").fetchone()
    goal_note = "<= 20 ms at 10^8 events"
    for view, column in [("holds", "start_ns"), ("waits", "start_ns"), ("events", "ts_ns")]:
        worst, rows = 0.0, 0
        for at in [start + 10**8, (start + end) // 2, end - 2 * 10**7]:
            sql = "SELECT * FROM %s WHERE %s >= ? AND %s < ?" % (view, column, column)
            t = time.perf_counter()
            rows += len(con.execute(sql, (at, at + 10**7)).fetchall())
            worst = max(worst, time.perf_counter() - t)
        report("%s: %s in a 10 ms window (worst of 3; %d rows in all)" % (label, view, rows), worst * 1e3, "ms",
               goal_note)
    for i, block in enumerate(blocks()):
        first = block.strip().splitlines()[0]
        goal = "<= 2 s at 10^8 events" if i in (0, 1) else "-"  # the per-thread totals, two ways
        report("%s: SCHEMA.md %d: %s" % (label, i, first[:40]), timed(con, block), "s", goal)
    con.close()


def main():
    with tempfile.TemporaryDirectory(dir=os.environ.get("GILTRACE_BENCH_DIR")) as wd:
        gen = os.path.join(wd, "gen.db")
        t = time.perf_counter()
        subprocess.run([TRACE_GEN, "-o", gen, "--events", str(EVENTS), "--threads", "4"], check=True,
                       stdout=subprocess.DEVNULL)
        took = time.perf_counter() - t
        report("generated trace: writing %s events" % format(EVENTS, ","), took, "s", "-")
        report("generated trace: writing rate", EVENTS / took / 1e6, "M ev/s", "-")
        bench("generated", gen)
        os.unlink(gen)
        real = os.path.join(wd, "real.db")
        python = find_python()
        subprocess.run([GILTRACE, "run", "-q", "-o", real, "--", python,
                        os.path.join(HERE, "programs", "echo_cpu.py"), "300" if QUICK else "30000", "cpu"],
                       check=True, stdout=subprocess.DEVNULL)
        bench("real (echo_cpu.py, %s)" % os.path.basename(python), real)


main()
