/*
 * conn_coinbase against perfagg-exsim: backfill and incremental cycles equal
 * GET /exsim/truth exactly (every field), for an ES256 (EC PEM) account and
 * an Ed25519 account; JWT refusals; the simulator's paging rules; and under
 * each injected fault nothing is lost or duplicated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/fill.h"
#include "exchange/exchange.h"
#include "exchange/sign_coinbase.h"
#include "exchange/xsync.h"
#include "exsim_run.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* ---- what a session learns ---- */

struct got {
	struct fill *fills;
	size_t n, cap;
	size_t adjusted;	/* rows of trade_type CORRECTION or SYNTHETIC */
	json_t *balances;	/* currency -> decimal string */
	size_t nprices;
	char price_syms[8][16];
	size_t nprice_syms;
	int perms;		/* -1 none, else can_trade*2 + can_withdraw */
};

static int
g_fill(void *arg, const struct fill *f)
{
	struct got *g = arg;

	char *slash;

	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 1024;
		g->fills = xreallocarray(g->fills, g->cap, sizeof(*g->fills));
	}
	g->fills[g->n++] = *f;
	/* an adjusted fill's id is "<trade_id>/<trade_type>/<entry_id 16>";
	 * the truth (ccxt's view) has the trade_id */
	if ((slash = strchr(g->fills[g->n - 1].id, '/')) != NULL) {
		if (strncmp(slash, "/CORRECTION/", 12) != 0 && strncmp(slash, "/SYNTHETIC/", 11) != 0)
			fail_msg("adjusted fill id %s", f->id);
		assert_int_equal(strlen(strchr(slash + 1, '/') + 1), 16);
		*slash = '\0';
		g->adjusted++;
	}
	return 0;
}

static int
g_balance(void *arg, const char *cur, struct dec total)
{
	struct got *g = arg;
	char b[DEC_STR_MAX];

	dec_format(b, sizeof(b), total);
	json_object_set_new(g->balances, cur, json_string(b));
	return 0;
}

static int
g_price(void *arg, const char *sym, int64_t day, struct dec close)
{
	struct got *g = arg;
	size_t i;

	assert_int_equal(day % 86400000, 0);
	assert_true(dec_sign(close) > 0);
	g->nprices++;
	for (i = 0; i < g->nprice_syms; i++)
		if (strcmp(g->price_syms[i], sym) == 0)
			return 0;
	if (i < 8)
		snprintf(g->price_syms[g->nprice_syms++], 16, "%s", sym);
	return 0;
}

static int
g_perms(void *arg, bool trade, bool withdraw)
{
	((struct got *)arg)->perms = trade * 2 + withdraw;
	return 0;
}

static void
got_init(struct got *g)
{
	memset(g, 0, sizeof(*g));
	g->balances = json_object();
	g->perms = -1;
}

static void
got_free(struct got *g)
{
	free(g->fills);
	json_decref(g->balances);
}

static struct xsink
sink_of(struct got *g)
{
	return (struct xsink){ g, g_fill, g_balance, NULL, g_price, g_perms, NULL };
}

/* ---- comparing with the truth ---- */

static int
cmp_fill(const void *x, const void *y)
{
	const struct fill *a = x, *b = y;

	if (a->timestamp != b->timestamp)
		return a->timestamp < b->timestamp ? -1 : 1;
	return strcmp(a->id, b->id);
}

static void
assert_same_fill(const struct fill *a, const struct fill *b)
{
	struct dec ca, cb;

	if (strcmp(a->id, b->id) != 0 || strcmp(a->order, b->order) != 0 || a->timestamp != b->timestamp ||
	    strcmp(a->symbol, b->symbol) != 0 || a->side != b->side || dec_cmp(a->price, b->price) != 0 ||
	    dec_cmp(a->amount, b->amount) != 0 || a->role != b->role || a->market != b->market ||
	    a->nfees != b->nfees || fill_cost(a, &ca) != 0 || fill_cost(b, &cb) != 0 || dec_cmp(ca, cb) != 0)
		fail_msg("fill %s differs from %s", a->id, b->id);
	for (size_t i = 0; i < a->nfees; i++)
		if (dec_cmp(a->fees[i].cost, b->fees[i].cost) != 0 || strcmp(a->fees[i].currency, b->fees[i].currency))
			fail_msg("fill %s: fee differs", a->id);
}

