"""An I/O thread beside a CPU-bound one, for the experiment-mode test: the
thread "io" sleeps 1 ms (a voluntary GIL release) N times while "cpu-0"
spins; the switch interval is set to INTERVAL_MS. Prints a checksum of
what both threads computed, which no scheduling may change.

usage: io_beside_cpu.py INTERVAL_MS N
"""
import sys
import threading
import time

interval_ms, rounds = float(sys.argv[1]), int(sys.argv[2])
sys.setswitchinterval(interval_ms / 1000.0)
stop = []
spun = [0]
seen = []


def spin():
    n = 0
    while not stop:
        n = (n * 31 + 7) % 1000003
    spun[0] = n


def io():
    for i in range(rounds):
        time.sleep(0.001)
        seen.append(i * i)


cpu = threading.Thread(target=spin, name="cpu-0")
cpu.start()
worker = threading.Thread(target=io, name="io")
worker.start()
worker.join()
stop.append(True)
cpu.join()
print("checksum %d rounds %d" % (sum(seen), len(seen)))
