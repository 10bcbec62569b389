"""Two threads, then a subprocess whose exec fails (CPython 3.10+ runs it
through vfork and the child calls _exit(255)), then two more threads.
Prints the pid."""
import os
import subprocess
import threading


def work(n):
    for _ in range(n):
        sum(range(200))


def phase(name):
    ts = [threading.Thread(target=work, args=(3000,), name="%s-%d" % (name, i)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


phase("before")
try:
    subprocess.run(["/nonexistent/program"])
except FileNotFoundError:
    pass
phase("after")
print(os.getpid())
