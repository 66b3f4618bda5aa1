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

/* Waits up to 10 s for cond over the counts. */
#define WAIT_FOR(ob, cond) do {							\
	struct outbox_counts c_;						\
	int i_;									\
	for (i_ = 0; i_ < 1000; i_++) {						\
		c_ = counts(ob);						\
		if (cond)							\
			break;							\
		usleep(10000);							\
	}									\
	if (i_ == 1000)								\
		fail_msg("timed out waiting for %s", #cond);			\
} while (0)

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
	for (int i = 0; i < 500 && backend_count(&b, 503) < 3; i++)
		usleep(10000);
	assert_true(backend_count(&b, 503) >= 3);
	assert_int_equal(counts(ob).pending, 1);
	backend_set(&b, 429, false);
	for (int i = 0; i < 500 && backend_count(&b, 429) < 1; i++)
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

static void
test_4xx_is_final(void **state)
{
	char *dir = newdir("final");
	struct backend_run b = { 0 };
	struct outbox *ob;
	const char *err = NULL;

	(void)state;
	backend_start(&b, 0);
	backend_set(&b, 422, false);
	ob = open_ob(dir, b.url);
	assert_int_equal(outbox_put(ob, "k1", BODY_A, strlen(BODY_A), &err), 0);
	WAIT_FOR(ob, c_.failed == 1);
	assert_int_equal(outbox_depth(ob), 0);
	usleep(300000);
	assert_int_equal(backend_count(&b, 0), 1);	/* not retried */
	outbox_free(ob);
	backend_stop(&b);
	free(dir);
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
	for (int i = 0; i < 500 && backend_held(&b) == 0; i++)
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_idempotent),
		cmocka_unit_test(test_survives_reopen_and_resends),
		cmocka_unit_test(test_failure_retried_until_2xx),
		cmocka_unit_test(test_backend_down_then_up),
		cmocka_unit_test(test_4xx_is_final),
		cmocka_unit_test(test_stop_during_held_request),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
