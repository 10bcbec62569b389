"""Round trips to a TCP echo server in another process, with or without a
CPU-bound thread beside the client: the I/O-heavy case of the benchmarks.
With the CPU thread it is Beazley's convoy effect: each recv gives up the
GIL, and getting it back means waiting for the CPU thread to be forced off
(a switch interval). The processes are pinned (client on one CPU; the server
on another when there is a CPU thread, on the same one otherwise): left to
roam over a small VM's CPUs, the scheduler rather than the GIL decides how a
run goes, and timings jump between regimes 10-50x apart from run to run.
Prints the elapsed and CPU time of the client process during the round trips.

usage: echo_cpu.py ROUNDS [cpu|nocpu]
"""
import os
import socket
import subprocess
import sys
import threading
import time

SERVER = """
import os, socket, sys
if hasattr(os, "sched_setaffinity") and len(sys.argv) > 1:
    os.sched_setaffinity(0, {int(sys.argv[1])})
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
sys.stdout.write("%d\\n" % listener.getsockname()[1])
sys.stdout.flush()
conn, _ = listener.accept()
while True:
    data = conn.recv(1024)
    if not data:
        break
    conn.sendall(data)
"""


CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pin(cpu):
    """Keep the calling thread (and the threads it starts later) on one CPU."""
    if len(CPUS) >= 2:
        os.sched_setaffinity(0, {CPUS[cpu]})


def spin(stop):
    while not stop:
        for _ in range(1000):
            pass


def main():
    rounds = int(sys.argv[1])
    with_cpu = len(sys.argv) < 3 or sys.argv[2] == "cpu"
    server_cpu = [str(CPUS[1 if with_cpu else 0])] if len(CPUS) >= 2 else []
    server = subprocess.Popen([sys.executable, "-c", SERVER] + server_cpu, stdout=subprocess.PIPE)
    pin(0)
    port = int(server.stdout.readline())
    client = socket.create_connection(("127.0.0.1", port))
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stop = []
    cpu = threading.Thread(target=spin, args=(stop,))
    if with_cpu:
        cpu.start()
    message = b"x" * 64
    start, start_cpu = time.time(), time.process_time()
    for _ in range(rounds):
        client.sendall(message)
        got = 0
        while got < len(message):
            got += len(client.recv(1024))
    elapsed, cpu_used = time.time() - start, time.process_time() - start_cpu
    stop.append(True)
    client.close()
    server.wait()
    if with_cpu:
        cpu.join()
    print("elapsed=%.6f cpu=%.6f" % (elapsed, cpu_used))


main()
