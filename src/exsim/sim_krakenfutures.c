/*
 * Kraken Futures endpoints of the simulator (exchanges.md section 7):
 * GET /derivatives/api/v3/accounts (the flex account), /openpositions,
 * GET /derivatives/api/v3/fills and
 * GET /api/history/v3/executions, with APIKey/Authent/Nonce checks, and
 * the public daily candles GET /api/charts/v1/{tick}/{symbol}/1d. With
 * strict limits: the /derivatives budget (500 per 10 s) and the
 * history pool (100 tokens), both as one leaky counter per key: costs are
 * in /derivatives units, a history call costs 5 (100 calls per 10 s).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/dec.h"
#include "exsim/exsim.h"
#include "exsim/exsim_auth.h"
#include "exsim/exsim_venue.h"
#include "exsim/sim_markets.h"
#include "exsim/sim_kraken_page.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

extern const struct exsim_venue sim_krakenfutures_venue;

#define BUDGET 500.0
#define LEAK_PER_S 50.0
#define HISTORY_COST 5
#define COUNT_DEFAULT 100
#define COUNT_MAX 1000
#define FILLS_PAGE 100
#define OVERLAP_ROWS 3


static void
ferr(struct exsim_response *rs, unsigned status, const char *code, int64_t now_ms)
{
	char t[TIME_ISO_LEN];

	time_format_iso_ms(t, now_ms);
	exsim_json(rs, status, "{\"result\":\"error\",\"serverTime\":\"%s\",\"error\":\"%s\"}", t, code);
}

static const char *
dstr(char buf[DEC_STR_MAX], struct dec d)
{
	dec_format(buf, DEC_STR_MAX, d);
	return buf;
}

static void
account_uid(char out[40], const struct exsim_account *a)
{
	snprintf(out, 40, "%08zx-0000-4000-8000-%012" PRIx64, a->index, (uint64_t)(a->seed & 0xffffffffffffULL));
}

static struct exsim_account *
auth(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs, unsigned cost, unsigned status)
{
	const char *key = rq->header(rq, "APIKey"), *sig = rq->header(rq, "Authent"), *nonce = rq->header(rq, "Nonce");
	const char *post = strcmp(rq->method, "GET") == 0 ? rq->query : rq->body;
	size_t plen = strcmp(rq->method, "GET") == 0 ? strlen(rq->query) : rq->body_len;
	struct exsim_account *a;
	double counter;

	if (key == NULL || sig == NULL || (a = exsim_account_by_key(w, &sim_krakenfutures_venue, key)) == NULL ||
	    !exsim_auth_krakenfutures(a->secret, rq->path, nonce, post, plen, sig)) {
		ferr(rs, status, "authenticationError", rq->now_ms);
		return NULL;
	}
	pthread_mutex_lock(&w->mu);
	if (nonce != NULL) {
		uint64_t n = strtoull(nonce, NULL, 10);
		if (n == a->last_nonce || n < a->last_nonce) {
			pthread_mutex_unlock(&w->mu);
			ferr(rs, status, n == a->last_nonce ? "nonceDuplicate" : "nonceBelowThreshold", rq->now_ms);
			return NULL;
		}
		a->last_nonce = n;
	}
	if (w->cfg.strict_limits) {
		counter = a->rate_counter;
		if (a->rate_at_ms != 0 && rq->now_ms > a->rate_at_ms)
			counter -= (double)(rq->now_ms - a->rate_at_ms) / 1000.0 * LEAK_PER_S;
		if (counter < 0)
			counter = 0;
		a->rate_counter = counter;
		a->rate_at_ms = rq->now_ms;
		if (counter + cost > BUDGET) {
			pthread_mutex_unlock(&w->mu);
			ferr(rs, status, "apiLimitExceeded", rq->now_ms);
			return NULL;
		}
		a->rate_counter += cost;
	}
	pthread_mutex_unlock(&w->mu);
	return a;
}

/* An open position of the flex account as Kraken reports it: the average
 * entry price (the opening cost over the opening amount of the round trip,
 * to two places finer than the tick: Kraken serves its entry as a double),
 * and the mark (the last fill's price). */
