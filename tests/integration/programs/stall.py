"""A GIL stall: one thread spins while the main thread sorts two million
floats, C code that holds the GIL for about a second without letting go.
The spinner waits that long: what --trigger-wait-ms is for."""
import random
import threading
import time

stop = []


def spin():
    while not stop:
        pass


t = threading.Thread(target=spin)
t.start()
time.sleep(0.2)
data = [random.random() for _ in range(2000000)]
data.sort()
time.sleep(0.2)
stop.append(1)
t.join()
print("sorted %d" % len(data))
