"""One thread sleeping in a loop: the GIL is released and taken back each
time, and nobody else wants it. A short-lived helper thread runs first, so
that interpreters that create their GIL lazily (2.7, 3.6) have one.

usage: sleeper.py ROUNDS
"""
import sys
import threading
import time

helper = threading.Thread(target=lambda: None)
helper.start()
helper.join()
for _ in range(int(sys.argv[1])):
    time.sleep(0.001)
print("done")
