#!/usr/bin/env python3
"""Every query formats/tdb/SCHEMA.md documents runs in the stock `sqlite3` shell
(Debian's sqlite3 package, no extension loaded) against a fresh trace of a
real program, and answers: each block prints rows, and the window queries,
which SQLite answers through the indexes of the hold and wait tables, find
exactly the intervals a scan that uses no index finds.

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
        # long enough (about 1 s) for the documented window 100 ms after the start to have holds in it
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
        start = con.execute("SELECT min(start_ns) FROM processes").fetchone()[0]
        trace_end = con.execute("SELECT max(end_ns) FROM processes").fetchone()[0]
        for table in ["hold", "wait"]:
            for offset in [0, 10**8, (trace_end - start) // 2]:
                a, b = start + offset, start + offset + 10**7
                fast = con.execute("SELECT count(*) FROM %ss WHERE start_ns >= ? AND start_ns < ?" % table,
                                   (a, b)).fetchone()[0]
                plan = " ".join(row[3] for row in con.execute(
                    "EXPLAIN QUERY PLAN SELECT * FROM %ss WHERE start_ns >= ? AND start_ns < ?" % table, (a, b)))
                slow = con.execute("SELECT count(*) FROM %s NOT INDEXED WHERE start_ns + 0 >= ? AND start_ns + 0 < ?"
                                   % table, (a, b)).fetchone()[0]
                assert fast == slow, (table, offset, fast, slow)
                assert "SEARCH" in plan, "a window on %ss scans: %s" % (table, plan)
                print("ok %ss starting in [%d ms, +10 ms): %d, by %s" % (table, offset // 10**6, fast, plan))
        print("all %d SCHEMA.md blocks ran in %s %s" % (len(blocks), shell, version))


main()
