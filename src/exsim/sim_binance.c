/*
 * sim_binance: the simulator's Binance Spot, USD-M Futures and Cross Margin
 * endpoints (../shared/reference/exchanges.md sections 1-4 and 11).
 *
 * Every endpoint with a parameter list answers -1104 to a parameter it does
 * not read (/api and /fapi; /sapi lists are not checked), and any endpoint
 * -1101 to a parameter sent twice. SIGNED endpoints check, in Binance's
 * order: X-MBX-APIKEY (-2014 missing, -2015 unknown), timestamp (ms, or us
 * with 16 digits) against recvWindow (-1021; ms with up to three decimals,
 * default 5000, at most 60000, -1131 above, -1100 malformed), the
 * HMAC-SHA256 signature over the exact raw query without its signature
 * parameter, concatenated with the body (-1022), and on /fapi that the key's
 * account has USD-M futures (else -2015, HTTP 401). With X-MBX-TIME-UNIT:
 * MICROSECOND, /api answers its times (serverTime, trade time, kline open
 * and close) in microseconds. Every response carries the used weight of its API family's per-IP
 * window (X-MBX-USED-WEIGHT-1M for /api and /fapi, X-SAPI-USED-IP-WEIGHT-1M
 * for /sapi, X-SAPI-USED-IP-WEIGHT-1S for withdraw history); with
 * cfg.strict_limits the real limits apply (/api 6000, /sapi 12,000, /fapi
 * 2400 a minute; 180,000 a second for withdraw history): the first request
 * over answers 429 -1003 with Retry-After until the window ends, and one more
 * request in that window earns a 418 ban of two minutes.
 *
 * Rendering is written here, independently of the connector's parser:
 * ids and times are JSON numbers, decimals strings (spot and margin pad
 * price, qty and commission to 8 places as Binance does), rows ascending.
 * Cross margin borrows (borrowed, interest, netAsset != free); USD-M trades
 * carry realizedPnl and /fapi/v2/account the real walletBalance, positions
 * and unrealizedProfit (see margin_account and futures_account), and the
 * income history its FUNDING_FEE rows (exsim.h "Funding"), which are in
 * walletBalance.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/dec.h"
#include "exsim/exsim.h"
#include "exsim/exsim_auth.h"
#include "exsim/exsim_venue.h"
#include "exsim/sim_markets.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

extern const struct exsim_venue sim_binance_venue;

#define DAY_MS 86400000LL
#define MINUTE_MS 60000LL
#define BAN_MS 120000LL
#define FUTURES_HORIZON_MS (180 * DAY_MS)

/* What exchangeInfo lists beyond the symbols the accounts trade: symbols
 * nobody here trades, so discovery has candidates that come back empty. */
static const struct {
	const char *native, *base, *quote;
	bool futures;
} listed[] = {
	{ "BTCUSDT", "BTC", "USDT", false }, { "ETHUSDT", "ETH", "USDT", false }, { "BNBUSDT", "BNB", "USDT", false },
	{ "SOLUSDT", "SOL", "USDT", false }, { "ETHBTC", "ETH", "BTC", false }, { "BNBBTC", "BNB", "BTC", false },
	{ "XRPUSDT", "XRP", "USDT", false }, { "ADAEUR", "ADA", "EUR", false },
	{ "BTCUSDT", "BTC", "USDT", true }, { "ETHUSDT", "ETH", "USDT", true }, { "SOLUSDT", "SOL", "USDT", true },
	{ "XRPUSDT", "XRP", "USDT", true },
};
#define NLISTED (sizeof(listed) / sizeof(listed[0]))

/* Binance's per-IP limits, one per API family: /api request weight 6000 a
 * minute, /sapi IP weight 12,000 a minute, /fapi 2400 a minute, and the
 * per-second IP limit of 180,000 that withdraw history (weight 18,000) is
 * charged against. Each pool answers its own header. */
enum pool { POOL_API, POOL_SAPI, POOL_FAPI, POOL_SAPI_1S, NPOOLS };

static const struct {
	unsigned limit;
	int64_t window_ms;
	const char *header;
} pool_def[NPOOLS] = {
	[POOL_API] = { 6000, MINUTE_MS, "X-MBX-USED-WEIGHT-1M" },
	[POOL_SAPI] = { 12000, MINUTE_MS, "X-SAPI-USED-IP-WEIGHT-1M" },
	[POOL_FAPI] = { 2400, MINUTE_MS, "X-MBX-USED-WEIGHT-1M" },
	[POOL_SAPI_1S] = { 180000, 1000, "X-SAPI-USED-IP-WEIGHT-1S" },
};

/* Per-world rate state (the world struct has no room for four pools);
 * under w->mu. */
static struct wpools {
	const struct exsim *w;
	struct {
		int64_t window;
		unsigned used;
		bool warned;		/* answered 429 in this window */
		int64_t banned_until;
	} p[NPOOLS];
} wpools[8];

enum api { A_SPOT, A_FUT, A_SAPI };

struct ctx {
	struct exsim *w;
	const struct exsim_request *rq;
	struct exsim_response *rs;
	enum api api;
	enum pool pool;
	struct exsim_account *a;
	unsigned used;			/* weight in the window after this request */
	int64_t tu;			/* response times: 1 ms, 1000 us (X-MBX-TIME-UNIT: MICROSECOND on /api) */
};

static void
error(struct ctx *x, unsigned status, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
error(struct ctx *x, unsigned status, int code, const char *fmt, ...)
{
	char msg[256];
	json_t *o;
	char *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:i, s:s}", "code", code, "msg", msg);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	exsim_body(x->rs, status, s, strlen(s));
}

static void
send_json(struct ctx *x, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (s == NULL)
		fatalx("sim_binance: json_dumps");
	exsim_body(x->rs, 200, s, strlen(s));
}

static json_t *
jdec(struct dec d, unsigned pad)
{
	char b[DEC_STR_MAX + 20], *dot;
	size_t n = dec_format(b, DEC_STR_MAX, d), frac;

	if (pad > 0) {
		if ((dot = strchr(b, '.')) == NULL) {
			b[n++] = '.';
			b[n] = '\0';
			dot = b + n - 1;
		}
		for (frac = n - (size_t)(dot - b) - 1; frac < pad; frac++)
			b[n++] = '0';
		b[n] = '\0';
	}
	return json_string(b);
}

static struct dec
dec_const_str(const char *v)
{
	struct dec d;
	const char *err;

	if (dec_parse(v, strlen(v), &d, &err) == -1)
		fatalx("sim_binance: %s: %s", v, err);
	return d;
}

/* ------------------------------------------------------------------ limits */

static struct wpools *
wpools_of(const struct exsim *w)
{
	for (size_t i = 0; i < sizeof(wpools) / sizeof(wpools[0]); i++)
		if (wpools[i].w == w)
			return &wpools[i];
	for (size_t i = 0; i < sizeof(wpools) / sizeof(wpools[0]); i++)
		if (wpools[i].w == NULL) {
			wpools[i].w = w;
			return &wpools[i];
		}
	/* More worlds than slots (tests): recycle the first. */
	memset(&wpools[0], 0, sizeof(wpools[0]));
	wpools[0].w = w;
	return &wpools[0];
}

/* Counts weight against the request's pool. Returns false (with the 429 or
 * 418 answer in rs) when the request is refused. */
