"""Beazley's request/reply server ("Embracing the GIL", 2011): a server
thread answers size-prefixed request messages, each with the same simple
work (the sum of i*i for i below the number the request names), for a
client in another process that sends ITERATIONS requests one at a time and
checks every answer. Four Python implementations of the server:

  zmq          ZeroMQ REP socket (pyzmq; the ZeroMQ frames carry the size)
  mp           multiprocessing.connection (send_bytes/recv_bytes: 4-byte size prefix)
  blocking     blocking socket, 4-byte big-endian size prefix
  nonblocking  non-blocking socket driven by selectors (select on 2.7), same framing

The C implementation is reqreply_zmq.c. With CPU_THREADS > 0, CPU-bound
threads run beside the server thread: with the new GIL (3.2+) every
blocking call of the server gives the GIL up and getting it back means
waiting for a CPU-bound thread to be forced off. Pinned as echo_server.py
is (--no-pin leaves both processes free).

usage: reqreply.py IMPL [CPU_THREADS] [ITERATIONS] [--no-pin]
prints: result wall=SECONDS impl=IMPL cpu_threads=N iterations=I answered=A
(wall: the client's time for its requests, without starting the processes)
exit status 3 (and a line saying why) when IMPL needs pyzmq and it is missing.
"""
from __future__ import print_function

import socket
import struct
import sys
import threading
import time

from experiment import arguments, cpu_threads, listener, pin, run_client

WORK = 200  # each request asks for sum(i*i for i in range(WORK))
NO_ZMQ = 3


def work(request):
    """The simple code every implementation runs per request (bytes -> bytes)."""
    n = int(request)
    return str(sum(i * i for i in range(n))).encode()


# Client bodies for run_client (CLIENT_START's names in scope; `count` is the
# number of requests): each prints the seconds it took and the answers that
# were right.
SIZED_CLIENT = r"""
import struct
from reqreply import WORK, work, recv_sized
req = str(WORK).encode()
want = work(req)
start = time.time()
ok = 0
for _ in range(count):
    s.sendall(struct.pack("!I", len(req)) + req)
    ok += recv_sized(s) == want
s.close()
sys.stdout.write("%.6f %d\n" % (time.time() - start, ok))
"""

ZMQ_CLIENT = r"""
import zmq
from reqreply import WORK, work
ctx = zmq.Context()
z = ctx.socket(zmq.REQ)
z.connect("tcp://127.0.0.1:%d" % port)
req = str(WORK).encode()
want = work(req)
start = time.time()
ok = 0
for _ in range(count):
    z.send(req)
    ok += z.recv() == want
z.close()
ctx.term()
sys.stdout.write("%.6f %d\n" % (time.time() - start, ok))
"""


def recv_exactly(conn, n):
    buf = b""
    while len(buf) < n:
        data = conn.recv(n - len(buf))
        if not data:
            return None
        buf += data
    return buf


def recv_sized(conn):
    """One size-prefixed message from a blocking socket, or None at its end."""
    head = recv_exactly(conn, 4)
    return head and recv_exactly(conn, struct.unpack("!I", head)[0])


def serve_blocking(listening):
    conn, _ = listening.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        req = recv_sized(conn)
        if req is None:
            break
        rep = work(req)
        conn.sendall(struct.pack("!I", len(rep)) + rep)
    conn.close()


def _waiter():
    """wait(sock, writable): block until sock is readable (or writable)."""
    try:
        import selectors
    except ImportError:  # 2.7
        import select

        def wait(sock, writable):
            select.select([] if writable else [sock], [sock] if writable else [], [])
        return wait
    sel = selectors.DefaultSelector()

    def wait(sock, writable):
        sel.register(sock, selectors.EVENT_WRITE if writable else selectors.EVENT_READ)
        sel.select()
        sel.unregister(sock)
    return wait


def serve_nonblocking(listening):
    wait = _waiter()
    conn, _ = listening.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.setblocking(False)
    inbox = b""
    while True:
        try:
            data = conn.recv(65536)
        except socket.error:  # would block (BlockingIOError is one on 3.x)
            wait(conn, False)
            continue
        if not data:
            break
        inbox += data
        while len(inbox) >= 4 and len(inbox) >= 4 + struct.unpack("!I", inbox[:4])[0]:
            n = struct.unpack("!I", inbox[:4])[0]
            rep = work(inbox[4:4 + n])
            inbox = inbox[4 + n:]
            out = struct.pack("!I", len(rep)) + rep
            while out:
                try:
                    out = out[conn.send(out):]
                except socket.error:
                    wait(conn, True)
    conn.close()


def serve_mp(listening):
    conn = listening.accept()
    while True:
        try:
            req = conn.recv_bytes()
        except EOFError:
            break
        conn.send_bytes(work(req))
    conn.close()


def serve_zmq(rep, count):
    for _ in range(count):
        rep.send(work(rep.recv()))


def server(impl, count):
    """(thread target, its args, port for the client, client body, closer)."""
    if impl == "zmq":
        import zmq
        ctx = zmq.Context()
        rep = ctx.socket(zmq.REP)
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        return serve_zmq, (rep, count), port, ZMQ_CLIENT, lambda: (rep.close(), ctx.term())
    if impl == "mp":
        from multiprocessing.connection import Listener
        lst = Listener(("127.0.0.1", 0))
        return serve_mp, (lst,), lst.address[1], SIZED_CLIENT, lst.close
    lst = listener()
    target = {"blocking": serve_blocking, "nonblocking": serve_nonblocking}[impl]
    return target, (lst,), lst.getsockname()[1], SIZED_CLIENT, lst.close


def main():
    impl = sys.argv[1] if len(sys.argv) > 1 else ""
    if impl not in ("zmq", "mp", "blocking", "nonblocking"):
        raise SystemExit(__doc__)
    sys.argv.pop(1)
    (nthreads, count), pinned = arguments([1, 1000])
    if impl == "zmq":
        try:
            import zmq  # noqa: F401
        except ImportError as e:
            print("reqreply: SKIP zmq on Python %d.%d: pyzmq is missing (%s); Debian's python3-zmq is only "
                  "for /usr/bin/python3" % (sys.version_info[0], sys.version_info[1], e))
            sys.exit(NO_ZMQ)
    client_cpu = pin(pinned)
    target, targs, port, body, close = server(impl, count)
    srv = threading.Thread(target=target, args=targs, name="server")
    srv.start()
    stop = []
    workers = cpu_threads(nthreads, stop)
    start = time.time()
    out = run_client(body, port, count, client_cpu, connect=impl != "zmq").split()
    wall = time.time() - start
    stop.append(True)
    srv.join()
    for w in workers:
        w.join()
    close()
    print("%s: %d requests with %d CPU-bound thread%s: %.3f s (client measured %.3f s), %s answered right"
          % (impl, count, nthreads, "" if nthreads == 1 else "s", wall, float(out[0]), out[1]))
    print("result wall=%s impl=%s cpu_threads=%d iterations=%d answered=%s" % (out[0], impl, nthreads, count, out[1]))


if __name__ == "__main__":
    main()
