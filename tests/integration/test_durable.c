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
	const char *env[6];
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
 * computed at and their signature (both differ between two calls). */
static char *
figures(const struct daemon *d, const char *sid)
{
	json_t *j;
	char *s;

	assert_int_equal(get(d, "/enclave/metrics", sid, &j), 200);
	json_object_del(j, "signature");
	json_object_del(j, "generated_at");
	json_object_del(j, "computed_at");
	json_object_del(j, "collection");
	s = json_dumps(json_object_get(j, "metrics") != NULL ? json_object_get(j, "metrics") : j, JSON_SORT_KEYS);
	json_decref(j);
	return s;
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sessions_survive),
		cmocka_unit_test(test_generated_keys_keep_nothing),
		cmocka_unit_test(test_killed_mid_backfill),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
