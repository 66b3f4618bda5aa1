/*
 * conn_coinbase: Coinbase Advanced Trade (API v3), spot only.
 *
 * A cycle:
 *  1. validation, first cycle only: GET /api/v3/brokerage/key_permissions
 *     (can_view, can_trade, can_transfer -> sink->permissions). Where the
 *     server has no such endpoint (404), the accounts request below is the
 *     validation and no permissions are reported.
 *  2. balances: GET /api/v3/brokerage/accounts?limit=250, cursor pages while
 *     has_next; total = available_balance + hold, summed per currency over
 *     all pages and reported once the walk is complete.
 *  3. fills: GET /api/v3/brokerage/orders/historical/fills?limit=250, opaque
 *     cursor pages until the cursor is "" (newest first: ascending = false,
 *     the poller sorts). The first complete walk is the backfill (from
 *     conf.backfill_from_ms as start_sequence_timestamp, else everything);
 *     later walks send start_sequence_timestamp = the newest
 *     sequence_timestamp of all earlier walks. That bound is inclusive, so
 *     the newest fills come again each cycle: identical (timestamp, id)
 *     pairs the ledger ignores; nothing between walks is skipped. The bound
 *     only moves when a walk completes, so a cycle that fails half way
 *     leaves no gap.
 *  4. daily closes: GET /api/v3/brokerage/market/products/{id}/candles
 *     (public, unsigned) with granularity=ONE_DAY for every product seen in
 *     the fills, <currency>-USD of every currency held (to value the
 *     balance) and BTC-USD as the benchmark, from the product's first fill
 *     day (the account's first for the others), 300 days per request (the
 *     API refuses 350 or more). A completed day is fetched once; the running
 *     day's candle (its close so far, what today is valued at) at most
 *     hourly.
 *
 * Parsing follows ccxt's coinbase parseTrade for v3 fills: id = trade_id,
 * order = order_id, timestamp = trade_time truncated to ms, BTC-USD ->
 * BTC/USD, side BUY/SELL, takerOrMaker from liquidity_indicator (anything
 * but MAKER/TAKER -> unknown), fee = commission in the quote currency. A
 * size_in_quote fill's size is the quote amount: cost = size and amount =
 * size / price, rounded half-even at 18 places by dec_div (ccxt's
 * Precise.stringDiv truncates at 18: the two differ by at most 1e-18).
 * Products that are not BASE-QUOTE spot pairs (INTX perpetuals
 * "BTC-PERP-INTX", futures "BIT-28JUL23-CDE") are skipped and counted in
 * the progress text: this connector is spot only.
 *
 * Deposits and withdrawals are not in the Advanced Trade API (they are in
 * the v2 Coinbase App API, with other keys): this connector reports no
 * flows, so time-weighted returns for a Coinbase account treat it as closed
 * to flows unless flows are supplied another way.
 *
 * Errors: 401 (plain-text "Unauthorized": bad, expired or misdirected JWT)
 * and 403 (missing scopes) -> XR_AUTH; 429 -> XR_RATE_LIMITED with
 * Retry-After, else x-ratelimit-reset; 5xx, transport failures and
 * truncated or malformed bodies -> XR_RETRY; other 4xx -> XR_FATAL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exchange/exchange.h"
#include "exchange/sign_coinbase.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define API "/api/v3/brokerage"
#define PAGE_LIMIT "250"
#define DAY_MS 86400000LL
#define CANDLE_DAYS 300
#define SEQ_MAX 48
#define PRODUCT_MAX 32
#define BENCHMARK "BTC-USD"
#define TODAY_EVERY_MS 3600000LL
#define HELD_MAX 32

enum step { ST_PERMS, ST_ACCOUNTS, ST_FILLS, ST_CANDLES, ST_DONE };

struct product {
	char id[PRODUCT_MAX];		/* "BTC-USD" */
	char symbol[FILL_SYMBOL_MAX];	/* "BTC/USD" */
	int64_t next_day_ms;		/* first UTC day whose close is not fetched yet */
	int64_t today_at_ms;		/* when the running day's candle was last fetched */
};

struct balance {
	char currency[FILL_CUR_MAX];
	struct dec total;
};