static bool
charge(struct ctx *x, unsigned weight)
{
	struct exsim *w = x->w;
	int64_t now = x->rq->now_ms, span = pool_def[x->pool].window_ms, win = now - now % span;
	unsigned limit = w->cfg.strict_limits ? pool_def[x->pool].limit : UINT32_MAX / 2;
	bool ok = true;
	struct wpools *wp;

	pthread_mutex_lock(&w->mu);
	wp = wpools_of(w);
	if (wp->p[x->pool].window != win) {
		wp->p[x->pool].window = win;
		wp->p[x->pool].used = 0;
		wp->p[x->pool].warned = false;
	}
	if (wp->p[x->pool].banned_until > now) {
		error(x, 418, -1003, "Way too much request weight used; IP banned until %lld. Please use WebSocket "
		    "Streams for live updates to avoid bans.", (long long)wp->p[x->pool].banned_until);
		exsim_header(x->rs, "Retry-After", "%lld", (long long)((wp->p[x->pool].banned_until - now + 999) / 1000));
		ok = false;
	} else if (wp->p[x->pool].used + weight > limit) {
		if (wp->p[x->pool].warned) {
			/* Kept going after the 429: banned. */
			wp->p[x->pool].banned_until = now + BAN_MS;
			error(x, 418, -1003, "Way too much request weight used; IP banned until %lld. Please use "
			    "WebSocket Streams for live updates to avoid bans.", (long long)wp->p[x->pool].banned_until);
			exsim_header(x->rs, "Retry-After", "%lld", (long long)(BAN_MS / 1000));
		} else {
			wp->p[x->pool].warned = true;
			error(x, 429, -1003, "Too much request weight used; current limit is %u request weight per %s. "
			    "Please use WebSocket Streams for live updates to avoid polling the API.", limit,
			    span == MINUTE_MS ? "1 MINUTE" : "1 SECOND");
			exsim_header(x->rs, "Retry-After", "%lld", (long long)((win + span - now + 999) / 1000));
		}
		ok = false;
	} else
		wp->p[x->pool].used += weight;
	x->used = wp->p[x->pool].used;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

/* ------------------------------------------------------------------ auth */

static bool
digits(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 18)
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return true;
}

