#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "../tmpdir.h"
#include "backend_run.h"
#include "out/outbox.h"
#include "util/xalloc.h"

#define BODY_A "{\"idempotency_key\":\"k1\",\"totals\":{\"trades\":1}}"
#define BODY_B "{\"idempotency_key\":\"k1\",\"totals\":{\"trades\":2}}"
#define BODY_2 "{\"idempotency_key\":\"k2\",\"totals\":{\"trades\":3}}"

static char *
newdir(const char *name)
{
	return xasprintf("%s/%s", tmpdir(), name);
}

static struct outbox *
open_ob(const char *dir, const char *url)
{
	struct outbox_config c = { .data_dir = dir, .backend_url = url, .retry_min_ms = 50, .retry_max_ms = 200,
		.timeout_ms = 5000 };
	const char *err = NULL;
	struct outbox *ob = outbox_open(&c, &err);

	if (ob == NULL)
		fail_msg("outbox_open: %s", err);
	return ob;
}

static struct outbox_counts
counts(struct outbox *ob)
{
	struct outbox_counts c;

	assert_int_equal(outbox_counts(ob, &c), 0);
	return c;
}

/* Waits up to 60 s (a busy machine passes too) for cond over the counts. */
#define WAIT_FOR(ob, cond) do {							\
	struct outbox_counts c_;						\
	int i_;									\
	for (i_ = 0; i_ < 6000; i_++) {						\
		c_ = counts(ob);						\
		if (cond)							\
			break;							\
		usleep(10000);							\
	}									\
	if (i_ == 6000)								\
		fail_msg("timed out waiting for %s", #cond);			\
} while (0)

/* Requests for key the backend answered with status (0: any). */
static size_t
key_count(struct backend_run *b, const char *key, unsigned status)
{
	size_t n = 0;

	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < b->nreqs; i++)
		if (strcmp(b->reqs[i].key, key) == 0 && (status == 0 || b->reqs[i].status == status))
			n++;
	pthread_mutex_unlock(&b->mu);
	return n;
}

/* Waits up to 60 s until the backend answered key with status n times. */
static void
wait_key(struct backend_run *b, const char *key, unsigned status, size_t n)
{
	for (int i = 0; i < 6000 && key_count(b, key, status) < n; i++)
		usleep(10000);
	if (key_count(b, key, status) < n)
		fail_msg("timed out waiting for %zu answers %u to %s", n, status, key);
}

/* Puts a payload under key. */
static void
put_key(struct outbox *ob, const char *key)
{
	char *body = xasprintf("{\"idempotency_key\":\"%s\",\"totals\":{\"trades\":1}}", key);
	const char *err = NULL;

	if (outbox_put(ob, key, body, strlen(body), &err) != 0)
		fail_msg("outbox_put %s: %s", key, err);
	free(body);
}

/* The in-memory tally agrees with the table. */
static void
assert_tally(struct outbox *ob)
{
	struct outbox_counts c = counts(ob), t;

	outbox_tally(ob, &t);
	assert_memory_equal(&c, &t, sizeof(c));
}

static void
test_put_idempotent(void **state)
{
	char *dir = newdir("idem");
	struct outbox *ob = open_ob(dir, NULL);
	const char *err = NULL;
	struct stat sb;

	(void)state;
	assert_int_equal(outbox_put(ob, "k1", BODY_A, strlen(BODY_A), &err), 0);
	assert_int_equal(outbox_put(ob, "k1", BODY_A, strlen(BODY_A), &err), 0);
	assert_int_equal(counts(ob).pending, 1);
	/* Same key, another body: refused, and still one row. */
	assert_int_equal(outbox_put(ob, "k1", BODY_B, strlen(BODY_B), &err), -1);
	assert_non_null(strstr(err, "different body"));
	assert_int_equal(counts(ob).pending, 1);
	assert_int_equal(outbox_depth(ob), 1);
	/* The key must be the body's, and header-safe. */
	assert_int_equal(outbox_put(ob, "k2", BODY_A, strlen(BODY_A), &err), -1);
	assert_int_equal(outbox_put(ob, "k 1", BODY_A, strlen(BODY_A), &err), -1);
	assert_int_equal(outbox_put(ob, "k1", "[1]", 3, &err), -1);
	assert_int_equal(outbox_put(ob, "k1", BODY_A, strlen(BODY_A) - 1, &err), -1);
	assert_int_equal(outbox_depth(ob), 1);
	/* One file in the data directory. */
	{
		char *f = xasprintf("%s/%s", dir, OUTBOX_FILE);
		assert_int_equal(stat(f, &sb), 0);
		free(f);
	}
	outbox_free(ob);
	free(dir);
}

