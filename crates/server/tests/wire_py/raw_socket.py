"""Oversized message, garbage bytes, bad checksum and a stalled partial message each close
only their own connection; the server keeps answering other clients."""
import socket
import struct
import time

import bson

from common import PORT, client


def closed(sock, timeout=5.0):
    sock.settimeout(timeout)
    try:
        data = sock.recv(1024)
        return data == b""
    except ConnectionResetError:
        return True


def still_serving():
    assert client().admin.command("ping")["ok"] == 1.0


# Oversized: header claims 100 MB.
s = socket.create_connection(("127.0.0.1", PORT))
s.sendall(struct.pack("<iiii", 100_000_000, 1, 0, 2013))
assert closed(s)
still_serving()

# Garbage bytes.
s = socket.create_connection(("127.0.0.1", PORT))
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)))
assert closed(s)
still_serving()

# Valid length, garbage body.
s = socket.create_connection(("127.0.0.1", PORT))
s.sendall(struct.pack("<iiii", 40, 1, 0, 2013) + b"\xff" * 24)
assert closed(s)
still_serving()

# Bad checksum (flag bit 0 with a wrong CRC-32C).
body = bson.encode({"ping": 1, "$db": "admin"})
payload = struct.pack("<I", 1) + b"\x00" + body + b"\x00\x00\x00\x00"
s = socket.create_connection(("127.0.0.1", PORT))
s.sendall(struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload)
assert closed(s)
still_serving()

# A client that sends half a message and stalls does not block others.
stalled = socket.create_connection(("127.0.0.1", PORT))
stalled.sendall(struct.pack("<iiii", 1000, 1, 0, 2013)[:10])
t0 = time.time()
still_serving()
assert time.time() - t0 < 3.0

print("raw_socket.py: all checks passed")
