/*
 * Binance connector against the simulator: starts $PERFAGG_BIN_DIR/
 * perfagg-exsim on 127.0.0.1, runs xsync cycles (backfill, then incremental)
 * for spot, cross margin and USD-M accounts, and asserts the fills equal GET
 * /exsim/truth exactly, field by field, also under each injected fault.
 * The simulator's own Binance rules (errors, windows, weights, 429 then 418)
 * are checked in process through exsim_dispatch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/fill.h"
#include "exchange/exchange.h"
#include "exchange/sign_binance.h"
#include "exchange/xsync.h"
#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define DAY 86400000LL

/* ------------------------------------------------------------------ the simulator process */

struct sim {
	pid_t pid;
	unsigned port;
	char base[64];
};

static void
sim_start(struct sim *s, const char *const *args)
{
	const char *dir = getenv("PERFAGG_BIN_DIR");
	char *path = xasprintf("%s/perfagg-exsim", dir != NULL ? dir : ".");
	const char *argv[32] = { path, "--port", "0" };
	char line[256];
	int fd[2], n = 3;
	FILE *f;

	for (; args != NULL && *args != NULL && n < 30; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	assert_int_equal(pipe(fd), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		/* Dies with the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execv(path, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(sscanf(line, "{\"event\":\"listening\",\"port\":%u}", &s->port), 1);
	fclose(f);
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u", s->port);
	free(path);
}

static void
sim_stop(struct sim *s)
{
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
}

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	char **b = arg;
	size_t old = *b != NULL ? strlen(*b) : 0;

	*b = xrealloc(*b, old + sz * n + 1);
	memcpy(*b + old, p, sz * n);
	(*b)[old + sz * n] = '\0';
	return sz * n;
}

/* GET base+path: the body (fresh string), status in *status. */
static char *
http_get(const struct sim *s, const char *path, long *status)
{
	CURL *c = curl_easy_init();
	char *url = xasprintf("%s%s", s->base, path), *body = NULL;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	free(url);
	return body != NULL ? body : xstrdup("");
}

static json_t *
get_json(const struct sim *s, const char *path)
{
	long status;
	char *b = http_get(s, path, &status);
	int line;
	const char *err;
	json_t *j = fill_json_loads(b, strlen(b), &line, &err);

	assert_int_equal(status, 200);
	assert_non_null(j);
	free(b);
	return j;
}

/* The idx-th Binance account of market m (from GET /exsim/accounts). */
static json_t *
account(const struct sim *s, const char *market, int idx)
{
	json_t *all = get_json(s, "/exsim/accounts"), *a, *out = NULL;
	size_t i;

	json_array_foreach(all, i, a)
		if (strcmp(json_string_value(json_object_get(a, "exchange")), "binance") == 0 &&
		    strcmp(json_string_value(json_object_get(a, "market")), market) == 0 && idx-- == 0) {
			out = json_incref(a);
			break;
		}
	json_decref(all);
	assert_non_null(out);
	return out;
}

/* ------------------------------------------------------------------ what the connector reports */

struct flowrec {
	char id[48];
	int64_t ts;
	char cur[FILL_CUR_MAX];
	struct dec amount;
};

struct col {
	struct fill *fills;
	size_t nfills, cap;
	json_t *balances;		/* currency -> decimal string */
	struct flowrec flows[64];
	size_t nflows;
	size_t nprices;
	json_t *price_syms;		/* symbol -> true */
	int perms;			/* -1 none; can_trade | can_withdraw << 1 */
	json_t *funding;		/* tranId -> "symbol currency amount time" */
};

static int
c_fill(void *arg, const struct fill *f)
{
	struct col *c = arg;

	if (c->nfills == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->fills = xreallocarray(c->fills, c->cap, sizeof(*c->fills));
	}
	c->fills[c->nfills++] = *f;
	return 0;
}

static int
c_balance(void *arg, const char *cur, struct dec total)
{
	struct col *c = arg;
	char b[DEC_STR_MAX];

	dec_format(b, sizeof(b), total);
	json_object_set_new(c->balances, cur, json_string(b));
	return 0;
}

static int
c_flow(void *arg, const char *id, int64_t ts, const char *cur, struct dec amount)
{
	struct col *c = arg;
	struct flowrec *r;

	assert_true(c->nflows < 64);
	r = &c->flows[c->nflows++];
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->ts = ts;
	snprintf(r->cur, sizeof(r->cur), "%s", cur);
	r->amount = amount;
	return 0;
}

static int
c_funding(void *arg, const char *id, int64_t ts, const char *sym, const char *cur, struct dec amount)
{
	struct col *c = arg;
	char b[DEC_STR_MAX];

	dec_format(b, sizeof(b), amount);
	json_object_set_new(c->funding, id, json_sprintf("%s %s %s %lld", sym, cur, b, (long long)ts));
	return 0;
}

static int
c_price(void *arg, const char *sym, int64_t day, struct dec close)
{
	struct col *c = arg;

	assert_int_equal(day % 86400000LL, 0);
	assert_true(dec_sign(close) > 0);
	c->nprices++;
	json_object_set_new(c->price_syms, sym, json_true());
	return 0;
}

static int
c_perms(void *arg, bool t, bool w)
{
	struct col *c = arg;

	c->perms = (t ? 1 : 0) | (w ? 2 : 0);
	return 0;
}

static void
col_init(struct col *c, struct xsink *sink)
{
	memset(c, 0, sizeof(*c));
	c->balances = json_object();
	c->price_syms = json_object();
	c->funding = json_object();
	c->perms = -1;
	*sink = (struct xsink){ c, c_fill, c_balance, c_flow, c_price, c_perms, c_funding };
}

static void
col_free(struct col *c)
{
	free(c->fills);
	json_decref(c->balances);
	json_decref(c->price_syms);
	json_decref(c->funding);
}

/* ------------------------------------------------------------------ comparison */

static int
fill_cmp(const void *x, const void *y)
{
	const struct fill *a = x, *b = y;
	int r;

	if (a->timestamp != b->timestamp)
		return a->timestamp < b->timestamp ? -1 : 1;
	if ((r = strcmp(a->symbol, b->symbol)) != 0)
		return r;
	return strcmp(a->id, b->id);
}

static void
assert_fill_eq(const struct fill *a, const struct fill *b, size_t i)
{
	struct dec ca, cb;

	if (strcmp(a->id, b->id) != 0 || strcmp(a->order, b->order) != 0 || a->timestamp != b->timestamp ||
	    strcmp(a->symbol, b->symbol) != 0 || strcmp(a->base, b->base) != 0 || strcmp(a->quote, b->quote) != 0 ||
	    a->side != b->side || dec_cmp(a->price, b->price) != 0 || dec_cmp(a->amount, b->amount) != 0 ||
	    fill_cost(a, &ca) != 0 || fill_cost(b, &cb) != 0 || dec_cmp(ca, cb) != 0 || a->nfees != b->nfees ||
	    a->role != b->role || a->market != b->market)
		fail_msg("fill %zu differs: id %s/%s ts %lld/%lld symbol %s/%s", i, a->id, b->id,
		    (long long)a->timestamp, (long long)b->timestamp, a->symbol, b->symbol);
	for (size_t k = 0; k < a->nfees; k++)
		if (dec_cmp(a->fees[k].cost, b->fees[k].cost) != 0 || strcmp(a->fees[k].currency, b->fees[k].currency) != 0)
			fail_msg("fill %zu (%s): fee differs", i, a->id);
}

/* Asserts the collected fills are the truth exactly: no loss, no duplicate. */
static void
assert_truth(const struct sim *s, const char *key, struct col *c, size_t *ntruth)
{
	char *path = xasprintf("/exsim/truth?api_key=%s", key);
	json_t *t = get_json(s, path), *arr = json_object_get(t, "fills"), *o;
	struct fill *want = xcalloc(json_array_size(arr) + 1, sizeof(*want));
	const char *field, *err;
	size_t i;

	json_array_foreach(arr, i, o)
		if (fill_from_json(&want[i], o, &field, &err) != 0)
			fail_msg("truth fill %zu: %s: %s", i, field, err);
	qsort(want, json_array_size(arr), sizeof(*want), fill_cmp);
	qsort(c->fills, c->nfills, sizeof(*c->fills), fill_cmp);
	if (c->nfills != json_array_size(arr))
		fail_msg("%zu fills collected, truth has %zu", c->nfills, json_array_size(arr));
	for (i = 0; i < c->nfills; i++)
		assert_fill_eq(&c->fills[i], &want[i], i);
	*ntruth = json_array_size(arr);
	free(want);
	free(path);
	json_decref(t);
}

/* Balances and flows equal the truth's (withdrawals to the second: Binance's
 * applyTime has no milliseconds; USD-M transfers have their own ids). */
static void
assert_balances_flows(const struct sim *s, const char *key, const struct col *c, bool futures)
{
	char *path = xasprintf("/exsim/truth?api_key=%s", key);
	json_t *t = get_json(s, path), *flows = json_object_get(t, "flows"), *bal = json_object_get(t, "balances");
	json_t *o;
	const char *cur;
	size_t i;

	json_object_foreach(bal, cur, o) {
		struct dec d;
		const char *err, *v = json_string_value(o);
		assert_int_equal(dec_parse(v, strlen(v), &d, &err), 0);
		if (dec_is_zero(d))
			continue;
		if (json_object_get(c->balances, cur) == NULL)
			fail_msg("balance %s missing", cur);
		{
			char b[DEC_STR_MAX];
			dec_format(b, sizeof(b), d);
			assert_string_equal(json_string_value(json_object_get(c->balances, cur)), b);
		}
	}
	assert_int_equal(c->nflows, json_array_size(flows));
	json_array_foreach(flows, i, o) {
		const struct flowrec *r = NULL;
		int64_t ts = strtoll(json_string_value(json_object_get(o, "timestamp")), NULL, 10);
		const char *amt = json_string_value(json_object_get(o, "amount")), *err;
		const char *id = json_string_value(json_object_get(o, "id"));
		struct dec d;

		assert_int_equal(dec_parse(amt, strlen(amt), &d, &err), 0);
		/* Withdrawals are known to the second only (applyTime). */
		if (dec_sign(d) < 0 && !futures)
			ts -= ts % 1000;
		for (size_t k = 0; k < c->nflows && r == NULL; k++)
			if (futures ? c->flows[k].ts == ts && dec_cmp(c->flows[k].amount, d) == 0 :
			    strcmp(c->flows[k].id, id) == 0)
				r = &c->flows[k];
		if (r == NULL)
			fail_msg("flow %s missing", id);
		assert_string_equal(r->cur, json_string_value(json_object_get(o, "currency")));
		assert_true(dec_cmp(r->amount, d) == 0);
		assert_int_equal(r->ts, ts);
	}
	free(path);
	json_decref(t);
}

/* ------------------------------------------------------------------ end-to-end cycles */

struct session {
	struct xconn c;
	struct credential cred;
	char key[128], secret[128];
	struct col col;
	struct xsink sink;
	bool can_trade, can_withdraw;
};

static void
session_open(struct session *ss, const struct sim *s, const char *market, int idx)
{
	json_t *a = account(s, market, idx);
	struct xconf conf = { .base_url = s->base };
	const char *err = NULL;

	memset(ss, 0, sizeof(*ss));
	conf.market = strcmp(market, "spot") == 0 ? FILL_SPOT : strcmp(market, "margin") == 0 ? FILL_MARGIN :
	    FILL_FUTURES;
	snprintf(ss->key, sizeof(ss->key), "%s", json_string_value(json_object_get(a, "api_key")));
	snprintf(ss->secret, sizeof(ss->secret), "%s", json_string_value(json_object_get(a, "secret")));
	ss->can_trade = json_is_true(json_object_get(a, "can_trade"));
	ss->can_withdraw = json_is_true(json_object_get(a, "can_withdraw"));
	json_decref(a);
	ss->cred = (struct credential){ ss->key, strlen(ss->key), ss->secret, strlen(ss->secret), "", 0 };
	assert_int_equal(xconn_open(&ss->c, &exchange_binance, &conf, &err), 0);
	col_init(&ss->col, &ss->sink);
}

static void
session_close(struct session *ss)
{
	xconn_close(&ss->c);
	col_free(&ss->col);
}

static void
cycle_ok(struct session *ss, unsigned max_retries, struct xsync_stats *st)
{
	if (xsync_cycle(&ss->c, &ss->cred, &ss->sink, max_retries, st) != 0)
		fail_msg("cycle failed: %d %s", st->last, st->error);
}

/* The funding payments collected are the truth's FUNDING_FEE rows exactly
 * (each once: a re-read row has the same id); USD-M accounts have some. */
static void
assert_funding(const struct sim *s, const char *key, const struct col *c, bool futures)
{
	char *path = xasprintf("/exsim/truth?api_key=%s", key);
	json_t *t = get_json(s, path), *rows = json_object_get(t, "funding"), *o;
	size_t i;

	assert_non_null(rows);
	assert_int_equal(json_object_size(c->funding), json_array_size(rows));
	if (futures)
		assert_true(json_array_size(rows) > 0);
	json_array_foreach(rows, i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		json_t *want = json_sprintf("%s %s %s %s", json_string_value(json_object_get(o, "symbol")),
		    json_string_value(json_object_get(o, "currency")), json_string_value(json_object_get(o, "amount")),
		    json_string_value(json_object_get(o, "timestamp")));
		const json_t *got = json_object_get(c->funding, id);
		if (got == NULL || strcmp(json_string_value(got), json_string_value(want)) != 0)
			fail_msg("funding %s: collected %s, truth %s", id, got ? json_string_value(got) : "nothing",
			    json_string_value(want));
		json_decref(want);
	}
	json_decref(t);
	free(path);
}

/* Backfill, an idle incremental cycle, and the checks against the truth. */
static void
backfill_market(const struct sim *s, const char *market, int idx, size_t *nfills)
{
	struct session ss;
	struct xsync_stats st;
	size_t n;

	session_open(&ss, s, market, idx);
	cycle_ok(&ss, 3, &st);
	assert_true(ss.c.validated);
	assert_true(ss.c.backfill_done);
	assert_int_equal(ss.col.perms, (ss.can_trade ? 1 : 0) | (ss.can_withdraw ? 2 : 0));
	assert_truth(s, ss.key, &ss.col, &n);
	assert_true(n > 0);
	assert_balances_flows(s, ss.key, &ss.col, ss.c.conf.market == FILL_FUTURES);
	assert_funding(s, ss.key, &ss.col, ss.c.conf.market == FILL_FUTURES);
	/* Daily closes for the traded symbols and the BTCUSDT benchmark. */
	assert_true(ss.col.nprices > 0);
	assert_non_null(json_object_get(ss.col.price_syms, ss.c.conf.market == FILL_FUTURES ? "BTC/USDT:USDT" :
	    "BTC/USDT"));
	/* Nothing new: an incremental cycle adds nothing. */
	ss.col.nflows = 0;
	cycle_ok(&ss, 3, &st);
	assert_truth(s, ss.key, &ss.col, &n);
	assert_funding(s, ss.key, &ss.col, ss.c.conf.market == FILL_FUTURES);
	*nfills = n;
	session_close(&ss);
}

static void
test_backfill_all_markets(void **state)
{
	const char *args[] = { "--seed", "11", "--fills", "2500", NULL };
	struct sim s;
	size_t n;

	(void)state;
	sim_start(&s, args);
	for (int i = 0; i < 2; i++) {
		backfill_market(&s, "spot", i, &n);
		backfill_market(&s, "margin", i, &n);
		backfill_market(&s, "futures", i, &n);
	}
	sim_stop(&s);
}

static void
test_backfill_20000(void **state)
{
	const char *args[] = { "--seed", "5", "--accounts", "1", "--fills", "20000", NULL };
	struct sim s;
	size_t n;

	(void)state;
	sim_start(&s, args);
	backfill_market(&s, "spot", 0, &n);
	assert_true(n >= 19990);
	backfill_market(&s, "futures", 0, &n);
	assert_true(n >= 19990);
	sim_stop(&s);
}

static void
test_permissions_and_auth(void **state)
{
	const char *args[] = { "--seed", "11", "--fills", "200", NULL };
	struct sim s;
	struct session ss;
	struct xsync_stats st;
	bool seen_ro = false, seen_w = false;
	const char *markets[] = { "spot", "margin", "futures" };

	(void)state;
	sim_start(&s, args);
	for (int m = 0; m < 3; m++)
		for (int i = 0; i < 2; i++) {
			session_open(&ss, &s, markets[m], i);
			cycle_ok(&ss, 3, &st);
			assert_int_equal(ss.col.perms, (ss.can_trade ? 1 : 0) | (ss.can_withdraw ? 2 : 0));
			seen_ro |= ss.col.perms == 0;
			seen_w |= (ss.col.perms & 2) != 0;
			session_close(&ss);
		}
	/* The world has both: a read-only key and a key allowed to withdraw. */
	assert_true(seen_ro);
	assert_true(seen_w);

	/* A wrong secret: XR_AUTH with -1022, nothing emitted, not validated. */
	session_open(&ss, &s, "spot", 0);
	ss.secret[0] = ss.secret[0] == 'A' ? 'B' : 'A';
	assert_int_equal(xsync_cycle(&ss.c, &ss.cred, &ss.sink, 3, &st), -1);
	assert_int_equal(st.last, XR_AUTH);
	assert_non_null(strstr(st.error, "-1022"));
	assert_false(ss.c.validated);
	assert_int_equal(ss.col.nfills, 0);
	session_close(&ss);

	/* An unknown key: -2015. */
	session_open(&ss, &s, "futures", 0);
	ss.key[0] = ss.key[0] == 'A' ? 'B' : 'A';
	assert_int_equal(xsync_cycle(&ss.c, &ss.cred, &ss.sink, 3, &st), -1);
	assert_int_equal(st.last, XR_AUTH);
	assert_non_null(strstr(st.error, "-2015"));
	session_close(&ss);
	sim_stop(&s);
}

static void
test_clock_skew(void **state)
{
	const char *args[] = { "--seed", "3", "--fills", "300", NULL };
	const char *markets[] = { "spot", "margin", "futures" };
	struct sim s;
	struct session ss;
	struct xsync_stats st;
	size_t n;

	(void)state;
	sim_start(&s, args);
	for (int m = 0; m < 3; m++) {
		session_open(&ss, &s, markets[m], 0);
		cycle_ok(&ss, 3, &st);
		/* The local clock jumps 20 s ahead of the exchange's (beyond
		 * the 10 s recvWindow the connector sends). */
		ss.c.clock_offset_ms += 20000;
		cycle_ok(&ss, 3, &st);
		assert_true(st.retries >= 1);
		assert_true(ss.c.clock_offset_ms > -2000 && ss.c.clock_offset_ms < 2000);
		/* ... and 20 s behind it. */
		ss.c.clock_offset_ms -= 20000;
		cycle_ok(&ss, 3, &st);
		assert_true(st.retries >= 1);
		assert_truth(&s, ss.key, &ss.col, &n);
		session_close(&ss);
	}
	sim_stop(&s);
}

static void
test_incremental_live(void **state)
{
	/* Each account keeps trading: about a fill per 30 ms. */
	const char *args[] = { "--seed", "9", "--fills", "400", "--live-spacing-ms", "30", NULL };
	const char *markets[] = { "spot", "margin", "futures" };
	struct sim s;
	struct session ss[3];
	struct xsync_stats st;

	(void)state;
	sim_start(&s, args);
	for (int m = 0; m < 3; m++)
		session_open(&ss[m], &s, markets[m], 1);
	for (int round = 0; round < 4; round++) {
		for (int m = 0; m < 3; m++)
			cycle_ok(&ss[m], 3, &st);
		usleep(400000);
	}
	for (int m = 0; m < 3; m++) {
		/* Freeze: everything up to the start of the last cycle must be in,
		 * and nothing the truth lacks, and nothing twice. */
		int64_t t0 = time_now_ms();
		char *path = xasprintf("/exsim/truth?api_key=%s", ss[m].key);
		json_t *t, *arr, *o;
		struct fill *want;
		size_t i, j = 0, nw;
		const char *field, *err;

		cycle_ok(&ss[m], 3, &st);
		t = get_json(&s, path);
		arr = json_object_get(t, "fills");
		nw = json_array_size(arr);
		want = xcalloc(nw + 1, sizeof(*want));
		json_array_foreach(arr, i, o)
			assert_int_equal(fill_from_json(&want[i], o, &field, &err), 0);
		qsort(want, nw, sizeof(*want), fill_cmp);
		qsort(ss[m].col.fills, ss[m].col.nfills, sizeof(*ss[m].col.fills), fill_cmp);
		for (i = 1; i < ss[m].col.nfills; i++)
			assert_true(fill_cmp(&ss[m].col.fills[i - 1], &ss[m].col.fills[i]) < 0);
		/* Collected = truth up to the first fill the last cycle could not see. */
		for (i = 0; i < nw; i++) {
			if (j < ss[m].col.nfills && fill_cmp(&want[i], &ss[m].col.fills[j]) == 0) {
				assert_fill_eq(&ss[m].col.fills[j], &want[i], j);
				j++;
			} else if (want[i].timestamp <= t0)
				fail_msg("%s: truth fill %s at %lld missing", markets[m], want[i].id,
				    (long long)want[i].timestamp);
		}
		assert_int_equal(j, ss[m].col.nfills);
		assert_true(ss[m].col.nfills > 400);
		free(want);
		free(path);
		json_decref(t);
		session_close(&ss[m]);
	}
	sim_stop(&s);
}

static void
test_faults(void **state)
{
	static const char *const faults[][2] = {
		{ "--fault-5xx", "0.15" }, { "--fault-429", "0.08" }, { "--fault-truncate", "0.15" },
		{ "--fault-malformed", "0.15" }, { "--fault-overlap", "0.5" },
	};
	const char *markets[] = { "spot", "margin", "futures" };

	(void)state;
	for (size_t f = 0; f < sizeof(faults) / sizeof(faults[0]); f++) {
		const char *args[] = { "--seed", "21", "--fills", "4000", faults[f][0], faults[f][1], NULL };
		struct sim s;
		json_t *stats;

		sim_start(&s, args);
		for (int m = 0; m < 3; m++) {
			struct session ss;
			struct xsync_stats st;
			size_t n;

			session_open(&ss, &s, markets[m], 0);
			if (xsync_cycle(&ss.c, &ss.cred, &ss.sink, 30, &st) != 0)
				fail_msg("%s %s: %d %s", faults[f][0], markets[m], st.last, st.error);
			assert_truth(&s, ss.key, &ss.col, &n);
			session_close(&ss);
		}
		/* The fault did happen. */
		stats = get_json(&s, "/exsim/stats");
		assert_true(strtoll(json_string_value(json_object_get(stats, "faults")), NULL, 10) > 0);
		json_decref(stats);
		sim_stop(&s);
	}
}

/* ------------------------------------------------------------------ the simulator's rules, in process */

struct ireq {
	struct exsim_request rq;
	struct exsim_param params[16];
	char qbuf[1024];
	const char *apikey;
};

static const char *itime_unit;	/* X-MBX-TIME-UNIT sent by idispatch, NULL: none */

static const char *
ihdr(const struct exsim_request *r, const char *name)
{
	const struct ireq *q = r->ctx;

	if (strcasecmp(name, "X-MBX-TIME-UNIT") == 0)
		return itime_unit;
	return strcasecmp(name, "X-MBX-APIKEY") == 0 ? q->apikey : NULL;
}

static unsigned idispatch_unit(struct exsim *w, const char *path, const char *query, const struct exsim_account *a,
    int64_t skew, int64_t now, int64_t unit, struct exsim_response *rs);

/* Dispatches GET path?query (signed with secret when non-NULL, timestamp
 * at the simulator's clock + skew) and returns the status; body in rs. */
static unsigned
idispatch(struct exsim *w, const char *path, const char *query, const struct exsim_account *a, int64_t skew,
    int64_t now, struct exsim_response *rs)
{
	return idispatch_unit(w, path, query, a, skew, now, 1, rs);
}

/* As idispatch, the timestamp in milliseconds (unit 1) or microseconds (1000). */
static unsigned
idispatch_unit(struct exsim *w, const char *path, const char *query, const struct exsim_account *a, int64_t skew,
    int64_t now, int64_t unit, struct exsim_response *rs)
{
	struct ireq q;
	char *full, *p;
	char sig[SIGN_BINANCE_HMAC_HEX];

	memset(&q, 0, sizeof(q));
	free(rs->body);
	memset(rs, 0, sizeof(*rs));
	if (a != NULL) {
		char *signedq = xasprintf("%s%stimestamp=%lld", query, *query ? "&" : "", (long long)((now + skew) * unit));
		assert_int_equal(sign_binance_hmac(sig, a->secret, strlen(a->secret), signedq, strlen(signedq), NULL, 0), 0);
		full = xasprintf("%s&signature=%s", signedq, sig);
		free(signedq);
		q.apikey = a->api_key;
	} else
		full = xstrdup(query);
	snprintf(q.qbuf, sizeof(q.qbuf), "%s", full);
	q.rq.method = "GET";
	q.rq.path = path;
	q.rq.query = full;
	q.rq.body = "";
	q.rq.header = ihdr;
	q.rq.ctx = &q;
	q.rq.now_ms = now;
	/* Split the (already unencoded) query into parameters. */
	for (p = q.qbuf; *p != '\0' && q.rq.nparams < 16;) {
		char *amp = strchr(p, '&'), *eq;
		if (amp != NULL)
			*amp = '\0';
		if ((eq = strchr(p, '=')) != NULL) {
			*eq = '\0';
			q.params[q.rq.nparams].name = p;
			q.params[q.rq.nparams++].value = eq + 1;
		}
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	q.rq.params = q.params;
	exsim_dispatch(w, &q.rq, rs);
	free(full);
	return rs->status;
}

static const char *
rheader(const struct exsim_response *rs, const char *name)
{
	for (size_t i = 0; i < rs->nheaders; i++)
		if (strcasecmp(rs->headers[i].name, name) == 0)
			return rs->headers[i].value;
	return NULL;
}

static void
assert_error(const struct exsim_response *rs, unsigned status, unsigned got, const char *code)
{
	if (got != status || strstr(rs->body, code) == NULL)
		fail_msg("status %u body %s, want %u %s", got, rs->body, status, code);
}

static void
test_sim_rules(void **state)
{
	struct exsim_config cfg;
	struct exsim w;
	struct exsim_response rs = { 0 };
	const struct exsim_account *spot = NULL, *fut = NULL;
	const char *err = NULL;
	int64_t now;
	char q[256];
	json_t *j;

	(void)state;
	exsim_config_default(&cfg);
	cfg.seed = 4;
	cfg.fills_per_account = 3000;
	cfg.strict_limits = true;
	assert_int_equal(exsim_init(&w, &cfg, &err), 0);
	now = w.start_ms + 1000;
	for (size_t i = 0; i < w.naccounts; i++)
		if (w.accounts[i].venue == exsim_venue_find("binance") && w.accounts[i].market == FILL_SPOT && spot == NULL)
			spot = &w.accounts[i];
		else if (w.accounts[i].venue == exsim_venue_find("binance") && w.accounts[i].market == FILL_FUTURES && fut == NULL)
			fut = &w.accounts[i];
	assert_non_null(spot);
	assert_non_null(fut);

	/* Authentication. */
	/* A listed symbol the account never traded: an empty page. */
	assert_int_equal(idispatch(&w, "/api/v3/myTrades", "symbol=XRPUSDT", spot, 0, now, &rs), 200);
	assert_string_equal(rs.body, "[]");
	assert_error(&rs, 400, idispatch(&w, "/api/v3/account", "recvWindow=5000", spot, -6000, now, &rs),
	    "\"code\":-1021,\"msg\":\"Timestamp for this request is outside of the recvWindow.\"");
	assert_error(&rs, 400, idispatch(&w, "/api/v3/account", "", spot, 1000, now, &rs), "ahead of the server");
	assert_int_equal(idispatch(&w, "/api/v3/account", "recvWindow=60000", spot, -59000, now, &rs), 200);
	assert_error(&rs, 400, idispatch(&w, "/api/v3/account", "recvWindow=60001", spot, 0, now, &rs), "-1131");
	{
		struct exsim_account bad = *spot;
		snprintf(bad.secret, sizeof(bad.secret), "%s", "wrong");
		assert_error(&rs, 400, idispatch(&w, "/api/v3/account", "", &bad, 0, now, &rs),
		    "{\"code\":-1022,\"msg\":\"Signature for this request is not valid.\"}");
		snprintf(bad.api_key, sizeof(bad.api_key), "%064d", 7);
		assert_error(&rs, 401, idispatch(&w, "/api/v3/account", "", &bad, 0, now, &rs),
		    "{\"code\":-2015,\"msg\":\"Invalid API-key, IP, or permissions for action.\"}");
	}
	/* Microsecond timestamps (16 digits) and recvWindow with up to three
	 * decimals, at most 60000. */
	assert_int_equal(idispatch_unit(&w, "/api/v3/account", "recvWindow=5000", spot, -4999, now, 1000, &rs), 200);
	assert_error(&rs, 400, idispatch_unit(&w, "/api/v3/account", "", spot, 1000, now, 1000, &rs), "-1021");
	assert_int_equal(idispatch(&w, "/api/v3/account", "recvWindow=5000.5", spot, -5000, now, &rs), 200);
	assert_error(&rs, 400, idispatch(&w, "/api/v3/account", "recvWindow=5000.5", spot, -5001, now, &rs), "-1021");
	assert_error(&rs, 400, idispatch(&w, "/api/v3/account", "recvWindow=1.2345", spot, 0, now, &rs), "-1100");
	assert_error(&rs, 400, idispatch(&w, "/api/v3/account", "recvWindow=60000.001", spot, 0, now, &rs), "-1131");
	assert_int_equal(idispatch(&w, "/api/v3/account", "recvWindow=60000.000", spot, 0, now, &rs), 200);
	/* X-MBX-TIME-UNIT: MICROSECOND: spot answers times in microseconds,
	 * USD-M does not have it. */
	itime_unit = "MICROSECOND";
	assert_int_equal(idispatch(&w, "/api/v3/time", "", NULL, 0, now, &rs), 200);
	snprintf(q, sizeof(q), "{\"serverTime\":%lld}", (long long)now * 1000);
	assert_string_equal(rs.body, q);
	assert_int_equal(idispatch(&w, "/fapi/v1/time", "", NULL, 0, now, &rs), 200);
	snprintf(q, sizeof(q), "{\"serverTime\":%lld}", (long long)now);
	assert_string_equal(rs.body, q);
	snprintf(q, sizeof(q), "symbol=%s&limit=1", spot->symbols[0].native);
	assert_int_equal(idispatch_unit(&w, "/api/v3/myTrades", q, spot, 0, now, 1000, &rs), 200);
	j = json_loads(rs.body, 0, NULL);
	assert_true(json_integer_value(json_object_get(json_array_get(j, 0), "time")) > 1000000000000000LL);
	json_decref(j);
	itime_unit = NULL;
	/* A spot key on /fapi: refused as a key without futures permission. */
	snprintf(q, sizeof(q), "symbol=%s", fut->symbols[0].native);
	assert_error(&rs, 401, idispatch(&w, "/fapi/v1/userTrades", q, spot, 0, now, &rs),
	    "{\"code\":-2015,\"msg\":\"Invalid API-key, IP, or permissions for action.\"}");
	assert_error(&rs, 401, idispatch(&w, "/fapi/v2/account", "", spot, 0, now, &rs), "-2015");
	/* Parameters an endpoint does not read (-1104), parameters sent twice (-1101). */
	assert_error(&rs, 400, idispatch(&w, "/api/v3/exchangeInfo", "limit=5", NULL, 0, now, &rs),
	    "{\"code\":-1104,\"msg\":\"Not all sent parameters were read; read '0' parameter(s) but was sent '1'.\"}");
	assert_error(&rs, 400, idispatch(&w, "/api/v3/account", "omitZeroBalances=true&fromId=1", spot, 0, now, &rs),
	    "read '3' parameter(s) but was sent '4'");
	assert_error(&rs, 400, idispatch(&w, "/fapi/v1/klines", "symbol=BTCUSDT&interval=1d&isIsolated=TRUE", NULL, 0,
	    now, &rs), "-1104");
	assert_error(&rs, 400, idispatch(&w, "/api/v3/myTrades", "symbol=BTCUSDT&symbol=ETHUSDT", spot, 0, now, &rs),
	    "{\"code\":-1101,\"msg\":\"Duplicate values for a parameter detected.\"}");
	/* Parameters and windows. */
	assert_error(&rs, 400, idispatch(&w, "/api/v3/myTrades", "limit=10", spot, 0, now, &rs), "-1102");
	assert_error(&rs, 400, idispatch(&w, "/api/v3/myTrades", "symbol=DOGEUSDT", spot, 0, now, &rs),
	    "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}");
	snprintf(q, sizeof(q), "symbol=%s&startTime=%lld&endTime=%lld", spot->symbols[0].native,
	    (long long)(now - 86400001), (long long)now);
	assert_error(&rs, 400, idispatch(&w, "/api/v3/myTrades", q, spot, 0, now, &rs), "-1127");
	snprintf(q, sizeof(q), "symbol=%s&startTime=%lld&endTime=%lld", fut->symbols[0].native,
	    (long long)(now - 6 * 86400000LL), (long long)now);
	assert_int_equal(idispatch(&w, "/fapi/v1/userTrades", q, fut, 0, now, &rs), 200);
	snprintf(q, sizeof(q), "symbol=%s&startTime=%lld&endTime=%lld", fut->symbols[0].native,
	    (long long)(now - 8 * 86400000LL), (long long)now);
	assert_error(&rs, 400, idispatch(&w, "/fapi/v1/userTrades", q, fut, 0, now, &rs), "-1127");
	snprintf(q, sizeof(q), "symbol=%s&fromId=1&startTime=%lld", spot->symbols[0].native, (long long)now);
	assert_error(&rs, 400, idispatch(&w, "/api/v3/myTrades", q, spot, 0, now, &rs), "-1128");
	snprintf(q, sizeof(q), "symbol=%s&limit=1001", spot->symbols[0].native);
	assert_error(&rs, 400, idispatch(&w, "/api/v3/myTrades", q, spot, 0, now, &rs), "-1130");
	/* fromId >= semantics, default limit 500, ascending, numbers and strings. */
	snprintf(q, sizeof(q), "symbol=%s&fromId=%llu", spot->symbols[0].native,
	    (unsigned long long)(spot->symbols[0].first_id + 7));
	assert_int_equal(idispatch(&w, "/api/v3/myTrades", q, spot, 0, now, &rs), 200);
	assert_non_null(rheader(&rs, "X-MBX-USED-WEIGHT-1M"));
	j = json_loads(rs.body, 0, NULL);
	assert_int_equal(json_array_size(j), 500);
	assert_true(json_is_integer(json_object_get(json_array_get(j, 0), "id")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 0), "id")),
	    (json_int_t)(spot->symbols[0].first_id + 7));
	assert_true(json_is_integer(json_object_get(json_array_get(j, 0), "time")));
	assert_true(json_is_string(json_object_get(json_array_get(j, 0), "price")));
	assert_true(json_is_string(json_object_get(json_array_get(j, 0), "quoteQty")));
	for (size_t i = 1; i < json_array_size(j); i++)
		assert_int_equal(json_integer_value(json_object_get(json_array_get(j, i), "id")),
		    json_integer_value(json_object_get(json_array_get(j, i - 1), "id")) + 1);
	json_decref(j);

	/* Weights: 6000 per minute for spot; the first request over is a 429
	 * with Retry-After, the next one while limited a 418 ban. */
	now = now - now % 60000 + 60000;	/* a fresh window */
	for (int i = 0; i < 300; i++)
		assert_int_equal(idispatch(&w, "/api/v3/exchangeInfo", "", NULL, 0, now + 1, &rs), 200);
	assert_string_equal(rheader(&rs, "X-MBX-USED-WEIGHT-1M"), "6000");
	assert_error(&rs, 429, idispatch(&w, "/api/v3/time", "", NULL, 0, now + 2, &rs), "-1003");
	assert_string_equal(rheader(&rs, "Retry-After"), "60");
	/* USD-M has its own pool, and so has /sapi; USD-M klines weigh 5 at
	 * limit 1000; withdraw history counts in its per-second pool. */
	assert_int_equal(idispatch(&w, "/fapi/v1/time", "", NULL, 0, now + 3, &rs), 200);
	assert_string_equal(rheader(&rs, "X-MBX-USED-WEIGHT-1M"), "1");
	assert_int_equal(idispatch(&w, "/fapi/v1/klines", "symbol=BTCUSDT&interval=1d&limit=1000", NULL, 0, now + 3, &rs),
	    200);
	assert_string_equal(rheader(&rs, "X-MBX-USED-WEIGHT-1M"), "6");
	assert_int_equal(idispatch(&w, "/sapi/v1/account/apiRestrictions", "", spot, 0, now + 3, &rs), 200);
	assert_string_equal(rheader(&rs, "X-SAPI-USED-IP-WEIGHT-1M"), "1");
	assert_int_equal(idispatch(&w, "/sapi/v1/capital/withdraw/history", "", spot, 0, now + 3, &rs), 200);
	assert_string_equal(rheader(&rs, "X-SAPI-USED-IP-WEIGHT-1S"), "18000");
	assert_error(&rs, 418, idispatch(&w, "/api/v3/time", "", NULL, 0, now + 4, &rs), "IP banned until");
	assert_string_equal(rheader(&rs, "Retry-After"), "120");
	/* The ban outlasts the window. */
	assert_int_equal(idispatch(&w, "/api/v3/time", "", NULL, 0, now + 70000, &rs), 418);
	assert_int_equal(idispatch(&w, "/api/v3/time", "", NULL, 0, now + 125000, &rs), 200);
	free(rs.body);
	exsim_free(&w);
}

/* ------------------------------------------------------------------ requests per cycle, in process */

struct iresp {
	const struct exsim_response *rs;
};

static const char *
iresp_header(const struct xresp *r, const char *name)
{
	const struct iresp *ir = r->hdr_arg;

	return rheader(ir->rs, name);
}

static const char *
ireq_header(const struct exsim_request *r, const char *name)
{
	const struct xreq *req = r->ctx;

	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

/* One cycle of c against the world w at the simulated time now, in process
 * (no HTTP, no wall clock). Stops after cap requests. Returns 0 when the
 * cycle completed, -1 when it did not within cap requests or a step failed
 * (*last says how). *nreq counts the requests made. */
/* BTCUSDT daily klines requests icycle() sent (the benchmark's series). */
static unsigned icycle_btc_klines;

static int
icycle(struct exsim *w, struct xconn *c, const struct credential *cred, const struct xsink *sink, int64_t now,
    unsigned cap, unsigned *nreq, enum xresult *last)
{
	const char *err = NULL;

	*nreq = 0;
	*last = XR_OK;
	c->ops->begin(c, now);
	for (;;) {
		struct xreq req;
		struct exsim_request rq;
		struct exsim_param params[24];
		struct exsim_response rs = { 0 };
		struct xresp resp;
		struct iresp ir;
		struct xoutcome out;
		char *url, *q, *p;
		int r;

		memset(&req, 0, sizeof(req));
		if ((r = c->ops->next(c, cred, now, &req, &err)) <= 0) {
			*last = r == 0 ? XR_OK : XR_FATAL;
			return r == 0 ? 0 : -1;
		}
		if (*nreq == cap) {
			xreq_clear(&req);
			*last = XR_RETRY;
			return -1;
		}
		(*nreq)++;
		if (strstr(req.url, "klines?symbol=BTCUSDT&") != NULL)
			icycle_btc_klines++;
		if (getenv("ICYCLE_TRACE") != NULL)
			fprintf(stderr, "%u %s\n", *nreq, req.url);
		/* base + path ? query, the query split (Binance's values need no decoding). */
		url = xstrdup(req.url + strlen(c->base_url));
		memset(&rq, 0, sizeof(rq));
		if ((q = strchr(url, '?')) != NULL)
			*q++ = '\0';
		rq.method = req.method;
		rq.path = url;
		rq.query = q != NULL ? xstrdup(q) : xstrdup("");
		rq.body = "";
		rq.header = ireq_header;
		rq.param = exsim_request_param;
		rq.ctx = &req;
		rq.now_ms = now;
		for (p = q; p != NULL && *p != '\0' && rq.nparams < 24;) {
			char *amp = strchr(p, '&'), *eq;
			if (amp != NULL)
				*amp = '\0';
			if ((eq = strchr(p, '=')) != NULL) {
				*eq = '\0';
				params[rq.nparams].name = p;
				params[rq.nparams++].value = eq + 1;
			}
			if (amp == NULL)
				break;
			p = amp + 1;
		}
		rq.params = params;
		exsim_dispatch(w, &rq, &rs);
		ir.rs = &rs;
		resp = (struct xresp){ rs.status, rs.body != NULL ? rs.body : "", rs.body_len, now, iresp_header, &ir };
		c->ops->handle(c, &req, &resp, sink, &out);
		free((char *)(uintptr_t)rq.query);
		free(url);
		free(rs.body);
		xreq_clear(&req);
		if (out.result != XR_OK && out.result != XR_CLOCK) {
			*last = out.result;
			return -1;
		}
	}
}

/* The work of one cycle, in the terms of conn_binance.c's bound. */
struct work {
	unsigned fixed;			/* time, info, account, restrict (+ margin balances) */
	unsigned income_rows;		/* futures: income rows after the cursor */
	unsigned nsyms;			/* candidate symbols (at most every exchangeInfo symbol) */
	uint64_t trades;		/* sum over them of floor(new trades / 1000) + 1 */
	unsigned flow_windows;		/* 90-day windows of deposits (and as many of withdrawals) */
	unsigned kline_days;		/* the longest price series asked for, in days */
};

/* conn_binance.c's bound on the requests of a cycle (retries aside). */
static unsigned
bound(const struct work *wk)
{
	unsigned kpages = wk->kline_days / 1000 + 1;

	return wk->fixed + (wk->income_rows > 0 ? wk->income_rows / 1000 + 1 : 0) + (unsigned)wk->trades +
	    2 * wk->flow_windows + (wk->nsyms + 1) * kpages;
}

/* The number of symbols exchangeInfo lists for the market of a. */
static unsigned
info_symbols(struct exsim *w, bool fut, int64_t now)
{
	struct exsim_response rs = { 0 };
	unsigned n;
	json_t *j;

	assert_int_equal(idispatch(w, fut ? "/fapi/v1/exchangeInfo" : "/api/v3/exchangeInfo", "", NULL, 0, now, &rs),
	    200);
	j = json_loads(rs.body, 0, NULL);
	n = (unsigned)json_array_size(json_object_get(j, "symbols"));
	json_decref(j);
	free(rs.body);
	return n;
}

/* The work of a's cycle at now whose cursors stand at from (0: a backfill). */
static void
work_of(struct exsim *w, const struct exsim_account *a, int64_t from, int64_t now, struct work *wk)
{
	bool fut = a->market == FILL_FUTURES;
	int64_t first = INT64_MAX, horizon = fut ? now - 180 * DAY : 0;

	memset(wk, 0, sizeof(*wk));
	wk->fixed = 4 + (a->market == FILL_MARGIN ? 1 : 0);
	wk->nsyms = info_symbols(w, fut, now);
	/* Untraded candidates: one empty page each. */
	wk->trades = wk->nsyms;
	for (size_t k = 0; k < a->nsymbols; k++) {
		int64_t lo = from > horizon ? from : horizon;
		uint64_t n = exsim_visible(a, k, now) - exsim_index_at(a, k, lo);
		wk->trades += n / 1000;
		if (fut)
			wk->income_rows += (unsigned)n;
		if (exsim_visible(a, k, now) > exsim_index_at(a, k, horizon) &&
		    exsim_fill_ts(a, k, exsim_index_at(a, k, horizon)) < first)
			first = exsim_fill_ts(a, k, exsim_index_at(a, k, horizon));
	}
	for (size_t i = 0; i < a->nflows; i++) {
		if (a->flows[i].ts_ms < (fut ? horizon : now - 365 * DAY))
			continue;
		if (a->flows[i].ts_ms < first)
			first = a->flows[i].ts_ms;
		if (fut && a->flows[i].ts_ms >= from)
			wk->income_rows++;
	}
	if (fut && wk->income_rows == 0)
		wk->income_rows = 1;
	if (from == 0)
		wk->kline_days = first == INT64_MAX ? 0 : (unsigned)(now / DAY - first / DAY + 1);
	else
		wk->kline_days = (unsigned)(now / DAY - from / DAY + 1);
	if (!fut) {
		int64_t f0 = from == 0 ? now - 365 * DAY : from;
		wk->flow_windows = (unsigned)((now - f0) / (90 * DAY) + 1);
	}
}

/* An account whose first fill is 1,500 days old: every price series needs
 * two klines pages (1000 days each). Before the fix, the first symbol's
 * start went back to the first day after each page: the cycle never ended.
 * Now it ends within the bound stated in conn_binance.c, for the backfill
 * and for a steady-state cycle an hour later. */
static void
test_requests_bounded(void **state)
{
	const char *markets[] = { "spot", "margin", "futures" };
	struct exsim_config cfg;
	struct exsim w;
	const char *err = NULL;
	unsigned btc_traded = 0;

	(void)state;
	exsim_config_default(&cfg);
	cfg.seed = 17;
	cfg.accounts_per_exchange = 1;
	cfg.fills_per_account = 6000;
	cfg.history_ms = 1500 * DAY;
	cfg.start_ms = 1767225600000LL;	/* 2026-01-01 */
	cfg.live_spacing_ms = 600000;
	assert_int_equal(exsim_init(&w, &cfg, &err), 0);
	for (size_t i = 0; i < w.naccounts; i++) {
		const struct exsim_account *a = &w.accounts[i];
		struct xconf conf = { .base_url = "http://sim", .market = a->market };
		struct credential cred = { a->api_key, strlen(a->api_key), a->secret, strlen(a->secret), "", 0 };
		struct xconn c;
		struct col col;
		struct xsink sink;
		struct work wk;
		unsigned n, b;
		enum xresult last;
		int64_t now = w.start_ms + 1000;

		if (a->venue != exsim_venue_find("binance"))
			continue;
		assert_int_equal(xconn_open(&c, &exchange_binance, &conf, &err), 0);
		col_init(&col, &sink);
		work_of(&w, a, 0, now, &wk);
		b = bound(&wk);
		if (a->market != FILL_FUTURES)
			assert_true(wk.kline_days > 1000);	/* two pages per series */
		if (icycle(&w, &c, &cred, &sink, now, b, &n, &last) != 0)
			fail_msg("%s backfill: not complete after %u requests (bound %u), last %d", markets[a->market],
			    n, b, last);
		if (getenv("ICYCLE_TRACE") != NULL)
			fprintf(stderr, "%s backfill: %u requests, bound %u\n", markets[a->market], n, b);
		assert_true(c.backfill_done);
		assert_true(col.nfills > 0);
		/* Steady state: an hour later (closes and slow facts are due). */
		work_of(&w, a, now, now + 3600001, &wk);
		b = bound(&wk);
		now += 3600001;
		icycle_btc_klines = 0;
		if (icycle(&w, &c, &cred, &sink, now, b, &n, &last) != 0)
			fail_msg("%s steady state: not complete after %u requests (bound %u), last %d",
			    markets[a->market], n, b, last);
		/* BTCUSDT's closes once, traded or only the benchmark (it was
		 * asked twice when traded) */
		for (size_t k = 0; k < a->nsymbols; k++)
			btc_traded += strcmp(a->symbols[k].native, "BTCUSDT") == 0;
		assert_int_equal(icycle_btc_klines, 1);
		if (getenv("ICYCLE_TRACE") != NULL)
			fprintf(stderr, "%s steady: %u requests, bound %u\n", markets[a->market], n, b);
		xconn_close(&c);
		col_free(&col);
	}
	assert_true(btc_traded > 0);	/* the case that was asked twice */
	exsim_free(&w);
}

static struct dec
dec_const_test(const char *v)
{
	struct dec d;
	const char *err;

	assert_int_equal(dec_parse(v, strlen(v), &d, &err), 0);
	return d;
}

/* USD-M served the real way: positions with entryPrice, notional and
 * unrealizedProfit at the mark, walletBalance = transfers + realized PnL -
 * fees; a client's cash view (walletBalance + unrealizedProfit - notional)
 * is the simulator's truth exactly; realizedPnl of a round trip's closing
 * fills adds up to its proceeds minus its cost. */
static void
test_futures_shapes(void **state)
{
	struct exsim_config cfg;
	struct exsim w;
	struct exsim_response rs = { 0 };
	const char *err = NULL;
	bool open_seen = false, pnl_seen = false;

	(void)state;
	exsim_config_default(&cfg);
	cfg.seed = 8;
	cfg.fills_per_account = 3000;
	cfg.accounts_per_exchange = 3;
	assert_int_equal(exsim_init(&w, &cfg, &err), 0);
	for (size_t ai = 0; ai < w.naccounts; ai++) {
		const struct exsim_account *a = &w.accounts[ai];
		int64_t now = w.start_ms + 1000;
		char cur[8][FILL_CUR_MAX];
		struct dec tot[8];
		size_t n;
		json_t *j, *row;
		size_t i;

		if (a->venue != exsim_venue_find("binance") || a->market != FILL_FUTURES)
			continue;
		n = exsim_balances(a, now, cur, tot, 8);
		assert_int_equal(idispatch(&w, "/fapi/v2/account", "", a, 0, now, &rs), 200);
		j = json_loads(rs.body, 0, NULL);
		json_array_foreach(json_object_get(j, "assets"), i, row) {
			const char *asset = json_string_value(json_object_get(row, "asset")), *e;
			const char *wb = json_string_value(json_object_get(row, "walletBalance"));
			const char *up = json_string_value(json_object_get(row, "unrealizedProfit"));
			struct dec cash, u, nt;
			json_t *prow;
			size_t k;

			assert_int_equal(dec_parse(wb, strlen(wb), &cash, &e), 0);
			assert_int_equal(dec_parse(up, strlen(up), &u, &e), 0);
			assert_int_equal(dec_add(&cash, cash, u), 0);
			json_array_foreach(json_object_get(j, "positions"), k, prow) {
				const char *v = json_string_value(json_object_get(prow, "notional"));
				const char *ep = json_string_value(json_object_get(prow, "entryPrice"));
				struct dec entry;
				assert_int_equal(dec_parse(v, strlen(v), &nt, &e), 0);
				assert_int_equal(dec_parse(ep, strlen(ep), &entry, &e), 0);
				if (!dec_is_zero(nt)) {
					open_seen = true;
					assert_true(dec_sign(entry) > 0);
				}
				assert_int_equal(dec_sub(&cash, cash, nt), 0);	/* every symbol settles in USDT here */
			}
			for (k = 0; k < n && strcmp(cur[k], asset) != 0; k++)
				;
			assert_true(k < n);
			if (dec_cmp(cash, tot[k]) != 0) {
				char g[DEC_STR_MAX], want[DEC_STR_MAX];
				dec_format(g, sizeof(g), cash);
				dec_format(want, sizeof(want), tot[k]);
				fail_msg("%s: walletBalance + unrealizedProfit - notional = %s, truth %s", asset, g, want);
			}
		}
		json_decref(j);
		/* realizedPnl over the first complete round trip of the first symbol */
		{
			const struct exsim_symbol *sy = &a->symbols[0];
			uint64_t c2 = 2 * (uint64_t)sy->cycle, i0 = exsim_index_at(a, 0, now - 170 * DAY);
			struct dec sum = DEC_ZERO, flow = DEC_ZERO, diff;
			char q[160];

			i0 += (c2 - i0 % c2) % c2;
			snprintf(q, sizeof(q), "symbol=%s&fromId=%llu&limit=%llu", sy->native,
			    (unsigned long long)(sy->first_id + i0), (unsigned long long)c2);
			assert_int_equal(idispatch(&w, "/fapi/v1/userTrades", q, a, 0, now, &rs), 200);
			j = json_loads(rs.body, JSON_DECODE_ANY, NULL);
			assert_int_equal(json_array_size(j), c2);
			json_array_foreach(j, i, row) {
				const char *v = json_string_value(json_object_get(row, "realizedPnl"));
				const char *qq = json_string_value(json_object_get(row, "quoteQty"));
				const char *side = json_string_value(json_object_get(row, "side")), *e;
				struct dec d;
				if (dec_parse(v, strlen(v), &d, &e) != 0)
					fail_msg("realizedPnl %s: %s", v, e);
				if (i < sy->cycle)
					assert_true(dec_is_zero(d));
				else if (!dec_is_zero(d))
					pnl_seen = true;
				assert_int_equal(dec_add(&sum, sum, d), 0);
				assert_int_equal(dec_parse(qq, strlen(qq), &d, &e), 0);
				assert_int_equal(strcmp(side, "SELL") == 0 ? dec_add(&flow, flow, d) : dec_sub(&flow, flow, d), 0);
			}
			json_decref(j);
			/* each row rounded to 8 places */
			assert_int_equal(dec_sub(&diff, sum, flow), 0);
			assert_int_equal(dec_abs(&diff, diff), 0);
			{
				struct dec tol;
				assert_int_equal(dec_mul(&tol, dec_from_int((int64_t)c2), dec_const_test("0.00000001")), 0);
				assert_true(dec_cmp(diff, tol) <= 0);
			}
		}
	}
	assert_true(open_seen);
	assert_true(pnl_seen);
	free(rs.body);
	exsim_free(&w);
}

/* Cross margin borrows: borrowed and interest, netAsset = free + locked -
 * borrowed - interest = the truth's balance, and netAsset != free. */
static void
test_margin_borrows(void **state)
{
	struct exsim_config cfg;
	struct exsim w;
	struct exsim_response rs = { 0 };
	const char *err = NULL;
	bool borrowed_seen = false;

	(void)state;
	exsim_config_default(&cfg);
	cfg.seed = 8;
	assert_int_equal(exsim_init(&w, &cfg, &err), 0);
	for (size_t ai = 0; ai < w.naccounts; ai++) {
		const struct exsim_account *a = &w.accounts[ai];
		int64_t now = w.start_ms + 1000;
		char cur[8][FILL_CUR_MAX];
		struct dec tot[8];
		size_t n, i;
		json_t *j, *row;

		if (a->venue != exsim_venue_find("binance") || a->market != FILL_MARGIN)
			continue;
		n = exsim_balances(a, now, cur, tot, 8);
		assert_int_equal(idispatch(&w, "/sapi/v1/margin/account", "", a, 0, now, &rs), 200);
		j = json_loads(rs.body, 0, NULL);
		json_array_foreach(json_object_get(j, "userAssets"), i, row) {
			struct dec f, l, b, in, net, calc;
			const char *names[] = { "free", "locked", "borrowed", "interest", "netAsset" }, *e;
			struct dec *v[] = { &f, &l, &b, &in, &net };
			size_t k;

			for (k = 0; k < 5; k++) {
				const char *t = json_string_value(json_object_get(row, names[k]));
				assert_non_null(t);
				assert_int_equal(dec_parse(t, strlen(t), v[k], &e), 0);
			}
			assert_true(dec_sign(f) >= 0);
			assert_int_equal(dec_add(&calc, f, l), 0);
			assert_int_equal(dec_sub(&calc, calc, b), 0);
			assert_int_equal(dec_sub(&calc, calc, in), 0);
			assert_int_equal(dec_cmp(calc, net), 0);
			for (k = 0; k < n && strcmp(cur[k], json_string_value(json_object_get(row, "asset"))) != 0; k++)
				;
			assert_true(k < n);
			assert_int_equal(dec_cmp(net, tot[k]), 0);
			if (dec_sign(b) > 0) {
				borrowed_seen = true;
				assert_true(dec_sign(in) > 0);
				assert_true(dec_cmp(f, net) != 0);
			}
		}
		json_decref(j);
	}
	assert_true(borrowed_seen);
	free(rs.body);
	exsim_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_rules),
		cmocka_unit_test(test_requests_bounded),
		cmocka_unit_test(test_futures_shapes),
		cmocka_unit_test(test_margin_borrows),
		cmocka_unit_test(test_backfill_all_markets),
		cmocka_unit_test(test_permissions_and_auth),
		cmocka_unit_test(test_clock_skew),
		cmocka_unit_test(test_backfill_20000),
		cmocka_unit_test(test_incremental_live),
		cmocka_unit_test(test_faults),
	};
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
