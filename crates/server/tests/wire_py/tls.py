"""TLS: pymongo with tls=True verifying the server's self-signed certificate; a plain-text
client is refused (connection closed) and the TLS server keeps serving."""
import socket
import struct
import sys

import bson
import pymongo

PORT = int(sys.argv[1])
CA = sys.argv[2]
uri = f"mongodb://user:pass@127.0.0.1:{PORT}/?authMechanism=SCRAM-SHA-256&tls=true&tlsCAFile={CA}"
c = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
assert c.admin.command("ping")["ok"] == 1.0
c["tls_db"]["t"].insert_one({"_id": 1, "secure": True})
assert c["tls_db"]["t"].find_one({"_id": 1}) == {"_id": 1, "secure": True}

s = socket.create_connection(("127.0.0.1", PORT))
body = bson.encode({"ping": 1, "$db": "admin"})
payload = struct.pack("<I", 0) + b"\x00" + body
s.sendall(struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload)
s.settimeout(15)
try:
    data = s.recv(1024)
    # Either closed, or a TLS alert record (content type 21), never an OP_MSG reply.
    assert data == b"" or data[0] == 21, data[:16]
except ConnectionResetError:
    pass
assert c.admin.command("ping")["ok"] == 1.0
c.drop_database("tls_db")
print("tls.py: all checks passed")
