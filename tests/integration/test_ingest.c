/*
 * Issue #5 ingest end to end: the exchange simulator, the real perfaggd with
 * AGGREGATOR_BACKEND_URL and a 1 s INGEST_INTERVAL, and a tiny backend in
 * this process (tests/unit/out/backend_run.h) recording every body.
 *  (a) the backend is down (connections refused) for a while, then up:
 *      every payload arrives, each idempotency key answered 2xx exactly
 *      once, bodies identical across retries;
 *  (b) perfaggd is killed with -9 while the backend holds a request, then
 *      restarted on the same DATA_DIR and key file: the held payload is sent
 *      again after the restart, nothing is lost, no key has two bodies;
 *  (c) the backend refuses every payload with 422 (final): the rows are
 *      failed, /metrics counts them by status, GET /admin/outbox/failed
 *      lists them and POST /admin/outbox/requeue sends them again once the
 *      backend accepts: each delivered exactly once.
 * Every body must verify (signed_verify) with the key file's public key, and
 * the trades over all payloads must equal the simulator's fills of the
 * hours they cover.
 */
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../unit/exchange/exsim_run.h"
#include "../unit/out/backend_run.h"
#include "../unit/promtext.h"
#include "../unit/tmpdir.h"
#include "client/httpc.h"
#include "core/signed.h"
#include "enclave/keys.h"
#include "enclave/secret.h"
#include "exchange/exchange.h"
#include "harness.h"
#include "harness_exchange.h"
#include "out/ingest.h"
#include "out/outbox.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static char priv_path[256], pub_path[256];
static uint8_t signing_pub[32];

static int
setup(void **state)
{
	const char *err = NULL;
	struct keys *k;
	char *out = NULL, *errout = NULL;
	int rc;

	if (secret_init() != 0 || tmpdir_setup(state) != 0)
		return -1;
	snprintf(priv_path, sizeof(priv_path), "%s/enclave.pem", tmpdir());
	snprintf(pub_path, sizeof(pub_path), "%s/enclave.pub.pem", tmpdir());
	{
		const char *argv[] = { "perfaggd", "keygen", priv_path, pub_path, NULL };
		rc = harness_run(argv, NULL, NULL, &out, &errout);
	}
	free(out);
	free(errout);
	if (rc != 0 || (k = keys_load(priv_path, pub_path, &err)) == NULL)
		return -1;
	memcpy(signing_pub, keys_ed25519_public(k), 32);
	keys_free(k);
	return 0;
}

/* Rows of the outbox file by state (the daemon may be running: WAL). */
static void
db_counts(const char *data_dir, struct outbox_counts *c)
{
	char *path = xasprintf("%s/%s", data_dir, OUTBOX_FILE);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	memset(c, 0, sizeof(*c));
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		if (sqlite3_prepare_v2(db, "SELECT state, COUNT(*) FROM outbox GROUP BY state", -1, &st, NULL) ==
		    SQLITE_OK)
			while (sqlite3_step(st) == SQLITE_ROW) {
				int64_t n = sqlite3_column_int64(st, 1);
				int s = sqlite3_column_int(st, 0);
				*(s == 0 ? &c->pending : s == 1 ? &c->delivered : &c->failed) = n;
			}
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	free(path);
}

/* The state of the row with key, -1 if none. */
static int
db_state(const char *data_dir, const char *key)
{
	char *path = xasprintf("%s/%s", data_dir, OUTBOX_FILE);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int state = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT state FROM outbox WHERE idempotency_key = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			state = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return state;
}

/* Waits until the outbox has at least min rows and none pending. */
static void
wait_drained(const char *data_dir, int64_t min)
{
	struct outbox_counts c;

	for (int i = 0; i < 600; i++) {
		db_counts(data_dir, &c);
		if (c.pending == 0 && c.delivered >= min)
			return;
		usleep(100000);
	}
	fail_msg("outbox not drained: %lld pending, %lld delivered, %lld failed", (long long)c.pending,
	    (long long)c.delivered, (long long)c.failed);
}

struct world {
	struct exsim_run sim;
	json_t *acct;
	char urls[512];
	char backend_env[128], data_env[300], key_env[300];
	char data_dir[256];
};

