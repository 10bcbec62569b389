"""Helpers of the integration tests: run a program under `giltrace run`, or
attach to it running, then query the trace's contract views with Python's
sqlite3 module. Checks raise CheckFailed with a message naming what was
expected."""
import fcntl
import hashlib
import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading

import pythons

GILTRACE = os.environ.get("GILTRACE", "giltrace")
SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))


class CheckFailed(Exception):
    pass


class Skip(Exception):
    """This machine cannot run the test (a right is missing): SKIP."""


def check(cond, what):
    if not cond:
        raise CheckFailed(what)


def run_cli(cmd, env_extra=None, **kw):
    """Run a command as a user would; its CompletedProcess (text)."""
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, **kw)


def one_line(stderr):
    """An error is one line."""
    return len(stderr.strip().splitlines()) == 1


class Cases:
    """The named checks of a command-line test, printed as they are made;
    `failures` counts the failed ones."""

    def __init__(self):
        self.failures = 0

    def __call__(self, name, ok, detail=""):
        print("%s  %s%s" % ("ok  " if ok else "FAIL", name, (": " + detail) if detail else ""))
        self.failures += 0 if ok else 1


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

    def check_own_gil(self):
        """An own-GIL subinterpreter's GIL must be gil 1, marked so, with
        its own handoffs, never overlapping. Returns a note."""
        sub = self.kinds("gil = 1")
        check(sub.get("RELEASE", 0) >= 50 and sub.get("ACQUIRE", 0) >= 50,
              "the subinterpreter's own GIL should show as gil=1 with >= 50 RELEASE/ACQUIRE: %s" % sub)
        check(self.one("SELECT subinterpreter FROM gil WHERE gil = 1") == 1, "gil 1 not marked as a subinterpreter GIL")
        check(self.overlapping_holds() == 0, "holds overlap")
        return "gil=1: %s" % sub

    def close(self):
        self.db.close()


