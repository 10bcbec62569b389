"""Many I/O threads: N threads pass a token round a ring of socket pairs
(each blocks in recv until its neighbour sends), with or without a CPU-bound
thread beside them. Every pass is a GIL handoff between I/O threads; with a
CPU-bound thread, each pass can also cost a wait for the GIL, so one lap
pays N of them.

usage: many_io.py [THREADS] [LAPS] [CPU_THREADS] [--no-pin]
prints: result wall=SECONDS laps_per_s=...
"""
from __future__ import print_function

import socket
import threading
import time

from experiment import arguments, cpu_threads, pin


def member(inbox, outbox, laps):
    for _ in range(laps):
        if inbox.recv(1) != b"t":
            raise SystemExit("lost the token")
        outbox.sendall(b"t")


def main():
    (n, laps, ncpu), pinned = arguments([16, 500, 0])
    pin(pinned)
    pairs = [socket.socketpair() for _ in range(n)]
    # thread i reads pairs[i][1] and writes pairs[(i + 1) % n][0]
    ring = [threading.Thread(target=member, args=(pairs[i][1], pairs[(i + 1) % n][0], laps), name="io-%d" % i)
            for i in range(n)]
    for t in ring:
        t.start()
    stop = []
    workers = cpu_threads(ncpu, stop)
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
