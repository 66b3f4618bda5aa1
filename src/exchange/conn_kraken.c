/*
 * Kraken Spot connector (exchanges.md section 6).
 *
 * A cycle: AssetPairs (public, cached for a day), TradesHistory walked by
 * ofs (the fills; its first answer validates the key), then the side steps:
 * BalanceEx (balances), Ledgers of type deposit and withdrawal walked the
 * same way (flows), daily OHLC of the pairs traded, of the <currency>/USD
 * pair of every currency held (to value the balance) and of the BTC/USD
 * benchmark (prices: public, at most hourly per pair).
 *
 * A side step the key may not take (EGeneral:Permission denied: many
 * read-only keys lack "Query Ledger Entries" or "Query Funds") or a pair
 * Kraken has no candles for (EQuery:Unknown asset pair) degrades its part
 * with the reason and the cycle goes on; the fills are kept. Permission
 * denied on TradesHistory is XR_AUTH: the key cannot do what the session
 * is for.
 *
 * Requests per cycle, retries of a request aside:
 *   R <= [1 AssetPairs, at most daily] + max(1, ceil(T/50)) + 1 BalanceEx
 *        + max(1, ceil(D/50)) + max(1, ceil(W/50)) + P
 * with T, D, W the trades, deposits and withdrawals since the cursors (a
 * walk is a fixed set: see below) and P <= 64 the pairs to price whose
 * closes are more than an hour old. A page of repeats (the server started
 * early) is a retry of the same page.
 *
 * Rate: Kraken's per-key counter, +2 per TradesHistory or Ledgers call, +1
 * otherwise, capped and decaying by the account's tier (xconf.tier,
 * docs.kraken.com spot-rest-ratelimits): starter 15 / 0.33 s^-1,
 * intermediate 20 / 0.5 s^-1, pro 20 / 1 s^-1. Public calls are not
 * counted (their per-IP limit is undocumented; they are 1 + P a cycle).
 *
 * Kraken returns 50 rows a page, newest first, with the total in count.
 * The first page of a walk (ofs 0) fixes its newest row, top; every later
 * page asks for end = top (inclusive), so rows arriving during the walk
 * are outside it and cannot move the offsets: a walk is a fixed set, and
 * its length does not depend on how fast the pages come (rows arriving
 * during a slow walk once shifted the offsets; a page that then started
 * early was all repeats and ofs jumped past unseen rows). A walk advances
 * ofs by the rows of a page that were new to it until ofs reaches count,
 * so a page that starts early anyway costs a few repeated rows and never
 * skips one; a page of nothing but repeats cannot happen with fixed
 * offsets and is retried (its ofs is where the walk really is). Rows are
 * deduplicated by their time: anything newer than the oldest row emitted
 * in this walk was emitted already (and rows at exactly that time by id).
 * The next cycle starts after the newest row of the completed walk (start
 * = its id, exclusive), which picks up whatever arrived meanwhile.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fill.h"
#include "exchange/exchange.h"
#include "exchange/kraken_pairs.h"
#include "exchange/sign_kraken.h"
#include "util/log.h"
#include "util/xalloc.h"

#define PAGE 50
#define ID_MAX 40
#define OHLC_MAX 64
#define PAIRS_TTL_MS (24 * 3600 * 1000LL)
#define OHLC_EVERY_MS (3600 * 1000LL)
#define BENCHMARK "XBTUSD"
#define POOL_COUNTER 0
#define POOL_PUBLIC 1

enum step { ST_PAIRS, ST_TRADES, ST_BALANCE, ST_DEPOSITS, ST_WITHDRAWALS, ST_OHLC, ST_DONE };

/* The per-key call counter of each tier (index = xconf.tier). */
static const struct {
	double max, decay;
} tiers[] = { { 15, 0.33 }, { 20, 0.5 }, { 20, 1 } };
static const char *const tier_names[] = { "starter", "intermediate", "pro", NULL };

struct walk {
	char cursor[ID_MAX];		/* newest id of the last completed walk: start (exclusive) */
	char top[ID_MAX];		/* newest id of this walk */
	uint64_t ofs;
	bool has_floor;
	struct dec floor;		/* oldest time emitted in this walk (seconds, exact) */
	char (*at_floor)[ID_MAX];	/* ids emitted at exactly floor */
	size_t nat, cap;
};

struct ohlc_pair {
	char name[32];			/* the pair name sent */
	int64_t last_s;			/* newest candle seen (s), 0 none */
	int64_t fetched_ms;
};