/* The raw query without its signature parameter, and the signature. */
static char *
split_signature(const char *query, const char **sig, size_t *siglen)
{
	const char *p = query, *amp;
	size_t n = strlen(query);
	char *out = xmalloc(n + 1), *o = out;

	*sig = NULL;
	*siglen = 0;
	while (*p != '\0') {
		size_t len;
		amp = strchr(p, '&');
		len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (len >= 10 && strncmp(p, "signature=", 10) == 0) {
			*sig = p + 10;
			*siglen = len - 10;
		} else {
			if (o != out)
				*o++ = '&';
			memcpy(o, p, len);
			o += len;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	*o = '\0';
	return out;
}

/* recvWindow in microseconds: milliseconds with up to three decimals, at
 * most 60000. Returns 0, -1 when malformed, -2 when too large. */
static int
recv_window_us(const char *s, int64_t *us)
{
	int64_t ms = 0, frac = 0;
	size_t i = 0, nd = 0;

	for (; s[i] >= '0' && s[i] <= '9'; i++)
		if (++nd > 5)
			return -1;
		else
			ms = ms * 10 + (s[i] - '0');
	if (nd == 0)
		return -1;
	if (s[i] == '.') {
		size_t nf = 0;
		for (i++; s[i] >= '0' && s[i] <= '9'; i++)
			if (++nf > 3)
				return -1;
			else
				frac = frac * 10 + (s[i] - '0');
		if (nf == 0)
			return -1;
		while (nf++ < 3)
			frac *= 10;
	}
	if (s[i] != '\0')
		return -1;
	*us = ms * 1000 + frac;
	return *us > 60000 * 1000 ? -2 : 0;
}

/* Authenticates a SIGNED request; false with the error in rs. */
static bool
authenticate(struct ctx *x)
{
	const struct exsim_request *rq = x->rq;
	const char *key = rq->header(rq, "X-MBX-APIKEY"), *sig, *rw;
	char *payload;
	int64_t ts, window = 5000 * 1000;
	size_t siglen;
	bool ok;

	if (key == NULL || strlen(key) != 64) {
		error(x, 401, -2014, "API-key format invalid.");
		return false;
	}
	if ((x->a = exsim_account_by_key(x->w, &sim_binance_venue, key)) == NULL) {
		error(x, 401, -2015, "Invalid API-key, IP, or permissions for action.");
		return false;
	}
	/* timestamp in milliseconds, or in microseconds (16 digits); both
	 * compared in microseconds. */
	if (!digits(rq->param(rq, "timestamp"), &ts)) {
		error(x, 400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.");
		return false;
	}
	if (strlen(rq->param(rq, "timestamp")) < 16)
		ts *= 1000;
	if ((rw = rq->param(rq, "recvWindow")) != NULL) {
		switch (recv_window_us(rw, &window)) {
		case -1:
			error(x, 400, -1100, "Illegal characters found in parameter 'recvWindow'; legal range is "
			    "'^\\d{1,5}(\\.\\d{1,3})?$'.");
			return false;
		case -2:
			error(x, 400, -1131, "recvWindow must be less than 60000");
			return false;
		default:
			break;
		}
	}
	/* Binance's rule, verbatim: timestamp < serverTime + 1000 and
	 * serverTime - timestamp <= recvWindow. */
	if (ts >= (rq->now_ms + 1000) * 1000) {
		error(x, 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.");
		return false;
	}
	if (rq->now_ms * 1000 - ts > window) {
		error(x, 400, -1021, "Timestamp for this request is outside of the recvWindow.");
		return false;
	}
	payload = split_signature(rq->query, &sig, &siglen);
	ok = exsim_auth_binance(x->a->secret, strlen(x->a->secret), payload, strlen(payload), rq->body, rq->body_len,
	    sig, siglen);
	free(payload);
	if (!ok) {
		error(x, 400, -1022, "Signature for this request is not valid.");
		return false;
	}
	/* A key of an account without USD-M futures (no "Enable Futures") is
	 * refused by /fapi, as Binance does: -2015 with HTTP 401, not []. */
	if (x->api == A_FUT && x->a->market != FILL_FUTURES) {
		error(x, 401, -2015, "Invalid API-key, IP, or permissions for action.");
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ symbols */

static bool
is_listed(const struct exsim *w, const char *native, bool fut)
{
	for (size_t i = 0; i < NLISTED; i++)
		if (listed[i].futures == fut && strcmp(listed[i].native, native) == 0)
			return true;
	for (size_t i = 0; i < w->naccounts; i++) {
		const struct exsim_account *a = &w->accounts[i];
		if (a->venue != &sim_binance_venue || (a->market == FILL_FUTURES) != fut)
			continue;
		for (size_t k = 0; k < a->nsymbols; k++)
			if (strcmp(a->symbols[k].native, native) == 0)
				return true;
	}
	return false;
}

static json_t *
info_symbol(const char *native, const char *base, const char *quote, bool fut)
{
	if (fut)
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "symbol", native, "pair", native,
		    "contractType", "PERPETUAL", "status", "TRADING", "baseAsset", base, "quoteAsset", quote,
		    "marginAsset", quote, "pricePrecision", 2, "quantityPrecision", 3);
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:b, s:b}", "symbol", native, "status", "TRADING",
	    "baseAsset", base, "baseAssetPrecision", 8, "quoteAsset", quote, "quoteAssetPrecision", 8,
	    "isSpotTradingAllowed", 1, "isMarginTradingAllowed", 1);
}

/* The symbols listed on spot or USD-M: the fixed listing and every
 * account's, once each, as exchangeInfo entries (a new reference). */
static json_t *
listed_symbols(struct ctx *x, bool fut)
{
	json_t *syms = json_array(), *seen = json_object();

	for (size_t i = 0; i < NLISTED; i++)
		if (listed[i].futures == fut && json_object_get(seen, listed[i].native) == NULL) {
			json_object_set_new(seen, listed[i].native, json_true());
			json_array_append_new(syms, info_symbol(listed[i].native, listed[i].base, listed[i].quote, fut));
		}
	for (size_t i = 0; i < x->w->naccounts; i++) {
		const struct exsim_account *a = &x->w->accounts[i];
		if (a->venue != &sim_binance_venue || (a->market == FILL_FUTURES) != fut)
			continue;
		for (size_t k = 0; k < a->nsymbols; k++)
			if (json_object_get(seen, a->symbols[k].native) == NULL) {
				json_object_set_new(seen, a->symbols[k].native, json_true());
				json_array_append_new(syms, info_symbol(a->symbols[k].native, a->symbols[k].base,
				    a->symbols[k].quote, fut));
			}
	}
	json_decref(seen);
	return syms;
}

static void
exchange_info(struct ctx *x)
{
	bool fut = x->api == A_FUT;
	json_t *syms = listed_symbols(x, fut);

	send_json(x, json_pack("{s:s, s:I, s:[{s:s, s:s, s:i, s:i}], s:[], s:o}", "timezone", "UTC",
	    "serverTime", (json_int_t)x->rq->now_ms, "rateLimits", "rateLimitType", "REQUEST_WEIGHT", "interval",
	    "MINUTE", "intervalNum", 1, "limit", fut ? 2400 : 6000, "exchangeFilters", "symbols", syms));
}

/* ------------------------------------------------------------------ trades */

/* The account's symbol index for native, or -1. */
static int
symbol_of(const struct exsim_account *a, const char *native)
{
	for (size_t k = 0; k < a->nsymbols; k++)
		if (strcmp(a->symbols[k].native, native) == 0)
			return (int)k;
	return -1;
}

/* ------------------------------------------------------------------ futures positions */

/* realizedPnl of fill i (USD-M): 0 on an opening fill; on a closing one,
 * its proceeds against the average entry, to 8 decimals. */
static struct dec
realized_pnl(const struct exsim_account *a, size_t k, uint64_t i, const struct fill *f)
{
	const struct exsim_symbol *s = &a->symbols[k];
	struct exsim_trip t;
	struct dec basis, pnl;

	if (i % (2 * (uint64_t)s->cycle) < s->cycle)
		return DEC_ZERO;
	exsim_trip_of(a, k, i - i % (2 * (uint64_t)s->cycle) + s->cycle, &t);
	/* basis of the closed amount: open cost x amount / open amount */
	if (dec_muldiv(&basis, t.open_cost, f->amount, t.open_amt) == -1)
		fatalx("sim_binance: pnl overflow");
	/* closing a long sells: proceeds - basis; closing a short buys back:
	 * basis (what the short sold for, per amount) - cost */
	if ((f->side == FILL_SELL ? dec_sub(&pnl, f->cost, basis) : dec_sub(&pnl, basis, f->cost)) == -1 ||
	    dec_round(&pnl, pnl, 8) == -1)
		fatalx("sim_binance: pnl overflow");
	return pnl;
}

static json_t *
trade_row(const struct ctx *x, size_t k, uint64_t i, const struct fill *f)
{
	const struct exsim_symbol *s = &x->a->symbols[k];
	int64_t id = strtoll(f->id, NULL, 10), oid = strtoll(f->order, NULL, 10);
	bool buy = f->side == FILL_BUY, maker = f->role == FILL_MAKER;

	if (x->api == A_FUT)
		return json_pack("{s:b, s:o, s:s, s:I, s:b, s:I, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:I}",
		    "buyer", buy, "commission", jdec(f->fees[0].cost, 0), "commissionAsset", f->fees[0].currency,
		    "id", (json_int_t)id, "maker", maker, "orderId", (json_int_t)oid, "price", jdec(f->price, 0),
		    "qty", jdec(f->amount, 0), "quoteQty", jdec(f->cost, 0), "realizedPnl",
		    jdec(realized_pnl(x->a, k, i, f), 8),
		    "marginAsset", s->quote, "side", buy ? "BUY" : "SELL", "positionSide", "BOTH",
		    "symbol", s->native, "time", (json_int_t)f->timestamp);
	if (x->api == A_SAPI)
		return json_pack("{s:o, s:s, s:I, s:b, s:b, s:b, s:I, s:o, s:o, s:s, s:b, s:I}",
		    "commission", jdec(f->fees[0].cost, 8), "commissionAsset", f->fees[0].currency,
		    "id", (json_int_t)id, "isBestMatch", 1, "isBuyer", buy, "isMaker", maker,
		    "orderId", (json_int_t)oid, "price", jdec(f->price, 8), "qty", jdec(f->amount, 8),
		    "symbol", s->native, "isIsolated", 0, "time", (json_int_t)f->timestamp);
	return json_pack("{s:s, s:I, s:I, s:i, s:o, s:o, s:o, s:o, s:s, s:I, s:b, s:b, s:b}", "symbol", s->native,
	    "id", (json_int_t)id, "orderId", (json_int_t)oid, "orderListId", -1, "price", jdec(f->price, 8),
	    "qty", jdec(f->amount, 8), "quoteQty", jdec(f->cost, 0), "commission", jdec(f->fees[0].cost, 8),
	    "commissionAsset", f->fees[0].currency, "time", (json_int_t)(f->timestamp * x->tu), "isBuyer", buy,
	    "isMaker", maker, "isBestMatch", 1);
}

static bool
opt_int(struct ctx *x, const char *name, int64_t *out, bool *present)
{
	const char *v = x->rq->param(x->rq, name);

	*present = v != NULL;
	if (v != NULL && !digits(v, out)) {
		error(x, 400, -1100, "Illegal characters found in parameter '%s'; legal range is '^[0-9]{1,20}$'.",
		    name);
		return false;
	}
	return true;
}

static void
my_trades(struct ctx *x)
{
	const struct exsim_request *rq = x->rq;
	const char *sym = rq->param(rq, "symbol");
	bool fut = x->api == A_FUT, hs, he, hf, hl;
	int64_t st = 0, et = 0, from = 0, limit = 500, span = fut ? 7 * DAY_MS : DAY_MS, now = rq->now_ms;
	uint64_t lo, hi, vis;
	json_t *arr;
	int k;
	const struct exsim_symbol *s;

	if (sym == NULL || *sym == '\0') {
		error(x, 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
		return;
	}
	if (!is_listed(x->w, sym, fut)) {
		error(x, 400, -1121, "Invalid symbol.");
		return;
	}
	if (!opt_int(x, "startTime", &st, &hs) || !opt_int(x, "endTime", &et, &he) ||
	    !opt_int(x, "fromId", &from, &hf) || !opt_int(x, "limit", &limit, &hl))
		return;
	if (limit < 1 || limit > 1000) {
		error(x, 400, -1130, "Data sent for parameter 'limit' is not valid.");
		return;
	}
	if (hf && (hs || he)) {
		error(x, 400, -1128, "Combination of optional parameters invalid.");
		return;
	}
	if (hs && he && (et < st || et - st > span)) {
		if (fut)
			error(x, 400, -1127, "More than 7 days between startTime and endTime.");
		else
			error(x, 400, -1127, "More than 24 hours between startTime and endTime.");
		return;
	}
	arr = json_array();
	/* The trades of this market: an account of another market has none here. */
	k = (x->a->market == FILL_FUTURES) == fut && (x->a->market == FILL_MARGIN) == (x->api == A_SAPI) ?
	    symbol_of(x->a, sym) : -1;
	if (k < 0) {
		send_json(x, arr);
		return;
	}
	s = &x->a->symbols[k];
	vis = exsim_visible(x->a, (size_t)k, now);
	if (hf) {
		lo = (uint64_t)from <= s->first_id ? 0 : (uint64_t)from - s->first_id;
		/* The overlap fault: the page starts a few ids early. */
		if (rq->overlap && lo > 0)
			lo = lo > 3 ? lo - 3 : 0;
		hi = vis;
	} else if (hs || he) {
		if (!hs)
			st = et - span;
		if (!he)
			et = fut ? st + span : now;
		lo = exsim_index_at(x->a, (size_t)k, st);
		hi = exsim_index_at(x->a, (size_t)k, et + 1);
		if (hi > vis)
			hi = vis;
		if (!hs && hi > (uint64_t)limit && hi - (uint64_t)limit > lo)
			lo = hi - (uint64_t)limit;	/* only endTime: the most recent up to it */
	} else {
		/* Spot: the most recent; margin: the last 24 hours; USD-M: the last 7 days. */
		hi = vis;
		lo = x->api == A_SPOT ? 0 : exsim_index_at(x->a, (size_t)k, now - span);
		if (hi > (uint64_t)limit && hi - (uint64_t)limit > lo)
			lo = hi - (uint64_t)limit;
	}
	if (fut) {
		uint64_t h = exsim_index_at(x->a, (size_t)k, now - FUTURES_HORIZON_MS);
		if (lo < h)
			lo = h;
	}
	for (uint64_t i = lo; i < hi && json_array_size(arr) < (size_t)limit; i++) {
		struct fill f;
		exsim_fill(x->a, (size_t)k, i, &f);
		json_array_append_new(arr, trade_row(x, (size_t)k, i, &f));
	}
	x->rs->pageable = true;
	send_json(x, arr);
}

/* ------------------------------------------------------------------ account */

static bool
fetch_balances(const struct exsim_account *a, int64_t now, char (*cur)[FILL_CUR_MAX], struct dec *tot, size_t *n)
{
	*n = exsim_balances(a, now, cur, tot, 8);
	return true;
}

static void
account(struct ctx *x)
{
	char cur[8][FILL_CUR_MAX];
	struct dec tot[8];
	size_t n;
	json_t *bal = json_array();
	const char *omit = x->rq->param(x->rq, "omitZeroBalances");

	fetch_balances(x->a, x->rq->now_ms, cur, tot, &n);
	for (size_t i = 0; i < n; i++)
		if (!(omit != NULL && strcmp(omit, "true") == 0 && dec_is_zero(tot[i])))
			json_array_append_new(bal, json_pack("{s:s, s:o, s:s}", "asset", cur[i], "free", jdec(tot[i], 8),
			    "locked", "0.00000000"));
	send_json(x, json_pack("{s:i, s:i, s:b, s:b, s:b, s:b, s:I, s:s, s:o, s:[s], s:I}", "makerCommission", 10,
	    "takerCommission", 10, "canTrade", x->a->can_trade, "canWithdraw", 1, "canDeposit", 1, "brokered", 0,
	    "updateTime", (json_int_t)x->rq->now_ms, "accountType", "SPOT", "balances", bal, "permissions", "SPOT",
	    "uid", (json_int_t)(354937868 + x->a->index)));
}

/* Cross margin borrows: what the history leaves below zero is a loan
 * (borrowed = the shortfall), and the account also keeps a standing loan of
 * 100 of its first currency, held as free; interest accrues at 0.02 % of
 * the loan. netAsset = free + locked - borrowed - interest is the truth's
 * balance (exsim_balances); free = netAsset + borrowed + interest. (ccxt:
 * total = free + locked, debt = borrowed + interest.) */
static void
margin_account(struct ctx *x)
{
	char cur[8][FILL_CUR_MAX];
	struct dec tot[8];
	size_t n;
	json_t *assets = json_array();

	fetch_balances(x->a, x->rq->now_ms, cur, tot, &n);
	for (size_t i = 0; i < n; i++) {
		struct dec loan = DEC_ZERO, interest, free;
		if (dec_sign(tot[i]) < 0)
			(void)dec_neg(&loan, tot[i]);
		else if (i == 0)
			loan = dec_from_int(100);
		if (dec_mul(&interest, loan, dec_const_str("0.0002")) == -1 || dec_round(&interest, interest, 8) == -1 ||
		    dec_add(&free, tot[i], loan) == -1 || dec_add(&free, free, interest) == -1)
			fatalx("sim_binance: margin overflow");
		json_array_append_new(assets, json_pack("{s:s, s:o, s:o, s:o, s:s, s:o}", "asset", cur[i],
		    "borrowed", jdec(loan, 8), "free", jdec(free, 8), "interest", jdec(interest, 8), "locked", "0.00000000",
		    "netAsset", jdec(tot[i], 8)));
	}
	send_json(x, json_pack("{s:b, s:b, s:s, s:b, s:b, s:b, s:s, s:o}", "created", 1, "borrowEnabled", 1,
	    "marginLevel", "999.00000000", "tradeEnabled", x->a->can_trade, "transferInEnabled", 1,
	    "transferOutEnabled", 1, "accountType", "MARGIN_1", "userAssets", assets));
}

/* /fapi/v2/account as Binance serves it: per margin asset, walletBalance =
 * transfers + realized PnL + funding - fees, unrealizedProfit and
 * marginBalance; per symbol, positionAmt, entryPrice, the mark price's
 * notional and unrealizedProfit. The simulator's truth is the cash view
 * (exsim_balances: transfers + proceeds of sells - cost of buys - fees +
 * funding); the two differ by
 * the cost basis of the open positions: walletBalance = cash + basis, and
 * unrealizedProfit = notional - basis, so that cash = walletBalance +
 * unrealizedProfit - notional exactly, the formula a client derives the cash
 * view with. The mark price is the symbol's last visible fill price.
 *
 * Funding: the cash view includes the FUNDING_FEE income booked so far
 * (exsim_balances), so walletBalance does too, as on Binance. */
static void
futures_account(struct ctx *x)
{
	char cur[8][FILL_CUR_MAX];
	struct dec tot[8], basis[8], upnl[8], twallet = DEC_ZERO, tupnl = DEC_ZERO;
	size_t n;
	json_t *assets = json_array(), *pos = json_array();
	const struct exsim_account *a = x->a;

	fetch_balances(a, x->rq->now_ms, cur, tot, &n);
	memset(basis, 0, sizeof(basis));
	memset(upnl, 0, sizeof(upnl));
	for (size_t k = 0; a->market == FILL_FUTURES && k < a->nsymbols; k++) {
		uint64_t vis = exsim_visible(a, k, x->rq->now_ms);
		struct dec b, notional = DEC_ZERO, u = DEC_ZERO, entry = DEC_ZERO, mark = DEC_ZERO;
		struct exsim_trip t;
		struct fill last;
		size_t j;

		exsim_trip_of(a, k, vis, &t);
		if (vis > 0) {
			exsim_fill(a, k, vis - 1, &last);
			mark = last.price;
		}
		b = exsim_trip_basis(&t, 8);
		if (!dec_is_zero(t.amt) && (dec_mul(&notional, t.amt, mark) == -1 || dec_sub(&u, notional, b) == -1 ||
		    dec_div(&entry, t.open_cost, t.open_amt) == -1 || dec_round(&entry, entry, 8) == -1))
			fatalx("sim_binance: position overflow");
		for (j = 0; j < n && strcmp(cur[j], a->symbols[k].quote) != 0; j++)
			;
		if (j < n && (dec_add(&basis[j], basis[j], b) == -1 || dec_add(&upnl[j], upnl[j], u) == -1))
			fatalx("sim_binance: position overflow");
		json_array_append_new(pos, json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:s, s:b, s:I}",
		    "symbol", a->symbols[k].native, "initialMargin", "0", "unrealizedProfit", jdec(u, 8),
		    "leverage", "20", "positionSide", "BOTH", "positionAmt", jdec(t.amt, 0), "entryPrice", jdec(entry, 0),
		    "notional", jdec(notional, 0), "maxNotional", "250000", "isolated", 0,
		    "updateTime", (json_int_t)(vis > 0 ? last.timestamp : 0)));
	}
	for (size_t i = 0; i < n; i++) {
		struct dec wallet, margin;
		if (dec_add(&wallet, tot[i], basis[i]) == -1 || dec_add(&margin, wallet, upnl[i]) == -1 ||
		    dec_add(&twallet, twallet, wallet) == -1 || dec_add(&tupnl, tupnl, upnl[i]) == -1)
			fatalx("sim_binance: balance overflow");
		json_array_append_new(assets, json_pack("{s:s, s:o, s:o, s:o, s:o, s:I}", "asset", cur[i],
		    "walletBalance", jdec(wallet, 8), "unrealizedProfit", jdec(upnl[i], 8), "marginBalance",
		    jdec(margin, 8), "availableBalance", jdec(margin, 8), "updateTime", (json_int_t)x->rq->now_ms));
	}
	send_json(x, json_pack("{s:i, s:b, s:b, s:b, s:I, s:b, s:o, s:o, s:o, s:o}", "feeTier", 0,
	    "canTrade", a->can_trade, "canDeposit", 1, "canWithdraw", 1, "updateTime", (json_int_t)0,
	    "multiAssetsMargin", 0, "totalWalletBalance", jdec(twallet, 8), "totalUnrealizedProfit", jdec(tupnl, 8),
	    "assets", assets, "positions", pos));
}

/* /fapi/v1/leverageBracket: one bracket per symbol (the first tier of
 * Binance's documented example; ccxt loads it before reading positions). */
static void
leverage_bracket(struct ctx *x)
{
	json_t *syms = listed_symbols(x, true), *out = json_array(), *e;
	const char *only = x->rq->param(x->rq, "symbol");
	size_t i;

	json_array_foreach(syms, i, e) {
		const char *name = json_string_value(json_object_get(e, "symbol"));
		if (only != NULL && strcmp(only, name) != 0)
			continue;
		json_array_append_new(out, json_pack("{s:s, s:f, s:[{s:i, s:i, s:i, s:i, s:f, s:i}]}", "symbol", name,
		    "notionalCoef", 1.5, "brackets", "bracket", 1, "initialLeverage", 75, "notionalCap", 10000,
		    "notionalFloor", 0, "maintMarginRatio", 0.0065, "cum", 0));
	}
	json_decref(syms);
	send_json(x, out);
}

static void
api_restrictions(struct ctx *x)
{
	const struct exsim_account *a = x->a;
	bool fut = a->market == FILL_FUTURES;

	send_json(x, json_pack("{s:b, s:I, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b}", "ipRestrict", 0,
	    "createTime", (json_int_t)(x->w->start_ms - 400 * DAY_MS), "enableReading", 1,
	    "enableWithdrawals", a->can_withdraw, "enableInternalTransfer", 0, "enableMargin",
	    a->can_trade && a->market == FILL_MARGIN, "enableFutures", a->can_trade && fut, "permitsUniversalTransfer",
	    0, "enableVanillaOptions", 0, "enableFixApiTrade", 0, "enableFixReadOnly", 1,
	    "enableSpotAndMarginTrading", a->can_trade && !fut, "enablePortfolioMarginTrading", 0));
}

/* ------------------------------------------------------------------ flows */

static bool
window(struct ctx *x, int64_t max, int64_t *st, int64_t *et, const char *what)
{
	bool hs, he;

	if (!opt_int(x, "startTime", st, &hs) || !opt_int(x, "endTime", et, &he))
		return false;
	if (!he)
		*et = hs ? *st + max : x->rq->now_ms;
	if (!hs)
		*st = *et - max;
	if (*et < *st || *et - *st > max) {
		error(x, 400, -1127, "More than %s between startTime and endTime.", what);
		return false;
	}
	return true;
}

/* Withdrawal network fee: part of what leaves the account. */
static struct dec
withdraw_fee(struct dec total)
{
	return dec_cmp(total, dec_one()) > 0 ? dec_one() : DEC_ZERO;
}

static void
flows(struct ctx *x, bool deposits)
{
	const struct exsim_account *a = x->a;
	int64_t st, et;
	json_t *arr;
	char t[TIME_ISO_LEN], applied[24];

	if (!window(x, 90 * DAY_MS, &st, &et, "90 days"))
		return;
	arr = json_array();
	for (size_t j = 0; j < a->nflows && a->market != FILL_FUTURES; j++) {
		const struct exsim_flow *fl = &a->flows[j];
		struct dec amt, fee;
		if (fl->ts_ms < st || fl->ts_ms > et || fl->ts_ms > x->rq->now_ms || (dec_sign(fl->amount) > 0) != deposits)
			continue;
		if (deposits) {
			json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:s, s:i, s:s, s:s, s:s, s:I, s:i, s:s}",
			    "id", fl->id, "amount", jdec(fl->amount, 8), "coin", fl->currency, "network", "ETH",
			    "status", 1, "address", "0x6915f16f8791d0a1cc2bf47c13a6b2a92000504b", "addressTag", "",
			    "txId", fl->id, "insertTime", (json_int_t)fl->ts_ms, "transferType", 0,
			    "confirmTimes", "12/12"));
			continue;
		}
		(void)dec_neg(&amt, fl->amount);
		fee = withdraw_fee(amt);
		(void)dec_sub(&amt, amt, fee);
		/* applyTime is "YYYY-MM-DD HH:MM:SS" UTC: seconds only. */
		time_format_iso_ms(t, fl->ts_ms);
		snprintf(applied, sizeof(applied), "%.10s %.8s", t, t + 11);
		json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:s, s:i, s:s, s:s, s:s, s:s, s:i}", "id", fl->id,
		    "amount", jdec(amt, 8), "transactionFee", jdec(fee, 8), "coin", fl->currency, "status", 6,
		    "address", "0x94df8b352de7f46f64b01d3666bf6e936e44ce60", "txId", fl->id, "applyTime", applied,
		    "network", "ETH", "transferType", 0));
	}
	send_json(x, arr);
}

