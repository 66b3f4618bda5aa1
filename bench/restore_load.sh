#!/usr/bin/env bash
# Issue #10's "time from start to serving 10,000 restored sessions", end to
# end, on this machine:
#  1. bench_restore seals N sessions (default 10,000) into a DATA_DIR with
#     key files as `perfaggd keygen` writes them, prints its in-process
#     figures (sealing rate, store bytes per session, restore time) and
#     keeps the files (--keep) with one session id;
#  2. perfaggd starts on them (ENCLAVE_PRIVATE_KEY_PATH, DATA_DIR), with
#     every exchange at a closed local port so that nothing is polled for
#     real; printed: the time from exec to the first 200 of
#     GET /enclave/session for the kept session id (the listener opens only
#     after every session is restored and handed to the poller), what the
#     daemon logged as restored, and its RSS then.
#  With FILLS > 0 (default 60) every session also has a checkpoint of a
#  Binance spot account with FILLS fills (bench_restore --checkpoint), which
#  the daemon opens and loads for every session before it listens.
# Usage: bash bench/restore_load.sh [N=10000] [FILLS=60]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
fills=${2:-60}
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j "$(nproc)" >/dev/null
B=build-bench
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d)
dpid=
cleanup() { [ -n "$dpid" ] && kill "$dpid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

echo "== 1. sealing and restoring $n sessions in process (bench_restore)"
"$B/bench_restore" "$n" --keep "$tmp/kept" --checkpoint "$fills" | tee "$tmp/bench.out" | sed 's/^/   /'
sid=$(sed -n 's/^session_id //p' "$tmp/bench.out")
kept="$tmp/kept"

echo "== 2. perfaggd started on them: exec to the first 200 of GET /enclave/session"
port=$(freeport)
closed=http://127.0.0.1:9
t0=$(date +%s.%N)
env ENCLAVE_HOST=127.0.0.1 ENCLAVE_PORT="$port" LOG_LEVEL=info RATE_LIMIT_MAX=1000000000 \
  ENCLAVE_PRIVATE_KEY_PATH="$kept/enclave.key" ENCLAVE_PUBLIC_KEY_PATH="$kept/enclave.pub" \
  DATA_DIR="$kept/data" AUDIT_LOG_PATH="$kept/data/audit.jsonl" \
  EXCHANGE_BASE_URLS="binance=$closed,coinbase=$closed,kraken=$closed,krakenfutures=$closed" \
  "$B/perfaggd" 2>"$tmp/perfaggd.log" &
dpid=$!
if ! python3 - "$t0" "$port" "$sid" "$dpid" <<'PY'
import http.client, os, sys, time
t0, port, sid, pid = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
while True:
    try:
        state = open("/proc/%d/stat" % pid).read().rsplit(") ", 1)[1][0]
    except FileNotFoundError:
        state = "X"
    if state in "ZX":
        sys.exit("   perfaggd exited before answering; its log ends:")
    if time.time() - t0 > 120:
        sys.exit("   no answer within 120 s; the log ends:")
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", "/enclave/session", headers={"Authorization": "Bearer " + sid})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            sys.exit("GET /enclave/session answered %d" % r.status)
        break
    except (ConnectionRefusedError, ConnectionResetError):
        time.sleep(0.005)
print("   first 200 after %.3f s (exec to answer; polled every 5 ms)" % (time.time() - t0))
PY
then
  tail -5 "$tmp/perfaggd.log"
  exit 1
fi
grep -o '"event":"sessions_restored"[^}]*' "$tmp/perfaggd.log" | sed 's/^/   perfaggd: /' || true
awk '/VmRSS/{printf "   perfaggd RSS %.1f MiB\n", $2/1024}' "/proc/$dpid/status"
