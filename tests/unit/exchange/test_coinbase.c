/*
 * conn_coinbase on canned responses: request shapes and JWTs, the cycle's
 * steps and cursors, ccxt-equal parsing (the ccxt fixture of exchanges.md
 * 5.2, size_in_quote, UNKNOWN liquidity, ns times), every error mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "exchange/exchange.h"
#include "exchange/sign_coinbase.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* The Ed25519 key of tests/vectors/coinbase/jwt.json (RFC 8032 TEST 1 seed). */
static const char SECRET[] = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2DXWpgBgrEKt9VL/tPJZAc6DuFy89qmIyWvAhpo9wdRGg==";
static const char KEY[] = "organizations/org-1/apiKeys/key-1";
#define NOW 1700995000000LL	/* 2023-11-26T10:36:40Z */
#define DAY 86400000LL

/* ---- a recording sink ---- */

struct rec {
	struct fill fills[32];
	size_t nfills;
	char bal_cur[8][16];
	char bal_val[8][DEC_STR_MAX];
	size_t nbals;
	char price_sym[16][16];
	int64_t price_day[16];
	char price_val[16][DEC_STR_MAX];
	size_t nprices;
	int perms;		/* -1 none, else can_trade*2 + can_withdraw */
};

static int
on_fill(void *arg, const struct fill *f)
{
	struct rec *r = arg;

	assert_true(r->nfills < 32);
	r->fills[r->nfills++] = *f;
	return 0;
}

static int
on_balance(void *arg, const char *cur, struct dec total)
{
	struct rec *r = arg;

	snprintf(r->bal_cur[r->nbals], 16, "%s", cur);
	dec_format(r->bal_val[r->nbals++], DEC_STR_MAX, total);
	return 0;
}

static int
on_price(void *arg, const char *sym, int64_t day, struct dec close)
{
	struct rec *r = arg;

	snprintf(r->price_sym[r->nprices], 16, "%s", sym);
	r->price_day[r->nprices] = day;
	dec_format(r->price_val[r->nprices++], DEC_STR_MAX, close);
	return 0;
}

static int
on_perms(void *arg, bool trade, bool withdraw)
{
	((struct rec *)arg)->perms = trade * 2 + withdraw;
	return 0;
}

static struct rec rec;
static const struct xsink sink = { &rec, on_fill, on_balance, NULL, on_price, on_perms, NULL };

/* ---- canned responses ---- */

static const char *resp_hdr_name, *resp_hdr_value;

static const char *
hdr(const struct xresp *r, const char *name)
{
	(void)r;
	return resp_hdr_name != NULL && strcasecmp(name, resp_hdr_name) == 0 ? resp_hdr_value : NULL;
}

static struct xoutcome
reply(struct xconn *c, const struct xreq *q, long status, const char *body)
{
	struct xresp r = { status, body, strlen(body), NOW, hdr, NULL };
	struct xoutcome o;

	c->ops->handle(c, q, &r, &sink, &o);
	return o;
}

static const struct credential cred = { KEY, sizeof(KEY) - 1, SECRET, sizeof(SECRET) - 1, "", 0 };

static void
open_conn(struct xconn *c, const char *base)
{
	struct xconf conf = { .market = FILL_SPOT, .base_url = base };
	const char *err = NULL;

	memset(&rec, 0, sizeof(rec));
	rec.perms = -1;
	resp_hdr_name = resp_hdr_value = NULL;
	assert_int_equal(xconn_open(c, &exchange_coinbase, &conf, &err), 0);
}

/* next() must make a request for url (prefix match up to '?', exact query
 * when given) and sign it for host + path. */
static void
expect_req(struct xconn *c, struct xreq *q, const char *url, bool is_signed, const char *host)
{
	const char *err = NULL;
	EVP_PKEY *pub;

	assert_int_equal(c->ops->next(c, &cred, NOW, q, &err), 1);
	assert_string_equal(q->method, "GET");
	assert_string_equal(q->url, url);
	if (!is_signed) {
		assert_int_equal(q->nheaders, 0);
		return;
	}
	assert_string_equal(q->headers[0].name, "Authorization");
	assert_memory_equal(q->headers[0].value, "Bearer ", 7);
	pub = sign_coinbase_public(SECRET, strlen(SECRET), &err);
	const char *path = strstr(strstr(url, "://") + 3, "/");
	const char *jwt = q->headers[0].value + 7;
	assert_int_equal(sign_coinbase_verify(jwt, strlen(jwt), pub, KEY, "GET", host, path, NOW / 1000, &err), 0);
	EVP_PKEY_free(pub);
}

#define BASE "https://api.coinbase.com"
#define FILLS BASE "/api/v3/brokerage/orders/historical/fills?limit=250"
#define ACCTS BASE "/api/v3/brokerage/accounts?limit=250"
#define TIME BASE "/api/v3/brokerage/time"

/* The clock sync: an unsigned GET of base's /time, answered with the
 * server's time server_ms (the API reference's shape). */
static void
sync_clock(struct xconn *c, struct xreq *q, const char *base, int64_t server_ms)
{
	char *url = xasprintf("%s/api/v3/brokerage/time", base), body[160];
	const char *err = NULL;
	struct xresp r = { 200, body, 0, NOW, NULL, NULL };
	struct xoutcome o;

	assert_int_equal(c->ops->next(c, &cred, NOW, q, &err), 1);
	assert_string_equal(q->url, url);
	assert_int_equal(q->nheaders, 0);
	snprintf(body, sizeof(body), "{\"iso\":\"x\",\"epochSeconds\":\"%lld\",\"epochMillis\":\"%lld\"}",
	    (long long)(server_ms / 1000), (long long)server_ms);
	r.body_len = strlen(body);
	r.header = hdr;
	c->ops->handle(c, q, &r, &sink, &o);
	assert_int_equal(o.result, XR_OK);
	assert_int_equal(c->clock_offset_ms, server_ms - NOW);
	free(url);
}

static const char FIXTURE[] =
    "{\"fills\":[{\"entry_id\":\"dc7424ac5193601ae273cf704ece1667987d8c0b1077faa5fe3213e8e9efbd30\","
    "\"trade_id\":\"19fc7eee-f4b4-40a7-8104-033da1db5311\",\"order_id\":\"01b6e467-b659-432f-9490-c7cefe949564\","
    "\"trade_time\":\"2023-11-26T10:19:47.504Z\",\"trade_type\":\"FILL\",\"price\":\"0.392\",\"size\":\"10\","
    "\"commission\":\"0.03136\",\"product_id\":\"ADA-USDT\",\"sequence_timestamp\":\"2023-11-26T10:19:47.507001Z\","
    "\"liquidity_indicator\":\"TAKER\",\"size_in_quote\":false,\"user_id\":\"dbcb91e7-2bc9-5152-bb6f-72d6677e6727\","
    "\"side\":\"SELL\"},"
    /* size_in_quote: size 20 USD at 3 -> amount 6.666666666666666667 (half-even; ccxt truncates ...666) */
    "{\"trade_id\":\"t2\",\"order_id\":\"o2\",\"trade_time\":\"2023-11-25T09:00:00.123456789Z\",\"price\":\"3\","
    "\"size\":\"20\",\"commission\":\"0.12\",\"product_id\":\"ETH-USD\",\"sequence_timestamp\":\"2023-11-25T09:00:00.5Z\","
    "\"liquidity_indicator\":\"UNKNOWN_LIQUIDITY_INDICATOR\",\"size_in_quote\":true,\"side\":\"BUY\"},"
    /* a perpetual: not spot, skipped */
    "{\"trade_id\":\"t3\",\"order_id\":\"o3\",\"trade_time\":\"2023-11-25T08:00:00Z\",\"price\":\"1\",\"size\":\"1\","
    "\"commission\":\"0\",\"product_id\":\"BTC-PERP-INTX\",\"sequence_timestamp\":\"2023-11-25T08:00:00Z\","
    "\"liquidity_indicator\":\"MAKER\",\"size_in_quote\":false,\"side\":\"BUY\"}],\"cursor\":\"114994851\"}";