/* USD-M income rows, ascending by time: TRANSFER per flow, FUNDING_FEE per
 * open position at each funding time (exsim_funding_at), COMMISSION per
 * fill; at one time, in that order, then by symbol. incomeType and symbol
 * filter the rows (a TRANSFER has no symbol); without startTime and
 * endTime, the last 7 days; limit 100 by default, at most 1000. */
enum inc_kind { INC_TRANSFER, INC_FUNDING, INC_COMMISSION, INC_NONE };

struct inc_walk {
	const struct exsim_account *a;
	int64_t et;			/* last time served */
	bool want[INC_NONE];
	int only;			/* symbol index, -1 = every symbol */
	size_t fl;			/* next flow */
	uint64_t *next;			/* per symbol: next fill */
	int64_t *fund;			/* per symbol: next funding time with a row, INT64_MAX = none */
	struct exsim_funding *frow;	/* its row */
};

/* Moves symbol k's funding cursor to the first row at or after t. */
static void
inc_fund_seek(struct inc_walk *w, size_t k, int64_t t)
{
	for (t = exsim_funding_ceil(t); t <= w->et; t += EXSIM_FUNDING_PERIOD_MS)
		if (exsim_funding_at(w->a, k, t, &w->frow[k])) {
			w->fund[k] = t;
			return;
		}
	w->fund[k] = INT64_MAX;
}