/* Sorts g's fills and drops exact repeats of (timestamp, id), asserting a
 * repeat is the identical fill (what the ledger ignores). Returns the
 * number of repeats dropped. */
static size_t
dedup(struct got *g)
{
	size_t w = 0, dups = 0;

	qsort(g->fills, g->n, sizeof(*g->fills), cmp_fill);
	for (size_t i = 0; i < g->n; i++) {
		if (w > 0 && cmp_fill(&g->fills[w - 1], &g->fills[i]) == 0) {
			assert_same_fill(&g->fills[w - 1], &g->fills[i]);
			dups++;
			continue;
		}
		g->fills[w++] = g->fills[i];
	}
	g->n = w;
	return dups;
}

struct truth {
	struct fill *fills;
	size_t n;
	size_t unknown_side;	/* rows with side null (UNKNOWN_ORDER_SIDE): not in fills */
	json_t *balances;
};

static void
truth_get(const struct exsim_run *s, const char *key, struct truth *t)
{
	char *e = xurl_encode(key, strlen(key)), *path = xasprintf("/exsim/truth?api_key=%s", e);
	json_t *j = exsim_run_json(s, path), *arr = json_object_get(j, "fills"), *o;
	const char *field, *err;
	size_t i;

	t->n = 0;
	t->unknown_side = 0;
	t->fills = xcalloc(json_array_size(arr) + 1, sizeof(*t->fills));
	json_array_foreach(arr, i, o) {
		if (json_is_null(json_object_get(o, "side"))) {
			t->unknown_side++;
			continue;
		}
		if (fill_from_json(&t->fills[t->n++], o, &field, &err) != 0)
			fail_msg("truth fill %zu: %s: %s", i, field, err);
	}
	qsort(t->fills, t->n, sizeof(*t->fills), cmp_fill);
	t->balances = json_incref(json_object_get(j, "balances"));
	json_decref(j);
	free(path);
	free(e);
}

static void
truth_free(struct truth *t)
{
	free(t->fills);
	json_decref(t->balances);
}

/* Every truth fill is in g, equal in every field, and g has nothing else. */
static void
assert_equals_truth(struct got *g, const struct truth *t)
{
	assert_int_equal(g->n, t->n);
	for (size_t i = 0; i < t->n; i++)
		assert_same_fill(&g->fills[i], &t->fills[i]);
}

/* ---- accounts ---- */

struct acct {
	char key[160], secret[512];
	bool trade, withdraw;
};

static void
coinbase_accounts(const struct exsim_run *s, struct acct out[2])
{
	json_t *arr = exsim_run_json(s, "/exsim/accounts"), *a;
	size_t i, n = 0;

	json_array_foreach(arr, i, a) {
		if (strcmp(json_string_value(json_object_get(a, "exchange")), "coinbase") != 0 || n == 2)
			continue;
		snprintf(out[n].key, sizeof(out[n].key), "%s", json_string_value(json_object_get(a, "api_key")));
		snprintf(out[n].secret, sizeof(out[n].secret), "%s", json_string_value(json_object_get(a, "secret")));
		out[n].trade = json_is_true(json_object_get(a, "can_trade"));
		out[n].withdraw = json_is_true(json_object_get(a, "can_withdraw"));
		n++;
	}
	json_decref(arr);
	assert_int_equal(n, 2);
	/* one EC PEM (ES256) and one Ed25519 key */
	assert_non_null(strstr(out[0].secret, "BEGIN EC PRIVATE KEY"));
	assert_null(strstr(out[1].secret, "BEGIN"));
}

static struct credential
cred_of(const struct acct *a)
{
	return (struct credential){ a->key, strlen(a->key), a->secret, strlen(a->secret), "", 0 };
}

/* The connector with a cap on the requests of a cycle: a cycle that does
 * not end fails the test instead of hanging it. */
#define CYCLE_CAP 2000
static struct exchange_ops capped;
static size_t cycle_requests;

static int
capped_next(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char **errstr)
{
	if (cycle_requests++ == CYCLE_CAP) {
		*errstr = "the cycle made " "2000" " requests and is not over";
		return -1;
	}
	return exchange_coinbase.next(c, cred, now_ms, req, errstr);
}

static void
conn_open(struct xconn *c, const struct exsim_run *s)
{
	struct xconf conf = { .market = FILL_SPOT, .base_url = s->url };
	const char *err = NULL;

	capped = exchange_coinbase;
	capped.next = capped_next;
	assert_int_equal(xconn_open(c, &capped, &conf, &err), 0);
}

