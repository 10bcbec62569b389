"""A program for `giltrace top` (tests/integration/test_top.py): two named
CPU-bound threads ("spin-a", "spin-b") do a fixed amount of work against a
named thread that sleeps in short steps ("napper"); when all three have
finished it prints "idle" and blocks on stdin, holding no GIL, until a line
(or EOF) tells it to exit. Until then its figures no longer change, so
`giltrace top` and `giltrace report` of the same run can be compared.

usage: top_target.py [LOOPS]
"""
import sys
import threading
import time

LOOPS = int(sys.argv[1]) if len(sys.argv) > 1 else 3_000_000


def spin():
    n = 0
    for i in range(LOOPS):
        n += i
    return n


def nap():
    for _ in range(100):
        time.sleep(0.002)


threads = [threading.Thread(target=spin, name="spin-a"), threading.Thread(target=spin, name="spin-b"),
           threading.Thread(target=nap, name="napper")]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("idle", flush=True)
sys.stdin.readline()
