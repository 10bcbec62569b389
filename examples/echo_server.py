"""Beazley's echo server experiment (2010): an echo server thread in a
process that also runs 0, 1 or 2 CPU-bound threads, and a client in another
process that sends 10 MB through it and reads it back. With the new GIL
(3.2+), each recv/send gives the GIL up and getting it back means waiting
for a CPU-bound thread to be forced off: the convoy effect.

The server process (this one) is pinned to one CPU and the client to
another (when there are two): left free on a small VM, the OS scheduler
rather than the GIL decides how a run goes and timings jump 10-50x from run
to run. --no-pin leaves both free.

usage: echo_server.py [CPU_THREADS] [MEGABYTES] [--no-pin]
prints: result wall=SECONDS cpu_threads=N megabytes=M
"""
from __future__ import print_function

import threading
import time

from experiment import ECHO_CLIENT, arguments, cpu_threads, echo, listener, pin, run_client


def main():
    (nthreads, megabytes), pinned = arguments([1, 10])
    client_cpu = pin(pinned)
    listening = listener()
    server = threading.Thread(target=echo, args=(listening, 65536), name="echo-server")
    server.start()
    stop = []
    workers = cpu_threads(nthreads, stop)
    start = time.time()
    out = run_client(ECHO_CLIENT, listening, megabytes << 20, client_cpu)
    wall = time.time() - start
    stop.append(True)
    server.join()
    for w in workers:
        w.join()
    listening.close()
    print("echo of %d MB with %d CPU-bound thread%s: %.3f s (client measured %.3f s)"
          % (megabytes, nthreads, "" if nthreads == 1 else "s", wall, float(out)))
    print("result wall=%.6f cpu_threads=%d megabytes=%d" % (wall, nthreads, megabytes))


main()
