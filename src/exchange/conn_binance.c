/*
 * conn_binance: the Binance connector for Spot (GET /api/v3/myTrades),
 * USD-M Futures (GET /fapi/v1/userTrades) and Cross Margin
 * (GET /sapi/v1/margin/myTrades). See exchange.h for the interface and
 * ../shared/reference/exchanges.md sections 1-4 and 9 for the facts.
 *
 * One cycle:
 *   time      GET /api/v3/time | /fapi/v1/time (first cycle, hourly, and after -1021)
 *   info      GET exchangeInfo, cached for a day: native symbol -> base/quote
 *   account   GET /api/v3/account (spot, margin) | /fapi/v2/account (futures):
 *             canTrade, balances (spot), wallet balances and open positions (futures)
 *   mbalance  GET /sapi/v1/margin/account (margin): balances, net of debt (netAsset)
 *   restrict  GET /sapi/v1/account/apiRestrictions: the key's own permissions
 *             (skipped where /sapi is not reachable: the spot testnet)
 *   income    GET /fapi/v1/income (futures): symbols with COMMISSION,
 *             REALIZED_PNL or FUNDING_FEE rows are candidates; TRANSFER rows
 *             are the flows, FUNDING_FEE rows the funding payments (sink
 *             funding: P&L that is neither a fill nor a flow)
 *   trades    per candidate symbol: fromId = cursor, limit = 1000, cursor =
 *             last id + 1, until a short page
 *   deposit   GET /sapi/v1/capital/deposit/hisrec, 90-day windows (spot, margin)
 *   withdraw  GET /sapi/v1/capital/withdraw/history, 90-day windows (spot, margin)
 *   klines    GET /api/v3/klines | /fapi/v1/klines interval=1d for traded
 *             symbols, for every <asset>USDT pair of an asset held or
 *             moved (fees in BNB, assets never traded) and BTCUSDT (public,
 *             unsigned), each from the account's first day of activity, so
 *             that every balance can be valued (docs/ANALYTICS.md section 6)
 *
 * Parts and rate pools (exchange.h). time, info, account, mbalance, income
 * and trades are the fills walk (XPART_FILLS): discovery needs the balances
 * and, for USD-M, the income history's symbols, so none of them is skipped
 * (income is a fills step: its COMMISSION and REALIZED_PNL rows name
 * symbols traded with no position left; so funding, read from the same
 * rows, is exactly as complete as the fills walk). restrict (XPART_PERMISSIONS),
 * deposit and withdraw (XPART_FLOWS) and klines (XPART_PRICES) are side
 * steps: a permanent refusal there (-2015/-2014/-1002 after the account step
 * accepted the key, 404, -1121 for a price series) degrades the part with
 * the exchange's words and moves on (XR_OK), and ops->skip moves past one
 * given up by the poller (restrictions and flows are asked again with the
 * next slow refresh, from the same cursor; one symbol's closes an hour
 * later). restrict comes before the walk so that a key refused under
 * PERFAGG_REQUIRE_READ_ONLY is refused before it is used; it never holds
 * the walk back. Each request is charged its documented weight against
 * its API family's per-IP pool (ops->pools): /api 6000 a minute, /sapi
 * 12,000, /fapi 2400, and withdraw history's per-second pool; USD-M klines
 * weigh 5 at limit 1000. ops->resync makes the next request a server-time
 * one, then repeats the step (also the answer to -1021).
 *
 * Futures balances are reported in the cash view the daemon's equity uses
 * (equity = cash + sum(position qty x close)): per margin asset, cash =
 * walletBalance + unrealizedProfit - the notional of the open positions
 * settled in it, and each open position as a balance of its unified symbol
 * (positionAmt).
 *
 * Symbol discovery. Binance has no all-symbols fills endpoint, so the
 * candidates are the exchangeInfo symbols whose base or quote asset the
 * account holds now, the symbols of open futures positions and of futures
 * income, and every symbol already tracked. A position fully exited in
 * assets no longer held (neither base nor quote) is missed unless the user
 * names the symbol. USD-M only serves the last 6 months of trades.
 *
 * Pages come oldest first by trade id, and one symbol is walked to its end
 * before the next starts, so every symbol's fills are emitted in ascending
 * order (ops.ascending) and a backfill holds one page at a time.
 *
 * Progress. Every step's request differs from the previous one of the step
 * unless it is a retry: trades move fromId past the page, income moves
 * startTime past its last row, flows move to the next 90-day window, klines
 * move startTime past the page's last day (the set of series to fetch is
 * decided once per cycle, before the first klines request). So the
 * requests of one cycle, retries and clock resyncs aside, are at most
 *     F + I + sum over candidates s of (floor(T_s / 1000) + 1)
 *       + 2 W + sum over price series k of (floor(D_k / 1000) + 1)
 * where F <= 5 is the fixed steps (time, exchangeInfo, account,
 * apiRestrictions, margin balances), I = floor(R / 1000) + 1 for R futures
 * income rows after the income cursor (0 for spot and margin; rows counted
 * again when a full page's last millisecond is read again, see on_income), T_s the
 * trades of candidate s after its cursor (candidates <= exchangeInfo's
 * symbols), W the 90-day windows of deposits (as many of withdrawals) since
 * the flows cursor, and D_k the days of closes series k still needs (the
 * candidates with closes and the BTCUSDT benchmark). A resync adds two
 * requests (time, then the step again). test_binance_sim.c
 * test_requests_bounded checks this for a backfill of a 1,500-day account
 * and for a steady-state cycle.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/dec.h"
#include "core/fill.h"
#include "exchange/exchange.h"
#include "exchange/sign_binance.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define PAGE 1000
#define DAY_MS 86400000LL
#define FLOW_WINDOW_MS (90 * DAY_MS)
#define INFO_TTL_MS DAY_MS
#define CLOCK_TTL_MS 3600000LL
/* Slow-changing facts are refreshed less often than trades are polled: at
 * 10,000 sessions a minute, every request saved per cycle is ~170/s. */
#define ACCOUNT_TTL_MS 600000LL		/* balances, and with them new symbols */
#define SLOW_TTL_MS 3600000LL		/* API restrictions, deposits, withdrawals */
#define FUTURES_HORIZON_MS (180 * DAY_MS)
#define FLOW_HORIZON_MS (365 * DAY_MS)
#define RECV_WINDOW 10000		/* ccxt's; Binance allows up to 60000 */

enum bstep {
	S_TIME, S_INFO, S_ACCOUNT, S_MBALANCE, S_RESTRICT, S_INCOME, S_TRADES, S_DEPOSIT, S_WITHDRAW, S_KLINES,
	S_DONE
};

struct bsym {
	char native[32];
	char unified[FILL_SYMBOL_MAX];
	uint64_t next_id;		/* fromId of the next page */
	int64_t first_ms;		/* earliest fill seen, 0 = none */
	int64_t kline_from;		/* open time of the next daily close to fetch, 0 = none yet */
	int64_t kline_at;		/* when the closes were last fetched */
	bool dropped;			/* -1121: the exchange does not know it */
};

struct binfo {
	char native[32];
	char unified[FILL_SYMBOL_MAX];
	char base[FILL_CUR_MAX], quote[FILL_CUR_MAX];
};

