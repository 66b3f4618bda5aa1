#!/usr/bin/env bash
# Issue #4's and #9's numbers against the exchange simulator, on this machine:
#  1. backfill of a 1,000,000-fill Binance spot account, end to end
#     (perfagg register -> perfaggd polls perfagg-exsim -> ledger), with the
#     exchange budgets ON as against the real exchange: the daemon paces each
#     request against the per-IP pools the Binance connector declares
#     (POLL_IP_BUDGETS=1) and the simulator enforces Binance's real limits
#     (--strict-limits: 6000 weight a minute on /api, 429 then 418 beyond).
#     Printed: the time, and its ratio to the lower bound Binance's published
#     weights set: every client needs at least ceil(fills / 1000) myTrades
#     pages of weight 20, plus exchangeInfo (20) and the account (20), at
#     6000 weight a minute; plus the 429/418 answers received (must be 0);
#  2. 10,000 sessions polled every 60 s: poll lag p99 (target < 2 s), resident
#     memory of perfaggd (target <= 1 GiB), errors (target 0). This one runs
#     with the per-IP limits off (simulator and POLL_IP_BUDGETS=0): it measures
#     the daemon, not the exchange's limits.
#  3. (sessions-kept) the same 10,000 sessions with key files and a DATA_DIR, so
#     that every session is sealed and checkpointed (issue #10), with
#     CHECKPOINT_INTERVAL=60000: every cycle of every session is checkpointed
#     (the worst case; the default is 300 s for a quiet session). Printed as 2.,
#     plus the checkpoints taken, their failures, the last one's size and the
#     poller thread's time spent on them.
# Usage: bash bench/exchange_load.sh [backfill|sessions|sessions-kept|all] [observe_seconds=180]
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
observe=${2:-180}
PERFAGG_BENCH_DEPS=1 bash scripts/deps.sh
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc)" >/dev/null
B=build-bench
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

