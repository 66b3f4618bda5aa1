#!/usr/bin/env bash
# Issue #9's numbers: requests per session per steady-state poll cycle, per
# exchange and market, against the bound each connector states in its header
# comment, and the cycles without progress (repeats, which must be 0).
#
# perfagg-exsim runs one account per exchange/market (binance spot, margin,
# futures, coinbase, kraken, krakenfutures) that keeps trading (one new fill
# per account every LIVE_MS); perfaggd polls them with API_INTERVAL=INTERVAL_MS
# (its floor then, so a cycle with new fills is followed by the next one
# INTERVAL_MS later). Each account is registered with `perfagg register`, and
# its collection status (GET /enclave/session: cycles, cycle_requests,
# max_cycle_requests, repeats, fills, duplicates) is sampled every 0.25 s
# until it has finished its backfill and then STEADY further cycles.
#
# Printed per session: the fills applied; the backfill's requests (the
# session's max_cycle_requests when the backfill cycle completed); the
# steady cycles observed, the last one's requests and the most any of them
# took; the connector's stated per-cycle bound (the formula in its header,
# src/exchange/conn_*.c, every time-gated term -- clock, exchangeInfo,
# AssetPairs, account, flows, closes -- counted as if due) evaluated for the
# account and, for the fill terms, for the largest count of fills (new and
# repeated) that cycle could have returned; and repeats. Exit status 1 if a
# session repeats a request, a steady cycle exceeds its bound, or a session
# never reaches its steady cycles.
#
# The exchange budgets are off (POLL_IP_BUDGETS=0, POLL_KEY_BUDGETS=0) and the
# simulator does not enforce limits: pacing changes when requests go out, not
# how many a cycle takes, and with Kraken's starter counter on, a cycle every
# 2 s is not possible.
#
# Usage: bash bench/cycle_requests.sh [steady_cycles=5]
# Environment: BUILD (build directory, default build), FILLS (historical fills
# per account, 3000), HISTORY_DAYS (30), LIVE_MS (1000), INTERVAL_MS (2000),
# SEED (9), TIMEOUT_S (for the whole observation, 600).
set -euo pipefail
cd "$(dirname "$0")/.."
steady=${1:-5}
B=${BUILD:-build}
FILLS=${FILLS:-3000}
HISTORY_DAYS=${HISTORY_DAYS:-30}
LIVE_MS=${LIVE_MS:-1000}
INTERVAL_MS=${INTERVAL_MS:-2000}
SEED=${SEED:-9}
TIMEOUT_S=${TIMEOUT_S:-600}
for x in perfagg perfaggd perfagg-exsim; do
  if [ ! -x "$B/$x" ]; then
    echo "$B/$x missing: build first (cmake -S . -B $B && cmake --build $B)" >&2
    exit 2
  fi
done

tmp=$(mktemp -d /tmp/perfagg-cycles.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$B/perfagg-exsim" --port 0 --seed "$SEED" --accounts 1 --fills "$FILLS" --history-days "$HISTORY_DAYS" \
  --live-spacing-ms "$LIVE_MS" --threads 2 >"$tmp/sim.out" 2>"$tmp/sim.err" &
pids+=($!)
for _ in $(seq 1 600); do grep -q listening "$tmp/sim.out" && break; sleep 0.1; done
grep -q listening "$tmp/sim.out" || { echo "perfagg-exsim did not start: $(cat "$tmp/sim.err")" >&2; exit 2; }
sim="http://127.0.0.1:$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$tmp/sim.out" | head -1)"

port=$(freeport); url="http://127.0.0.1:$port"
env ENCLAVE_HOST=127.0.0.1 ENCLAVE_PORT="$port" LOG_LEVEL=${LOG_LEVEL:-warn} RATE_LIMIT_MAX=1000000000 \
  DATA_DIR="$tmp/data" AUDIT_LOG_PATH="$tmp/data/audit.jsonl" API_INTERVAL="$INTERVAL_MS" \
  POLL_IP_BUDGETS=0 POLL_KEY_BUDGETS=0 \
  EXCHANGE_BASE_URLS="binance=$sim,coinbase=$sim,kraken=$sim,krakenfutures=$sim" \
  "$B/perfaggd" 2>"$tmp/perfaggd.log" &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "$url/health" >/dev/null && break; sleep 0.1; done
