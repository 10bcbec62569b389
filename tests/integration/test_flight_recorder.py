#!/usr/bin/env python3
"""Flight-recorder mode (`--ring-mode overwrite`): a process handing the GIL
over as fast as it can, for a long time, keeps a flat memory footprint (its
RSS, sampled every half second, stops growing once the ring is full), and its
final trace holds its last events: the ring's worth, ending when it ended,
with the rest counted as overwritten and nothing lost.

usage: test_flight_recorder.py GILTRACE      (GILTRACE_SOAK_SECONDS: how long; default 45)
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
RING_MB = 4
RECORDS_PER_CHUNK, CHUNK_MB = 4092, 1 / 16.0


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def main():
    giltrace = sys.argv[1]
    seconds = float(os.environ.get("GILTRACE_SOAK_SECONDS", "45"))
    python = pythons.first_of(["3.12", "debian-3.11"])
    if python is None:
        print("SKIP: no Python 3.12 or Debian 3.11 to run")
        return SKIP
    work = tempfile.mkdtemp(prefix="giltrace-soak-")
    db = os.path.join(work, "soak.db")
    proc = subprocess.Popen([giltrace, "run", "-q", "-o", db, "--ring-mode", "overwrite", "--buffer-mb", str(RING_MB),
                             "--", python, os.path.join(HERE, "programs", "churn.py"), str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    samples = []
    pid = None
    while proc.poll() is None:
        pid = pid or pythons.traced_child(proc.pid)
        if pid:
            kb = rss_kb(pid)
            if kb:
                samples.append(kb)
        time.sleep(0.5)  # a sampling period, not a wait for an outcome
    out, err = proc.communicate()
    if proc.returncode != 0 or len(samples) < 8:
        print("FAIL: giltrace run exited %d with %d RSS samples: %s" % (proc.returncode, len(samples), err.decode()))
        return 1
    steady = samples[len(samples) // 4:]
    growth_mb = (max(steady) - min(steady)) / 1024.0
    con = sqlite3.connect(db)
    events, first, last = con.execute("SELECT count(*), min(ts_ns), max(ts_ns) FROM events").fetchone()
    start, end, lost, overwritten = con.execute(
        "SELECT start_ns, end_ns, lost_events, overwritten_events FROM processes").fetchone()
    con.close()
    ring_events = RING_MB / CHUNK_MB * RECORDS_PER_CHUNK
    print("ran %.0f s; RSS %d-%d MB after the first quarter (%d samples); trace: %d events (ring holds %d), "
          "%d overwritten, %d lost; its events end %.3f s before the process did"
          % (seconds, min(steady) / 1024, max(steady) / 1024, len(samples), events, ring_events, overwritten, lost,
             (end - last) / 1e9))
    failures = []
    if growth_mb > 4:
        failures.append("RSS grew by %.1f MB in steady state" % growth_mb)
    if lost != 0:
        failures.append("%d events lost in overwrite mode" % lost)
    if overwritten <= events:
        failures.append("the run did not outlast its ring (%d overwritten)" % overwritten)
    if not 0.5 * ring_events <= events <= ring_events:
        failures.append("the trace holds %d events, not about the ring's %d" % (events, ring_events))
    if (end - last) > 0.5e9:
        failures.append("the trace does not reach the end of the run")
    for f in failures:
        print("FAIL  " + f)
    if not failures:
        print("ok    flat memory, the last %d MiB kept" % RING_MB)
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
