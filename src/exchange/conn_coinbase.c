/*
 * conn_coinbase: Coinbase Advanced Trade (API v3), spot only.
 *
 * A cycle:
 *  0. clock: GET /api/v3/brokerage/time (public, unsigned) at the first
 *     cycle, then hourly, and again after a 401 (below). The JWTs' nbf/exp
 *     come from the exchange's clock (c->clock_offset_ms = server - local,
 *     the server having stamped its time about half way through the round
 *     trip): a local clock that is off by more than the exchange's skew
 *     allowance otherwise gets every request refused with 401. A server
 *     without the endpoint (404) leaves the offset as it is.
 *  1. validation, first cycle only: GET /api/v3/brokerage/key_permissions
 *     (can_view, can_trade, can_transfer -> sink->permissions). Where the
 *     server has no such endpoint (404) or the key may not read it (403),
 *     the fills request below is the validation and no permissions are
 *     reported (the latter is a degraded part).
 *  2. fills: GET /api/v3/brokerage/orders/historical/fills?limit=250, opaque
 *     cursor pages until the cursor is "" (newest first: ascending = false,
 *     the poller sorts). The first complete walk is the backfill (from
 *     conf.backfill_from_ms as start_sequence_timestamp, else everything);
 *     later walks send start_sequence_timestamp = the newest
 *     sequence_timestamp of all earlier walks. That bound is inclusive, so
 *     the newest fills come again each cycle: identical (timestamp, id)
 *     pairs the ledger ignores; nothing between walks is skipped. The bound
 *     only moves when a walk completes, so a cycle that fails half way
 *     leaves no gap. The fills walk comes before the side steps (3, 4).
 *  3. balances (side step): GET /api/v3/brokerage/accounts?limit=250,
 *     cursor pages while has_next; total = available_balance + hold, summed
 *     per currency over all pages and reported once the walk is complete.
 *  4. daily closes (side step): GET
 *     /api/v3/brokerage/market/products/{id}/candles (public, unsigned)
 *     with granularity=ONE_DAY for every product seen in the fills,
 *     <currency>-USD of every currency held (to value the balance) and
 *     BTC-USD as the benchmark, all from the account's first day: the day
 *     of its oldest fill, or today (the balance snapshot's day) for an
 *     account without fills. That is the first day core/valuation values
 *     (docs/ANALYTICS.md section 6: a currency held on a day without a
 *     close holds the whole series back), and a currency may be held long
 *     before its own product's first fill (bought through another pair,
 *     or deposited: Coinbase reports no flows). When an older fill moves
 *     the first day back, every product is asked again from it. 300 days
 *     per request (the API refuses 350 or more). A completed day is fetched
 *     once; the running day's candle (its close so far, what today is
 *     valued at) at most hourly. A product the exchange does not list
 *     (404, e.g. USDC-USD) or refuses has no closes: the prices part is
 *     degraded ("no USD product for USDC"), asked again at most hourly.
 *
 * Requests per cycle (without the poller's retries of a failed request):
 *     R <= T + V + (floor(F / 250) + 1) + ceil(W / 250)
 *          + sum over products p of ceil((D_p + 1) / 300)
 * where T <= 1 + (resyncs the poller asks for after a 401, see Errors;
 * each 401 also repeats its step once), V = 1 on the first cycle and 0 after, F = fills returned this
 * cycle (with the newest fill(s) of the last walk again), W = wallets
 * (every currency Coinbase lists has one, ~260), D_p = completed days of
 * product p not fetched yet (0 in steady state: the running day costs one
 * request per product at most hourly). A steady-state cycle is
 * 1 + ceil(W/250) requests (one fills page, the accounts pages: 3 with
 * ~260 wallets), plus 1 + P once an hour (the clock, the running day of
 * the P products) or P at a day change; a backfill of F fills over D days
 * with P products is at most
 * 2 + (floor(F/250) + 1) + ceil(W/250) + P * ceil((D + 1)/300).
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
 * - trade_type: "Regular fills have the value FILL. Adjusted fills have
 *   possible values REVERSAL, CORRECTION, SYNTHETIC" (the List Fills
 *   schema). ccxt ignores trade_type and takes every row as a trade with
 *   its own side, price, size and commission; so does this connector, so
 *   an adjustment moves the money it moves. The schema also says trade_id
 *   is "unique for all FILL trade_types but not unique for adjusted fills":
 *   an adjusted row's id is "<trade_id>/<trade_type>/<entry_id, 16 chars>"
 *   so the ledger never takes it for a repeat of the fill it adjusts.
 * - side UNKNOWN_ORDER_SIDE (ccxt: side undefined) or anything else but
 *   BUY/SELL: the fill cannot be booked. It is rejected alone, counted,
 *   and the fills part says so ("N fills rejected: side unknown, first
 *   trade_id X") in every later cycle; the walk goes on.
 *
 * Deposits and withdrawals are not in the Advanced Trade API (they are in
 * the v2 Coinbase App API, with other keys): this connector reports no
 * flows, so time-weighted returns for a Coinbase account treat it as closed
 * to flows unless flows are supplied another way.
 *
 * Rate pools (ops->pools): "private" 30 requests/s per key (fills, accounts,
 * key_permissions) and "public" 10 requests/s per IP (time, candles), one
 * unit per request.
 *
 * Errors: 401 (plain-text "Unauthorized": bad, expired or misdirected JWT,
 * or a clock the JWT window does not accept) -> XR_AUTH, which the poller
 * doubts once: it calls ops->resync (the next request is GET /time, then
 * the same step again) and only a second 401 makes the key invalid. 403 (missing scopes) on
 * the fills -> XR_AUTH; on a side step (key_permissions, accounts) it
 * degrades that part and the cycle goes on. 429 -> XR_RATE_LIMITED with
 * Retry-After, else x-ratelimit-reset; 5xx, transport failures and
 * truncated or malformed bodies -> XR_RETRY; other 4xx on the fills ->
 * XR_FATAL, on a side step -> that part degraded.
 */