static bool
inc_sym_ok(const struct inc_walk *w, size_t k)
{
	return w->only < 0 || (size_t)w->only == k;
}

/* The next row's kind, symbol and time; INC_NONE past et. */
static enum inc_kind
inc_next(const struct inc_walk *w, size_t *sym, int64_t *t)
{
	enum inc_kind best = INC_NONE;
	const struct exsim_account *a = w->a;

	*t = INT64_MAX;
	if (w->want[INC_TRANSFER] && w->only < 0 && w->fl < a->nflows) {
		best = INC_TRANSFER;
		*t = a->flows[w->fl].ts_ms;
	}
	for (size_t k = 0; k < a->nsymbols; k++) {
		if (!inc_sym_ok(w, k))
			continue;
		if (w->want[INC_FUNDING] && (w->fund[k] < *t || (w->fund[k] == *t && best > INC_FUNDING))) {
			best = INC_FUNDING;
			*sym = k;
			*t = w->fund[k];
		}
		if (w->want[INC_COMMISSION] && w->next[k] < a->symbols[k].nfills) {
			int64_t ft = exsim_fill_ts(a, k, w->next[k]);
			if (ft < *t) {
				best = INC_COMMISSION;
				*sym = k;
				*t = ft;
			}
		}
	}
	return *t <= w->et ? best : INC_NONE;
}

