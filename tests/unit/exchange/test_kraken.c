/* Kraken spot connector on canned responses: pair normalization, exact
 * float-second times, the documented TradesHistory example, nonces, error
 * mapping, a walk while the account trades. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exchange/exchange.h"

#include "collect.h"
#include "exchange/kraken_pairs.h"

static const char pairs_body[] =
    "{\"error\":[],\"result\":{"
    "\"XXBTZUSD\":{\"altname\":\"XBTUSD\",\"wsname\":\"XBT/USD\",\"base\":\"XXBT\",\"quote\":\"ZUSD\"},"
    "\"XETHXXBT\":{\"altname\":\"ETHXBT\",\"wsname\":\"ETH/XBT\",\"base\":\"XETH\",\"quote\":\"XXBT\"},"
    "\"XXDGZEUR\":{\"altname\":\"XDGEUR\",\"wsname\":\"XDG/EUR\",\"base\":\"XXDG\",\"quote\":\"ZEUR\"},"
    "\"LTCUSDT\":{\"altname\":\"LTCUSDT\",\"wsname\":\"LTC/USDT\",\"base\":\"XLTC\",\"quote\":\"USDT\"},"
    "\"ADAETH\":{\"altname\":\"ADAETH\",\"wsname\":\"ADA/ETH\",\"base\":\"ADA\",\"quote\":\"XETH\"},"
    "\"XBT.MUSD\":{\"altname\":\"XBT.MUSD\",\"wsname\":\"XBT.M/USD\",\"base\":\"XBT.M\",\"quote\":\"ZUSD\"},"
    "\"XXBTZUSD.d\":{\"altname\":\"XBTUSD.d\",\"wsname\":\"XBT/USD\",\"base\":\"XXBT\",\"quote\":\"ZUSD\"}}}";

/* docs.kraken.com get-trade-history example (first trade; count 2). */
static const char trades_body[] =
    "{\"error\":[],\"result\":{\"trades\":{\"THVRQM-33VKH-UCI7BS\":{\"ordertxid\":\"OQCLML-BW3P3-BUCMWZ\","
    "\"postxid\":\"TKH2SE-M7IF5-CFI7LT\",\"pair\":\"XXBTZUSD\",\"time\":1688667796.8802,\"type\":\"buy\","
    "\"ordertype\":\"limit\",\"price\":\"30010.00000\",\"cost\":\"600.20000\",\"fee\":\"0.00000\","
    "\"vol\":\"0.02000000\",\"margin\":\"0.00000\",\"misc\":\"\",\"trade_id\":40274859,\"maker\":true},"
    "\"TCWJEG-FL4SZ-3FKGH6\":{\"ordertxid\":\"OQCLML-BW3P3-BUCMWZ\",\"postxid\":\"TKH2SE-M7IF5-CFI7LT\","
    "\"pair\":\"XBTUSD\",\"time\":1688667769.6396,\"type\":\"sell\",\"ordertype\":\"limit\","
    "\"price\":\"30010.00000\",\"cost\":\"300.10000\",\"fee\":\"0.78026\",\"vol\":\"0.01000000\","
    "\"margin\":\"0.00000\",\"misc\":\"\",\"trade_id\":39482674,\"maker\":false}},\"count\":2}}";

static const char *
no_header(const struct xresp *r, const char *name)
{
	return NULL;
}

static const struct credential cred = { "key", 3,
	"kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==", 88, "", 0 };

/* next() then handle() with a canned body; returns the outcome. */
static enum xresult
step(struct xconn *c, struct collected *g, long status, const char *body, int64_t now, struct xoutcome *o, char *url,
    size_t ucap)
{
	struct xreq q = { 0 };
	struct xresp r = { 0 };
	struct xsink s = col_sink(g);
	const char *err = NULL;

	assert_int_equal(c->ops->next(c, &cred, now, &q, &err), 1);
	if (url != NULL)
		snprintf(url, ucap, "%s %s", q.url, q.body != NULL ? q.body : "");
	r.status = status;
	r.body = body;
	r.body_len = strlen(body);
	r.now_ms = now;
	r.header = no_header;
	c->ops->handle(c, &q, &r, &s, o);
	xreq_clear(&q);
	return o->result;
}

