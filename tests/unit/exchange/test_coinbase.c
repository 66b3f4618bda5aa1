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
static const struct xsink sink = { &rec, on_fill, on_balance, NULL, on_price, on_perms };

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
	expect_req(&c, &q, BASE "/api/v3/brokerage/key_permissions", true, "api.coinbase.com");
	o = reply(&c, &q, 200, "{\"can_view\":true,\"can_trade\":true,\"can_transfer\":false,"
	    "\"portfolio_uuid\":\"p\",\"portfolio_type\":\"DEFAULT\"}");
	assert_int_equal(o.result, XR_OK);
	assert_int_equal(rec.perms, 2);
	assert_true(c.validated);

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
	 * (and <currency>-USD of the currencies held: BTC-USD already), from
	 * the product's first fill day to today included (the running day's
	 * candle values today). ADA's only fill is today. */
	expect_req(&c, &q, BASE "/api/v3/brokerage/market/products/ADA-USDT/candles?start=1700956800&end=1701043199"
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

	/* Incremental: no validation, the bound is the newest
	 * sequence_timestamp (compared as times: .507001 > .5). */
	c.ops->begin(&c, NOW + 60000);
	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	o = reply(&c, &q, 200, "{\"accounts\":[],\"has_next\":false,\"cursor\":\"\"}");
	assert_int_equal(o.result, XR_OK);
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
	assert_int_equal(c.ops->next(&c, &cred, NOW + 60000, &q, &err), 0);	/* candles are up to date */
	c.ops->begin(&c, NOW + 120000);
	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	o = reply(&c, &q, 200, "{\"accounts\":[],\"has_next\":false,\"cursor\":\"\"}");
	expect_req(&c, &q, FILLS "&start_sequence_timestamp=2023-11-26T10%3A30%3A00.507001Z", true, "api.coinbase.com");
	xreq_clear(&q);
	xconn_close(&c);
}

/* Starts a connector at the fills step (validated, accounts done). */
static void
to_fills(struct xconn *c, struct xreq *q, const char *base, const char *host)
{
	char *url = xasprintf("%s/api/v3/brokerage/accounts?limit=250", base);

	open_conn(c, base);
	c->validated = true;
	c->ops->begin(c, NOW);
	expect_req(c, q, url, true, host);
	assert_int_equal(reply(c, q, 200, "{\"accounts\":[],\"has_next\":false}").result, XR_OK);
	free(url);
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
	    "\"price\":\"1\",\"size\":\"1\",\"commission\":\"0\",\"product_id\":\"BTC-USD\",\"side\":"
	    "\"UNKNOWN_ORDER_SIDE\"}],\"cursor\":\"\"}"), XR_FATAL, "t9: bad side");
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
	/* 404: no key_permissions, the accounts request validates instead. */
	open_conn(&c, "http://127.0.0.1:8080/");
	c.ops->begin(&c, NOW);
	expect_req(&c, &q, "http://127.0.0.1:8080/api/v3/brokerage/key_permissions", true, "127.0.0.1:8080");
	assert_outcome(reply(&c, &q, 404, "{\"error\":\"NOT_FOUND\"}"), XR_OK, NULL);
	assert_false(c.validated);
	expect_req(&c, &q, "http://127.0.0.1:8080/api/v3/brokerage/accounts?limit=250", true, "127.0.0.1:8080");
	assert_outcome(reply(&c, &q, 200, "{\"accounts\":[],\"has_next\":false}"), XR_OK, NULL);
	assert_true(c.validated);
	assert_int_equal(rec.perms, -1);
	xconn_close(&c);
	/* A key without the view permission is refused. */
	open_conn(&c, NULL);
	c.ops->begin(&c, NOW);
	expect_req(&c, &q, BASE "/api/v3/brokerage/key_permissions", true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"can_view\":false,\"can_trade\":false,\"can_transfer\":false}"), XR_AUTH,
	    "view");
	assert_outcome(reply(&c, &q, 200, "{\"can_view\":\"yes\"}"), XR_RETRY, "shape");
	/* accounts: has_next without a cursor */
	c.validated = true;
	c.ops->begin(&c, NOW);
	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"accounts\":[],\"has_next\":true,\"cursor\":\"\"}"), XR_FATAL, "cursor");
	assert_outcome(reply(&c, &q, 200, "{\"accounts\":[{\"currency\":\"BTC\"}],\"has_next\":false}"), XR_RETRY,
	    "shape");
	/* A secret that is no key: next() fails, no request. */
	bad.secret = "bm90IGEga2V5";
	bad.secret_len = strlen(bad.secret);
	assert_int_equal(c.ops->next(&c, &bad, NOW, &q, &err), -1);
	assert_non_null(strstr(err, "secret"));
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
	c.validated = true;
	c.ops->begin(&c, NOW);
	expect_req(&c, &q, ACCTS, true, "api.coinbase.com");
	assert_outcome(reply(&c, &q, 200, "{\"accounts\":[],\"has_next\":false}"), XR_OK, NULL);
	expect_req(&c, &q, FILLS "&start_sequence_timestamp=2023-11-14T22%3A13%3A20.000Z", true, "api.coinbase.com");
	/* an empty history: the walk completes, no candles, nothing to mark */
	assert_outcome(reply(&c, &q, 200, "{\"fills\":[],\"cursor\":\"\"}"), XR_OK, NULL);
	assert_true(c.backfill_done);
	assert_int_equal(c.ops->next(&c, &cred, NOW, &q, &err), 0);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