struct kraken {
	struct kraken_pairs *pairs;
	int64_t pairs_at_ms;
	enum step step;
	struct walk trades, deposits, withdrawals;
	struct ohlc_pair ohlc[OHLC_MAX];
	size_t nohlc, ohlc_i;
	bool perms_reported;
	uint64_t nonce_bump;
	double counter;			/* estimate of Kraken's per-key call counter */
	int64_t counter_at_ms;
	uint64_t nfills;
};

static int
kraken_open(struct xconn *c, const char **errstr)
{
	struct kraken *k;

	if (c->conf.market != FILL_SPOT) {
		*errstr = "kraken: only spot accounts (Kraken margin trades appear in the spot history; futures is krakenfutures)";
		return -1;
	}
	if (c->conf.tier >= sizeof(tiers) / sizeof(tiers[0])) {
		*errstr = "kraken: unknown tier";
		return -1;
	}
	k = xcalloc(1, sizeof(*k));
	k->pairs = kraken_pairs_new();
	snprintf(k->ohlc[0].name, sizeof(k->ohlc[0].name), "%s", BENCHMARK);
	k->nohlc = 1;
	c->priv = k;
	c->caveat[XPART_PERMISSIONS] = "Kraken does not report a key's permissions: unknown";
	return 0;
}

static void
kraken_close(struct xconn *c)
{
	struct kraken *k = c->priv;

	if (k == NULL)
		return;
	kraken_pairs_free(k->pairs);
	free(k->trades.at_floor);
	free(k->deposits.at_floor);
	free(k->withdrawals.at_floor);
	free(k);
}

static void
walk_reset(struct walk *w)
{
	w->top[0] = '\0';
	w->ofs = 0;
	w->has_floor = false;
	w->nat = 0;
}

static void
kraken_begin(struct xconn *c, int64_t now_ms)
{
	struct kraken *k = c->priv;

	k->step = k->pairs_at_ms == 0 || now_ms - k->pairs_at_ms >= PAIRS_TTL_MS ? ST_PAIRS : ST_TRADES;
	walk_reset(&k->trades);
	walk_reset(&k->deposits);
	walk_reset(&k->withdrawals);
	k->ohlc_i = 0;
}

/* Decays the counter estimate to now. */
static void
counter_at(const struct xconn *c, struct kraken *k, int64_t now_ms)
{
	if (k->counter_at_ms != 0 && now_ms > k->counter_at_ms) {
		k->counter -= (double)(now_ms - k->counter_at_ms) / 1000.0 * tiers[c->conf.tier].decay;
		if (k->counter < 0)
			k->counter = 0;
	}
	k->counter_at_ms = now_ms;
}

static int
private_req(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char *path,
    const char *params, unsigned cost, const char **errstr)
{
	struct kraken *k = c->priv;
	char nonce[24], sig[SIGN_KRAKEN_LEN], *body;
	uint64_t n = (uint64_t)now_ms * 1000;
	int rc;

	/* Strictly increasing per key, in microseconds so that a restart
	 * (which forgets the last nonce) still starts above it. */
	if (n <= c->nonce)
		n = c->nonce + 1;
	c->nonce = n;
	snprintf(nonce, sizeof(nonce), "%" PRIu64, n);
	body = xasprintf("nonce=%s%s%s", nonce, *params != '\0' ? "&" : "", params);
	rc = sign_kraken_spot(sig, cred->secret, cred->secret_len, path, nonce, body, strlen(body), errstr);
	if (rc == 0) {
		xreq_set(req, "POST", c->base_url, path, NULL);
		xreq_header(req, "API-Key", cred->api_key);
		xreq_header(req, "API-Sign", sig);
		xreq_header(req, "Content-Type", "application/x-www-form-urlencoded");
		xreq_body(req, body, strlen(body));
		req->weight = cost;
		counter_at(c, k, now_ms);
		k->counter += cost;
	}
	free(body);
	return rc;
}

static void
walk_params(const struct xconn *c, const struct walk *w, const char *type, char *out, size_t cap)
{
	int n = 0;

	out[0] = '\0';
	if (type != NULL)
		n += snprintf(out + n, cap - (size_t)n, "&type=%s", type);
	if (w->ofs > 0)
		n += snprintf(out + n, cap - (size_t)n, "&ofs=%" PRIu64, w->ofs);
	if (w->top[0] != '\0')
		n += snprintf(out + n, cap - (size_t)n, "&end=%s", w->top);
	if (w->cursor[0] != '\0')
		n += snprintf(out + n, cap - (size_t)n, "&start=%s", w->cursor);
	else if (c->conf.backfill_from_ms > 0)
		/* start is exclusive whole seconds: one second early, the
		 * rows before backfill_from_ms are dropped on parsing */
		n += snprintf(out + n, cap - (size_t)n, "&start=%" PRId64, c->conf.backfill_from_ms / 1000 - 1);
	(void)n;
	/* skip the leading '&': private_req adds the separator */
	if (out[0] == '&')
		memmove(out, out + 1, strlen(out));
}

