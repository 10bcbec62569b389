"""A program with one thread that sleeps in a loop: it must never wait for
the GIL. (2.7 and 3.6 create no GIL at all without a second thread.)

usage: single.py ROUNDS
"""
import sys
import time

for _ in range(int(sys.argv[1])):
    time.sleep(0.0005)
print("done")