static void
test_pairs(void **state)
{
	static const struct {
		const char *name, *symbol, *quote;
	} want[] = {
		{ "XXBTZUSD", "BTC/USD", "USD" }, { "XBTUSD", "BTC/USD", "USD" }, { "XETHXXBT", "ETH/BTC", "BTC" },
		{ "XXDGZEUR", "DOGE/EUR", "EUR" }, { "LTCUSDT", "LTC/USDT", "USDT" }, { "ADAETH", "ADA/ETH", "ETH" },
		{ "XBT.MUSD", "BTC.M/USD", "USD" }, { "XXBTZUSD.d", "XBTUSD.d", "USD" },
		/* delisted, split by length: 8 = 4+4, 7 = 4+3, else 3+3 */
		{ "XXLMZEUR", "XLM/EUR", "EUR" }, { "XXRPUSD", "XRP/USD", "USD" }, { "DOTUSD", "DOT/USD", "USD" },
	};
	struct kraken_pairs *p = kraken_pairs_new();
	struct kraken_pair kp;
	const char *err;
	int line;
	json_t *j = fill_json_loads(pairs_body, strlen(pairs_body), &line, &err);
	char code[FILL_CUR_MAX];

	(void)state;
	assert_int_equal(kraken_pairs_load(p, json_object_get(j, "result"), &err), 0);
	assert_int_equal(kraken_pairs_count(p), 7);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(kraken_pairs_resolve(p, want[i].name, &kp, &err), 0);
		assert_string_equal(kp.symbol, want[i].symbol);
		assert_string_equal(kp.quote, want[i].quote);
	}
	assert_int_equal(kraken_pairs_resolve(p, "XBT", &kp, &err), -1);
	assert_non_null(kraken_pairs_by_symbol(p, "ETH/BTC"));
	assert_null(kraken_pairs_by_symbol(p, "ETH/EUR"));
	/* assets */
	assert_int_equal(kraken_asset_code("ZUSD", 4, code), 0);
	assert_string_equal(code, "USD");
	assert_int_equal(kraken_asset_code("XXDG", 4, code), 0);
	assert_string_equal(code, "DOGE");
	assert_int_equal(kraken_asset_code("ZEUS", 4, code), 0);	/* as ccxt: Z stripped */
	assert_string_equal(code, "EUS");
	assert_int_equal(kraken_asset_code("USDT", 4, code), 0);
	assert_string_equal(code, "USDT");
	assert_int_equal(kraken_asset_code("LUNA", 4, code), 0);
	assert_string_equal(code, "LUNC");
	assert_int_equal(kraken_asset_code("", 0, code), -1);
	/* malformed tables are refused and leave the old one */
	json_decref(j);
	j = json_loads("{\"X\":{\"altname\":\"X\"}}", 0, NULL);
	assert_int_equal(kraken_pairs_load(p, j, &err), -1);
	assert_int_equal(kraken_pairs_count(p), 7);
	json_decref(j);
	kraken_pairs_free(p);
	kraken_pairs_free(NULL);
}

static void
open_conn(struct xconn *c)
{
	struct xconf conf = { .market = FILL_SPOT, .base_url = "https://k.test" };
	const char *err;

	assert_int_equal(xconn_open(c, &exchange_kraken, &conf, &err), 0);
}

static void
test_open_refusals(void **state)
{
	struct xconn c;
	struct xconf conf = { .market = FILL_FUTURES };
	const char *err = NULL;

	(void)state;
	assert_int_equal(xconn_open(&c, &exchange_kraken, &conf, &err), -1);
	conf.market = FILL_MARGIN;
	assert_int_equal(xconn_open(&c, &exchange_kraken, &conf, &err), -1);
	conf.market = FILL_SPOT;
	conf.sandbox = true;
	assert_int_equal(xconn_open(&c, &exchange_kraken, &conf, &err), -1);
	assert_string_equal(err, "the exchange has no sandbox for this account type");
	assert_ptr_equal(exchange_find("kraken"), &exchange_kraken);
	assert_ptr_equal(exchange_find("krakenfutures"), &exchange_krakenfutures);
	assert_null(exchange_find("ftx"));
}