static void
world_start(struct world *w, const char *name, const char *backend_url, int seed)
{
	char seedarg[16];
	json_t *accounts;
	const char *args[] = { "--seed", seedarg, "--accounts", "1", "--fills", "400", "--history-days", "3", NULL };

	snprintf(seedarg, sizeof(seedarg), "%d", seed);
	exsim_run_start(&w->sim, args);
	snprintf(w->urls, sizeof(w->urls), "EXCHANGE_BASE_URLS=binance=%s,coinbase=%s,kraken=%s,krakenfutures=%s",
	    w->sim.url, w->sim.url, w->sim.url, w->sim.url);
	snprintf(w->data_dir, sizeof(w->data_dir), "%s/%s", tmpdir(), name);
	snprintf(w->data_env, sizeof(w->data_env), "DATA_DIR=%s", w->data_dir);
	snprintf(w->backend_env, sizeof(w->backend_env), "AGGREGATOR_BACKEND_URL=%s", backend_url);
	snprintf(w->key_env, sizeof(w->key_env), "ENCLAVE_PRIVATE_KEY_PATH=%s", priv_path);
	accounts = harness_sim_get(&w->sim, "/exsim/accounts");
	w->acct = NULL;
	for (size_t i = 0; i < json_array_size(accounts) && w->acct == NULL; i++)
		if (exchange_find(json_string_value(json_object_get(json_array_get(accounts, i), "exchange"))) != NULL)
			w->acct = json_incref(json_array_get(accounts, i));
	assert_non_null(w->acct);
	json_decref(accounts);
}

static void
daemon_start(struct world *w, struct daemon *d)
{
	const char *env[] = { w->urls, w->backend_env, w->data_env, w->key_env, "INGEST_INTERVAL=1000",
		"API_INTERVAL=1000", "RATE_LIMIT_MAX=100000", NULL };

	harness_start(d, env);
}

static void
world_stop(struct world *w)
{
	json_decref(w->acct);
	exsim_run_stop(&w->sim);
}

/*
 * Checks everything the backend received: each key answered 2xx exactly
 * once, one body per key, bodies signed with the key file's key and carrying
 * their own idempotency key; every outbox row delivered. Returns the
 * payloads (one per key, caller decrefs).
 */
static json_t *
check_received(struct backend_run *b, const char *data_dir)
{
	json_t *byk = json_object(), *out = json_array();
	const char *k;
	json_t *v;

	assert_int_equal(b->conflicts, 0);
	assert_int_equal(b->bad, 0);
	for (size_t i = 0; i < b->nreqs; i++) {
		struct backend_req *r = &b->reqs[i];
		json_t *e = json_object_get(byk, r->key);
		if (e == NULL) {
			e = json_pack("{s:s%, s:i}", "body", r->body, r->len, "ok", 0);
			json_object_set_new(byk, r->key, e);
		} else if (strcmp(json_string_value(json_object_get(e, "body")), r->body) != 0)
			fail_msg("key %s received with two different bodies", r->key);
		if (r->status >= 200 && r->status < 300)
			json_object_set_new(e, "ok", json_integer(json_integer_value(json_object_get(e, "ok")) + 1));
	}
	json_object_foreach(byk, k, v) {
		json_t *doc = json_loads(json_string_value(json_object_get(v, "body")), 0, NULL);
		const char *err = NULL;
		char want[INGEST_KEY_HEX + 1];
		int64_t ps, pe;

		if (json_integer_value(json_object_get(v, "ok")) != 1)
			fail_msg("key %s answered 2xx %lld times", k, (long long)json_integer_value(json_object_get(v, "ok")));
		assert_non_null(doc);
		if (signed_verify(doc, signing_pub, &err) != 0)
			fail_msg("payload %s: %s", k, err);
		assert_string_equal(json_string_value(json_object_get(doc, "idempotency_key")), k);
		assert_int_equal(time_parse_iso(json_string_value(json_object_get(doc, "period_start")),
		    json_string_length(json_object_get(doc, "period_start")), &ps), 0);
		assert_int_equal(time_parse_iso(json_string_value(json_object_get(doc, "period_end")),
		    json_string_length(json_object_get(doc, "period_end")), &pe), 0);
		ingest_key(want, json_string_value(json_object_get(doc, "client_id")),
		    json_string_value(json_object_get(doc, "exchange")), ps, pe);
		assert_string_equal(want, k);
		assert_int_equal(db_state(data_dir, k), 1);
		json_array_append_new(out, doc);
	}
	json_decref(byk);
	return out;
}