struct cb {
	enum step step;
	char host[XCONN_URL_MAX];	/* authority of the base URL, for the JWT uri */
	char prefix[XCONN_URL_MAX];	/* path of the base URL, usually "" */
	char *cursor;			/* page cursor of the walk in progress, NULL on its first page */
	/* fills: committed bound (walks done) and the newest seen in this walk */
	char seq[SEQ_MAX];		/* "" before the first complete walk */
	int64_t seq_ns;
	char walk_seq[SEQ_MAX];
	int64_t walk_seq_ns;
	uint64_t walk_fills, skipped;
	struct product *products;
	size_t nproducts, candle_i;
	struct balance *bals;
	size_t nbals;
	int64_t today_ms;
	int64_t now_ms;			/* cycle start */
	int64_t first_day_ms;		/* the account's first fill day, 0 = none */
	char held[HELD_MAX][FILL_CUR_MAX];	/* currencies with a balance, last read */
	size_t nheld;
};

/* ---- small parsing helpers ---- */

static const char *
jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
jdec(const json_t *o, const char *key, struct dec *out)
{
	const char *s = jstr(o, key), *err;

	return s != NULL && dec_parse(s, strlen(s), out, &err) == 0 ? 0 : -1;
}

/* RFC 3339 UTC with up to 9 fractional digits -> ns, for ordering the
 * sequence cursor exactly (text comparison fails on ".5Z" vs ".507Z"). */
static int
rfc3339_ns(const char *s, int64_t *ns)
{
	size_t len = strlen(s), i = 19, nd = 0;
	int64_t frac = 0, ms;
	char whole[32];

	if (len < 20 || len > SEQ_MAX - 1)
		return -1;
	if (s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++)
			if (nd < 9)
				frac = frac * 10 + (s[i] - '0');
		if (nd == 0)
			return -1;
		for (size_t k = nd; k < 9; k++)
			frac *= 10;
	}
	/* the whole seconds and the zone, without the fraction */
	snprintf(whole, sizeof(whole), "%.19s%s", s, s + i);
	if (time_parse_iso(whole, strlen(whole), &ms) != 0)
		return -1;
	*ns = ms * 1000000 + frac;
	return 0;
}

static int64_t
day_of(int64_t ms)
{
	return (ms >= 0 ? ms / DAY_MS : (ms - DAY_MS + 1) / DAY_MS) * DAY_MS;
}

/* "BTC-USD" -> "BTC/USD"; -1 for anything but one dash between two codes. */
static int
spot_symbol(const char *product, char sym[FILL_SYMBOL_MAX])
{
	const char *dash = strchr(product, '-');
	size_t len = strlen(product);

	if (dash == NULL || dash == product || dash[1] == '\0' || strchr(dash + 1, '-') != NULL ||
	    len >= PRODUCT_MAX)
		return -1;
	snprintf(sym, FILL_SYMBOL_MAX, "%.*s/%s", (int)(dash - product), product, dash + 1);
	return 0;
}

static struct product *
product_get(struct cb *p, const char *id, int64_t ts_ms)
{
	struct product *pr;

	for (size_t i = 0; i < p->nproducts; i++)
		if (strcmp(p->products[i].id, id) == 0) {
			pr = &p->products[i];
			if (day_of(ts_ms) < pr->next_day_ms)
				pr->next_day_ms = day_of(ts_ms);
			return pr;
		}
	p->products = xreallocarray(p->products, p->nproducts + 1, sizeof(*p->products));
	pr = &p->products[p->nproducts++];
	memset(pr, 0, sizeof(*pr));
	snprintf(pr->id, sizeof(pr->id), "%s", id);
	if (spot_symbol(id, pr->symbol) != 0)
		fatalx("conn_coinbase: product %s is not spot", id);
	pr->next_day_ms = day_of(ts_ms);
	return pr;
}

/* ---- requests ---- */

static int
signed_get(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char *path,
    const char *query, int tag, const char **errstr)
{
	struct cb *p = c->priv;
	char *full = xasprintf("%s%s", p->prefix, path), *jwt, *auth;

	jwt = sign_coinbase_jwt(cred->api_key, cred->secret, cred->secret_len, "GET", p->host, full, now_ms / 1000,
	    NULL, errstr);
	free(full);
	if (jwt == NULL)
		return -1;
	xreq_set(req, "GET", c->base_url, path, query);
	auth = xasprintf("Bearer %s", jwt);
	xreq_header(req, "Authorization", auth);
	xreq_header(req, "Content-Type", "application/json");
	free(auth);
	free(jwt);
	req->tag = tag;
	return 1;
}