struct bpriv {
	enum bstep step, resume;	/* resume: the step a clock resync interrupted */
	size_t idx;
	struct bsym *syms;
	size_t nsyms;
	struct bsym bench;		/* BTCUSDT daily closes, the benchmark */
	struct binfo *info;
	size_t ninfo;
	int64_t info_at;
	char (*held)[FILL_CUR_MAX];	/* assets with a balance this cycle */
	size_t nheld;
	bool can_trade;
	bool discovered;		/* candidates looked for this cycle */
	bool closes_planned;		/* want_closes() ran this cycle */
	int64_t clock_at;		/* local time of the last sync, 0 = never */
	int64_t account_at;		/* last balances read, 0 = never */
	int64_t restrict_at;		/* last API restrictions read */
	int64_t flows_at;		/* last time deposits and withdrawals were caught up */
	bool refresh_account, refresh_slow;	/* this cycle's choices */
	int64_t income_from;		/* futures: startTime of the next income page */
	int64_t flow_from[2];		/* deposit, withdrawal: start of the next window */
	int64_t flow_to;		/* end of the window asked for */
	int64_t now;			/* cycle start */
	int64_t first_day_ms;		/* earliest fill or flow day seen, 0 = none */
	bool has_sapi;
	char sapi[XCONN_URL_MAX];	/* base URL of /sapi */
};

static bool
futures(const struct xconn *c)
{
	return c->conf.market == FILL_FUTURES;
}

/* ------------------------------------------------------------------ lifecycle */

static int
b_open(struct xconn *c, const char **errstr)
{
	struct bpriv *p = xcalloc(1, sizeof(*p));

	/* /sapi lives on the spot host. A base URL override (a proxy, the
	 * simulator) serves everything; the testnets have no /sapi. */
	if (strcmp(c->base_url, c->ops->prod_url[c->conf.market]) == 0) {
		p->has_sapi = true;
		snprintf(p->sapi, sizeof(p->sapi), "%s", c->ops->prod_url[FILL_SPOT]);
	} else if (c->ops->sandbox_url[c->conf.market] != NULL &&
	    strcmp(c->base_url, c->ops->sandbox_url[c->conf.market]) == 0) {
		p->has_sapi = false;
	} else {
		p->has_sapi = true;
		snprintf(p->sapi, sizeof(p->sapi), "%s", c->base_url);
	}
	if (c->conf.market == FILL_MARGIN && !p->has_sapi) {
		free(p);
		*errstr = "Binance cross margin needs /sapi, which this base URL does not serve";
		return -1;
	}
	snprintf(p->bench.native, sizeof(p->bench.native), "BTCUSDT");
	snprintf(p->bench.unified, sizeof(p->bench.unified), "%s", futures(c) ? "BTC/USDT:USDT" : "BTC/USDT");
	c->priv = p;
	return 0;
}

static void
b_close(struct xconn *c)
{
	struct bpriv *p = c->priv;

	if (p == NULL)
		return;
	free(p->syms);
	free(p->info);
	free(p->held);
	free(p);
	c->priv = NULL;
}

static void
b_begin(struct xconn *c, int64_t now_ms)
{
	struct bpriv *p = c->priv;

	p->step = S_TIME;
	p->idx = 0;
	p->discovered = false;
	p->closes_planned = false;
	p->now = now_ms;
	p->refresh_account = p->account_at == 0 || now_ms - p->account_at >= ACCOUNT_TTL_MS;
	p->refresh_slow = p->flows_at == 0 || now_ms - p->flows_at >= SLOW_TTL_MS;
	/* Held assets come with the balances: kept when they are not re-read
	 * (tracked symbols stay tracked either way). */
	if (p->refresh_account)
		p->nheld = 0;
	if (p->flow_from[0] == 0) {
		int64_t from = c->conf.backfill_from_ms > 0 ? c->conf.backfill_from_ms : now_ms - FLOW_HORIZON_MS;
		p->flow_from[0] = p->flow_from[1] = from;
	}
	if (p->income_from == 0)
		p->income_from = c->conf.backfill_from_ms > 0 ? c->conf.backfill_from_ms : now_ms - FUTURES_HORIZON_MS;
}

/* ------------------------------------------------------------------ symbols */

static struct bsym *
sym_find(struct bpriv *p, const char *native)
{
	for (size_t i = 0; i < p->nsyms; i++)
		if (strcmp(p->syms[i].native, native) == 0)
			return &p->syms[i];
	return NULL;
}

static const struct binfo *
info_find(const struct bpriv *p, const char *native)
{
	for (size_t i = 0; i < p->ninfo; i++)
		if (strcmp(p->info[i].native, native) == 0)
			return &p->info[i];
	return NULL;
}

/* Tracks native (known to exchangeInfo) from now on; no-op if tracked. */
static void
sym_track(struct bpriv *p, const char *native)
{
	const struct binfo *bi;
	struct bsym *s;

	if (sym_find(p, native) != NULL || (bi = info_find(p, native)) == NULL)
		return;
	p->syms = xreallocarray(p->syms, p->nsyms + 1, sizeof(*p->syms));
	s = &p->syms[p->nsyms++];
	memset(s, 0, sizeof(*s));
	snprintf(s->native, sizeof(s->native), "%s", bi->native);
	snprintf(s->unified, sizeof(s->unified), "%s", bi->unified);
}

static bool
held(const struct bpriv *p, const char *asset)
{
	for (size_t i = 0; i < p->nheld; i++)
		if (strcmp(p->held[i], asset) == 0)
			return true;
	return false;
}

static void
hold(struct bpriv *p, const char *asset)
{
	if (held(p, asset) || strlen(asset) >= FILL_CUR_MAX)
		return;
	p->held = xreallocarray(p->held, p->nheld + 1, sizeof(*p->held));
	snprintf(p->held[p->nheld++], FILL_CUR_MAX, "%s", asset);
}

static void
note_day(struct bpriv *p, int64_t ts)
{
	int64_t day = ts - ts % DAY_MS;

	if (p->first_day_ms == 0 || day < p->first_day_ms)
		p->first_day_ms = day;
}

/* Daily closes are wanted for every traded symbol and for <asset>USDT of
 * every asset held or moved (spot, margin), from the account's first day:
 * a symbol never fetched yet starts there. Runs once per cycle, before the
 * first klines request: run again after a full page it would move that
 * symbol's start back to the first day, and the same page would be asked
 * for forever (an account older than 1000 days never finished a cycle). */
/* The tracked symbol whose closes are the benchmark's (BTCUSDT, once its
 * closes are wanted), or NULL. */
static struct bsym *
bench_twin(struct bpriv *p)
{
	for (size_t i = 0; i < p->nsyms; i++)
		if (strcmp(p->syms[i].native, p->bench.native) == 0 && p->syms[i].kline_from != 0)
			return &p->syms[i];
	return NULL;
}

static void
want_closes(struct xconn *c)
{
	struct bpriv *p = c->priv;
	struct bsym *twin;

	if (p->first_day_ms == 0)
		return;
	for (size_t i = 0; i < p->nsyms; i++) {
		struct bsym *s = &p->syms[i];
		const struct binfo *bi = info_find(p, s->native);
		bool priced = !futures(c) && bi != NULL && strcmp(bi->quote, "USDT") == 0 && held(p, bi->base);
		if (s->kline_at == 0 && (s->kline_from != 0 || priced))
			s->kline_from = p->first_day_ms;
	}
	if (p->bench.kline_at == 0)
		p->bench.kline_from = p->first_day_ms;
	/* A traded BTCUSDT is the benchmark's own series: it is fetched once,
	 * as the symbol, over the benchmark's days too (it was asked twice
	 * per cycle, a repeat the poller counted). */
	if ((twin = bench_twin(p)) != NULL && p->bench.kline_from != 0 && p->bench.kline_from < twin->kline_from)
		twin->kline_from = p->bench.kline_from;
}