static int
kraken_next(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char **errstr)
{
	struct kraken *k = c->priv;
	char params[160], q[96];

	for (;;) {
		switch (k->step) {
		case ST_PAIRS:
			xreq_set(req, "GET", c->base_url, "/0/public/AssetPairs", NULL);
			req->tag = ST_PAIRS;
			req->part = XPART_FILLS;
			req->pool = POOL_PUBLIC;
			return 1;
		case ST_BALANCE:
			if (private_req(c, cred, now_ms, req, "/0/private/BalanceEx", "", 1, errstr) == -1)
				return -1;
			req->tag = ST_BALANCE;
			req->part = XPART_BALANCES;
			return 1;
		case ST_TRADES:
			walk_params(c, &k->trades, NULL, params, sizeof(params));
			if (private_req(c, cred, now_ms, req, "/0/private/TradesHistory", params, 2, errstr) == -1)
				return -1;
			req->tag = ST_TRADES;
			req->part = XPART_FILLS;
			return 1;
		case ST_DEPOSITS:
		case ST_WITHDRAWALS:
			walk_params(c, k->step == ST_DEPOSITS ? &k->deposits : &k->withdrawals,
			    k->step == ST_DEPOSITS ? "deposit" : "withdrawal", params, sizeof(params));
			if (private_req(c, cred, now_ms, req, "/0/private/Ledgers", params, 2, errstr) == -1)
				return -1;
			req->tag = k->step;
			req->part = XPART_FLOWS;
			return 1;
		case ST_OHLC:
			while (k->ohlc_i < k->nohlc && k->ohlc[k->ohlc_i].fetched_ms != 0 &&
			    now_ms - k->ohlc[k->ohlc_i].fetched_ms < OHLC_EVERY_MS)
				k->ohlc_i++;
			if (k->ohlc_i == k->nohlc) {
				k->step = ST_DONE;
				continue;
			}
			{
				const struct ohlc_pair *o = &k->ohlc[k->ohlc_i];
				if (o->last_s > 0)
					/* since is exclusive: ask again for the newest
					 * candle, whose close moves until the day ends */
					snprintf(q, sizeof(q), "pair=%s&interval=1440&since=%" PRId64, o->name, o->last_s - 1);
				else
					snprintf(q, sizeof(q), "pair=%s&interval=1440", o->name);
			}
			xreq_set(req, "GET", c->base_url, "/0/public/OHLC", q);
			req->tag = ST_OHLC;
			req->part = XPART_PRICES;
			req->pool = POOL_PUBLIC;
			return 1;
		case ST_DONE:
			return 0;
		}
	}
}

/* ---- response handling ---- */

/* "1688667796.8802" (text of a JSON number) -> exact seconds. */
static int
parse_time(const json_t *v, struct dec *sec, int64_t *ms)
{
	const char *s = json_string_value(v), *err;
	__int128 q;

	if (s == NULL || dec_parse(s, json_string_length(v), sec, &err) == -1 || dec_sign(*sec) < 0)
		return -1;
	/* trunc(time * 1000), as ccxt's safeTimestamp, computed on the exact
	 * decimal: value * 10^18 / 10^15 */
	q = sec->raw / (__int128)1000000000000000LL;
	if (q > INT64_MAX)
		return -1;
	*ms = (int64_t)q;
	return 0;
}

