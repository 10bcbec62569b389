"""An I/O thread's response time next to a CPU-bound thread (Beazley, 2010):
a thread in this process answers pings that a client process sends every
few milliseconds; the client measures each round trip. Alone, a response
takes tens of microseconds; with a CPU-bound thread beside it, the I/O
thread must wait for the GIL: up to a switch interval on 3.2+, and on 2.7
whatever the OS and the 100-tick check make of it.

usage: io_response.py [CPU_THREADS] [PINGS] [--no-pin]
prints: result wall=SECONDS p50_ms=... p99_ms=... max_ms=...
"""
from __future__ import print_function

import threading
import time

from experiment import arguments, cpu_threads, echo, listener, pin, run_client

CLIENT = r"""
pings = count
rtts = []
for i in range(pings):
    t0 = time.time()
    s.sendall(b"p")
    if s.recv(16) != b"p":
        raise SystemExit("bad answer")
    rtts.append(time.time() - t0)
    time.sleep(0.003)
s.close()
sys.stdout.write(" ".join("%.6f" % r for r in rtts) + "\n")
"""


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def main():
    (nthreads, pings), pinned = arguments([1, 300])
    client_cpu = pin(pinned)
    listening = listener()
    responder = threading.Thread(target=echo, args=(listening, 16), name="io-responder")
    responder.start()
    stop = []
    workers = cpu_threads(nthreads, stop)
    start = time.time()
    out = run_client(CLIENT, listening, pings, client_cpu)
    wall = time.time() - start
    stop.append(True)
    responder.join()
    for w in workers:
        w.join()
    rtts = [float(x) * 1000 for x in out.split()]
    print("%d pings with %d CPU-bound thread%s: response p50 %.3f ms, p99 %.3f ms, max %.3f ms"
          % (pings, nthreads, "" if nthreads == 1 else "s", pct(rtts, 0.5), pct(rtts, 0.99), max(rtts)))
    print("result wall=%.6f p50_ms=%.4f p99_ms=%.4f max_ms=%.4f" % (wall, pct(rtts, 0.5), pct(rtts, 0.99),
                                                                    max(rtts)))


main()