/* "limit=250[&start_sequence_timestamp=..][&cursor=..]" */
static char *
page_query(const struct cb *p, const char *start)
{
	char *q = xstrdup("limit=" PAGE_LIMIT), *e, *t;

	if (start != NULL && *start != '\0') {
		e = xurl_encode(start, strlen(start));
		t = xasprintf("%s&start_sequence_timestamp=%s", q, e);
		free(e);
		free(q);
		q = t;
	}
	if (p->cursor != NULL) {
		e = xurl_encode(p->cursor, strlen(p->cursor));
		t = xasprintf("%s&cursor=%s", q, e);
		free(e);
		free(q);
		q = t;
	}
	return q;
}

/* The benchmark and the <currency>-USD product of every currency held, from
 * the account's first fill day. */
static void
add_valuation_products(struct cb *p)
{
	char id[PRODUCT_MAX], sym[FILL_SYMBOL_MAX];
	bool has_bench = false;

	for (size_t i = 0; i < p->nproducts; i++) {
		has_bench = has_bench || strcmp(p->products[i].id, BENCHMARK) == 0;
		if (p->first_day_ms == 0 || p->products[i].next_day_ms < p->first_day_ms)
			p->first_day_ms = p->products[i].next_day_ms;
	}
	if (p->nproducts == 0)
		return;
	if (!has_bench)
		product_get(p, BENCHMARK, p->first_day_ms);
	for (size_t i = 0; i < p->nheld; i++) {
		bool known = false;
		snprintf(id, sizeof(id), "%s-USD", p->held[i]);
		for (size_t j = 0; j < p->nproducts && !known; j++)
			known = strcmp(p->products[j].id, id) == 0;
		/* a currency code with a dash names no spot product */
		if (!known && strcmp(p->held[i], "USD") != 0 && spot_symbol(id, sym) == 0)
			product_get(p, id, p->first_day_ms);
	}
}

static int
cb_next(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char **errstr)
{
	struct cb *p = c->priv;
	char *q, iso[TIME_ISO_LEN];
	const char *start;
	int rc;

	switch (p->step) {
	case ST_PERMS:
		return signed_get(c, cred, now_ms, req, API "/key_permissions", NULL, ST_PERMS, errstr);
	case ST_ACCOUNTS:
		q = page_query(p, NULL);
		rc = signed_get(c, cred, now_ms, req, API "/accounts", q, ST_ACCOUNTS, errstr);
		free(q);
		return rc;
	case ST_FILLS:
		start = p->seq;
		if (*start == '\0' && c->conf.backfill_from_ms > 0) {
			time_format_iso_ms(iso, c->conf.backfill_from_ms);
			start = iso;
		}
		q = page_query(p, start);
		rc = signed_get(c, cred, now_ms, req, API "/orders/historical/fills", q, ST_FILLS, errstr);
		free(q);
		return rc;
	case ST_CANDLES:
		while (p->candle_i < p->nproducts && (p->products[p->candle_i].next_day_ms > p->today_ms ||
		    (p->products[p->candle_i].next_day_ms == p->today_ms &&
		    p->now_ms - p->products[p->candle_i].today_at_ms < TODAY_EVERY_MS)))
			p->candle_i++;
		if (p->candle_i == p->nproducts) {
			p->step = ST_DONE;
			return 0;
		} else {
			const struct product *pr = &p->products[p->candle_i];
			int64_t end = pr->next_day_ms + CANDLE_DAYS * DAY_MS;
			char *path = xasprintf(API "/market/products/%s/candles", pr->id);

			if (end > p->today_ms + DAY_MS)
				end = p->today_ms + DAY_MS;
			/* end is the last second of the last day asked: today's candle is the running one */
			q = xasprintf("start=%lld&end=%lld&granularity=ONE_DAY", (long long)(pr->next_day_ms / 1000),
			    (long long)(end / 1000 - 1));
			xreq_set(req, "GET", c->base_url, path, q);
			req->tag = ST_CANDLES;
			free(path);
			free(q);
			return 1;
		}
	case ST_DONE:
		return 0;
	}
	return 0;
}

/* ---- responses ---- */