def run_watched(cmd, timeout, env=None):
    """Run cmd in a session of its own; if it is not done within `timeout`
    seconds, kill the whole session (the program and every process it
    started) and fail, instead of hanging. Returns (returncode, out, err)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                         env=env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise CheckFailed("watchdog: %s did not finish in %d s (killed); stderr:\n%s"
                          % (" ".join(cmd), timeout, err[-2000:]))
    return p.returncode, out, err


def trace(python, args, workdir, name, extra_run_args=(), timeout=300, env=None):
    """Run `python args...` under giltrace run (with `env` added to the
    environment); return the Trace. A run that hangs is killed and fails."""
    out = os.path.join(workdir, name + ".db")
    cmd = [GILTRACE, "run", "-q", "-f", "-o", out] + list(extra_run_args) + ["--", python] + list(args)
    code, stdout, stderr = run_watched(cmd, timeout, dict(os.environ, **(env or {})))
    check(code == 0, "%s exited %d; stderr:\n%s" % (" ".join(cmd), code, stderr))
    check(os.path.exists(out), "no trace written by: " + " ".join(cmd))
    return Trace(out, stdout, stderr, code)


SHARED = {}  # shared_trace() without a cache directory


def shared_trace(python, args, workdir, name, extra_run_args=(), timeout=300):
    """trace(), made once for every check of one interpreter that asks for
    the same `name`: kept under $GILTRACE_TRACE_CACHE (the build tree's,
    set by meson) and made under a lock, so checks run as separate tests
    (forced-holds-3.12, fidelity-3.12...) share one run of the program. The
    cached trace is used only while giltrace, its shim and writer
    ($GILTRACE_CACHE_DEPENDS), the interpreter and the program are the
    files (path, size, mtime) that made it. Without the variable (in a
    chroot), made once per process."""
    cache = os.environ.get("GILTRACE_TRACE_CACHE")
    if not cache:
        memo = (python, tuple(args), name, tuple(extra_run_args))
        if memo not in SHARED:
            SHARED[memo] = trace(python, args, workdir, name, extra_run_args, timeout)
        return SHARED[memo]
    files = [GILTRACE, python] + [a for a in args if os.path.isfile(a)]
    files += [f for f in os.environ.get("GILTRACE_CACHE_DEPENDS", "").split(os.pathsep) if f]
    stamps = []
    for f in files:
        st = os.stat(f)
        stamps.append([os.path.realpath(f), st.st_size, st.st_mtime_ns])
    key = {"python": python, "args": list(args), "run": list(extra_run_args), "files": stamps}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    os.makedirs(cache, exist_ok=True)
    base = os.path.join(cache, "%s-%s" % (name, digest))
    with open(base + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(base + ".json"):
            t = trace(python, args, workdir, name, extra_run_args, timeout)
            shutil.copyfile(t.path, base + ".db")
            with open(base + ".json.tmp", "w") as f:
                json.dump({"stdout": t.stdout, "stderr": t.stderr}, f)
            os.rename(base + ".json.tmp", base + ".json")
    with open(base + ".json") as f:
        out = json.load(f)
    print("trace %s: shared (%s.db)" % (name, base), flush=True)
    return Trace(base + ".db", out["stdout"], out["stderr"], 0)


def report(trace_path):
    """giltrace report --json of a trace, parsed."""
    code, out, err = run_watched([GILTRACE, "report", "--json", trace_path], 300)
    check(code == 0, "giltrace report exited %d: %s" % (code, err))
    return json.loads(out)


def check_report_invariants(doc):
    """What must hold in any report: holds and waits within each thread's
    life, blame rows summing to the waits, GIL held time within the run and
    equal to its threads' holds. Returns the number of threads checked."""
    n = 0
    for p in doc["processes"]:
        held_by_threads = 0
        for t in p["threads"]:
            n += 1
            check(t["held_ns"] + t["waited_ns"] <= t["life_ns"],
                  "pid %d tid %d: held %d + waited %d > life %d" % (p["pid"], t["tid"], t["held_ns"],
                                                                    t["waited_ns"], t["life_ns"]))
            blamed = sum(b["ns"] for b in p["blame"] if b["waiter"] == t["tid"])
            check(blamed == t["waited_ns"], "pid %d tid %d: blame %d != waits %d"
                  % (p["pid"], t["tid"], blamed, t["waited_ns"]))
            check(t["wait_latency_ns"]["count"] == t["events"]["BUSY"],
                  "pid %d tid %d: %d waits but %d BUSY" % (p["pid"], t["tid"], t["wait_latency_ns"]["count"],
                                                          t["events"]["BUSY"]))
            held_by_threads += t["held_ns"]
        held = sum(g["held_ns"] for g in p["gils"])
        check(held == held_by_threads, "pid %d: GIL held %d != threads' holds %d" % (p["pid"], held, held_by_threads))
        for g in p["gils"]:
            check(g["held_ns"] <= p["duration_ns"], "pid %d: GIL %d held longer than the run" % (p["pid"], g["gil"]))
    return n


def export_chrome(trace_path, workdir, name):
    out = os.path.join(workdir, name + ".json")
    code, _, err = run_watched([GILTRACE, "export", "--format", "chrome", "-f", "-o", out, trace_path], 300)
    check(code == 0, "giltrace export exited %d: %s" % (code, err))
    with open(out) as f:
        return json.load(f)


