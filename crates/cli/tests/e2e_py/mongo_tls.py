"""`stratus serve --mongo-listen` with `[mongo]` TLS and cursor limits from the config file:
pymongo connects over TLS (verifying the test's certificate) with a console user's email and
password (SCRAM-SHA-256), writes and reads, and meets the per-user cursor limit; a plain-text
client gets no MongoDB reply; a wrong password is refused."""
import socket
import struct
import sys

import bson
import pymongo
from pymongo.errors import OperationFailure

PORT, CA, EMAIL, PASSWORD = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def client(password):
    return pymongo.MongoClient(
        "127.0.0.1",
        PORT,
        username=EMAIL,
        password=password,
        authMechanism="SCRAM-SHA-256",
        tls=True,
        tlsCAFile=CA,
        serverSelectionTimeoutMS=10000,
    )


c = client(PASSWORD)
assert c.admin.command("ping")["ok"] == 1.0
coll = c["e2e_tls"]["items"]
coll.insert_many([{"_id": i, "n": i} for i in range(10)])
assert coll.count_documents({"n": {"$gte": 5}}) == 5
assert coll.find_one({"_id": 3}) == {"_id": 3, "n": 3}

# max_cursors_per_user = 2 in the config: two open cursors, the third is refused with
# OperationFailed (96) naming the option; closing one frees its place.
first = coll.find({}, batch_size=1)
next(first)
second = coll.find({}, batch_size=1)
next(second)
third = coll.find({}, batch_size=1)
try:
    next(third)
    raise AssertionError("a third open cursor was allowed")
except OperationFailure as e:
    assert e.code == 96, e.details
    assert "mongo.max_cursors_per_user" in str(e), e.details
first.close()
again = coll.find({}, batch_size=1)
assert next(again)["_id"] == 0
assert len(list(second)) == 9
again.close()

# A plain-text client on the TLS port never gets an OP_MSG reply.
s = socket.create_connection(("127.0.0.1", PORT))
body = bson.encode({"ping": 1, "$db": "admin"})
payload = struct.pack("<I", 0) + b"\x00" + body
s.sendall(struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload)
s.settimeout(15)
try:
    data = s.recv(1024)
    assert data == b"" or data[0] == 21, data[:16]
except ConnectionResetError:
    pass

try:
    client(PASSWORD + "x").admin.command("ping")
    raise AssertionError("a wrong password was accepted")
except OperationFailure as e:
    assert e.code == 18, e.details

assert c.admin.command("ping")["ok"] == 1.0
c.drop_database("e2e_tls")
print("mongo_tls.py: all checks passed")
