"""A program for giltrace attach to find running. It prints "ready" once
its threads run, then obeys lines on stdin:
  mark   print "mark T_NS SWITCH_NUMBER": now (time.monotonic_ns) and, on
         3.7+, the GIL's own handoff count (gil_probe.py), read while
         holding the GIL
  stop   stop the threads, print what they did, exit 0
The main thread waits in a read of stdin meanwhile.

usage: attach_target.py cpu | sleeper | subinterp STOPFILE
  cpu        two threads computing checked chunks of work (the GIL battle);
             at stop: "ok chunks=N bad=B"
  sleeper    one thread sleeping 2 ms a round, nothing else wanting the
             GIL; at stop: "sleeper tid=T rounds=N" and "round_ends ..."
             (time.monotonic_ns at the end of each round)
  subinterp  (3.12+) a thread running an own-GIL subinterpreter that
             sleeps 1 ms a round until STOPFILE exists
"""
import ctypes
import sys
import threading
import time

import gil_probe

EXPECTED = sum(i * i for i in range(1000))


def tid():
    return ctypes.CDLL(None).syscall(186)  # SYS_gettid on x86-64


class Work:
    def __init__(self):
        self.stop = threading.Event()
        self.chunks = 0
        self.bad = 0
        self.round_ends = []
        self.sleeper_tid = None

    def cpu(self):
        while not self.stop.is_set():
            if sum(i * i for i in range(1000)) != EXPECTED:
                self.bad += 1
            self.chunks += 1

    def sleeper(self):
        self.sleeper_tid = tid()
        while not self.stop.is_set():
            time.sleep(0.002)
            self.round_ends.append(time.monotonic_ns())


def subinterpreter(stopfile):
    try:
        import _interpreters as interpreters  # 3.13+
    except ImportError:
        import _xxsubinterpreters as interpreters  # 3.12
    interp = interpreters.create()
    interpreters.run_string(interp, "import os, time\nwhile not os.path.exists(%r):\n    time.sleep(0.001)\n" % stopfile)
    interpreters.destroy(interp)


def main():
    mode = sys.argv[1]
    addr = gil_probe.find_switch_interval()
    switches = gil_probe.switch_number_at(addr) if addr else None
    work = Work()
    if mode == "cpu":
        threads = [threading.Thread(target=work.cpu) for _ in range(2)]
    elif mode == "sleeper":
        threads = [threading.Thread(target=work.sleeper)]
    else:
        threads = [threading.Thread(target=subinterpreter, args=(sys.argv[2],))]
    for t in threads:
        t.start()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "mark":
            print("mark %d %d" % (time.monotonic_ns(), switches.value if switches else -1), flush=True)
        elif line.strip() == "stop":
            break
    work.stop.set()
    for t in threads:
        t.join()
    if mode == "cpu":
        print("ok chunks=%d bad=%d" % (work.chunks, work.bad))
    elif mode == "sleeper":
        print("sleeper tid=%d rounds=%d" % (work.sleeper_tid, len(work.round_ends)))
        print("round_ends " + " ".join(str(t) for t in work.round_ends))
    print("done", flush=True)


main()
