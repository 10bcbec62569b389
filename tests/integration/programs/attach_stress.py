"""A program that giltrace attach must not hurt, however often it comes:
its threads allocate in C (stress_alloc.c, GIL released), allocate and
import in Python, load libraries, sleep and do socket I/O, and count every
time a sleep or a recv fails with EINTR, at the libc level where Python's
own retries cannot hide it.

usage: attach_stress.py STRESS_ALLOC_SO
Prints "ready", then obeys lines on stdin:
  status  print "status WORKER=ROUNDS ... eintr=N bad=N"
  stop    stop, join every thread, print the same line prefixed "final",
          then "done"
"""
import ctypes
import errno
import importlib
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

libc = ctypes.CDLL(None, use_errno=True)
CLOCK_MONOTONIC = 1
TIMER_ABSTIME = 1


class timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class Work:
    def __init__(self):
        self.stop = threading.Event()
        self.c_stop = ctypes.c_int(0)
        self.rounds = {}
        self.c_rounds = {}
        self.eintr = 0
        self.bad = 0

    def count(self, name):
        self.rounds[name] = self.rounds.get(name, 0) + 1


def c_allocator(w, lib, name):
    w.c_rounds[name] = ctypes.c_long(0)
    lib.stress_alloc(ctypes.byref(w.c_stop), ctypes.byref(w.c_rounds[name]))


def py_allocator(w):
    while not w.stop.is_set():
        blocks = [bytearray(1000 + i) for i in range(200)]
        if len(blocks[-1]) != 1199:
            w.bad += 1
        w.count("pyalloc")


def importer(w, where):
    sys.path.insert(0, where)
    n = 0
    while not w.stop.is_set():
        name = "stress_mod_%d" % (n % 20)
        with open(os.path.join(where, name + ".py"), "w") as f:
            f.write("X = %d\n" % n)
        importlib.invalidate_caches()
        sys.modules.pop(name, None)
        if importlib.import_module(name).X != n:
            w.bad += 1
        ctypes.CDLL("libm.so.6")
        n += 1
        w.count("import")


def sleeper(w):
    while not w.stop.is_set():
        # As time.sleep does on 3.11+: clock_nanosleep to an absolute deadline.
        t = timespec()
        libc.clock_gettime(CLOCK_MONOTONIC, ctypes.byref(t))
        t.tv_nsec += 2000000
        t.tv_sec, t.tv_nsec = t.tv_sec + t.tv_nsec // 1000000000, t.tv_nsec % 1000000000
        if libc.clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ctypes.byref(t), None) == errno.EINTR:
            w.eintr += 1
        # A relative one, which the kernel resumes from what it kept.
        if libc.nanosleep(ctypes.byref(timespec(0, 1000000)), None) != 0 and ctypes.get_errno() == errno.EINTR:
            w.eintr += 1
        t0 = time.monotonic()
        time.sleep(0.001)
        if time.monotonic() - t0 < 0.001:
            w.bad += 1
        w.count("sleep")


def receiver(w, sock):
    buf = ctypes.create_string_buffer(256)
    while True:
        n = libc.recv(sock.fileno(), buf, 256, 0)
        if n < 0 and ctypes.get_errno() == errno.EINTR:
            w.eintr += 1
            continue
        if n <= 0:
            break
        w.count("recv")


def sender(w, sock):
    while not w.stop.is_set():
        sock.send(b"x" * 32)
        time.sleep(0.0005)
    sock.close()


def status(w):
    rounds = dict(w.rounds)
    rounds.update((name, c.value) for name, c in list(w.c_rounds.items()))
    return " ".join("%s=%d" % kv for kv in sorted(rounds.items())) + " eintr=%d bad=%d" % (w.eintr, w.bad)


def main():
    lib = ctypes.CDLL(sys.argv[1])
    w = Work()
    where = tempfile.mkdtemp(prefix="attach-stress-")
    a, b = socket.socketpair()
    threads = [threading.Thread(target=c_allocator, args=(w, lib, "calloc%d" % i)) for i in range(2)]
    threads += [threading.Thread(target=f, args=args) for f, args in [
        (py_allocator, (w,)), (importer, (w, where)), (sleeper, (w,)), (receiver, (w, a)), (sender, (w, b))]]
    for t in threads:
        t.start()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "status":
            print("status " + status(w), flush=True)
        elif line.strip() == "stop":
            break
    w.stop.set()
    w.c_stop.value = 1
    for t in threads:
        t.join()
    shutil.rmtree(where)
    print("final " + status(w), flush=True)
    print("done", flush=True)


main()
