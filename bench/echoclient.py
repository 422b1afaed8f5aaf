"""Blocking-socket echo client process, the same for every implementation.

Run as a script (stdlib only, no event loop): ``echoclient.py HOST PORT SIZE COUNT``.
It connects, prints ``ready``, waits for a line on stdin, then does COUNT round
trips of SIZE bytes (send the whole message, read until it is all back) and
prints ``done BYTES``.  Modelled on uvloop's ``examples/bench/echoclient.py``.
"""

from __future__ import annotations

import socket
import sys


def main(argv: list[str]) -> int:
    """Run one client; the exit status is 0 when every byte came back."""
    host, port, size, count = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    msg = b"x" * size
    buf = bytearray(size)
    view = memoryview(buf)
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("ready", flush=True)
    if not sys.stdin.readline().startswith("go"):
        return 1
    total = 0
    recv_into, sendall = sock.recv_into, sock.sendall
    for _ in range(count):
        sendall(msg)
        got = 0
        while got < size:
            k = recv_into(view[got:])
            if not k:
                print(f"error server closed after {total + got} bytes", flush=True)
                return 1
            got += k
        total += got
    sock.close()
    print(f"done {total}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