struct kfpos {
	size_t k;
	struct dec amt;			/* signed: long > 0 */
	struct dec entry, mark;
	int64_t opened_ms;		/* the trip's first fill */
};

/* The account's open positions at now_ms (up to cap), returns the count. */
static size_t
positions(const struct exsim_account *a, int64_t now_ms, struct kfpos *out, size_t cap)
{
	size_t n = 0;

	for (size_t k = 0; k < a->nsymbols && n < cap; k++) {
		uint64_t vis = exsim_visible(a, k, now_ms);
		struct exsim_trip t;
		struct fill last;

		exsim_trip_of(a, k, vis, &t);
		if (dec_is_zero(t.amt))
			continue;
		exsim_fill(a, k, vis - 1, &last);
		out[n].k = k;
		out[n].amt = t.amt;
		out[n].mark = last.price;
		out[n].opened_ms = exsim_fill_ts(a, k, t.start);
		if (dec_div(&out[n].entry, t.open_cost, t.open_amt) == -1 ||
		    dec_round(&out[n].entry, out[n].entry, a->symbols[k].price_decimals + 2) == -1)
			fatalx("sim_krakenfutures: entry overflow");
		n++;
	}
	return n;
}

#define NPOS 16

/* GET /derivatives/api/v3/accounts: the flex (multi-collateral) account
 * with the documented fields (docs.kraken.com "Get wallets"; JSON numbers,
 * as Kraken serves them), consistent with the open positions:
 *   quantity (USD) = the cash view + sum(size x entry) over the positions:
 *     deposits + realized PnL - fees (what Kraken credits the collateral);
 *   pnl = totalUnrealized = sum(size x (mark - entry)); no funding;
 *   balanceValue = sum(value) (USD: value = quantity; every collateral at
 *     par: the simulated accounts hold USD only);
 *   portfolioValue = balanceValue + totalUnrealized;
 *   initialMargin = 2 % of sum(|size x mark|), maintenanceMargin 1 %;
 *   marginEquity = collateralValue + totalUnrealizedAsMargin;
 *   availableMargin = marginEquity - initialMargin. */
static void
accounts(const struct exsim_account *a, const struct exsim_request *rq, struct exsim_response *rs)
{
	char cur[8][FILL_CUR_MAX], qb[DEC_STR_MAX], t[TIME_ISO_LEN];
	char b1[DEC_STR_MAX], b2[DEC_STR_MAX], b3[DEC_STR_MAX], b4[DEC_STR_MAX], b5[DEC_STR_MAX], b6[DEC_STR_MAX];
	struct dec tot[8], bal = DEC_ZERO, upnl = DEC_ZERO, gross = DEC_ZERO, im, mm, pv, eq, avail;
	struct kfpos p[NPOS];
	size_t n = exsim_balances(a, rq->now_ms, cur, tot, 8), np = positions(a, rq->now_ms, p, NPOS);
	struct skp_buf b = { 0 };

	for (size_t i = 0; i < np; i++) {
		const char *settle = a->symbols[p[i].k].quote;
		struct dec x, d;
		size_t j;
		for (j = 0; j < n && strcmp(cur[j], settle) != 0; j++)
			;
		if (j == n || dec_mul(&x, p[i].amt, p[i].entry) == -1 || dec_add(&tot[j], tot[j], x) == -1 ||
		    dec_sub(&d, p[i].mark, p[i].entry) == -1 || dec_mul(&x, p[i].amt, d) == -1 ||
		    dec_add(&upnl, upnl, x) == -1 || dec_mul(&x, p[i].amt, p[i].mark) == -1 || dec_abs(&x, x) == -1 ||
		    dec_add(&gross, gross, x) == -1)
			fatalx("sim_krakenfutures: position overflow");
	}
	skp_printf(&b, "{\"result\":\"success\",\"accounts\":{\"flex\":{\"type\":\"multiCollateralMarginAccount\","
	    "\"currencies\":{");
	for (size_t j = 0; j < n; j++) {
		if (dec_add(&bal, bal, tot[j]) == -1)
			fatalx("sim_krakenfutures: balance overflow");
		dstr(qb, tot[j]);
		skp_printf(&b, "%s\"%s\":{\"quantity\":%s,\"value\":%s,\"collateral\":%s,\"available\":%s}",
		    j > 0 ? "," : "", cur[j], qb, qb, qb, qb);
	}
	if (dec_muldiv(&im, gross, dec_from_int(2), dec_from_int(100)) == -1 ||
	    dec_muldiv(&mm, gross, dec_one(), dec_from_int(100)) == -1 || dec_add(&pv, bal, upnl) == -1 ||
	    dec_add(&eq, bal, upnl) == -1 || dec_sub(&avail, eq, im) == -1)
		fatalx("sim_krakenfutures: margin overflow");
	time_format_iso_ms(t, rq->now_ms);
	skp_printf(&b, "},\"initialMargin\":%s,\"initialMarginWithOrders\":%s,\"maintenanceMargin\":%s,"
	    "\"balanceValue\":%s,\"portfolioValue\":%s,\"collateralValue\":%s,\"pnl\":%s,\"unrealizedFunding\":0,"
	    "\"totalUnrealized\":%s,\"totalUnrealizedAsMargin\":%s,\"availableMargin\":%s,\"marginEquity\":%s}},"
	    "\"serverTime\":\"%s\"}", dstr(b1, im), b1, dstr(b2, mm), dstr(b3, bal), dstr(b4, pv), b3, dstr(b5, upnl),
	    b5, b5, dstr(b6, avail), dstr(qb, eq), t);
	skp_send(&b, rs);
}