curl -sf "$url/health" >/dev/null || { echo "perfaggd did not start: $(tail -5 "$tmp/perfaggd.log")" >&2; exit 2; }

# One session per account: exchange market api_key sid, one a line.
curl -sf "$sim/exsim/accounts" >"$tmp/accounts.json"
python3 - "$tmp/accounts.json" "$tmp" >"$tmp/accounts.tsv" <<'PY'
import json, os, sys
accts = json.load(open(sys.argv[1]))
for i, a in enumerate(accts):
    creds = {"apiKey": a["api_key"], "secret": a["secret"]}
    if a.get("passphrase"):
        creds["passphrase"] = a["passphrase"]
    path = os.path.join(sys.argv[2], "creds-%d.json" % i)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(creds, f)
    print(a["exchange"], a["market"], a["api_key"], path, sep="\t")
PY
: >"$tmp/sessions.tsv"
while IFS=$'\t' read -r ex market key creds; do
  sid=$("$B/perfagg" register --url "$url" --exchange "$ex" --account-type "$market" --allow-dev \
    --credentials-file "$creds" --json 2>"$tmp/register.err" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session_id"])') \
    || { echo "register $ex/$market failed: $(cat "$tmp/register.err")" >&2; exit 2; }
  rm -f "$creds"
  printf '%s\t%s\t%s\t%s\n' "$ex" "$market" "$key" "$sid" >>"$tmp/sessions.tsv"
done <"$tmp/accounts.tsv"

echo "perfagg-exsim: 1 account per exchange/market, $FILLS fills over $HISTORY_DAYS days, then 1 new fill per account every $LIVE_MS ms"
echo "perfaggd: API_INTERVAL=$INTERVAL_MS ms, exchange budgets off; waiting for backfill + $steady steady cycles per session"
t0=$(date +%s)
set +e
python3 - "$url" "$sim" "$tmp/sessions.tsv" "$steady" "$TIMEOUT_S" <<'PY'
import json, math, sys, time, urllib.parse, urllib.request

url, sim, sessions_file, steady, timeout_s = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])

def get(u, sid=None):
    req = urllib.request.Request(u)
    if sid:
        req.add_header("Authorization", "Bearer " + sid)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)

accounts = {a["api_key"]: a for a in get(sim + "/exsim/accounts")}
sessions = []
for line in open(sessions_file):
    ex, market, key, sid = line.rstrip("\n").split("\t")
    sessions.append({"ex": ex, "market": market, "key": key, "sid": sid, "acct": accounts[key],
                     "samples": [], "base": None, "steady": {}, "done": False, "error": None})

def status(s):
    j = get(url + "/enclave/session", s["sid"])
    return j.get("status"), j["collection"]

