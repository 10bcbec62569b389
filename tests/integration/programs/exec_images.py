"""A process that execs (issue 12, F6). Each phase runs two named threads
that contend for the GIL, then the first image prints its pid and:
  python   os.execv's the same interpreter on this file ("second" phase)
  true     os.execv's /bin/true
  bare     os.execve's /bin/true with an empty environment (no LD_PRELOAD)
  fail     tries os.execv on a path that does not exist, prints
           "exec failed ERRNO", runs a second phase ("after"), then
           os.execv's the interpreter as `python` does
"""
import os
import sys
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


mode = sys.argv[1]
if mode == "second":
    phase("second")
    sys.exit(0)
phase("first")
print(os.getpid(), flush=True)
if mode == "fail":
    try:
        os.execv("/nonexistent/program", ["program"])
    except OSError as e:
        print("exec failed %d" % e.errno, flush=True)
    phase("after")
if mode == "true":
    os.execv("/bin/true", ["true"])
if mode == "bare":
    os.execve("/bin/true", ["true"], {})
os.execv(sys.executable, [sys.executable, os.path.abspath(__file__), "second"])