static void
str_dec(char *buf, struct dec d)
{
	dec_format(buf, DEC_STR_MAX, d);
}

static void
assert_dec(struct dec d, const char *want)
{
	char buf[DEC_STR_MAX];

	str_dec(buf, d);
	assert_string_equal(buf, want);
}

static void
test_open(void **state)
{
	struct xconn c;
	struct xconf conf = { .market = FILL_FUTURES };
	const char *err = NULL;

	(void)state;
	assert_int_equal(xconn_open(&c, &exchange_coinbase, &conf, &err), -1);
	conf.base_url = "http://127.0.0.1:9";
	assert_int_equal(xconn_open(&c, &exchange_coinbase, &conf, &err), -1);
	assert_string_equal(err, "coinbase: only spot accounts (Advanced Trade) are supported, not futures or margin");
	conf.market = FILL_MARGIN;
	assert_int_equal(xconn_open(&c, &exchange_coinbase, &conf, &err), -1);
	conf.market = FILL_SPOT;
	conf.base_url = "no-scheme";
	assert_int_equal(xconn_open(&c, &exchange_coinbase, &conf, &err), -1);
	assert_ptr_equal(exchange_find("coinbase"), &exchange_coinbase);
	assert_null(exchange_find("coinbasepro"));
	assert_false(exchange_coinbase.ascending);
	assert_non_null(exchange_coinbase.resync);
	assert_non_null(exchange_coinbase.skip);
	{
		struct xpool pools[XPOOL_MAX];
		assert_int_equal(exchange_coinbase.pools(NULL, pools), 2);
		assert_string_equal(pools[0].name, "private");
		assert_true(pools[0].per_key);
		assert_true(pools[0].per_s == 30);
		assert_string_equal(pools[1].name, "public");
		assert_false(pools[1].per_key);
		assert_true(pools[1].per_s == 10);
	}
}