static void
run_cycle_st(struct xconn *c, const struct acct *a, struct got *g, unsigned retries, struct xsync_stats *st)
{
	struct credential cr = cred_of(a);
	struct xsink sk = sink_of(g);

	cycle_requests = 0;
	if (xsync_cycle(c, &cr, &sk, retries, st) != 0)
		fail_msg("cycle failed: %d %s", (int)st->last, st->error);
}

static void
run_cycle(struct xconn *c, const struct acct *a, struct got *g, unsigned retries)
{
	struct xsync_stats st;

	run_cycle_st(c, a, g, retries, &st);
}

/* ---- tests ---- */

static void
test_backfill_exact(void **state)
{
	const char *args[] = { "--accounts", "2", "--fills", "10000", "--seed", "7", NULL };
	struct exsim_run s;
	struct acct acc[2];

	(void)state;
	exsim_run_start(&s, args);
	coinbase_accounts(&s, acc);
	for (int k = 0; k < 2; k++) {
		struct xconn c;
		struct got g;
		struct truth t;
		size_t unknown = 0, inquote = 0, n_before;
		const char *cur;
		json_t *v;

		struct xsync_stats st;
		got_init(&g);
		conn_open(&c, &s);
		run_cycle_st(&c, &acc[k], &g, 0, &st);
		assert_true(c.validated);
		assert_true(c.backfill_done);
		/* USDC is held and Coinbase lists no USDC-USD: asked once, the
		 * prices part says so, the cycle ends (issue #9) */
		assert_string_equal(c.degraded[XPART_PRICES], "prices: no USD product for USDC");
		assert_int_equal(g.perms, acc[k].trade * 2 + acc[k].withdraw);
		truth_get(&s, acc[k].key, &t);
		assert_true(t.n > 9000);
		/* no faults: every fill exactly once */
		assert_int_equal(dedup(&g), 0);
		assert_equals_truth(&g, &t);
		for (size_t i = 0; i < g.n; i++) {
			unknown += g.fills[i].role == FILL_ROLE_UNKNOWN;
			inquote += g.fills[i].has_cost;
		}
		assert_true(unknown > 0 && unknown < g.n / 10);
		assert_true(g.adjusted > 0 && g.adjusted < g.n / 50);
		assert_true(inquote > 0 && inquote < g.n / 4);
		/* balances: the truth's, and zero for the other wallets */
		json_object_foreach(t.balances, cur, v)
			assert_string_equal(json_string_value(json_object_get(g.balances, cur)), json_string_value(v));
		json_object_foreach(g.balances, cur, v)
			if (json_object_get(t.balances, cur) == NULL)
				assert_string_equal(json_string_value(v), "0");
		assert_true(json_object_size(g.balances) > 250);	/* two accounts pages */
		/* daily closes for every product traded and the BTC benchmark */
		{
			size_t want = 1;
			bool btc = false;
			for (size_t i = 0; i < g.n; i++) {
				bool seen = false;
				for (size_t m = 0; m < i && !seen; m++)
					seen = strcmp(g.fills[m].symbol, g.fills[i].symbol) == 0;
				want += !seen;
				btc |= !seen && strcmp(g.fills[i].symbol, "BTC/USD") == 0;
			}
			/* and <currency>/USD of every other currency held (USDC has none) */
			json_object_foreach(t.balances, cur, v) {
				char sym[FILL_SYMBOL_MAX];
				bool seen = strcmp(cur, "USD") == 0 || strcmp(cur, "BTC") == 0 || strcmp(cur, "USDC") == 0 ||
				    strcmp(json_string_value(v), "0") == 0;
				snprintf(sym, sizeof(sym), "%s/USD", cur);
				for (size_t m = 0; m < g.n && !seen; m++)
					seen = strcmp(g.fills[m].symbol, sym) == 0;
				want += !seen;
			}
			assert_int_equal(g.nprice_syms, want - btc);
			assert_true(g.nprices > g.nprice_syms * 80);
			/*
			 * The stated bound (conn_coinbase.h): time + permissions +
			 * (floor(F/250) + 1) fills pages + ceil(W/250) accounts pages
			 * + per product (the ones priced and USDC-USD)
			 * ceil((D + 1) / 300) candle windows, D = days since the
			 * first fill; without faults it is met (or one less).
			 */
			{
				size_t w = json_object_size(g.balances);
				int64_t d = time_day_of_ms(time_now_ms()) - time_day_of_ms(t.fills[0].timestamp);
				size_t bound = 2 + (g.n / 250 + 1) + (w + 249) / 250 +
				    (g.nprice_syms + 1) * (size_t)((d + 1 + 299) / 300);
				/* one less when the last full page already says "no more" */
				assert_true(st.requests <= bound && st.requests + 1 >= bound);
			}
		}
		/* incremental: only the newest fill(s) again (inclusive bound), no
		 * prices; one fills page and the accounts pages */
		n_before = g.n;
		g.nprices = 0;
		run_cycle_st(&c, &acc[k], &g, 0, &st);
		assert_true(g.n - n_before >= 1 && g.n - n_before <= 2);
		assert_int_equal(g.nprices, 0);
		assert_int_equal(st.requests, 1 + (json_object_size(g.balances) + 249) / 250);
		assert_int_equal(dedup(&g), g.n - n_before);
		assert_equals_truth(&g, &t);
		truth_free(&t);
		got_free(&g);
		xconn_close(&c);
	}
	exsim_run_stop(&s);
}