static void
test_survives_reopen_and_resends(void **state)
{
	char *dir = newdir("reopen");
	struct outbox *ob = open_ob(dir, NULL);
	struct backend_run b = { 0 };
	const char *err = NULL;

	(void)state;
	assert_int_equal(outbox_put(ob, "k1", BODY_A, strlen(BODY_A), &err), 0);
	assert_int_equal(outbox_put(ob, "k2", BODY_2, strlen(BODY_2), &err), 0);
	outbox_free(ob);
	/* Reopened: the rows are there, and a different body is still refused. */
	ob = open_ob(dir, NULL);
	assert_int_equal(counts(ob).pending, 2);
	assert_int_equal(outbox_put(ob, "k1", BODY_B, strlen(BODY_B), &err), -1);
	outbox_free(ob);
	/* Reopened with a backend: both are sent, byte for byte. */
	backend_start(&b, 0);
	ob = open_ob(dir, b.url);
	WAIT_FOR(ob, c_.delivered == 2 && c_.pending == 0);
	assert_int_equal(backend_count(&b, 200), 2);
	assert_int_equal(b.bad, 0);
	for (size_t i = 0; i < b.nreqs; i++) {
		const char *want = strcmp(b.reqs[i].key, "k1") == 0 ? BODY_A : BODY_2;
		assert_string_equal(b.reqs[i].body, want);
	}
	outbox_free(ob);
	/* Delivered rows are not sent again after another restart. */
	ob = open_ob(dir, b.url);
	usleep(300000);
	assert_int_equal(backend_count(&b, 0), 2);
	assert_int_equal(counts(ob).delivered, 2);
	outbox_free(ob);
	backend_stop(&b);
	free(dir);
}

static void
test_failure_retried_until_2xx(void **state)
{
	char *dir = newdir("retry");
	struct backend_run b = { 0 };
	struct outbox *ob;
	const char *err = NULL;

	(void)state;
	backend_start(&b, 0);
	backend_set(&b, 503, false);
	ob = open_ob(dir, b.url);
	assert_int_equal(outbox_put(ob, "k1", BODY_A, strlen(BODY_A), &err), 0);
	for (int i = 0; i < 6000 && backend_count(&b, 503) < 3; i++)
		usleep(10000);
	assert_true(backend_count(&b, 503) >= 3);
	assert_int_equal(counts(ob).pending, 1);
	backend_set(&b, 429, false);
	for (int i = 0; i < 6000 && backend_count(&b, 429) < 1; i++)
		usleep(10000);
	assert_int_equal(counts(ob).pending, 1);	/* 429 is retried too */
	backend_set(&b, 200, false);
	WAIT_FOR(ob, c_.delivered == 1);
	assert_int_equal(backend_count(&b, 200), 1);
	/* Every attempt carried the same body. */
	for (size_t i = 0; i < b.nreqs; i++) {
		assert_string_equal(b.reqs[i].key, "k1");
		assert_string_equal(b.reqs[i].body, BODY_A);
	}
	outbox_free(ob);
	backend_stop(&b);
	free(dir);
}

static void
test_backend_down_then_up(void **state)
{
	char *dir = newdir("down");
	struct backend_run b = { 0 };
	struct outbox *ob;
	char url[64];
	const char *err = NULL;
	int port;

	(void)state;
	/* Learn a free port, then close it: connections are refused. */
	backend_start(&b, 0);
	port = b.port;
	snprintf(url, sizeof(url), "%s", b.url);
	backend_down(&b);
	ob = open_ob(dir, url);
	assert_int_equal(outbox_put(ob, "k1", BODY_A, strlen(BODY_A), &err), 0);
	assert_int_equal(outbox_put(ob, "k2", BODY_2, strlen(BODY_2), &err), 0);
	usleep(400000);
	assert_int_equal(counts(ob).pending, 2);
	backend_start(&b, port);
	WAIT_FOR(ob, c_.delivered == 2);
	assert_int_equal(backend_count(&b, 200), 2);
	outbox_free(ob);
	backend_stop(&b);
	free(dir);
}

/* Answers that may pass (a backend being deployed, busy, or still
 * committing an earlier attempt) never fail a row: each key is retried until
 * the backend takes it, and taken exactly once. */