static void
cb_error(struct xoutcome *out, enum xresult r, long status, const struct xresp *resp)
{
	json_t *o = json_loadb(resp->body, resp->body_len, 0, NULL);
	const char *code = o != NULL ? jstr(o, "error") : NULL, *msg = o != NULL ? jstr(o, "message") : NULL;

	if (code != NULL || msg != NULL)
		xoutcome_error(out, r, "coinbase HTTP %ld %s: %s", status, code ? code : "", msg ? msg : "");
	else
		xoutcome_error(out, r, "coinbase HTTP %ld: %.80s", status, resp->body_len ? resp->body : "(empty)");
	json_decref(o);
}

static int64_t
retry_after_ms(const struct xresp *resp)
{
	const char *h = resp->header(resp, "Retry-After");
	long long v;

	if (h != NULL && (v = strtoll(h, NULL, 10)) > 0)
		return v * 1000;
	/* x-ratelimit-reset: seconds to wait, or (when it looks like a UNIX
	 * time) the second the window resets. */
	if ((h = resp->header(resp, "x-ratelimit-reset")) != NULL && (v = strtoll(h, NULL, 10)) > 0) {
		if (v > 1000000000LL)
			return v * 1000 > resp->now_ms ? v * 1000 - resp->now_ms : 0;
		return v * 1000;
	}
	return 0;
}

static int
handle_perms(struct xconn *c, const json_t *o, const struct xsink *sink, struct xoutcome *out)
{
	struct cb *p = c->priv;
	const json_t *view = json_object_get(o, "can_view"), *trade = json_object_get(o, "can_trade");
	const json_t *transfer = json_object_get(o, "can_transfer");

	if (!json_is_boolean(view) || !json_is_boolean(trade) || !json_is_boolean(transfer))
		return -1;
	if (!json_is_true(view)) {
		xoutcome_error(out, XR_AUTH, "coinbase: the key lacks the view permission");
		return 0;
	}
	c->validated = true;
	p->step = ST_ACCOUNTS;
	if (sink->permissions != NULL && sink->permissions(sink->arg, json_is_true(trade), json_is_true(transfer)) != 0)
		xoutcome_error(out, XR_FATAL, "coinbase: sink refused permissions");
	return 0;
}

static int
add_balance(struct cb *p, const char *cur, struct dec amount)
{
	size_t i;

	if (strlen(cur) == 0 || strlen(cur) >= FILL_CUR_MAX)
		return -1;
	for (i = 0; i < p->nbals; i++)
		if (strcmp(p->bals[i].currency, cur) == 0)
			return dec_add(&p->bals[i].total, p->bals[i].total, amount);
	p->bals = xreallocarray(p->bals, p->nbals + 1, sizeof(*p->bals));
	snprintf(p->bals[p->nbals].currency, FILL_CUR_MAX, "%s", cur);
	p->bals[p->nbals++].total = amount;
	return 0;
}

static void
set_cursor(struct cb *p, const char *cursor)
{
	free(p->cursor);
	p->cursor = cursor != NULL ? xstrdup(cursor) : NULL;
}

static int
handle_accounts(struct xconn *c, const json_t *o, const struct xsink *sink, struct xoutcome *out)
{
	struct cb *p = c->priv;
	const json_t *accts = json_object_get(o, "accounts"), *a, *has_next = json_object_get(o, "has_next");
	const char *cursor = jstr(o, "cursor");
	struct dec avail, hold, total;
	size_t i;

	if (!json_is_array(accts) || !json_is_boolean(has_next))
		return -1;
	json_array_foreach(accts, i, a) {
		const char *cur = jstr(a, "currency");
		if (cur == NULL || jdec(json_object_get(a, "available_balance"), "value", &avail) != 0 ||
		    jdec(json_object_get(a, "hold"), "value", &hold) != 0 || dec_add(&total, avail, hold) != 0 ||
		    add_balance(p, cur, total) != 0)
			return -1;
	}
	c->validated = true;
	if (json_is_true(has_next)) {
		if (cursor == NULL || *cursor == '\0' || (p->cursor != NULL && strcmp(cursor, p->cursor) == 0)) {
			xoutcome_error(out, XR_FATAL, "coinbase accounts: has_next without a new cursor");
			return 0;
		}
		set_cursor(p, cursor);
		return 0;
	}
	p->nheld = 0;
	for (i = 0; i < p->nbals; i++)
		if (!dec_is_zero(p->bals[i].total) && p->nheld < HELD_MAX &&
		    strlen(p->bals[i].currency) + 5 <= PRODUCT_MAX)
			snprintf(p->held[p->nheld++], FILL_CUR_MAX, "%s", p->bals[i].currency);
	for (i = 0; i < p->nbals; i++)
		if (sink->balance != NULL && sink->balance(sink->arg, p->bals[i].currency, p->bals[i].total) != 0) {
			xoutcome_error(out, XR_FATAL, "coinbase: sink refused a balance");
			return 0;
		}
	free(p->bals);
	p->bals = NULL;
	p->nbals = 0;
	set_cursor(p, NULL);
	p->step = ST_FILLS;
	return 0;
}