static void
test_trades_example(void **state)
{
	struct xconn c;
	struct collected g = { 0 };
	struct xoutcome o;
	char url[512], b[DEC_STR_MAX];
	int64_t now = 1700000000000;

	(void)state;
	open_conn(&c);
	c.ops->begin(&c, now);
	assert_int_equal(step(&c, &g, 200, pairs_body, now, &o, url, sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "https://k.test/0/public/AssetPairs"));
	/* the fills walk first (exchange.h): its answer validates the key */
	assert_int_equal(step(&c, &g, 200, trades_body, now, &o, url, sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "/0/private/TradesHistory nonce=1700000000000000"));
	assert_true(c.validated);
	assert_int_equal(g.nperms, 1);
	assert_false(g.can_trade);	/* unknown: Kraken does not report them */
	assert_false(g.can_withdraw);
	assert_non_null(c.caveat[XPART_PERMISSIONS]);
	assert_non_null(strstr(c.progress, "permissions unknown"));
	/* the clock did not move: the nonce still increases */
	assert_int_equal(step(&c, &g, 200, "{\"error\":[],\"result\":{\"XXBT\":{\"balance\":\"1.5\",\"hold_trade\":"
	    "\"0\"},\"ZUSD\":\"10\"}}", now, &o, url, sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "/0/private/BalanceEx nonce=1700000000000001"));
	assert_int_equal(g.nbalances, 2);
	assert_int_equal(g.nfills, 2);
	assert_string_equal(g.fills[0].id, "THVRQM-33VKH-UCI7BS");
	assert_string_equal(g.fills[0].order, "OQCLML-BW3P3-BUCMWZ");
	assert_int_equal(g.fills[0].timestamp, 1688667796880);	/* trunc(1688667796.8802 * 1000) */
	assert_int_equal(g.fills[1].timestamp, 1688667769639);	/* not ...640: no binary float */
	assert_string_equal(g.fills[0].symbol, "BTC/USD");
	assert_string_equal(g.fills[1].symbol, "BTC/USD");		/* altname resolves too */
	assert_int_equal(g.fills[0].side, FILL_BUY);
	assert_int_equal(g.fills[1].side, FILL_SELL);
	assert_int_equal(g.fills[0].role, FILL_MAKER);
	assert_int_equal(g.fills[1].role, FILL_TAKER);
	dec_format(b, sizeof(b), g.fills[0].amount);
	assert_string_equal(b, "0.02");
	dec_format(b, sizeof(b), g.fills[0].cost);
	assert_string_equal(b, "600.2");
	assert_int_equal(g.fills[1].nfees, 1);
	assert_string_equal(g.fills[1].fees[0].currency, "USD");
	dec_format(b, sizeof(b), g.fills[1].fees[0].cost);
	assert_string_equal(b, "0.78026");
	assert_int_equal(g.fills[0].market, FILL_SPOT);
	assert_true(c.backfill_done);
	/* the next cycle starts after the newest trade */
	c.ops->begin(&c, now + 1000);
	assert_int_equal(step(&c, &g, 200, "{\"error\":[],\"result\":{\"trades\":{},\"count\":0}}", now + 1000, &o, url,
	    sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "start=THVRQM-33VKH-UCI7BS"));
	xconn_close(&c);
	free(g.fills);
}

/* A held currency is valued with its <cur>/USD closes: one OHLC request per
 * pair (BTC/USD is the benchmark already), none for a currency without one
 * (DOGE) or with a zero balance (LTC). */