/* A whole first cycle, then an incremental one. */
static void
test_cycle(void **state)
{
	struct xconn c;
	struct xreq q = { 0 };
	const char *err = NULL;
	struct xoutcome o;

	(void)state;
	open_conn(&c, NULL);
	assert_string_equal(c.base_url, BASE);
	c.ops->begin(&c, NOW);
	sync_clock(&c, &q, BASE, NOW);
	expect_req(&c, &q, BASE "/api/v3/brokerage/key_permissions", true, "api.coinbase.com");
	o = reply(&c, &q, 200, "{\"can_view\":true,\"can_trade\":true,\"can_transfer\":false,"
	    "\"portfolio_uuid\":\"p\",\"portfolio_type\":\"DEFAULT\"}");
	assert_int_equal(o.result, XR_OK);
	assert_int_equal(rec.perms, 2);
	assert_true(c.validated);

	/* the fills walk first, then the side steps */
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	o = reply(&c, &q, 200, FIXTURE);
	assert_int_equal(o.result, XR_OK);
	assert_int_equal(rec.nfills, 2);
	assert_false(c.backfill_done);
	expect_req(&c, &q, FILLS "&cursor=114994851", true, "api.coinbase.com");
	o = reply(&c, &q, 200, "{\"fills\":[],\"cursor\":\"\"}");
	assert_int_equal(o.result, XR_OK);
	assert_true(c.backfill_done);
	assert_non_null(strstr(c.progress, "1 non-spot skipped"));

	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	o = reply(&c, &q, 200, "{\"accounts\":[{\"uuid\":\"a\",\"currency\":\"BTC\",\"available_balance\":{\"value\":"
	    "\"1.5\",\"currency\":\"BTC\"},\"hold\":{\"value\":\"0.25\",\"currency\":\"BTC\"}}],\"has_next\":true,"
	    "\"cursor\":\"a+b/c\",\"size\":1}");
	assert_int_equal(o.result, XR_OK);
	assert_int_equal(rec.nbals, 0);	/* reported once the walk is complete */
	expect_req(&c, &q, ACCTS "&cursor=a%2Bb%2Fc", true, "api.coinbase.com");
	o = reply(&c, &q, 200, "{\"accounts\":[{\"currency\":\"USD\",\"available_balance\":{\"value\":\"100.00\"},"
	    "\"hold\":{\"value\":\"0\"}},{\"currency\":\"BTC\",\"available_balance\":{\"value\":\"0.00000001\"},"
	    "\"hold\":{\"value\":\"0\"}},{\"currency\":\"SOL\",\"available_balance\":{\"value\":\"2\"},\"hold\":"
	    "{\"value\":\"0\"}},{\"currency\":\"X-Y\",\"available_balance\":{\"value\":\"1\"},\"hold\":{\"value\":"
	    "\"0\"}},{\"currency\":\"DOGE\",\"available_balance\":{\"value\":\"0\"},\"hold\":{\"value\":\"0\"}}],"
	    "\"has_next\":false,\"cursor\":\"\",\"size\":5}");
	assert_int_equal(o.result, XR_OK);
	assert_int_equal(rec.nbals, 5);
	assert_string_equal(rec.bal_cur[0], "BTC");
	assert_string_equal(rec.bal_val[0], "1.75000001");
	assert_string_equal(rec.bal_cur[1], "USD");
	assert_string_equal(rec.bal_val[1], "100");

	/* Fills as ccxt parses them. */
	const struct fill *f = &rec.fills[0];
	assert_string_equal(f->id, "19fc7eee-f4b4-40a7-8104-033da1db5311");
	assert_string_equal(f->order, "01b6e467-b659-432f-9490-c7cefe949564");
	assert_int_equal(f->timestamp, 1700993987504LL);
	assert_string_equal(f->symbol, "ADA/USDT");
	assert_int_equal(f->side, FILL_SELL);
	assert_int_equal(f->role, FILL_TAKER);
	assert_dec(f->price, "0.392");
	assert_dec(f->amount, "10");
	assert_false(f->has_cost);
	assert_int_equal(f->nfees, 1);
	assert_dec(f->fees[0].cost, "0.03136");
	assert_string_equal(f->fees[0].currency, "USDT");
	assert_int_equal(f->market, FILL_SPOT);
	f = &rec.fills[1];
	assert_string_equal(f->symbol, "ETH/USD");
	assert_int_equal(f->timestamp, 1700902800123LL);	/* 9 fractional digits truncated to ms */
	assert_int_equal(f->side, FILL_BUY);
	assert_int_equal(f->role, FILL_ROLE_UNKNOWN);
	assert_true(f->has_cost);
	assert_dec(f->cost, "20");
	assert_dec(f->amount, "6.666666666666666667");
	assert_dec(f->fees[0].cost, "0.12");
	assert_string_equal(f->fees[0].currency, "USD");

	/* Candles: products in order of appearance, then the BTC benchmark
	 * (and <currency>-USD of the currencies held: BTC-USD already), all
	 * from the account's first day (its oldest fill's, the 25th) to today
	 * included (the running day's candle values today). */
	expect_req(&c, &q, BASE "/api/v3/brokerage/market/products/ADA-USDT/candles?start=1700870400&end=1701043199"
	    "&granularity=ONE_DAY", false, NULL);
	o = reply(&c, &q, 200, "{\"candles\":[]}");
	assert_int_equal(o.result, XR_OK);
	expect_req(&c, &q, BASE "/api/v3/brokerage/market/products/ETH-USD/candles?start=1700870400&end=1701043199"
	    "&granularity=ONE_DAY", false, NULL);
	o = reply(&c, &q, 200, "{\"candles\":[{\"start\":\"1700956800\",\"low\":\"1\",\"high\":\"1\",\"open\":\"1\","
	    "\"close\":\"9\",\"volume\":\"1\"},{\"start\":\"1700870400\",\"low\":\"1990\",\"high\":\"2010\",\"open\":"
	    "\"2000\",\"close\":\"2000.50\",\"volume\":\"12.5\"},{\"start\":\"1700784000\",\"close\":\"7\"}]}");
	assert_int_equal(o.result, XR_OK);
	assert_int_equal(rec.nprices, 2);	/* not the day before the window */
	assert_string_equal(rec.price_sym[0], "ETH/USD");
	assert_int_equal(rec.price_day[0], 1700956800000LL);
	assert_string_equal(rec.price_val[0], "9");
	assert_int_equal(rec.price_day[1], 1700870400000LL);
	assert_string_equal(rec.price_val[1], "2000.5");
	expect_req(&c, &q, BASE "/api/v3/brokerage/market/products/BTC-USD/candles?start=1700870400&end=1701043199"
	    "&granularity=ONE_DAY", false, NULL);
	o = reply(&c, &q, 200, "{\"candles\":[]}");
	assert_int_equal(o.result, XR_OK);
	/* SOL is held and never traded: its closes value it (not DOGE at 0,
	 * not "X-Y", which names no product) */
	expect_req(&c, &q, BASE "/api/v3/brokerage/market/products/SOL-USD/candles?start=1700870400&end=1701043199"
	    "&granularity=ONE_DAY", false, NULL);
	o = reply(&c, &q, 200, "{\"candles\":[]}");
	assert_int_equal(o.result, XR_OK);
	assert_int_equal(c.ops->next(&c, &cred, NOW, &q, &err), 0);

	/* Incremental: no validation, no clock sync within the hour, the bound
	 * is the newest sequence_timestamp (compared as times: .507001 > .5). */
	c.ops->begin(&c, NOW + 60000);
	expect_req(&c, &q, FILLS "&start_sequence_timestamp=2023-11-26T10%3A19%3A47.507001Z", true, "api.coinbase.com");
	o = reply(&c, &q, 200, "{\"fills\":[{\"trade_id\":\"t5\",\"order_id\":\"o5\",\"trade_time\":"
	    "\"2023-11-26T10:30:00.4Z\",\"price\":\"3\",\"size\":\"1\",\"commission\":\"0\",\"product_id\":\"ETH-USD\","
	    "\"sequence_timestamp\":\"2023-11-26T10:30:00.5Z\",\"liquidity_indicator\":\"MAKER\",\"size_in_quote\":false,"
	    "\"side\":\"SELL\"},{\"trade_id\":\"t4\",\"order_id\":\"o4\",\"trade_time\":\"2023-11-26T10:30:00.3Z\","
	    "\"price\":\"3\",\"size\":\"1\",\"commission\":\"0\",\"product_id\":\"ETH-USD\",\"sequence_timestamp\":"
	    "\"2023-11-26T10:30:00.507001Z\",\"liquidity_indicator\":\"MAKER\",\"size_in_quote\":false,\"side\":\"BUY\"}],"
	    "\"cursor\":\"\"}");
	assert_int_equal(o.result, XR_OK);
	assert_int_equal(rec.nfills, 4);
	assert_int_equal(rec.fills[2].role, FILL_MAKER);
	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	o = reply(&c, &q, 200, "{\"accounts\":[],\"has_next\":false,\"cursor\":\"\"}");
	assert_int_equal(o.result, XR_OK);
	assert_int_equal(c.ops->next(&c, &cred, NOW + 60000, &q, &err), 0);	/* candles are up to date */
	c.ops->begin(&c, NOW + 120000);
	expect_req(&c, &q, FILLS "&start_sequence_timestamp=2023-11-26T10%3A30%3A00.507001Z", true, "api.coinbase.com");
	xreq_clear(&q);
	xconn_close(&c);
}

/* Starts a connector at the fills step (validated, clock synced). */
static void
to_fills(struct xconn *c, struct xreq *q, const char *base, const char *host)
{
	(void)host;
	open_conn(c, base);
	c->validated = true;
	c->ops->begin(c, NOW);
	sync_clock(c, q, base != NULL ? base : BASE, NOW);
}

