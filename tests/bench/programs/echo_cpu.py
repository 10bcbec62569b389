"""Round trips over a TCP echo server, with or without a CPU-bound thread
beside them: the I/O-heavy case of the benchmarks (and, with the CPU thread,
the convoy effect: each recv gives up the GIL and waits a switch interval to
get it back). Prints the elapsed time of the round trips.

usage: echo_cpu.py ROUNDS [cpu|nocpu]
"""
import socket
import sys
import threading
import time


def serve(listener):
    conn, _ = listener.accept()
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.sendall(data)
    conn.close()


def spin(stop):
    while not stop:
        for _ in range(1000):
            pass


def main():
    rounds = int(sys.argv[1])
    with_cpu = len(sys.argv) < 3 or sys.argv[2] == "cpu"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    server = threading.Thread(target=serve, args=(listener,))
    server.start()
    stop = []
    cpu = threading.Thread(target=spin, args=(stop,))
    if with_cpu:
        cpu.start()
    client = socket.create_connection(listener.getsockname())
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    message = b"x" * 64
    start = time.time()
    for _ in range(rounds):
        client.sendall(message)
        got = 0
        while got < len(message):
            got += len(client.recv(1024))
    elapsed = time.time() - start
    stop.append(True)
    client.close()
    server.join()
    if with_cpu:
        cpu.join()
    print("elapsed=%.6f" % elapsed)


main()