static void
test_held_currency_closes(void **state)
{
	struct xconn c;
	struct collected g = { 0 };
	struct xoutcome o;
	char url[512];
	int64_t now = 1700000000000;

	(void)state;
	open_conn(&c);
	c.ops->begin(&c, now);
	assert_int_equal(step(&c, &g, 200, pairs_body, now, &o, url, sizeof(url)), XR_OK);
	assert_int_equal(step(&c, &g, 200, "{\"error\":[],\"result\":{\"trades\":{},\"count\":0}}", now, &o, url,
	    sizeof(url)), XR_OK);
	/* BTC/USD exists (XXBTZUSD), BTC.M/USD too, DOGE/USD does not (only XXDGZEUR) */
	assert_int_equal(step(&c, &g, 200, "{\"error\":[],\"result\":{\"XXBT\":{\"balance\":\"1.5\",\"hold_trade\":"
	    "\"0\"},\"XXDG\":\"10\",\"XLTC\":\"0\",\"XBT.M\":\"2\"}}", now, &o, url, sizeof(url)), XR_OK);
	assert_int_equal(step(&c, &g, 200, "{\"error\":[],\"result\":{\"ledger\":{},\"count\":0}}", now, &o, url,
	    sizeof(url)), XR_OK);
	assert_int_equal(step(&c, &g, 200, "{\"error\":[],\"result\":{\"ledger\":{},\"count\":0}}", now, &o, url,
	    sizeof(url)), XR_OK);
	assert_int_equal(step(&c, &g, 200, "{\"error\":[],\"result\":{\"XXBTZUSD\":[[1699920000,\"1\",\"1\",\"1\","
	    "\"37000.5\",\"1\",\"1\",1]],\"last\":1699920000}}", now, &o, url, sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "/0/public/OHLC?pair=XBTUSD&interval=1440"));
	assert_int_equal(step(&c, &g, 200, "{\"error\":[],\"result\":{\"XBT.MUSD\":[[1699920000,\"1\",\"1\",\"1\","
	    "\"36999\",\"1\",\"1\",1]],\"last\":1699920000}}", now, &o, url, sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "/0/public/OHLC?pair=XBT.MUSD&interval=1440"));
	assert_int_equal(g.nprices, 2);
	{
		struct xreq q = { 0 };
		const char *err = NULL;
		assert_int_equal(c.ops->next(&c, &cred, now, &q, &err), 0);
		xreq_clear(&q);
	}
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
		{ 502, "{\"error\":[\"EService:Unavailable\"]}", XR_RETRY },
		{ 520, "", XR_RETRY },
		{ 200, "{\"error\":[],\"res", XR_RETRY },			/* truncated */
		{ 200, "<html>", XR_RETRY },					/* malformed */
		{ 200, "{\"error\":[\"EService:Busy\"]}", XR_RETRY },
		{ 200, "{\"error\":[\"EDatabase:Internal error\"]}", XR_RETRY },
		{ 200, "{\"error\":[\"EAPI:Invalid key\"]}", XR_AUTH },
		{ 200, "{\"error\":[\"EAPI:Invalid signature\"]}", XR_AUTH },
		{ 200, "{\"error\":[\"EGeneral:Permission denied\"]}", XR_AUTH },
		{ 200, "{\"error\":[\"EAPI:Invalid nonce\"]}", XR_CLOCK },
		{ 200, "{\"error\":[\"EAPI:Rate limit exceeded\"]}", XR_RATE_LIMITED },
		{ 200, "{\"error\":[\"EGeneral:Temporary lockout\"]}", XR_RATE_LIMITED },
		{ 429, "", XR_RATE_LIMITED },
		{ 200, "{\"error\":[\"EGeneral:Invalid arguments\"]}", XR_FATAL },
		{ 200, "{\"error\":[],\"result\":{\"trades\":{\"T\":{\"pair\":\"XXBTZUSD\"}},\"count\":1}}", XR_FATAL },
	};
	struct xconn c;
	struct collected g = { 0 };
	struct xoutcome o;
	int64_t now = 1700000000000;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		open_conn(&c);
		c.ops->begin(&c, now);
		assert_int_equal(step(&c, &g, 200, pairs_body, now, &o, NULL, 0), XR_OK);
		if (step(&c, &g, cases[i].status, cases[i].body, now, &o, NULL, 0) != cases[i].want)
			fail_msg("case %zu: got %d", i, (int)o.result);
		if (cases[i].want != XR_OK)
			assert_true(o.error[0] != '\0');
		xconn_close(&c);
	}
	/* rate limit: wait for a history call's 2 units to decay at 0.33/s */
	open_conn(&c);
	c.ops->begin(&c, now);
	step(&c, &g, 200, pairs_body, now, &o, NULL, 0);
	assert_int_equal(step(&c, &g, 200, "{\"error\":[\"EAPI:Rate limit exceeded\"]}", now, &o, NULL, 0),
	    XR_RATE_LIMITED);
	assert_int_equal(o.retry_after_ms, 6061);
	assert_int_equal(step(&c, &g, 200, "{\"error\":[\"EService: Throttled: 1700000030\"]}", now, &o, NULL, 0),
	    XR_RATE_LIMITED);
	assert_int_equal(o.retry_after_ms, 30000);
	/* invalid nonce: the next nonce jumps ahead */
	{
		uint64_t before = c.nonce;
		assert_int_equal(step(&c, &g, 200, "{\"error\":[\"EAPI:Invalid nonce\"]}", now, &o, NULL, 0), XR_CLOCK);
		assert_true(c.nonce >= before + 1000000);
	}
	xconn_close(&c);
	free(g.fills);
}

