"""A subset runner of MongoDB's crud-unified spec tests through pymongo against the wire server.

Usage: crud_unified.py PORT SPEC_DIR. Runs collection-level CRUD operations, checks
expectResult (for counts/lists/documents), expectError (an error happened, and its code when
given), and outcome (final collection contents). Skips (with a reason) files and tests needing
other topologies, server versions outside 8.0, client entities beyond one client/database/
collection set, or operations this runner does not map. Prints per-file counts and a total.
"""
import json
import os
import sys

import bson
from bson import json_util
import pymongo
from pymongo import (DeleteMany, DeleteOne, InsertOne, ReplaceOne, ReturnDocument, UpdateMany,
                     UpdateOne)
from pymongo.errors import PyMongoError  # noqa: F401
from pymongo.write_concern import WriteConcern

PORT, SPEC_DIR = sys.argv[1], sys.argv[2]
client = pymongo.MongoClient(f"mongodb://user:pass@127.0.0.1:{PORT}/?authMechanism=SCRAM-SHA-256")


def version_tuple(v):
    return tuple(int(x) for x in v.split(".")[:3]) + (0,) * (3 - len(v.split(".")[:3]))


def runnable(reqs):
    if not reqs:
        return True
    for r in reqs:
        ok = True
        if "minServerVersion" in r and version_tuple(r["minServerVersion"]) > (8, 0, 0):
            ok = False
        if "maxServerVersion" in r and version_tuple(r["maxServerVersion"]) < (8, 0, 0):
            ok = False
        if "topologies" in r and "single" not in r["topologies"]:
            ok = False
        if r.get("serverless") == "require" or "serverParameters" in r or r.get("auth") is False:
            ok = False
        if ok:
            return True
    return False


class Skip(Exception):
    pass