static void
assert_outcome(struct xoutcome o, enum xresult r, const char *in_error)
{
	assert_int_equal(o.result, r);
	if (in_error != NULL && strstr(o.error, in_error) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", o.error, in_error);
}

static void
test_errors(void **state)
{
	struct xconn c;
	struct xreq q = { 0 };
	struct xoutcome o;
	char buf[256];

	(void)state;
	to_fills(&c, &q, BASE, "api.coinbase.com");
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	/* a 401 is XR_AUTH; the poller doubts it: resync, then the same step */
	assert_outcome(reply(&c, &q, 401, "Unauthorized"), XR_AUTH, "401: Unauthorized");
	c.ops->resync(&c);
	sync_clock(&c, &q, BASE, NOW);
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 401, "Unauthorized"), XR_AUTH, "401: Unauthorized");
	assert_outcome(reply(&c, &q, 403, "{\"error\":\"unknown\",\"error_details\":\"Missing required scopes\","
	    "\"message\":\"Missing required scopes\"}"), XR_AUTH, "Missing required scopes");
	resp_hdr_name = "Retry-After", resp_hdr_value = "2";
	o = reply(&c, &q, 429, "{\"error\":\"RATE_LIMIT_EXCEEDED\",\"message\":\"Too many requests\"}");
	assert_outcome(o, XR_RATE_LIMITED, "RATE_LIMIT_EXCEEDED");
	assert_int_equal(o.retry_after_ms, 2000);
	resp_hdr_name = "x-ratelimit-reset", resp_hdr_value = "3";
	assert_int_equal(reply(&c, &q, 429, "").retry_after_ms, 3000);
	snprintf(buf, sizeof(buf), "%lld", NOW / 1000 + 5);
	resp_hdr_value = buf;
	assert_int_equal(reply(&c, &q, 429, "").retry_after_ms, 5000);
	resp_hdr_name = NULL;
	assert_int_equal(reply(&c, &q, 429, "").retry_after_ms, 0);
	assert_outcome(reply(&c, &q, 500, "{\"error\":\"INTERNAL\",\"message\":\"oops\"}"), XR_RETRY, "500 INTERNAL: oops");
	assert_outcome(reply(&c, &q, 502, "<html>bad gateway</html>"), XR_RETRY, "502");
	assert_outcome(reply(&c, &q, 503, ""), XR_RETRY, "503");
	assert_outcome(reply(&c, &q, 0, ""), XR_RETRY, "transport");
	snprintf(buf, sizeof(buf), "%.200s", FIXTURE);	/* truncated */
	assert_outcome(reply(&c, &q, 200, buf), XR_RETRY, "malformed");
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[1,2"), XR_RETRY, "malformed");
	assert_outcome(reply(&c, &q, 200, "nonsense"), XR_RETRY, "malformed");
	assert_outcome(reply(&c, &q, 200, "{\"cursor\":\"\"}"), XR_RETRY, "shape");
	assert_outcome(reply(&c, &q, 400, "{\"error\":\"INVALID_ARGUMENT\",\"error_details\":\"bad cursor\","
	    "\"message\":\"bad cursor\"}"), XR_FATAL, "400 INVALID_ARGUMENT: bad cursor");
	assert_int_equal(rec.nfills, 0);
	/* After all that the step is the same request again. */
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	/* A fill that cannot be parsed is fatal, naming the field. */
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[{\"trade_id\":\"t9\",\"trade_time\":\"2023-11-26T10:00:00Z\","
	    "\"price\":\"1\",\"size\":\"1e-30\",\"commission\":\"0\",\"product_id\":\"BTC-USD\",\"side\":"
	    "\"BUY\"}],\"cursor\":\"\"}"), XR_FATAL, "bad size");
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[{\"trade_id\":\"t9\",\"trade_time\":\"26 Nov 2023\","
	    "\"price\":\"1\",\"size\":\"1\",\"commission\":\"0\",\"product_id\":\"BTC-USD\",\"side\":"
	    "\"BUY\"}],\"cursor\":\"\"}"), XR_FATAL, "bad trade_time");
	/* A cursor that does not advance would loop forever. */
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[{\"trade_id\":\"t9\",\"trade_time\":\"2023-11-26T10:00:00Z\","
	    "\"price\":\"1\",\"size\":\"1\",\"commission\":\"0\",\"product_id\":\"BTC-USD\",\"side\":"
	    "\"BUY\"}],\"cursor\":\"c1\"}"), XR_OK, NULL);
	expect_req(&c, &q, FILLS "&cursor=c1", true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[{\"trade_id\":\"t9\",\"trade_time\":\"2023-11-26T10:00:00Z\","
	    "\"price\":\"1\",\"size\":\"1\",\"commission\":\"0\",\"product_id\":\"BTC-USD\",\"side\":"
	    "\"BUY\"}],\"cursor\":\"c1\"}"), XR_FATAL, "did not advance");
	xreq_clear(&q);
	xconn_close(&c);
}

static void
test_validation(void **state)
{
	struct xconn c;
	struct xreq q = { 0 };
	const char *err = NULL;
	struct credential bad = cred;

	(void)state;
	/* 404 on /time: no clock to sync to, the offset stays; 404 on
	 * key_permissions: the fills request validates instead. */
	open_conn(&c, "http://127.0.0.1:8080/");
	c.ops->begin(&c, NOW);
	expect_req(&c, &q, "http://127.0.0.1:8080/api/v3/brokerage/time", false, NULL);
	assert_outcome(reply(&c, &q, 404, "{\"error\":\"not found\"}"), XR_OK, NULL);
	assert_int_equal(c.clock_offset_ms, 0);
	expect_req(&c, &q, "http://127.0.0.1:8080/api/v3/brokerage/key_permissions", true, "127.0.0.1:8080");
	assert_outcome(reply(&c, &q, 404, "{\"error\":\"NOT_FOUND\"}"), XR_OK, NULL);
	assert_false(c.validated);
	expect_req(&c, &q, "http://127.0.0.1:8080/api/v3/brokerage/orders/historical/fills?limit=250", true,
	    "127.0.0.1:8080");
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[],\"cursor\":\"\"}"), XR_OK, NULL);
	assert_true(c.validated);
	assert_int_equal(rec.perms, -1);
	assert_string_equal(c.degraded[XPART_PERMISSIONS], "");	/* no such endpoint is no degradation */
	xconn_close(&c);
	/* A key without the view permission is refused. */
	open_conn(&c, NULL);
	c.ops->begin(&c, NOW);
	sync_clock(&c, &q, BASE, NOW);
	expect_req(&c, &q, BASE "/api/v3/brokerage/key_permissions", true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"can_view\":false,\"can_trade\":false,\"can_transfer\":false}"), XR_AUTH,
	    "view");
	assert_outcome(reply(&c, &q, 200, "{\"can_view\":\"yes\"}"), XR_RETRY, "shape");
	/* accounts (a side step): has_next without a cursor degrades the
	 * balances, the cycle goes on */
	c.validated = true;
	c.ops->begin(&c, NOW);
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[],\"cursor\":\"\"}"), XR_OK, NULL);
	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"accounts\":[{\"currency\":\"BTC\"}],\"has_next\":false}"), XR_RETRY,
	    "shape");
	assert_outcome(reply(&c, &q, 200, "{\"accounts\":[],\"has_next\":true,\"cursor\":\"\"}"), XR_OK, NULL);
	assert_non_null(strstr(c.degraded[XPART_BALANCES], "balances: has_next without a new cursor"));
	assert_int_equal(rec.nbals, 0);
	assert_int_equal(c.ops->next(&c, &cred, NOW, &q, &err), 0);
	/* A secret that is no key: next() fails, no request. */
	c.ops->begin(&c, NOW);
	bad.secret = "bm90IGEga2V5";
	bad.secret_len = strlen(bad.secret);
	assert_int_equal(c.ops->next(&c, &bad, NOW, &q, &err), -1);
	assert_non_null(strstr(err, "secret"));
	xreq_clear(&q);
	xconn_close(&c);
}

/* A 403 (missing scopes) on a side step degrades that part; on the fills
 * the key cannot do its job: invalid. */