/* GET /derivatives/api/v3/openpositions (docs.kraken.com "Get open
 * positions"): side, symbol, average entry price, fillTime (when the
 * position was entered), size (unsigned), unrealizedFunding (none is
 * simulated), pnlCurrency; sorted descending by fillTime. */
static void
open_positions(const struct exsim_account *a, const struct exsim_request *rq, struct exsim_response *rs)
{
	struct kfpos p[NPOS], tmp;
	size_t np = positions(a, rq->now_ms, p, NPOS);
	char t[TIME_ISO_LEN], ft[TIME_ISO_LEN], pb[DEC_STR_MAX], sb[DEC_STR_MAX];
	struct skp_buf b = { 0 };

	for (size_t i = 1; i < np; i++)
		for (size_t j = i; j > 0 && p[j].opened_ms > p[j - 1].opened_ms; j--) {
			tmp = p[j];
			p[j] = p[j - 1];
			p[j - 1] = tmp;
		}
	skp_printf(&b, "{\"result\":\"success\",\"openPositions\":[");
	for (size_t i = 0; i < np; i++) {
		struct dec size = p[i].amt;
		if (dec_abs(&size, size) == -1)
			fatalx("sim_krakenfutures: position overflow");
		time_format_iso_ms(ft, p[i].opened_ms);
		skp_printf(&b, "%s{\"side\":\"%s\",\"symbol\":\"%s\",\"price\":%s,\"fillTime\":\"%s\",\"size\":%s,"
		    "\"unrealizedFunding\":0,\"pnlCurrency\":\"%s\"}", i > 0 ? "," : "",
		    dec_sign(p[i].amt) > 0 ? "long" : "short", a->symbols[p[i].k].native, dstr(pb, p[i].entry), ft,
		    dstr(sb, size), a->symbols[p[i].k].quote);
	}
	time_format_iso_ms(t, rq->now_ms);
	skp_printf(&b, "],\"serverTime\":\"%s\"}", t);
	skp_send(&b, rs);
}

/* One element of GET /api/history/v3/executions as Kraken serves it
 * (docs.kraken.com get-execution-events, and observed): the account's own
 * order only, whether it took or made the trade in executionType, its fee
 * in orderData; the wrapper key is the lowercase "execution". */