static void
test_walk_while_trading(void **state)
{
	/* page 1 at ofs 0 holds T9..T5 (newest first); page 2 asks for ofs 5
	 * up to T9 (end, inclusive) and starts two rows early (as the
	 * simulator's overlap fault does), so it returns T6..T2: T6 and T5
	 * repeat, T4..T2 are new; ofs advances by the new rows to 8, which
	 * returns T1. */
	static const char *const ids[] = { "T9", "T8", "T7", "T6", "T5", "T4", "T3", "T2", "T1" };
	struct xconn c;
	struct collected g = { 0 };
	struct xoutcome o;
	char body[4096], url[512];
	int64_t now = 1700000000000;
	size_t n;

	(void)state;
	open_conn(&c);
	c.ops->begin(&c, now);
	step(&c, &g, 200, pairs_body, now, &o, NULL, 0);
#define ROW(id, t) "\"" id "\":{\"ordertxid\":\"O\",\"pair\":\"XXBTZUSD\",\"time\":" t ",\"type\":\"buy\"," \
	"\"price\":\"1\",\"cost\":\"1\",\"fee\":\"0\",\"vol\":\"1\",\"maker\":false}"
	snprintf(body, sizeof(body), "{\"error\":[],\"result\":{\"trades\":{" ROW("T9", "1690000009.0") ","
	    ROW("T8", "1690000008.0") "," ROW("T7", "1690000007.0") "," ROW("T6", "1690000006.0") ","
	    ROW("T5", "1690000005.0") "},\"count\":9}}");
	assert_int_equal(step(&c, &g, 200, body, now, &o, NULL, 0), XR_OK);
	snprintf(body, sizeof(body), "{\"error\":[],\"result\":{\"trades\":{" ROW("T6", "1690000006.0") ","
	    ROW("T5", "1690000005.0") "," ROW("T4", "1690000004.0") "," ROW("T3", "1690000003.0") ","
	    ROW("T2", "1690000002.0") "},\"count\":11}}");
	assert_int_equal(step(&c, &g, 200, body, now, &o, url, sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "ofs=5&end=T9"));
	snprintf(body, sizeof(body), "{\"error\":[],\"result\":{\"trades\":{" ROW("T1", "1690000001.0") "},\"count\":11}}");
	assert_int_equal(step(&c, &g, 200, body, now, &o, url, sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "ofs=8"));
	assert_false(c.backfill_done);	/* ofs 9 < count 11: one more page */
	assert_int_equal(step(&c, &g, 200, "{\"error\":[],\"result\":{\"trades\":{},\"count\":11}}", now, &o, url,
	    sizeof(url)), XR_OK);
	assert_non_null(strstr(url, "ofs=9"));
#undef ROW
	assert_int_equal(g.nfills, 9);
	for (n = 0; n < 9; n++)
		assert_string_equal(g.fills[n].id, ids[n]);
	assert_true(c.backfill_done);
	xconn_close(&c);
	free(g.fills);
}

/* A model of TradesHistory for the walk tests: rows newest first (row j is
 * "H<j>" at time base + j s, the newest has the highest j), start (id,
 * exclusive), end (id, inclusive), ofs, pages of 50 and count, as
 * docs.kraken.com get-trade-history describes them. */
struct model {
	unsigned nrows;			/* rows 0..nrows-1 exist */
	unsigned shift;			/* this request's page starts this many rows early */
};

static bool
body_param(const char *body, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);

	for (const char *p = body; p != NULL && *p != '\0'; p = strchr(p, '&'), p = p != NULL ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			size_t len = strcspn(p + n + 1, "&");
			assert_true(len < cap);
			memcpy(out, p + n + 1, len);
			out[len] = '\0';
			return true;
		}
	return false;
}