static char *
jwt_for(const struct acct *a, const char *host, const char *path, int64_t now_s)
{
	const char *err = NULL;
	char *jwt = sign_coinbase_jwt(a->key, a->secret, strlen(a->secret), "GET", host, path, now_s, NULL, &err);

	assert_non_null(jwt);
	return jwt;
}

/* GET path with "Authorization: Bearer jwt"; returns the status. */
static long
get_with(const struct exsim_run *s, const char *path, const char *jwt, char **body)
{
	char *h = xasprintf("Authorization: Bearer %s", jwt);
	long st = exsim_run_get(s, path, h, body);

	free(h);
	return st;
}

static void
expect_401(const struct exsim_run *s, const char *path, const char *jwt)
{
	char *body;

	assert_int_equal(get_with(s, path, jwt, &body), 401);
	assert_string_equal(body, "Unauthorized");
	free(body);
}

static void
test_jwt_refused(void **state)
{
	const char *args[] = { "--accounts", "2", "--fills", "500", NULL };
	struct exsim_run s;
	struct acct acc[2], wrong;
	char host[64], *jwt, *body;
	int64_t now = time_now_ms() / 1000;
	const char *fills = "/api/v3/brokerage/orders/historical/fills";

	(void)state;
	exsim_run_start(&s, args);
	coinbase_accounts(&s, acc);
	snprintf(host, sizeof(host), "127.0.0.1:%d", s.port);
	for (int k = 0; k < 2; k++) {
		jwt = jwt_for(&acc[k], host, fills, now);
		assert_int_equal(get_with(&s, "/api/v3/brokerage/orders/historical/fills?limit=5", jwt, &body), 200);
		assert_non_null(strstr(body, "\"fills\":["));
		free(body);
		/* tampered: one signature character, then one claims character */
		jwt[strlen(jwt) - 3] = jwt[strlen(jwt) - 3] == 'A' ? 'B' : 'A';
		expect_401(&s, fills, jwt);
		free(jwt);
		jwt = jwt_for(&acc[k], host, fills, now);
		*(strchr(jwt, '.') + 5) ^= 1;
		expect_401(&s, fills, jwt);
		free(jwt);
		jwt = jwt_for(&acc[k], host, fills, now - 121);	/* expired */
		expect_401(&s, fills, jwt);
		free(jwt);
		jwt = jwt_for(&acc[k], host, "/api/v3/brokerage/accounts", now);	/* another uri */
		expect_401(&s, fills, jwt);
		free(jwt);
		jwt = jwt_for(&acc[k], "api.coinbase.com", fills, now);	/* another host */
		expect_401(&s, fills, jwt);
		free(jwt);
	}
	/* the other account's secret under this key name; an unknown key name */
	wrong = acc[0];
	memcpy(wrong.secret, acc[1].secret, sizeof(wrong.secret));
	jwt = jwt_for(&wrong, host, fills, now);
	expect_401(&s, fills, jwt);
	free(jwt);
	snprintf(wrong.key, sizeof(wrong.key), "organizations/x/apiKeys/y");
	jwt = jwt_for(&wrong, host, fills, now);
	expect_401(&s, fills, jwt);
	free(jwt);
	expect_401(&s, fills, "not.a.jwt");
	assert_int_equal(exsim_run_get(&s, fills, NULL, &body), 401);
	free(body);
	/* the connector with a wrong secret: invalid credentials */
	{
		struct xconn c;
		struct got g;
		struct credential cr = cred_of(&acc[0]);
		struct xsink sk;
		struct xsync_stats st;

		cr.secret = acc[1].secret;
		cr.secret_len = strlen(acc[1].secret);
		got_init(&g);
		sk = sink_of(&g);
		conn_open(&c, &s);
		assert_int_equal(xsync_cycle(&c, &cr, &sk, 3, &st), -1);
		assert_int_equal(st.last, XR_AUTH);
		assert_non_null(strstr(st.error, "401"));
		assert_false(c.validated);
		got_free(&g);
		xconn_close(&c);
	}
	exsim_run_stop(&s);
}