static void
test_may_pass_retried(void **state)
{
	static const unsigned passing[] = { 404, 408, 409, 425, 429, 410, 418, 500, 503 };
	char *dir = newdir("maypass");
	struct backend_run b = { 0 };
	struct outbox *ob;
	char key[32];
	size_t n = sizeof(passing) / sizeof(passing[0]);

	(void)state;
	backend_start(&b, 0);
	ob = open_ob(dir, b.url);
	for (size_t i = 0; i < n; i++) {
		backend_set(&b, passing[i], false);
		snprintf(key, sizeof(key), "may-pass-%u", passing[i]);
		put_key(ob, key);
		wait_key(&b, key, passing[i], 2);	/* answered, and tried again */
		assert_int_equal(counts(ob).failed, 0);
		assert_int_equal(counts(ob).pending, (int64_t)i + 1);
	}
	backend_set(&b, 200, false);
	WAIT_FOR(ob, c_.delivered == (int64_t)n);
	assert_int_equal(counts(ob).failed, 0);
	assert_int_equal(counts(ob).pending, 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "may-pass-%u", passing[i]);
		assert_int_equal(key_count(&b, key, 200), 1);
	}
	assert_int_equal(b.conflicts, 0);
	assert_int_equal(b.bad, 0);
	assert_tally(ob);
	outbox_free(ob);
	backend_stop(&b);
	free(dir);
}

/* The contract's refusals fail a row for good; they are counted by status,
 * listed without their body, and an operator can send them again. */
static void
test_final_failed_and_requeued(void **state)
{
	char *dir = newdir("final");
	struct backend_run b = { 0 };
	struct outbox *ob;
	const char *err = NULL, *k400[] = { "final-400" }, *none[] = { "no-such-key", "final-400" };
	char key[32], *text;
	json_t *rows, *row;
	bool more;
	size_t i;

	(void)state;
	backend_start(&b, 0);
	ob = open_ob(dir, b.url);
	for (i = 0; i < OUTBOX_NFINAL; i++) {
		backend_set(&b, (unsigned)outbox_final_status[i], false);
		snprintf(key, sizeof(key), "final-%ld", outbox_final_status[i]);
		put_key(ob, key);
		WAIT_FOR(ob, c_.failed == (int64_t)i + 1);
	}
	usleep(300000);
	assert_int_equal(backend_count(&b, 0), OUTBOX_NFINAL);	/* none retried */
	assert_int_equal(outbox_depth(ob), 0);
	for (i = 0; i < OUTBOX_NFINAL; i++)
		assert_int_equal(counts(ob).failed_by_status[i], 1);
	assert_tally(ob);

	/* The list: oldest first, the answer, never the body. */
	rows = outbox_failed(ob, 100, &more, &err);
	assert_non_null(rows);
	assert_false(more);
	assert_int_equal(json_array_size(rows), OUTBOX_NFINAL);
	json_array_foreach(rows, i, row) {
		snprintf(key, sizeof(key), "final-%ld", outbox_final_status[i]);
		assert_string_equal(json_string_value(json_object_get(row, "idempotency_key")), key);
		assert_int_equal(json_integer_value(json_object_get(row, "status")), outbox_final_status[i]);
		assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 1);
		snprintf(key, sizeof(key), "HTTP %ld", outbox_final_status[i]);
		assert_string_equal(json_string_value(json_object_get(row, "error")), key);
		assert_int_equal(json_string_length(json_object_get(row, "created")), 24);
		assert_int_equal(json_string_length(json_object_get(row, "failed")), 24);
	}
	text = json_dumps(rows, 0);
	assert_null(strstr(text, "totals"));
	free(text);
	json_decref(rows);
	rows = outbox_failed(ob, 2, &more, &err);
	assert_int_equal(json_array_size(rows), 2);
	assert_true(more);
	json_decref(rows);

	/* One key re-queued while the backend still refuses: it is sent again
	 * with its attempts counted from zero, and fails again. */
	assert_int_equal(outbox_requeue(ob, k400, 1, &err), 1);
	wait_key(&b, "final-400", 422, 1);
	WAIT_FOR(ob, c_.failed == OUTBOX_NFINAL);
	assert_int_equal(counts(ob).failed_by_status[0], 0);
	assert_int_equal(counts(ob).failed_by_status[OUTBOX_NFINAL - 1], 2);
	rows = outbox_failed(ob, 100, &more, &err);
	json_array_foreach(rows, i, row)
		assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 1);
	json_decref(rows);
	assert_tally(ob);
	/* Keys of no failed row are ignored. */
	backend_set(&b, 200, false);
	assert_int_equal(outbox_requeue(ob, none, 1, &err), 0);
	assert_int_equal(outbox_requeue(ob, none, 0, &err), 0);
	/* All of them, accepted now: each delivered exactly once. */
	assert_int_equal(outbox_requeue(ob, NULL, 0, &err), OUTBOX_NFINAL);
	WAIT_FOR(ob, c_.delivered == OUTBOX_NFINAL);
	assert_int_equal(counts(ob).failed, 0);
	for (i = 0; i < OUTBOX_NFINAL; i++) {
		snprintf(key, sizeof(key), "final-%ld", outbox_final_status[i]);
		assert_int_equal(key_count(&b, key, 200), 1);
	}
	assert_int_equal(outbox_requeue(ob, NULL, 0, &err), 0);
	assert_tally(ob);
	outbox_free(ob);
	backend_stop(&b);
	free(dir);
}