static int
parse_count(const json_t *v, uint64_t *out)
{
	const char *s = json_string_value(v);
	uint64_t n = 0;
	size_t len;

	if (s == NULL || (len = json_string_length(v)) == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*out = n;
	return 0;
}

static int
str_dec(const json_t *o, const char *name, struct dec *out)
{
	const json_t *v = json_object_get(o, name);
	const char *err;

	return json_is_string(v) && dec_parse(json_string_value(v), json_string_length(v), out, &err) == 0 ? 0 : -1;
}

/* True if the row (id, t) was already emitted in this walk; else records it. */
static bool
walk_seen(struct walk *w, const char *id, struct dec t)
{
	int cmp = w->has_floor ? dec_cmp(t, w->floor) : -1;

	if (cmp > 0)
		return true;
	if (cmp == 0)
		for (size_t i = 0; i < w->nat; i++)
			if (strcmp(w->at_floor[i], id) == 0)
				return true;
	if (cmp < 0) {
		w->floor = t;
		w->has_floor = true;
		w->nat = 0;
	}
	if (w->nat == w->cap) {
		w->cap = w->cap == 0 ? 8 : w->cap * 2;
		w->at_floor = xreallocarray(w->at_floor, w->cap, sizeof(*w->at_floor));
	}
	snprintf(w->at_floor[w->nat++], ID_MAX, "%s", id);
	if (w->top[0] == '\0')
		snprintf(w->top, sizeof(w->top), "%s", id);
	return false;
}

/* After a page of nrows rows (nnew of them new) out of count: 1 when the
 * walk is complete (and the cursor moves to its newest row), 0 when it
 * goes on, -1 for a page of nothing but repeats (the walk stays where it
 * is: a retry). */
static int
walk_page(struct walk *w, size_t nrows, size_t nnew, uint64_t count)
{
	if (nrows > 0 && nnew == 0)
		return -1;
	w->ofs += nnew;
	if (nrows > 0 && w->ofs < count)
		return 0;
	if (w->top[0] != '\0')
		memcpy(w->cursor, w->top, sizeof(w->cursor));
	return 1;
}

/* One OHLC request per pair, whichever of its names (id, altname) noted it
 * first: the benchmark XBTUSD and trades in XXBTZUSD are one series. */
static void
note_pair(struct kraken *k, const char *name)
{
	struct kraken_pair np, o;
	const char *why;
	bool resolved = kraken_pairs_resolve(k->pairs, name, &np, &why) == 0;

	for (size_t i = 0; i < k->nohlc; i++)
		if (strcmp(k->ohlc[i].name, name) == 0 || (resolved &&
		    kraken_pairs_resolve(k->pairs, k->ohlc[i].name, &o, &why) == 0 && strcmp(o.id, np.id) == 0))
			return;
	if (k->nohlc < OHLC_MAX && strlen(name) < sizeof(k->ohlc[0].name)) {
		memset(&k->ohlc[k->nohlc], 0, sizeof(k->ohlc[0]));
		strcpy(k->ohlc[k->nohlc++].name, name);
	}
}

static void
note_value_pair(struct kraken *k, const char *cur)
{
	char sym[FILL_SYMBOL_MAX];
	const struct kraken_pair *kp;

	snprintf(sym, sizeof(sym), "%s/USD", cur);
	if (strcmp(cur, "USD") == 0 || (kp = kraken_pairs_by_symbol(k->pairs, sym)) == NULL)
		return;
	note_pair(k, kp->id);
}

/* One TradesHistory row -> unified fill (ccxt kraken parseTrade). */
static int
parse_trade(struct kraken *k, const char *txid, const json_t *t, struct fill *f, struct dec *sec, const char **why)
{
	struct kraken_pair kp;
	const char *pair = json_string_value(json_object_get(t, "pair"));
	const char *type = json_string_value(json_object_get(t, "type"));
	const char *order = json_string_value(json_object_get(t, "ordertxid"));
	const json_t *maker = json_object_get(t, "maker");
	struct dec fee;

	memset(f, 0, sizeof(*f));
	*why = "trade: bad field";
	if (strlen(txid) >= sizeof(f->id) || pair == NULL || type == NULL ||
	    parse_time(json_object_get(t, "time"), sec, &f->timestamp) == -1)
		return -1;
	strcpy(f->id, txid);
	if (order != NULL && strlen(order) < sizeof(f->order))
		strcpy(f->order, order);
	if (kraken_pairs_resolve(k->pairs, pair, &kp, why) == -1 ||
	    fill_set_symbol(f, kp.symbol, strlen(kp.symbol), why) == -1)
		return -1;
	if (strcmp(type, "buy") == 0)
		f->side = FILL_BUY;
	else if (strcmp(type, "sell") == 0)
		f->side = FILL_SELL;
	else
		return -1;
	if (str_dec(t, "price", &f->price) == -1 || str_dec(t, "vol", &f->amount) == -1 ||
	    dec_sign(f->amount) <= 0 || dec_sign(f->price) < 0)
		return -1;
	if (str_dec(t, "cost", &f->cost) == 0)
		f->has_cost = true;
	if (str_dec(t, "fee", &fee) == 0 && fill_add_fee(f, fee, kp.quote, why) == -1)
		return -1;
	f->role = json_is_true(maker) ? FILL_MAKER : json_is_false(maker) ? FILL_TAKER : FILL_ROLE_UNKNOWN;
	f->market = FILL_SPOT;
	note_pair(k, pair);
	return 0;
}

static void
on_trades(struct xconn *c, json_t *res, const struct xsink *sink, struct xoutcome *out)
{
	struct kraken *k = c->priv;
	json_t *trades = json_object_get(res, "trades"), *t;
	const char *txid, *why = NULL;
	uint64_t count;
	size_t n = 0, nnew = 0;
	struct fill f;
	struct dec sec;

	if (!json_is_object(trades) || parse_count(json_object_get(res, "count"), &count) == -1) {
		xoutcome_error(out, XR_RETRY, "kraken TradesHistory: malformed result");
		return;
	}
	c->validated = true;
	json_object_foreach(trades, txid, t) {
		n++;
		if (parse_trade(k, txid, t, &f, &sec, &why) == -1) {
			xoutcome_error(out, XR_FATAL, "kraken TradesHistory %s: %s", txid, why);
			return;
		}
		if (walk_seen(&k->trades, txid, sec))
			continue;
		nnew++;
		if (f.timestamp < c->conf.backfill_from_ms)
			continue;
		if (sink->fill(sink->arg, &f) == -1) {
			xoutcome_error(out, XR_FATAL, "sink refused a fill");
			return;
		}
		k->nfills++;
	}
	switch (walk_page(&k->trades, n, nnew, count)) {
	case -1:
		xoutcome_error(out, XR_RETRY, "kraken TradesHistory: a page of rows already seen at ofs %" PRIu64,
		    k->trades.ofs);
		return;
	case 1:
		k->step = ST_BALANCE;
		c->backfill_done = true;
		if (!k->perms_reported) {
			/* Kraken has no endpoint that reports a key's
			 * permissions: both are reported false (the caveat
			 * says unknown). */
			if (sink->permissions != NULL && sink->permissions(sink->arg, false, false) == -1) {
				xoutcome_error(out, XR_FATAL, "sink refused permissions");
				return;
			}
			k->perms_reported = true;
		}
		break;
	}
	snprintf(c->progress, sizeof(c->progress), "%" PRIu64 " fills; key permissions unknown (Kraken does not report them)",
	    k->nfills);
}

static void
on_ledgers(struct xconn *c, json_t *res, const struct xsink *sink, struct xoutcome *out)
{
	struct kraken *k = c->priv;
	struct walk *w = k->step == ST_DEPOSITS ? &k->deposits : &k->withdrawals;
	json_t *ledger = json_object_get(res, "ledger"), *e;
	const char *id;
	uint64_t count;
	size_t n = 0, nnew = 0;

	if (!json_is_object(ledger) || parse_count(json_object_get(res, "count"), &count) == -1) {
		xoutcome_error(out, XR_RETRY, "kraken Ledgers: malformed result");
		return;
	}
	json_object_foreach(ledger, id, e) {
		const char *asset = json_string_value(json_object_get(e, "asset"));
		char cur[FILL_CUR_MAX];
		struct dec sec, amount, fee = DEC_ZERO, net;
		int64_t ms;

		n++;
		if (asset == NULL || kraken_asset_code(asset, strlen(asset), cur) == -1 ||
		    parse_time(json_object_get(e, "time"), &sec, &ms) == -1 || str_dec(e, "amount", &amount) == -1 ||
		    (json_object_get(e, "fee") != NULL && str_dec(e, "fee", &fee) == -1) ||
		    dec_sub(&net, amount, fee) == -1) {
			xoutcome_error(out, XR_FATAL, "kraken Ledgers %s: bad field", id);
			return;
		}
		if (walk_seen(w, id, sec))
			continue;
		nnew++;
		if (ms < c->conf.backfill_from_ms || dec_is_zero(net))
			continue;
		/* the balance change: a withdrawal's amount is negative and
		 * its fee leaves the account too */
		if (sink->flow != NULL && sink->flow(sink->arg, id, ms, cur, net) == -1) {
			xoutcome_error(out, XR_FATAL, "sink refused a flow");
			return;
		}
	}
	switch (walk_page(w, n, nnew, count)) {
	case -1:
		xoutcome_error(out, XR_RETRY, "kraken Ledgers: a page of rows already seen at ofs %" PRIu64, w->ofs);
		return;
	case 1:
		k->step = k->step == ST_DEPOSITS ? ST_WITHDRAWALS : ST_OHLC;
		break;
	}
}

static void
on_balance(struct xconn *c, json_t *res, const struct xsink *sink, struct xoutcome *out)
{
	struct kraken *k = c->priv;
	const char *asset;
	json_t *v;

	if (!json_is_object(res)) {
		xoutcome_error(out, XR_RETRY, "kraken BalanceEx: malformed result");
		return;
	}
	json_object_foreach(res, asset, v) {
		char cur[FILL_CUR_MAX];
		struct dec total;
		/* BalanceEx: {"balance":..,"hold_trade":..}; Balance: a string */
		if (kraken_asset_code(asset, strlen(asset), cur) == -1 ||
		    (json_is_object(v) ? str_dec(v, "balance", &total) : str_dec(res, asset, &total)) == -1) {
			xoutcome_error(out, XR_FATAL, "kraken BalanceEx %s: bad field", asset);
			return;
		}
		/* A held currency is valued with its <cur>/USD daily closes. */
		if (!dec_is_zero(total))
			note_value_pair(k, cur);
		if (sink->balance != NULL && sink->balance(sink->arg, cur, total) == -1) {
			xoutcome_error(out, XR_FATAL, "sink refused a balance");
			return;
		}
	}
	k->step = ST_DEPOSITS;
}

static void
on_ohlc(struct xconn *c, json_t *res, const struct xsink *sink, int64_t now_ms, struct xoutcome *out)
{
	struct kraken *k = c->priv;
	struct ohlc_pair *o = &k->ohlc[k->ohlc_i];
	struct kraken_pair kp;
	const char *key, *why;
	json_t *rows = NULL, *v;
	size_t i;

	json_object_foreach(res, key, v)
		if (json_is_array(v)) {
			rows = v;
			break;
		}
	if (rows == NULL) {
		xoutcome_error(out, XR_RETRY, "kraken OHLC: malformed result");
		return;
	}
	if (kraken_pairs_resolve(k->pairs, o->name, &kp, &why) == -1) {
		xoutcome_error(out, XR_FATAL, "kraken OHLC %s: %s", o->name, why);
		return;
	}
	json_array_foreach(rows, i, v) {
		const json_t *tv = json_array_get(v, 0), *cv = json_array_get(v, 4);
		struct dec close, sec;
		int64_t ms;
		const char *err;
		if (parse_time(tv, &sec, &ms) == -1 || !json_is_string(cv) ||
		    dec_parse(json_string_value(cv), json_string_length(cv), &close, &err) == -1) {
			xoutcome_error(out, XR_FATAL, "kraken OHLC %s: bad candle", o->name);
			return;
		}
		if (sink->price != NULL && sink->price(sink->arg, kp.symbol, ms, close) == -1) {
			xoutcome_error(out, XR_FATAL, "sink refused a price");
			return;
		}
		if (ms / 1000 > o->last_s)
			o->last_s = ms / 1000;
	}
	o->fetched_ms = now_ms;
	k->ohlc_i++;
}

/* Moves past the side step req belongs to, for this cycle. */
static void
kraken_skip(struct xconn *c, const struct xreq *req)
{
	struct kraken *k = c->priv;

	switch (req->tag) {
	case ST_BALANCE:
		k->step = ST_DEPOSITS;
		break;
	case ST_DEPOSITS:
	case ST_WITHDRAWALS:
		/* both walks are the flows part: a key refused one is refused
		 * the other */
		k->step = ST_OHLC;
		break;
	case ST_OHLC:
		k->ohlc_i++;
		break;
	default:
		fatalx("kraken: skip of a fills step");
	}
}

/* A side step's permanent refusal: its part is degraded and the cycle goes
 * on (exchange.h, progress contract). True when e was one. */
static bool
side_refusal(struct xconn *c, const struct xreq *req, const char *e, int64_t now_ms, struct xoutcome *out)
{
	struct kraken *k = c->priv;

	if (req->part == XPART_FILLS)
		return false;
	if (strcmp(e, "EGeneral:Permission denied") == 0) {
		if (req->part == XPART_FLOWS)
			xconn_degrade(c, XPART_FLOWS, "deposits and withdrawals unavailable: key lacks ledger permission "
			    "(Query Ledger Entries)");
		else
			xconn_degrade(c, req->part, "%s unavailable: key lacks the permission (kraken: %s)",
			    xpart_name(req->part), e);
	} else if (req->tag == ST_OHLC && strcmp(e, "EQuery:Unknown asset pair") == 0) {
		xconn_degrade(c, XPART_PRICES, "no daily closes for %s (kraken: %s)", k->ohlc[k->ohlc_i].name, e);
		k->ohlc[k->ohlc_i].fetched_ms = now_ms;	/* asked again at most hourly */
	} else
		return false;
	kraken_skip(c, req);
	out->result = XR_OK;
	return true;
}

/* Maps Kraken's error strings (ccxt kraken.js exceptions). */
static void
map_error(struct xconn *c, const struct xreq *req, const char *e, int64_t now_ms, struct xoutcome *out)
{
	struct kraken *k = c->priv;
	const char *th;

	if (side_refusal(c, req, e, now_ms, out))
		return;
	if (strcmp(e, "EAPI:Invalid key") == 0 || strcmp(e, "EAPI:Invalid signature") == 0 ||
	    strcmp(e, "ESession:Invalid session") == 0) {
		xoutcome_error(out, XR_AUTH, "kraken: %s", e);
	} else if (strcmp(e, "EGeneral:Permission denied") == 0) {
		/* the trades walk: the key cannot do what the session is for */
		xoutcome_error(out, XR_AUTH, "kraken: %s (the key needs \"Query Closed Orders & Trades\")", e);
	} else if (strcmp(e, "EAPI:Invalid nonce") == 0) {
		/* Another client of this key went higher: jump ahead, further
		 * each time it happens again. */
		k->nonce_bump = k->nonce_bump == 0 ? 1000000 : k->nonce_bump * 16;
		if ((uint64_t)now_ms * 1000 > c->nonce)
			c->nonce = (uint64_t)now_ms * 1000;
		c->nonce += k->nonce_bump;
		xoutcome_error(out, XR_CLOCK, "kraken: %s", e);
	} else if (strcmp(e, "EAPI:Rate limit exceeded") == 0 || strcmp(e, "EGeneral:Too many requests") == 0) {
		/* The counter is at its cap: wait until this call's cost has
		 * decayed away. */
		counter_at(c, k, now_ms);
		k->counter = tiers[c->conf.tier].max;
		out->retry_after_ms = (int64_t)((double)(req->weight > 0 ? req->weight : 1) * 1000.0 /
		    tiers[c->conf.tier].decay) + 1;
		xoutcome_error(out, XR_RATE_LIMITED, "kraken: %s", e);
	} else if ((th = strstr(e, "Throttled:")) != NULL) {
		int64_t ts = strtoll(th + 10, NULL, 10);
		out->retry_after_ms = ts > 0 && ts * 1000 > now_ms ? ts * 1000 - now_ms : 1000;
		xoutcome_error(out, XR_RATE_LIMITED, "kraken: %s", e);
	} else if (strcmp(e, "EGeneral:Temporary lockout") == 0) {
		out->retry_after_ms = 60000;
		xoutcome_error(out, XR_RATE_LIMITED, "kraken: %s", e);
	} else if (strncmp(e, "EService:", 9) == 0 || strncmp(e, "EDatabase:", 10) == 0 ||
	    strcmp(e, "EGeneral:Internal error") == 0) {
		xoutcome_error(out, XR_RETRY, "kraken: %s", e);
	} else {
		xoutcome_error(out, XR_FATAL, "kraken: %s", e);
	}
}

static void
kraken_handle(struct xconn *c, const struct xreq *req, const struct xresp *resp, const struct xsink *sink,
    struct xoutcome *out)
{
	struct kraken *k = c->priv;
	json_t *j = NULL;
	json_t *errs, *res;
	const char *err;
	int line;

	memset(out, 0, sizeof(*out));
	out->result = XR_OK;
	if (resp->status == 0 || resp->status >= 500) {
		xoutcome_error(out, XR_RETRY, "kraken: HTTP %ld", resp->status);
		return;
	}
	if (resp->status == 429) {
		xoutcome_error(out, XR_RATE_LIMITED, "kraken: HTTP 429");
		return;
	}
	if ((j = fill_json_loads(resp->body, resp->body_len, &line, &err)) == NULL || !json_is_object(j)) {
		xoutcome_error(out, resp->status == 200 ? XR_RETRY : XR_FATAL, "kraken: HTTP %ld, malformed body",
		    resp->status);
		goto done;
	}
	errs = json_object_get(j, "error");
	if (json_is_array(errs) && json_array_size(errs) > 0) {
		const char *e = json_string_value(json_array_get(errs, 0));
		map_error(c, req, e != NULL ? e : "?", resp->now_ms, out);
		goto done;
	}
	if (resp->status != 200 || (res = json_object_get(j, "result")) == NULL) {
		xoutcome_error(out, resp->status == 200 ? XR_RETRY : XR_FATAL, "kraken: HTTP %ld without result",
		    resp->status);
		goto done;
	}
	if (req->tag != ST_PAIRS && req->tag != ST_OHLC)
		k->nonce_bump = 0;
	switch (req->tag) {
	case ST_PAIRS:
		if (kraken_pairs_load(k->pairs, res, &err) == -1) {
			xoutcome_error(out, XR_FATAL, "kraken: %s", err);
			break;
		}
		k->pairs_at_ms = resp->now_ms;
		k->step = ST_TRADES;
		break;
	case ST_BALANCE:
		on_balance(c, res, sink, out);
		break;
	case ST_TRADES:
		on_trades(c, res, sink, out);
		break;
	case ST_DEPOSITS:
	case ST_WITHDRAWALS:
		on_ledgers(c, res, sink, out);
		break;
	case ST_OHLC:
		on_ohlc(c, res, sink, resp->now_ms, out);
		break;
	default:
		xoutcome_error(out, XR_FATAL, "kraken: response to an unknown step");
	}
done:
	json_decref(j);
}

/* The per-key counter of the account's tier (top of the file); public
 * calls go to a pool without a stated limit (cap 0: not paced). */
/* ------------------------------------------------------------------ checkpoints */

/* The cursors: the newest id of the last completed walk of the trades,
 * deposits and withdrawals (each next walk starts after it, exclusive: the
 * id is the whole boundary), the fills counted for the status, and the
 * pairs whose closes are wanted (their names; the benchmark first). The
 * nonce is in the common part (xconn_save). Not saved: AssetPairs (fetched
 * again: pairs_at_ms 0), the balances (read every cycle), the closes'
 * cursors (last_s, fetched_ms: the pricebook is not checkpointed, so every
 * pair is fetched again from its first candle), the call counter estimate
 * (the poller paces by its own pool) and whether the permissions were
 * reported (they are again, with the first trades page). */
static int
kraken_save(const struct xconn *c, struct pack *w)
{
	const struct kraken *k = c->priv;

	pack_str(w, k->trades.cursor);
	pack_str(w, k->deposits.cursor);
	pack_str(w, k->withdrawals.cursor);
	pack_u64(w, k->nfills);
	pack_u32(w, (uint32_t)k->nohlc);
	for (size_t i = 0; i < k->nohlc; i++)
		pack_str(w, k->ohlc[i].name);
	return 0;
}

static int
kraken_load(struct xconn *c, struct unpack *r, const char **errstr)
{
	struct kraken *k = c->priv;
	size_t n;

	unpack_str(r, k->trades.cursor, sizeof(k->trades.cursor));
	unpack_str(r, k->deposits.cursor, sizeof(k->deposits.cursor));
	unpack_str(r, k->withdrawals.cursor, sizeof(k->withdrawals.cursor));
	k->nfills = unpack_u64(r);
	n = unpack_count(r, 4 + 1, OHLC_MAX);
	memset(k->ohlc, 0, sizeof(k->ohlc));
	for (size_t i = 0; i < n && unpack_ok(r); i++) {
		xunpack_name(r, k->ohlc[i].name, sizeof(k->ohlc[i].name));
		for (size_t j = 0; j < i; j++)
			if (strcmp(k->ohlc[j].name, k->ohlc[i].name) == 0) {
				*errstr = "kraken checkpoint: a pair twice";
				return -1;
			}
	}
	if (!unpack_ok(r))
		return -1;
	/* open() puts the benchmark first; nothing removes it */
	if (n == 0 || strcmp(k->ohlc[0].name, BENCHMARK) != 0) {
		*errstr = "kraken checkpoint: the benchmark's closes are not the first";
		return -1;
	}
	k->nohlc = n;
	return 0;
}

static size_t
kraken_pools(const struct xconn *c, struct xpool out[XPOOL_MAX])
{
	out[POOL_COUNTER] = (struct xpool){ "counter", true, tiers[c->conf.tier].max, tiers[c->conf.tier].decay };
	out[POOL_PUBLIC] = (struct xpool){ "public", false, 0, 0 };
	return 2;
}

const struct exchange_ops exchange_kraken = {
	.name = "kraken",
	.passphrase = true,
	.prod_url = { "https://api.kraken.com", NULL, NULL },
	/* Kraken has no public spot sandbox. */
	.sandbox_url = { NULL, NULL, NULL },
	.ascending = false,
	.open = kraken_open,
	.close = kraken_close,
	.begin = kraken_begin,
	.next = kraken_next,
	.handle = kraken_handle,
	.pools = kraken_pools,
	.skip = kraken_skip,
	.tiers = tier_names,
	.save = kraken_save,
	.load = kraken_load,
};
