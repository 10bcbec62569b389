#!/usr/bin/env python3
"""Every query formats/tdb/SCHEMA.md documents runs in the stock `sqlite3` shell
(Debian's sqlite3 package, no extension loaded) against a fresh trace of a
real program, and answers: each block prints rows, and the window queries,
which SQLite answers through the indexes of the hold, wait and event
tables, find exactly the rows a scan that uses no index finds.

usage: test_schema_sql.py GILTRACE      (needs /usr/bin/sqlite3 and a Python 3.8+)
"""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GILTRACE = sys.argv[1]


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def sql_blocks():
    text = open(os.path.join(ROOT, "formats", "tdb", "SCHEMA.md")).read()
    return re.findall(r"```sql\n(.*?)```", text, re.S)


def main():
    shell = shutil.which("sqlite3")
    if not shell:
        skip("no sqlite3 shell (Debian package sqlite3; script/bootstrap installs it)")
    python = None
    for spec in ["3.12", "3.11", "3.13", "3.10"]:
        path, _ = pythons.find(spec)
        if path:
            python = path
            break
    if not python:
        skip("no Python 3.10-3.13 found")
    blocks = sql_blocks()
    assert len(blocks) >= 7, "SCHEMA.md's sql blocks not found (%d)" % len(blocks)
    with tempfile.TemporaryDirectory() as wd:
        db = os.path.join(wd, "t.db")
        # long enough (about 1 s) for the documented window in the middle of the trace to have holds and waits
        r = subprocess.run([GILTRACE, "run", "-q", "--stacks", "-o", db, "--", python,
                            os.path.join(ROOT, "examples", "countdown.py"), "2", "12000000"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        version = subprocess.run([shell, "-version"], capture_output=True, text=True).stdout.split()[0]
        for i, block in enumerate(blocks):
            r = subprocess.run([shell, "-bail", "-batch", db], input=block, capture_output=True, text=True,
                               timeout=600)
            first = block.strip().splitlines()[0]
            assert r.returncode == 0 and not r.stderr, "block %d (%s): rc %d: %s" % (i, first, r.returncode, r.stderr)
            assert r.stdout.strip(), "block %d (%s) printed no rows" % (i, first)
            print("ok %d  %-70s %d rows" % (i, first[:70], len(r.stdout.splitlines())))
        con = sqlite3.connect(db)
        # The planner weighs an index seek against a scan by the statistics
        # the writer leaves (ANALYZE); on a table of a few dozen rows a scan
        # is as good and may be chosen. What must hold is that the views let
        # a seek serve a window at all: the plans are read in a copy whose
        # statistics say the tables are large (rows, rows per pid, per thread).
        big = os.path.join(wd, "big-stats.db")
        shutil.copy(db, big)
        stats = sqlite3.connect(big)
        stats.executescript("UPDATE sqlite_stat1 SET stat = '100000000 100000000 10000000 10000000 1'"
                            " WHERE tbl IN ('hold', 'wait') AND idx = tbl;"
                            "UPDATE sqlite_stat1 SET stat = '100000000 10000000 1' WHERE tbl = 'event' AND idx = 'event';")
        stats.close()
        plans = sqlite3.connect(big)
        start = con.execute("SELECT min(start_ns) FROM processes").fetchone()[0]
        trace_end = con.execute("SELECT max(end_ns) FROM processes").fetchone()[0]
        # (view, its time column, the table under it, that table's time column)
        for view, column, table, stored in [("holds", "start_ns", "hold", "start_ns"),
                                            ("waits", "start_ns", "wait", "start_ns"),
                                            ("events", "ts_ns", "event", "ts")]:
            for offset in [0, 10**8, (trace_end - start) // 2]:
                a, b = start + offset, start + offset + 10**7
                window = "SELECT * FROM %s WHERE %s >= ? AND %s < ?" % (view, column, column)
                fast = len(con.execute(window, (a, b)).fetchall())
                plan = " ".join(row[3] for row in plans.execute("EXPLAIN QUERY PLAN " + window, (a, b)))
                slow = con.execute("SELECT count(*) FROM %s NOT INDEXED WHERE %s + 0 >= ? AND %s + 0 < ?"
                                   % (table, stored, stored), (a, b)).fetchone()[0]
                assert fast == slow, (view, offset, fast, slow)
                assert "SEARCH %s USING" % ("e" if view == "events" else table) in plan and \
                    "SCAN %s" % ("e" if view == "events" else table) not in plan, \
                    "a window on %s scans: %s" % (view, plan)
                print("ok %s in [%d ms, +10 ms): %d, by %s" % (view, offset // 10**6, fast, plan))
        print("all %d SCHEMA.md blocks ran in %s %s" % (len(blocks), shell, version))


main()
