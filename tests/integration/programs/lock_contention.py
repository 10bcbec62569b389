"""threading.Lock traffic that must not be mistaken for the GIL.

usage: lock_contention.py uncontended ROUNDS   one thread, a lock taken and released
       lock_contention.py contended ROUNDS     two threads fighting over one lock
"""
import sys
import threading

mode, rounds = sys.argv[1], int(sys.argv[2])
lock = threading.Lock()
counter = [0]


def work():
    for _ in range(rounds):
        lock.acquire()
        counter[0] += 1
        lock.release()


helper = threading.Thread(target=lambda: None)
helper.start()
helper.join()
if mode == "uncontended":
    work()
else:
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
print("counter=%d" % counter[0])
