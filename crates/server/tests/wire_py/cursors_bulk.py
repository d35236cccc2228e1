"""Cursors across several getMores, killCursors, bulk writes with partial errors."""
from pymongo import DeleteOne, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from common import client

c = client()
coll = c["cur_db"]["many"]
coll.drop()
coll.insert_many([{"_id": i, "v": i % 7} for i in range(250)])

# batch_size 7 -> 1 find + 36 getMores; check order and completeness.
seen = [d["_id"] for d in coll.find().sort("_id", 1).batch_size(7)]
assert seen == list(range(250)), seen[:10]
before = c.admin.command("serverStatus")["opcounters"]["getmore"]
assert len(list(coll.find({"v": 3}).batch_size(5))) == len([i for i in range(250) if i % 7 == 3])
after = c.admin.command("serverStatus")["opcounters"]["getmore"]
assert after - before >= 7, (before, after)
agg = list(coll.aggregate([{"$sort": {"_id": -1}}], batchSize=10))
assert [d["_id"] for d in agg] == list(range(249, -1, -1))

# An abandoned cursor is killed on close().
cur = coll.find().batch_size(3)
next(cur)
cid = cur.cursor_id
assert cid != 0
cur.close()
r = c["cur_db"].command("killCursors", "many", cursors=[cid])
assert r["cursorsNotFound"] == [cid], r
from pymongo.errors import OperationFailure
try:
    c["cur_db"].command("getMore", cid, collection="many")
    raise AssertionError("getMore on a killed cursor")
except OperationFailure as e:
    assert e.code == 43, e.details

# Ordered bulk: stops at the first error.
bulk = c["cur_db"]["bulk"]
bulk.drop()
try:
    bulk.bulk_write([InsertOne({"_id": 1}), InsertOne({"_id": 1}), InsertOne({"_id": 2})])
    raise AssertionError("expected BulkWriteError")
except BulkWriteError as e:
    d = e.details
    assert d["nInserted"] == 1, d
    assert len(d["writeErrors"]) == 1 and d["writeErrors"][0]["index"] == 1, d
    assert d["writeErrors"][0]["code"] == 11000, d
assert bulk.count_documents({}) == 1

# Unordered bulk: continues past errors, mixed operations.
try:
    bulk.bulk_write([
        InsertOne({"_id": 1}),
        InsertOne({"_id": 3}),
        UpdateOne({"_id": 3}, {"$inc": {"n": "x"}}),
        UpdateOne({"_id": 3}, {"$set": {"n": 1}}),
        UpdateOne({"_id": 4}, {"$set": {"n": 4}}, upsert=True),
        DeleteOne({"_id": 1}),
    ], ordered=False)
    raise AssertionError("expected BulkWriteError")
except BulkWriteError as e:
    d = e.details
    idx = sorted(w["index"] for w in d["writeErrors"])
    assert idx == [0, 2], d
    assert d["nInserted"] == 1 and d["nModified"] == 1 and d["nUpserted"] == 1 and d["nRemoved"] == 1, d
assert sorted(x["_id"] for x in bulk.find()) == [3, 4]
c.drop_database("cur_db")
print("cursors_bulk.py: all checks passed")
