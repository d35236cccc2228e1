"""Change streams: watch, receive inserts/updates/deletes, resume_after."""
import threading
import time

from common import client

c = client()
coll = c["cs_db"]["events"]
coll.drop()
coll.insert_one({"_id": 0})

with coll.watch(max_await_time_ms=500) as stream:
    def writer():
        time.sleep(0.3)
        w = client()["cs_db"]["events"]
        w.insert_one({"_id": 1, "a": 1})
        w.update_one({"_id": 1}, {"$set": {"a": 2}})
        client()["cs_db"]["other"].insert_one({"_id": "ignored"})
        w.delete_one({"_id": 1})
    t = threading.Thread(target=writer)
    t.start()
    first = stream.next()
    assert first["operationType"] == "insert", first
    assert first["fullDocument"] == {"_id": 1, "a": 1}, first
    assert first["ns"] == {"db": "cs_db", "coll": "events"}, first
    assert first["documentKey"] == {"_id": 1}
    token = stream.resume_token
    second = stream.next()
    assert second["operationType"] == "update", second
    third = stream.next()
    assert third["operationType"] == "delete" and third["documentKey"] == {"_id": 1}, third
    t.join()

# Resume after the first event: the update and the delete come again.
with coll.watch(resume_after=token, max_await_time_ms=300) as stream:
    ops = [stream.next()["operationType"], stream.next()["operationType"]]
    assert ops == ["update", "delete"], ops
    assert stream.try_next() is None

with coll.watch([{"$match": {"operationType": "insert"}}], full_document="updateLookup", max_await_time_ms=300) as stream:
    coll.update_one({"_id": 0}, {"$set": {"z": 1}})
    coll.insert_one({"_id": 5})
    ev = stream.next()
    assert ev["operationType"] == "insert" and ev["documentKey"] == {"_id": 5}, ev
c.drop_database("cs_db")
print("change_stream.py: all checks passed")