static void
render_execution(struct skp_buf *b, const struct exsim_account *a, const struct skp_pos *p, const char *acct)
{
	struct fill f;
	char qb[DEC_STR_MAX], pb[DEC_STR_MAX], cb[DEC_STR_MAX], fb[DEC_STR_MAX];
	const char *native = a->symbols[p->k].native;
	bool maker;

	exsim_fill(a, p->k, p->i, &f);
	maker = f.role == FILL_MAKER;
	dstr(qb, f.amount);
	dstr(pb, f.price);
	skp_printf(b, "{\"uid\":\"e%s\",\"timestamp\":%" PRId64 ",\"event\":{\"execution\":{\"execution\":{\"uid\":\"%s\","
	    "\"order\":{\"uid\":\"%s\",\"accountUid\":\"%s\",\"tradeable\":\"%s\",\"direction\":\"%s\","
	    "\"quantity\":\"%s\",\"filled\":\"0\",\"timestamp\":%" PRId64 ",\"limitPrice\":\"%s\",\"orderType\":\"%s\","
	    "\"clientId\":\"\",\"reduceOnly\":false,\"lastUpdateTimestamp\":%" PRId64 ",\"spotData\":null},",
	    f.id + 1, f.timestamp, f.id, f.order, acct, native, f.side == FILL_BUY ? "Buy" : "Sell", qb, f.timestamp, pb,
	    maker ? "Limit" : "IoC", f.timestamp);
	skp_printf(b, "\"timestamp\":%" PRId64 ",\"quantity\":\"%s\",\"price\":\"%s\",\"markPrice\":\"%s\","
	    "\"limitFilled\":%s,\"usdValue\":\"%s\",\"orderData\":{\"fee\":\"%s\",\"positionSize\":\"0\"},"
	    "\"executionType\":\"%s\"},\"takerReducedQuantity\":\"\"}}}", f.timestamp, qb, pb, pb,
	    maker ? "true" : "false", dstr(cb, f.cost), dstr(fb, f.nfees > 0 ? f.fees[0].cost : DEC_ZERO),
	    maker ? "maker" : "taker");
}

static bool
parse_i64(const char *s, int64_t *out)
{
	char *end;

	if (s == NULL || *s == '\0')
		return false;
	*out = strtoll(s, &end, 10);
	return *end == '\0';
}

static void
base_view(struct skp_view *v, const struct exsim_account *a, int64_t now_ms, bool has_since, int64_t since,
    bool has_before, int64_t before)
{
	skp_view_init(v, a, now_ms);
	if (has_since)
		skp_from_ts(v, since);
	if (has_before)
		skp_before_ts(v, before);
}

