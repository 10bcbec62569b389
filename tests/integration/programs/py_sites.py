"""Known Python functions at known lines, for the Python stack tests
(tests/integration/test_py_stacks.py). Lines are found by the markers
"# @name" at their ends, never by number. Prints a JSON line with the native
thread ids of its Python threads, so that the thread started from C
(no Python frame at all) can be told apart. With --wait (for giltrace
attach) it prints "ready", runs when a line comes on stdin, and ends at the
next line.

The main thread spins in `beta` while the others run, so the others wait
for the GIL after each sleep (BUSY) and `beta` is asked to drop it (forced
releases at its loop line). The threads start their work only when the main
thread is about to spin: on a loaded machine, starting them can take longer
than their sleeps, which would then find the GIL free (no wait)."""
import _thread
import asyncio
import json
import sys
import threading
import time

stop = [False]
nap = 0.002


def alpha():
    for _ in range(40):
        time.sleep(nap)  # @alpha-sleep


def beta():
    n = 0
    while not stop[0]: n += 1  # @beta-loop
    return n


def three():
    for _ in range(20):
        time.sleep(nap)  # @three-sleep


def two():
    three()  # @two-call


def one():
    two()  # @one-call


async def gamma():
    for _ in range(20):
        time.sleep(nap)  # @gamma-sleep
        await asyncio.sleep(0)


def coroutine_thread():
    run = getattr(asyncio, "run", None) or (lambda c: asyncio.new_event_loop().run_until_complete(c))  # 3.6
    run(gamma())  # @gamma-run


def delta():
    for i in range(20):
        time.sleep(nap)  # @delta-sleep
        yield i


def generator_thread():
    for _ in delta():  # @delta-consume
        pass


def exec_thread():
    """Code compiled again and again (exec): each round's code object may
    take the address of the last one, freed; its name says which round."""
    for i in range(20):
        ns = {}
        exec(compile("import time\ndef eps%d():\n    time.sleep(%r)\n" % (i, nap), "<exec-%d>" % (i % 2), "exec"),
             ns)
        ns["eps%d" % i]()


def native_id():
    """threading.get_native_id() (3.8+), else gettid through libc."""
    if hasattr(threading, "get_native_id"):
        return threading.get_native_id()
    import ctypes
    import platform
    return ctypes.CDLL(None).syscall(186 if platform.machine() == "x86_64" else 178)


def main():
    tids = [native_id()]
    go = threading.Event()

    def run(fn):
        def body():
            tids.append(native_id())
            go.wait()
            fn()
        t = threading.Thread(target=body, name=fn.__name__)
        t.start()
        return t

    workers = [run(alpha), run(one), run(coroutine_thread), run(generator_thread), run(exec_thread)]
    _thread.start_new_thread(time.sleep, (0.15,))  # a thread with no Python frame: started from C

    def stopper():
        for w in workers:
            w.join()
        time.sleep(0.2)  # lets the thread started from C end while beta spins
        stop[0] = True
    run(stopper)
    go.set()
    beta()
    print(json.dumps({"python_tids": tids}))
    sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:] == ["--wait"]:  # for giltrace attach: run when told, then wait to be told to end
        print("ready", flush=True)
        sys.stdin.readline()
        main()
        sys.stdin.readline()
    else:
        main()
