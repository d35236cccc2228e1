"""Tenant isolation over the MongoDB wire protocol (run by tests/wire_tenancy.rs).

argv: MODE PORT USER PASSWORD OWN_DB OTHER_DB OWN_PREFIX OTHER_USER OTHER_PASSWORD
MODE: `access` (reads, writes, refusals, listDatabases, wrong password) or `out`
($out / $merge naming the other project's database).
USER is a member of the project owning OWN_DB only; OTHER_USER of the project owning
OTHER_DB only (used to look at OTHER_DB from its legitimate side).
"""
import sys

import pymongo
from pymongo.errors import OperationFailure

MODE, PORT, USER, PASSWORD, OWN, OTHER, PREFIX, OTHER_USER, OTHER_PASSWORD = sys.argv[1:10]
checks = 0


def client(user, password):
    return pymongo.MongoClient(
        host="127.0.0.1",
        port=int(PORT),
        username=user,
        password=password,
        authMechanism="SCRAM-SHA-256",
        authSource="admin",
        serverSelectionTimeoutMS=5000,
    )


def check(cond, what):
    global checks
    if not cond:
        print(f"FAILED: {what}")
        sys.exit(1)
    checks += 1


def refused(fn, what):
    try:
        fn()
    except OperationFailure as e:
        check(e.code == 13, f"{what}: code {e.code} ({e.details}) should be 13")
        return
    check(False, f"{what}: was not refused")


c = client(USER, PASSWORD)
# Own project: write and read back.
own = c[OWN]["notes"]
own.insert_one({"_id": 1, "text": "mine"})
own.insert_many([{"_id": 2, "text": "also"}, {"_id": 3, "text": "more"}])
check(own.count_documents({}) == 3, "count in own database")
check(own.find_one({"_id": 1})["text"] == "mine", "read back in own database")
own.update_one({"_id": 2}, {"$set": {"text": "changed"}})
check(own.find_one({"_id": 2})["text"] == "changed", "update in own database")
check("notes" in c[OWN].list_collection_names(), "listCollections in own database")

# Other project: every operation is refused with Unauthorized (13).
other = c[OTHER]["notes"]
refused(lambda: other.insert_one({"x": 1}), "insert into the other project")
refused(lambda: other.find_one({}), "find in the other project")
refused(lambda: other.count_documents({}), "count in the other project")
refused(lambda: other.delete_many({}), "delete in the other project")
refused(lambda: c[OTHER].list_collection_names(), "listCollections in the other project")
# The other project's member sees and writes their own data.
o = client(OTHER_USER, OTHER_PASSWORD)
o[OTHER]["secrets"].insert_one({"_id": 1, "v": "theirs"})
check(o[OTHER]["secrets"].count_documents({}) == 1, "other member writes their database")
refused(lambda: o[OWN]["notes"].find_one({}), "the other member reading our database")

# listDatabases: only the own project's databases.
names = c.list_database_names()
print("listDatabases:", names)
check(OWN in names, f"{OWN} listed")
check(OTHER not in names, f"{OTHER} not listed")
check(all(n.startswith(PREFIX) for n in names), f"only {PREFIX}* databases listed: {names}")

# A wrong password fails authentication (code 18) on first use.
bad = client(USER, PASSWORD + "x")
try:
    bad[OWN].command("ping")
    check(False, "wrong password was accepted")
except OperationFailure as e:
    check(e.code == 18, f"wrong password: code {e.code} should be 18 (AuthenticationFailed)")
unknown = client("nobody@example.com", PASSWORD)
try:
    unknown[OWN].command("ping")
    check(False, "unknown user was accepted")
except OperationFailure as e:
    check(e.code == 18, f"unknown user: code {e.code} should be 18")

if MODE == "out":
    # $lookup / $unionWith naming the other project's database must not read from it.
    for stage in ({"$lookup": {"from": {"db": OTHER, "coll": "secrets"}, "pipeline": [], "as": "j"}},
                  {"$unionWith": {"coll": {"db": OTHER, "coll": "secrets"}}}):
        name = next(iter(stage))
        try:
            got = list(own.aggregate([stage]))
            check("theirs" not in str(got), f"{name} read the other project's database: {got}")
        except OperationFailure as e:
            print(f"{name} from the other project refused with code {e.code}")
    # $out / $merge naming the other project's database must not write there.
    for stage in ({"$out": {"db": OTHER, "coll": "stolen_out"}},
                  {"$merge": {"into": {"db": OTHER, "coll": "stolen_merge"}}}):
        name = next(iter(stage))
        target = f"stolen_{name[1:]}"
        try:
            list(own.aggregate([stage]))
            print(f"{name} into the other project: no error")
        except OperationFailure as e:
            print(f"{name} into the other project refused with code {e.code}")
        leaked = target in o[OTHER].list_collection_names()
        check(not leaked, f"{name} wrote into the other project's database")
        check(o[OTHER][target].count_documents({}) == 0, f"{name} documents in the other database")

print(f"{checks} checks; all checks passed")