/* Every exchangeInfo symbol in an asset held becomes a candidate. */
static void
discover(struct xconn *c)
{
	struct bpriv *p = c->priv;

	for (size_t i = 0; i < p->ninfo; i++)
		if (held(p, p->info[i].base) || held(p, p->info[i].quote))
			sym_track(p, p->info[i].native);
}

/* ------------------------------------------------------------------ requests */

/* Binance's per-IP limits are per API family (rest-api.md LIMITS, the
 * USD-M and SAPI docs): /api request weight 6000 a minute, /sapi IP weight
 * 12,000 a minute, /fapi 2400 a minute. Withdraw history is charged 18,000
 * against its own per-second IP limit of 180,000 (10 requests a second),
 * not against the /sapi minute. The indexes are req->pool.
 *
 * Binance counts in fixed windows (the calendar minute on its clock); a
 * token bucket of capacity C refilled at r lets C + r T through in any T,
 * so C + 60 r must stay within the minute's limit L, or a burst at the end
 * of one window and the refill in the next exceed it (a 429, then a ban).
 * Each pool is declared with C = L / 10 and r such that C + 60 r = 0.98 L
 * (a little room for requests that reach Binance in a later window than
 * they were reserved in): 88 % of L a minute, sustained. */
enum bpool { P_API, P_SAPI, P_FAPI, P_SAPI_1S, P_COUNT };

#define BPOOL(name, limit, window_s) { name, false, (limit) / 10.0, (limit) * 0.88 / (window_s) }
static const struct xpool bpools[P_COUNT] = {
	[P_API] = BPOOL("api", 6000, 60),
	[P_SAPI] = BPOOL("sapi", 12000, 60),
	[P_FAPI] = BPOOL("fapi", 2400, 60),
	/* One request is 18,000: the burst must hold it. */
	[P_SAPI_1S] = { "sapi-withdraw-1s", false, 18000, 180000 * 0.88 },
};
#undef BPOOL

/* An endpoint as this connector calls it: its pool, its documented weight
 * for the parameters sent, and the part of the account it serves. */
struct bendpoint {
	const char *path;
	enum bpool pool;
	unsigned weight;
	enum xpart part;
};

/* What the fills walk needs is XPART_FILLS: the clock, the markets, the
 * account (the credential's validation, and the held assets discovery starts
 * from; its balances come with it), margin balances (the held and borrowed
 * assets of a margin account are its discovery), and the USD-M income
 * history (it names the symbols traded without an open position; skipping it
 * would lose fills silently, so it is never skipped; its TRANSFER rows are
 * the flows). The side steps are the key's restrictions, deposits,
 * withdrawals and daily closes. */
static const struct bendpoint
	E_TIME = { "/api/v3/time", P_API, 1, XPART_FILLS },
	E_FTIME = { "/fapi/v1/time", P_FAPI, 1, XPART_FILLS },
	E_INFO = { "/api/v3/exchangeInfo", P_API, 20, XPART_FILLS },
	E_FINFO = { "/fapi/v1/exchangeInfo", P_FAPI, 1, XPART_FILLS },
	E_ACCOUNT = { "/api/v3/account", P_API, 20, XPART_FILLS },
	E_FACCOUNT = { "/fapi/v2/account", P_FAPI, 5, XPART_FILLS },
	E_MACCOUNT = { "/sapi/v1/margin/account", P_SAPI, 10, XPART_FILLS },
	E_INCOME = { "/fapi/v1/income", P_FAPI, 30, XPART_FILLS },
	E_TRADES = { "/api/v3/myTrades", P_API, 20, XPART_FILLS },
	E_FTRADES = { "/fapi/v1/userTrades", P_FAPI, 5, XPART_FILLS },
	E_MTRADES = { "/sapi/v1/margin/myTrades", P_SAPI, 10, XPART_FILLS },
	E_RESTRICT = { "/sapi/v1/account/apiRestrictions", P_SAPI, 1, XPART_PERMISSIONS },
	E_DEPOSIT = { "/sapi/v1/capital/deposit/hisrec", P_SAPI, 1, XPART_FLOWS },
	E_WITHDRAW = { "/sapi/v1/capital/withdraw/history", P_SAPI_1S, 18000, XPART_FLOWS },
	/* Spot klines weigh 2 whatever the limit; USD-M's by limit (below). */
	E_KLINES = { "/api/v3/klines", P_API, 2, XPART_PRICES },
	E_FKLINES = { "/fapi/v1/klines", P_FAPI, 0, XPART_PRICES };

/* USD-M klines: limit [1,100) 1, [100,500) 2, [500,1000] 5, above 10. */
static unsigned
fklines_weight(unsigned limit)
{
	return limit < 100 ? 1 : limit < 500 ? 2 : limit <= 1000 ? 5 : 10;
}

static void
charge(struct xreq *req, const struct bendpoint *e, int tag)
{
	req->pool = e->pool;
	req->weight = e == &E_FKLINES ? fklines_weight(PAGE) : e->weight;
	req->part = e->part;
	req->tag = tag;
}

static void
public_get(struct xconn *c, struct xreq *req, const struct bendpoint *e, const char *query, int tag)
{
	xreq_set(req, "GET", c->base_url, e->path, query);
	charge(req, e, tag);
}

/* A SIGNED GET: params, then recvWindow and timestamp at the exchange's
 * clock, then the signature over exactly that query string. */
static int
signed_get(struct xconn *c, const struct credential *cred, int64_t now, struct xreq *req, const char *base,
    const struct bendpoint *e, const char *params, int tag, const char **errstr)
{
	char *q, *sig, *full;

	q = xasprintf("%s%srecvWindow=%d&timestamp=%lld", params, *params != '\0' ? "&" : "", RECV_WINDOW,
	    (long long)(now + c->clock_offset_ms));
	if ((sig = sign_binance(cred->secret, cred->secret_len, q, strlen(q), NULL, 0, errstr)) == NULL) {
		free(q);
		return -1;
	}
	full = xasprintf("%s&signature=%s", q, sig);
	xreq_set(req, "GET", base, e->path, full);
	xreq_header(req, "X-MBX-APIKEY", cred->api_key);
	charge(req, e, tag);
	OPENSSL_cleanse(sig, strlen(sig));
	free(sig);
	free(full);
	free(q);
	return 1;
}

/* Deposits are done for this cycle: withdrawals next; withdrawals done:
 * the flows are caught up (when they were due), closes next. */
static void
flows_next(struct bpriv *p)
{
	if (p->step == S_DEPOSIT) {
		p->step = S_WITHDRAW;
		return;
	}
	if (p->refresh_slow)
		p->flows_at = p->now;
	p->step = S_KLINES;
	p->idx = 0;
}