static void
executions(struct exsim *w, const struct exsim_account *a, const struct exsim_request *rq, struct exsim_response *rs)
{
	const char *sort = rq->param(rq, "sort"), *tok = rq->param(rq, "continuation_token"), *cnt = rq->param(rq, "count");
	int64_t since = 0, before = 0, count = COUNT_DEFAULT;
	bool has_since = rq->param(rq, "since") != NULL, has_before = rq->param(rq, "before") != NULL, desc;
	struct skp_view v, nv;
	struct skp_pos *page, last;
	uint64_t rank = 0, total;
	size_t n;
	char acct[40], t[TIME_ISO_LEN];
	struct skp_buf b = { 0 };

	if ((has_since && !parse_i64(rq->param(rq, "since"), &since)) ||
	    (has_before && !parse_i64(rq->param(rq, "before"), &before)) ||
	    (cnt != NULL && (!parse_i64(cnt, &count) || count < 1 || count > COUNT_MAX)) ||
	    (sort != NULL && strcmp(sort, "asc") != 0 && strcmp(sort, "desc") != 0)) {
		ferr(rs, 400, "invalidArgument", rq->now_ms);
		return;
	}
	desc = sort == NULL || strcmp(sort, "desc") == 0;
	base_view(&v, a, rq->now_ms, has_since, since, has_before, before);
	if (tok != NULL) {
		unsigned long long ts, k, i;
		if (sscanf(tok, "%llx.%llx.%llx", &ts, &k, &i) != 3 || k >= a->nsymbols) {
			skp_view_free(&v);
			ferr(rs, 400, "invalidArgument", rq->now_ms);
			return;
		}
		last.ts = (int64_t)ts;
		last.k = (size_t)k;
		last.i = i;
		/* the next page starts after the last row served, in the
		 * sort's direction (stable while new executions arrive) */
		base_view(&nv, a, rq->now_ms, has_since, since, has_before, before);
		if (desc) {
			skp_after(&nv, &last);
			rank = skp_count(&nv) + 1;
		} else {
			skp_upto(&nv, &last);
			rank = skp_count(&nv);
		}
		skp_view_free(&nv);
		if (rq->overlap)
			rank -= rank < OVERLAP_ROWS ? rank : OVERLAP_ROWS;
	}
	total = skp_count(&v);
	page = xcalloc((size_t)count, sizeof(*page));
	n = skp_page(&v, rank, desc, page, (size_t)count);
	account_uid(acct, a);
	time_format_iso_ms(t, rq->now_ms);
	skp_printf(&b, "{\"accountUid\":\"%s\",\"len\":%zu,\"serverTime\":\"%s\",\"elements\":[", acct, n, t);
	for (size_t j = 0; j < n; j++) {
		if (j > 0)
			skp_printf(&b, ",");
		render_execution(&b, a, &page[j], acct);
	}
	skp_printf(&b, "]");
	if (n > 0 && rank + n < total) {
		char tk[80];
		snprintf(tk, sizeof(tk), "%llx.%llx.%llx", (unsigned long long)page[n - 1].ts,
		    (unsigned long long)page[n - 1].k, (unsigned long long)page[n - 1].i);
		skp_printf(&b, ",\"continuationToken\":\"%s\"", tk);
		exsim_header(rs, "Next-Continuation-Token", "%s", tk);
	}
	skp_printf(&b, "}");
	skp_send(&b, rs);
	rs->pageable = true;
	free(page);
	skp_view_free(&v);
}

static void
fills(const struct exsim_account *a, const struct exsim_request *rq, struct exsim_response *rs)
{
	const char *lft = rq->param(rq, "lastFillTime");
	struct skp_view v;
	struct skp_pos page[FILLS_PAGE];
	int64_t before;
	size_t n;
	char t[TIME_ISO_LEN];
	struct skp_buf b = { 0 };

	skp_view_init(&v, a, rq->now_ms);
	if (lft != NULL) {
		if (time_parse_iso(lft, strlen(lft), &before) == -1) {
			skp_view_free(&v);
			ferr(rs, 200, "invalidArgument", rq->now_ms);
			return;
		}
		skp_before_ts(&v, before);
	}
	n = skp_page(&v, 0, true, page, FILLS_PAGE);
	skp_printf(&b, "{\"result\":\"success\",\"fills\":[");
	for (size_t j = 0; j < n; j++) {
		struct fill f;
		char qb[DEC_STR_MAX], pb[DEC_STR_MAX], ft[TIME_ISO_LEN];
		exsim_fill(a, page[j].k, page[j].i, &f);
		time_format_iso_ms(ft, f.timestamp);
		skp_printf(&b, "%s{\"fill_id\":\"%s\",\"symbol\":\"%s\",\"side\":\"%s\",\"order_id\":\"%s\",\"size\":%s,"
		    "\"price\":%s,\"fillTime\":\"%s\",\"fillType\":\"%s\"}", j > 0 ? "," : "", f.id,
		    a->symbols[page[j].k].native, f.side == FILL_BUY ? "buy" : "sell", f.order, dstr(qb, f.amount),
		    dstr(pb, f.price), ft, f.role == FILL_MAKER ? "maker" : "taker");
	}
	time_format_iso_ms(t, rq->now_ms);
	skp_printf(&b, "],\"serverTime\":\"%s\"}", t);
	skp_send(&b, rs);
	skp_view_free(&v);
}

/* ------------------------------------------------------------------ charts */