static void
test_side_step_refusals(void **state)
{
	struct xconn c;
	struct xreq q = { 0 };
	const char *err = NULL;
	const char *scopes = "{\"error\":\"unknown\",\"error_details\":\"Missing required scopes\","
	    "\"message\":\"Missing required scopes\"}";

	(void)state;
	open_conn(&c, NULL);
	c.ops->begin(&c, NOW);
	sync_clock(&c, &q, BASE, NOW);
	expect_req(&c, &q, BASE "/api/v3/brokerage/key_permissions", true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 403, scopes), XR_OK, NULL);
	assert_non_null(strstr(c.degraded[XPART_PERMISSIONS], "permissions unavailable: coinbase HTTP 403"));
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, FIXTURE), XR_OK, NULL);
	expect_req(&c, &q, FILLS "&cursor=114994851", true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[],\"cursor\":\"\"}"), XR_OK, NULL);
	assert_true(c.validated);
	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 403, scopes), XR_OK, NULL);
	assert_non_null(strstr(c.degraded[XPART_BALANCES], "balances unavailable: coinbase HTTP 403 unknown: Missing required scopes"));
	assert_int_equal(rec.nfills, 2);
	/* the closes go on without the balances */
	expect_req(&c, &q, BASE "/api/v3/brokerage/market/products/ADA-USDT/candles?start=1700870400&end=1701043199"
	    "&granularity=ONE_DAY", false, NULL);
	xconn_close(&c);
	to_fills(&c, &q, BASE, "api.coinbase.com");
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 403, scopes), XR_AUTH, "Missing required scopes");
	(void)err;
	xreq_clear(&q);
	xconn_close(&c);
}

static void
test_backfill_from(void **state)
{
	struct xconn c;
	struct xconf conf = { .market = FILL_SPOT, .backfill_from_ms = 1700000000000LL };
	struct xreq q = { 0 };
	const char *err = NULL;

	(void)state;
	assert_int_equal(xconn_open(&c, &exchange_coinbase, &conf, &err), 0);
	memset(&rec, 0, sizeof(rec));
	c.validated = true;
	c.ops->begin(&c, NOW);
	sync_clock(&c, &q, BASE, NOW);
	expect_req(&c, &q, FILLS "&start_sequence_timestamp=2023-11-14T22%3A13%3A20.000Z", true, "api.coinbase.com");
	/* an empty history: the walk completes, no candles, nothing to mark */
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[],\"cursor\":\"\"}"), XR_OK, NULL);
	assert_true(c.backfill_done);
	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"accounts\":[],\"has_next\":false}"), XR_OK, NULL);
	assert_int_equal(c.ops->next(&c, &cred, NOW, &q, &err), 0);
	xreq_clear(&q);
	xconn_close(&c);
}

/* ---- driving whole cycles on canned answers ---- */

struct canned {
	const char *url_part;	/* first answer whose url_part is in the URL */
	long status;
	const char *body;
};

/* Runs a cycle at now (begin, then next/handle until next() says done),
 * answering from table; fails past max requests (a cycle that does not
 * end). Returns the number of requests. Records every URL in urls. */
static size_t
drive(struct xconn *c, int64_t now, const struct canned *table, size_t max, char urls[][256])
{
	struct xreq q = { 0 };
	const char *err = NULL;
	size_t n = 0;
	int rc;

	c->ops->begin(c, now);
	while ((rc = c->ops->next(c, &cred, now, &q, &err)) == 1) {
		const struct canned *a = table;
		struct xresp r = { 0 };
		struct xoutcome o;

		if (n == max)
			fail_msg("the cycle is not over after %zu requests (last %s)", n, q.url);
		if (urls != NULL)
			snprintf(urls[n], 256, "%s", q.url);
		/* the part each request serves and the pool it is charged to */
		assert_int_equal(q.weight, 1);
		if (strstr(q.url, "/candles") != NULL || strstr(q.url, "/time") != NULL)
			assert_int_equal(q.pool, 1);
		else
			assert_int_equal(q.pool, 0);
		assert_int_equal(q.part, strstr(q.url, "/candles") != NULL ? XPART_PRICES : strstr(q.url, "/accounts") ?
		    XPART_BALANCES : strstr(q.url, "/key_permissions") ? XPART_PERMISSIONS : XPART_FILLS);
		n++;
		while (a->url_part != NULL && strstr(q.url, a->url_part) == NULL)
			a++;
		if (a->url_part == NULL)
			fail_msg("no canned answer for %s", q.url);
		r = (struct xresp){ a->status, a->body, strlen(a->body), now, hdr, NULL };
		c->ops->handle(c, &q, &r, &sink, &o);
		if (o.result != XR_OK)
			fail_msg("%s: %d %s", q.url, (int)o.result, o.error);
		xreq_clear(&q);
	}
	assert_int_equal(rc, 0);
	xreq_clear(&q);
	return n;
}

#define ONE_FILL(id, time, product, side) \
	"{\"trade_id\":\"" id "\",\"order_id\":\"o\",\"trade_time\":\"" time "\",\"trade_type\":\"FILL\"," \
	"\"price\":\"2\",\"size\":\"1\",\"commission\":\"0.01\",\"product_id\":\"" product "\"," \
	"\"sequence_timestamp\":\"" time "\",\"liquidity_indicator\":\"MAKER\",\"size_in_quote\":false," \
	"\"side\":\"" side "\"}"
#define EMPTY_CANDLES "{\"candles\":[]}"
#define TIME_NOW "{\"iso\":\"2023-11-26T10:36:40Z\",\"epochSeconds\":\"1700995000\",\"epochMillis\":\"1700995000000\"}"

/*
 * Issue #9: a held currency whose <CUR>-USD product answers 404 was asked
 * again forever (the 404 path moved next_day_ms but not today_at_ms): the
 * cycle never ended, so its fills were never applied. Now the cycle ends,
 * the prices part says why it is incomplete, and the product is asked again
 * at most hourly.
 */
static void
test_missing_product(void **state)
{
	static const struct canned table[] = {
		{ "/time", 200, TIME_NOW },
		{ "/key_permissions", 404, "{\"error\":\"NOT_FOUND\"}" },
		{ "/orders/historical/fills", 200, "{\"fills\":[" ONE_FILL("t1", "2023-11-20T10:00:00Z", "ETH-USD", "BUY")
		    "],\"cursor\":\"\"}" },
		{ "/accounts", 200, "{\"accounts\":[{\"currency\":\"XYZ\",\"available_balance\":{\"value\":\"5\"},"
		    "\"hold\":{\"value\":\"0\"}},{\"currency\":\"ETH\",\"available_balance\":{\"value\":\"1\"},"
		    "\"hold\":{\"value\":\"0\"}}],\"has_next\":false,\"cursor\":\"\"}" },
		{ "/products/XYZ-USD/", 404, "{\"error\":\"NOT_FOUND\",\"error_details\":\"ProductID is invalid\","
		    "\"message\":\"ProductID is invalid\"}" },
		{ "/candles", 200, EMPTY_CANDLES },
		{ NULL, 0, NULL },
	};
	char urls[16][256];
	struct xconn c;
	size_t n, xyz = 0;

	(void)state;
	open_conn(&c, NULL);
	/* time, permissions, fills, accounts, ETH-USD, BTC-USD, XYZ-USD */
	n = drive(&c, NOW, table, 16, urls);
	assert_int_equal(n, 7);
	for (size_t i = 0; i < n; i++)
		xyz += strstr(urls[i], "XYZ-USD") != NULL;
	assert_int_equal(xyz, 1);
	assert_int_equal(rec.nfills, 1);
	assert_true(c.backfill_done);
	assert_non_null(strstr(c.degraded[XPART_PRICES], "prices: no USD product for XYZ"));
	/* the next cycle within the hour: fills and balances only, and the
	 * prices part still says what is missing */
	n = drive(&c, NOW + 60000, table, 16, urls);
	assert_int_equal(n, 2);
	assert_non_null(strstr(c.degraded[XPART_PRICES], "prices: no USD product for XYZ"));
	/* an hour later: the clock, the running day of each product, and
	 * XYZ-USD once */
	n = drive(&c, NOW + 3600000 + 60000, table, 16, urls);
	assert_int_equal(n, 6);
	xyz = 0;
	for (size_t i = 0; i < n; i++)
		xyz += strstr(urls[i], "XYZ-USD") != NULL;
	assert_int_equal(xyz, 1);
	xconn_close(&c);
}

