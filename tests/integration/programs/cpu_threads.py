"""Two CPU-bound threads, the GIL battle. Traced by the integration tests.

usage: cpu_threads.py SECONDS [SWITCH_INTERVAL_S]

On 3.7+ it also reads the interpreter's own handoff counter (the GIL's
switch_number) before and after, found by scanning _PyRuntime for the switch
interval it sets (no offset tables), and prints one line for the test:
  fidelity t0_ns=... t1_ns=... sn0=... sn1=... interval_addr=0x...
"""
from __future__ import print_function

import os
import struct
import sys
import threading
import time


def spin(deadline):
    n = 0
    while time.time() < deadline:
        for _ in range(2000):
            n += 1


def read_words(mem, addr, count):
    """count 8-byte words at addr, read through /proc/self/mem so that an
    unmapped page reads as nothing instead of crashing; None per word lost."""
    words = []
    page = 4096
    for base in range(addr, addr + count * 8, page):
        try:
            data = os.pread(mem, page, base)
        except OSError:
            data = b""
        data = data.ljust(page, b"\0") if len(data) == page else None
        for off in range(0, page, 8):
            words.append(struct.unpack_from("<Q", data, off)[0] if data else None)
    return words[:count]


def find_switch_interval(ctypes):
    """Address of the GIL's `interval` field, by setting two distinct switch
    intervals and seeing which word near _PyRuntime follows both."""
    runtime = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    window = 128 * 1024 // 8
    mem = os.open("/proc/self/mem", os.O_RDONLY)
    try:
        sys.setswitchinterval(0.004321)
        first = [i for i, w in enumerate(read_words(mem, runtime, window)) if w == 4321]
        sys.setswitchinterval(0.005432)
        now = read_words(mem, runtime, window)
    finally:
        os.close(mem)
    both = [i for i in first if now[i] == 5432]
    if len(both) != 1:
        return None
    return runtime + both[0] * 8


def main():
    seconds = float(sys.argv[1])
    interval = float(sys.argv[2]) if len(sys.argv) > 2 else None
    fidelity = sys.version_info >= (3, 7)
    if fidelity:
        import ctypes
        addr = find_switch_interval(ctypes)
        fidelity = addr is not None
        if not fidelity:
            print("fidelity unavailable: switch interval not found in _PyRuntime")
    if interval is not None:
        sys.setswitchinterval(interval)
    elif sys.version_info >= (3, 2):
        sys.setswitchinterval(0.005)
    if fidelity:
        switch_number = ctypes.c_ulong.from_address(addr + 24)
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