/* Parses one v3 fill. Returns 0, 1 for a non-spot product (skipped), or -1
 * with *field naming what is wrong. *seq_ns gets its sequence position. */
static int
parse_fill(const json_t *o, struct fill *f, const char **seq, int64_t *seq_ns, const char **field)
{
	const char *id = jstr(o, "trade_id"), *order = jstr(o, "order_id"), *tt = jstr(o, "trade_time");
	const char *product = jstr(o, "product_id"), *side = jstr(o, "side"), *liq = jstr(o, "liquidity_indicator");
	const json_t *inquote = json_object_get(o, "size_in_quote");
	char sym[FILL_SYMBOL_MAX];
	struct dec size, fee;
	const char *err;

	memset(f, 0, sizeof(*f));
	*field = "product_id";
	if (product == NULL)
		return -1;
	if (spot_symbol(product, sym) != 0)
		return 1;
	if (fill_set_symbol(f, sym, strlen(sym), &err) != 0)
		return -1;
	*field = "trade_id";
	if (id == NULL || *id == '\0' || strlen(id) >= FILL_ID_MAX)
		return -1;
	memcpy(f->id, id, strlen(id) + 1);
	*field = "order_id";
	if (order != NULL) {
		if (strlen(order) >= FILL_ID_MAX)
			return -1;
		memcpy(f->order, order, strlen(order) + 1);
	}
	*field = "trade_time";
	if (tt == NULL || time_parse_iso(tt, strlen(tt), &f->timestamp) != 0)
		return -1;
	*field = "sequence_timestamp";
	if ((*seq = jstr(o, "sequence_timestamp")) == NULL)
		*seq = tt;
	if (rfc3339_ns(*seq, seq_ns) != 0)
		return -1;
	*field = "side";
	if (side != NULL && strcmp(side, "BUY") == 0)
		f->side = FILL_BUY;
	else if (side != NULL && strcmp(side, "SELL") == 0)
		f->side = FILL_SELL;
	else
		return -1;
	f->role = liq == NULL ? FILL_ROLE_UNKNOWN : strcmp(liq, "MAKER") == 0 ? FILL_MAKER :
	    strcmp(liq, "TAKER") == 0 ? FILL_TAKER : FILL_ROLE_UNKNOWN;
	*field = "price";
	if (jdec(o, "price", &f->price) != 0 || dec_sign(f->price) < 0)
		return -1;
	*field = "size";
	if (jdec(o, "size", &size) != 0 || dec_sign(size) <= 0)
		return -1;
	*field = "size_in_quote";
	if (inquote != NULL && !json_is_boolean(inquote) && !json_is_null(inquote))
		return -1;
	if (json_is_true(inquote)) {
		/* size is the quote amount (ccxt/ccxt#19931) */
		f->cost = size;
		f->has_cost = true;
		if (dec_div(&f->amount, size, f->price) != 0 || dec_sign(f->amount) <= 0)
			return -1;
	} else
		f->amount = size;
	*field = "commission";
	if (jdec(o, "commission", &fee) != 0 || fill_add_fee(f, fee, f->quote, &err) != 0)
		return -1;
	f->market = FILL_SPOT;
	return 0;
}

