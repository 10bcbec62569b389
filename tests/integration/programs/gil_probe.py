"""The interpreter's own count of GIL handoffs (the GIL's switch_number),
for the fidelity checks of the integration tests (3.7+).

It is found with no offset tables: set two distinct switch intervals and
see which word near _PyRuntime follows both (the GIL's `interval`);
switch_number is 24 bytes after it.
"""
import ctypes
import os
import struct
import sys


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


def find_switch_interval():
    """Address of the GIL's `interval` field, or None."""
    runtime = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    window = 128 * 1024 // 8
    mem = os.open("/proc/self/mem", os.O_RDONLY)
    try:
        old = sys.getswitchinterval()
        sys.setswitchinterval(0.004321)
        first = [i for i, w in enumerate(read_words(mem, runtime, window)) if w == 4321]
        sys.setswitchinterval(0.005432)
        now = read_words(mem, runtime, window)
        sys.setswitchinterval(old)
    finally:
        os.close(mem)
    both = [i for i in first if now[i] == 5432]
    if len(both) != 1:
        return None
    return runtime + both[0] * 8


def switch_number_at(interval_addr):
    """A live view of switch_number, given the address of `interval`."""
    return ctypes.c_ulong.from_address(interval_addr + 24)
