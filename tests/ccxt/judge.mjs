// The independent judge: the real ccxt client (package.json pins it) against
// perfagg-exsim, compared with the simulator's ground truth (/exsim/truth).
//
//   node tests/ccxt/judge.mjs --exsim BUILD/perfagg-exsim [--accounts N] [--fills N]
//   node tests/ccxt/judge.mjs --url http://127.0.0.1:PORT
//
// With --exsim it starts the simulator on an ephemeral 127.0.0.1 port, waits
// for its {"event":"listening"} line and stops it at the end. For every
// account of every exchange it runs, through ccxt's own signed requests:
// loadMarkets, fetchBalance, fetchMyTrades over the whole history
// (paginated as a user would: per symbol where the exchange needs one),
// deposits and withdrawals where the exchange's API has them, and daily
// OHLCV (closes against /exsim/closes). Every fill (id, timestamp, symbol,
// side, price, amount, fee and fee currency), every balance and every flow must equal the truth; decimals are
// compared as decimal text (ccxt's numbers are formatted back with its own
// numberToString, the shortest text of the double, so any digit that ccxt
// could not carry shows up as a difference). Any difference, error or
// missing dependency exits 1 with the reason. No timing assumptions: the
// only time limit is a generous per-request timeout as a hang guard.
//
// ccxt's urls are pointed at the simulator (exchange.urls.api). Coinbase's
// signer puts "METHOD host/path" in its JWT after stripping only
// "https://", so its base is https://127.0.0.1:PORT and the transport below
// speaks plain HTTP on the loopback (the simulator has no TLS); nothing ccxt
// signs is altered.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

let ccxt;
try {
  ccxt = (await import('ccxt')).default;
} catch (e) {
  console.error(`judge: ccxt is not installed (${e.message}); run scripts/deps.sh`);
  process.exit(1);
}

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : dflt;
};
const REQUEST_TIMEOUT_MS = 300000;	// hang guard only
// --tamper: alter one fill (and one funding payment) of each account's truth; the run passes only if
// the judge reports exactly those differences (proves the judge can fail).
const tamper = args.includes('--tamper');
let tampered = 0;

let failures = 0, checks = 0;
const fail = (what) => { failures++; console.log('  FAIL ' + what); };
const check = (cond, what) => { checks++; if (!cond) fail(what); };

// ------------------------------------------------------------------ simulator

async function startSim(bin) {
  const child = spawn(bin, ['--port', '0', '--accounts', opt('accounts', '1'), '--fills', opt('fills', '600'),
    '--seed', opt('seed', '7'), '--history-days', opt('history-days', '60')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    exited.then(({ code }) => reject(new Error(`perfagg-exsim exited (${code}) before listening`)));
    rl.on('line', (line) => {
      try {
        const ev = JSON.parse(line);
        if (ev.event === 'listening') resolve(ev.port);
      } catch { /* other output */ }
    });
  });
  return { child, port, exited };
}