static int
b_next(struct xconn *c, const struct credential *cred, int64_t now, struct xreq *req, const char **errstr)
{
	struct bpriv *p = c->priv;
	char params[160];
	bool fut = futures(c);

	for (;;) {
		switch (p->step) {
		case S_TIME:
			if (p->clock_at != 0 && now - p->clock_at < CLOCK_TTL_MS) {
				p->step = S_INFO;
				continue;
			}
			public_get(c, req, fut ? &E_FTIME : &E_TIME, NULL, S_TIME);
			return 1;
		case S_ACCOUNT:
			if (!p->refresh_account) {
				p->step = S_RESTRICT;
				continue;
			}
			if (fut)
				return signed_get(c, cred, now, req, c->base_url, &E_FACCOUNT, "", S_ACCOUNT, errstr);
			return signed_get(c, cred, now, req, c->base_url, &E_ACCOUNT, "omitZeroBalances=true", S_ACCOUNT,
			    errstr);
		case S_MBALANCE:
			if (c->conf.market != FILL_MARGIN) {
				p->step = S_RESTRICT;
				continue;
			}
			return signed_get(c, cred, now, req, p->sapi, &E_MACCOUNT, "", S_MBALANCE, errstr);
		case S_RESTRICT:
			if (!p->has_sapi || (p->restrict_at != 0 && p->now - p->restrict_at < SLOW_TTL_MS)) {
				p->step = S_INCOME;
				continue;
			}
			return signed_get(c, cred, now, req, p->sapi, &E_RESTRICT, "", S_RESTRICT, errstr);
		case S_INFO:
			if (p->info != NULL && now - p->info_at < INFO_TTL_MS) {
				p->step = S_ACCOUNT;
				continue;
			}
			public_get(c, req, fut ? &E_FINFO : &E_INFO, NULL, S_INFO);
			return 1;
		case S_INCOME:
			/* Candidates are looked for once per cycle, with this
			 * cycle's balances and the cached exchangeInfo. */
			if (!p->discovered) {
				discover(c);
				p->discovered = true;
			}
			if (!fut) {
				p->step = S_TRADES;
				p->idx = 0;
				continue;
			}
			snprintf(params, sizeof(params), "startTime=%lld&limit=%d", (long long)p->income_from, PAGE);
			return signed_get(c, cred, now, req, c->base_url, &E_INCOME, params, S_INCOME, errstr);
		case S_TRADES:
			while (p->idx < p->nsyms && p->syms[p->idx].dropped)
				p->idx++;
			if (p->idx == p->nsyms) {
				p->step = S_DEPOSIT;
				p->idx = 0;
				continue;
			}
			snprintf(c->progress, sizeof(c->progress), "%s: %zu/%zu symbols", p->syms[p->idx].native,
			    p->idx + 1, p->nsyms);
			snprintf(params, sizeof(params), "symbol=%s&fromId=%llu&limit=%d", p->syms[p->idx].native,
			    (unsigned long long)p->syms[p->idx].next_id, PAGE);
			if (fut)
				return signed_get(c, cred, now, req, c->base_url, &E_FTRADES, params, S_TRADES, errstr);
			if (c->conf.market == FILL_MARGIN)
				return signed_get(c, cred, now, req, p->sapi, &E_MTRADES, params, S_TRADES, errstr);
			return signed_get(c, cred, now, req, c->base_url, &E_TRADES, params, S_TRADES, errstr);
		case S_DEPOSIT:
		case S_WITHDRAW: {
			int k = p->step == S_DEPOSIT ? 0 : 1;
			int64_t end = p->flow_from[k] + FLOW_WINDOW_MS - 1;

			/* Futures flows are the TRANSFER rows of the income history. */
			if (fut || !p->has_sapi || p->flow_from[k] > p->now || !p->refresh_slow) {
				flows_next(p);
				continue;
			}
			p->flow_to = end < p->now ? end : p->now;
			snprintf(params, sizeof(params), "startTime=%lld&endTime=%lld", (long long)p->flow_from[k],
			    (long long)p->flow_to);
			return signed_get(c, cred, now, req, p->sapi, k == 0 ? &E_DEPOSIT : &E_WITHDRAW, params, p->step,
			    errstr);
		}
		case S_KLINES: {
			struct bsym *s;

			/* Every traded symbol, then the benchmark (idx == nsyms);
			 * each at most hourly. */
			if (!p->closes_planned) {
				want_closes(c);
				p->closes_planned = true;
			}
			for (;; p->idx++) {
				s = p->idx < p->nsyms ? &p->syms[p->idx] :
				    p->idx == p->nsyms && bench_twin(p) == NULL ? &p->bench : NULL;
				if (s == NULL || (s->kline_from != 0 && (s->kline_at == 0 || now - s->kline_at >= CLOCK_TTL_MS)))
					break;
			}
			if (s == NULL) {
				p->step = S_DONE;
				continue;
			}
			snprintf(params, sizeof(params), "symbol=%s&interval=1d&startTime=%lld&limit=%d", s->native,
			    (long long)s->kline_from, PAGE);
			public_get(c, req, fut ? &E_FKLINES : &E_KLINES, params, S_KLINES);
			return 1;
		}
		case S_DONE:
			c->backfill_done = true;
			c->progress[0] = '\0';
			return 0;
		}
	}
}

/* ------------------------------------------------------------------ responses */

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A field that must be a decimal (string or, through fill_json_loads, number text). */
static int
jdec(const json_t *o, const char *key, struct dec *out)
{
	const char *s = jstr(o, key), *err;

	return s == NULL ? -1 : dec_parse(s, strlen(s), out, &err);
}