/* The trades over all payloads equal the simulator's fills in the hours
 * they cover (those ending by the last period_end); one backfill payload. */
static void
check_trades(struct world *w, json_t *payloads)
{
	char *enc, *path;
	json_t *truth, *fills, *p;
	int64_t last_end = 0, want = 0, got = 0, pe;
	size_t i, backfills = 0;

	json_array_foreach(payloads, i, p) {
		const char *s = json_string_value(json_object_get(p, "period_end"));
		assert_int_equal(time_parse_iso(s, strlen(s), &pe), 0);
		if (pe > last_end)
			last_end = pe;
		got += json_integer_value(json_object_get(json_object_get(p, "totals"), "trades"));
		if (strcmp(json_string_value(json_object_get(json_object_get(p, "metadata"), "kind")), "backfill") == 0)
			backfills++;
	}
	assert_int_equal(backfills, 1);
	enc = xurl_encode(json_string_value(json_object_get(w->acct, "api_key")),
	    json_string_length(json_object_get(w->acct, "api_key")));
	path = xasprintf("/exsim/truth?api_key=%s", enc);
	truth = harness_sim_get(&w->sim, path);
	fills = json_object_get(truth, "fills");
	json_array_foreach(fills, i, p) {
		int64_t ts = json_integer_value(json_object_get(p, "timestamp"));
		if (ts - ts % INGEST_HOUR_MS + INGEST_HOUR_MS <= last_end)
			want++;
	}
	print_message("%zu payloads, %lld trades in hours ending by %s, %lld fills in the truth\n",
	    json_array_size(payloads), (long long)got,
	    json_string_value(json_object_get(json_array_get(payloads, 0), "period_end")), (long long)json_array_size(fills));
	assert_true(want > 0);
	assert_int_equal(got, want);
	json_decref(truth);
	free(path);
	free(enc);
}

static void
test_backend_down_then_up(void **state)
{
	struct backend_run b = { 0 };
	struct world w;
	struct daemon d;
	struct outbox_counts c;
	json_t *payloads;
	char *sid;
	int port;

	(void)state;
	backend_start(&b, 0);
	port = b.port;
	backend_down(&b);	/* refused until it comes back */
	world_start(&w, "down", b.url, 21);
	daemon_start(&w, &d);
	sid = harness_register(&d, w.acct);
	harness_wait_backfilled(&d, sid, "down");
	/* Payloads pile up while the backend is down. */
	for (int i = 0; i < 100; i++) {
		db_counts(w.data_dir, &c);
		if (c.pending >= 3)
			break;
		usleep(100000);
	}
	assert_true(c.pending >= 3);
	assert_int_equal(c.delivered, 0);
	usleep(1500000);
	backend_start(&b, port);
	wait_drained(w.data_dir, c.pending);
	assert_int_equal(harness_stop(&d), 0);
	payloads = check_received(&b, w.data_dir);
	check_trades(&w, payloads);
	json_decref(payloads);
	backend_stop(&b);
	world_stop(&w);
	free(sid);
}