start_sim() {  # args...
  local out; out=$(mktemp)
  "$B/perfagg-exsim" --port 0 "$@" >"$out" 2>/dev/null &
  pids+=($!)
  for _ in $(seq 1 600); do grep -q listening "$out" && break; sleep 0.1; done
  sim="http://127.0.0.1:$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$out" | head -1)"
}
start_daemon() {  # extra env...
  port=$(freeport); url="http://127.0.0.1:$port"
  env ENCLAVE_HOST=127.0.0.1 ENCLAVE_PORT=$port LOG_LEVEL=${LOG_LEVEL:-warn} RATE_LIMIT_MAX=1000000000 MAX_SESSIONS=1000000 \
    POLL_IP_BUDGETS=0 POLL_KEY_BUDGETS=0 EXCHANGE_BASE_URLS="binance=$sim,coinbase=$sim,kraken=$sim,krakenfutures=$sim" "$@" \
    "$B/perfaggd" 2>/tmp/perfaggd-exchange-bench.log &
  dpid=$!; pids+=($dpid)
  for _ in $(seq 1 100); do curl -sf "$url/health" >/dev/null && break; sleep 0.1; done
}
rss() { awk '/VmRSS/{printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }

if [ "$what" = backfill ] || [ "$what" = all ]; then
  echo "== 1. backfill of a 1,000,000-fill Binance spot account, exchange budgets ON"
  start_sim --seed 5 --accounts 1 --fills 1000000 --threads 2 --strict-limits
  start_daemon POLL_IP_BUDGETS=1 POLL_KEY_BUDGETS=1
  acct=$(curl -s "$sim/exsim/accounts" | python3 -c 'import json,sys; a=[x for x in json.load(sys.stdin) if x["exchange"]=="binance" and x["market"]=="spot"][0]; print(json.dumps({"apiKey":a["api_key"],"secret":a["secret"]})); print(a["nfills"], file=sys.stderr)' 2>/tmp/nfills)
  creds=$(mktemp); echo "$acct" >"$creds"
  nfills=$(cat /tmp/nfills)
  echo "   account: $nfills fills"
  t0=$(date +%s.%N)
  sid=$("$B/perfagg" register --url "$url" --exchange binance --account-type spot --allow-dev --credentials-file "$creds" 2>/dev/null)
  rm -f "$creds"
  while :; do
    st=$(curl -s -H "Authorization: Bearer $sid" "$url/enclave/session")
    echo "$st" | grep -q '"backfill_done":true' && echo "$st" | grep -q '"last_success":"' && break
    sleep 0.2
  done
  t1=$(date +%s.%N)
  fills=$(echo "$st" | python3 -c 'import json,sys; print(json.load(sys.stdin)["collection"]["fills"])')
  limited=$(curl -s "$url/metrics" | awk '/^perfagg_exchange_errors_total\{.*exchange="binance".*code="(429|418)"/ {n += $NF} END {print n + 0}')
  served=$(curl -s "$sim/exsim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
  python3 - "$t0" "$t1" "$nfills" "$fills" "$limited" "$served" <<'PY'
import math, sys
t0, t1, n, applied, limited, served = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
took = t1 - t0
# Binance's published weights (rest-api.md): myTrades 20 per page of at most
# 1000, exchangeInfo 20, account 20; /api allows 6000 weight a minute.
weight = 20 * math.ceil(n / 1000) + 20 + 20
bound = weight / 6000 * 60
print("   backfill: %d fills applied in %.1f s (registration to backfill done), %d requests served" % (applied, took, served))
print("   lower bound from Binance's weights: %d weight at 6000/min = %.1f s; ratio %.2f" % (weight, bound, took / bound))
print("   429/418 answers from the exchange: %d" % limited)
PY
  echo "   perfaggd RSS after: $(rss $dpid)"
  cleanup; pids=()
fi

if [ "$what" = sessions ] || [ "$what" = sessions-kept ] || [ "$what" = all ]; then
  kept=()
  if [ "$what" = sessions-kept ]; then
    echo "== 3. 10,000 sessions polled every 60 s, sealed and checkpointed every cycle"
    dd=$(mktemp -d)
    "$B/perfaggd" keygen "$dd/enclave.pem" "$dd/enclave.pub.pem" >/dev/null
    kept=(ENCLAVE_PRIVATE_KEY_PATH="$dd/enclave.pem" DATA_DIR="$dd/data" CHECKPOINT_INTERVAL=60000)
  else
    echo "== 2. 10,000 sessions polled every 60 s"
  fi
  start_sim --seed 6 --accounts 10000 --fills 60 --live-spacing-ms 600000 --threads 2
  start_daemon API_INTERVAL=60000 POLL_MAX_TRANSFERS=256 "${kept[@]}"
  "$B/bench_register" "$url" 10000 64 "$sim" binance spot | sed 's/^/   /'
  echo "   observing for ${observe}s (poller counters from /health)..."
  for i in $(seq 1 $((observe / 15))); do
    sleep 15
    curl -s "$url/health" | python3 -c 'import json,sys; h=json.load(sys.stdin); p=h["poller"]; print("   t=%4ds sessions=%d requests=%d failures=%d cycles=%d lag_p99=%dms lag_max=%dms checkpoints=%d (failed %d, last %d B, %d ms total)" % ('"$i"'*15, p["sessions"], p["requests"], p["failures"], p["cycles"], p["lag_p99_ms"], p["lag_max_ms"], p.get("checkpoints", 0), p.get("checkpoint_failures", 0), p.get("checkpoint_bytes", 0), p.get("checkpoint_ms", 0)))'
    echo "           perfaggd RSS $(rss $dpid)"
  done
  if [ "$what" = sessions-kept ]; then
    echo "   state store: $(du -sh "$dd/data" | cut -f1) for 10,000 sessions and their checkpoints"
    cleanup; pids=()
    rm -rf "$dd"
  fi
fi
