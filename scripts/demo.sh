#!/usr/bin/env bash
# The main job on embedded defaults: builds Perf-Aggregator, starts the enclave
# service (dev attestation, generated keys, 127.0.0.1), verifies its
# attestation, registers a demo credential through the encrypted envelope,
# inspects and revokes the session, then runs the analytics engine on the
# bundled sample account (FIFO PnL, volumes, fees) and its daily returns
# (risk statistics). Everything runs locally; nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
echo "== building"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
bin=build
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 38411)
url="http://127.0.0.1:$port"
log=$(mktemp /tmp/perfaggd-demo.XXXXXX.log)
ENCLAVE_HOST=127.0.0.1 ENCLAVE_PORT=$port ATTESTATION_PROVIDER=dev "$bin/perfaggd" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "$url/health" >/dev/null 2>&1 && break; sleep 0.1; done
echo "== perfaggd listening on $url (pid $pid, log $log)"
curl -s "$url/health"; echo

echo; echo "== perfagg attest: fetch the evidence with a fresh nonce and verify it"
"$bin/perfagg" attest --url "$url" --allow-dev

echo; echo "== perfagg register: encrypt a (demo) exchange key to the attested enclave key"
export PERFAGG_API_KEY="demo-api-key-not-real" PERFAGG_API_SECRET="demo-api-secret-not-real"
sid=$("$bin/perfagg" register --url "$url" --exchange binance --account-type spot --label demo --ttl 3600 --allow-dev)
unset PERFAGG_API_KEY PERFAGG_API_SECRET
echo "session: ${sid:0:8}... (64 hex characters; shown truncated here)"

echo; echo "== perfagg session: status (never the credential)"
echo "$sid" | "$bin/perfagg" session --url "$url" -

echo; echo "== perfagg revoke: the enclave wipes the credential"
echo "$sid" | "$bin/perfagg" revoke --url "$url" -
echo "$sid" | "$bin/perfagg" session --url "$url" - || echo "(as expected: the session is gone)"

echo; echo "== perfagg analyze: FIFO realized PnL, volumes and fees of the sample account (examples/fills.json)"
"$bin/perfagg" analyze --fee-rate BNB/USDT=600 --format table examples/fills.json

echo; echo "== perfagg stats: risk statistics of the sample daily returns (examples/returns.csv)"
"$bin/perfagg" stats examples/returns.csv

echo; echo "== service log (structured JSON, no secrets, session ids as short hashes)"
kill "$pid"; wait "$pid" 2>/dev/null || true
trap - EXIT
cat "$log"
rm -f "$log"
