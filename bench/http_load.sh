#!/usr/bin/env bash
# Repeatable load run for issue #2's targets on this machine:
#   GET /health               wrk -t2 -c64 (target >= 40,000 requests/s)
#   GET /attestation/quote    wrk -t2 -c64 (cached, nonce-less document)
#   GET /attestation/quote?nonce=...  (fresh evidence per request)
#   POST /enclave/submit_key  bench_register (target >= 3,000 registrations/s)
# Builds the release binaries, starts perfaggd on 127.0.0.1 with the rate
# limit raised out of the way, and stops it afterwards. Registered sessions
# poll a local simulator, which refuses the made-up keys.
# Usage: bash bench/http_load.sh [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
PERFAGG_BENCH_DEPS=1 bash scripts/deps.sh
secs=${1:-10}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc)" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
# Registered sessions start polling at once: they poll a local simulator,
# which refuses the benchmark's made-up keys (one authenticated request
# each, as a real exchange would), rather than the unreachable internet.
simout=$(mktemp)
build-bench/perfagg-exsim --port 0 --accounts 1 --fills 10 >"$simout" 2>/dev/null &
simpid=$!
for _ in $(seq 1 100); do grep -q listening "$simout" && break; sleep 0.1; done
sim="http://127.0.0.1:$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$simout" | head -1)"
data=$(mktemp -d)
pid=
start_daemon() {  # extra settings as NAME=VALUE arguments
  [ -n "$pid" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
  rm -rf "$data"/*
  env ENCLAVE_HOST=127.0.0.1 ENCLAVE_PORT=$port RATE_LIMIT_MAX=1000000000 LOG_LEVEL=warn \
    HTTP_THREADS=${HTTP_THREADS:-2} MAX_SESSIONS=1000000 DATA_DIR="$data" AUDIT_LOG_PATH="$data/audit.jsonl" \
    EXCHANGE_BASE_URLS="binance=$sim,coinbase=$sim,kraken=$sim,krakenfutures=$sim" "$@" \
    build-bench/perfaggd 2>>/tmp/perfaggd-bench.log &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "$url/health" >/dev/null && break; sleep 0.1; done
}
trap 'kill $pid $simpid 2>/dev/null; wait $pid $simpid 2>/dev/null || true; rm -rf "$data" "$simout"' EXIT
: >/tmp/perfaggd-bench.log
start_daemon
echo "== $(nproc) cores; perfaggd pid $pid, HTTP_THREADS=${HTTP_THREADS:-2}"
for path in /health /attestation/quote "/attestation/quote?nonce=00112233445566778899aabbccddeeff"; do
  echo "== wrk -t2 -c64 -d${secs}s $path"
  wrk -t2 -c64 -d"${secs}s" --latency "$url$path" | grep -E "Requests/sec|Latency|99%|Non-2xx|Socket errors" || true
done
# The default configuration: each new session's validation request waits
# for the exchange's rate budget (Binance: 6,000 weight a minute per IP), as
# it must against the real exchange, so a burst of registrations is not
# slowed by validating them all at once.
echo "== registrations, default settings (bench_register, 20000 fresh envelopes, 64 connections)"
build-bench/bench_register "$url" 20000 64
echo "== resident memory of perfaggd after the run: $(awk '/VmRSS/{print $2" "$3}' /proc/$pid/status)"
# The worst case for the intake: every session validated at once against
# the simulator, which shares the two cores.
start_daemon POLL_IP_BUDGETS=0 POLL_KEY_BUDGETS=0
echo "== registrations, POLL_IP_BUDGETS=0 POLL_KEY_BUDGETS=0 (every new session validated at once)"
build-bench/bench_register "$url" 20000 64
