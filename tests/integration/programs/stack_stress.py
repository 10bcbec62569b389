"""Stress for stack recording: while two CPU-bound threads fight over the
GIL and one sleeps in a loop (RELEASE and BUSY stacks all the time), one
thread imports extension modules (dlopen with the GIL held) and loads
shared libraries with ctypes, one starts short-lived threads that exit,
and one forks from a non-main thread: each child makes GIL traffic of its
own on two threads, then exits with os._exit. Prints what it did.

usage: stack_stress.py SECONDS   (at least; then until 20 threads, 4 forks and 5 imports)
"""
from __future__ import print_function

import os
import sys
import threading
import time

MODULES = ["_json", "_csv", "_bz2", "_lzma", "_decimal", "_sqlite3", "_ssl", "_hashlib", "_ctypes", "_asyncio",
           "_queue", "_uuid", "_zoneinfo", "_contextvars", "_multiprocessing", "_posixshmem", "mmap", "resource",
           "termios", "_elementtree", "pyexpat", "array", "select", "_socket", "unicodedata", "zlib", "binascii",
           "_struct", "math", "cmath", "_random", "_bisect", "_heapq", "_pickle", "_datetime", "_statistics", "grp",
           "fcntl", "_lsprof", "_md5", "_sha1", "_sha256", "_sha512", "_blake2", "_sha3", "_codecs_cn",
           "_codecs_jp", "_codecs_kr", "_codecs_tw", "_codecs_hk", "_codecs_iso2022", "_multibytecodec", "_dbm",
           "_opcode", "_posixsubprocess", "_crypt", "audioop", "_typing", "_xxsubinterpreters"]
LIBRARIES = ["libz.so.1", "libbz2.so.1.0", "liblzma.so.5", "libm.so.6", "libsqlite3.so.0", "libexpat.so.1",
             "libffi.so.8", "libuuid.so.1", "libcrypt.so.1", "libutil.so.1"]

stop = []
counts = {"imports": 0, "libraries": 0, "threads": 0, "forks": 0}


def spin():
    while not stop:
        n = 0
        for _ in range(20000):
            n += 1


def sleeper():
    while not stop:
        time.sleep(0.0005)


def importer():
    for name in MODULES:
        if stop:
            break
        try:
            __import__(name)
            counts["imports"] += 1
        except Exception:
            pass
        time.sleep(0.01)
    try:
        import ctypes
        for lib in LIBRARIES:
            try:
                ctypes.CDLL(lib)
                counts["libraries"] += 1
            except OSError:
                pass
            time.sleep(0.01)
    except ImportError:
        pass


def short_lived():
    for _ in range(3):
        time.sleep(0.001)
    n = 0
    for _ in range(5000):
        n += 1


def churn():
    while not stop:
        ts = [threading.Thread(target=short_lived) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        counts["threads"] += len(ts)


def child():
    t = threading.Thread(target=spin)
    t.start()
    end = time.time() + 0.05
    while time.time() < end:
        time.sleep(0.001)
    stop.append(True)
    t.join()
    os._exit(0)


def forker():
    pids = []
    while not stop and counts["forks"] < 8:
        pid = os.fork()
        if pid == 0:
            child()
        pids.append(pid)
        counts["forks"] += 1
        time.sleep(0.1)
    deadline = time.time() + 30
    for pid in pids:
        while time.time() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.01)
        else:
            print("child %d did not exit" % pid)
            sys.exit(3)


def main():
    seconds = float(sys.argv[1])
    threads = [threading.Thread(target=f, name=f.__name__)
               for f in (spin, spin, sleeper, importer, churn, forker)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    # Then until enough has happened (what the test requires), not for a
    # fixed time: on a loaded machine the GIL convoy sets the pace.
    deadline = time.time() + 60
    while (counts["threads"] < 20 or counts["forks"] < 4 or counts["imports"] < 5) and time.time() < deadline:
        time.sleep(0.05)
    stop.append(True)
    for t in threads:
        t.join()
    print("stress imports=%(imports)d libraries=%(libraries)d threads=%(threads)d forks=%(forks)d" % counts)


main()
