"""Load generator for benches/wire.rs: OP (find_id | insert) from THREADS threads, each with
its own MongoClient (one connection), for SECONDS; prints a line START when the measured
window opens and END when it closes (the bench samples the server's CPU time at both), then
one JSON line with ops/s, p50, p99 (microseconds).
Usage: bench_pymongo.py PORT OP THREADS SECONDS KEYS"""
import json
import sys
import threading
import time

import pymongo

port, op, threads, seconds, keys = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
uri = f"mongodb://user:pass@127.0.0.1:{port}/?authMechanism=SCRAM-SHA-256"
clients = [pymongo.MongoClient(uri, maxPoolSize=1) for _ in range(threads)]
for c in clients:
    c.admin.command("ping")
lat = [[] for _ in range(threads)]
start_evt = threading.Event()
deadline = [0.0]


def work(i):
    coll = clients[i]["bench"]["wire"]
    out = lat[i]
    n = 0
    start_evt.wait()
    while True:
        t0 = time.perf_counter()
        if t0 >= deadline[0]:
            break
        if op == "find_id":
            doc = coll.find_one({"_id": (i * 7919 + n) % keys})
            assert doc is not None
        else:
            coll.insert_one({"_id": f"py-{i}-{n}", "v": n})
        out.append(time.perf_counter() - t0)
        n += 1


ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
for t in ts:
    t.start()
print("START", flush=True)
t0 = time.perf_counter()
deadline[0] = t0 + seconds
start_evt.set()
for t in ts:
    t.join()
elapsed = time.perf_counter() - t0
print("END", flush=True)
all_lat = sorted(x for l in lat for x in l)
n = len(all_lat)
print(json.dumps({
    "ops": n,
    "ops_per_s": n / elapsed,
    "p50_us": all_lat[n // 2] * 1e6,
    "p99_us": all_lat[min(n - 1, int(n * 0.99))] * 1e6,
}))
