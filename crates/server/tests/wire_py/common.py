"""Shared helpers for the wire-protocol client tests (run by tests/wire_pymongo.rs)."""
import sys

import pymongo

PORT = int(sys.argv[1])


def client(user="user", password="pass", mech="SCRAM-SHA-256", **kw):
    uri = f"mongodb://{user}:{password}@127.0.0.1:{PORT}/?authMechanism={mech}"
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000, **kw)
