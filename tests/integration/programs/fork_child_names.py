"""A program that has imported threading forks; the child starts two
threads, then exits. Prints the child's pid.

usage: fork_child_names.py
"""
import os
import threading
import time


def work():
    for _ in range(200):
        time.sleep(0)


def threads(prefix):
    ts = [threading.Thread(target=work, name="%s-%d" % (prefix, i)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


pid = os.fork()
if pid == 0:
    threads("child")
    os._exit(0)
os.waitpid(pid, 0)
print(pid)