static json_t *
income_row(const char *sym, const char *type, struct dec amount, const char *asset, int64_t t, uint64_t tran,
    const char *trade)
{
	return json_pack("{s:s, s:s, s:o, s:s, s:s, s:I, s:I, s:s}", "symbol", sym, "incomeType", type, "income",
	    jdec(amount, 8), "asset", asset, "info", type, "time", (json_int_t)t, "tranId", (json_int_t)tran,
	    "tradeId", trade);
}

static void
income(struct ctx *x)
{
	static const char *const names[INC_NONE] = { "TRANSFER", "FUNDING_FEE", "COMMISSION" };
	const struct exsim_account *a = x->a;
	const char *type = x->rq->param(x->rq, "incomeType"), *sym = x->rq->param(x->rq, "symbol");
	int64_t st, et, limit = 100, now = x->rq->now_ms, t;
	bool hs, he, hl;
	struct inc_walk w = { .a = a, .only = -1 };
	json_t *arr;
	enum inc_kind kind;
	size_t k = 0;

	if (!opt_int(x, "startTime", &st, &hs) || !opt_int(x, "endTime", &et, &he) || !opt_int(x, "limit", &limit, &hl))
		return;
	if (limit < 1 || limit > 1000) {
		error(x, 400, -1130, "Data sent for parameter 'limit' is not valid.");
		return;
	}
	if (!hs)
		st = he ? et - 7 * DAY_MS : now - 7 * DAY_MS;
	if (!he || et > now)
		et = now;
	arr = json_array();
	if (a->market != FILL_FUTURES || (sym != NULL && (w.only = symbol_of(a, sym)) < 0)) {
		send_json(x, arr);
		return;
	}
	for (int i = 0; i < INC_NONE; i++)
		w.want[i] = type == NULL || strcmp(type, names[i]) == 0;
	w.et = et;
	w.next = xcalloc(a->nsymbols, sizeof(*w.next));
	w.fund = xcalloc(a->nsymbols, sizeof(*w.fund));
	w.frow = xcalloc(a->nsymbols, sizeof(*w.frow));
	for (k = 0; k < a->nsymbols; k++) {
		w.next[k] = exsim_index_at(a, k, st);
		w.fund[k] = INT64_MAX;
		if (w.want[INC_FUNDING] && inc_sym_ok(&w, k))
			inc_fund_seek(&w, k, st);
	}
	while (w.fl < a->nflows && a->flows[w.fl].ts_ms < st)
		w.fl++;
	while (json_array_size(arr) < (size_t)limit && (kind = inc_next(&w, &k, &t)) != INC_NONE) {
		struct fill f;
		struct dec neg;
		const struct exsim_flow *fl;

		switch (kind) {
		case INC_TRANSFER:
			fl = &a->flows[w.fl++];
			json_array_append_new(arr, income_row("", names[kind], fl->amount, fl->currency, t,
			    strtoull(fl->id + 1, NULL, 16) >> 12, ""));
			break;
		case INC_FUNDING:
			json_array_append_new(arr, income_row(a->symbols[k].native, names[kind], w.frow[k].income,
			    a->symbols[k].quote, t, w.frow[k].tran_id, ""));
			inc_fund_seek(&w, k, t + 1);
			break;
		default:
			exsim_fill(a, k, w.next[k], &f);
			(void)dec_neg(&neg, f.fees[0].cost);
			json_array_append_new(arr, income_row(a->symbols[k].native, names[kind], neg, f.fees[0].currency,
			    t, 9689322392ULL + w.next[k] * 8 + k, f.id));
			w.next[k]++;
			break;
		}
	}
	free(w.next);
	free(w.fund);
	free(w.frow);
	send_json(x, arr);
}

/* ------------------------------------------------------------------ klines */

/* Daily candles of a symbol from the first account of its market that
 * trades it: open is the day's first fill, close its last (the previous
 * close on a day without fills). A public endpoint has no account, so
 * every account sees the same candles. */
