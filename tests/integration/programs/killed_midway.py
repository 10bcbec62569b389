"""Two threads, one spinning and one sleeping in a loop; after each sleep the
sleeper writes its pid and how many sleeps it has done to a file (overwriting
one line). The crash tests kill it with SIGKILL midway and then look for at
least that many sleeps' worth of events in the trace.

usage: killed_midway.py COUNT_FILE
"""
import os
import sys
import threading
import time


def spin():
    while True:
        for _ in range(1000):
            pass


threading.Thread(target=spin, daemon=True).start()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
done = 0
while True:
    time.sleep(0.0005)
    done += 1
    os.pwrite(fd, ("%d %d" % (os.getpid(), done)).ljust(40).encode(), 0)
