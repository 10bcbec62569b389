"""THREADS threads that each call time.sleep(0) ROUNDS times (each call
releases and re-takes the GIL: a known, count-bounded stream of events),
then one line on stdout.

usage: sleep0.py ROUNDS THREADS
"""
import sys
import threading
import time

rounds, count = int(sys.argv[1]), int(sys.argv[2])


def work():
    for _ in range(rounds):
        time.sleep(0)


threads = [threading.Thread(target=work, name="worker-%d" % i) for i in range(count)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("program finished normally")
