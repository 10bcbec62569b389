"""Many I/O threads: N threads pass a token round a ring of socket pairs
(each blocks in recv until its neighbour sends), with or without a CPU-bound
thread beside them. Every pass is a GIL handoff between I/O threads; with a
CPU-bound thread, each pass can also cost a wait for the GIL, so one lap
pays N of them.

usage: many_io.py [THREADS] [LAPS] [CPU_THREADS] [--no-pin]
prints: result wall=SECONDS laps_per_s=...
"""
from __future__ import print_function

import os
import socket
import sys
import threading
import time


def spin(stop):
    while not stop:
        n = 0
        for _ in range(10000):
            n += 1


def member(inbox, outbox, laps, last):
    for _ in range(laps):
        if inbox.recv(1) != b"t":
            raise SystemExit("lost the token")
        if not last:
            outbox.sendall(b"t")
        else:
            outbox.sendall(b"t")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    pin = "--no-pin" not in sys.argv
    n = int(args[0]) if args else 16
    laps = int(args[1]) if len(args) > 1 else 40
    ncpu = int(args[2]) if len(args) > 2 else 0
    avail = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if pin and len(avail) >= 2:
        os.sched_setaffinity(0, set([avail[0]]))
    pairs = [socket.socketpair() for _ in range(n)]
    # thread i reads pairs[i][1] and writes pairs[(i + 1) % n][0]
    ring = [threading.Thread(target=member, args=(pairs[i][1], pairs[(i + 1) % n][0], laps, i == n - 1),
                             name="io-%d" % i) for i in range(n)]
    stop = []
    workers = [threading.Thread(target=spin, args=(stop,), name="cpu-%d" % i) for i in range(ncpu)]
    for t in ring + workers:
        t.start()
    start = time.time()
    pairs[0][0].sendall(b"t")
    for t in ring:
        t.join()
    wall = time.time() - start
    stop.append(True)
    for w in workers:
        w.join()
    print("%d I/O threads, %d laps, %d CPU-bound thread%s: %.3f s (%.1f laps/s)"
          % (n, laps, ncpu, "" if ncpu == 1 else "s", wall, laps / wall))
    print("result wall=%.6f laps_per_s=%.3f" % (wall, laps / wall))


main()