static void
klines(struct ctx *x)
{
	const struct exsim_request *rq = x->rq;
	const char *sym = rq->param(rq, "symbol"), *iv = rq->param(rq, "interval");
	bool fut = x->api == A_FUT, hs, he, hl;
	int64_t st, et, limit = 500, now = rq->now_ms;
	const struct exsim_account *a = NULL;
	json_t *arr;
	int k = -1;

	if (sym == NULL || *sym == '\0') {
		error(x, 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
		return;
	}
	if (iv == NULL || strcmp(iv, "1d") != 0) {
		error(x, 400, -1120, "Invalid interval.");
		return;
	}
	if (!is_listed(x->w, sym, fut)) {
		error(x, 400, -1121, "Invalid symbol.");
		return;
	}
	if (!opt_int(x, "startTime", &st, &hs) || !opt_int(x, "endTime", &et, &he) || !opt_int(x, "limit", &limit, &hl))
		return;
	if (limit < 1 || limit > (fut ? 1500 : 1000)) {
		error(x, 400, -1130, "Data sent for parameter 'limit' is not valid.");
		return;
	}
	for (size_t i = 0; i < x->w->naccounts && k < 0; i++) {
		a = &x->w->accounts[i];
		if (a->venue == &sim_binance_venue && (a->market == FILL_FUTURES) == fut)
			k = symbol_of(a, sym);
	}
	arr = json_array();
	if (k < 0) {
		send_json(x, arr);
		return;
	}
	if (!he || et > now)
		et = now;
	if (!hs)
		st = et - (limit - 1) * DAY_MS;
	if (st < a->symbols[k].first_ms)
		st = a->symbols[k].first_ms;
	for (int64_t d = st - st % DAY_MS; d <= et && json_array_size(arr) < (size_t)limit; d += DAY_MS) {
		uint64_t i0 = exsim_index_at(a, (size_t)k, d), i1 = exsim_index_at(a, (size_t)k, d + DAY_MS);
		uint64_t vis = exsim_visible(a, (size_t)k, now);
		struct fill fo, fc;
		if (i1 > vis)
			i1 = vis;
		if (i1 == 0)
			continue;
		exsim_fill(a, (size_t)k, i1 - 1, &fc);
		if (i0 < i1)
			exsim_fill(a, (size_t)k, i0, &fo);
		else
			fo = fc;
		json_array_append_new(arr, json_pack("[I, o, o, o, o, s, I, s, I, s, s, s]", (json_int_t)(d * x->tu),
		    jdec(fo.price, 8), jdec(dec_cmp(fo.price, fc.price) > 0 ? fo.price : fc.price, 8),
		    jdec(dec_cmp(fo.price, fc.price) < 0 ? fo.price : fc.price, 8), jdec(fc.price, 8), "0.00000000",
		    (json_int_t)((d + DAY_MS) * x->tu - 1), "0.00000000", (json_int_t)(i1 - i0), "0.00000000", "0.00000000",
		    "0"));
	}
	send_json(x, arr);
}

/* ------------------------------------------------------------------ dispatch */

struct route {
	const char *path;
	enum api api;
	unsigned weight;
	bool is_signed;
	void (*fn)(struct ctx *x);
	void (*fn2)(struct ctx *x, bool);
	bool arg;
	const char *const *params;	/* NULL-terminated; NULL: not checked */
};

/* USD-M klines weigh by limit (default 500): [1,100) 1, [100,500) 2,
 * [500,1000] 5, above 10. A malformed limit is refused later. */
static unsigned
fklines_weight(const char *limit)
{
	long n = limit != NULL ? strtol(limit, NULL, 10) : 500;

	return n < 100 ? 1 : n < 500 ? 2 : n <= 1000 ? 5 : 10;
}

static void
server_time(struct ctx *x)
{
	send_json(x, json_pack("{s:I}", "serverTime", (json_int_t)(x->rq->now_ms * x->tu)));
}

/* Reference data ccxt's loadMarkets signs for (sim_markets.c). */
static void
capital_config(struct ctx *x)
{
	sim_markets_binance_capital_config(x->w, x->a, x->rs);
}

static void
margin_pairs(struct ctx *x, bool isolated)
{
	sim_markets_binance_margin_pairs(x->w, x->a, isolated, x->rs);
}

/* The parameters each endpoint reads (Binance's docs); a signed endpoint
 * also reads recvWindow, timestamp and signature. Anything else is answered
 * -1104, as /api and /fapi do (a route without a list checks nothing). */
#define PARAMS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define P_NONE ((const char *const[]){ NULL })

static const struct route routes[] = {
	{ "/api/v3/time", A_SPOT, 1, false, server_time, NULL, false, P_NONE },
	{ "/fapi/v1/time", A_FUT, 1, false, server_time, NULL, false, P_NONE },
	{ "/api/v3/exchangeInfo", A_SPOT, 20, false, exchange_info, NULL, false,
	    PARAMS("symbol", "symbols", "permissions", "showPermissionSets", "symbolStatus") },
	{ "/fapi/v1/exchangeInfo", A_FUT, 1, false, exchange_info, NULL, false, P_NONE },
	{ "/api/v3/klines", A_SPOT, 2, false, klines, NULL, false,
	    PARAMS("symbol", "interval", "startTime", "endTime", "timeZone", "limit") },
	{ "/fapi/v1/klines", A_FUT, 0, false, klines, NULL, false,	/* weight by limit */
	    PARAMS("symbol", "interval", "startTime", "endTime", "limit") },
	{ "/api/v3/account", A_SPOT, 20, true, account, NULL, false, PARAMS("omitZeroBalances") },
	{ "/fapi/v2/account", A_FUT, 5, true, futures_account, NULL, false, P_NONE },
	{ "/fapi/v3/account", A_FUT, 5, true, futures_account, NULL, false, P_NONE },
	{ "/sapi/v1/margin/account", A_SAPI, 10, true, margin_account, NULL, false, NULL },
	{ "/sapi/v1/account/apiRestrictions", A_SAPI, 1, true, api_restrictions, NULL, false, NULL },
	{ "/api/v3/myTrades", A_SPOT, 20, true, my_trades, NULL, false,
	    PARAMS("symbol", "orderId", "startTime", "endTime", "fromId", "limit") },
	{ "/fapi/v1/userTrades", A_FUT, 5, true, my_trades, NULL, false,
	    PARAMS("symbol", "orderId", "startTime", "endTime", "fromId", "limit") },
	{ "/sapi/v1/margin/myTrades", A_SAPI, 10, true, my_trades, NULL, false, NULL },
	{ "/fapi/v1/leverageBracket", A_FUT, 1, true, leverage_bracket, NULL, false, PARAMS("symbol") },
	{ "/fapi/v1/income", A_FUT, 30, true, income, NULL, false,
	    PARAMS("symbol", "incomeType", "startTime", "endTime", "page", "limit") },
	{ "/sapi/v1/capital/deposit/hisrec", A_SAPI, 1, true, NULL, flows, true, NULL },
	{ "/sapi/v1/capital/withdraw/history", A_SAPI, 18000, true, NULL, flows, false, NULL },
	{ "/sapi/v1/capital/config/getall", A_SAPI, 10, true, capital_config, NULL, false, NULL },
	{ "/sapi/v1/margin/allPairs", A_SAPI, 1, true, NULL, margin_pairs, false, NULL },
	{ "/sapi/v1/margin/isolated/allPairs", A_SAPI, 10, true, NULL, margin_pairs, true, NULL },
};

/* -1101 for a parameter sent twice (anywhere), -1104 for one the endpoint
 * does not read. Returns false with the answer in rs. */
static bool
check_params(struct ctx *x, const struct route *r)
{
	const struct exsim_request *rq = x->rq;
	size_t read = 0;

	for (size_t i = 0; i < rq->nparams; i++)
		for (size_t k = i + 1; k < rq->nparams; k++)
			if (strcmp(rq->params[i].name, rq->params[k].name) == 0) {
				error(x, 400, -1101, "Duplicate values for a parameter detected.");
				return false;
			}
	if (r->params == NULL)
		return true;
	for (size_t i = 0; i < rq->nparams; i++) {
		const char *n = rq->params[i].name;
		bool known = r->is_signed && (strcmp(n, "recvWindow") == 0 || strcmp(n, "timestamp") == 0 ||
		    strcmp(n, "signature") == 0);
		for (size_t k = 0; !known && r->params[k] != NULL; k++)
			known = strcmp(r->params[k], n) == 0;
		read += known;
	}
	if (read != rq->nparams) {
		error(x, 400, -1104, "Not all sent parameters were read; read '%zu' parameter(s) but was sent '%zu'.", read,
		    rq->nparams);
		return false;
	}
	return true;
}

static bool
sim_binance_handle(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs)
{
	const struct route *r = NULL;
	struct ctx x = { .w = w, .rq = rq, .rs = rs };

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, rq->path) == 0)
			r = &routes[i];
	if (r == NULL)
		return false;
	x.api = r->api;
	/* Spot answers in microseconds when asked (rest-api.md "General API
	 * Information"); request times are read in ms or us either way. */
	x.tu = r->api == A_SPOT && rq->header(rq, "X-MBX-TIME-UNIT") != NULL &&
	    strcasecmp(rq->header(rq, "X-MBX-TIME-UNIT"), "MICROSECOND") == 0 ? 1000 : 1;
	x.pool = r->api == A_FUT ? POOL_FAPI : r->api == A_SPOT ? POOL_API :
	    strcmp(r->path, "/sapi/v1/capital/withdraw/history") == 0 ? POOL_SAPI_1S : POOL_SAPI;
	if (strcmp(rq->method, "GET") != 0)
		error(&x, 405, -1000, "An unknown error occurred while processing the request.");
	else if (!charge(&x, r->weight > 0 ? r->weight : fklines_weight(rq->param(rq, "limit"))))
		;
	else if (!check_params(&x, r))
		;
	else if (r->is_signed && !authenticate(&x))
		;
	else if (r->fn != NULL)
		r->fn(&x);
	else
		r->fn2(&x, r->arg);
	if (rs->nheaders < EXSIM_MAX_RESP_HEADERS)
		exsim_header(rs, pool_def[x.pool].header, "%u", x.used);
	return true;
}

