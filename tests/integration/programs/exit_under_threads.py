"""Threads hand the GIL over as fast as they can while the main thread
calls libc's exit() through ctypes, without the GIL (as an embedder or C
code may): the process ends under running threads. Prints the pid first.

usage: exit_under_threads.py THREADS
"""
import ctypes
import os
import sys
import threading
import time

print(os.getpid(), flush=True)
running = threading.Event()


def work():
    running.set()
    while True:
        time.sleep(0)


for i in range(int(sys.argv[1])):
    threading.Thread(target=work, daemon=True, name="switcher-%d" % i).start()
running.wait()
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0.5)  # let them switch for a while: the cut must fall among their handoffs
ctypes.CDLL(None).exit(0)