/* JWT nbf/exp come from the exchange's clock. */
static void
test_clock(void **state)
{
	struct xconn c;
	struct xreq q = { 0 };
	const char *err = NULL;
	EVP_PKEY *pub;
	const char *jwt;

	(void)state;
	open_conn(&c, NULL);
	c.ops->begin(&c, NOW);
	/* the server's clock 90 s behind ours */
	sync_clock(&c, &q, BASE, NOW - 90000);
	assert_int_equal(c.ops->next(&c, &cred, NOW, &q, &err), 1);
	jwt = q.headers[0].value + 7;
	pub = sign_coinbase_public(SECRET, strlen(SECRET), &err);
	/* valid on the server's clock; a JWT on our clock would not be (nbf
	 * 90 s in its future, beyond the 60 s allowance) */
	assert_int_equal(sign_coinbase_verify(jwt, strlen(jwt), pub, KEY, "GET", "api.coinbase.com",
	    "/api/v3/brokerage/key_permissions", NOW / 1000 - 90, &err), 0);
	assert_int_equal(sign_coinbase_verify(jwt, strlen(jwt), pub, KEY, "GET", "api.coinbase.com",
	    "/api/v3/brokerage/key_permissions", NOW / 1000 + 31, &err), -1);
	EVP_PKEY_free(pub);
	/* epochSeconds alone (ccxt reads that one) and the iso text alone do */
	c.ops->begin(&c, NOW + 2 * 3600000);
	expect_req(&c, &q, TIME, false, NULL);
	assert_outcome(reply(&c, &q, 200, "{\"epochSeconds\":\"1700994000\"}"), XR_OK, NULL);
	assert_int_equal(c.clock_offset_ms, 1700994000000LL - NOW);
	c.ops->begin(&c, NOW + 4 * 3600000);
	expect_req(&c, &q, TIME, false, NULL);
	assert_outcome(reply(&c, &q, 200, "{\"iso\":\"2023-11-26T10:36:30Z\"}"), XR_OK, NULL);
	assert_int_equal(c.clock_offset_ms, -10000);
	assert_outcome(reply(&c, &q, 200, "{\"epochMillis\":\"12a\"}"), XR_RETRY, "shape");
	assert_outcome(reply(&c, &q, 503, ""), XR_RETRY, "503");
	/* resync (the poller's, after a 401) syncs, then repeats the same page */
	c.validated = true;
	c.ops->begin(&c, NOW);	/* synced at NOW (the replies' receipt time) */
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 401, "Unauthorized"), XR_AUTH, "401");
	c.ops->resync(&c);
	sync_clock(&c, &q, BASE, NOW);
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[" ONE_FILL("t1", "2023-11-20T10:00:00Z", "ETH-USD", "BUY")
	    "],\"cursor\":\"c2\"}"), XR_OK, NULL);
	expect_req(&c, &q, FILLS "&cursor=c2", true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 401, "Unauthorized"), XR_AUTH, "401");
	c.ops->resync(&c);
	sync_clock(&c, &q, BASE, NOW);
	expect_req(&c, &q, FILLS "&cursor=c2", true, "api.coinbase.com");	/* the same page again */
	assert_outcome(reply(&c, &q, 401, "Unauthorized"), XR_AUTH, "401");
	xreq_clear(&q);
	xconn_close(&c);
}

/*
 * The closes begin on the account's first day for every product: BTC was
 * held (bought with ETH-BTC) nine days before BTC-USD's first fill, and
 * SOL is held and never traded.
 */
static void
test_first_day(void **state)
{
	static const struct canned table[] = {
		{ "/time", 200, TIME_NOW },
		{ "/key_permissions", 404, "{}" },
		{ "/orders/historical/fills", 200, "{\"fills\":["
		    ONE_FILL("t3", "2023-11-25T10:00:00Z", "BTC-USD", "SELL") ","
		    ONE_FILL("t2", "2023-11-16T10:00:00Z", "ETH-BTC", "SELL") ","
		    ONE_FILL("t1", "2023-11-16T09:00:00Z", "ETH-USD", "BUY") "],\"cursor\":\"\"}" },
		{ "/accounts", 200, "{\"accounts\":[{\"currency\":\"BTC\",\"available_balance\":{\"value\":\"1\"},"
		    "\"hold\":{\"value\":\"0\"}},{\"currency\":\"SOL\",\"available_balance\":{\"value\":\"3\"},"
		    "\"hold\":{\"value\":\"0\"}}],\"has_next\":false,\"cursor\":\"\"}" },
		{ "/candles", 200, EMPTY_CANDLES },
		{ NULL, 0, NULL },
	};
	static const struct canned older[] = {
		{ "/orders/historical/fills", 200, "{\"fills\":[" ONE_FILL("t0", "2023-11-10T09:00:00Z", "ETH-USD", "BUY")
		    "],\"cursor\":\"\"}" },
		{ "/accounts", 200, "{\"accounts\":[],\"has_next\":false,\"cursor\":\"\"}" },
		{ "/candles", 200, EMPTY_CANDLES },
		{ NULL, 0, NULL },
	};
	char urls[16][256];
	struct xconn c;
	size_t n, ncandles = 0;

	(void)state;
	open_conn(&c, NULL);
	n = drive(&c, NOW, table, 16, urls);
	for (size_t i = 0; i < n; i++)
		if (strstr(urls[i], "/candles") != NULL) {
			/* 2023-11-16, the day of the oldest fill */
			if (strstr(urls[i], "start=1700092800&end=1701043199&") == NULL)
				fail_msg("%s does not start on the account's first day", urls[i]);
			ncandles++;
		}
	assert_int_equal(ncandles, 4);	/* BTC-USD (also the benchmark), ETH-BTC, ETH-USD, SOL-USD */
	/* an older fill moves the first day back: every product again from it */
	n = drive(&c, NOW + 60000, older, 16, urls);
	ncandles = 0;
	for (size_t i = 0; i < n; i++)
		if (strstr(urls[i], "/candles") != NULL) {
			if (strstr(urls[i], "start=1699574400&end=1701043199&") == NULL)
				fail_msg("%s does not start on the new first day", urls[i]);
			ncandles++;
		}
	assert_int_equal(ncandles, 4);
	xconn_close(&c);
	/* no fill at all: the held currencies' closes from today */
	{
		static const struct canned none[] = {
			{ "/time", 200, TIME_NOW },
			{ "/key_permissions", 404, "{}" },
			{ "/orders/historical/fills", 200, "{\"fills\":[],\"cursor\":\"\"}" },
			{ "/accounts", 200, "{\"accounts\":[{\"currency\":\"SOL\",\"available_balance\":{\"value\":\"3\"},"
			    "\"hold\":{\"value\":\"0\"}}],\"has_next\":false,\"cursor\":\"\"}" },
			{ "/candles", 200, EMPTY_CANDLES },
			{ NULL, 0, NULL },
		};
		open_conn(&c, NULL);
		n = drive(&c, NOW, none, 16, urls);
		assert_int_equal(n, 6);
		assert_non_null(strstr(urls[4], "/products/BTC-USD/candles?start=1700956800&"));
		assert_non_null(strstr(urls[5], "/products/SOL-USD/candles?start=1700956800&"));
		xconn_close(&c);
	}
}

