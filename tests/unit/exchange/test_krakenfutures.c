/* Kraken Futures connector on canned responses: executions to unified
 * fills, continuation tokens from the header or the body, error mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "exchange/exchange.h"

#include "collect.h"

#define ORDER(uid, acct, tr, dir) "{\"uid\":\"" uid "\",\"accountUid\":\"" acct "\",\"tradeable\":\"" tr "\"," \
	"\"direction\":\"" dir "\",\"quantity\":\"0.5\",\"filled\":\"0.5\",\"timestamp\":1700000000123}"
#define EXEC(id, ts, mo, to, qty, px, fee) "{\"uid\":\"e" id "\",\"timestamp\":" ts ",\"event\":{\"Execution\":" \
	"{\"execution\":{\"uid\":\"" id "\",\"makerOrder\":" mo ",\"takerOrder\":" to ",\"timestamp\":" ts "," \
	"\"quantity\":" qty ",\"price\":" px ",\"markPrice\":\"1\",\"limitFilled\":false,\"usdValue\":\"1\"," \
	"\"orderData\":{\"fee\":" fee ",\"positionSize\":\"0\"}}}}}"
#define ME "acc-1"
#define OTHER "acc-2"

static const char page1[] = "{\"accountUid\":\"" ME "\",\"len\":3,\"serverTime\":\"2023-11-14T22:13:20.000Z\","
    "\"elements\":[" EXEC("x1", "1700000000123", ORDER("o1", ME, "PF_XBTUSD", "Buy"),
    ORDER("c1", OTHER, "PF_XBTUSD", "Sell"), "\"0.5\"", "\"37000.5\"", "\"3.700050\"") ","
    EXEC("x2", "1700000000200", ORDER("c2", OTHER, "PF_ETHUSD", "Buy"), ORDER("o2", ME, "PF_ETHUSD", "Sell"),
    "2", "2000", "2") ","
    "{\"uid\":\"y\",\"timestamp\":1700000000300,\"event\":{\"OrderPlaced\":{}}}],"
    "\"continuationToken\":\"body-token\"}";
static const char page2[] = "{\"accountUid\":\"" ME "\",\"len\":2,\"elements\":["
    EXEC("x2", "1700000000200", ORDER("c2", OTHER, "PF_ETHUSD", "Buy"), ORDER("o2", ME, "PF_ETHUSD", "Sell"),
    "2", "2000", "2") ","
    EXEC("x3", "1700000000400", ORDER("c3", OTHER, "PI_XBTUSD", "Sell"), ORDER("o3", ME, "PI_XBTUSD", "Buy"),
    "\"10000\"", "\"40000\"", "\"0.0000001\"") "]}";

static const char *hdr_token;

static const char *
header(const struct xresp *r, const char *name)
{
	return strcmp(name, "Next-Continuation-Token") == 0 ? hdr_token : NULL;
}

static const struct credential cred = { "key", 3,
	"kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==", 88, "", 0 };

static enum xresult
step(struct xconn *c, struct collected *g, long status, const char *body, struct xoutcome *o, char *url, size_t ucap)
{
	struct xreq q = { 0 };
	struct xresp r = { 0 };
	struct xsink s = col_sink(g);
	const char *err = NULL;

	assert_int_equal(c->ops->next(c, &cred, 1700000001000, &q, &err), 1);
	if (url != NULL)
		snprintf(url, ucap, "%s", q.url);
	r.status = status;
	r.body = body;
	r.body_len = strlen(body);
	r.now_ms = 1700000001000;
	r.header = header;
	c->ops->handle(c, &q, &r, &s, o);
	xreq_clear(&q);
	return o->result;
}

static void
open_conn(struct xconn *c)
{
	struct xconf conf = { .market = FILL_FUTURES, .base_url = "https://f.test" };
	const char *err;

	assert_int_equal(xconn_open(c, &exchange_krakenfutures, &conf, &err), 0);
	c->ops->begin(c, 1700000001000);
}

static const char accounts_body[] = "{\"result\":\"success\",\"accounts\":{\"cash\":{\"type\":\"cashAccount\","
    "\"balances\":{\"xbt\":0.1}},\"flex\":{\"type\":\"multiCollateralMarginAccount\",\"currencies\":{\"USD\":"
    "{\"quantity\":1000.5}}}},\"serverTime\":\"2023-11-14T22:13:20.000Z\"}";

static void
test_executions(void **state)
{
	struct xconn c;
	struct collected g = { 0 };
	struct xoutcome o;
	char url[1024], b[DEC_STR_MAX];

	(void)state;
	open_conn(&c);
	assert_int_equal(step(&c, &g, 200, accounts_body, &o, url, sizeof(url)), XR_OK);
	assert_string_equal(url, "https://f.test/derivatives/api/v3/accounts");
	assert_true(c.validated);
	assert_int_equal(g.nbalances, 2);
	hdr_token = NULL;
	assert_int_equal(step(&c, &g, 200, page1, &o, url, sizeof(url)), XR_OK);
	assert_string_equal(url, "https://f.test/api/history/v3/executions?sort=asc&count=100");
	assert_int_equal(g.nfills, 2);
	assert_string_equal(g.fills[0].id, "x1");
	assert_string_equal(g.fills[0].order, "o1");
	assert_int_equal(g.fills[0].timestamp, 1700000000123);
	assert_string_equal(g.fills[0].symbol, "BTC/USD:USD");
	assert_int_equal(g.fills[0].side, FILL_BUY);
	assert_int_equal(g.fills[0].role, FILL_MAKER);
	assert_int_equal(g.fills[0].market, FILL_FUTURES);
	dec_format(b, sizeof(b), g.fills[0].cost);
	assert_string_equal(b, "18500.25");
	assert_string_equal(g.fills[0].fees[0].currency, "USD");
	dec_format(b, sizeof(b), g.fills[0].fees[0].cost);
	assert_string_equal(b, "3.70005");
	assert_string_equal(g.fills[1].symbol, "ETH/USD:USD");
	assert_int_equal(g.fills[1].side, FILL_SELL);
	assert_int_equal(g.fills[1].role, FILL_TAKER);
	assert_false(c.backfill_done);
	/* the body token; page 2 repeats x2 (overlap) and has no token */
	assert_int_equal(step(&c, &g, 200, page2, &o, url, sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "continuation_token=body-token"));
	assert_int_equal(g.nfills, 3);
	assert_string_equal(g.fills[2].id, "x3");
	assert_string_equal(g.fills[2].symbol, "BTC/USD:BTC");	/* inverse: cost = size / price */
	dec_format(b, sizeof(b), g.fills[2].cost);
	assert_string_equal(b, "0.25");
	assert_string_equal(g.fills[2].fees[0].currency, "BTC");
	assert_true(c.backfill_done);
	/* next cycle: since the newest, the header token wins over the body */
	c.ops->begin(&c, 1700000002000);
	assert_int_equal(step(&c, &g, 200, accounts_body, &o, NULL, 0), XR_OK);
	hdr_token = "hdr/token";
	assert_int_equal(step(&c, &g, 200, page2, &o, url, sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "since=1700000000400"));
	assert_int_equal(g.nfills, 3);	/* x2 and x3 again: not emitted twice */
	hdr_token = NULL;
	assert_int_equal(step(&c, &g, 200, "{\"accountUid\":\"" ME "\",\"len\":0,\"elements\":[]}", &o, url,
	    sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "continuation_token=hdr%2Ftoken"));
	assert_int_equal(c.ops->next(&c, &cred, 1700000003000, &(struct xreq){ 0 }, &(const char *){ NULL }), 0);
	xconn_close(&c);
	free(g.fills);
}