/* ------------------------------------------------------------------ venue */

/* Symbols: spot and cross margin list the same, USD-M its perpetuals. */
static const struct exsim_symdef binance_spot[] = {
	{ "BTC/USDT", "BTCUSDT", "BTC", "USDT", "BTC", "USDT", 60000, 2, 5, 0.0005, 0.2, 3000000000ULL },
	{ "ETH/USDT", "ETHUSDT", "ETH", "USDT", "ETH", "USDT", 3000, 2, 4, 0.005, 3, 1500000000ULL },
	{ "BNB/USDT", "BNBUSDT", "BNB", "USDT", "BNB", "USDT", 550, 2, 4, 0.01, 10, 800000000ULL },
	{ "SOL/USDT", "SOLUSDT", "SOL", "USDT", "SOL", "USDT", 150, 2, 4, 0.1, 40, 600000000ULL },
	{ "ETH/BTC", "ETHBTC", "ETH", "BTC", "ETH", "BTC", 0.05, 5, 4, 0.005, 3, 400000000ULL },
};
static const struct exsim_symdef binance_usdm[] = {
	{ "BTC/USDT:USDT", "BTCUSDT", "BTC", "USDT", "BTC", "USDT", 60000, 2, 4, 0.001, 0.5, 5000000000ULL },
	{ "ETH/USDT:USDT", "ETHUSDT", "ETH", "USDT", "ETH", "USDT", 3000, 2, 4, 0.01, 5, 3000000000ULL },
};

static const struct exsim_venue_market binance_markets[] = {
	/* spot and margin accounts hold BNB to pay fees with */
	{ FILL_SPOT, binance_spot, sizeof(binance_spot) / sizeof(binance_spot[0]), "BNB", 50, false },
	{ FILL_MARGIN, binance_spot, sizeof(binance_spot) / sizeof(binance_spot[0]), "BNB", 50, false },
	/* USD-M books FUNDING_FEE income every 8 hours */
	{ FILL_FUTURES, binance_usdm, sizeof(binance_usdm) / sizeof(binance_usdm[0]), NULL, 0, true },
};

static const char *const binance_prefixes[] = { "/api/", "/fapi/", "/sapi/", "/dapi/", NULL };

static void
binance_5xx(struct exsim_response *rs, unsigned status, int64_t now_ms)
{
	exsim_json(rs, status, "{\"code\":-1001,\"msg\":\"Internal error; unable to process your request. "
	    "Please try again.\"}");
}

static void
binance_429(struct exsim_response *rs, int64_t now_ms)
{
	exsim_json(rs, 429, "{\"code\":-1003,\"msg\":\"Too much request weight used; current limit is 6000 "
	    "request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the "
	    "API.\"}");
	exsim_header(rs, "Retry-After", "%d", 1);
}

/* USD-M: maker 0.02% (a 0.005% rebate on some), taker 0.05%. Spot and
 * margin: 0.1% of the quote, a spot buy sometimes in the base, often BNB at
 * 25% off (the quote value converted at a BNB price in this quote). */
static void
binance_fee(const struct exsim_account *a, const struct exsim_symbol *s, unsigned r, struct fill *f)
{
	bool maker = f->role == FILL_MAKER;

	if (a->market == FILL_FUTURES) {
		if (maker && r < 12)
			exsim_fee_rate(f, f->cost, "-0.00005", s->quote);
		else
			exsim_fee_rate(f, f->cost, maker ? "0.0002" : "0.0005", s->quote);
	} else if (a->market == FILL_SPOT && f->side == FILL_BUY && r < 12) {
		exsim_fee_rate(f, f->amount, "0.001", s->base);
	} else if (r >= 60) {
		double bnb = 550.0 * (strcmp(s->quote, "BTC") == 0 ? 1.0 / 60000.0 : 1.0);
		double v = dec_to_double(f->cost) * 0.00075 / bnb;
		int64_t units = llround(v * 1e8);
		exsim_fee_units(f, units < 1 ? 1 : units, 8, "BNB");
	} else
		exsim_fee_rate(f, f->cost, "0.001", s->quote);
}

const struct exsim_venue sim_binance_venue = {
	.name = "binance",
	.markets = binance_markets,
	.nmarkets = sizeof(binance_markets) / sizeof(binance_markets[0]),
	.prefixes = binance_prefixes,
	.handle = sim_binance_handle,
	.reference = sim_markets_binance_reference,
	.error_5xx = binance_5xx,
	.error_429 = binance_429,
	.close = exsim_close_from_fills,	/* klines: the last fill of the day */
	.fee = binance_fee,
	.ids = EXSIM_IDS_SEQUENCE,
	.keys = EXSIM_KEYS_ALNUM64,
};
