"""What Beazley's socket experiments share (echo_server.py, io_response.py,
many_io.py): CPU-bound threads, pinning this process and its peer to CPUs,
an echo connection, and their command lines. Runs on 2.7 and 3.x."""
from __future__ import print_function

import os
import socket
import sys
import threading


def arguments(defaults):
    """The positional arguments (as ints, `defaults` filling the missing
    ones) and whether to pin (no --no-pin)."""
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    values = [int(a) for a in args] + list(defaults[len(args):])
    return values, "--no-pin" not in sys.argv


def pin(enabled):
    """Pin this process to the first CPU we may use; return the CPU for a
    peer process ("-": leave it free). Left free on a small VM, the OS
    scheduler rather than the GIL decides how a run goes, and timings jump
    10-50x from run to run."""
    avail = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not enabled or len(avail) < 2:
        return "-"
    os.sched_setaffinity(0, set([avail[0]]))
    return str(avail[1])


def spin(stop):
    while not stop:
        n = 0
        for _ in range(10000):
            n += 1


def cpu_threads(n, stop):
    """Start n CPU-bound threads that run until `stop` is not empty."""
    threads = [threading.Thread(target=spin, args=(stop,), name="cpu-%d" % i) for i in range(n)]
    for t in threads:
        t.start()
    return threads


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def echo(listening, size):
    """Accept one connection and send back what it sends, `size` bytes at a
    time at most, until it closes."""
    conn, _ = listening.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = conn.recv(size)
        if not data:
            break
        conn.sendall(data)
    conn.close()
