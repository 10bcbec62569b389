"""Helpers of the integration tests: run a program under `giltrace run`,
then query the trace's contract views with Python's sqlite3 module.
Checks raise CheckFailed with a message naming what was expected."""
import os
import sqlite3
import subprocess
import tempfile

GILTRACE = os.environ.get("GILTRACE", "giltrace")
HERE = os.path.dirname(os.path.abspath(__file__))


class CheckFailed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CheckFailed(what)


def program(name):
    return os.path.join(HERE, "programs", name)


class Trace:
    def __init__(self, path, stdout, stderr, returncode):
        self.path, self.stdout, self.stderr, self.returncode = path, stdout, stderr, returncode
        self.db = sqlite3.connect(path)

    def q(self, sql, *args):
        return self.db.execute(sql, args).fetchall()

    def one(self, sql, *args):
        rows = self.q(sql, *args)
        return rows[0][0] if rows else None

    def kinds(self, where="1"):
        return dict(self.q("SELECT kind, count(*) FROM events WHERE %s GROUP BY kind" % where))

    def overlapping_holds(self):
        """Holds of one GIL that overlap an earlier hold (any thread)."""
        return self.one("""SELECT count(*) FROM (
              SELECT start_ns, max(end_ns) OVER (PARTITION BY pid, gil ORDER BY start_ns, end_ns
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before_end
              FROM holds) WHERE start_ns < before_end""")

    def close(self):
        self.db.close()


def trace(python, args, workdir, name, extra_run_args=(), timeout=300, env=None):
    """Run `python args...` under giltrace run (with `env` added to the
    environment); return the Trace."""
    out = os.path.join(workdir, name + ".db")
    cmd = [GILTRACE, "run", "-q", "-f", "-o", out] + list(extra_run_args) + ["--", python] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=dict(os.environ, **(env or {})))
    check(p.returncode == 0, "%s exited %d; stderr:\n%s" % (" ".join(cmd), p.returncode, p.stderr))
    check(os.path.exists(out), "no trace written by: " + " ".join(cmd))
    return Trace(out, p.stdout, p.stderr, p.returncode)


def workdir():
    return tempfile.mkdtemp(prefix="giltrace-it-")
