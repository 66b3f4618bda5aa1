/*
 * Issue #10, sessions: perfaggd with key files and a DATA_DIR keeps its
 * sessions sealed in the state store. A session registered through the real
 * client survives a clean restart and a kill -9 with the same id and the
 * same figures, can be renewed by its holder without sending the key again,
 * and once revoked leaves no sealed copy in the store's files. Without key
 * files (keys generated per run) sessions are not kept, and say so.
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
#include "../unit/tmpdir.h"
#include "harness.h"
#include "harness_exchange.h"
#include "util/file.h"
#include "util/xalloc.h"

struct world {
	struct exsim_run sim;
	json_t *accounts;		/* every simulator account */
	json_t *acct;			/* its Binance spot account */
	char urls[512], key_env[340], data_env[300], dir[256];
	const char *env[7];
};

static void world_daemon(struct world *w, const char *name, bool key_files);

/* The simulator (one account per exchange and market), and the environment
 * of a daemon on it: DATA_DIR tmpdir/name, and key files made by perfaggd
 * keygen when key_files. */
static void
world_start(struct world *w, const char *name, bool key_files)
{
	/* 100 ms a request: a backfill takes long enough to be killed in */
	const char *args[] = { "--seed", "31", "--accounts", "1", "--fills", "300", "--history-days", "3",
		"--latency-ms", "100", NULL };
	json_t *a;
	size_t i;

	exsim_run_start(&w->sim, args);
	w->accounts = harness_sim_get(&w->sim, "/exsim/accounts");
	json_array_foreach(w->accounts, i, a)
		if (strcmp(json_string_value(json_object_get(a, "exchange")), "binance") == 0 &&
		    strcmp(json_string_value(json_object_get(a, "market")), "spot") == 0)
			w->acct = a;
	assert_non_null(w->acct);
	snprintf(w->urls, sizeof(w->urls), "EXCHANGE_BASE_URLS=binance=%s,coinbase=%s,kraken=%s,krakenfutures=%s",
	    w->sim.url, w->sim.url, w->sim.url, w->sim.url);
	world_daemon(w, name, key_files);
}

/* Points w's daemon environment at DATA_DIR tmpdir/name (new key files
 * when key_files). */
static void
world_daemon(struct world *w, const char *name, bool key_files)
{
	char priv[300], pub[300], *out = NULL, *err = NULL;
	size_t n = 0;

	snprintf(w->dir, sizeof(w->dir), "%s/%s", tmpdir(), name);
	snprintf(w->data_env, sizeof(w->data_env), "DATA_DIR=%s", w->dir);
	w->env[n++] = w->urls;
	w->env[n++] = w->data_env;
	w->env[n++] = "RATE_LIMIT_MAX=1000000";	/* the waits poll every session often */
	w->env[n++] = "CHECKPOINT_BACKFILL_INTERVAL=200";	/* backfills of 3 to 10 s are checkpointed as they go */
	if (key_files) {
		snprintf(priv, sizeof(priv), "%s/%s.pem", tmpdir(), name);
		snprintf(pub, sizeof(pub), "%s/%s.pub.pem", tmpdir(), name);
		{
			const char *argv[] = { "perfaggd", "keygen", priv, pub, NULL };
			assert_int_equal(harness_run(argv, NULL, NULL, &out, &err), 0);
		}
		snprintf(w->key_env, sizeof(w->key_env), "ENCLAVE_PRIVATE_KEY_PATH=%s", priv);
		w->env[n++] = w->key_env;
	}
	w->env[n] = NULL;
	free(out);
	free(err);
}

static void
world_stop(struct world *w)
{
	json_decref(w->accounts);
	exsim_run_stop(&w->sim);
}

static long
get(const struct daemon *d, const char *path, const char *sid, json_t **j)
{
	return harness_http(d, "GET", path, NULL, 0, NULL, sid, j);
}

/* The figures a session serves: its metrics without the time they were
 * computed at and their signature (both differ between two calls), and,
 * unless dups, without the duplicates each symbol's ledger ignored (a
 * count of re-reads, which depends on how many cycles ran). */