/*
 * GET /api/charts/v1/{tick_type}/{symbol}/{resolution}?from=&to= (public;
 * docs.kraken.com futures-api charts/candles, ccxt fetchOHLCV): candles
 * {time (ms), open, high, low, close (strings), volume} oldest first, from
 * `from` (seconds, inclusive) to `to` (default now), at most CHART_MAX;
 * more_candles says the range holds more. Without from: the CHART_MAX
 * newest. Daily candles only. The simulator has one price path per
 * symbol, so the mark and index (spot) candles are the trade candles; high
 * and low are those of open and close (marking uses closes only).
 */
#define CHART_MAX 2000
#define DAY_MS 86400000LL

static const struct exsim_symdef *
chart_symbol(const char *native)
{
	for (size_t m = 0; m < sim_krakenfutures_venue.nmarkets; m++) {
		const struct exsim_venue_market *vm = &sim_krakenfutures_venue.markets[m];
		for (size_t i = 0; i < vm->nsymbols; i++)
			if (strcasecmp(vm->symbols[i].native, native) == 0)
				return &vm->symbols[i];
	}
	return NULL;
}

static void
charts(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs)
{
	char tick[16], native[40], res[8], ob[DEC_STR_MAX], cb[DEC_STR_MAX];
	const struct exsim_symdef *sd;
	struct exsim_candle c;
	struct skp_buf b = { 0 };
	int64_t from = 0, to = 0, d0, d1, d, today = time_day_of_ms(rq->now_ms);
	bool has_from, has_to, any = false, more = false;
	size_t n = 0;

	if (sscanf(rq->path, "/api/charts/v1/%15[^/]/%39[^/]/%7[^/]", tick, native, res) != 3) {
		exsim_json(rs, 404, "{\"error\":\"not found\"}");
		return;
	}
	if (strcmp(tick, "trade") != 0 && strcmp(tick, "mark") != 0 && strcmp(tick, "spot") != 0) {
		exsim_json(rs, 400, "{\"error\":\"invalid tick type\"}");
		return;
	}
	if ((sd = chart_symbol(native)) == NULL) {
		exsim_json(rs, 404, "{\"error\":\"symbol not found\"}");
		return;
	}
	if (strcmp(res, "1d") != 0) {
		exsim_json(rs, 400, "{\"error\":\"resolution not served by the simulator (1d only)\"}");
		return;
	}
	has_from = rq->param(rq, "from") != NULL;
	has_to = rq->param(rq, "to") != NULL;
	if ((has_from && !parse_i64(rq->param(rq, "from"), &from)) || (has_to && !parse_i64(rq->param(rq, "to"), &to))) {
		exsim_json(rs, 400, "{\"error\":\"from and to are integer seconds\"}");
		return;
	}
	if (!has_to || to > rq->now_ms / 1000)
		to = rq->now_ms / 1000;
	d1 = to * 1000 / DAY_MS;
	if (d1 > today)
		d1 = today;
	/* the first candle at or after from */
	d0 = has_from ? (from * 1000 + DAY_MS - 1) / DAY_MS : d1 - (CHART_MAX - 1);
	if (has_from && from < 0)
		d0 = 0;
	skp_printf(&b, "{\"candles\":[");
	for (d = d0; d <= d1; d++) {
		if (exsim_candle_from_fills(w, &sim_krakenfutures_venue, FILL_FUTURES, sd->unified, d, rq->now_ms, &c) != 0)
			continue;
		if (n == CHART_MAX) {
			more = true;
			break;
		}
		dstr(ob, c.open);
		dstr(cb, c.close);
		skp_printf(&b, "%s{\"time\":%" PRId64 ",\"open\":\"%s\",\"high\":\"%s\",\"low\":\"%s\","
		    "\"close\":\"%s\",\"volume\":0}", any ? "," : "", (int64_t)(d * DAY_MS), ob,
		    dec_cmp(c.open, c.close) > 0 ? ob : cb, dec_cmp(c.open, c.close) < 0 ? ob : cb, cb);
		any = true;
		n++;
	}
	skp_printf(&b, "],\"more_candles\":%s}", more ? "true" : "false");
	skp_send(&b, rs);
}

