"""Two CPU-bound threads, the GIL battle. Traced by the integration tests.

usage: cpu_threads.py SECONDS [SWITCH_INTERVAL_S]

On 3.7+ it also reads the interpreter's own handoff counter (the GIL's
switch_number, found by gil_probe.py) before and after, and prints one line
for the test:
  fidelity t0_ns=... t1_ns=... sn0=... sn1=... interval_addr=0x...
"""
from __future__ import print_function

import sys
import threading
import time


def spin(deadline):
    n = 0
    while time.time() < deadline:
        for _ in range(2000):
            n += 1


def main():
    seconds = float(sys.argv[1])
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else None
    fidelity = sys.version_info >= (3, 7)
    if fidelity:
        import gil_probe
        addr = gil_probe.find_switch_interval()
        fidelity = addr is not None
        if not fidelity:
            print("fidelity unavailable: switch interval not found in _PyRuntime")
    if interval is not None:
        sys.setswitchinterval(interval)
    elif sys.version_info >= (3, 2):
        sys.setswitchinterval(0.005)
    if fidelity:
        switch_number = gil_probe.switch_number_at(addr)
        t0 = time.monotonic_ns()
        sn0 = switch_number.value
    deadline = time.time() + seconds
    threads = [threading.Thread(target=spin, args=(deadline,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if fidelity:
        sn1 = switch_number.value
        t1 = time.monotonic_ns()
        print("fidelity t0_ns=%d t1_ns=%d sn0=%d sn1=%d interval_addr=0x%x" % (t0, t1, sn0, sn1, addr))
    print("done")


main()
