"""The request/reply experiment of examples/ ("Embracing the GIL":
reqreply.py, reqreply_zmq.c), quickly, traced, on one interpreter: every
implementation answers every request right, alone and beside a CPU-bound
thread; beside one, the trace records the server thread's GIL waits, puts
them on the CPU-bound thread and (new GIL) shows that thread forced off.
Structure only, no timings.

usage: test_reqreply.py SPEC [REQREPLY_ZMQ]   (the C server, when built)
"""
import os
import re
import sys

from gilcheck import CheckFailed, GILTRACE, check, report, run_checks, run_watched, trace

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples")
ITERATIONS = 30


def answered(stdout):
    m = re.search(r"iterations=(\d+) answered=(\d+)", stdout)
    check(m, "no result line in:\n" + stdout)
    check(int(m.group(1)) == ITERATIONS and int(m.group(2)) == ITERATIONS,
          "%s of %d requests answered right:\n%s" % (m.group(2), ITERATIONS, stdout))


def run_impl(py, impl, threads, wd):
    """Trace reqreply.py IMPL under giltrace; its report, or None when pyzmq
    is missing (said on the check's line)."""
    cmd = [py, os.path.join(EXAMPLES, "reqreply.py"), impl, str(threads), str(ITERATIONS)]
    if impl == "zmq" and run_watched([py, "-c", "import zmq"], 120)[0] != 0:
        return None
    t = trace(cmd[0], cmd[1:], wd, "%s-%d" % (impl, threads), timeout=300)
    answered(t.stdout)
    return report(t.path)


def server_and_cpu(doc):
    p = doc["processes"][0]
    named = {t["name"]: t for t in p["threads"]}
    check("server" in named and "cpu-0" in named,
          "threads named server and cpu-0 in the report; got %s" % sorted(map(str, named)))
    return p, named["server"], named["cpu-0"]


def answers(impl):
    def fn(py, v, wd):
        if run_impl(py, impl, 0, wd) is None:
            return "SKIPPED LOUDLY: this interpreter has no pyzmq (Debian's python3-zmq is for /usr/bin/python3)"
        return "%d of %d requests answered right, no CPU-bound thread" % (ITERATIONS, ITERATIONS)
    fn.__name__ = "answers_" + impl
    return fn


def waits_recorded(impl):
    def fn(py, v, wd):
        doc = run_impl(py, impl, 1, wd)
        if doc is None:
            return "SKIPPED LOUDLY: this interpreter has no pyzmq (Debian's python3-zmq is for /usr/bin/python3)"
        p, srv, cpu = server_and_cpu(doc)
        waits = srv["wait_latency_ns"]["count"]
        blamed = sum(b["ns"] for b in p["blame"] if b["waiter"] == srv["tid"] and b["holder"] == cpu["tid"])
        forced = cpu["releases"]["forced"]
        check(waits >= 1, "no GIL wait of the server thread in the trace")
        if v >= (3, 2):
            # every request makes the server give the GIL up and take it
            # back from a thread that always wants it and, under the new
            # GIL, lets go only when asked to
            check(waits >= ITERATIONS // 2, "server thread: %d GIL waits for %d requests" % (waits, ITERATIONS))
            check(blamed * 2 > srv["waited_ns"], "blame puts %d of the server's %d ns of waiting on the CPU thread"
                  % (blamed, srv["waited_ns"]))
            check(forced >= ITERATIONS // 2, "the CPU thread forced off %d times for %d requests"
                  % (forced, ITERATIONS))
        return ("all answered beside a CPU thread; server: %d GIL waits, %.1f%% of its waiting behind the CPU "
                "thread, which was forced off %d times; %d convoy episodes"
                % (waits, 100.0 * blamed / max(1, srv["waited_ns"]), forced, srv["convoy"]["episodes"]))
    fn.__name__ = "waits_" + impl
    return fn


def c_server(path):
    def fn(py, v, wd):
        if not path:
            return "SKIPPED LOUDLY: build/examples/reqreply_zmq is not built (meson needs libzmq3-dev)"
        out = []
        for threads in (0, 1):
            db = os.path.join(wd, "c-%d.db" % threads)
            code, stdout, err = run_watched([GILTRACE, "run", "-q", "-f", "-o", db, "--", path, str(threads),
                                             str(ITERATIONS)], 300)
            check(code == 0, "reqreply_zmq under giltrace exited %d: %s" % (code, err))
            answered(stdout)
            doc = report(db)
            check(all(not p["gils"] for p in doc["processes"]), "a GIL in a trace of a C program")
            out.append("%d CPU thread%s: all answered" % (threads, "" if threads == 1 else "s"))
        return "; ".join(out) + "; no GIL in the trace"
    fn.__name__ = "c_server"
    return fn


def main():
    spec = sys.argv[1]
    c_path = sys.argv[2] if len(sys.argv) > 2 else ""
    checks = [("C ZeroMQ server, alone and beside a pthread", c_server(c_path), (2, 0), None)]
    for impl in ("zmq", "mp", "blocking", "nonblocking"):
        checks.append(("%s answers every request" % impl, answers(impl), (2, 0), None))
        checks.append(("%s beside a CPU thread: the server's GIL waits in the trace" % impl, waits_recorded(impl),
                       (2, 0), None))
    try:
        return run_checks(spec, checks)
    except CheckFailed as e:
        print("FAIL  %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