static void
test_errors(void **state)
{
	static const struct {
		long status;
		const char *body;
		enum xresult want;
	} cases[] = {
		{ 0, "", XR_RETRY },
		{ 503, "{\"result\":\"error\",\"error\":\"unavailable\"}", XR_RETRY },
		{ 200, "{\"result\":\"succ", XR_RETRY },
		{ 200, "<html>", XR_RETRY },
		{ 200, "{\"result\":\"error\",\"error\":\"apiLimitExceeded\"}", XR_RATE_LIMITED },
		{ 429, "", XR_RATE_LIMITED },
		{ 200, "{\"result\":\"error\",\"error\":\"authenticationError\"}", XR_AUTH },
		{ 401, "{\"result\":\"error\",\"error\":\"authenticationError\"}", XR_AUTH },
		{ 200, "{\"result\":\"error\",\"error\":\"nonceBelowThreshold\"}", XR_CLOCK },
		{ 200, "{\"result\":\"error\",\"error\":\"nonceDuplicate\"}", XR_CLOCK },
		{ 200, "{\"result\":\"error\",\"errors\":[{\"code\":\"accountInactive\",\"message\":\"x\"}]}", XR_FATAL },
		{ 200, "{\"result\":\"success\"}", XR_RETRY },
	};
	struct xconn c;
	struct collected g = { 0 };
	struct xoutcome o;
	const char *err = NULL;
	struct xconf conf = { .market = FILL_SPOT };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		open_conn(&c);
		if (step(&c, &g, cases[i].status, cases[i].body, &o, NULL, 0) != cases[i].want)
			fail_msg("case %zu: got %d (%s)", i, (int)o.result, o.error);
		assert_true(o.error[0] != '\0');
		if (cases[i].want == XR_RATE_LIMITED)
			assert_true(o.retry_after_ms >= 1000);
		xconn_close(&c);
	}
	/* spot is refused; the sandbox is the demo host */
	assert_int_equal(xconn_open(&c, &exchange_krakenfutures, &conf, &err), -1);
	conf.market = FILL_FUTURES;
	conf.sandbox = true;
	assert_int_equal(xconn_open(&c, &exchange_krakenfutures, &conf, &err), 0);
	assert_string_equal(c.base_url, "https://demo-futures.kraken.com");
	xconn_close(&c);
	/* a secret that is not canonical base64 is refused before any request */
	{
		struct credential bad = { "k", 1, "abc", 3, "", 0 };
		struct xreq q = { 0 };
		open_conn(&c);
		assert_int_equal(c.ops->next(&c, &bad, 1, &q, &err), -1);
		assert_string_equal(err, "API secret is not valid base64");
		xreq_clear(&q);
		xconn_close(&c);
	}
	free(g.fills);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_executions),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