static void
assert_mode_0600(const char *dir, const char *suffix)
{
	char *f = xasprintf("%s/%s%s", dir, OUTBOX_FILE, suffix);
	struct stat sb;

	if (stat(f, &sb) != 0)
		fail_msg("%s: missing", f);
	if ((sb.st_mode & 07777) != 0600)
		fail_msg("%s: mode %o, not 600", f, (unsigned)(sb.st_mode & 07777));
	free(f);
}

/* The database, -wal and -shm are 0600 under a lax umask, and files an
 * older build left 0644 are made 0600 on open. */
static void
test_files_private(void **state)
{
	char *dir = newdir("private"), *copy = newdir("private-copy"), *cmd;
	struct outbox *ob;
	mode_t old = umask(022);

	(void)state;
	ob = open_ob(dir, NULL);
	put_key(ob, "k1");
	assert_mode_0600(dir, "");
	assert_mode_0600(dir, "-wal");
	assert_mode_0600(dir, "-shm");
	/* A copy of the live files (the row is in the WAL), made 0644. */
	cmd = xasprintf("mkdir -m 700 '%s' && cp '%s/%s' '%s/%s-wal' '%s' && chmod 644 '%s'/*", copy, dir,
	    OUTBOX_FILE, dir, OUTBOX_FILE, copy, copy);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	outbox_free(ob);
	ob = open_ob(copy, NULL);
	assert_int_equal(counts(ob).pending, 1);
	assert_mode_0600(copy, "");
	assert_mode_0600(copy, "-wal");
	assert_mode_0600(copy, "-shm");
	outbox_free(ob);
	umask(old);
	free(dir);
	free(copy);
}

static void
test_stop_during_held_request(void **state)
{
	char *dir = newdir("held");
	struct backend_run b = { 0 };
	struct outbox *ob;
	const char *err = NULL;

	(void)state;
	backend_start(&b, 0);
	backend_set(&b, 200, true);
	ob = open_ob(dir, b.url);
	assert_int_equal(outbox_put(ob, "k1", BODY_A, strlen(BODY_A), &err), 0);
	for (int i = 0; i < 6000 && backend_held(&b) == 0; i++)
		usleep(10000);
	assert_int_equal(backend_held(&b), 1);
	/* Closing aborts the request: the row stays pending. */
	outbox_free(ob);
	backend_set(&b, 200, false);
	ob = open_ob(dir, b.url);
	WAIT_FOR(ob, c_.delivered == 1);
	assert_int_equal(b.conflicts, 0);
	outbox_free(ob);
	backend_stop(&b);
	free(dir);
}

/* Rows an older build failed for an answer that may pass are sent again. */
static void
test_old_failures_requeued(void **state)
{
	char *dir = newdir("old"), *path = xasprintf("%s/%s", dir, OUTBOX_FILE);
	struct outbox *ob = open_ob(dir, NULL);
	sqlite3 *db;

	(void)state;
	put_key(ob, "k404");
	put_key(ob, "k422");
	outbox_free(ob);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE outbox SET state = 2, attempts = 1, last_status = "
	    "CAST(substr(idempotency_key, 2) AS INTEGER)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ob = open_ob(dir, NULL);
	assert_int_equal(counts(ob).pending, 1);
	assert_int_equal(counts(ob).failed, 1);
	assert_int_equal(counts(ob).failed_by_status[OUTBOX_NFINAL - 1], 1);
	assert_tally(ob);
	outbox_free(ob);
	free(path);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_idempotent),
		cmocka_unit_test(test_survives_reopen_and_resends),
		cmocka_unit_test(test_failure_retried_until_2xx),
		cmocka_unit_test(test_backend_down_then_up),
		cmocka_unit_test(test_may_pass_retried),
		cmocka_unit_test(test_final_failed_and_requeued),
		cmocka_unit_test(test_files_private),
		cmocka_unit_test(test_old_failures_requeued),
		cmocka_unit_test(test_stop_during_held_request),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