static void
model_page(const struct model *m, const char *req_body, char *out, size_t cap)
{
	char v[40];
	unsigned hi = m->nrows, lo = 0, ofs = 0, count, n = 0;	/* rows lo..hi-1 match */
	int len;

	if (body_param(req_body, "start", v, sizeof(v)))
		lo = (unsigned)strtoul(v + 1, NULL, 10) + 1;
	if (body_param(req_body, "end", v, sizeof(v)))
		hi = (unsigned)strtoul(v + 1, NULL, 10) + 1;
	if (body_param(req_body, "ofs", v, sizeof(v)))
		ofs = (unsigned)strtoul(v, NULL, 10);
	ofs -= ofs < m->shift ? ofs : m->shift;
	count = hi > lo ? hi - lo : 0;
	len = snprintf(out, cap, "{\"error\":[],\"result\":{\"trades\":{");
	for (unsigned r = ofs; r < count && n < 50; r++, n++) {
		unsigned j = hi - 1 - r;
		len += snprintf(out + len, cap - (size_t)len, "%s\"H%u\":{\"ordertxid\":\"O\",\"pair\":\"XXBTZUSD\","
		    "\"time\":%u.0,\"type\":\"buy\",\"price\":\"1\",\"cost\":\"1\",\"fee\":\"0\",\"vol\":\"1\","
		    "\"maker\":false}", n > 0 ? "," : "", j, 1690000000u + j);
		assert_true((size_t)len < cap);
	}
	snprintf(out + len, cap - (size_t)len, "},\"count\":%u}}", count);
}

static unsigned model_requests;	/* requests of the last model_cycle() */

/* Runs one cycle against the model: before the TradesHistory request number
 * i (from 0), arrive[i] rows arrive and that page starts shift[i] rows
 * early. Returns the TradesHistory requests made. */
static unsigned
model_cycle(struct xconn *c, struct collected *g, struct model *m, const unsigned *arrive, const unsigned *shift,
    unsigned nsched, int64_t now)
{
	static char body[65536];
	struct xsink s = col_sink(g);
	unsigned ntrades = 0;

	c->ops->begin(c, now);
	model_requests--;
	for (unsigned guard = 0; guard < 1000; guard++) {
		struct xreq q = { 0 };
		struct xresp r = { 0 };
		struct xoutcome o;
		const char *err = NULL;
		int rc = c->ops->next(c, &cred, now, &q, &err);

		model_requests++;
		assert_int_not_equal(rc, -1);
		if (rc == 0)
			return ntrades;
		if (strstr(q.url, "/AssetPairs") != NULL)
			snprintf(body, sizeof(body), "%s", pairs_body);
		else if (strstr(q.url, "/BalanceEx") != NULL)
			snprintf(body, sizeof(body), "{\"error\":[],\"result\":{}}");
		else if (strstr(q.url, "/TradesHistory") != NULL) {
			if (ntrades < nsched) {
				m->nrows += arrive[ntrades];
				m->shift = shift[ntrades];
			} else
				m->shift = 0;
			ntrades++;
			model_page(m, q.body, body, sizeof(body));
		} else if (strstr(q.url, "/Ledgers") != NULL)
			snprintf(body, sizeof(body), "{\"error\":[],\"result\":{\"ledger\":{},\"count\":0}}");
		else
			snprintf(body, sizeof(body), "{\"error\":[],\"result\":{\"XXBTZUSD\":[],\"last\":0}}");
		r.status = 200;
		r.body = body;
		r.body_len = strlen(body);
		r.now_ms = now;
		r.header = no_header;
		c->ops->handle(c, &q, &r, &s, &o);
		xreq_clear(&q);
		assert_true(o.result == XR_OK || o.result == XR_RETRY);
	}
	fail_msg("the cycle did not end");
	return 0;
}

/* Every row H0..H<n-1> was emitted exactly once. */
static void
assert_rows(const struct collected *g, unsigned n)
{
	char *seen = xcalloc(n, 1);

	assert_int_equal(g->nfills, n);
	for (size_t i = 0; i < g->nfills; i++) {
		unsigned j = (unsigned)strtoul(g->fills[i].id + 1, NULL, 10);
		assert_true(j < n);
		if (seen[j])
			fail_msg("H%u twice", j);
		seen[j] = 1;
	}
	free(seen);
}

/* Regression (the flaky test_faults of test_kraken_sim): 45 trades arrive
 * during a slow walk (a busy machine) and the next page starts 7 rows early
 * (the simulator's overlap fault). The walk used to see a page of nothing
 * but repeats, jump 50 rows and skip 5 trades forever; with end = the
 * walk's newest row the arrivals cannot move the offsets. Nothing here
 * depends on time: the arrivals are scheduled per request. */