static bool
sim_krakenfutures_handle(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs)
{
	struct exsim_account *a;
	bool log = strcmp(rq->path, "/api/history/v3/account-log") == 0;
	bool history = log || strcmp(rq->path, "/api/history/v3/executions") == 0;

	if (strncmp(rq->path, "/api/charts/", 12) == 0) {
		if (strcmp(rq->method, "GET") != 0)
			exsim_json(rs, 405, "{\"error\":\"method not allowed\"}");
		else
			charts(w, rq, rs);
		return true;
	}
	if (!history && strcmp(rq->path, "/derivatives/api/v3/accounts") != 0 &&
	    strcmp(rq->path, "/derivatives/api/v3/openpositions") != 0 &&
	    strcmp(rq->path, "/derivatives/api/v3/fills") != 0)
		return false;
	if (strcmp(rq->method, "GET") != 0) {
		ferr(rs, 405, "invalidArgument", rq->now_ms);
		return true;
	}
	if ((a = auth(w, rq, rs, history ? HISTORY_COST :
	    strcmp(rq->path, "/derivatives/api/v3/fills") == 0 && rq->param(rq, "lastFillTime") != NULL ? 25 : 2,
	    history ? 401 : 200)) == NULL)
		return true;
	if (log)
		sim_markets_krakenfutures_account_log(a, rq, rs);
	else if (history)
		executions(w, a, rq, rs);
	else if (strcmp(rq->path, "/derivatives/api/v3/accounts") == 0)
		accounts(a, rq, rs);
	else if (strcmp(rq->path, "/derivatives/api/v3/openpositions") == 0)
		open_positions(a, rq, rs);
	else
		fills(a, rq, rs);
	return true;
}

/* ------------------------------------------------------------------ venue */

static const struct exsim_symdef krakenfutures[] = {
	{ "BTC/USD:USD", "PF_XBTUSD", "BTC", "USD", "BTC", "USD", 60000, 2, 4, 0.001, 0.5, 0 },
	{ "ETH/USD:USD", "PF_ETHUSD", "ETH", "USD", "ETH", "USD", 3000, 2, 3, 0.01, 5, 0 },
};

static const struct exsim_venue_market krakenfutures_markets[] = {
	{ FILL_FUTURES, krakenfutures, sizeof(krakenfutures) / sizeof(krakenfutures[0]), NULL, 0, false },
};

static const char *const krakenfutures_prefixes[] = { "/derivatives/", "/api/history/", "/api/charts/", NULL };

static void
krakenfutures_5xx(struct exsim_response *rs, unsigned status, int64_t now_ms)
{
	char t[TIME_ISO_LEN];

	time_format_iso_ms(t, now_ms);
	exsim_json(rs, status, "{\"result\":\"error\",\"serverTime\":\"%s\",\"error\":\"unavailable\"}", t);
}

static void
krakenfutures_429(struct exsim_response *rs, int64_t now_ms)
{
	char t[TIME_ISO_LEN];

	time_format_iso_ms(t, now_ms);
	exsim_json(rs, 200, "{\"result\":\"error\",\"serverTime\":\"%s\",\"error\":\"apiLimitExceeded\"}", t);
}

const struct exsim_venue sim_krakenfutures_venue = {
	.name = "krakenfutures",
	.markets = krakenfutures_markets,
	.nmarkets = sizeof(krakenfutures_markets) / sizeof(krakenfutures_markets[0]),
	.prefixes = krakenfutures_prefixes,
	.handle = sim_krakenfutures_handle,
	.reference = sim_markets_krakenfutures_reference,
	.error_5xx = krakenfutures_5xx,
	.error_429 = krakenfutures_429,
	.close = exsim_close_from_fills,	/* charts: the last fill of the day */
	.fee_maker = "0.0002",
	.fee_taker = "0.0005",
	.ids = EXSIM_IDS_UUID,
	.keys = EXSIM_KEYS_BASE64,
};