/*
 * Adjusted fills (trade_type REVERSAL, CORRECTION, SYNTHETIC) are trades
 * as ccxt takes them, under an id of their own; a fill whose side is
 * UNKNOWN_ORDER_SIDE is rejected alone, counted and stated, and the walk
 * goes on.
 */
static void
test_fill_kinds(void **state)
{
	static const struct canned table[] = {
		{ "/time", 200, TIME_NOW },
		{ "/key_permissions", 404, "{}" },
		{ "cursor=p2", 200, "{\"fills\":[" ONE_FILL("t1", "2023-11-20T10:00:00Z", "ETH-USD", "BUY")
		    "],\"cursor\":\"\"}" },
		{ "/orders/historical/fills", 200, "{\"fills\":["
		    "{\"entry_id\":\"0123456789abcdef0123\",\"trade_id\":\"t1\",\"order_id\":\"o\",\"trade_time\":"
		    "\"2023-11-20T10:00:00Z\",\"trade_type\":\"REVERSAL\",\"price\":\"2\",\"size\":\"1\",\"commission\":"
		    "\"-0.01\",\"product_id\":\"ETH-USD\",\"sequence_timestamp\":\"2023-11-21T10:00:00Z\","
		    "\"liquidity_indicator\":\"MAKER\",\"size_in_quote\":false,\"side\":\"SELL\"},"
		    "{\"trade_id\":\"t7\",\"order_id\":\"o\",\"trade_time\":\"2023-11-20T11:00:00Z\",\"trade_type\":"
		    "\"CORRECTION\",\"price\":\"2\",\"size\":\"1\",\"commission\":\"0\",\"product_id\":\"ETH-USD\","
		    "\"sequence_timestamp\":\"2023-11-21T09:00:00Z\",\"liquidity_indicator\":\"TAKER\",\"size_in_quote\":"
		    "false,\"side\":\"BUY\"},"
		    ONE_FILL("t5", "2023-11-20T12:00:00Z", "ETH-USD", "UNKNOWN_ORDER_SIDE") "],\"cursor\":\"p2\"}" },
		{ "/accounts", 200, "{\"accounts\":[],\"has_next\":false,\"cursor\":\"\"}" },
		{ "/candles", 200, EMPTY_CANDLES },
		{ NULL, 0, NULL },
	};
	static const struct canned later[] = {
		{ "/orders/historical/fills", 200, "{\"fills\":[],\"cursor\":\"\"}" },
		{ "/accounts", 200, "{\"accounts\":[],\"has_next\":false,\"cursor\":\"\"}" },
		{ NULL, 0, NULL },
	};
	struct xconn c;

	(void)state;
	open_conn(&c, NULL);
	drive(&c, NOW, table, 16, NULL);
	assert_int_equal(rec.nfills, 3);
	assert_string_equal(rec.fills[0].id, "t1/REVERSAL/0123456789abcdef");
	assert_int_equal(rec.fills[0].side, FILL_SELL);
	assert_dec(rec.fills[0].fees[0].cost, "-0.01");
	assert_string_equal(rec.fills[1].id, "t7/CORRECTION/");
	assert_string_equal(rec.fills[2].id, "t1");	/* the fill the reversal reverses */
	assert_int_equal(rec.fills[2].timestamp, rec.fills[0].timestamp);
	assert_non_null(strstr(c.degraded[XPART_FILLS], "1 fills rejected: side unknown (first trade_id t5)"));
	assert_non_null(strstr(c.progress, "2 adjusted"));
	assert_true(c.backfill_done);
	/* said again in later cycles */
	drive(&c, NOW + 60000, later, 16, NULL);
	assert_non_null(strstr(c.degraded[XPART_FILLS], "1 fills rejected"));
	xconn_close(&c);
}

/* The poller gives up on a side step (ops->skip): the cycle goes on. */
static void
test_skip(void **state)
{
	struct xconn c;
	struct xreq q = { 0 };
	const char *err = NULL;

	(void)state;
	to_fills(&c, &q, BASE, "api.coinbase.com");
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[" ONE_FILL("t1", "2023-11-26T10:00:00Z", "ETH-USD", "BUY")
	    "],\"cursor\":\"\"}"), XR_OK, NULL);
	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 503, ""), XR_RETRY, "503");
	(*c.ops->skip)(&c, &q);
	expect_req(&c, &q, BASE "/api/v3/brokerage/market/products/ETH-USD/candles?start=1700956800&end=1701043199"
	    "&granularity=ONE_DAY", false, NULL);
	assert_outcome(reply(&c, &q, 503, ""), XR_RETRY, "503");
	(*c.ops->skip)(&c, &q);
	expect_req(&c, &q, BASE "/api/v3/brokerage/market/products/BTC-USD/candles?start=1700956800&end=1701043199"
	    "&granularity=ONE_DAY", false, NULL);
	assert_outcome(reply(&c, &q, 200, EMPTY_CANDLES), XR_OK, NULL);
	assert_int_equal(c.ops->next(&c, &cred, NOW, &q, &err), 0);
	assert_int_equal(rec.nfills, 1);
	xreq_clear(&q);
	xconn_close(&c);
}

/* Coinbase Advanced Trade's documented example responses, verbatim
 * (docs.cdp.coinbase.com api-reference/advanced-trade-api/rest-api:
 * orders/list-fills, accounts/list-accounts, public/get-public-product-candles),
 * and the documented 403 body of a key without the view scope (exchanges.md
 * 5.5), through the connector: what ccxt would make of them, exactly. */