# Sampling. A steady cycle c is one completed after the cycle that finished
# the backfill. Its requests are seen when a sample finds cycles == c (the
# last completed cycle's cycle_requests); a cycle completed between two
# samples along with the next one is not seen. The fills (new and repeated)
# it returned were applied after cycle c-1 completed and before cycle c did:
# at most the growth of fills + duplicates from the last sample that saw
# fewer than c-1 cycles to the first that saw c.
deadline = time.time() + timeout_s
while time.time() < deadline and not all(s["done"] for s in sessions):
    for s in sessions:
        if s["done"]:
            continue
        st, c = status(s)
        now = time.time()
        if st in ("invalid_credentials", "failed", "refused_permissions"):
            s["error"] = "%s: %s" % (st, c.get("last_error"))
            s["done"] = True
            continue
        smp = {"t": now, "cycles": c["cycles"], "req": c["cycle_requests"], "fills": c["fills"],
               "dups": c["duplicates"], "c": c}
        s["samples"].append(smp)
        if s["base"] is None:
            if c["backfill_done"] and c["last_success"] is not None and c["cycles"] > 0:
                s["base"] = smp
                s["backfill_requests"] = c["max_cycle_requests"]
                s["backfill_cycles"] = c["cycles"]
                s["backfill_repeats"] = c["repeats"]
            continue
        n = c["cycles"]
        if n > s["base"]["cycles"] and n not in s["steady"]:
            prev = [x for x in s["samples"] if x["cycles"] < n - 1]
            lo = prev[-1] if prev else s["samples"][0]
            returned = (c["fills"] + c["duplicates"]) - (lo["fills"] + lo["dups"])
            s["steady"][n] = {"req": c["cycle_requests"], "returned": returned}
        if n >= s["base"]["cycles"] + steady:
            s["done"] = True
            s["last"] = c
    time.sleep(0.25)

# ---- the stated bounds -------------------------------------------------

def truth_of(s):
    """The simulator's ground truth of the account (its balances), fetched once."""
    if "truth" not in s:
        s["truth"] = get(sim + "/exsim/truth?api_key=" + urllib.parse.quote(s["key"], safe=""))
    return s["truth"]

