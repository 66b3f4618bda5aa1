/*
 * Kraken Spot connector (exchanges.md section 6).
 *
 * A cycle: AssetPairs (public, cached for a day), BalanceEx (validates the
 * key, balances), TradesHistory walked by ofs, Ledgers of type deposit and
 * withdrawal walked the same way, then daily OHLC of the pairs traded, of
 * the <currency>/USD pair of every currency held (to value the balance)
 * and of the BTC/USD benchmark (public, at most hourly per pair).
 *
 * Kraken returns 50 rows a page, newest first, with the total in count.
 * A walk advances ofs by the rows of a page that were new to it until ofs
 * reaches count. Rows arriving during a walk push older rows to higher
 * offsets, so a walk may see a row twice; advancing by the new rows only
 * (not by 50) means a page that starts early, for whatever reason, costs a
 * few repeated rows and never skips one. Rows are deduplicated by their
 * time: anything newer than the oldest row emitted in this walk was
 * emitted already (and rows at exactly that time by id). The
 * next cycle starts after the newest row of the completed walk (start = its
 * id, exclusive), which picks up whatever arrived meanwhile.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fill.h"
#include "exchange/exchange.h"
#include "exchange/kraken_pairs.h"
#include "exchange/sign_kraken.h"
#include "util/xalloc.h"

#define PAGE 50
#define ID_MAX 40
#define OHLC_MAX 64
#define PAIRS_TTL_MS (24 * 3600 * 1000LL)
#define OHLC_EVERY_MS (3600 * 1000LL)
/* Starter tier: the counter is capped at 15 and decays by 0.33 per second. */
#define COUNTER_MAX 15.0
#define COUNTER_DECAY 0.33
#define BENCHMARK "XBTUSD"

enum step { ST_PAIRS, ST_BALANCE, ST_TRADES, ST_DEPOSITS, ST_WITHDRAWALS, ST_OHLC, ST_DONE };

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
	k = xcalloc(1, sizeof(*k));
	k->pairs = kraken_pairs_new();
	snprintf(k->ohlc[0].name, sizeof(k->ohlc[0].name), "%s", BENCHMARK);
	k->nohlc = 1;
	c->priv = k;
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

	k->step = k->pairs_at_ms == 0 || now_ms - k->pairs_at_ms >= PAIRS_TTL_MS ? ST_PAIRS : ST_BALANCE;
	walk_reset(&k->trades);
	walk_reset(&k->deposits);
	walk_reset(&k->withdrawals);
	k->ohlc_i = 0;
}

/* Decays the counter estimate to now. */
static void
counter_at(struct kraken *k, int64_t now_ms)
{
	if (k->counter_at_ms != 0 && now_ms > k->counter_at_ms) {
		k->counter -= (double)(now_ms - k->counter_at_ms) / 1000.0 * COUNTER_DECAY;
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
		counter_at(k, now_ms);
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
			return 1;
		case ST_BALANCE:
			if (private_req(c, cred, now_ms, req, "/0/private/BalanceEx", "", 1, errstr) == -1)
				return -1;
			req->tag = ST_BALANCE;
			return 1;
		case ST_TRADES:
			walk_params(c, &k->trades, NULL, params, sizeof(params));
			if (private_req(c, cred, now_ms, req, "/0/private/TradesHistory", params, 2, errstr) == -1)
				return -1;
			req->tag = ST_TRADES;
			return 1;
		case ST_DEPOSITS:
		case ST_WITHDRAWALS:
			walk_params(c, k->step == ST_DEPOSITS ? &k->deposits : &k->withdrawals,
			    k->step == ST_DEPOSITS ? "deposit" : "withdrawal", params, sizeof(params));
			if (private_req(c, cred, now_ms, req, "/0/private/Ledgers", params, 2, errstr) == -1)
				return -1;
			req->tag = k->step;
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

/* After a page of nrows rows out of count: true when the walk is complete
 * (and the cursor moves to its newest row). */
static bool
walk_page(struct walk *w, size_t nrows, size_t nnew, uint64_t count)
{
	/* A page of nothing but repeats: the account traded a page's worth
	 * since the last call; the offsets moved by at least that much. */
	w->ofs += nnew > 0 ? nnew : nrows;
	if (nrows > 0 && w->ofs < count)
		return false;
	if (w->top[0] != '\0')
		memcpy(w->cursor, w->top, sizeof(w->cursor));
	return true;
}

static void
note_pair(struct kraken *k, const char *name)
{
	for (size_t i = 0; i < k->nohlc; i++)
		if (strcmp(k->ohlc[i].name, name) == 0)
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
	/* one request per pair, whichever of its names noted it first */
	for (size_t i = 0; i < k->nohlc; i++) {
		struct kraken_pair o;
		const char *why;
		if (kraken_pairs_resolve(k->pairs, k->ohlc[i].name, &o, &why) == 0 && strcmp(o.id, kp->id) == 0)
			return;
	}
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
	if (walk_page(&k->trades, n, nnew, count)) {
		k->step = ST_DEPOSITS;
		c->backfill_done = true;
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
	if (walk_page(w, n, nnew, count))
		k->step = k->step == ST_DEPOSITS ? ST_WITHDRAWALS : ST_OHLC;
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
	c->validated = true;
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
	if (!k->perms_reported) {
		/* Kraken has no endpoint that reports a key's permissions:
		 * both are reported false and the progress says unknown. */
		if (sink->permissions != NULL && sink->permissions(sink->arg, false, false) == -1) {
			xoutcome_error(out, XR_FATAL, "sink refused permissions");
			return;
		}
		k->perms_reported = true;
		snprintf(c->progress, sizeof(c->progress), "key permissions unknown (Kraken does not report them)");
	}
	k->step = ST_TRADES;
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

/* Maps Kraken's error strings (ccxt kraken.js exceptions). */
static void
map_error(struct xconn *c, const struct xreq *req, const char *e, int64_t now_ms, struct xoutcome *out)
{
	struct kraken *k = c->priv;
	const char *th;

	if (strcmp(e, "EAPI:Invalid key") == 0 || strcmp(e, "EAPI:Invalid signature") == 0 ||
	    strcmp(e, "EGeneral:Permission denied") == 0 || strcmp(e, "ESession:Invalid session") == 0) {
		xoutcome_error(out, XR_AUTH, "kraken: %s", e);
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
		counter_at(k, now_ms);
		k->counter = COUNTER_MAX;
		out->retry_after_ms = (int64_t)((double)(req->weight > 0 ? req->weight : 1) * 1000.0 / COUNTER_DECAY) + 1;
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
		k->step = ST_BALANCE;
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

/* Kraken: decaying counter, Starter tier: max 15, -0.33/s; history calls cost 2. */
static size_t
kraken_pools(const struct xconn *c, struct xpool out[XPOOL_MAX])
{
	(void)c;
	out[0] = (struct xpool){ "counter", true, 15, 0.33 };
	return 1;
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
};