static int
jint(const json_t *o, const char *key, int64_t *out)
{
	const char *s = jstr(o, key);
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return -1;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
jbool(const json_t *o, const char *key, bool *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}

/* Parses one trade row of symbol s exactly as ccxt's binance parseTrade. */
static int
parse_trade(const struct xconn *c, const struct bsym *s, const json_t *row, struct fill *f, uint64_t *id,
    const char **errstr)
{
	const char *v, *asset;
	struct dec fee;
	int64_t n;
	bool b;

	memset(f, 0, sizeof(*f));
	*errstr = "malformed trade row";
	if (!json_is_object(row) || (v = jstr(row, "symbol")) == NULL || strcmp(v, s->native) != 0)
		return -1;
	if (jint(row, "id", &n) == -1 || n < 0)
		return -1;
	*id = (uint64_t)n;
	snprintf(f->id, sizeof(f->id), "%lld", (long long)n);
	if (jint(row, "orderId", &n) == -1)
		return -1;
	snprintf(f->order, sizeof(f->order), "%lld", (long long)n);
	if (jint(row, "time", &f->timestamp) == -1 || jdec(row, "price", &f->price) == -1 ||
	    jdec(row, "qty", &f->amount) == -1 || dec_sign(f->amount) <= 0 || dec_sign(f->price) < 0)
		return -1;
	if (futures(c)) {
		if ((v = jstr(row, "side")) == NULL || (strcmp(v, "BUY") != 0 && strcmp(v, "SELL") != 0))
			return -1;
		f->side = strcmp(v, "BUY") == 0 ? FILL_BUY : FILL_SELL;
		if (jbool(row, "maker", &b) == -1)
			return -1;
	} else {
		if (jbool(row, "isBuyer", &b) == -1)
			return -1;
		f->side = b ? FILL_BUY : FILL_SELL;
		if (jbool(row, "isMaker", &b) == -1)
			return -1;
	}
	f->role = b ? FILL_MAKER : FILL_TAKER;
	/* cost: quoteQty where the endpoint has it (spot, USD-M); margin rows
	 * have none, and ccxt then multiplies price by amount. */
	if (json_object_get(row, "quoteQty") != NULL) {
		if (jdec(row, "quoteQty", &f->cost) == -1)
			return -1;
	} else if (dec_mul(&f->cost, f->price, f->amount) == -1)
		return -1;
	f->has_cost = true;
	if (jdec(row, "commission", &fee) == -1 || (asset = jstr(row, "commissionAsset")) == NULL)
		return -1;
	if (fill_add_fee(f, fee, asset, errstr) == -1 || fill_set_symbol(f, s->unified, strlen(s->unified), errstr) == -1)
		return -1;
	f->market = c->conf.market;
	return 0;
}

static void
on_trades(struct xconn *c, const json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct bpriv *p = c->priv;
	struct bsym *s = &p->syms[p->idx];
	size_t n = json_array_size(j), nf = 0;
	struct fill *fills;
	uint64_t id, next = s->next_id;
	int64_t day;
	const char *err;

	if (!json_is_array(j)) {
		xoutcome_error(out, XR_RETRY, "%s: trades are not an array", s->native);
		return;
	}
	/* The whole page is checked before anything is emitted: a retry after
	 * a bad row must not hand the sink the good rows twice. */
	fills = xcalloc(n > 0 ? n : 1, sizeof(*fills));
	for (size_t i = 0; i < n; i++) {
		if (parse_trade(c, s, json_array_get(j, i), &fills[nf], &id, &err) == -1) {
			xoutcome_error(out, XR_RETRY, "%s: %s", s->native, err);
			goto done;
		}
		/* fromId is inclusive; rows below it are a repeat of the last
		 * page (or out of order): skipped, never counted twice. */
		if (id < s->next_id || id < next)
			continue;
		next = id + 1;
		if (c->conf.backfill_from_ms > 0 && fills[nf].timestamp < c->conf.backfill_from_ms)
			continue;
		nf++;
	}
	if (n >= PAGE && next == s->next_id) {
		xoutcome_error(out, XR_RETRY, "%s: a full page with nothing after fromId %llu", s->native,
		    (unsigned long long)s->next_id);
		goto done;
	}
	for (size_t i = 0; i < nf; i++) {
		if (sink->fill(sink->arg, &fills[i]) == -1) {
			xoutcome_error(out, XR_FATAL, "the fill sink refused a fill");
			goto done;
		}
		day = fills[i].timestamp - fills[i].timestamp % DAY_MS;
		note_day(p, fills[i].timestamp);
		if (s->first_ms == 0 || fills[i].timestamp < s->first_ms)
			s->first_ms = fills[i].timestamp;
		/* Daily closes from the first traded day, for the symbol and
		 * the benchmark alike. */
		if (s->kline_from == 0 || day < s->kline_from)
			s->kline_from = day;
		if (p->bench.kline_from == 0 || day < p->bench.kline_from)
			p->bench.kline_from = day;
	}
	s->next_id = next;
	if (n < PAGE)
		p->idx++;
done:
	free(fills);
}

static void
emit_perms(struct xconn *c, const struct xsink *sink, bool can_trade, bool can_withdraw, struct xoutcome *out)
{
	if (sink->permissions(sink->arg, can_trade, can_withdraw) == -1)
		xoutcome_error(out, XR_FATAL, "the permissions sink refused");
}

/* Emits a non-zero balance and remembers the asset as held. */
static int
balance(struct bpriv *p, const struct xsink *sink, const char *asset, struct dec total, struct xoutcome *out)
{
	if (dec_is_zero(total))
		return 0;
	hold(p, asset);
	if (sink->balance(sink->arg, asset, total) == -1) {
		xoutcome_error(out, XR_FATAL, "the balance sink refused");
		return -1;
	}
	return 0;
}

/* Futures, in the cash view (see the top of the file): every row is checked
 * before anything is emitted. Returns 0, or -1 with out set. */
static int
futures_balances(struct xconn *c, const json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct bpriv *p = c->priv;
	const json_t *assets = json_object_get(j, "assets"), *pos = json_object_get(j, "positions"), *row, *prow;
	struct dec a, u, n;
	size_t i, k;

	if (!json_is_array(assets) || (pos != NULL && !json_is_array(pos)))
		goto bad;
	json_array_foreach(pos, k, prow)
		if (jstr(prow, "symbol") == NULL || jdec(prow, "positionAmt", &a) == -1 ||
		    (!dec_is_zero(a) && jdec(prow, "notional", &n) == -1))
			goto bad;
	json_array_foreach(assets, i, row) {
		const char *asset = jstr(row, "asset");
		if (asset == NULL || jdec(row, "walletBalance", &a) == -1 || jdec(row, "unrealizedProfit", &u) == -1 ||
		    dec_add(&a, a, u) == -1)
			goto bad;
		json_array_foreach(pos, k, prow) {
			const struct binfo *bi = info_find(p, jstr(prow, "symbol"));
			const char *settle = bi != NULL ? strchr(bi->unified, ':') : NULL;
			struct dec amt;
			jdec(prow, "positionAmt", &amt);
			if (dec_is_zero(amt) || settle == NULL || strncmp(settle + 1, asset, strlen(asset)) != 0 ||
			    (settle[1 + strlen(asset)] != '\0' && settle[1 + strlen(asset)] != '-'))
				continue;
			if (jdec(prow, "notional", &n) == -1 || dec_sub(&a, a, n) == -1)
				goto bad;
		}
		if (balance(p, sink, asset, a, out) == -1)
			return -1;
	}
	/* Open positions: a balance of their symbol, and they name it. */
	json_array_foreach(pos, k, prow) {
		const struct binfo *bi = info_find(p, jstr(prow, "symbol"));
		jdec(prow, "positionAmt", &a);
		if (dec_is_zero(a))
			continue;
		sym_track(p, jstr(prow, "symbol"));
		if (bi != NULL && balance(p, sink, bi->unified, a, out) == -1)
			return -1;
	}
	return 0;
bad:
	xoutcome_error(out, XR_RETRY, "account: unexpected response shape");
	return -1;
}

static void
on_account(struct xconn *c, const json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct bpriv *p = c->priv;
	const json_t *arr, *row;
	struct dec a, b;
	size_t i;

	if (jbool(j, "canTrade", &p->can_trade) == -1)
		goto bad;
	if (futures(c)) {
		if (futures_balances(c, j, sink, out) != 0)
			return;
	} else if (c->conf.market == FILL_SPOT) {
		if (!json_is_array(arr = json_object_get(j, "balances")))
			goto bad;
		json_array_foreach(arr, i, row) {
			if (jstr(row, "asset") == NULL || jdec(row, "free", &a) == -1 || jdec(row, "locked", &b) == -1 ||
			    dec_add(&a, a, b) == -1)
				goto bad;
			if (balance(p, sink, jstr(row, "asset"), a, out) == -1)
				return;
		}
	}
	c->validated = true;
	p->account_at = p->now;
	if (!p->has_sapi)
		emit_perms(c, sink, p->can_trade, false, out);
	p->step = S_MBALANCE;
	return;
bad:
	xoutcome_error(out, XR_RETRY, "account: unexpected response shape");
}

static void
on_mbalance(struct xconn *c, const json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct bpriv *p = c->priv;
	const json_t *arr = json_object_get(j, "userAssets"), *row;
	struct dec a, b, borrowed;
	size_t i;

	if (!json_is_array(arr))
		goto bad;
	json_array_foreach(arr, i, row) {
		if (jstr(row, "asset") == NULL || jdec(row, "free", &a) == -1 || jdec(row, "locked", &b) == -1 ||
		    dec_add(&a, a, b) == -1 || jdec(row, "borrowed", &borrowed) == -1)
			goto bad;
		/* The account's equity counts what it owns net of its debt:
		 * netAsset = free + locked - borrowed - interest. Borrowing and
		 * repaying leave it unchanged; interest lowers it (a cost). */
		if (json_object_get(row, "netAsset") != NULL ? jdec(row, "netAsset", &a) == -1 :
		    dec_sub(&a, a, borrowed) == -1 || (jdec(row, "interest", &b) == 0 && dec_sub(&a, a, b) == -1))
			goto bad;
		/* A borrowed asset is traded even with nothing left. */
		if (!dec_is_zero(borrowed))
			hold(p, jstr(row, "asset"));
		if (balance(p, sink, jstr(row, "asset"), a, out) == -1)
			return;
	}
	p->step = S_RESTRICT;
	return;
bad:
	xoutcome_error(out, XR_RETRY, "margin account: unexpected response shape");
}

static void
on_restrict(struct xconn *c, const json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct bpriv *p = c->priv;
	bool w, t;

	if (jbool(j, "enableWithdrawals", &w) == -1 ||
	    jbool(j, futures(c) ? "enableFutures" : "enableSpotAndMarginTrading", &t) == -1) {
		xoutcome_error(out, XR_RETRY, "apiRestrictions: unexpected response shape");
		return;
	}
	/* canTrade is the account's; the key's own permission is here. */
	emit_perms(c, sink, p->can_trade && t, w, out);
	p->restrict_at = p->now;
	p->step = S_INCOME;
}

/* "BTCUSDT_240628" -> "-240628": ccxt's delivery contract suffix. */
static const char *
delivery_suffix(const char *native)
{
	const char *u = strchr(native, '_');

	return u != NULL && u[1] != '\0' ? u + 1 : NULL;
}

static void
on_info(struct xconn *c, const json_t *j, struct xoutcome *out)
{
	struct bpriv *p = c->priv;
	const json_t *arr = json_object_get(j, "symbols"), *row;
	const struct binfo *btc;
	struct binfo *bi;
	size_t i, n = 0;

	if (!json_is_array(arr)) {
		xoutcome_error(out, XR_RETRY, "exchangeInfo: no symbols");
		return;
	}
	bi = xcalloc(json_array_size(arr) + 1, sizeof(*bi));
	json_array_foreach(arr, i, row) {
		const char *sym = jstr(row, "symbol"), *base = jstr(row, "baseAsset"), *quote = jstr(row, "quoteAsset");
		const char *settle = jstr(row, "marginAsset"), *sfx;

		if (sym == NULL || base == NULL || quote == NULL || strlen(sym) >= sizeof(bi->native) ||
		    strlen(base) >= FILL_CUR_MAX || strlen(quote) >= FILL_CUR_MAX)
			continue;
		snprintf(bi[n].native, sizeof(bi[n].native), "%s", sym);
		snprintf(bi[n].base, sizeof(bi[n].base), "%s", base);
		snprintf(bi[n].quote, sizeof(bi[n].quote), "%s", quote);
		if (!futures(c))
			snprintf(bi[n].unified, sizeof(bi[n].unified), "%s/%s", base, quote);
		else if ((sfx = delivery_suffix(sym)) != NULL)
			snprintf(bi[n].unified, sizeof(bi[n].unified), "%s/%s:%s-%s", base, quote,
			    settle != NULL ? settle : quote, sfx);
		else
			snprintf(bi[n].unified, sizeof(bi[n].unified), "%s/%s:%s", base, quote,
			    settle != NULL ? settle : quote);
		n++;
	}
	free(p->info);
	p->info = bi;
	p->ninfo = n;
	p->info_at = p->now;
	if ((btc = info_find(p, "BTCUSDT")) != NULL)
		snprintf(p->bench.unified, sizeof(p->bench.unified), "%s", btc->unified);
	p->step = S_ACCOUNT;
}

static void
on_income(struct xconn *c, const json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct bpriv *p = c->priv;
	const json_t *row;
	int64_t t = 0, last = p->income_from, first = 0;
	size_t i;

	if (!json_is_array(j)) {
		xoutcome_error(out, XR_RETRY, "income: not an array");
		return;
	}
	json_array_foreach(j, i, row) {
		const char *type = jstr(row, "incomeType");
		struct dec amt;

		if (type == NULL || jint(row, "time", &t) == -1 || jdec(row, "income", &amt) == -1) {
			xoutcome_error(out, XR_RETRY, "income: malformed row");
			return;
		}
		last = t;
	}
	/* Valid page: act on it. */
	json_array_foreach(j, i, row) {
		const char *type = jstr(row, "incomeType"), *sym = jstr(row, "symbol"), *asset = jstr(row, "asset");
		const char *tran = jstr(row, "tranId");
		struct dec amt;
		int rc = 0;

		jint(row, "time", &t);
		jdec(row, "income", &amt);
		if (i == 0)
			first = t;
		if ((strcmp(type, "COMMISSION") == 0 || strcmp(type, "REALIZED_PNL") == 0 ||
		    strcmp(type, "FUNDING_FEE") == 0) && sym != NULL)
			sym_track(p, sym);
		if (asset == NULL || tran == NULL)
			continue;
		if (strcmp(type, "TRANSFER") == 0) {
			note_day(p, t);
			rc = sink->flow(sink->arg, tran, t, asset, amt);
		} else if (strcmp(type, "FUNDING_FEE") == 0 && sym != NULL && sink->funding != NULL) {
			/* a symbol exchangeInfo no longer lists keeps its native name */
			const struct binfo *bi = info_find(p, sym);
			note_day(p, t);
			rc = sink->funding(sink->arg, tran, t, bi != NULL ? bi->unified : sym, asset, amt);
		}
		if (rc == -1) {
			xoutcome_error(out, XR_FATAL, "the %s sink refused", type);
			return;
		}
	}
	/* startTime is inclusive. A full page goes on from its last row's
	 * time: rows sharing that millisecond (the funding of every position
	 * is booked at the same instant) may lie beyond the page, and the rows
	 * read again are the same ids (flows and funding are kept once). Only
	 * a page whose rows all share one millisecond goes on from it + 1 (so
	 * that the cursor moves), losing rows of that millisecond beyond 1000. */
	if (json_array_size(j) >= PAGE) {
		p->income_from = first < last ? last : last + 1;
		return;
	}
	p->income_from = json_array_size(j) > 0 ? last + 1 : p->income_from;
	p->step = S_TRADES;
	p->idx = 0;
}

/* applyTime is "YYYY-MM-DD HH:MM:SS" in UTC, without a zone. */
static int
apply_time(const char *s, int64_t *t)
{
	char buf[32];
	size_t n = strlen(s);

	if (n + 2 > sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 'Z';
	return time_parse_iso(buf, n + 1, t);
}

static void
on_flows(struct xconn *c, int k, const json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct bpriv *p = c->priv;
	const json_t *row;
	size_t i;

	if (!json_is_array(j)) {
		xoutcome_error(out, XR_RETRY, "%s history: not an array", k == 0 ? "deposit" : "withdraw");
		return;
	}
	for (int pass = 0; pass < 2; pass++) {
		json_array_foreach(j, i, row) {
			const char *id = jstr(row, "id"), *coin = jstr(row, "coin"), *ts;
			struct dec amt, fee;
			int64_t t, status;

			if (id == NULL || coin == NULL || jdec(row, "amount", &amt) == -1 || jint(row, "status", &status) == -1)
				goto bad;
			if (k == 0) {
				if (jint(row, "insertTime", &t) == -1)
					goto bad;
			} else if ((ts = jstr(row, "applyTime")) == NULL || apply_time(ts, &t) == -1 ||
			    jdec(row, "transactionFee", &fee) == -1) {
				goto bad;
			}
			/* Deposits count when credited (1 success, 6 credited but
			 * locked); withdrawals when completed (6). What leaves the
			 * account is the amount plus the network fee. */
			if (pass == 0 || (k == 0 && status != 1 && status != 6) || (k == 1 && status != 6))
				continue;
			if (k == 1 && (dec_add(&amt, amt, fee) == -1 || dec_neg(&amt, amt) == -1))
				goto bad;
			note_day(p, t);
			hold(p, coin);
			if (sink->flow(sink->arg, id, t, coin, amt) == -1) {
				xoutcome_error(out, XR_FATAL, "the flow sink refused");
				return;
			}
		}
	}
	p->flow_from[k] = p->flow_to + 1;
	return;
bad:
	xoutcome_error(out, XR_RETRY, "%s history: malformed row", k == 0 ? "deposit" : "withdraw");
}

static int
kline_row(const json_t *row, int64_t *t, struct dec *close)
{
	const char *v, *err;
	char *end;

	if (!json_is_array(row) || (v = json_string_value(json_array_get(row, 0))) == NULL)
		return -1;
	*t = strtoll(v, &end, 10);
	if (*end != '\0' || end == v)
		return -1;
	v = json_string_value(json_array_get(row, 4));
	return v == NULL ? -1 : dec_parse(v, strlen(v), close, &err);
}

static void
on_klines(struct xconn *c, const json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct bpriv *p = c->priv;
	struct bsym *s = p->idx < p->nsyms ? &p->syms[p->idx] : &p->bench;
	const json_t *row;
	int64_t t, last = -1;
	struct dec close;
	size_t i;

	if (!json_is_array(j))
		goto bad;
	json_array_foreach(j, i, row) {
		if (kline_row(row, &t, &close) == -1)
			goto bad;
		if (t > last)
			last = t;
	}
	json_array_foreach(j, i, row) {
		(void)kline_row(row, &t, &close);
		if (sink->price(sink->arg, s->unified, t, close) == -1) {
			xoutcome_error(out, XR_FATAL, "the price sink refused");
			return;
		}
	}
	if (json_array_size(j) >= PAGE && last >= s->kline_from) {
		s->kline_from = last + DAY_MS;
		return;
	}
	/* The last day is still open: its close is fetched again later. */
	if (last >= 0)
		s->kline_from = last;
	s->kline_at = p->now;
	/* the benchmark's twin fetched the benchmark's days too */
	if (s != &p->bench && strcmp(s->native, p->bench.native) == 0) {
		p->bench.kline_from = s->kline_from;
		p->bench.kline_at = s->kline_at;
	}
	p->idx++;
	return;
bad:
	xoutcome_error(out, XR_RETRY, "klines %s: unexpected response shape", s->native);
}

/* ------------------------------------------------------------------ errors */

/* Moves past the side step req belongs to, for this cycle; what it would
 * have fetched stays due (its cursor does not move): restrictions and flows
 * are asked again with the slow facts (hourly), one symbol's closes an hour
 * later. */
static void
side_step_done(struct xconn *c, int tag)
{
	struct bpriv *p = c->priv;

	/* A clock resync interrupted the step: give it up all the same. */
	if (p->step == S_TIME && (int)p->resume == tag) {
		p->step = p->resume;
		p->resume = S_TIME;
	}
	if (tag != (int)p->step)
		return;
	switch (p->step) {
	case S_RESTRICT:
		p->restrict_at = p->now;
		p->step = S_INCOME;
		break;
	case S_DEPOSIT:
	case S_WITHDRAW:
		flows_next(p);
		break;
	case S_KLINES:
		if (p->idx <= p->nsyms)
			(p->idx < p->nsyms ? &p->syms[p->idx] : &p->bench)->kline_at = p->now;
		p->idx++;
		break;
	default:
		break;
	}
}

/* A server-time request next, then the interrupted step again. */
static void
b_resync(struct xconn *c)
{
	struct bpriv *p = c->priv;

	p->clock_at = 0;
	if (p->step != S_TIME)
		p->resume = p->step;
	p->step = S_TIME;
}

/* A permanent refusal of a side step: the part is degraded this cycle, with
 * the exchange's words, and the cycle goes on past the step. */
static void
side_degraded(struct xconn *c, const struct xreq *req, const struct xresp *resp, int64_t code, const char *msg)
{
	struct bpriv *p = c->priv;

	if (req->tag == S_KLINES && p->idx <= p->nsyms)
		xconn_degrade(c, XPART_PRICES, "no daily closes for %s: HTTP %ld %lld %s",
		    (p->idx < p->nsyms ? &p->syms[p->idx] : &p->bench)->native, resp->status, (long long)code, msg);
	else
		xconn_degrade(c, req->part, "%s unavailable: HTTP %ld %lld %s",
		    req->tag == S_RESTRICT ? "key restrictions" : "deposits and withdrawals", resp->status,
		    (long long)code, msg);
	side_step_done(c, req->tag);
}

/* Maps a Binance error (HTTP status and {"code","msg"} body) to an outcome.
 * Returns true when the response was an error (out says what to do). */
static bool
map_error(struct xconn *c, const struct xreq *req, const struct xresp *resp, const json_t *j, struct xoutcome *out)
{
	struct bpriv *p = c->priv;
	const char *msg = jstr(j, "msg"), *ra;
	int64_t code = 0;
	bool has_code = jint(j, "code", &code) == 0 && msg != NULL;

	if (resp->status == 200 && !has_code)
		return false;
	if (resp->status == 200 && code >= 0)
		return false;
	if (!has_code)
		msg = "";
	if (resp->status == 429 || resp->status == 418 || code == -1003) {
		ra = resp->header(resp, "Retry-After");
		xoutcome_error(out, XR_RATE_LIMITED, "HTTP %ld %lld %s", resp->status, (long long)code, msg);
		out->retry_after_ms = ra != NULL ? strtoll(ra, NULL, 10) * 1000 : resp->status == 418 ? 120000 : 0;
		return true;
	}
	if (resp->status >= 500) {
		xoutcome_error(out, XR_RETRY, "HTTP %ld %lld %s", resp->status, (long long)code, msg);
		return true;
	}
	switch (code) {
	case -1021:
		/* Resync, then the interrupted step again. */
		b_resync(c);
		xoutcome_error(out, XR_CLOCK, "%lld %s", (long long)code, msg);
		return true;
	case -1002:
	case -1022:
	case -2014:
	case -2015:
		/* On a side step, after the account step accepted the key: a
		 * permission this key lacks (e.g. a read-only key without
		 * "Permits Universal Transfer" on /sapi/v1/capital). */
		if (req->part != XPART_FILLS) {
			side_degraded(c, req, resp, code, msg);
			out->result = XR_OK;
			return true;
		}
		xoutcome_error(out, XR_AUTH, "%lld %s", (long long)code, msg);
		return true;
	case -1121:
		/* The symbol is gone from the exchange: drop it. */
		if (req->tag == S_TRADES) {
			p->syms[p->idx].dropped = true;
			p->idx++;
			out->result = XR_OK;
			return true;
		}
		if (req->tag == S_KLINES) {
			side_degraded(c, req, resp, code, msg);
			out->result = XR_OK;
			return true;
		}
		break;
	default:
		break;
	}
	if (resp->status == 403) {
		/* The WAF's rate or security block. */
		xoutcome_error(out, XR_RATE_LIMITED, "HTTP 403 (WAF) %s", msg);
		return true;
	}
	if (!has_code && resp->status == 404 && (req->tag == S_RESTRICT || req->tag == S_DEPOSIT ||
	    req->tag == S_WITHDRAW)) {
		/* /sapi not served here (a proxy or testnet): do without. */
		p->has_sapi = false;
		xconn_degrade(c, req->part, "%s unavailable: this base URL serves no /sapi (HTTP 404)",
		    req->part == XPART_FLOWS ? "deposits and withdrawals" : "key restrictions");
		out->result = XR_OK;
		return true;
	}
	if (resp->status == 404 && req->tag == S_KLINES) {
		side_degraded(c, req, resp, code, msg);
		out->result = XR_OK;
		return true;
	}
	if (!has_code) {
		xoutcome_error(out, XR_RETRY, "HTTP %ld without an error body", resp->status);
		return true;
	}
	xoutcome_error(out, XR_FATAL, "HTTP %ld %lld %s", resp->status, (long long)code, msg);
	return true;
}

static void
b_handle(struct xconn *c, const struct xreq *req, const struct xresp *resp, const struct xsink *sink,
    struct xoutcome *out)
{
	struct bpriv *p = c->priv;
	const char *w, *err;
	json_t *j = NULL;
	int line;
	int64_t t;

	memset(out, 0, sizeof(*out));
	out->result = XR_OK;
	if ((w = resp->header(resp, "X-MBX-USED-WEIGHT-1M")) != NULL ||
	    (w = resp->header(resp, "X-SAPI-USED-IP-WEIGHT-1M")) != NULL)
		out->used_weight = (unsigned)strtoul(w, NULL, 10);
	if (resp->status == 0) {
		xoutcome_error(out, XR_RETRY, "transport failure");
		return;
	}
	j = fill_json_loads(resp->body, resp->body_len, &line, &err);
	if (map_error(c, req, resp, j, out))
		goto done;
	if (j == NULL) {
		xoutcome_error(out, XR_RETRY, "HTTP %ld: malformed JSON: %s", resp->status, err);
		goto done;
	}
	switch (req->tag) {
	case S_TIME:
		if (jint(j, "serverTime", &t) == -1) {
			xoutcome_error(out, XR_RETRY, "time: no serverTime");
			break;
		}
		/* The server stamped its time about half way through the round trip. */
		c->clock_offset_ms = t - resp->now_ms;
		p->clock_at = resp->now_ms;
		p->step = p->resume != S_TIME ? p->resume : S_INFO;
		p->resume = S_TIME;
		break;
	case S_ACCOUNT:
		on_account(c, j, sink, out);
		break;
	case S_MBALANCE:
		on_mbalance(c, j, sink, out);
		break;
	case S_RESTRICT:
		on_restrict(c, j, sink, out);
		break;
	case S_INFO:
		on_info(c, j, out);
		break;
	case S_INCOME:
		on_income(c, j, sink, out);
		break;
	case S_TRADES:
		on_trades(c, j, sink, out);
		break;
	case S_DEPOSIT:
	case S_WITHDRAW:
		on_flows(c, req->tag == S_DEPOSIT ? 0 : 1, j, sink, out);
		break;
	case S_KLINES:
		on_klines(c, j, sink, out);
		break;
	default:
		xoutcome_error(out, XR_FATAL, "binance: response to an unknown step %d", req->tag);
		break;
	}
done:
	json_decref(j);
}

/* The per-IP pools of every family, whichever this session uses: their
 * indexes are the same for every session, and each is shared by every
 * session of the exchange (a spot session's /sapi calls and a margin
 * session's /api calls draw on the right pools). */
/* ------------------------------------------------------------------ checkpoints */

/* Tracked symbols at most: exchangeInfo lists a few thousand. */
#define SAVE_SYMS_MAX 8192

/* The cursors: per tracked symbol its next fromId (the fills walk), first
 * fill, whether its closes are wanted and whether Binance dropped it; the
 * account's first day, the USD-M income cursor (fills discovery, flows and
 * funding alike), the deposit and withdrawal windows, and the slow-refresh
 * times (restrictions, flows) so that the restored session asks for them
 * when the saved one would have. Not saved, fetched again by the next
 * cycle: the clock (clock_at), exchangeInfo, the balances (account_at: read
 * again, forced) and every series of closes (kline_from/kline_at: the
 * pricebook is not checkpointed; want_closes() plans them again from the
 * first day). */
static int
b_save(const struct xconn *c, struct pack *w)
{
	const struct bpriv *p = c->priv;

	pack_i64(w, p->first_day_ms);
	pack_i64(w, p->restrict_at);
	pack_i64(w, p->flows_at);
	pack_i64(w, p->income_from);
	pack_i64(w, p->flow_from[0]);
	pack_i64(w, p->flow_from[1]);
	pack_u32(w, (uint32_t)p->nsyms);
	for (size_t i = 0; i < p->nsyms; i++) {
		const struct bsym *s = &p->syms[i];
		pack_str(w, s->native);
		pack_str(w, s->unified);
		pack_u64(w, s->next_id);
		pack_i64(w, s->first_ms);
		pack_bool(w, s->kline_from != 0);
		pack_bool(w, s->dropped);
	}
	return 0;
}

static int
b_load(struct xconn *c, struct unpack *r, const char **errstr)
{
	struct bpriv *p = c->priv;
	size_t n;

	p->first_day_ms = xunpack_day(r, 0);
	p->restrict_at = xunpack_range(r, 0, XCKPT_TS_MAX);
	p->flows_at = xunpack_range(r, 0, XCKPT_TS_MAX);
	p->income_from = xunpack_range(r, 0, XCKPT_TS_MAX);
	p->flow_from[0] = xunpack_range(r, 0, XCKPT_TS_MAX);
	p->flow_from[1] = xunpack_range(r, 0, XCKPT_TS_MAX);
	/* native, unified (4 + 1 each), next_id, first_ms, two flags */
	n = unpack_count(r, 2 * 5 + 8 + 8 + 2, SAVE_SYMS_MAX);
	p->syms = xcalloc(n + 1, sizeof(*p->syms));
	for (size_t i = 0; i < n && unpack_ok(r); i++) {
		struct bsym *s = &p->syms[i];
		bool closes;

		xunpack_name(r, s->native, sizeof(s->native));
		xunpack_name(r, s->unified, sizeof(s->unified));
		s->next_id = unpack_u64(r);
		s->first_ms = xunpack_range(r, 0, XCKPT_TS_MAX);
		closes = unpack_bool(r);
		s->dropped = unpack_bool(r);
		if (!unpack_ok(r))
			break;
		if (sym_find(p, s->native) != NULL) {
			*errstr = "binance checkpoint: a symbol twice";
			return -1;
		}
		/* Never fetched: planned again from the account's first day
		 * (a traded symbol is marked by a non-zero start). */
		if (closes && p->first_day_ms == 0) {
			*errstr = "binance checkpoint: closes wanted before any first day";
			return -1;
		}
		s->kline_from = closes ? p->first_day_ms : 0;
		p->nsyms++;
	}
	return unpack_ok(r) ? 0 : -1;
}

static size_t
b_pools(const struct xconn *c, struct xpool out[XPOOL_MAX])
{
	(void)c;
	_Static_assert(P_COUNT <= XPOOL_MAX, "Binance has more pools than XPOOL_MAX");
	memcpy(out, bpools, sizeof(bpools));
	return P_COUNT;
}

static void
b_skip(struct xconn *c, const struct xreq *req)
{
	if (req->part != XPART_FILLS)
		side_step_done(c, req->tag);
}

const struct exchange_ops exchange_binance = {
	.name = "binance",
	.prod_url = { "https://api.binance.com", "https://api.binance.com", "https://fapi.binance.com" },
	.sandbox_url = { "https://testnet.binance.vision", NULL, "https://testnet.binancefuture.com" },
	.ascending = true,
	.funding = true,
	.open = b_open,
	.close = b_close,
	.begin = b_begin,
	.next = b_next,
	.handle = b_handle,
	.pools = b_pools,
	.skip = b_skip,
	.resync = b_resync,
	.save = b_save,
	.load = b_load,
};