/* The simulator's paging rules, through raw signed requests. */
static void
test_sim_paging_rules(void **state)
{
	const char *args[] = { "--accounts", "2", "--fills", "600", NULL };
	struct exsim_run s;
	struct acct acc[2];
	char host[64], *jwt, *body, *path;
	int64_t now = time_now_ms() / 1000;
	const char *fills = "/api/v3/brokerage/orders/historical/fills";
	json_t *j, *arr, *f;
	size_t i;

	(void)state;
	exsim_run_start(&s, args);
	coinbase_accounts(&s, acc);
	snprintf(host, sizeof(host), "127.0.0.1:%d", s.port);
	jwt = jwt_for(&acc[1], host, fills, now);
	/* default limit 100, newest first, sizes as strings, cursor non-empty */
	assert_int_equal(get_with(&s, fills, jwt, &body), 200);
	j = json_loads(body, 0, NULL);
	free(body);
	arr = json_object_get(j, "fills");
	assert_int_equal(json_array_size(arr), 100);
	assert_true(strlen(json_string_value(json_object_get(j, "cursor"))) > 0);
	for (i = 1; i < 100; i++)
		assert_true(strcmp(json_string_value(json_object_get(json_array_get(arr, i - 1), "sequence_timestamp")),
		    json_string_value(json_object_get(json_array_get(arr, i), "sequence_timestamp"))) > 0);
	assert_true(json_is_string(json_object_get(json_array_get(arr, 0), "size")));
	json_decref(j);
	/* limits and bad cursors are refused */
	assert_int_equal(get_with(&s, "/api/v3/brokerage/orders/historical/fills?limit=251", jwt, &body), 400);
	assert_non_null(strstr(body, "INVALID_ARGUMENT"));
	free(body);
	assert_int_equal(get_with(&s, "/api/v3/brokerage/orders/historical/fills?cursor=bm9wZQ%3D%3D", jwt, &body), 400);
	free(body);
	/* product_ids filter and an end bound */
	assert_int_equal(get_with(&s, "/api/v3/brokerage/orders/historical/fills?limit=250&product_ids=ETH-USD&"
	    "product_ids=SOL-USD", jwt, &body), 200);
	j = json_loads(body, 0, NULL);
	free(body);
	assert_true(json_array_size(json_object_get(j, "fills")) > 0);
	json_array_foreach(json_object_get(j, "fills"), i, f) {
		const char *p = json_string_value(json_object_get(f, "product_id"));
		assert_true(strcmp(p, "ETH-USD") == 0 || strcmp(p, "SOL-USD") == 0);
	}
	json_decref(j);
	path = xasprintf("%s?end_sequence_timestamp=2000-01-01T00:00:00Z", fills);
	assert_int_equal(get_with(&s, path, jwt, &body), 200);
	assert_string_equal(body, "{\"fills\":[],\"cursor\":\"\"}");
	free(body);
	free(path);
	free(jwt);
	/* accounts: default 49 per page with has_next */
	jwt = jwt_for(&acc[1], host, "/api/v3/brokerage/accounts", now);
	assert_int_equal(get_with(&s, "/api/v3/brokerage/accounts", jwt, &body), 200);
	j = json_loads(body, 0, NULL);
	free(body);
	assert_int_equal(json_array_size(json_object_get(j, "accounts")), 49);
	assert_true(json_is_true(json_object_get(j, "has_next")));
	json_decref(j);
	free(jwt);
	/* key_permissions */
	jwt = jwt_for(&acc[1], host, "/api/v3/brokerage/key_permissions", now);
	assert_int_equal(get_with(&s, "/api/v3/brokerage/key_permissions", jwt, &body), 200);
	assert_non_null(strstr(body, "\"can_view\":true"));
	free(body);
	free(jwt);
	/* candles: public; more than 349 buckets refused */
	path = xasprintf("/api/v3/brokerage/market/products/BTC-USD/candles?start=%lld&end=%lld&granularity=ONE_DAY",
	    (long long)(now - 400 * 86400), (long long)now);
	assert_int_equal(exsim_run_get(&s, path, NULL, &body), 400);
	free(body);
	free(path);
	assert_int_equal(exsim_run_get(&s, "/api/v3/brokerage/market/products/NOPE-USD/candles?start=0&end=1&"
	    "granularity=ONE_DAY", NULL, &body), 404);
	free(body);
	exsim_run_stop(&s);
}