def check_chrome(doc):
    """The Trace Event Format document is well formed: every event has what
    its phase needs, every slice, instant and flow is on a declared thread of
    a named process, each track's begin/end pairs match and never interleave
    (an end is never after the next begin: they are written from the same
    ns), every flow start has its finish, and counters carry a value.
    Returns (slices, instants, tracks)."""
    check(isinstance(doc, dict) and isinstance(doc.get("traceEvents"), list), "no traceEvents list")
    events = doc["traceEvents"]
    threads, processes = set(), set()
    for e in events:
        check(isinstance(e.get("name"), str) and e.get("ph") in ("B", "E", "i", "M", "s", "f", "C")
              and isinstance(e.get("pid"), int) and (e["ph"] == "C" or isinstance(e.get("tid"), int)),
              "malformed event %r" % (e,))
        if e["ph"] == "M":
            check(isinstance(e.get("args"), dict), "metadata without args: %r" % (e,))
            if e["name"] == "thread_name":
                check(isinstance(e["args"].get("name"), str) and e["args"]["name"], "empty thread name %r" % (e,))
                threads.add((e["pid"], e["tid"]))
            elif e["name"] == "process_name":
                processes.add(e["pid"])
    frames = doc.get("stackFrames", {})
    stacks, flows = {}, {}
    tracks = set()
    slices = instants = 0
    for e in events:
        if e["ph"] == "M":
            continue
        check(isinstance(e.get("ts"), (int, float)) and e["ts"] >= 0, "bad ts %r" % (e,))
        check(e["pid"] in processes, "event of unnamed process %d" % e["pid"])
        if e["ph"] == "C":
            check(all(isinstance(v, (int, float)) for v in e.get("args", {}).values()) and e.get("args"),
                  "counter without values %r" % (e,))
            continue
        check((e["pid"], e["tid"]) in threads, "event on undeclared thread %d/%d: %r" % (e["pid"], e["tid"], e))
        key = (e["pid"], e["tid"])
        if e["ph"] == "B":
            stack = stacks.setdefault(key, [])
            check(not stack, "track %s: %r begins inside %r" % (key, e, stack[-1] if stack else None))
            stack.append(e)
            tracks.add(key)
        elif e["ph"] == "E":
            stack = stacks.get(key)
            check(stack and stack[-1]["name"] == e["name"] and stack[-1]["ts"] <= e["ts"],
                  "track %s: end %r matches no begin" % (key, e))
            stack.pop()
            slices += 1
        elif e["ph"] in ("s", "f"):
            flows.setdefault(e.get("id"), []).append(e["ph"])
        else:
            check(e.get("s") in ("t", "p", "g"), "instant without scope %r" % (e,))
            check("sf" not in e or e["sf"] in frames, "instant names an unknown frame %r" % (e,))
            instants += 1
    for key, stack in stacks.items():
        check(not stack, "track %s: %d slices never end" % (key, len(stack)))
    for fid, phases in flows.items():
        check(sorted(phases) == ["f", "s"], "flow %r is %r" % (fid, phases))
    return slices, instants, len(tracks)


def workdir():
    return tempfile.mkdtemp(prefix="giltrace-it-")


def version_tuple(version):
    return tuple(int(x) for x in version.split(".")[:2])


def check_slug(fn):
    """A check's name as a test: check_forced_holds -> forced-holds."""
    return fn.__name__[len("check_"):].replace("_", "-")


def run_checks(spec, checks, only=None):
    """Run `checks`, [(name, fn(python, version tuple, workdir), since,
    until)] with `until` None or the first version a check is not for, on
    the interpreter of `spec` (pythons.py), one line each: all of them, or
    the ones named in `only` (check_slug() names; meson runs each as a test
    of its own), or if GILTRACE_TEST_CHECKS is set, the checks whose
    functions it names (comma-separated). Returns the exit status: 77
    (SKIP, said why) without the interpreter, when a check raised Skip or
    when no check chosen is for this version, 1 if any failed (its traces
    are kept), else 0."""
    if only:
        unknown = set(only) - set(check_slug(c[1]) for c in checks)
        if unknown:
            print("no such check: %s (there are: %s)" % (", ".join(sorted(unknown)),
                                                         ", ".join(check_slug(c[1]) for c in checks)))
            return 2
        checks = [c for c in checks if check_slug(c[1]) in only]
    py, version = pythons.find(spec)
    if py is None:
        print("SKIP: %s" % version)
        return SKIP
    v = version_tuple(version)
    env_only = os.environ.get("GILTRACE_TEST_CHECKS")
    if env_only:
        checks = [c for c in checks if c[1].__name__ in env_only.split(",")]
    if only and checks and all(v < since or (until and v >= until) for _, _, since, until in checks):
        name, _, since, until = checks[0]
        print("SKIP: %s is not a check for %s (%s)" % (name, version, "needs %d.%d+" % since if v < since
                                                         else "before %d.%d" % until))
        return SKIP
    print("interpreter: %s (%s)" % (py, version))
    wd = workdir()
    failures = 0
    try:
        for name, fn, since, until in checks:
            if v < since or (until and v >= until):
                print("n/a   %s (%s)" % (name, "needs %d.%d+" % since if v < since else "before %d.%d" % until))
                continue
            try:
                print("ok    %s: %s" % (name, fn(py, v, wd)), flush=True)
            except CheckFailed as e:
                failures += 1
                print("FAIL  %s: %s" % (name, e), flush=True)
    except Skip as e:
        print("SKIP: %s" % e)
        shutil.rmtree(wd, ignore_errors=True)
        return SKIP
    if failures == 0:
        shutil.rmtree(wd, ignore_errors=True)
    else:
        print("traces kept in %s" % wd)
    return 1 if failures else 0