async function getJson(base, path) {
  const r = await fetch(base + path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

// ------------------------------------------------------------------ ccxt setup

function client(a, port) {
  const ex = new ccxt[a.exchange]({ apiKey: a.api_key, secret: a.secret, timeout: REQUEST_TIMEOUT_MS,
    enableRateLimit: false });
  const host = a.exchange === 'coinbase' ? `https://127.0.0.1:${port}` : `http://127.0.0.1:${port}`;
  for (const k of Object.keys(ex.urls.api))
    if (typeof ex.urls.api[k] === 'string') ex.urls.api[k] = ex.urls.api[k].replace(/^https:\/\/[^/]+/, host);
  const transport = ex.fetch;
  ex.fetch = function (url, ...rest) {
    return transport.call(this, url.replace(/^https:\/\/127\.0\.0\.1:/, 'http://127.0.0.1:'), ...rest);
  };
  return ex;
}

// ------------------------------------------------------------------ decimals

// Canonical decimal text: no exponent, no trailing zeros, "-0" -> "0".
function canon(s) {
  s = String(s).trim();
  if (!/^-?\d+(\.\d+)?$/.test(s)) return 'NaN:' + s;
  let neg = s.startsWith('-');
  if (neg) s = s.slice(1);
  let [i, f = ''] = s.split('.');
  i = i.replace(/^0+(?=\d)/, '');
  f = f.replace(/0+$/, '');
  const out = f ? `${i}.${f}` : i;
  if (out === '0') neg = false;
  return (neg ? '-' : '') + out;
}
const num = (ex, x) => (x === undefined || x === null ? String(x) : canon(ex.numberToString(x)));
const same = (ex, got, want) => num(ex, got) === canon(want);

// ------------------------------------------------------------------ fills

function compareFills(ex, label, got, truth, withFee) {
  const want = new Map(truth.map((f) => [f.id, f]));
  const seen = new Set();
  check(got.length === truth.length, `${label}: ${got.length} fills from ccxt, truth has ${truth.length}`);
  let shown = 0;
  for (const t of got) {
    const w = want.get(String(t.id));
    if (seen.has(String(t.id))) { fail(`${label}: fill ${t.id} returned twice`); continue; }
    seen.add(String(t.id));
    if (!w) { fail(`${label}: fill ${t.id} not in the truth`); continue; }
    const diffs = [];
    if (t.timestamp !== w.timestamp) diffs.push(`timestamp ${t.timestamp} != ${w.timestamp}`);
    if (t.symbol !== w.symbol) diffs.push(`symbol ${t.symbol} != ${w.symbol}`);
    if (t.side !== w.side) diffs.push(`side ${t.side} != ${w.side}`);
    if (!same(ex, t.price, w.price)) diffs.push(`price ${num(ex, t.price)} != ${w.price}`);
    if (!same(ex, t.amount, w.amount)) diffs.push(`amount ${num(ex, t.amount)} != ${w.amount}`);
    const wf = w.fee || { cost: '0', currency: undefined };
    const tf = t.fee || {};
    if (withFee && !same(ex, tf.cost, wf.cost)) diffs.push(`fee ${num(ex, tf.cost)} != ${wf.cost}`);
    if (withFee && tf.currency !== wf.currency) diffs.push(`fee currency ${tf.currency} != ${wf.currency}`);
    checks++;
    if (diffs.length) {
      failures++;
      if (shown++ < 10) console.log(`  FAIL ${label}: fill ${t.id}: ${diffs.join('; ')}`);
    }
  }
  if (shown > 10) console.log(`  ... ${shown - 10} more fills differ`);
  for (const w of truth) if (!seen.has(w.id)) { fail(`${label}: fill ${w.id} (${w.symbol} ${w.datetime}) missing`); break; }
}

// Binance: per symbol, walking fromId as its docs advise.
async function binanceTrades(ex, a) {
  const params = a.market === 'margin' ? { marginMode: 'cross' } : {};
  const out = [];
  for (const s of a.symbols) {
    let fromId = 0;
    for (;;) {
      // pages of 100 (not the 1000 maximum): the small history still spans several
      const page = await ex.fetchMyTrades(s.symbol, undefined, 100, { ...params, fromId });
      out.push(...page);
      if (page.length < 100) break;
      fromId = Number(page[page.length - 1].id) + 1;
    }
  }
  return out;
}

// Coinbase: ccxt's own cursor pagination over the whole history.
async function paginated(ex) {
  return ex.fetchMyTrades(undefined, undefined, undefined, { paginate: true, paginationCalls: 100000 });
}

// Kraken: TradesHistory's result offset (ofs), newest first, until count.
async function krakenTrades(ex) {
  const out = [];
  for (;;) {
    const page = await ex.fetchMyTrades(undefined, undefined, undefined, { ofs: out.length });
    if (page.length === 0) break;
    out.push(...page);
  }
  return out;
}

// Kraken Futures: /fills gives the 100 fills before lastFillTime.
async function krakenFuturesTrades(ex) {
  const out = new Map();
  let before;
  for (;;) {
    const page = await ex.fetchMyTrades(undefined, undefined, undefined, before ? { lastFillTime: before } : {});
    const fresh = page.filter((t) => !out.has(t.id));
    if (fresh.length === 0) break;
    for (const t of page) out.set(t.id, t);
    before = page.reduce((m, t) => (t.timestamp < m.timestamp ? t : m)).datetime;
  }
  return [...out.values()];
}

// ------------------------------------------------------------------ balances

// The truth is each currency's net cash. ccxt's total is gross of what it
// reports separately: a margin account's debt (borrowed + interest), and a
// USD-M account's open positions (total = marginBalance = wallet + unrealized
// PnL; the cash left after closing them at the mark is total - signed
// notional). Both adjustments come from ccxt's own parsed fields.
function netTotals(ex, bal, positions) {
  const out = {};
  for (const [cur, v] of Object.entries(bal.total || {})) {
    if (v === undefined || v === null) continue;
    let t = ex.numberToString(v);
    const debt = bal[cur] && bal[cur].debt;
    if (debt !== undefined && debt !== null) t = ccxt.Precise.stringSub(t, ex.numberToString(debt));
    out[cur] = t;
  }
  for (const p of positions || []) {
    const cur = ex.market(p.symbol).settle;
    let n;
    if (ex.id === 'krakenfutures') {
      // Kraken Futures' flex quantity is the collateral (deposits + realized
      // PnL - fees): the cash left after closing at the mark is quantity +
      // unrealized PnL - notional = quantity - contracts x contractSize x entry
      // (ccxt gives no notional for Kraken Futures: entryPrice and contracts)
      if (!p.contracts) continue;
      n = ccxt.Precise.stringMul(ccxt.Precise.stringMul(ex.numberToString(p.contracts),
        ex.numberToString(p.contractSize ?? 1)), ex.numberToString(p.entryPrice));
    } else {
      if (!p.notional) continue;
      n = ex.numberToString(p.notional);
    }
    out[cur] = ccxt.Precise.stringSub(out[cur] || '0', p.side === 'short' ? ccxt.Precise.stringNeg(n) : n);
  }
  return out;
}

// Open positions as ccxt parses them against the truth's fills: per symbol,
// the signed sum of the fill amounts (buys positive); a flat symbol has no
// position (or one of zero contracts).
function comparePositions(ex, label, positions, truthFills) {
  const want = {};
  for (const f of truthFills)
    want[f.symbol] = ccxt.Precise.stringAdd(want[f.symbol] || '0', f.side === 'buy' ? f.amount : ccxt.Precise.stringNeg(f.amount));
  const got = {};
  for (const p of positions) {
    const c = ccxt.Precise.stringMul(ex.numberToString(p.contracts ?? 0), ex.numberToString(p.contractSize ?? 1));
    got[p.symbol] = ccxt.Precise.stringAdd(got[p.symbol] || '0', p.side === 'short' ? ccxt.Precise.stringNeg(c) : c);
  }
  for (const sym of new Set([...Object.keys(want), ...Object.keys(got)]))
    check(canon(got[sym] || '0') === canon(want[sym] || '0'),
      `${label}: position ${sym} ${canon(got[sym] || '0')} != ${canon(want[sym] || '0')} (truth's fills)`);
}

function compareBalances(ex, label, bal, truth, positions) {
  const net = netTotals(ex, bal, positions);
  for (const [cur, amount] of Object.entries(truth)) {
    const got = net[cur];
    if (canon(amount) === '0' && got === undefined) continue;
    check(got !== undefined && canon(got) === canon(amount), `${label}: balance ${cur} ${got} != ${amount}`);
  }
  for (const [cur, v] of Object.entries(net))
    if (!(cur in truth) && canon(v) !== '0') fail(`${label}: balance ${cur} ${v} not in the truth`);
}

// ------------------------------------------------------------------ flows

function compareFlows(ex, label, got, truth) {
  const want = truth.map((f) => `${f.type} ${f.currency} ${canon(f.amount)} ${f.timestamp}`).sort();
  const have = got.map((f) => `${f.type} ${f.currency} ${f.amount} ${f.timestamp}`).sort();
  check(JSON.stringify(have) === JSON.stringify(want),
    `${label}: flows differ\n    ccxt:  ${have.join(', ')}\n    truth: ${want.join(', ')}`);
}

// Binance: 90-day windows back from now to before the first flow.
async function binanceFlows(ex, truth) {
  const out = [];
  const first = truth.flows.length ? truth.flows[0].timestamp : Date.now();
  const span = 90 * 86400000;
  for (let since = first - 86400000; since <= Date.now(); since += span) {
    const until = since + span - 1;
    for (const d of await ex.fetchDeposits(undefined, since, 1000, { until }))
      out.push({ type: 'deposit', currency: d.currency, amount: num(ex, d.amount), timestamp: d.timestamp });
    for (const w of await ex.fetchWithdrawals(undefined, since, 1000, { until })) {
      // what left the account: the amount received plus the network fee
      const gross = ccxt.Precise.stringAdd(ex.numberToString(w.amount), ex.numberToString(w.fee ? w.fee.cost : 0));
      out.push({ type: 'withdrawal', currency: w.currency, amount: canon('-' + gross), timestamp: w.timestamp });
    }
  }
  return out;
}

// Binance USD-M: the income history's TRANSFER rows, walked forward by time.
async function binanceFuturesFlows(ex, truth) {
  const out = [];
  let since = (truth.flows.length ? truth.flows[0].timestamp : Date.now()) - 86400000;
  for (;;) {
    const page = await ex.fetchLedger(undefined, since, 1000, { type: 'future', incomeType: 'TRANSFER' });
    for (const e of page)
      if (e.type === 'transfer')
        out.push({ type: e.direction === 'out' ? 'withdrawal' : 'deposit', currency: e.currency,
          amount: canon((e.direction === 'out' ? '-' : '') + ex.numberToString(e.amount)), timestamp: e.timestamp });
    if (page.length < 1000) break;
    since = page[page.length - 1].timestamp + 1;
  }
  return out;
}

// ------------------------------------------------------------------ funding

// Binance USD-M: per symbol, fetchFundingHistory (FUNDING_FEE income rows)
// walked forward by time in pages of 100 from before the account's first fill.
async function binanceFunding(ex, a, truth) {
  const out = [];
  const first = truth.fills.length ? Math.min(...truth.fills.map((f) => f.timestamp)) : Date.now();
  for (const s of a.symbols) {
    let since = first - 86400000;
    for (;;) {
      const page = await ex.fetchFundingHistory(s.symbol, since, 100);
      out.push(...page);
      if (page.length < 100) break;
      since = page[page.length - 1].timestamp + 1;
    }
  }
  return out;
}

function compareFunding(ex, label, got, truth) {
  const want = truth.map((f) => `${f.id} ${f.symbol} ${f.currency} ${canon(f.amount)} ${f.timestamp}`).sort();
  const have = got.map((f) => `${f.id} ${f.symbol} ${f.code} ${num(ex, f.amount)} ${f.timestamp}`).sort();
  console.log(`  funding: ${have.length} payments from ccxt, ${want.length} in the truth`);
  check(want.length > 0, `${label}: no funding in the truth of a USD-M account`);
  const diff = have.filter((x, i) => x !== want[i]).slice(0, 3);
  check(JSON.stringify(have) === JSON.stringify(want),
    `${label}: funding differs (${have.length} rows from ccxt, ${want.length} in the truth), first: ` +
    `${diff.join(', ')} vs ${want.filter((x) => !have.includes(x)).slice(0, 3).join(', ')}`);
}

// Kraken and Kraken Futures: the ledger's deposit, withdrawal and transfer entries.
async function ledgerFlows(ex, params) {
  const out = [];
  for (const e of await ex.fetchLedger(undefined, undefined, undefined, params)) {
    if (!['transaction', 'deposit', 'withdrawal', 'transfer'].includes(e.type)) continue;
    const info = e.info || {};
    const type = info.type === 'withdrawal' || e.direction === 'out' ? 'withdrawal' : 'deposit';
    const amt = canon(ex.numberToString(e.amount));
    out.push({ type, currency: e.currency, amount: type === 'withdrawal' && !amt.startsWith('-') ? '-' + amt : amt,
      timestamp: e.timestamp });
  }
  return out;
}

// ------------------------------------------------------------------ one account

async function judgeAccount(base, port, a) {
  const label = `${a.exchange}/${a.market}#${a.index}`;
  console.log(`${label}: ${a.nfills} fills, symbols ${a.symbols.map((s) => s.symbol).join(' ')}`);
  const ex = client(a, port);
  const truth = await getJson(base, '/exsim/truth?api_key=' + encodeURIComponent(a.api_key));
  if (tamper && truth.fills.length > 0) {
    // the judge's own check: one digit more on one fill's price must be caught
    truth.fills[0].price = canon(truth.fills[0].price).includes('.') ? truth.fills[0].price + '1' :
      truth.fills[0].price + '.1';
    tampered++;
    // and one funding payment's amount, where there is funding
    if (truth.funding && truth.funding.length > 0) {
      truth.funding[0].amount = canon(truth.funding[0].amount) === '0' ? '1' : '0';
      tampered++;
    }
  }

  const markets = await ex.loadMarkets();
  for (const s of a.symbols) check(markets[s.symbol] !== undefined, `${label}: loadMarkets lacks ${s.symbol}`);

  // balances
  const bparams = a.market === 'margin' ? { type: 'margin' } : a.market === 'futures' && a.exchange === 'binance' ?
    { type: 'future' } : {};
  if (a.exchange === 'coinbase') bparams.v3 = true;	// Advanced Trade accounts, not the v2 App API
  const positions = a.exchange === 'binance' && a.market === 'futures' ? await ex.fetchPositions(undefined, { method: 'account' }) :
    a.exchange === 'krakenfutures' ? await ex.fetchPositions() : [];
  compareBalances(ex, label, await ex.fetchBalance(bparams), truth.balances, positions);
  if (a.exchange === 'krakenfutures') comparePositions(ex, label, positions, truth.fills);

  // fills
  const trades = a.exchange === 'binance' ? await binanceTrades(ex, a) : a.exchange === 'kraken' ?
    await krakenTrades(ex) : a.exchange === 'krakenfutures' ? await krakenFuturesTrades(ex) : await paginated(ex);
  // Kraken Futures' /fills carries no fee (ccxt fills in an estimate from
  // its fee table): the fee is judged where the exchange reports it.
  compareFills(ex, label, trades, truth.fills, a.exchange !== 'krakenfutures');

  // deposits and withdrawals
  if (a.exchange === 'binance' && a.market !== 'futures')
    compareFlows(ex, label, await binanceFlows(ex, truth), truth.flows.map((f) =>
      // Binance's withdrawal applyTime is "YYYY-MM-DD HH:MM:SS": whole seconds
      f.type === 'withdrawal' ? { ...f, timestamp: f.timestamp - (f.timestamp % 1000) } : f));
  else if (a.exchange === 'binance')
    compareFlows(ex, label, await binanceFuturesFlows(ex, truth), truth.flows);
  else if (a.exchange === 'kraken')
    compareFlows(ex, label, await ledgerFlows(ex, { paginate: true, paginationCalls: 100000 }), truth.flows);
  else if (a.exchange === 'krakenfutures')
    compareFlows(ex, label, await ledgerFlows(ex, {}), truth.flows);
  else if (a.exchange === 'coinbase')
    console.log('  (flows not judged: Advanced Trade has no deposit history; ccxt reads it from the v2 App API)');
  else
    console.log(`  (flows not judged: ${a.exchange} ${a.market} has no deposit history endpoint served here)`);

  // funding (Binance USD-M: FUNDING_FEE income, in the wallet and the truth's balances)
  if (a.exchange === 'binance' && a.market === 'futures')
    compareFunding(ex, label, await binanceFunding(ex, a, truth), truth.funding);
  else
    check((truth.funding || []).length === 0, `${label}: funding in the truth of an account without any`);

  // daily OHLCV
  for (const s of a.symbols) {
    const closes = await getJson(base, `/exsim/closes?exchange=${a.exchange}&market=${a.market}&symbol=` +
      encodeURIComponent(s.symbol));
    const candles = await ex.fetchOHLCV(s.symbol, '1d', undefined, undefined);
    check(candles.length > 0, `${label}: no daily candles for ${s.symbol}`);
    const got = new Map(candles.map((c) => [String(c[0]), c]));
    let bad = 0;
    for (const c of candles) {
      const want = closes[String(c[0])];
      checks++;
      if (want === undefined || !same(ex, c[4], want)) {
        failures++;
        if (bad++ < 5) console.log(`  FAIL ${label}: ${s.symbol} ${new Date(c[0]).toISOString()} close ` +
          `${num(ex, c[4])} != ${want}`);
      }
    }
    // a window by since and limit (ccxt turns them into the exchange's own
    // range parameters) is the same candles
    if (candles.length >= 4) {
      const win = await ex.fetchOHLCV(s.symbol, '1d', candles[1][0], 2);
      check(win.length === 2 && win[0][0] === candles[1][0] && win[1][0] === candles[2][0] &&
        same(ex, win[0][4], candles[1][4]) && same(ex, win[1][4], candles[2][4]),
        `${label}: ${s.symbol} candles from ${candles[1][0]} limit 2: ${JSON.stringify(win)}`);
    }
    const first = candles.length ? candles[0][0] : Infinity;
    for (const day of Object.keys(closes))
      if (Number(day) >= first && !got.has(day)) { fail(`${label}: ${s.symbol} no candle for day ${day}`); break; }
  }
}

// ------------------------------------------------------------------ main

let sim;
let base = opt('url');
let port;
try {
  if (!base) {
    const bin = opt('exsim');
    if (!bin) throw new Error('need --exsim BIN or --url URL');
    sim = await startSim(bin);
    port = sim.port;
    base = `http://127.0.0.1:${port}`;
  } else port = Number(new URL(base).port);
  console.log(`judge: ccxt ${ccxt.version}, node ${process.version}, simulator ${base}`);
  const accounts = await getJson(base, '/exsim/accounts');
  const exchanges = new Set();
  for (const a of accounts) {
    exchanges.add(a.exchange);
    const before = failures;
    try {
      await judgeAccount(base, port, a);
    } catch (e) {
      fail(`${a.exchange}/${a.market}#${a.index}: ${e.constructor.name}: ${String(e.message).slice(0, 400)}`);
    }
    console.log(`  ${failures === before ? 'ok' : 'FAILED'}`);
  }
  for (const x of ['binance', 'coinbase', 'kraken', 'krakenfutures'])
    check(exchanges.has(x), `no ${x} account in the simulator`);
} catch (e) {
  fail(`judge: ${e.message}`);
} finally {
  if (sim) {
    // a clean stop, so the sanitizer build's leak and error reports count
    sim.child.kill('SIGTERM');
    const { code, signal } = await sim.exited;
    check(code === 0, `perfagg-exsim stopped with ${signal || 'exit code ' + code}`);
  }
}
if (tamper) {
  const caught = failures === tampered && tampered > 0;
  console.log(`judge --tamper: ${tampered} altered fills and funding payments, ${failures} differences reported`);
  console.log(`${caught ? 1 : 0} passed, ${caught ? 0 : 1} failed`);
  process.exit(caught ? 0 : 1);
}
console.log(`${checks - failures} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
