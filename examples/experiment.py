"""What Beazley's socket experiments share (echo_server.py, io_response.py,
many_io.py): CPU-bound threads, pinning this process and its peer to CPUs,
an echo connection, the client process, and their command lines. Runs on
2.7 and 3.x (2.7 pins through libc: its os module cannot)."""
from __future__ import print_function

import os
import socket
import subprocess
import sys
import threading


def arguments(defaults):
    """The positional arguments (as ints, `defaults` filling the missing
    ones) and whether to pin (no --no-pin)."""
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    values = [int(a) for a in args] + list(defaults[len(args):])
    return values, "--no-pin" not in sys.argv


def _libc_affinity(call, cpus=None):
    """sched_getaffinity/sched_setaffinity of this thread through libc, for
    interpreters without os.sched_*affinity (2.7): the CPUs it may use, or
    None when libc will not say."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    mask = (ctypes.c_ulong * 16)()  # 1024 CPUs
    bits = ctypes.sizeof(ctypes.c_ulong) * 8
    for c in cpus or ():
        mask[c // bits] |= 1 << (c % bits)
    if getattr(libc, call)(0, ctypes.sizeof(mask), mask) != 0:
        return None
    return [c for c in range(16 * bits) if mask[c // bits] >> (c % bits) & 1]


def cpus():
    """The CPUs this process may run on ([] if unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    try:
        return _libc_affinity("sched_getaffinity") or []
    except (OSError, AttributeError, ImportError):
        return []


def set_cpu(cpu):
    """Run this process (its threads to come) on CPU `cpu` only; "-": leave it
    free."""
    if cpu == "-":
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set([int(cpu)]))
    elif _libc_affinity("sched_setaffinity", [int(cpu)]) is None:
        raise SystemExit("cannot pin to CPU %s" % cpu)


def pin(enabled):
    """Pin this process to the first CPU we may use; return the CPU for a
    peer process ("-": leave it free). Left free on a small VM, the OS
    scheduler rather than the GIL decides how a run goes, and timings jump
    10-50x from run to run."""
    avail = cpus()
    if not enabled or len(avail) < 2:
        return "-"
    set_cpu(str(avail[0]))
    return str(avail[1])


# The start of a client process (run_client): its arguments, its CPU and a
# TCP connection `s` to the experiment's port (None when run_client was told
# not to connect: the body makes its own, a ZeroMQ socket say).
CLIENT_START = r"""
import os, socket, sys, time
sys.path.insert(0, sys.argv[4])
from experiment import set_cpu
port, count, cpu = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
set_cpu(cpu)
s = None
if sys.argv[5] == "connect":
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
"""


# A client body for run_client: send `count` bytes in 8 KiB messages, reading
# each back before the next (round trips through an echo server); prints
# the seconds it took.
ECHO_CLIENT = r"""
size = count
chunk = b"x" * 8192
start = time.time()
sent = 0
while sent < size:
    s.sendall(chunk)
    got = 0
    while got < len(chunk):
        data = s.recv(65536)
        if not data:
            raise SystemExit("server closed")
        got += len(data)
    sent += len(chunk)
s.close()
sys.stdout.write("%.6f\n" % (time.time() - start))
"""


def run_client(body, listening, count, cpu, connect=True):
    """Run `body` (Python source: CLIENT_START's names in scope) in another
    process on CPU `cpu`, connected to `listening` (a listening socket or a
    port number; not connected when `connect` is false); return what it
    prints."""
    here = os.path.dirname(os.path.abspath(__file__))
    port = listening if isinstance(listening, int) else listening.getsockname()[1]
    return subprocess.check_output([sys.executable, "-c", CLIENT_START + body, str(port), str(count), cpu, here,
                                    "connect" if connect else "-"]).decode()


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