/* Backfill under one fault: the deduplicated fills equal the truth. */
static void
fault_run(const char *flag, const char *p, bool expect_dups)
{
	const char *args[] = { "--accounts", "2", "--fills", "3000", "--seed", "11", flag, p, "--timeout-ms", "50",
		NULL };
	struct exsim_run s;
	struct acct acc[2];
	size_t dups = 0;

	exsim_run_start(&s, args);
	coinbase_accounts(&s, acc);
	for (int k = 0; k < 2; k++) {
		struct xconn c;
		struct got g;
		struct truth t;

		got_init(&g);
		conn_open(&c, &s);
		run_cycle(&c, &acc[k], &g, 40);
		run_cycle(&c, &acc[k], &g, 40);
		truth_get(&s, acc[k].key, &t);
		dups += dedup(&g);
		assert_equals_truth(&g, &t);
		truth_free(&t);
		got_free(&g);
		xconn_close(&c);
	}
	if (expect_dups)
		assert_true(dups > 2);	/* the overlap happened, and did no harm */
	exsim_run_stop(&s);
}

struct fault {
	const char *flag, *p;
	bool dups;
};

static struct fault faults[] = {
	{ "--fault-5xx", "0.25", false }, { "--fault-429", "0.2", false }, { "--fault-truncate", "0.25", false },
	{ "--fault-malformed", "0.25", false }, { "--fault-timeout", "0.2", false }, { "--fault-overlap", "0.6", true },
};

static void
test_fault(void **state)
{
	const struct fault *f = *state;

	fault_run(f->flag, f->p, f->dups);
}

/* Accounts keep trading: incremental cycles pick up every new fill. */
static void
test_live_incremental(void **state)
{
	const char *args[] = { "--accounts", "2", "--fills", "1500", "--live-spacing-ms", "15", NULL };
	struct exsim_run s;
	struct acct acc[2];
	struct xconn c;
	struct got g;
	struct truth t1, t2;
	size_t after_backfill, j = 0;

	(void)state;
	exsim_run_start(&s, args);
	coinbase_accounts(&s, acc);
	got_init(&g);
	conn_open(&c, &s);
	run_cycle(&c, &acc[1], &g, 0);
	after_backfill = g.n;
	for (int i = 0; i < 4; i++) {
		usleep(120000);
		run_cycle(&c, &acc[1], &g, 0);
	}
	truth_get(&s, acc[1].key, &t1);
	usleep(5000);
	run_cycle(&c, &acc[1], &g, 0);
	usleep(5000);
	truth_get(&s, acc[1].key, &t2);
	dedup(&g);
	assert_true(g.n > after_backfill + 10);
	/* truth before the last cycle <= what we have <= truth after it */
	assert_true(t1.n <= g.n && g.n <= t2.n);
	for (size_t i = 0; i < t1.n; i++) {
		while (j < g.n && cmp_fill(&g.fills[j], &t1.fills[i]) < 0)
			j++;
		assert_true(j < g.n);
		assert_same_fill(&g.fills[j], &t1.fills[i]);
	}
	for (size_t i = 0; i < g.n; i++)
		assert_same_fill(&g.fills[i], &t2.fills[i]);
	truth_free(&t1);
	truth_free(&t2);
	got_free(&g);
	xconn_close(&c);
	exsim_run_stop(&s);
}

