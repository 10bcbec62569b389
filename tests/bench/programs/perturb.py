"""The workloads of the perturbation benchmark (bench_perturbation.py). Each
prints one line of its *own* figures, measured inside the program, so that a
traced and an untraced run are compared by what the program saw, never by
the tracer's counters:

  convoy N ROUNDS    an echo server thread beside N CPU-bound threads; a
                     client in another process sends ROUNDS 8 KiB messages
                     and reads each back (Beazley's convoy effect)
                     -> "result seconds=S"
  storm T COUNT      T threads each calling time.sleep(0) COUNT times (the
                     densest GIL traffic a program makes)  -> "result seconds=S"
  cpu2 COUNT         two CPU-bound threads counting down COUNT each
                     -> "result seconds=S"
  latency N ROUNDS   an I/O thread's round trips (64 bytes) to an echo process
                     beside N CPU-bound threads -> "result p50_us=A p99_us=B"

On fewer than 4 CPUs the server process is pinned to one CPU and its peer to
another (as examples/ does): on a small VM the scheduler would otherwise
decide the run. On 4 or more nothing is pinned: the many-core case is the
point there.

usage: perturb.py WORKLOAD N COUNT
"""
import os
import socket
import subprocess
import sys
import threading
import time

# The experiments' own helpers (examples/experiment.py): beside this file in
# a carried folder (tests/bench/carry.sh), else in the source tree.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(HERE, "..", "..", "..", "examples"))
from experiment import ECHO_CLIENT, cpu_threads, echo, listener, run_client  # noqa: E402

CPUS = sorted(os.sched_getaffinity(0))
PIN = len(CPUS) < 4

ECHO_PEER = r"""
import os, socket, sys
if sys.argv[2] != "-":
    os.sched_setaffinity(0, {int(sys.argv[2])})
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    data = s.recv(65536)
    if not data:
        break
    s.sendall(data)
"""


def pin_self():
    """Pin this process on a small machine; return the CPU for the peer."""
    if not PIN or len(CPUS) < 2:
        return "-"
    os.sched_setaffinity(0, {CPUS[0]})
    return str(CPUS[1])


def convoy(n, rounds):
    peer_cpu = pin_self()
    lsock = listener()
    server = threading.Thread(target=echo, args=(lsock, 65536), name="echo-server")
    server.start()
    stop = []
    workers = cpu_threads(n, stop)
    out = run_client(ECHO_CLIENT, lsock, rounds * 8192, peer_cpu)
    stop.append(True)
    server.join()
    for w in workers:
        w.join()
    print("result seconds=%s" % out.strip())


def run_timed(threads):
    """Start the threads, wait for them all, print how long it took."""
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("result seconds=%.6f" % (time.perf_counter() - start))


def storm(nthreads, count):
    def body():
        for _ in range(count):
            time.sleep(0)
    run_timed([threading.Thread(target=body, name="storm-%d" % i) for i in range(nthreads)])


def cpu2(count):
    def countdown(n):
        while n > 0:
            n -= 1
    run_timed([threading.Thread(target=countdown, args=(count,), name="count-%d" % i) for i in range(2)])


def latency(n, rounds):
    peer_cpu = pin_self()
    lsock = listener()
    peer = subprocess.Popen([sys.executable, "-c", ECHO_PEER, str(lsock.getsockname()[1]), peer_cpu])
    conn, _ = lsock.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stop = []
    workers = cpu_threads(n, stop)
    samples = []
    message = b"y" * 64

    def io():
        for _ in range(rounds):
            t0 = time.perf_counter()
            conn.sendall(message)
            got = 0
            while got < len(message):
                got += len(conn.recv(65536))
            samples.append(time.perf_counter() - t0)

    io_thread = threading.Thread(target=io, name="io")
    io_thread.start()
    io_thread.join()
    stop.append(True)
    for w in workers:
        w.join()
    conn.close()
    peer.wait()
    samples.sort()
    p50 = samples[len(samples) // 2]
    p99 = samples[min(len(samples) - 1, (99 * len(samples)) // 100)]
    print("result p50_us=%.1f p99_us=%.1f" % (p50 * 1e6, p99 * 1e6))


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    what, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if what == "convoy":
        convoy(a, b)
    elif what == "storm":
        storm(a, b)
    elif what == "cpu2":
        cpu2(b)
    elif what == "latency":
        latency(a, b)
    else:
        raise SystemExit(__doc__)


main()