static void
test_walk_slow_with_arrivals(void **state)
{
	static const unsigned arrive[] = { 0, 0, 45, 0, 2 }, shift[] = { 0, 0, 7, 0, 7 };
	struct xconn c;
	struct collected g = { 0 };
	struct model m = { .nrows = 200 };
	char url[512];
	struct xoutcome o;
	unsigned n;

	(void)state;
	open_conn(&c);
	n = model_cycle(&c, &g, &m, arrive, shift, 5, 1700000000000);
	assert_rows(&g, 200);	/* the 47 arrivals are the next cycle's */
	assert_true(c.backfill_done);
	assert_true(n <= 200 / 50 + 2);	/* 4 pages, 2 of them with repeats */
	/* the next cycle starts after H199 and collects the arrivals, walking
	 * the same way */
	n = model_cycle(&c, &g, &m, arrive, shift, 5, 1700000001000);
	assert_rows(&g, 247);
	/* a page of nothing but repeats is retried at the same ofs, never
	 * skipped over */
	c.ops->begin(&c, 1700000002000);
	m.nrows += 120;
	m.shift = 0;
	{
		static char body[65536];
		struct xreq q = { 0 };
		const char *err = NULL;
		assert_int_equal(c.ops->next(&c, &cred, 1700000002000, &q, &err), 1);
		model_page(&m, q.body, body, sizeof(body));
		xreq_clear(&q);
		assert_int_equal(step(&c, &g, 200, body, 1700000002000, &o, NULL, 0), XR_OK);
		assert_int_equal(step(&c, &g, 200, body, 1700000002000, &o, url, sizeof(url)), XR_RETRY);
		assert_non_null(strstr(o.error, "already seen"));
		assert_non_null(strstr(url, "ofs=50&end=H366&start=H246"));
		assert_int_equal(c.ops->next(&c, &cred, 1700000002000, &q, &err), 1);
		assert_non_null(strstr(q.body, "ofs=50&end=H366&start=H246"));
		xreq_clear(&q);
	}
	xconn_close(&c);
	free(g.fills);
}

/* Side steps the key may not take degrade their part and the cycle goes on
 * (exchange.h); permission denied on the trades walk is XR_AUTH. */
static void
test_side_refusals(void **state)
{
	struct xconn c;
	struct collected g = { 0 };
	struct xoutcome o;
	char url[512];
	int64_t now = 1700000000000;

	(void)state;
	open_conn(&c);
	c.ops->begin(&c, now);
	step(&c, &g, 200, pairs_body, now, &o, NULL, 0);
	assert_int_equal(step(&c, &g, 200, trades_body, now, &o, NULL, 0), XR_OK);
	assert_int_equal(g.nfills, 2);
	assert_int_equal(step(&c, &g, 200, "{\"error\":[\"EGeneral:Permission denied\"]}", now, &o, url, sizeof(url)),
	    XR_OK);
	assert_non_null(strstr(url, "/BalanceEx"));
	assert_non_null(strstr(c.degraded[XPART_BALANCES], "key lacks the permission"));
	assert_int_equal(step(&c, &g, 200, "{\"error\":[\"EGeneral:Permission denied\"]}", now, &o, url, sizeof(url)),
	    XR_OK);
	assert_non_null(strstr(url, "/Ledgers"));
	assert_string_equal(c.degraded[XPART_FLOWS], "deposits and withdrawals unavailable: key lacks ledger "
	    "permission (Query Ledger Entries)");
	/* no withdrawal walk: the next request is the benchmark's closes */
	assert_int_equal(step(&c, &g, 200, "{\"error\":[\"EQuery:Unknown asset pair\"]}", now, &o, url, sizeof(url)),
	    XR_OK);
	assert_non_null(strstr(url, "/OHLC?pair=XBTUSD"));
	assert_non_null(strstr(c.degraded[XPART_PRICES], "no daily closes for XBTUSD"));
	{
		struct xreq q = { 0 };
		const char *err = NULL;
		assert_int_equal(c.ops->next(&c, &cred, now, &q, &err), 0);
	}
	assert_int_equal(g.nfills, 2);	/* kept */
	assert_true(c.backfill_done);
	/* the walk itself refused: the key is useless for the session */
	c.ops->begin(&c, now + 1000);
	assert_int_equal(step(&c, &g, 200, "{\"error\":[\"EGeneral:Permission denied\"]}", now + 1000, &o, NULL, 0),
	    XR_AUTH);
	/* a transient side step given up by the poller: skip moves past it */
	c.ops->begin(&c, now + 2000);
	step(&c, &g, 200, "{\"error\":[],\"result\":{\"trades\":{},\"count\":0}}", now + 2000, &o, NULL, 0);
	{
		struct xreq q = { 0 };
		const char *err = NULL;
		assert_int_equal(c.ops->next(&c, &cred, now + 2000, &q, &err), 1);
		assert_int_equal(q.part, XPART_BALANCES);
		(c.ops->skip)(&c, &q);
		xreq_clear(&q);
		assert_int_equal(c.ops->next(&c, &cred, now + 2000, &q, &err), 1);
		assert_int_equal(q.part, XPART_FLOWS);
		assert_non_null(strstr(q.body, "type=deposit"));
		(c.ops->skip)(&c, &q);
		xreq_clear(&q);
		assert_int_equal(c.ops->next(&c, &cred, now + 2000, &q, &err), 0);	/* closes fresh: done */
	}
	xconn_close(&c);
	free(g.fills);
}