static const char DOC_FILLS[] = "{\n"
    "  \"fills\": [\n"
    "    {\n"
    "      \"entry_id\": \"22222-2222222-22222222\",\n"
    "      \"trade_id\": \"1111-11111-111111\",\n"
    "      \"order_id\": \"0000-000000-000000\",\n"
    "      \"trade_time\": \"2021-05-31T09:59:59.000Z\",\n"
    "      \"trade_type\": \"FILL\",\n"
    "      \"price\": \"10000.00\",\n"
    "      \"size\": \"0.001\",\n"
    "      \"commission\": \"1.25\",\n"
    "      \"product_id\": \"BTC-USD\",\n"
    "      \"sequence_timestamp\": \"2021-05-31T09:58:59.000Z\",\n"
    "      \"liquidity_indicator\": \"UNKNOWN_LIQUIDITY_INDICATOR\",\n"
    "      \"size_in_quote\": false,\n"
    "      \"user_id\": \"3333-333333-3333333\",\n"
    "      \"side\": \"BUY\",\n"
    "      \"retail_portfolio_id\": \"4444-444444-4444444\",\n"
    "      \"fillSource\": \"FILL_SOURCE_UNKNOWN\",\n"
    "      \"commission_detail_total\": {\n"
    "        \"total_commission\": \"<string>\",\n"
    "        \"gst_commission\": \"<string>\",\n"
    "        \"withholding_commission\": \"<string>\",\n"
    "        \"client_commission\": \"<string>\"\n"
    "      }\n"
    "    }\n"
    "  ],\n"
    "  \"cursor\": \"789100\"\n"
    "}\n";

static const char DOC_ACCOUNTS[] = "{\n"
    "  \"accounts\": [\n"
    "    {\n"
    "      \"uuid\": \"8bfc20d7-f7c6-4422-bf07-8243ca4169fe\",\n"
    "      \"name\": \"BTC Wallet\",\n"
    "      \"currency\": \"BTC\",\n"
    "      \"available_balance\": {\n"
    "        \"value\": \"1.23\",\n"
    "        \"currency\": \"BTC\"\n"
    "      },\n"
    "      \"default\": false,\n"
    "      \"active\": true,\n"
    "      \"created_at\": \"2021-05-31T09:59:59.000Z\",\n"
    "      \"updated_at\": \"2021-05-31T09:59:59.000Z\",\n"
    "      \"deleted_at\": \"2021-05-31T09:59:59.000Z\",\n"
    "      \"type\": \"FIAT\",\n"
    "      \"ready\": true,\n"
    "      \"hold\": {\n"
    "        \"value\": \"1.23\",\n"
    "        \"currency\": \"BTC\"\n"
    "      },\n"
    "      \"retail_portfolio_id\": \"b87a2d3f-8a1e-49b3-a4ea-402d8c389aca\",\n"
    "      \"platform\": \"ACCOUNT_PLATFORM_CONSUMER\"\n"
    "    }\n"
    "  ],\n"
    "  \"has_next\": true,\n"
    "  \"cursor\": \"789100\",\n"
    "  \"size\": 123\n"
    "}\n";

static const char DOC_CANDLES[] = "{\n"
    "  \"candles\": [\n"
    "    {\n"
    "      \"start\": \"1639508050\",\n"
    "      \"low\": \"140.21\",\n"
    "      \"high\": \"140.21\",\n"
    "      \"open\": \"140.21\",\n"
    "      \"close\": \"140.21\",\n"
    "      \"volume\": \"56437345\"\n"
    "    }\n"
    "  ]\n"
    "}\n";

static void
test_documented_examples(void **state)
{
	struct xconn c;
	struct xreq q = { 0 };
	const char *err = NULL;
	const struct fill *f;
	char *body;

	(void)state;
	/* the documented 403 (missing scopes) on the fills: the key is refused */
	to_fills(&c, &q, BASE, "api.coinbase.com");
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 403, "{\"error\":\"unknown\",\"error_details\":\"Missing required scopes\","
	    "\"message\":\"Missing required scopes\"}"), XR_AUTH, "coinbase HTTP 403 unknown: Missing required scopes");
	xreq_clear(&q);
	xconn_close(&c);

	to_fills(&c, &q, BASE, "api.coinbase.com");
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, DOC_FILLS), XR_OK, NULL);
	assert_int_equal(rec.nfills, 1);
	f = &rec.fills[0];
	assert_string_equal(f->id, "1111-11111-111111");
	assert_string_equal(f->order, "0000-000000-000000");
	assert_int_equal(f->timestamp, 1622455199000LL);
	assert_string_equal(f->symbol, "BTC/USD");
	assert_int_equal(f->side, FILL_BUY);
	assert_int_equal(f->role, FILL_ROLE_UNKNOWN);
	assert_dec(f->price, "10000");
	assert_dec(f->amount, "0.001");
	assert_false(f->has_cost);
	assert_int_equal(f->nfees, 1);
	assert_dec(f->fees[0].cost, "1.25");
	assert_string_equal(f->fees[0].currency, "USD");
	assert_int_equal(f->market, FILL_SPOT);
	/* the example's cursor is followed; an empty page ends the walk */
	expect_req(&c, &q, FILLS "&cursor=789100", true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[],\"cursor\":\"\"}"), XR_OK, NULL);
	assert_true(c.backfill_done);

	/* accounts: available + hold, the next page by the example's cursor */
	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, DOC_ACCOUNTS), XR_OK, NULL);
	assert_int_equal(rec.nbals, 0);
	expect_req(&c, &q, ACCTS "&cursor=789100", true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"accounts\":[],\"has_next\":false,\"cursor\":\"\",\"size\":0}"), XR_OK,
	    NULL);
	assert_int_equal(rec.nbals, 1);
	assert_string_equal(rec.bal_cur[0], "BTC");
	assert_string_equal(rec.bal_val[0], "2.46");

	/* candles of BTC-USD from the fill's day: the documented candle
	 * starts mid-day (a placeholder): not a daily close, none taken; the
	 * same candle at a day's start is that day's close */
	assert_int_equal(c.ops->next(&c, &cred, NOW, &q, &err), 1);
	assert_non_null(strstr(q.url, "/api/v3/brokerage/market/products/BTC-USD/candles?start=1622419200&end="));
	assert_outcome(reply(&c, &q, 200, DOC_CANDLES), XR_OK, NULL);
	assert_int_equal(rec.nprices, 0);
	xreq_clear(&q);
	xconn_close(&c);
	to_fills(&c, &q, BASE, "api.coinbase.com");
	expect_req(&c, &q, FILLS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[],\"cursor\":\"\"}"), XR_OK, NULL);
	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"accounts\":[{\"currency\":\"BTC\",\"available_balance\":{\"value\":\"1\"},"
	    "\"hold\":{\"value\":\"0\"}}],\"has_next\":false,\"cursor\":\"\"}"), XR_OK, NULL);
	assert_int_equal(c.ops->next(&c, &cred, NOW, &q, &err), 1);
	assert_non_null(strstr(q.url, "/market/products/BTC-USD/candles?"));
	body = xstrdup(DOC_CANDLES);
	memcpy(strstr(body, "1639508050"), "1700956800", 10);	/* 2023-11-26T00:00:00Z: today, the window */
	assert_outcome(reply(&c, &q, 200, body), XR_OK, NULL);
	free(body);
	assert_int_equal(rec.nprices, 1);
	assert_string_equal(rec.price_sym[0], "BTC/USD");
	assert_int_equal(rec.price_day[0], 1700956800000LL);
	assert_string_equal(rec.price_val[0], "140.21");
	xreq_clear(&q);
	xconn_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_backfill_from),
		cmocka_unit_test(test_side_step_refusals),
		cmocka_unit_test(test_missing_product),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_first_day),
		cmocka_unit_test(test_fill_kinds),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_documented_examples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
