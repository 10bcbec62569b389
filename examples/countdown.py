"""Beazley's countdown: a CPU-bound loop, run once in one thread or split
across N threads. On any CPython the threaded run is no faster, and the
trace shows why: the threads take turns on the GIL, a switch interval at a
time (2.7: every 100 ticks, with a battle for the lock on multicore).

usage: countdown.py [THREADS] [COUNT]     (THREADS 0 = sequential; default 2)
"""
import sys
import threading
import time


def count(n):
    while n > 0:
        n -= 1


def cpu_time():
    return time.process_time() if hasattr(time, "process_time") else time.clock()


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 20000000
    start, start_cpu = time.time(), cpu_time()
    if threads == 0:
        count(total)
    else:
        workers = [threading.Thread(target=count, args=(total // threads,), name="count-%d" % i)
                   for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    print("countdown of %d with %s: %.3f s (cpu %.3f s)"
          % (total, "%d threads" % threads if threads else "no threads", time.time() - start, cpu_time() - start_cpu))


main()
