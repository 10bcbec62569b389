#!/usr/bin/env python3
"""Each figure giltrace shows is the same wherever it is shown: on real
traces of three interpreters (3.8, 3.12, 3.13), every way of getting a
figure must give the same number:
  - a thread's held % and waited % (of its life), and its life, held and
    waited ns: `giltrace run`'s summary, `giltrace report --json` and
    SCHEMA.md's two per-thread queries (thread_totals; holds and waits) in
    the stock sqlite3 shell;
  - acquires and forced releases per thread: the run summary, the report and
    SCHEMA.md's forced/voluntary query;
  - handoffs and handoffs/s per GIL: the report and SCHEMA.md's handoffs query;
  - FORCED_SWITCH events: the report's per-thread event counts and SCHEMA.md's
    events-per-kind query;
  - wait latency p50/p90/p99 per thread: the report, and the rule REPORT.md
    gives applied to the lengths the `waits` view lists.
Shares printed with one decimal are compared to the exact share: equal means
the printed figure is the exact one rounded (|printed - exact| <= 0.05).

usage: test_figures.py GILTRACE
"""
import json
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
SHELL = shutil.which("sqlite3")


def schema_block(starts):
    text = open(os.path.join(ROOT, "formats", "tdb", "SCHEMA.md")).read()
    for block in re.findall(r"```sql\n(.*?)```", text, re.S):
        if block.lstrip().startswith(starts):
            return block
    raise AssertionError("SCHEMA.md has no query starting with %r" % starts)


def shell(db, sql):
    """Rows of the last statement of `sql`, as lists of strings (stock sqlite3 shell)."""
    out = subprocess.run([SHELL, "-bail", "-batch", "-separator", "|", db], input=sql, capture_output=True,
                         text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines() if line]


def bucket_hi(v):
    """Upper bound of v's bucket in the report's histogram (tracer/analysis/histogram.c)."""
    if v < 32:
        return max(v, 0)
    shift = v.bit_length() - 1 - 5
    return ((v >> shift) << shift) + (1 << shift) - 1


def quantile(values, q):
    """REPORT.md's percentile: the upper bound of the bucket of the ceil(q*n)-th value, clamped to min/max."""
    v = sorted(values)
    r = q * len(v)
    rank = int(r)
    if rank < r or rank == 0:
        rank += 1
    if rank == 1:
        return v[0]
    return min(max(bucket_hi(v[rank - 1]), v[0]), v[-1])


def close(printed, exact, what):
    assert abs(float(printed) - 100.0 * exact) <= 0.05 + 1e-9, "%s: %s printed, %.4f%% exact" % (
        what, printed, 100.0 * exact)