def binance_bound(s, T):
    """conn_binance.c: F + I + sum_s (floor(T_s/1000) + 1) + 2W + sum_k (floor(D_k/1000) + 1)."""
    a, market = s["acct"], s["market"]
    fut = market == "futures"
    info = get(sim + ("/fapi/v1/exchangeInfo" if fut else "/api/v3/exchangeInfo"))
    truth = truth_of(s)
    held = {cur for cur, v in truth["balances"].items() if float(v) != 0}
    if fut:
        held.add("USDT")  # the margin asset (discovery counts it as held: an over-count is safe)
    tracked = {x["native"] for x in a["symbols"]}
    cand = set(tracked)
    for x in info["symbols"]:
        if x["baseAsset"] in held or x["quoteAsset"] in held:
            cand.add(x["symbol"])
    C = len(cand)
    F = 5
    I = (2 * T // 1000 + 1) if fut else 0       # income rows: <= 2 per fill (COMMISSION, REALIZED_PNL)
    trades = C + T // 1000                       # sum of floor(T_s/1000) <= floor(T/1000)
    W = 0 if fut else 1                          # 90-day flow windows since the cursor (steady: 1)
    K = C + 1                                    # closes of the candidates and BTCUSDT; D_k <= 1 day
    b = F + I + trades + 2 * W + K
    terms = "F5"
    if fut:
        terms += " + I%d" % I
    terms += " + trades %d (%d symbols) + 2x%d flow windows + closes %d" % (trades, C, W, K)
    return b, terms

def coinbase_bound(s, F):
    """conn_coinbase.c: T + V + (floor(F/250) + 1) + ceil(W/250) + sum_p ceil((D_p + 1)/300)."""
    a = s["acct"]
    truth = truth_of(s)
    Wn = len(truth["balances"]) + 260           # sim_coinbase.c: the held wallets + 260 empty ones
    prods = {x["native"] for x in a["symbols"]} | {"BTC-USD"}
    prods |= {"%s-USD" % c for c in truth["balances"] if c != "USD"}
    P = len(prods)
    b = 1 + 0 + (F // 250 + 1) + math.ceil(Wn / 250) + P
    return b, "clock 1 + fills %d + accounts %d (%d wallets) + closes %d (%d products)" % (
        F // 250 + 1, math.ceil(Wn / 250), Wn, P, P)

def kraken_bound(s, T):
    """conn_kraken.c: 1 + max(1, ceil(T/50)) + 1 + max(1, ceil(D/50)) + max(1, ceil(W/50)) + P."""
    a = s["acct"]
    truth = truth_of(s)
    pairs = {x["symbol"] for x in a["symbols"]} | {"BTC/USD"}
    pairs |= {"%s/USD" % c for c in truth["balances"] if c != "USD"}
    P = min(64, len(pairs))
    t = max(1, math.ceil(T / 50))
    b = 1 + t + 1 + 1 + 1 + P
    return b, "AssetPairs 1 + trades %d + BalanceEx 1 + Ledgers 1+1 + OHLC %d pairs" % (t, P)

def krakenfutures_bound(s, T):
    """conn_krakenfutures.c, after the first cycle: 2 + max(1, ceil(E/100)) + 1 + S (the account-log page:
    a steady cycle reads few entries; closes hourly, one day each)."""
    t = max(1, math.ceil(T / 100))
    S = len({x["native"] for x in s["acct"]["symbols"]} | {"PF_XBTUSD"})
    return 3 + t + S, "executions %d + account-log 1 + openpositions 1 + accounts 1 + charts %d series" % (t, S)

bounds = {"binance": binance_bound, "coinbase": coinbase_bound, "kraken": kraken_bound,
          "krakenfutures": krakenfutures_bound}

bad = []
rows = []
for s in sessions:
    name = "%s %s" % (s["ex"], s["market"])
    if s["error"] or s["base"] is None or not s.get("last"):
        why = s["error"] or ("backfill not done" if s["base"] is None else "fewer than %d steady cycles" % steady)
        last = s["samples"][-1]["c"] if s["samples"] else {}
        bad.append("%s: %s (cycles %s, repeats %s)" % (name, why, last.get("cycles"), last.get("repeats")))
        rows.append((s["ex"], s["market"], last.get("fills", "-"), last.get("max_cycle_requests", "-"),
                     "-", "-", "-", "-", "-", last.get("repeats", "-")))
        continue
    c = s["last"]
    seen = s["steady"]
    maxret = max((v["returned"] for v in seen.values()), default=0)
    # the bound of each cycle, for the fills it could have returned
    worst = None
    for n, v in sorted(seen.items()):
        b, _ = bounds[s["ex"]](s, v["returned"])
        if v["req"] > b:
            bad.append("%s: steady cycle %d took %d requests, bound %d (fills returned <= %d)" %
                       (name, n, v["req"], b, v["returned"]))
        worst = max(worst or 0, b)
    bmax, terms = bounds[s["ex"]](s, maxret)
    if c["repeats"] != 0:
        bad.append("%s: repeats %d (%d by the end of the backfill, %d in the steady cycles)" %
                   (name, c["repeats"], s["backfill_repeats"], c["repeats"] - s["backfill_repeats"]))
    ncyc = c["cycles"] - s["backfill_cycles"]
    rows.append((s["ex"], s["market"], c["fills"], s["backfill_requests"],
                 "%d/%d" % (len(seen), ncyc), c["cycle_requests"], max((v["req"] for v in seen.values()), default=0),
                 bmax, terms, "%d (backfill %d, steady %d)" % (c["repeats"], s["backfill_repeats"],
                                                             c["repeats"] - s["backfill_repeats"])))

hdr = ("exchange", "market", "fills", "backfill req", "steady seen", "steady last", "steady max", "bound",
       "bound terms (most fills a steady cycle returned)", "repeats")
print()
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
for r in rows:
    print("| " + " | ".join(str(x) for x in r) + " |")
print()
for s in sessions:
    if s["steady"]:
        print("%s %s steady cycles (requests/fills returned <=): %s" % (s["ex"], s["market"], ", ".join(
            "%d/%d" % (v["req"], v["returned"]) for _, v in sorted(s["steady"].items()))))
if bad:
    print()
    for b in bad:
        print("FAIL " + b)
    sys.exit(1)
print("OK: no repeats, every steady cycle within its connector's bound")
PY
rc=$?
set -e
echo "took $(( $(date +%s) - t0 )) s after registration"
exit $rc
