"""Handshake with SCRAM-SHA-256 and SCRAM-SHA-1, CRUD, aggregate, indexes, admin commands."""
import pymongo
from pymongo.errors import DuplicateKeyError, OperationFailure

from common import client

c = client()
assert c.admin.command("ping")["ok"] == 1.0
info = c.server_info()
assert info["version"] == "8.0.0", info
db = c["crud_db"]
db.drop_collection("items")
coll = db["items"]

r = coll.insert_one({"_id": 1, "name": "a", "qty": 5})
assert r.inserted_id == 1
r = coll.insert_many([{"_id": i, "name": f"n{i}", "qty": i} for i in range(2, 12)])
assert r.inserted_ids == list(range(2, 12))
assert coll.count_documents({}) == 11
assert coll.count_documents({"qty": {"$gte": 5}}) == 8
assert coll.estimated_document_count() == 11
assert coll.find_one({"_id": 1})["name"] == "a"
docs = list(coll.find({"qty": {"$lt": 4}}, {"_id": 0, "qty": 1}).sort("qty", -1))
assert docs == [{"qty": 3}, {"qty": 2}], docs
assert [d["_id"] for d in coll.find().sort("_id", 1).skip(2).limit(3)] == [3, 4, 5]

r = coll.update_one({"_id": 1}, {"$inc": {"qty": 10}})
assert (r.matched_count, r.modified_count) == (1, 1)
assert coll.find_one({"_id": 1})["qty"] == 15
r = coll.update_many({"qty": {"$lt": 5}}, {"$set": {"small": True}})
assert r.modified_count == 3, r.raw_result
r = coll.update_one({"_id": 99}, {"$set": {"x": 1}}, upsert=True)
assert r.upserted_id == 99 and r.matched_count == 0
r = coll.replace_one({"_id": 99}, {"y": 2})
assert r.modified_count == 1 and coll.find_one({"_id": 99}) == {"_id": 99, "y": 2}
try:
    coll.update_one({"_id": 1}, {"$inc": {"name": 1}})
    raise AssertionError("expected TypeMismatch")
except OperationFailure as e:
    assert e.code == 14, e.details

doc = coll.find_one_and_update({"_id": 2}, {"$set": {"qty": 200}}, return_document=pymongo.ReturnDocument.AFTER)
assert doc["qty"] == 200
doc = coll.find_one_and_delete({"_id": 99})
assert doc["y"] == 2
assert coll.find_one_and_update({"_id": 1000}, {"$set": {"a": 1}}) is None

r = coll.delete_one({"_id": 3})
assert r.deleted_count == 1
r = coll.delete_many({"small": True})
assert r.deleted_count == 2, r.raw_result
assert sorted(coll.distinct("qty", {"qty": {"$gt": 8}})) == [9, 10, 11, 15]

agg = list(coll.aggregate([
    {"$match": {"qty": {"$gte": 5}}},
    {"$group": {"_id": None, "total": {"$sum": "$qty"}, "n": {"$sum": 1}}},
]))
assert agg == [{"_id": None, "total": 5 + 6 + 7 + 8 + 9 + 10 + 11 + 15, "n": 8}], agg
agg = list(coll.aggregate([{"$match": {"$expr": {"$eq": ["$_id", "$$target"]}}}, {"$project": {"_id": 1}}], let={"target": 1}))
assert agg == [{"_id": 1}], agg
list(coll.aggregate([{"$match": {"qty": {"$gt": 9}}}, {"$out": "big"}]))
assert db["big"].count_documents({}) == 3

# Indexes.
name = coll.create_index([("name", 1)], unique=True)
assert name == "name_1"
names = [i["name"] for i in coll.list_indexes()]
assert names == ["_id_", "name_1"], names
try:
    coll.insert_one({"name": "a"})
    raise AssertionError("expected DuplicateKeyError")
except DuplicateKeyError as e:
    assert e.code == 11000
plan = coll.find({"name": "a"}).explain()
assert "queryPlanner" in plan, plan
coll.drop_index("name_1")
assert [i["name"] for i in coll.list_indexes()] == ["_id_"]
coll.create_index("qty")
coll.drop_indexes()
assert [i["name"] for i in coll.list_indexes()] == ["_id_"]

# Admin.
assert "items" in db.list_collection_names()
assert db.list_collection_names(filter={"name": "big"}) == ["big"]
assert "crud_db" in c.list_database_names()
st = db.command("collStats", "items")
assert st["count"] == coll.count_documents({}), st
assert db.command("dbStats")["collections"] == 2
db["big"].rename("bigger")
assert sorted(db.list_collection_names()) == ["bigger", "items"]
db.create_collection("made")
try:
    db.command("create", "made")
    raise AssertionError("expected NamespaceExists")
except OperationFailure as e:
    assert e.code == 48, e.details
try:
    db.command("frobnicate")
    raise AssertionError("expected CommandNotFound")
except OperationFailure as e:
    assert e.code == 59 and e.details["codeName"] == "CommandNotFound"
try:
    db.command("collStats", "nope")
    raise AssertionError("expected NamespaceNotFound")
except OperationFailure as e:
    assert e.code == 26, e.details
ss = c.admin.command("serverStatus")
assert ss["connections"]["current"] >= 1 and ss["opcounters"]["insert"] >= 12, ss
assert c.admin.command("getParameter", 1, featureCompatibilityVersion=1)["featureCompatibilityVersion"]["version"] == "8.0"
assert c.admin.command("connectionStatus")["authInfo"]["authenticatedUsers"][0]["user"] == "user"
assert c.admin.command("hostInfo")["ok"] == 1.0
assert c.admin.command("whatsmyuri")["you"].startswith("127.0.0.1:")
assert c.admin.command("getLog", "startupWarnings")["log"] == []
c.drop_database("crud_db")
assert "crud_db" not in c.list_database_names()

# SCRAM-SHA-1 too.
c1 = client(mech="SCRAM-SHA-1")
assert c1.admin.command("ping")["ok"] == 1.0
c1["x"]["y"].insert_one({"a": 1})
assert c1["x"]["y"].find_one({}, {"_id": 0}) == {"a": 1}
c1.drop_database("x")
print("crud.py: all checks passed")