/* The tier (registration metadata) sets the per-key counter's pool. */
static void
test_tiers(void **state)
{
	static const double want[][2] = { { 15, 0.33 }, { 20, 0.5 }, { 20, 1 } };
	static const char *const names[] = { "starter", "intermediate", "pro" };
	struct xconn c;
	struct xconf conf = { .market = FILL_SPOT, .base_url = "https://k.test" };
	struct xpool pools[XPOOL_MAX];
	const char *err = NULL;
	unsigned t = 99;

	(void)state;
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(exchange_tier(&exchange_kraken, names[i], &t, &err), 0);
		assert_int_equal(t, i);
		conf.tier = t;
		assert_int_equal(xconn_open(&c, &exchange_kraken, &conf, &err), 0);
		assert_int_equal(c.ops->pools(&c, pools), 2);
		assert_string_equal(pools[0].name, "counter");
		assert_true(pools[0].per_key);
		assert_true(pools[0].cap == want[i][0] && pools[0].per_s == want[i][1]);
		assert_true(pools[1].cap == 0);	/* public: not paced */
		xconn_close(&c);
	}
	/* the default is the slowest */
	conf.tier = 0;
	assert_int_equal(xconn_open(&c, &exchange_kraken, &conf, &err), 0);
	c.ops->pools(&c, pools);
	assert_true(pools[0].cap == 15);
	xconn_close(&c);
	assert_int_equal(exchange_tier(&exchange_kraken, "whale", &t, &err), -1);
	assert_int_equal(exchange_tier(&exchange_krakenfutures, "pro", &t, &err), -1);
	assert_string_equal(err, "the exchange has no rate tiers");
	conf.tier = 3;
	assert_int_equal(xconn_open(&c, &exchange_kraken, &conf, &err), -1);
}

/* The header's bound on requests per cycle, on the model: T trades in
 * ceil(T/50) pages (+1 when a page starts early), one BalanceEx, one page
 * per empty ledger walk, one OHLC per pair (the benchmark here). */
static void
test_request_bound(void **state)
{
	static const unsigned none[1] = { 0 };
	static const unsigned counts[] = { 0, 1, 50, 51, 449 };
	(void)state;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct xconn c;
		struct collected g = { 0 };
		struct model m = { .nrows = counts[i] };
		unsigned pages, bound;
		open_conn(&c);
		model_requests = 0;
		pages = model_cycle(&c, &g, &m, none, none, 1, 1700000000000);
		bound = 1 + (counts[i] > 0 ? (counts[i] + 49) / 50 : 1) + 1 + 1 + 1 + 1;
		assert_int_equal(pages, counts[i] > 0 ? (counts[i] + 49) / 50 : 1);
		if (model_requests > bound)
			fail_msg("%u trades: %u requests > bound %u", counts[i], model_requests, bound);
		assert_rows(&g, counts[i]);
		/* a steady-state cycle with nothing new: pairs and closes
		 * cached, so TradesHistory, BalanceEx and two Ledgers */
		model_requests = 0;
		model_cycle(&c, &g, &m, none, none, 1, 1700000060000);
		assert_int_equal(model_requests, 4);
		xconn_close(&c);
		free(g.fills);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs),
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test(test_trades_example),
		cmocka_unit_test(test_held_currency_closes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_walk_while_trading),
		cmocka_unit_test(test_walk_slow_with_arrivals),
		cmocka_unit_test(test_side_refusals),
		cmocka_unit_test(test_tiers),
		cmocka_unit_test(test_request_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
