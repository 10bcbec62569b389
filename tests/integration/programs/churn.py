"""Threads that hand the GIL over as fast as they can (time.sleep(0) releases
and re-takes it), for a given time: a steady, high GIL event rate with no
growth in memory of its own.

usage: churn.py SECONDS [THREADS]
"""
import sys
import threading
import time

end = time.time() + float(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def work():
    while time.time() < end:
        time.sleep(0)


threads = [threading.Thread(target=work) for _ in range(count)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("done")