#include <stdarg.h>
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
#define CLOCK_EVERY_MS 3600000LL
#define HELD_MAX 32
#define NOT_PLANNED INT64_MAX

enum step { ST_TIME, ST_PERMS, ST_FILLS, ST_ACCOUNTS, ST_CANDLES, ST_DONE };

/* Rate pools (cb_pools): private endpoints per key, public ones per IP. */
enum { POOL_PRIVATE, POOL_PUBLIC };

struct product {
	char id[PRODUCT_MAX];		/* "BTC-USD" */
	char symbol[FILL_SYMBOL_MAX];	/* "BTC/USD" */
	int64_t from_ms;		/* first day asked for; NOT_PLANNED before the first plan */
	int64_t next_day_ms;		/* first UTC day whose close is not fetched yet */
	int64_t today_at_ms;		/* when the running day's candle (or a refusal) was last had */
	bool missing;			/* the exchange lists no such product (404) or refused it */
	bool held;			/* <currency>-USD of a currency held */
};

struct balance {
	char currency[FILL_CUR_MAX];
	struct dec total;
};

struct cb {
	enum step step, resume;		/* resume: the step a clock sync goes back to */
	char host[XCONN_URL_MAX];	/* authority of the base URL, for the JWT uri */
	char prefix[XCONN_URL_MAX];	/* path of the base URL, usually "" */
	char *cursor;			/* page cursor of the walk in progress, NULL on its first page */
	int64_t clock_at;		/* local time of the last clock sync (or of its refusal), 0 = never */
	/* fills: committed bound (walks done) and the newest seen in this walk */
	char seq[SEQ_MAX];		/* "" before the first complete walk */
	int64_t seq_ns;
	char walk_seq[SEQ_MAX];
	int64_t walk_seq_ns;
	uint64_t walk_fills, skipped, adjusted;
	uint64_t rejected;		/* fills with no usable side, since open */
	char rejected_first[FILL_ID_MAX];
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

/* A JSON integer, or a string of decimal digits (grpc-gateway's int64). */
static int
jint64(const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);
	const char *s;
	char *end;
	long long x;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if ((s = json_is_string(v) ? json_string_value(v) : NULL) == NULL || *s < '0' || *s > '9' ||
	    strlen(s) > 18)
		return -1;
	x = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	*out = x;
	return 0;
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

/* The product id, added (not planned yet) when new. */
static struct product *
product_get(struct cb *p, const char *id)
{
	struct product *pr;

	for (size_t i = 0; i < p->nproducts; i++)
		if (strcmp(p->products[i].id, id) == 0)
			return &p->products[i];
	p->products = xreallocarray(p->products, p->nproducts + 1, sizeof(*p->products));
	pr = &p->products[p->nproducts++];
	memset(pr, 0, sizeof(*pr));
	snprintf(pr->id, sizeof(pr->id), "%s", id);
	if (spot_symbol(id, pr->symbol) != 0)
		fatalx("conn_coinbase: product %s is not spot", id);
	pr->from_ms = pr->next_day_ms = NOT_PLANNED;
	return pr;
}

/* The progress text: the fills of this walk and what was not booked. */
static void
set_progress(struct xconn *c)
{
	struct cb *p = c->priv;
	size_t len;

	len = (size_t)snprintf(c->progress, sizeof(c->progress), "fills: %llu%s",
	    (unsigned long long)p->walk_fills, c->backfill_done ? " this cycle" : " (backfill)");
	if (p->skipped > 0 && len < sizeof(c->progress))
		len += (size_t)snprintf(c->progress + len, sizeof(c->progress) - len, "; %llu non-spot skipped",
		    (unsigned long long)p->skipped);
	if (p->adjusted > 0 && len < sizeof(c->progress))
		len += (size_t)snprintf(c->progress + len, sizeof(c->progress) - len, "; %llu adjusted",
		    (unsigned long long)p->adjusted);
	if (p->rejected > 0 && len < sizeof(c->progress))
		len += (size_t)snprintf(c->progress + len, sizeof(c->progress) - len, "; %llu rejected",
		    (unsigned long long)p->rejected);
}

/* ---- requests ---- */

static int
signed_get(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char *path,
    const char *query, int tag, const char **errstr)
{
	struct cb *p = c->priv;
	char *full = xasprintf("%s%s", p->prefix, path), *jwt, *auth;

	/* nbf/exp on the exchange's clock */
	jwt = sign_coinbase_jwt(cred->api_key, cred->secret, cred->secret_len, "GET", p->host, full,
	    (now_ms + c->clock_offset_ms) / 1000, NULL, errstr);
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

/* The products whose closes this cycle fetches: every product traded, the
 * benchmark and <currency>-USD of every currency held, all from the
 * account's first day (see the header). */
static void
plan_candles(struct cb *p)
{
	char id[PRODUCT_MAX], sym[FILL_SYMBOL_MAX];
	int64_t first = p->first_day_ms != 0 ? p->first_day_ms : p->today_ms;
	struct product *pr;

	for (size_t i = 0; i < p->nproducts; i++)
		p->products[i].held = false;
	if (p->nproducts > 0 || p->nheld > 0)
		(void)product_get(p, BENCHMARK);
	for (size_t i = 0; i < p->nheld; i++) {
		snprintf(id, sizeof(id), "%s-USD", p->held[i]);
		/* a currency code with a dash names no spot product */
		if (strcmp(p->held[i], "USD") != 0 && spot_symbol(id, sym) == 0)
			product_get(p, id)->held = true;
	}
	for (size_t i = 0; i < p->nproducts; i++) {
		pr = &p->products[i];
		if (pr->from_ms > first)
			pr->from_ms = pr->next_day_ms = first;
	}
	p->candle_i = 0;
	p->step = ST_CANDLES;
}

/* The next product whose closes are due, or NULL. */
static struct product *
candle_due(struct cb *p)
{
	for (; p->candle_i < p->nproducts; p->candle_i++) {
		struct product *pr = &p->products[p->candle_i];
		bool recent = p->now_ms - pr->today_at_ms < TODAY_EVERY_MS;
		if (pr->missing ? !recent : pr->next_day_ms < p->today_ms || (pr->next_day_ms == p->today_ms && !recent))
			return pr;
	}
	return NULL;
}

/* The end of the window asked for a product: 300 days, or up to the end of
 * today (the running day included). */
static int64_t
candle_end(const struct cb *p, const struct product *pr)
{
	int64_t end = pr->next_day_ms + CANDLE_DAYS * DAY_MS;

	return end > p->today_ms + DAY_MS ? p->today_ms + DAY_MS : end;
}

/* Closes are missing for the products the exchange has none of: said
 * every cycle while so. */
static void
finish_candles(struct xconn *c)
{
	struct cb *p = c->priv;

	for (size_t i = 0; i < p->nproducts; i++) {
		const struct product *pr = &p->products[i];
		if (!pr->missing)
			continue;
		if (pr->held)
			xconn_degrade(c, XPART_PRICES, "prices: no USD product for %.*s", (int)(strchr(pr->id, '-') - pr->id),
			    pr->id);
		else
			xconn_degrade(c, XPART_PRICES, "prices: no candles for %s", pr->id);
	}
	p->step = ST_DONE;
	set_progress(c);
}

static int
make_request(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char **errstr)
{
	struct cb *p = c->priv;
	const struct product *pr;
	char *q, *path, iso[TIME_ISO_LEN];
	const char *start;
	int rc;

	switch (p->step) {
	case ST_TIME:
		xreq_set(req, "GET", c->base_url, API "/time", NULL);
		req->tag = ST_TIME;
		return 1;
	case ST_PERMS:
		return signed_get(c, cred, now_ms, req, API "/key_permissions", NULL, ST_PERMS, errstr);
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
	case ST_ACCOUNTS:
		q = page_query(p, NULL);
		rc = signed_get(c, cred, now_ms, req, API "/accounts", q, ST_ACCOUNTS, errstr);
		free(q);
		return rc;
	case ST_CANDLES:
		if ((pr = candle_due(p)) == NULL) {
			finish_candles(c);
			return 0;
		}
		path = xasprintf(API "/market/products/%s/candles", pr->id);
		/* end is the last second of the last day asked: today's candle is the running one */
		q = xasprintf("start=%lld&end=%lld&granularity=ONE_DAY", (long long)(pr->next_day_ms / 1000),
		    (long long)(candle_end(p, pr) / 1000 - 1));
		xreq_set(req, "GET", c->base_url, path, q);
		req->tag = ST_CANDLES;
		free(path);
		free(q);
		return 1;
	case ST_DONE:
		return 0;
	}
	return 0;
}

/* What each step serves, and the pool it is charged to (one request, one
 * unit: Coinbase counts requests). */
static const struct {
	enum xpart part;
	unsigned pool;
} steps[] = {
	[ST_TIME] = { XPART_FILLS, POOL_PUBLIC },
	[ST_PERMS] = { XPART_PERMISSIONS, POOL_PRIVATE },
	[ST_FILLS] = { XPART_FILLS, POOL_PRIVATE },
	[ST_ACCOUNTS] = { XPART_BALANCES, POOL_PRIVATE },
	[ST_CANDLES] = { XPART_PRICES, POOL_PUBLIC },
};

static int
cb_next(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char **errstr)
{
	int rc = make_request(c, cred, now_ms, req, errstr);

	if (rc == 1) {
		req->part = steps[req->tag].part;
		req->pool = steps[req->tag].pool;
		req->weight = 1;
	}
	return rc;
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

/* {"iso":"2024-02-27T03:37:14Z","epochSeconds":"1709005034","epochMillis":"1709005034333"} */
static int
handle_time(struct xconn *c, const json_t *o, const struct xresp *resp)
{
	struct cb *p = c->priv;
	const char *iso = jstr(o, "iso");
	int64_t t;

	if (jint64(o, "epochMillis", &t) != 0) {
		if (jint64(o, "epochSeconds", &t) == 0)
			t *= 1000;
		else if (iso == NULL || time_parse_iso(iso, strlen(iso), &t) != 0)
			return -1;
	}
	c->clock_offset_ms = t - resp->now_ms;
	p->clock_at = resp->now_ms;
	p->step = p->resume;
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
	p->step = ST_FILLS;
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

static void
drop_balances(struct cb *p)
{
	free(p->bals);
	p->bals = NULL;
	p->nbals = 0;
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
			/* a side step: the balances are incomplete, the cycle goes on */
			xconn_degrade(c, XPART_BALANCES, "balances: has_next without a new cursor");
			drop_balances(p);
			set_cursor(p, NULL);
			plan_candles(p);
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
	drop_balances(p);
	set_cursor(p, NULL);
	plan_candles(p);
	return 0;
}

enum parsed { PF_OK, PF_NOT_SPOT, PF_NO_SIDE };

/* Parses one v3 fill. Returns PF_OK, PF_NOT_SPOT (skipped), PF_NO_SIDE (a
 * well-formed fill whose side is not BUY or SELL: f->id says which), or -1
 * with *field naming what is wrong. *seq and *seq_ns get its sequence
 * position (for every result but -1). */
static int
parse_fill(const json_t *o, struct fill *f, const char **seq, int64_t *seq_ns, bool *adjusted, const char **field)
{
	const char *id = jstr(o, "trade_id"), *order = jstr(o, "order_id"), *tt = jstr(o, "trade_time");
	const char *product = jstr(o, "product_id"), *side = jstr(o, "side"), *liq = jstr(o, "liquidity_indicator");
	const char *type = jstr(o, "trade_type"), *entry = jstr(o, "entry_id");
	const json_t *inquote = json_object_get(o, "size_in_quote");
	char sym[FILL_SYMBOL_MAX];
	struct dec size, fee;
	const char *err;

	memset(f, 0, sizeof(*f));
	*field = "product_id";
	if (product == NULL)
		return -1;
	if (spot_symbol(product, sym) != 0)
		return PF_NOT_SPOT;
	if (fill_set_symbol(f, sym, strlen(sym), &err) != 0)
		return -1;
	*field = "trade_id";
	if (id == NULL || *id == '\0' || strlen(id) >= FILL_ID_MAX)
		return -1;
	*field = "trade_type";
	*adjusted = type != NULL && strcmp(type, "FILL") != 0;
	if (*adjusted) {
		/* not unique for adjusted fills: never the id of the fill adjusted */
		if (*type == '\0' || (size_t)snprintf(f->id, sizeof(f->id), "%s/%.16s/%.16s", id, type,
		    entry != NULL ? entry : "") >= sizeof(f->id))
			return -1;
	} else
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
	if (side != NULL && strcmp(side, "BUY") == 0)
		f->side = FILL_BUY;
	else if (side != NULL && strcmp(side, "SELL") == 0)
		f->side = FILL_SELL;
	else
		return PF_NO_SIDE;	/* UNKNOWN_ORDER_SIDE: ccxt's side undefined */
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
	return PF_OK;
}

static void
see_seq(struct cb *p, const char *seq, int64_t ns)
{
	if (*p->walk_seq == '\0' || ns > p->walk_seq_ns) {
		snprintf(p->walk_seq, sizeof(p->walk_seq), "%s", seq);
		p->walk_seq_ns = ns;
	}
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
	bool adjusted;
	int rc;

	if (!json_is_array(fills))
		return -1;
	c->validated = true;
	json_array_foreach(fills, i, x) {
		if (!json_is_object(x))
			return -1;
		if ((rc = parse_fill(x, &f, &seq, &ns, &adjusted, &field)) < 0) {
			/* A well-formed page with an unusable fill will not get
			 * better on retry: stop and say which. */
			xoutcome_error(out, XR_FATAL, "coinbase fill %.60s: bad %s", jstr(x, "trade_id") ? jstr(x, "trade_id") :
			    "?", field);
			return 0;
		}
		if (rc == PF_NOT_SPOT) {
			p->skipped++;
			continue;
		}
		see_seq(p, seq, ns);
		if (rc == PF_NO_SIDE) {
			/* cannot be booked; said in the status, never dropped
			 * silently (counted once: a row at the inclusive bound
			 * was counted by the walk before) */
			if (*p->seq != '\0' && ns <= p->seq_ns)
				continue;
			if (p->rejected++ == 0)
				snprintf(p->rejected_first, sizeof(p->rejected_first), "%s", f.id);
			log_event(LOG_WARN, "coinbase_fill_rejected", "{s:s, s:s}", "trade_id", f.id, "side",
			    jstr(x, "side") != NULL ? jstr(x, "side") : "(none)");
			continue;
		}
		if (sink->fill != NULL && sink->fill(sink->arg, &f) != 0) {
			xoutcome_error(out, XR_FATAL, "coinbase: sink refused a fill");
			return 0;
		}
		product_get(p, jstr(x, "product_id"));
		if (p->first_day_ms == 0 || day_of(f.timestamp) < p->first_day_ms)
			p->first_day_ms = day_of(f.timestamp);
		p->adjusted += adjusted;
		p->walk_fills++;
	}
	if (cursor != NULL && *cursor != '\0' && json_array_size(fills) > 0) {
		if (p->cursor != NULL && strcmp(cursor, p->cursor) == 0) {
			xoutcome_error(out, XR_FATAL, "coinbase fills: the cursor did not advance");
			return 0;
		}
		set_cursor(p, cursor);
		set_progress(c);
		return 0;
	}
	/* The walk is complete: move the bound. */
	if (*p->walk_seq != '\0' && (*p->seq == '\0' || p->walk_seq_ns > p->seq_ns)) {
		memcpy(p->seq, p->walk_seq, sizeof(p->seq));
		p->seq_ns = p->walk_seq_ns;
	}
	c->backfill_done = true;
	set_cursor(p, NULL);
	/* once per walk, with the count so far (the first reason of a cycle is kept) */
	if (p->rejected > 0)
		xconn_degrade(c, XPART_FILLS, "%llu fills rejected: side unknown (first trade_id %.40s)",
		    (unsigned long long)p->rejected, p->rejected_first);
	set_progress(c);
	p->step = ST_ACCOUNTS;
	return 0;
}

static int
handle_candles(struct xconn *c, const json_t *o, const struct xsink *sink, struct xoutcome *out)
{
	struct cb *p = c->priv;
	struct product *pr = &p->products[p->candle_i];
	const json_t *candles = json_object_get(o, "candles"), *x;
	int64_t end = candle_end(p, pr);
	struct dec close;
	size_t i;

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
	pr->missing = false;
	/* Completed days are done; the running day is asked again later. */
	if (end > p->today_ms) {
		end = p->today_ms;
		pr->today_at_ms = p->now_ms;
	}
	pr->next_day_ms = end;
	return 0;
}

/* Makes the next request a clock sync, then the step now due again. */
static void
cb_resync(struct xconn *c)
{
	struct cb *p = c->priv;

	if (p->step != ST_TIME)
		p->resume = p->step;
	p->step = ST_TIME;
}

/* A side step cannot be had this cycle: the cycle goes on without it (a
 * refusal, or the poller's ops->skip). */
static void
skip_side_step(struct xconn *c, int tag)
{
	struct cb *p = c->priv;

	switch (tag) {
	case ST_TIME:
		p->clock_at = p->now_ms;	/* not before the next hour */
		p->step = p->resume;
		break;
	case ST_PERMS:
		p->step = ST_FILLS;
		break;
	case ST_ACCOUNTS:
		drop_balances(p);
		set_cursor(p, NULL);
		plan_candles(p);
		break;
	case ST_CANDLES:
		p->products[p->candle_i].missing = true;
		p->products[p->candle_i].today_at_ms = p->now_ms;
		p->candle_i++;
		break;
	default:
		fatalx("conn_coinbase: step %d is no side step", tag);
	}
}

static void
cb_skip(struct xconn *c, const struct xreq *req)
{
	skip_side_step(c, req->tag);
}

/* A refusal (4xx but 401 and 429) of a side step: that part is degraded. */
static void
side_refused(struct xconn *c, int tag, long status, const struct xresp *resp)
{
	struct xoutcome e;

	cb_error(&e, XR_OK, status, resp);
	switch (tag) {
	case ST_PERMS:
		/* 404: a server without key_permissions; the fills validate */
		if (status != 404)
			xconn_degrade(c, XPART_PERMISSIONS, "permissions unavailable: %.70s", e.error);
		break;
	case ST_ACCOUNTS:
		xconn_degrade(c, XPART_BALANCES, "balances unavailable: %.72s", e.error);
		break;
	default:
		break;
	}
	skip_side_step(c, tag);
}

static void
cb_handle(struct xconn *c, const struct xreq *req, const struct xresp *resp, const struct xsink *sink,
    struct xoutcome *out)
{
	bool is_signed = req->tag == ST_PERMS || req->tag == ST_FILLS || req->tag == ST_ACCOUNTS;
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
	if (resp->status == 401 && is_signed) {
		/* The poller doubts a first XR_AUTH: it resyncs the clock
		 * (cb_resync) and repeats the step before believing it. */
		cb_error(out, XR_AUTH, resp->status, resp);
		return;
	}
	if (resp->status != 200 && req->tag == ST_FILLS) {
		cb_error(out, resp->status == 403 ? XR_AUTH : XR_FATAL, resp->status, resp);
		return;
	}
	if (resp->status == 404 && req->tag == ST_TIME) {
		/* no time endpoint here: the clock stays as it is */
		skip_side_step(c, ST_TIME);
		return;
	}
	if (resp->status != 200) {
		side_refused(c, req->tag, resp->status, resp);
		return;
	}
	if ((o = fill_json_loads(resp->body, resp->body_len, &line, &err)) == NULL || !json_is_object(o)) {
		json_decref(o);
		xoutcome_error(out, XR_RETRY, "coinbase: malformed response body");
		return;
	}
	switch (req->tag) {
	case ST_TIME:
		rc = handle_time(c, o, resp);
		break;
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

	p->step = c->validated ? ST_FILLS : ST_PERMS;
	if (p->clock_at == 0 || now_ms - p->clock_at >= CLOCK_EVERY_MS)
		cb_resync(c);
	set_cursor(p, NULL);
	drop_balances(p);
	p->walk_seq[0] = '\0';
	p->walk_fills = 0;
	p->candle_i = 0;
	p->today_ms = day_of(now_ms);
	p->now_ms = now_ms;
	memset(c->degraded, 0, sizeof(c->degraded));	/* as the poller does */
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

/* Products at most: Coinbase lists about a thousand. */
#define SAVE_PRODUCTS_MAX 4096

/* The cursor: the committed sequence bound of the fills walk (its ns value
 * is derived again, and checks it), the counters the fills part's status
 * shows, the account's first day and the products seen (their closes are
 * wanted). Not saved: the clock (synced again by the first cycle), the
 * balances (read every cycle) and the candle cursors of every product
 * (from_ms, next_day_ms, today_at_ms, missing): the pricebook is not
 * checkpointed, so they are planned again from the first day. */
static int
cb_save(const struct xconn *c, struct pack *w)
{
	const struct cb *p = c->priv;

	pack_str(w, p->seq);
	pack_u64(w, p->skipped);
	pack_u64(w, p->adjusted);
	pack_u64(w, p->rejected);
	pack_str(w, p->rejected_first);
	pack_i64(w, p->first_day_ms);
	pack_u32(w, (uint32_t)p->nproducts);
	for (size_t i = 0; i < p->nproducts; i++)
		pack_str(w, p->products[i].id);
	return 0;
}

static int
cb_load(struct xconn *c, struct unpack *r, const char **errstr)
{
	struct cb *p = c->priv;
	size_t n;

	unpack_str(r, p->seq, sizeof(p->seq));
	p->skipped = unpack_u64(r);
	p->adjusted = unpack_u64(r);
	p->rejected = unpack_u64(r);
	unpack_str(r, p->rejected_first, sizeof(p->rejected_first));
	p->first_day_ms = xunpack_day(r, 0);
	n = unpack_count(r, 4 + 3, SAVE_PRODUCTS_MAX);
	if (!unpack_ok(r))
		return -1;
	if (p->seq[0] != '\0' && rfc3339_ns(p->seq, &p->seq_ns) != 0) {
		*errstr = "coinbase checkpoint: the fills bound is not a time";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char id[PRODUCT_MAX], sym[FILL_SYMBOL_MAX];

		xunpack_name(r, id, sizeof(id));
		if (!unpack_ok(r))
			return -1;
		/* product_get() takes spot products only (it aborts on others) */
		if (spot_symbol(id, sym) != 0) {
			*errstr = "coinbase checkpoint: a product that is not a spot pair";
			return -1;
		}
		if (product_get(p, id) != &p->products[p->nproducts - 1] || p->nproducts != i + 1) {
			*errstr = "coinbase checkpoint: a product twice";
			return -1;
		}
	}
	return 0;
}

/* Coinbase Advanced Trade: private endpoints 30 requests per second per
 * key, public ones (candles, time) 10 per second per IP (exchanges.md
 * 5.5). */
static size_t
cb_pools(const struct xconn *c, struct xpool out[XPOOL_MAX])
{
	(void)c;
	out[POOL_PRIVATE] = (struct xpool){ "private", true, 30, 30 };
	out[POOL_PUBLIC] = (struct xpool){ "public", false, 10, 10 };
	return 2;
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
	.skip = cb_skip,
	.resync = cb_resync,
	.save = cb_save,
	.load = cb_load,
};
