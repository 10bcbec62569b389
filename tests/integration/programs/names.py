"""Threads with Python names, for the thread-name check: default names, a
given name, a thread renamed while it runs (seen once another thread
starts, 50 ms or more after the last look), and a thread pool. Each thread prints its kernel tid and the name
it has when it finishes, so the test can compare with threads.name.

usage: names.py
"""
from __future__ import print_function

import ctypes
import sys
import threading
import time

_libc = ctypes.CDLL(None)


def gettid():
    return _libc.syscall(186)  # SYS_gettid on x86-64


lock = threading.Lock()
seen = []


def report(extra_wait=0.0):
    time.sleep(0.02 + extra_wait)
    with lock:
        seen.append((gettid(), threading.current_thread().name))


def main():
    report_main = (gettid(), threading.current_thread().name)
    a = threading.Thread(target=report)
    b = threading.Thread(target=report, name="named-worker")
    r = threading.Thread(target=report, args=(0.3,), name="before-rename")
    for t in (a, b, r):
        t.start()
    r.name = "after-rename"
    time.sleep(0.1)  # the shim reads the running threads' names at most every 50 ms
    c = threading.Thread(target=report, name="started-after-rename")
    c.start()
    if sys.version_info >= (3, 2):
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="pool") if sys.version_info >= (3, 6) \
                else ThreadPoolExecutor(max_workers=2) as ex:
            list(ex.map(lambda _: report(), range(4)))
    for t in (a, b, r, c):
        t.join()
    seen.append(report_main)
    for tid, name in sorted(set(seen)):
        print("thread tid=%d name=%s" % (tid, name))


main()
