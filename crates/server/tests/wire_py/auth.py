"""Wrong password (18), unauthenticated commands (13), per-database access (13)."""
import socket
import struct

import bson
from pymongo.errors import OperationFailure

from common import PORT, client

try:
    client(password="wrong").admin.command("ping")
    raise AssertionError("wrong password accepted")
except OperationFailure as e:
    assert e.code == 18, e.details

try:
    client(user="nobody").admin.command("ping")
    raise AssertionError("unknown user accepted")
except OperationFailure as e:
    assert e.code == 18, e.details

limited = client(user="limited", password="pw")
limited["appdb"]["t"].insert_one({"a": 1})
assert limited["appdb"]["t"].count_documents({}) == 1
try:
    limited["otherdb"]["t"].find_one()
    raise AssertionError("unauthorised database readable")
except OperationFailure as e:
    assert e.code == 13, e.details
admin = client()
admin["otherdb"]["t"].insert_one({"b": 1})
names = limited.list_database_names()
assert "appdb" in names and "otherdb" not in names, names
assert "otherdb" in admin.list_database_names()


# Unauthenticated raw OP_MSG: ping works, find is refused with 13.
def op_msg(sock, body, rid):
    payload = struct.pack("<I", 0) + b"\x00" + bson.encode(body)
    sock.sendall(struct.pack("<iiii", 16 + len(payload), rid, 0, 2013) + payload)
    hdr = sock.recv(16, socket.MSG_WAITALL)
    length = struct.unpack("<i", hdr[:4])[0]
    rest = sock.recv(length - 16, socket.MSG_WAITALL)
    return bson.decode(rest[5:])


s = socket.create_connection(("127.0.0.1", PORT))
assert op_msg(s, {"ping": 1, "$db": "admin"}, 1)["ok"] == 1.0
r = op_msg(s, {"find": "t", "$db": "appdb"}, 2)
assert r["ok"] == 0.0 and r["code"] == 13 and r["codeName"] == "Unauthorized", r
r = op_msg(s, {"listDatabases": 1, "$db": "admin"}, 3)
assert r["code"] == 13, r
s.close()
admin.drop_database("otherdb")
admin.drop_database("appdb")
print("auth.py: all checks passed")