static int
handle_fills(struct xconn *c, const json_t *o, const struct xsink *sink, struct xoutcome *out)
{
	struct cb *p = c->priv;
	const json_t *fills = json_object_get(o, "fills"), *x;
	const char *cursor = jstr(o, "cursor"), *field, *seq;
	struct fill f;
	int64_t ns;
	size_t i;
	int rc;

	if (!json_is_array(fills))
		return -1;
	json_array_foreach(fills, i, x) {
		if (!json_is_object(x))
			return -1;
		if ((rc = parse_fill(x, &f, &seq, &ns, &field)) < 0) {
			/* A well-formed page with an unusable fill will not get
			 * better on retry: stop and say which. */
			xoutcome_error(out, XR_FATAL, "coinbase fill %.60s: bad %s", jstr(x, "trade_id") ? jstr(x, "trade_id") :
			    "?", field);
			return 0;
		}
		if (rc == 1) {
			p->skipped++;
			continue;
		}
		if (sink->fill != NULL && sink->fill(sink->arg, &f) != 0) {
			xoutcome_error(out, XR_FATAL, "coinbase: sink refused a fill");
			return 0;
		}
		product_get(p, jstr(x, "product_id"), f.timestamp);
		if (*p->walk_seq == '\0' || ns > p->walk_seq_ns) {
			snprintf(p->walk_seq, sizeof(p->walk_seq), "%s", seq);
			p->walk_seq_ns = ns;
		}
		p->walk_fills++;
	}
	if (cursor != NULL && *cursor != '\0' && json_array_size(fills) > 0) {
		if (p->cursor != NULL && strcmp(cursor, p->cursor) == 0) {
			xoutcome_error(out, XR_FATAL, "coinbase fills: the cursor did not advance");
			return 0;
		}
		set_cursor(p, cursor);
		snprintf(c->progress, sizeof(c->progress), "fills: %llu%s", (unsigned long long)p->walk_fills,
		    c->backfill_done ? "" : " (backfill)");
		return 0;
	}
	/* The walk is complete: move the bound. */
	if (*p->walk_seq != '\0' && (*p->seq == '\0' || p->walk_seq_ns > p->seq_ns)) {
		memcpy(p->seq, p->walk_seq, sizeof(p->seq));
		p->seq_ns = p->walk_seq_ns;
	}
	c->backfill_done = true;
	snprintf(c->progress, sizeof(c->progress), "fills: %llu this cycle; %llu non-spot skipped",
	    (unsigned long long)p->walk_fills, (unsigned long long)p->skipped);
	set_cursor(p, NULL);
	add_valuation_products(p);
	p->step = ST_CANDLES;
	return 0;
}

static int
handle_candles(struct xconn *c, const json_t *o, const struct xsink *sink, struct xoutcome *out)
{
	struct cb *p = c->priv;
	struct product *pr = &p->products[p->candle_i];
	const json_t *candles = json_object_get(o, "candles"), *x;
	int64_t end = pr->next_day_ms + CANDLE_DAYS * DAY_MS;
	struct dec close;
	size_t i;

	if (end > p->today_ms + DAY_MS)
		end = p->today_ms + DAY_MS;
	if (!json_is_array(candles))
		return -1;
	json_array_foreach(candles, i, x) {
		const char *st = jstr(x, "start");
		char *ep;
		long long s;

		if (st == NULL || (s = strtoll(st, &ep, 10), *ep != '\0' || ep == st) || jdec(x, "close", &close) != 0)
			return -1;
		/* Only whole completed days of the window asked for. */
		if (s * 1000 < pr->next_day_ms || s * 1000 >= end || s * 1000 % DAY_MS != 0)
			continue;
		if (sink->price != NULL && sink->price(sink->arg, pr->symbol, s * 1000, close) != 0) {
			xoutcome_error(out, XR_FATAL, "coinbase: sink refused a price");
			return 0;
		}
	}
	/* Completed days are done; the running day is asked again later. */
	if (end > p->today_ms) {
		end = p->today_ms;
		pr->today_at_ms = p->now_ms;
	}
	pr->next_day_ms = end;
	return 0;
}

static void
cb_handle(struct xconn *c, const struct xreq *req, const struct xresp *resp, const struct xsink *sink,
    struct xoutcome *out)
{
	struct cb *p = c->priv;
	json_t *o;
	const char *err;
	int line, rc = -1;

