#!/usr/bin/env python3
"""Attach and detach CYCLES times (default 200) to a program whose threads
live in the C allocator and the loader, import, allocate, sleep and do
socket I/O (programs/attach_stress.py). Every cycle must come back within
a watchdog's time; every 25 cycles each thread must have gone on working;
no sleep or recv may ever fail with EINTR; at the end every thread must
stop and join and the program exit 0. Prints the pauses it saw.

usage: test_attach_stress.py GILTRACE STRESS_ALLOC_SO [CYCLES]
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pythons  # noqa: E402
from gilcheck import Background, CheckFailed, Lines, check, program, ptrace_refused  # noqa: E402

SKIP = 77
WATCHDOG_S = 60
STATUS_EVERY = 25


def parse_status(line, prefix):
    words = line.split()
    check(words and words[0] == prefix, "expected a %s line, got %r" % (prefix, line))
    return dict((k, int(v)) for k, v in (w.split("=") for w in words[1:]))


class Program(Background):
    def __init__(self, py, so):
        Background.__init__(self, [py, program("attach_stress.py"), so], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
        self.lines = Lines(self.p.stdout, "the stressed program")
        check(self.lines.get().strip() == "ready", "the stressed program did not start")

    def ask(self, what, answer):
        self.p.stdin.write(what + "\n")
        self.p.stdin.flush()
        return parse_status(self.lines.get(WATCHDOG_S), answer)


def stress(giltrace, target, out, cycles):
    """The cycles; an exit status (SKIP, 0), or CheckFailed."""
    attach_ms, detach_ms, gave_up = [], [], []
    last = target.ask("status", "status")
    for i in range(cycles):
        try:
            p = subprocess.run([giltrace, "attach", str(target.pid), "-f", "-o", out, "-d", "0.02", "--buffer-mb", "16"],
                               capture_output=True, text=True, timeout=WATCHDOG_S)
        except subprocess.TimeoutExpired:
            raise CheckFailed("cycle %d: giltrace attach did not come back within %d s" % (i, WATCHDOG_S))
        reason = ptrace_refused(p.stderr)
        if reason and i == 0:
            print("SKIP: giltrace attach is not allowed to use ptrace here: %s" % reason)
            return SKIP
        if p.returncode != 0 and "safe point" in p.stderr:
            gave_up.append(p.stderr.strip())  # allowed: nothing was changed
        else:
            check(p.returncode == 0, "cycle %d: giltrace attach exited %d: %s" % (i, p.returncode, p.stderr))
            m = re.search(r"attached .*pausing it ([0-9.]+) ms.*\n(?:.*\n)*.*detached .*pausing it ([0-9.]+) ms",
                          p.stderr)
            check(m is not None, "cycle %d: no pauses reported: %s" % (i, p.stderr))
            attach_ms.append(float(m.group(1)))
            detach_ms.append(float(m.group(2)))
        check(target.p.poll() is None, "cycle %d: the program died (exit %s)" % (i, target.p.returncode))
        if (i + 1) % STATUS_EVERY == 0 or i + 1 == cycles:
            now = target.ask("status", "status")
            stuck = [k for k in now if k not in ("eintr", "bad") and now[k] <= last.get(k, 0)]
            check(not stuck, "cycle %d: threads made no progress: %s (%s)" % (i, stuck, now))
            check(now["eintr"] == 0 and now["bad"] == 0, "cycle %d: %s" % (i, now))
            last = now
    final = target.ask("stop", "final")
    check(target.lines.get(WATCHDOG_S).strip() == "done", "the program did not finish")
    check(target.p.wait(WATCHDOG_S) == 0, "the program exited %s" % target.p.returncode)
    check(final["eintr"] == 0 and final["bad"] == 0, "at the end: %s" % final)
    check(len(gave_up) <= cycles // 10, "%d of %d attaches found no safe point: %s" % (len(gave_up), cycles,
                                                                                      gave_up[:3]))
    print("ok    %d attach/detach cycles (%d gave up cleanly for want of a safe point); the program stayed "
          "healthy: %s" % (cycles, len(gave_up), " ".join("%s=%d" % kv for kv in sorted(final.items()))))
    print("      pause to attach: median %.2f ms, max %.2f ms; to detach: median %.2f ms, max %.2f ms (this "
          "machine, under the test's own load)" % (statistics.median(attach_ms), max(attach_ms),
                                                   statistics.median(detach_ms), max(detach_ms)))
    return 0


def main():
    giltrace, so = sys.argv[1:3]
    cycles = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    py = pythons.first_of(["3.12", "3.11", "3.13", "3.10", "3.9", "3.8", "3.7", "debian-3.11"])
    if py is None:
        print("SKIP: no Python 3.7+ on this machine")
        return SKIP
    work = tempfile.mkdtemp(prefix="giltrace-stress-")
    try:
        with Program(py, so) as target:
            return stress(giltrace, target, os.path.join(work, "t.db"), cycles)
    except CheckFailed as e:
        print("FAIL  %s" % e)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