static char *
figures_of(const struct daemon *d, const char *sid, bool dups)
{
	json_t *j, *m, *sym;
	size_t i;
	char *s;

	assert_int_equal(get(d, "/enclave/metrics", sid, &j), 200);
	json_object_del(j, "signature");
	json_object_del(j, "generated_at");
	json_object_del(j, "computed_at");
	json_object_del(j, "collection");
	m = json_object_get(j, "metrics") != NULL ? json_object_get(j, "metrics") : j;
	if (!dups && json_is_array(m))
		json_array_foreach(m, i, sym)
			json_object_del(sym, "duplicates");
	s = json_dumps(m, JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

static char *
figures(const struct daemon *d, const char *sid)
{
	return figures_of(d, sid, true);
}

/* Whether the bytes (n of them) occur in any file of dir. */
static bool
in_files(const char *dir, const uint8_t *needle, size_t n)
{
	const char *names[] = { "state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm" };
	bool found = false;

	for (size_t i = 0; i < 3 && !found; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		uint8_t *buf;
		size_t len = 0;
		const char *e;
		if ((buf = file_read_all(path, 64u << 20, &len, &e)) != NULL) {
			for (size_t k = 0; k + n <= len && !found; k++)
				found = memcmp(buf + k, needle, n) == 0;
			free(buf);
		}
		free(path);
	}
	return found;
}

/* The first 48 bytes of the only sealed session record in dir's store. */
static void
sealed_bytes(const char *dir, uint8_t out[48])
{
	char *path = xasprintf("%s/state.sqlite3", dir);
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM records WHERE kind = 1", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_bytes(st, 0) > 48);
	memcpy(out, sqlite3_column_blob(st, 0), 48);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);	/* one session, one record */
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
}

static void
test_sessions_survive(void **state)
{
	struct world w = { 0 };
	struct daemon d;
	char *sid, *before, *after, path[128], exp_renewed[40];
	uint8_t sealed[48];
	json_t *j;
	int st;

	(void)state;
	world_start(&w, "keep", true);
	harness_start(&d, w.env);
	sid = harness_register(&d, w.acct);
	harness_wait_backfilled(&d, sid, "first run");
	before = figures(&d, sid);
	assert_non_null(strstr(before, "\"trades\": "));	/* per-symbol figures, not an empty list */

	/* renewal by the holder: bounded, audited, no key sent */
	assert_int_equal(harness_http(&d, "POST", "/enclave/session", "{\"ttl\":1}", 9, NULL, sid, &j), 400);
	json_decref(j);
	assert_int_equal(harness_http(&d, "POST", "/enclave/session", "{\"ttl\":7200}", 12, NULL, sid, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "renewed");
	snprintf(exp_renewed, sizeof(exp_renewed), "%s", json_string_value(json_object_get(j, "expires_at")));
	json_decref(j);

	/* kill -9: the same id answers, with the renewed expiry, and once
	 * collected again the same figures */
	kill(d.pid, SIGKILL);
	waitpid(d.pid, &st, 0);
	harness_start(&d, w.env);
	assert_int_equal(get(&d, "/enclave/session", sid, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "expires_at")), exp_renewed);
	json_decref(j);
	harness_wait_backfilled(&d, sid, "after kill -9");
	after = figures(&d, sid);
	assert_string_equal(after, before);
	free(after);

	/* a clean restart too */
	assert_int_equal(harness_stop(&d), 0);
	harness_start(&d, w.env);
	harness_wait_backfilled(&d, sid, "after a restart");
	after = figures(&d, sid);
	assert_string_equal(after, before);
	free(after);

	/* revoked: gone for good, and no sealed copy left in the files */
	sealed_bytes(w.dir, sealed);
	assert_true(in_files(w.dir, sealed, sizeof(sealed)));
	assert_int_equal(harness_http(&d, "DELETE", "/enclave/session", NULL, 0, NULL, sid, &j), 200);
	json_decref(j);
	assert_false(in_files(w.dir, sealed, sizeof(sealed)));
	kill(d.pid, SIGKILL);
	waitpid(d.pid, &st, 0);
	harness_start(&d, w.env);
	snprintf(path, sizeof(path), "/enclave/session");
	assert_int_equal(get(&d, path, sid, &j), 404);
	json_decref(j);
	assert_int_equal(harness_stop(&d), 0);
	free(before);
	free(sid);
	world_stop(&w);
}

/* Keys generated for one run cannot open what it sealed: nothing is kept,
 * and the log says why. */
static void
test_generated_keys_keep_nothing(void **state)
{
	struct world w = { 0 };
	struct daemon d;
	char *sid, *log;
	json_t *j;

	(void)state;
	world_start(&w, "nokeys", false);
	harness_start(&d, w.env);
	sid = harness_register(&d, w.acct);
	assert_int_equal(get(&d, "/enclave/session", sid, &j), 200);
	json_decref(j);
	log = harness_log(&d);
	assert_non_null(strstr(log, "\"sessions_not_kept\""));
	free(log);
	assert_int_equal(harness_stop(&d), 0);
	harness_start(&d, w.env);
	assert_int_equal(get(&d, "/enclave/session", sid, &j), 404);
	json_decref(j);
	assert_int_equal(harness_stop(&d), 0);
	free(sid);
	world_stop(&w);
}

/*
 * Every exchange and market, killed during its backfill: the sessions come
 * back with their ids, finish collecting, and serve the figures a daemon
 * that was never killed serves for the same accounts.
 */
static void
test_killed_mid_backfill(void **state)
{
	struct world w = { 0 };
	struct daemon d, ref;
	size_t n = json_array_size(w.accounts), i;
	char **sids, **ref_sids, *a, *b;
	json_t *acct;
	int st;

	(void)state;
	world_start(&w, "midkill-ref", false);
	n = json_array_size(w.accounts);
	assert_true(n >= 6);
	sids = xcalloc(n, sizeof(*sids));
	ref_sids = xcalloc(n, sizeof(*ref_sids));
	harness_start(&ref, w.env);
	json_array_foreach(w.accounts, i, acct)
		ref_sids[i] = harness_register(&ref, acct);
	world_daemon(&w, "midkill", true);
	harness_start(&d, w.env);
	json_array_foreach(w.accounts, i, acct)
		sids[i] = harness_register(&d, acct);
	{
		json_t *j;
		assert_int_equal(get(&d, "/enclave/session", sids[n - 1], &j), 200);
		assert_false(json_is_true(json_object_get(json_object_get(j, "collection"), "backfill_done")));
		json_decref(j);
	}
	kill(d.pid, SIGKILL);	/* the last session, at least, is mid-backfill */
	waitpid(d.pid, &st, 0);
	harness_start(&d, w.env);
	json_array_foreach(w.accounts, i, acct) {
		char what[96];
		snprintf(what, sizeof(what), "%s/%s after kill -9", json_string_value(json_object_get(acct, "exchange")),
		    json_string_value(json_object_get(acct, "market")));
		harness_wait_backfilled(&d, sids[i], what);
		harness_wait_backfilled(&ref, ref_sids[i], "reference");
		a = figures(&d, sids[i]);
		b = figures(&ref, ref_sids[i]);
		if (strcmp(a, b) != 0)
			fail_msg("%s: figures differ from an uninterrupted run:\n%.400s\n%.400s", what, a, b);
		free(a);
		free(b);
		free(sids[i]);
		free(ref_sids[i]);
	}
	assert_int_equal(harness_stop(&d), 0);
	assert_int_equal(harness_stop(&ref), 0);
	free(sids);
	free(ref_sids);
	world_stop(&w);
}

/* The simulator's request count so far. */
static long long
sim_requests(const struct world *w)
{
	json_t *j = harness_sim_get(&w->sim, "/exsim/stats");
	long long n = json_integer_value(json_object_get(j, "requests"));

	json_decref(j);
	return n;
}

/* The fills walks' endpoints, one per exchange and market (the simulator
 * counts requests by path). */
static const char *const fills_paths[] = { "/api/v3/myTrades", "/sapi/v1/margin/myTrades", "/fapi/v1/userTrades",
	"/api/v3/brokerage/orders/historical/fills", "/0/private/TradesHistory", "/api/history/v3/executions" };
#define NFILLS_PATHS (sizeof(fills_paths) / sizeof(fills_paths[0]))

static void
sim_fills_requests(const struct world *w, long long out[NFILLS_PATHS])
{
	json_t *j = harness_sim_get(&w->sim, "/exsim/stats"), *by = json_object_get(j, "by_path");

	for (size_t i = 0; i < NFILLS_PATHS; i++)
		out[i] = json_integer_value(json_object_get(by, fills_paths[i]));
	json_decref(j);
}

static json_t *
collection_of(const struct daemon *d, const char *sid)
{
	json_t *j, *c;

	assert_int_equal(get(d, "/enclave/session", sid, &j), 200);
	c = json_incref(json_object_get(j, "collection"));
	json_decref(j);
	return c;
}

static long long
health_poller(const struct daemon *d, const char *name)
{
	json_t *j;
	long long v;

	assert_int_equal(harness_http(d, "GET", "/health", NULL, 0, NULL, NULL, &j), 200);
	v = json_integer_value(json_object_get(json_object_get(j, "poller"), name));
	json_decref(j);
	return v;
}

/*
 * Every exchange and market, backfilled and checkpointed, then killed: the
 * sessions come back from their checkpoints with their ledgers, holdings and
 * cursors, serve the same figures at once (before any request), and their
 * next cycle reads only what is new. Counted at the simulator: the restart
 * costs one incremental cycle per session, a small part of the backfill.
 */
static void
test_killed_resumes_from_checkpoints(void **state)
{
	struct world w = { 0 };
	struct daemon d;
	size_t n, i;
	char **sids, **before, **before_nd;
	long long backfill, restart, at_kill, walk_b[NFILLS_PATHS], walk_r[NFILLS_PATHS], paged_b = 0, paged_r = 0;
	json_t *acct, **coll;
	int st;

	(void)state;
	world_start(&w, "resume", true);
	n = json_array_size(w.accounts);
	sids = xcalloc(n, sizeof(*sids));
	before = xcalloc(n, sizeof(*before));
	before_nd = xcalloc(n, sizeof(*before_nd));
	coll = xcalloc(n, sizeof(*coll));
	harness_start(&d, w.env);
	json_array_foreach(w.accounts, i, acct)
		sids[i] = harness_register(&d, acct);
	json_array_foreach(w.accounts, i, acct)
		harness_wait_backfilled(&d, sids[i], "first run");
	/* the cycle that completes a backfill is checkpointed at its end */
	for (int k = 0; k < 600 && health_poller(&d, "checkpoints") < (long long)n; k++)
		usleep(100000);
	assert_true(health_poller(&d, "checkpoints") >= (long long)n);
	assert_int_equal(health_poller(&d, "checkpoint_failures"), 0);
	for (i = 0; i < n; i++) {
		before[i] = figures(&d, sids[i]);
		before_nd[i] = figures_of(&d, sids[i], false);
		coll[i] = collection_of(&d, sids[i]);
	}
	/* API_INTERVAL is 60 s: no second cycle has begun, so every request so
	 * far was the backfills' */
	backfill = sim_requests(&w);
	sim_fills_requests(&w, walk_b);
	kill(d.pid, SIGKILL);
	waitpid(d.pid, &st, 0);
	at_kill = sim_requests(&w);

	harness_start(&d, w.env);
	for (i = 0; i < n; i++) {
		json_t *c = collection_of(&d, sids[i]);
		char *a;
		/* resumed, not backfilling: the ledger is back before any request */
		assert_true(json_is_true(json_object_get(c, "backfill_done")));
		assert_int_equal(json_integer_value(json_object_get(c, "fills")),
		    json_integer_value(json_object_get(coll[i], "fills")));
		a = figures(&d, sids[i]);
		if (strcmp(a, before[i]) != 0)
			fail_msg("session %zu: figures after the restart differ:\n%.400s\n%.400s", i, a, before[i]);
		free(a);
		json_decref(c);
	}
	/* the first cycle after the restart runs at once: wait for each */
	for (i = 0; i < n; i++) {
		long long cycles0 = json_integer_value(json_object_get(coll[i], "cycles"));
		json_t *c = NULL;
		for (int k = 0; k < 1200; k++) {
			json_decref(c);
			c = collection_of(&d, sids[i]);
			if (json_integer_value(json_object_get(c, "cycles")) > cycles0)
				break;
			usleep(100000);
		}
		assert_true(json_integer_value(json_object_get(c, "cycles")) > cycles0);
		assert_int_equal(json_integer_value(json_object_get(c, "fills")),
		    json_integer_value(json_object_get(coll[i], "fills")));
		/* nothing counted twice: a walk that re-reads its boundary fill
		 * (Coinbase's inclusive time bound) finds it a duplicate, as an
		 * uninterrupted cycle does */
		assert_true(json_integer_value(json_object_get(c, "duplicates")) <=
		    json_integer_value(json_object_get(coll[i], "duplicates")) + 1);
		json_decref(c);
	}
	restart = sim_requests(&w) - at_kill;
	sim_fills_requests(&w, walk_r);
	print_message("backfills: %lld requests; first cycles after the restart: %lld (%zu sessions)\n", backfill,
	    restart, n);
	/* nothing backfilled again: each fills walk after the restart is one
	 * incremental walk (one page of what is new: nothing), where the
	 * backfill walked every page of the history; the rest of the restart's
	 * requests are the public data fetched again (server time, markets,
	 * daily closes) and the balances */
	for (i = 0; i < NFILLS_PATHS; i++) {
		walk_r[i] -= walk_b[i];
		print_message("  %-42s backfill %3lld requests, after the restart %3lld\n", fills_paths[i], walk_b[i],
		    walk_r[i]);
		assert_true(walk_b[i] > 0);
		assert_true(walk_r[i] <= walk_b[i]);
		paged_b += walk_b[i];
		paged_r += walk_r[i];
	}
	assert_true(paged_r < paged_b);
	assert_true(restart < backfill);
	for (i = 0; i < n; i++) {
		char *a = figures_of(&d, sids[i], false);
		if (strcmp(a, before_nd[i]) != 0)
			fail_msg("session %zu: figures after the next cycle differ:\n%.400s\n%.400s", i, a, before_nd[i]);
		free(a);
		free(before[i]);
		free(before_nd[i]);
		free(sids[i]);
		json_decref(coll[i]);
	}
	assert_int_equal(harness_stop(&d), 0);
	free(before);
	free(before_nd);
	free(sids);
	free(coll);
	world_stop(&w);
}

/*
 * A backfill killed half way resumes from the checkpoints taken as it went
 * (the connectors whose walk is oldest first: Binance, Kraken Futures): the
 * restarted session has its fills back before any request and goes on from
 * there, and ends with the figures of a daemon that was never killed.
 */
static void
test_killed_backfill_resumes(void **state)
{
	static const char *const which[][2] = { { "binance", "spot" }, { "binance", "futures" },
		{ "krakenfutures", "futures" } };
	struct world w = { 0 };
	struct daemon d, ref;
	json_t *acct[3] = { NULL }, *a;
	char *sids[3], *ref_sids[3], *x, *y;
	long long checkpointed = 0;
	size_t i, k;
	int st;
	bool caught = false;

	(void)state;
	world_start(&w, "midresume-ref", false);
	json_array_foreach(w.accounts, i, a)
		for (k = 0; k < 3; k++)
			if (strcmp(json_string_value(json_object_get(a, "exchange")), which[k][0]) == 0 &&
			    strcmp(json_string_value(json_object_get(a, "market")), which[k][1]) == 0)
				acct[k] = a;
	harness_start(&ref, w.env);
	for (k = 0; k < 3; k++) {
		assert_non_null(acct[k]);
		ref_sids[k] = harness_register(&ref, acct[k]);
	}
	world_daemon(&w, "midresume", true);
	harness_start(&d, w.env);
	for (k = 0; k < 3; k++)
		sids[k] = harness_register(&d, acct[k]);
	/* kill once the Binance spot session's last checkpoint holds fills
	 * but its backfill is not done (100 ms a request: seconds of it) */
	for (int t = 0; t < 3000 && !caught; t++) {
		json_t *c = collection_of(&d, sids[0]), *cp = json_object_get(c, "checkpoint");
		caught = !json_is_true(json_object_get(c, "backfill_done")) && json_is_object(cp) &&
		    json_integer_value(json_object_get(cp, "fills")) > 0;
		if (caught)
			checkpointed = json_integer_value(json_object_get(cp, "fills"));
		json_decref(c);
		if (!caught)
			usleep(20000);
	}
	assert_true(caught);
	kill(d.pid, SIGKILL);
	waitpid(d.pid, &st, 0);
	harness_start(&d, w.env);
	{
		/* back before any request with what the checkpoint held, and the
		 * backfill goes on from there */
		json_t *c = collection_of(&d, sids[0]);
		assert_false(json_is_true(json_object_get(c, "backfill_done")));
		assert_true(json_integer_value(json_object_get(c, "fills")) >= checkpointed);
		json_decref(c);
	}
	{
		char *log = harness_log(&d), *at = strstr(log, "\"event\":\"sessions_restored\",\"restored\":3,");
		assert_non_null(at);
		assert_non_null(at = strstr(at, "\"resumed\":"));
		assert_true(atoi(at + strlen("\"resumed\":")) >= 1);
		free(log);
	}
	for (k = 0; k < 3; k++) {
		char what[96];
		snprintf(what, sizeof(what), "%s/%s resumed mid-backfill", which[k][0], which[k][1]);
		harness_wait_backfilled(&d, sids[k], what);
		harness_wait_backfilled(&ref, ref_sids[k], "reference");
		x = figures_of(&d, sids[k], false);
		y = figures_of(&ref, ref_sids[k], false);
		if (strcmp(x, y) != 0)
			fail_msg("%s: figures differ from an uninterrupted run:\n%.400s\n%.400s", what, x, y);
		{
			json_t *c = collection_of(&d, sids[k]);
			/* nothing refused as older than what the ledger had: the walk
			 * went on from the checkpoint's cursors */
			assert_int_equal(json_integer_value(json_object_get(c, "stale")), 0);
			json_decref(c);
		}
		free(x);
		free(y);
		free(sids[k]);
		free(ref_sids[k]);
	}
	assert_int_equal(harness_stop(&d), 0);
	assert_int_equal(harness_stop(&ref), 0);
	world_stop(&w);
}

/*
 * The state store failing (here: another process holding its write lock
 * past the busy timeout) refuses a registration with 503 store_unavailable
 * and keeps nothing; once the store is back, the same trader registers.
 */
static void
test_store_unavailable(void **state)
{
	struct world w = { 0 };
	struct daemon d;
	json_t *creds;
	char *text, *file, *out = NULL, *err = NULL, *path, *sid;
	sqlite3 *db;
	int rc;

	(void)state;
	world_start(&w, "storefail", true);
	harness_start(&d, w.env);
	creds = json_pack("{s:O, s:O}", "apiKey", json_object_get(w.acct, "api_key"), "secret",
	    json_object_get(w.acct, "secret"));
	text = json_dumps(creds, 0);
	file = harness_write_tmp("perfagg-creds", text);
	path = xasprintf("%s/state.sqlite3", w.dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	{
		const char *argv[] = { "perfagg", "register", "--url", d.url, "--exchange", "binance", "--account-type",
		    "spot", "--allow-dev", "--credentials-file", file, "--json", NULL };
		rc = harness_run(argv, NULL, NULL, &out, &err);
	}
	assert_int_not_equal(rc, 0);
	if (strstr(err, "store_unavailable") == NULL)
		fail_msg("expected store_unavailable, got: %s", err);
	free(out);
	free(err);
	out = err = NULL;
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	{
		/* nothing kept from the refused attempt, and the service goes on */
		json_t *j;
		assert_int_equal(harness_http(&d, "GET", "/health", NULL, 0, NULL, NULL, &j), 200);
		assert_int_equal(json_integer_value(json_object_get(j, "active_sessions")), 0);
		json_decref(j);
	}
	unlink(file);
	sid = harness_register(&d, w.acct);
	harness_wait_backfilled(&d, sid, "after the store came back");
	assert_int_equal(harness_stop(&d), 0);
	free(sid);
	free(path);
	free(file);
	free(text);
	json_decref(creds);
	world_stop(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions_survive),
		cmocka_unit_test(test_generated_keys_keep_nothing),
		cmocka_unit_test(test_killed_mid_backfill),
		cmocka_unit_test(test_killed_resumes_from_checkpoints),
		cmocka_unit_test(test_killed_backfill_resumes),
		cmocka_unit_test(test_store_unavailable),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