	memset(out, 0, sizeof(*out));
	out->result = XR_OK;
	if (resp->status == 0) {
		xoutcome_error(out, XR_RETRY, "coinbase: transport failure");
		return;
	}
	if (resp->status >= 500) {
		cb_error(out, XR_RETRY, resp->status, resp);
		return;
	}
	if (resp->status == 429) {
		cb_error(out, XR_RATE_LIMITED, resp->status, resp);
		out->retry_after_ms = retry_after_ms(resp);
		return;
	}
	if (resp->status == 401 || resp->status == 403) {
		cb_error(out, XR_AUTH, resp->status, resp);
		return;
	}
	if (resp->status == 404 && req->tag == ST_PERMS) {
		/* No key_permissions here: the accounts request validates. */
		p->step = ST_ACCOUNTS;
		return;
	}
	if (resp->status == 404 && req->tag == ST_CANDLES) {
		/* Unknown or delisted product: no closes for it, go on. */
		p->products[p->candle_i].next_day_ms = p->today_ms;
		return;
	}
	if (resp->status != 200) {
		cb_error(out, XR_FATAL, resp->status, resp);
		return;
	}
	if ((o = fill_json_loads(resp->body, resp->body_len, &line, &err)) == NULL || !json_is_object(o)) {
		json_decref(o);
		xoutcome_error(out, XR_RETRY, "coinbase: malformed response body");
		return;
	}
	switch (req->tag) {
	case ST_PERMS:
		rc = handle_perms(c, o, sink, out);
		break;
	case ST_ACCOUNTS:
		rc = handle_accounts(c, o, sink, out);
		break;
	case ST_FILLS:
		rc = handle_fills(c, o, sink, out);
		break;
	case ST_CANDLES:
		rc = handle_candles(c, o, sink, out);
		break;
	default:
		fatalx("conn_coinbase: response to unknown step %d", req->tag);
	}
	json_decref(o);
	if (rc != 0)
		xoutcome_error(out, XR_RETRY, "coinbase: unexpected response shape");
}

static void
cb_begin(struct xconn *c, int64_t now_ms)
{
	struct cb *p = c->priv;

	p->step = c->validated ? ST_ACCOUNTS : ST_PERMS;
	set_cursor(p, NULL);
	free(p->bals);
	p->bals = NULL;
	p->nbals = 0;
	p->walk_seq[0] = '\0';
	p->walk_fills = 0;
	p->candle_i = 0;
	p->today_ms = day_of(now_ms);
	p->now_ms = now_ms;
}

static int
cb_open(struct xconn *c, const char **errstr)
{
	struct cb *p;
	const char *auth, *slash;

	if (c->conf.market != FILL_SPOT) {
		*errstr = "coinbase: only spot accounts (Advanced Trade) are supported, not futures or margin";
		return -1;
	}
	c->caveat[XPART_FLOWS] = "Coinbase Advanced Trade reports no deposits or withdrawals: transfers count as "
	    "returns";
	if ((auth = strstr(c->base_url, "://")) == NULL || auth[3] == '\0') {
		*errstr = "coinbase: base URL has no host";
		return -1;
	}
	auth += 3;
	slash = strchr(auth, '/');
	p = xcalloc(1, sizeof(*p));
	/* The JWT names host and path as the server sees them. */
	snprintf(p->host, sizeof(p->host), "%.*s", (int)(slash ? (size_t)(slash - auth) : strlen(auth)), auth);
	snprintf(p->prefix, sizeof(p->prefix), "%s", slash ? slash : "");
	c->priv = p;
	return 0;
}

static void
cb_close(struct xconn *c)
{
	struct cb *p = c->priv;

	if (p == NULL)
		return;
	free(p->cursor);
	free(p->products);
	free(p->bals);
	free(p);
	c->priv = NULL;
}

/* Coinbase: 30 private requests per second per key. */
static size_t
cb_pools(const struct xconn *c, struct xpool out[XPOOL_MAX])
{
	(void)c;
	out[0] = (struct xpool){ "private", true, 30, 30 };
	return 1;
}

const struct exchange_ops exchange_coinbase = {
	.name = "coinbase",
	.passphrase = true,
	.prod_url = { "https://api.coinbase.com", NULL, NULL },
	.sandbox_url = { "https://api-sandbox.coinbase.com", NULL, NULL },
	.ascending = false,
	.open = cb_open,
	.close = cb_close,
	.begin = cb_begin,
	.next = cb_next,
	.handle = cb_handle,
	.pools = cb_pools,
};