/* strict limits: 30 private requests per second per key, then 429. */
static void
test_rate_limit(void **state)
{
	const char *args[] = { "--accounts", "2", "--fills", "300", "--strict-limits", NULL };
	struct exsim_run s;
	struct acct acc[2];
	char host[64], *jwt, *body;
	int limited = 0;

	(void)state;
	exsim_run_start(&s, args);
	coinbase_accounts(&s, acc);
	snprintf(host, sizeof(host), "127.0.0.1:%d", s.port);
	jwt = jwt_for(&acc[0], host, "/api/v3/brokerage/key_permissions", time_now_ms() / 1000);
	for (int i = 0; i < 45; i++) {
		long st = get_with(&s, "/api/v3/brokerage/key_permissions", jwt, &body);
		if (st == 429) {
			assert_non_null(strstr(body, "RATE_LIMIT_EXCEEDED"));
			limited++;
		}
		free(body);
	}
	free(jwt);
	assert_true(limited > 0);
	exsim_run_stop(&s);
}

/*
 * Issue #9: with the exchange's clock 90 s behind ours, JWTs stamped with
 * the local clock are refused (401: nbf beyond Coinbase's allowance); the
 * connector syncs to GET /time first, so the session validates and its
 * fills arrive, equal to the truth on the server's clock.
 */
static void
test_clock_skew(void **state)
{
	const char *args[] = { "--accounts", "2", "--fills", "800", "--seed", "5", "--clock-offset-s", "-90", NULL };
	struct exsim_run s;
	struct acct acc[2];
	char host[64], *jwt, *body;

	(void)state;
	exsim_run_start(&s, args);
	coinbase_accounts(&s, acc);
	/* a JWT on the local clock is refused, one on the server's accepted */
	snprintf(host, sizeof(host), "127.0.0.1:%d", s.port);
	jwt = jwt_for(&acc[0], host, "/api/v3/brokerage/key_permissions", time_now_ms() / 1000);
	assert_int_equal(get_with(&s, "/api/v3/brokerage/key_permissions", jwt, &body), 401);
	free(body);
	free(jwt);
	jwt = jwt_for(&acc[0], host, "/api/v3/brokerage/key_permissions", time_now_ms() / 1000 - 90);
	assert_int_equal(get_with(&s, "/api/v3/brokerage/key_permissions", jwt, &body), 200);
	free(body);
	free(jwt);
	for (int k = 0; k < 2; k++) {
		struct xconn c;
		struct got g;
		struct truth t;

		got_init(&g);
		conn_open(&c, &s);
		run_cycle(&c, &acc[k], &g, 0);
		assert_true(c.validated);
		assert_true(c.backfill_done);
		assert_true(c.clock_offset_ms > -95000 && c.clock_offset_ms < -85000);
		truth_get(&s, acc[k].key, &t);
		assert_int_equal(dedup(&g), 0);
		assert_equals_truth(&g, &t);
		truth_free(&t);
		got_free(&g);
		xconn_close(&c);
	}
	exsim_run_stop(&s);
}

/*
 * The candles are the market's fills (issue #9: they were a price wave
 * unrelated to them): for every day, a candle exactly when some account
 * traded the product, its range containing every fill price of the day,
 * its open the day's first fill and its close the day's last, judged on
 * the truth of every Coinbase account (never on the connector).
 */
