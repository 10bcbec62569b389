#!/usr/bin/env python3
"""CPython's own regression tests for threads, locks, queues, sockets and
subprocesses pass under the tracer exactly as they do without it: every test
case has the same outcome traced (`giltrace run`, regrtest's worker
processes included) as untraced.

usage: test_cpython_suites.py SPEC[,SPEC...] [EXPERIMENT]
  SPEC: 3.11, debian-3.11, 3.13, ...: the first present with its Lib/test;
  EXPERIMENT: trace under `giltrace run --experiment EXPERIMENT` (e.g.
  priority-gil): an experiment changes scheduling, never an outcome.

Outcomes are read from regrtest's --junit-xml file, not from its output. A
test case whose outcome differs is run again, alone, in both modes: one
that is flaky on its own (differs between two untraced runs too) is reported
as such; any other difference fails the test.
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from xml.etree import ElementTree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402

SKIP = 77
GILTRACE = os.environ.get("GILTRACE", "giltrace")
SUITES = ["test_threading", "test_thread", "test_threading_local", "test_queue", "test_socketserver",
          "test_subprocess"]
# Verdicts come from regrtest's own structured output (--junit-xml), never
# from the text a test prints: a line on stderr (the dynamic loader's, when a
# child that became another user cannot open the preloaded shim) must not
# read as a test's ERROR. A testcase's child element names its outcome.
OUTCOME_OF = {"error": "ERROR", "failure": "FAIL", "skipped": "skipped", "output": "expected failure",
              "outcome": "unexpected success"}


def outcomes(xml_path):
    """{case id: outcome} from regrtest's JUnit XML file ({} if there is none)."""
    try:
        root = ElementTree.parse(xml_path).getroot()
    except (OSError, ElementTree.ParseError):
        return {}
    result = {}
    for case in root.iter("testcase"):
        name = case.get("name")
        if not name:
            continue  # started but never finished (a failed subtest ends it so)
        verdict = "ok"
        for child in case:
            if child.tag in OUTCOME_OF:
                verdict = OUTCOME_OF[child.tag]
                break
        result[name] = verdict
    return result


EXPERIMENT = sys.argv[2] if len(sys.argv) > 2 else None


def regrtest(python, suites, traced, work, tag):
    xml = os.path.join(work, tag + ".xml")
    if os.path.exists(xml):
        os.remove(xml)
    cmd = [python, "-m", "test", "-v", "-u", "network", "-j2", "--junit-xml", xml] + suites
    if traced:
        experiment = ["--experiment", EXPERIMENT] if EXPERIMENT else []
        cmd = [GILTRACE, "run", "-q", "-f", "-o", os.path.join(work, tag + ".db")] + experiment + ["--"] + cmd
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=work, env=env, timeout=1200)
    return outcomes(xml), p.stdout + p.stderr


def main():
    python, why = None, []
    for spec in sys.argv[1].split(","):
        candidate, version = pythons.find(spec)
        if candidate is None:
            why.append(version)
        elif subprocess.run([candidate, "-c", "import test.support, test.test_threading"],
                            capture_output=True).returncode != 0:
            why.append("%s has no Lib/test (Debian: libpython3.x-testsuite)" % candidate)
        else:
            python = candidate
            break
    if python is None:
        print("SKIP: %s" % "; ".join(why))
        return SKIP
    work = tempfile.mkdtemp(prefix="giltrace-regrtest-")
    print("interpreter: %s (%s); suites: %s%s" % (python, version, " ".join(SUITES),
                                                  "; traced under --experiment " + EXPERIMENT if EXPERIMENT else ""))
    plain, _ = regrtest(python, SUITES, False, work, "plain")
    traced, log = regrtest(python, SUITES, True, work, "traced")
    if not plain or not traced:
        print("FAIL: no test outcomes could be read (untraced %d, traced %d cases)" % (len(plain), len(traced)))
        print(log[-3000:])
        return 1

    def tally(results):
        counts = {}
        for outcome in results.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        return ", ".join("%s %d" % kv for kv in sorted(counts.items()))

    print("untraced: %d cases: %s" % (len(plain), tally(plain)))
    print("traced:   %d cases: %s" % (len(traced), tally(traced)))
    db = sqlite3.connect(os.path.join(work, "traced.db"))
    procs, events = db.execute("SELECT count(*), (SELECT count(*) FROM events) FROM processes").fetchone()
    label = db.execute("SELECT value FROM meta WHERE key = 'experiment'").fetchone()
    db.close()
    print("the traced run's trace: %d processes, %d GIL events%s" % (procs, events,
                                                                   ", experiment " + label[0] if label else ""))
    if (label[0] if label else None) != EXPERIMENT:
        print("FAIL: the trace's meta says experiment %r, not %r" % (label and label[0], EXPERIMENT))
        return 1

    differing = sorted(c for c in set(plain) | set(traced) if plain.get(c) != traced.get(c))
    failures = []
    for case in differing:
        suite = case.split(".")[1] if case.startswith("test.") else case.split(".")[0]
        selector = ["-m", case.rsplit(".", 1)[-1], suite]
        again_plain, _ = regrtest(python, selector, False, work, "again-plain")
        again_traced, _ = regrtest(python, selector, True, work, "again-traced")
        a, b = again_plain.get(case), again_traced.get(case)
        if a == b and (plain.get(case) != a or traced.get(case) != b):
            print("flaky %s: untraced %s then %s; traced %s then %s" % (case, plain.get(case), a, traced.get(case), b))
        elif a == b:
            print("flaky %s: %s alone in both modes" % (case, a))
        else:
            failures.append("%s: untraced %s/%s, traced %s/%s" % (case, plain.get(case), a, traced.get(case), b))
    for f in failures:
        print("FAIL  " + f)
    if not failures:
        print("ok    the same outcome traced and untraced for all %d cases" % len(plain))
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("logs and traces kept in %s" % work)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