static void
test_kill9_mid_send(void **state)
{
	struct backend_run b = { 0 };
	struct world w;
	struct daemon d;
	struct outbox_counts c;
	char held[160] = "";
	json_t *payloads;
	char *sid;
	int st;
	size_t seen = 0;

	(void)state;
	backend_start(&b, 0);
	backend_set(&b, 200, true);
	world_start(&w, "kill9", b.url, 22);
	daemon_start(&w, &d);
	sid = harness_register(&d, w.acct);
	harness_wait_backfilled(&d, sid, "kill9");
	for (int i = 0; i < 300 && backend_held(&b) == 0; i++)
		usleep(100000);
	assert_int_equal(backend_held(&b), 1);
	usleep(1500000);	/* more payloads are committed behind it */
	kill(d.pid, SIGKILL);
	waitpid(d.pid, &st, 0);
	pthread_mutex_lock(&b.mu);
	snprintf(held, sizeof(held), "%s", b.reqs[0].key);
	pthread_mutex_unlock(&b.mu);
	backend_drop_held(&b, 200);
	/* The held payload is still pending in the file. */
	assert_int_equal(db_state(w.data_dir, held), 0);
	db_counts(w.data_dir, &c);
	assert_true(c.pending >= 2);

	/* Restarted on the same DATA_DIR and key file: the session comes back
	 * with its id (sealed in the state store), is collected again, and is
	 * published on from where it was, under the same client_id: no period
	 * twice, none skipped (check_trades); the outbox resends the rest. */
	daemon_start(&w, &d);
	harness_wait_backfilled(&d, sid, "restored after kill -9");
	usleep(3000000);	/* a few passes of the 1 s publisher */
	db_counts(w.data_dir, &c);
	wait_drained(w.data_dir, c.pending);
	assert_int_equal(harness_stop(&d), 0);
	payloads = check_received(&b, w.data_dir);
	for (size_t i = 0; i < b.nreqs; i++)
		if (strcmp(b.reqs[i].key, held) == 0)
			seen++;
	print_message("held key %.12s... received %zu times; %zu requests in all\n", held, seen, b.nreqs);
	assert_int_equal(seen, 2);	/* once held and dropped, once after the restart */
	check_trades(&w, payloads);
	json_decref(payloads);
	backend_stop(&b);
	world_stop(&w);
	free(sid);
}

/* The value of name{label="value"} on /metrics, -1 if absent. */
static double
scrape(const struct daemon *d, const char *name, const char *label, const char *value)
{
	struct httpc_request req = { .method = "GET" };
	struct httpc_response resp;
	struct promtext p;
	char e[256], *url = xasprintf("%s/metrics", d->url);
	double v = -1;
	const char *l;

	req.url = url;
	if (httpc_do(&req, &resp, e, sizeof(e)) != 0 || resp.status != 200)
		fail_msg("GET /metrics: %s", e);
	if (promtext_parse(&p, resp.body, resp.body_len) != 0)
		fail_msg("/metrics does not parse: %s", p.err);
	for (size_t i = 0; i < p.n; i++)
		if (strcmp(p.s[i].name, name) == 0 && (l = promtext_label(&p.s[i], label)) != NULL &&
		    strcmp(l, value) == 0)
			v = p.s[i].value;
	promtext_free(&p);
	httpc_response_clear(&resp);
	free(url);
	return v;
}

static int64_t
requeue(const struct daemon *d, const char *body)
{
	json_t *j = NULL;
	int64_t n;

	assert_int_equal(harness_http(d, "POST", "/admin/outbox/requeue", body, body != NULL ? strlen(body) : 0, NULL,
	    HARNESS_OPERATOR_TOKEN, &j), 200);
	n = json_integer_value(json_object_get(j, "requeued"));
	json_decref(j);
	return n;
}