def check(spec, python, wd):
    db = os.path.join(wd, "t-%s.db" % spec)
    run = subprocess.run([GILTRACE, "run", "-o", db, "--", python, os.path.join(ROOT, "examples", "countdown.py"),
                          "3", "6000000"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    report = json.loads(subprocess.run([GILTRACE, "report", "--json", db], capture_output=True, text=True,
                                       check=True).stdout)
    (proc,) = report["processes"]
    pid = proc["pid"]
    threads = {t["tid"]: t for t in proc["threads"]}
    figures = 0

    # run's summary: tid, name, held %, waited %, acquires, forced, longest wait
    summary = {}
    for line in run.stderr.splitlines():
        m = re.match(r"^ {4}(\d+)\s+(.*?)\s+([\d.]+)%\s+([\d.]+)%\s+(\d+)\s+(\d+)\s+\S+( \S+)?$", line)
        if m:
            summary[int(m.group(1))] = m.groups()
    assert set(summary) == set(threads), (sorted(summary), sorted(threads), run.stderr)
    for tid, t in threads.items():
        s = summary[tid]
        close(s[2], t["held_share"], "%s tid %d held %% (run summary vs report)" % (spec, tid))
        close(s[3], t["waited_share"], "%s tid %d waited %% (run summary vs report)" % (spec, tid))
        assert int(s[4]) == t["acquires"] and int(s[5]) == t["releases"]["forced"], (spec, tid, s, t)
        figures += 4

    # SCHEMA.md, per-thread shares of life: from thread_totals, and from the holds and waits
    for how in ["SELECT pid, tid, name, round(100.0 * held_ns", "WITH h AS"]:
        rows = shell(db, schema_block(how))
        assert len(rows) == len(threads), rows
        for p, tid, _name, held, waited in rows:
            t = threads[int(tid)]
            assert int(p) == pid
            close(held, t["held_share"], "%s tid %s held %% (SQL %r vs report)" % (spec, tid, how))
            close(waited, t["waited_share"], "%s tid %s waited %% (SQL %r vs report)" % (spec, tid, how))
            figures += 2
    con = sqlite3.connect(db)
    for tid, life, held, waited in con.execute("SELECT tid, life_ns, held_ns, waited_ns FROM thread_totals"):
        t = threads[tid]
        assert (life, held, waited) == (t["life_ns"], t["held_ns"], t["waited_ns"]), (spec, tid, life, held, waited)
        figures += 3
    con.close()

    # SCHEMA.md, forced and voluntary releases (first statement of the block)
    forced_sql = schema_block("SELECT pid, tid, sum(forced)").strip().split(";")[0] + ";"
    for p, tid, forced, voluntary in shell(db, forced_sql):
        t = threads[int(tid)]
        assert (int(forced or 0), int(voluntary or 0)) == (t["releases"]["forced"], t["releases"]["voluntary"]), (
            spec, tid, forced, voluntary, t["releases"])
        figures += 2

    # SCHEMA.md, handoffs and handoffs/s per GIL
    gils = {g["gil"]: g for g in proc["gils"]}
    rows = shell(db, schema_block("SELECT h.pid, h.gil"))
    assert rows, "no handoffs in %s's trace" % spec
    for p, gil, handoffs, per_s in rows:
        g = gils[int(gil)]
        assert int(handoffs) == g["handoffs"], (spec, handoffs, g["handoffs"])
        assert abs(float(per_s) - g["handoffs_per_s"]) <= 0.05 + 1e-9, (spec, per_s, g["handoffs_per_s"])
        assert g["forced_releases"] == g["forced_switches"] == sum(t["releases"]["forced"] for t in threads.values())
        figures += 3

    # SCHEMA.md, events per kind: FORCED_SWITCH events are what the threads' counts say
    kinds = dict(shell(db, schema_block("SELECT kind, count(*)").strip().split(";")[0] + ";"))
    assert int(kinds.get("FORCED_SWITCH", 0)) == sum(t["events"]["FORCED_SWITCH"] for t in threads.values())
    figures += 1

    # wait latency percentiles, from the waits view by REPORT.md's rule
    con = sqlite3.connect(db)
    for tid, t in threads.items():
        waits = [r[0] for r in con.execute("SELECT end_ns - start_ns FROM waits WHERE pid = ? AND tid = ?",
                                           (pid, tid))]
        lat = t["wait_latency_ns"]
        assert len(waits) == lat["count"], (spec, tid, len(waits), lat["count"])
        if waits:
            for q, key in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")]:
                assert quantile(waits, q) == lat[key], (spec, tid, key, quantile(waits, q), lat[key])
                figures += 1
    con.close()
    print("ok %s (%s): %d figures agree across the run summary, the report and SCHEMA.md's SQL; "
          "%d threads, %d handoffs, %d forced releases, %s FORCED_SWITCH events" % (
              spec, os.path.basename(python), figures, len(threads), sum(g["handoffs"] for g in gils.values()),
              sum(g["forced_releases"] for g in gils.values()), kinds.get("FORCED_SWITCH", 0)))


def main():
    if not SHELL:
        print("SKIP: no sqlite3 shell (Debian package sqlite3; script/bootstrap installs it)")
        sys.exit(77)
    done, missing = 0, []
    with tempfile.TemporaryDirectory() as wd:
        for spec in ["3.8", "3.12", "3.13"]:
            python, why = pythons.find(spec)
            if not python:
                missing.append("%s (%s)" % (spec, why))
                continue
            check(spec, python, wd)
            done += 1
    if missing:
        print("SKIP: not found: " + ", ".join(missing))
        sys.exit(77)


main()
