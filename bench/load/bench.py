#!/usr/bin/env python3
"""Helper of bench/load/run.sh: setup, seeding, RSS sampling and wrk output parsing.

Standard library only. Subcommands:
  wait URL                         poll URL until it answers 2xx (60 s)
  pb-setup URL EMAIL PASSWORD      create the `products` collection (public rules, index on category)
  seed URL N IDS_FILE              POST N products to URL (a create endpoint), write the ids, one a line
  rss PID OUT STOP_FILE            sample VmRSS of PID every 100 ms until STOP_FILE exists; write peak kB
  parse WRK_OUTPUT                 print "req_s p50_ms p99_ms errors" from wrk --latency output
  table RESULTS_TSV                print the Markdown table with Stratus/PocketBase ratios
"""

import json
import os
import random
import re
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

CATEGORIES = [f"cat-{i}" for i in range(20)]
SEED_WORKERS = 8


def http(method, url, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read() or b"null")


def cmd_wait(url):
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if 200 <= r.status < 300:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    sys.exit(f"{url} not ready after 60 s")


def cmd_pb_setup(url, email, password):
    _, auth = http("POST", f"{url}/api/collections/_superusers/auth-with-password",
                   {"identity": email, "password": password})
    token = auth["token"]
    collection = {
        "name": "products",
        "type": "base",
        # Public, like the Stratus APIs of the benchmark ("auth": false).
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [
            {"name": "name", "type": "text", "required": True, "max": 200},
            {"name": "price", "type": "number", "min": 0},
            {"name": "category", "type": "text"},
            {"name": "stock", "type": "number", "onlyInt": True},
            {"name": "tags", "type": "json"},
        ],
        "indexes": ["CREATE INDEX idx_products_category ON products (category)"],
    }
    http("POST", f"{url}/api/collections", collection, token)


def product(i):
    return {
        "name": f"product-{i}-{random.randrange(1 << 30)}",
        "price": round(random.uniform(1, 500), 2),
        "category": CATEGORIES[i % len(CATEGORIES)],
        "stock": random.randrange(1000),
        "tags": ["bench", CATEGORIES[i % len(CATEGORIES)]],
    }


def cmd_seed(url, n, ids_file):
    def one(i):
        status, body = http("POST", url, product(i))
        if status not in (200, 201):
            raise RuntimeError(f"seed POST answered {status}: {body}")
        return body["id"]

    with ThreadPoolExecutor(SEED_WORKERS) as pool:
        ids = list(pool.map(one, range(int(n))))
    with open(ids_file, "w") as f:
        f.write("\n".join(ids) + "\n")


def rss_kb(pid):
    """(VmRSS, RssAnon) in kB: the whole resident set, and its anonymous part (heap, stacks),
    which leaves out the file pages a memory map touched (the kernel's page cache)."""
    rss = anon = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1])
    return rss, anon


def cmd_rss(pid, out, stop_file):
    peak = peak_anon = 0
    while not os.path.exists(stop_file):
        try:
            rss, anon = rss_kb(pid)
        except OSError:
            break
        peak, peak_anon = max(peak, rss), max(peak_anon, anon)
        time.sleep(0.1)
    with open(out, "w") as f:
        f.write(f"{peak} {peak_anon}\n")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def cmd_settle(*pids):
    """Waits (at most SETTLE_MAX_S) until every server is idle: under 5% of a core over one
    second, so a measurement does not pay for background work left by the previous one (log
    flushing, checkpoints) of either system. Prints how long it waited."""
    hz = os.sysconf("SC_CLK_TCK")
    start = time.time()
    while time.time() - start < SETTLE_MAX_S:
        before = [cpu_ticks(p) for p in pids]
        time.sleep(1.0)
        after = [cpu_ticks(p) for p in pids]
        if all((a - b) / hz < 0.05 for a, b in zip(after, before)):
            break
    print(f"{time.time() - start:.0f}")


SETTLE_MAX_S = 60

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"unknown latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def cmd_parse(path):
    text = open(path).read()
    req_s = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        errors += sum(int(g) for g in m.groups())
    print(f"{req_s:.0f} {p50:.2f} {p99:.2f} {errors}")


def cmd_logcount(metrics_url):
    """Prints Stratus's user-API requests and dropped request-log entries so far (from
    /metrics), for the "log entries dropped" column."""
    with urllib.request.urlopen(metrics_url, timeout=10) as r:
        text = r.read().decode()
    requests = dropped = 0
    for line in text.splitlines():
        if line.startswith("stratus_requests_total{"):
            requests += int(float(line.rsplit(" ", 1)[1]))
        elif line.startswith("stratus_request_log_dropped_total "):
            dropped = int(float(line.rsplit(" ", 1)[1]))
    print(requests, dropped)


def cmd_table(path):
    rows = {}
    order = []
    for line in open(path):
        workload, system, req_s, p50, p99, errors, rss, logs = line.rstrip("\n").split("\t")
        if workload not in order:
            order.append(workload)
        rss, anon = (rss.split() + ["0"])[:2]
        rows[(workload, system)] = (float(req_s), float(p50), float(p99), int(errors), (int(rss), int(anon)), logs)
    print("| workload | system | req/s | p50 (ms) | p99 (ms) | errors | RSS peak (MB) | RssAnon peak (MB) | log entries dropped |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for w in order:
        for system in ("Stratus", "PocketBase"):
            if (w, system) not in rows:
                print(f"| {w} | {system} | n/a | n/a | n/a | n/a | n/a | n/a | n/a |")
                continue
            r, p50, p99, e, (rss, anon), logs = rows[(w, system)]
            print(f"| {w} | {system} | {r:.0f} | {p50:.2f} | {p99:.2f} | {e} | {rss / 1024:.1f} | {anon / 1024:.1f} | {logs} |")
    print()
    print("| workload | throughput Stratus/PocketBase | p99 PocketBase/Stratus |")
    print("|---|---:|---:|")
    for w in order:
        s, p = rows.get((w, "Stratus")), rows.get((w, "PocketBase"))
        if s and p and p[0] > 0 and s[2] > 0:
            print(f"| {w} | {s[0] / p[0]:.2f}x | {p[2] / s[2]:.2f}x |")
        else:
            print(f"| {w} | n/a | n/a |")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {
        "wait": cmd_wait,
        "pb-setup": cmd_pb_setup,
        "seed": cmd_seed,
        "rss": cmd_rss,
        "settle": cmd_settle,
        "parse": cmd_parse,
        "table": cmd_table,
        "logcount": cmd_logcount,
    }[cmd](*args)


if __name__ == "__main__":
    main()