static void
test_refused_then_requeued(void **state)
{
	struct backend_run b = { 0 };
	struct world w;
	struct daemon d;
	struct outbox_counts c;
	json_t *j = NULL, *row, *payloads;
	char *sid, *body, first[160];
	int64_t requeued = 0;
	size_t i;
	int k;

	(void)state;
	backend_start(&b, 0);
	backend_set(&b, 422, false);
	world_start(&w, "refused", b.url, 23);
	daemon_start(&w, &d);
	/* The operator routes need the operator token. */
	assert_int_equal(harness_http(&d, "POST", "/admin/outbox/requeue", NULL, 0, NULL, NULL, &j), 401);
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", "/admin/outbox/failed", NULL, 0, NULL, "wrong-token-wrong-token", &j),
	    401);
	json_decref(j);
	sid = harness_register(&d, w.acct);
	harness_wait_backfilled(&d, sid, "refused");
	for (k = 0; k < 600; k++) {
		db_counts(w.data_dir, &c);
		if (c.failed >= 2)
			break;
		usleep(100000);
	}
	assert_true(c.failed >= 2);
	assert_true(scrape(&d, "perfagg_outbox_failed", "status", "422") >= 2);
	assert_true(scrape(&d, "perfagg_outbox_rows", "state", "failed") >= 2);
	assert_true(scrape(&d, "perfagg_outbox_failed", "status", "400") == 0);

	/* The list names them, never with their body. */
	assert_int_equal(harness_http(&d, "GET", "/admin/outbox/failed", NULL, 0, NULL, HARNESS_OPERATOR_TOKEN, &j), 200);
	assert_true(json_array_size(json_object_get(j, "failed")) >= 2);
	json_array_foreach(json_object_get(j, "failed"), i, row) {
		assert_int_equal(json_integer_value(json_object_get(row, "status")), 422);
		assert_int_equal(db_state(w.data_dir, json_string_value(json_object_get(row, "idempotency_key"))), 2);
		assert_null(json_object_get(row, "body"));
		assert_null(json_object_get(row, "signature"));
	}
	snprintf(first, sizeof(first), "%s",
	    json_string_value(json_object_get(json_array_get(json_object_get(j, "failed"), 0), "idempotency_key")));
	json_decref(j);

	/* Bad bodies are refused; a key of no failed row re-queues nothing. */
	assert_int_equal(harness_http(&d, "POST", "/admin/outbox/requeue", "[1]", 3, NULL, HARNESS_OPERATOR_TOKEN, &j),
	    400);
	json_decref(j);
	assert_int_equal(harness_http(&d, "POST", "/admin/outbox/requeue", "{\"keys\":\"x\"}", 12, NULL,
	    HARNESS_OPERATOR_TOKEN, &j), 400);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "invalid_request");
	json_decref(j);
	assert_int_equal(requeue(&d, "{\"keys\":[\"no-such-key\"]}"), 0);

	/* One key, the backend still refusing: sent again, failed again. */
	body = xasprintf("{\"keys\":[\"%s\"]}", first);
	assert_int_equal(requeue(&d, body), 1);
	free(body);
	for (k = 0; k < 600; k++) {
		size_t seen = 0;
		pthread_mutex_lock(&b.mu);
		for (i = 0; i < b.nreqs; i++)
			seen += strcmp(b.reqs[i].key, first) == 0 && b.reqs[i].status == 422;
		pthread_mutex_unlock(&b.mu);
		if (seen >= 2 && db_state(w.data_dir, first) == 2)
			break;
		usleep(100000);
	}
	assert_int_equal(db_state(w.data_dir, first), 2);

	/* Accepted now: everything re-queued is delivered. A payload refused
	 * just before the switch may fail after a re-queue: the operator asks
	 * again, as one would. */
	backend_set(&b, 200, false);
	for (k = 0; k < 600; k++) {
		db_counts(w.data_dir, &c);
		if (c.failed == 0 && c.pending == 0)
			break;
		if (c.failed > 0)
			requeued += requeue(&d, NULL);
		usleep(100000);
	}
	assert_int_equal(c.failed, 0);
	assert_int_equal(c.pending, 0);
	assert_true(requeued >= 2);
	assert_true(scrape(&d, "perfagg_outbox_failed", "status", "422") == 0);
	assert_true(scrape(&d, "perfagg_outbox_rows", "state", "delivered") >= 2);
	assert_int_equal(harness_stop(&d), 0);
	payloads = check_received(&b, w.data_dir);
	json_decref(payloads);
	{
		char *audit = NULL;
		FILE *fp = fopen(d.audit_path, "r");
		size_t cap = 0;
		ssize_t n;
		assert_non_null(fp);
		while ((n = getdelim(&audit, &cap, '\0', fp)) > 0)
			;
		fclose(fp);
		assert_non_null(strstr(audit, "\"action\":\"outbox_requeue\""));
		assert_non_null(strstr(audit, "\"action\":\"outbox_failed\""));
		free(audit);
	}
	backend_stop(&b);
	world_stop(&w);
	free(sid);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend_down_then_up),
		cmocka_unit_test(test_kill9_mid_send),
		cmocka_unit_test(test_refused_then_requeued),
	};

	return cmocka_run_group_tests(tests, setup, tmpdir_teardown);
}