static void
test_candles_match_fills(void **state)
{
	const char *args[] = { "--accounts", "2", "--fills", "600", "--seed", "9", NULL };
	struct exsim_run s;
	struct acct acc[2];
	struct truth t[2];
	const char *sym = NULL;
	char product[FILL_SYMBOL_MAX], *path, *body;
	int64_t now = time_now_ms(), today = time_day_of_ms(now);
	json_t *j, *x;
	size_t i, ncandles = 0, checked = 0;

	(void)state;
	exsim_run_start(&s, args);
	coinbase_accounts(&s, acc);
	truth_get(&s, acc[0].key, &t[0]);
	truth_get(&s, acc[1].key, &t[1]);
	sym = t[0].fills[0].symbol;
	snprintf(product, sizeof(product), "%s", sym);
	*strchr(product, '/') = '-';
	path = xasprintf("/api/v3/brokerage/market/products/%s/candles?start=%lld&end=%lld&granularity=ONE_DAY", product,
	    (long long)((today - 299) * 86400), (long long)((today + 1) * 86400 - 1));
	assert_int_equal(exsim_run_get(&s, path, NULL, &body), 200);
	j = json_loads(body, 0, NULL);
	assert_non_null(j);
	for (int64_t d = today - 299; d <= today; d++) {
		const struct fill *first = NULL, *last = NULL;
		json_t *c = NULL;
		struct dec lo, hi, v;
		const char *err;

		json_array_foreach(json_object_get(j, "candles"), i, x)
			if (strtoll(json_string_value(json_object_get(x, "start")), NULL, 10) == d * 86400)
				c = x;
		for (int a = 0; a < 2; a++)
			for (size_t m = 0; m < t[a].n; m++) {
				const struct fill *f = &t[a].fills[m];
				if (strcmp(f->symbol, sym) != 0 || time_day_of_ms(f->timestamp) != d)
					continue;
				if (c == NULL)
					fail_msg("%s: fills on day %lld, no candle", product, (long long)d);
				assert_int_equal(dec_parse(json_string_value(json_object_get(c, "low")),
				    json_string_length(json_object_get(c, "low")), &lo, &err), 0);
				assert_int_equal(dec_parse(json_string_value(json_object_get(c, "high")),
				    json_string_length(json_object_get(c, "high")), &hi, &err), 0);
				assert_true(dec_cmp(lo, f->price) <= 0 && dec_cmp(f->price, hi) <= 0);
				if (first == NULL || f->timestamp < first->timestamp)
					first = f;
				if (last == NULL || f->timestamp > last->timestamp)
					last = f;
				checked++;
			}
		if (c == NULL)
			continue;
		ncandles++;
		if (first == NULL)
			fail_msg("%s: a candle on day %lld without a fill", product, (long long)d);
		assert_int_equal(dec_parse(json_string_value(json_object_get(c, "open")),
		    json_string_length(json_object_get(c, "open")), &v, &err), 0);
		assert_int_equal(dec_cmp(v, first->price), 0);
		assert_int_equal(dec_parse(json_string_value(json_object_get(c, "close")),
		    json_string_length(json_object_get(c, "close")), &v, &err), 0);
		assert_int_equal(dec_cmp(v, last->price), 0);
	}
	assert_true(ncandles > 10 && checked > 50);
	json_decref(j);
	free(body);
	free(path);
	truth_free(&t[0]);
	truth_free(&t[1]);
	exsim_run_stop(&s);
}

/*
 * Fills reported with side UNKNOWN_ORDER_SIDE: each is rejected alone and
 * counted in the fills part's degradation, the walk goes on, and every
 * other fill equals the truth (issue #9: the walk stopped at the first).
 */
static void
test_unknown_side(void **state)
{
	const char *args[] = { "--accounts", "2", "--fills", "3000", "--seed", "4", "--coinbase-unknown-side", "0.01",
		NULL };
	struct exsim_run s;
	struct acct acc[2];
	struct xconn c;
	struct got g;
	struct truth t;
	char want[64];

	(void)state;
	exsim_run_start(&s, args);
	coinbase_accounts(&s, acc);
	got_init(&g);
	conn_open(&c, &s);
	run_cycle(&c, &acc[0], &g, 0);
	assert_true(c.backfill_done);
	truth_get(&s, acc[0].key, &t);
	assert_true(t.unknown_side > 5);
	snprintf(want, sizeof(want), "%zu fills rejected: side unknown", t.unknown_side);
	if (strstr(c.degraded[XPART_FILLS], want) == NULL)
		fail_msg("fills degraded \"%s\", want \"%s\"", c.degraded[XPART_FILLS], want);
	assert_int_equal(dedup(&g), 0);
	assert_equals_truth(&g, &t);
	/* said again by the next cycle, which fetches only the newest fills */
	run_cycle(&c, &acc[0], &g, 0);
	assert_non_null(strstr(c.degraded[XPART_FILLS], want));
	truth_free(&t);
	got_free(&g);
	xconn_close(&c);
	exsim_run_stop(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backfill_exact),
		cmocka_unit_test(test_jwt_refused),
		cmocka_unit_test(test_sim_paging_rules),
		cmocka_unit_test_prestate(test_fault, &faults[0]),
		cmocka_unit_test_prestate(test_fault, &faults[1]),
		cmocka_unit_test_prestate(test_fault, &faults[2]),
		cmocka_unit_test_prestate(test_fault, &faults[3]),
		cmocka_unit_test_prestate(test_fault, &faults[4]),
		cmocka_unit_test_prestate(test_fault, &faults[5]),
		cmocka_unit_test(test_live_incremental),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_clock_skew),
		cmocka_unit_test(test_candles_match_fills),
		cmocka_unit_test(test_unknown_side),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