# giltrace attach ---------------------------------------------------------

class Lines:
    """The lines a child writes to a pipe, read by a thread of their own so
    that waiting for one can time out ("" at the end of the stream)."""

    def __init__(self, stream, what):
        self.what = what
        self.queue = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.queue.put(line)
        self.queue.put("")

    def get(self, timeout=60):
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            raise CheckFailed("no line from %s within %d s" % (self.what, timeout))


class Background:
    """A process started for a test. Use it in a `with` block: whatever
    happens, it does not outlive the test."""

    def __init__(self, cmd, **popen_args):
        self.p = subprocess.Popen(cmd, **popen_args)
        self.pid = self.p.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


class Target(Background):
    """programs/attach_target.py running on its own, to attach to."""

    def __init__(self, python, mode, *args):
        Background.__init__(self, [python, program("attach_target.py"), mode] + list(args), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
        self.lines = Lines(self.p.stdout, "the target")
        line = self.lines.get()
        check(line.strip() == "ready", "the target did not start: %r" % line)

    def mark(self):
        """(monotonic ns, the GIL's switch_number or -1), read by the target."""
        self.p.stdin.write("mark\n")
        self.p.stdin.flush()
        words = self.lines.get().split()
        check(len(words) == 3 and words[0] == "mark", "bad mark line %r" % words)
        return int(words[1]), int(words[2])

    def finish(self, timeout=60):
        """Tell it to stop; the rest of its output and its exit status."""
        self.p.stdin.write("stop\n")
        self.p.stdin.close()
        out = []
        while True:
            line = self.lines.get(timeout)
            if not line:
                break
            out.append(line)
        return "".join(out), self.p.wait(timeout)


def attach(pid, out, *args, timeout=120):
    """Run giltrace attach to completion."""
    cmd = [GILTRACE, "attach", str(pid), "-f", "-o", out] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


class Attached(Background):
    """giltrace attach PID --duration 0 (until SIGINT), started and waited
    for until it says it is tracing; stop() ends it."""

    def __init__(self, pid, out, *args):
        Background.__init__(self, [GILTRACE, "attach", str(pid), "-f", "-o", out, "-d", "0"] + list(args),
                            stderr=subprocess.PIPE, text=True)
        self.lines = Lines(self.p.stderr, "giltrace attach")
        self.said = []
        while True:
            line = self.lines.get()
            self.said.append(line)
            if not line or "tracing until" in line:
                break
        self.tracing = bool(line)

    def stop(self, timeout=120):
        """SIGINT; its exit status and all it said."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
        while self.said[-1]:
            self.said.append(self.lines.get(timeout))
        return self.p.wait(timeout), "".join(self.said)


def ptrace_refused(stderr):
    """The SKIP reason if giltrace attach failed for want of ptrace rights."""
    for line in stderr.splitlines():
        if "operation not permitted" in line:
            return line.strip()
    return None