def matches(expected, actual):
    """Unified-format matching: extra fields allowed in documents (except root arrays)."""
    if isinstance(expected, dict):
        if len(expected) == 1 and next(iter(expected)).startswith("$$"):
            op, arg = next(iter(expected.items()))
            if op == "$$exists":
                return (actual is not None) == arg
            if op == "$$unsetOrMatches":
                return actual is None or matches(arg, actual)
            if op == "$$type":
                return True
            raise Skip(f"operator {op}")
        if not isinstance(actual, dict):
            return False
        for k, v in expected.items():
            if isinstance(v, dict) and "$$exists" in v:
                if (k in actual) != v["$$exists"]:
                    return False
                continue
            if isinstance(v, dict) and "$$unsetOrMatches" in v:
                if k in actual and not matches(v["$$unsetOrMatches"], actual[k]):
                    return False
                continue
            if k not in actual or not matches(v, actual[k]):
                return False
        return True
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(
            matches(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        return isinstance(actual, (int, float)) and not isinstance(actual, bool) and expected == actual
    return expected == actual


def write_model(m):
    (name, a), = m.items()
    kw = {}
    for k in ("upsert", "arrayFilters", "hint", "collation", "sort"):
        if k in a:
            kw[{"arrayFilters": "array_filters"}.get(k, k)] = a[k]
    if name == "insertOne":
        return InsertOne(a["document"])
    if name == "updateOne":
        return UpdateOne(a["filter"], a["update"], **kw)
    if name == "updateMany":
        kw.pop("sort", None)
        return UpdateMany(a["filter"], a["update"], **kw)
    if name == "replaceOne":
        kw.pop("arrayFilters", None)
        return ReplaceOne(a["filter"], a["replacement"], **kw)
    if name == "deleteOne":
        return DeleteOne(a["filter"], **{k: v for k, v in kw.items() if k in ("hint", "collation")})
    if name == "deleteMany":
        return DeleteMany(a["filter"], **{k: v for k, v in kw.items() if k in ("hint", "collation")})
    raise Skip(f"model {name}")


SUPPORTED_ARGS = {"filter", "document", "documents", "update", "replacement", "upsert", "sort", "skip",
                  "limit", "projection", "batchSize", "arrayFilters", "hint", "returnDocument",
                  "ordered", "requests", "pipeline", "fieldName", "let", "comment"}


def run_op(coll, name, a):
    extra = set(a) - SUPPORTED_ARGS - {"session"}
    if extra:
        raise Skip(f"arguments {sorted(extra)}")
    if "session" in a:
        raise Skip("sessions")
    kw = {}
    if "hint" in a:
        kw["hint"] = a["hint"]
    if "let" in a:
        kw["let"] = a["let"]
    if "comment" in a:
        kw["comment"] = a["comment"]
    if name == "insertOne":
        r = coll.insert_one(a["document"], **{k: v for k, v in kw.items() if k == "comment"})
        return {"insertedId": r.inserted_id}
    if name == "insertMany":
        r = coll.insert_many(a["documents"], ordered=a.get("ordered", True))
        return {"insertedIds": {str(i): v for i, v in enumerate(r.inserted_ids)}}
    if name in ("updateOne", "updateMany", "replaceOne"):
        f = {"updateOne": coll.update_one, "updateMany": coll.update_many, "replaceOne": coll.replace_one}[name]
        if "arrayFilters" in a:
            kw["array_filters"] = a["arrayFilters"]
        if "sort" in a:
            kw["sort"] = a["sort"]
        body = a["replacement"] if name == "replaceOne" else a["update"]
        r = f(a["filter"], body, upsert=a.get("upsert", False), **kw)
        if not r.acknowledged:
            return None
        return {"matchedCount": r.matched_count, "modifiedCount": r.modified_count,
                "upsertedCount": 1 if r.upserted_id is not None else 0, "upsertedId": r.upserted_id}
    if name in ("deleteOne", "deleteMany"):
        f = coll.delete_one if name == "deleteOne" else coll.delete_many
        r = f(a["filter"], **kw)
        return {"deletedCount": r.deleted_count} if r.acknowledged else None
    if name == "find":
        cur = coll.find(a.get("filter", {}), a.get("projection"), skip=a.get("skip", 0),
                        limit=a.get("limit", 0), sort=list(a["sort"].items()) if "sort" in a else None,
                        batch_size=a.get("batchSize", 0), **kw)
        return list(cur)
    if name == "countDocuments":
        return coll.count_documents(a.get("filter", {}), **{k: a[k] for k in ("skip", "limit") if k in a}, **kw)
    if name == "estimatedDocumentCount":
        return coll.estimated_document_count()
    if name == "distinct":
        return coll.distinct(a["fieldName"], a.get("filter", {}))
    if name == "aggregate":
        return list(coll.aggregate(a["pipeline"], batchSize=a.get("batchSize"), **kw) if "batchSize" in a
                    else coll.aggregate(a["pipeline"], **kw))
    if name in ("findOneAndUpdate", "findOneAndReplace", "findOneAndDelete"):
        if "projection" in a:
            kw["projection"] = a["projection"]
        if "sort" in a:
            kw["sort"] = list(a["sort"].items())
        if name == "findOneAndDelete":
            return coll.find_one_and_delete(a["filter"], **kw)
        kw["upsert"] = a.get("upsert", False)
        kw["return_document"] = ReturnDocument.AFTER if a.get("returnDocument") == "After" else ReturnDocument.BEFORE
        if name == "findOneAndUpdate":
            if "arrayFilters" in a:
                kw["array_filters"] = a["arrayFilters"]
            return coll.find_one_and_update(a["filter"], a["update"], **kw)
        return coll.find_one_and_replace(a["filter"], a["replacement"], **kw)
    if name == "bulkWrite":
        r = coll.bulk_write([write_model(m) for m in a["requests"]], ordered=a.get("ordered", True),
                            **{k: v for k, v in kw.items() if k in ("let", "comment")})
        if not r.acknowledged:
            return None
        return {"insertedCount": r.inserted_count, "matchedCount": r.matched_count,
                "modifiedCount": r.modified_count, "deletedCount": r.deleted_count,
                "upsertedCount": r.upserted_count,
                "upsertedIds": {str(k): v for k, v in r.upserted_ids.items()}}
    raise Skip(f"operation {name}")


def load(path):
    with open(path) as f:
        return json_util.loads(f.read(), json_options=json_util.JSONOptions(document_class=dict))


totals = {"pass": 0, "fail": 0, "skip": 0}
failures = []
for fname in sorted(os.listdir(SPEC_DIR)):
    if not fname.endswith(".json") or fname.startswith("client-bulkWrite"):
        continue
    spec = load(os.path.join(SPEC_DIR, fname))
    counts = {"pass": 0, "fail": 0, "skip": 0}
    if not runnable(spec.get("runOnRequirements")):
        counts["skip"] += len(spec["tests"])
    else:
        ents = {}
        for e in spec.get("createEntities", []):
            (kind, v), = e.items()
            ents[v["id"]] = (kind, v)
        for t in spec["tests"]:
            try:
                if not runnable(t.get("runOnRequirements")) or t.get("skipReason"):
                    raise Skip("requirements")
                if '"collation"' in json.dumps(t["operations"]):
                    # Collations are a documented deviation (strings compare by bytes); the
                    # server refuses them with 115 rather than answering differently.
                    raise Skip("collation")
                for d in spec.get("initialData", []):
                    db = client[d["databaseName"]]
                    db.drop_collection(d["collectionName"])
                    db.create_collection(d["collectionName"])
                    if d["documents"]:
                        db[d["collectionName"]].insert_many(d["documents"])
                ok = True
                for op in t["operations"]:
                    obj = ents.get(op["object"])
                    if not obj or obj[0] != "collection":
                        raise Skip(f"object {op['object']}")
                    dbname = ents[obj[1]["database"]][1]["databaseName"]
                    coll = client[dbname][obj[1]["collectionName"]]
                    wc = obj[1].get("collectionOptions", {}).get("writeConcern")
                    if wc is not None:
                        coll = coll.with_options(write_concern=WriteConcern(**wc))
                    try:
                        result = run_op(coll, op["name"], op.get("arguments", {}))
                        if "expectError" in op:
                            ok = False
                            failures.append(f"{fname}: {t['description']}: expected an error")
                            break
                        if "expectResult" in op and not matches(op["expectResult"], result):
                            ok = False
                            failures.append(f"{fname}: {t['description']}: result {result!r} != {op['expectResult']!r}")
                            break
                    except Skip:
                        raise
                    except Exception as e:  # server errors and driver-side validation
                        ee = op.get("expectError")
                        if ee is None:
                            ok = False
                            failures.append(f"{fname}: {t['description']}: unexpected error {e}")
                            break
                        code = getattr(e, "code", None)
                        if "errorCode" in ee and code != ee["errorCode"]:
                            ok = False
                            failures.append(f"{fname}: {t['description']}: code {code} != {ee['errorCode']}")
                            break
                if ok:
                    for d in t.get("outcome", []):
                        got = list(client[d["databaseName"]][d["collectionName"]].find().sort("_id", 1))
                        if got != d["documents"]:
                            ok = False
                            failures.append(f"{fname}: {t['description']}: outcome {got!r} != {d['documents']!r}")
                            break
                counts["pass" if ok else "fail"] += 1
            except Skip:
                counts["skip"] += 1
    for k in totals:
        totals[k] += counts[k]
    print(f"{fname}: pass {counts['pass']} fail {counts['fail']} skip {counts['skip']}")
for f in failures:
    print("FAIL", f[:300])
print(f"TOTAL pass {totals['pass']} fail {totals['fail']} skip {totals['skip']}")
