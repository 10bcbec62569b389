"""A process tree of every shape the tracer must follow: a fork from a
thread that is not the main one, a fork that execs a new Python, a
subprocess that is not Python, and multiprocessing workers started with
spawn and forkserver. Prints, as JSON, the pids it made and their parents.
"""
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time


def busy_child():
    for _ in range(20):
        time.sleep(0.001)
    os._exit(0)


def fork_from_thread(out):
    pid = os.fork()
    if pid == 0:
        busy_child()
    os.waitpid(pid, 0)
    out["thread_fork"] = pid


def ids(_):
    time.sleep(0.01)
    return os.getpid(), os.getppid()


if __name__ == "__main__":
    made = {"main": os.getpid()}
    helper = threading.Thread(target=fork_from_thread, args=(made,))
    helper.start()
    helper.join()

    pid = os.fork()
    if pid == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time\nfor _ in range(20): time.sleep(0.001)"])
    os.waitpid(pid, 0)
    made["exec_child"] = pid

    made["sh_status"] = subprocess.call(["sh", "-c", "exit 0"])

    for method in ("spawn", "forkserver"):
        ctx = multiprocessing.get_context(method)
        with ctx.Pool(2) as pool:
            made[method] = sorted(set(pool.map(ids, range(8))))
    print(json.dumps(made))
