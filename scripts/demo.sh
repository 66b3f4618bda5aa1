#!/usr/bin/env bash
# The main job on embedded defaults, all on this machine:
#   builds; starts the exchange simulator (a Binance-compatible API over a
#   deterministic trading history) and perfaggd (dev attestation, generated
#   keys, SQLite data directory); verifies the enclave's attestation;
#   registers a demo trader's API key through the encrypted envelope; shows
#   the backfill's progress; prints the signed metrics and statistics as
#   tables; verifies their signatures offline against the attestation and the
#   audit log's hash chain; revokes the session and stops cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
echo "== building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
B=build
work=$(mktemp -d /tmp/perfagg-demo.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }

echo "== starting the exchange simulator (seeded history, keys are test data)"
"$B/perfagg-exsim" --port 0 --seed 2026 --accounts 1 --fills 20000 --live-spacing-ms 2000 >"$work/exsim.out" 2>"$work/exsim.log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q listening "$work/exsim.out" 2>/dev/null && break; sleep 0.1; done
sim="http://127.0.0.1:$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$work/exsim.out" | head -1)"
echo "   $sim"

port=$(freeport); url="http://127.0.0.1:$port"
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "== starting perfaggd on $url (dev attestation: NOT hardware-backed; data in $work/data)"
ENCLAVE_HOST=127.0.0.1 ENCLAVE_PORT=$port ATTESTATION_PROVIDER=dev DATA_DIR="$work/data" \
  AUDIT_LOG_PATH="$work/data/audit.jsonl" OPERATOR_TOKEN="$token" API_INTERVAL=5000 \
  EXCHANGE_BASE_URLS="binance=$sim,coinbase=$sim,kraken=$sim,krakenfutures=$sim" \
  "$B/perfaggd" 2>"$work/perfaggd.log" &
dpid=$!; pids+=($dpid)
for _ in $(seq 1 100); do curl -sf "$url/health" >/dev/null 2>&1 && break; sleep 0.1; done

echo; echo "== perfagg attest: fetch the evidence with a fresh nonce and verify it"
"$B/perfagg" attest --url "$url" --allow-dev

echo; echo "== perfagg register: the demo trader's Binance key, encrypted to the attested enclave key"
curl -s "$sim/exsim/accounts" | python3 -c '
import json, sys
a = [x for x in json.load(sys.stdin) if x["exchange"] == "binance" and x["market"] == "spot"][0]
json.dump({"apiKey": a["api_key"], "secret": a["secret"]}, open(sys.argv[1], "w"))' "$work/creds.json"
chmod 600 "$work/creds.json"
sid=$("$B/perfagg" register --url "$url" --exchange binance --account-type spot --label demo-trader \
  --allow-dev --credentials-file "$work/creds.json")
rm -f "$work/creds.json"
echo "   session ${sid:0:8}... (the full id is the key to the results: kept in this script only)"

echo; echo "== backfill progress"
for i in $(seq 1 300); do
  st=$(echo "$sid" | "$B/perfagg" session --url "$url" --json -)
  line=$(echo "$st" | python3 -c 'import json,sys; s=json.load(sys.stdin); c=s.get("collection") or {}; print("%s  fills=%s  requests=%s  %s%s" % (s["status"], c.get("fills"), c.get("requests"), c.get("progress") or "", "  backfill done" if c.get("backfill_done") and c.get("last_success") else ""))')
  echo "   $line"
  case "$line" in *"backfill done"*) break ;; esac
  sleep 0.5
done

echo; echo "== perfagg metrics: per-symbol results, signature verified against the attested key"
echo "$sid" | "$B/perfagg" metrics --url "$url" --allow-dev --out "$work/metrics.json" --save-attestation "$work/attestation.json" -
echo; echo "== perfagg summary: totals and statistics"
echo "$sid" | "$B/perfagg" summary --url "$url" --allow-dev --out "$work/summary.json" -

echo; echo "== a third party verifies the saved results offline"
"$B/perfagg" verify "$work/metrics.json" --attestation "$work/attestation.json" --allow-dev
"$B/perfagg" verify "$work/summary.json" --attestation "$work/attestation.json" --allow-dev
sed 's/"realized_pnl": "\([0-9-]\)/"realized_pnl": "9\1/' "$work/metrics.json" >"$work/tampered.json"
"$B/perfagg" verify "$work/tampered.json" --attestation "$work/attestation.json" --allow-dev 2>&1 | sed 's/^/   (tampered copy) /' || true

echo; echo "== perfagg revoke: the enclave wipes the credential"
echo "$sid" | "$B/perfagg" revoke --url "$url" -

echo; echo "== stopping perfaggd cleanly, then verifying its audit log"
kill "$dpid"; wait "$dpid" 2>/dev/null || true
"$B/perfagg" audit verify "$work/data/audit.jsonl" --attestation "$work/attestation.json" --allow-dev || true
echo; echo "== done; files in $work (service log: $work/perfaggd.log)"
