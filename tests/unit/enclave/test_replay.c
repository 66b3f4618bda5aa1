/* The replay guard on a real store: freshness both ways, claims held for
 * the window and no longer, kept across a close and reopen, and won once
 * when threads race. */
#include <setjmp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../tmpdir.h"
#include "core/prim.h"
#include "enclave/replay.h"
#include "store/store.h"

#define T0 1767225600000LL
#define W 300000LL

static struct store *
mem_store(void)
{
	const char *err = NULL;
	struct store *st = store_sqlite.open(":memory:", &err);

	assert_non_null(st);
	return st;
}

static void
test_fresh(void **state)
{
	struct store *st = mem_store();
	struct replay *r = replay_new(st, W);

	(void)state;
	assert_int_equal(replay_window_ms(r), W);
	assert_true(replay_fresh(r, T0, T0));
	assert_true(replay_fresh(r, T0 - W, T0));
	assert_true(replay_fresh(r, T0 + W, T0));
	assert_false(replay_fresh(r, T0 - W - 1, T0));
	assert_false(replay_fresh(r, T0 + W + 1, T0));
	replay_free(r);
	st->ops->close(st);
}

static void
test_claim_seen(void **state)
{
	struct store *st = mem_store();
	struct replay *r = replay_new(st, W);
	uint8_t a[32], b[32];
	const char *err = NULL;

	(void)state;
	memset(a, 0x11, 32);
	memcpy(b, a, 32);
	b[31] ^= 0x80;	/* differs in the last bit only */
	assert_int_equal(replay_seen(r, a, T0, &err), 0);
	assert_int_equal(replay_claim(r, a, T0, T0, &err), 1);
	assert_int_equal(replay_seen(r, a, T0, &err), 1);
	assert_int_equal(replay_seen(r, b, T0, &err), 0);
	assert_int_equal(replay_claim(r, a, T0, T0 + 1000, &err), 0);
	assert_int_equal(replay_claim(r, b, T0, T0, &err), 1);
	/* held as long as an envelope of time T0 is fresh, inclusive */
	assert_int_equal(replay_seen(r, a, T0 + W, &err), 1);
	assert_int_equal(replay_claim(r, a, T0, T0 + W, &err), 0);
	/* then gone: such an envelope fails the freshness check instead */
	assert_int_equal(replay_seen(r, a, T0 + W + 1, &err), 0);
	assert_false(replay_fresh(r, T0, T0 + W + 1));
	/* an expired claim is free again (a later envelope with that key) */
	assert_int_equal(replay_claim(r, a, T0 + W + 1, T0 + W + 1, &err), 1);
	assert_int_equal(st->ops->sweep(st, T0 + W + 1, &err), 1);	/* b */
	assert_int_equal(replay_seen(r, b, T0, &err), 0);
	replay_free(r);
	replay_free(NULL);
	st->ops->close(st);
}

/* The claims are the store's: a new guard on a reopened file sees them. */
static void
test_survives_reopen(void **state)
{
	char *path = xasprintf("%s/state.sqlite3", tmpdir());
	const char *err = NULL;
	struct store *st = store_sqlite.open(path, &err);
	struct replay *r;
	uint8_t k[32];

	(void)state;
	assert_non_null(st);
	memset(k, 0x42, sizeof(k));
	r = replay_new(st, W);
	assert_int_equal(replay_claim(r, k, T0, T0, &err), 1);
	replay_free(r);
	st->ops->close(st);
	st = store_sqlite.open(path, &err);
	assert_non_null(st);
	r = replay_new(st, W);
	assert_int_equal(replay_seen(r, k, T0 + 1000, &err), 1);
	assert_int_equal(replay_claim(r, k, T0, T0 + 1000, &err), 0);
	replay_free(r);
	st->ops->close(st);
	free(path);
}

struct race {
	struct replay *r;
	int wins;
};

static void *
racer(void *arg)
{
	struct race *x = arg;
	uint8_t k[32];
	const char *err = NULL;

	for (uint32_t i = 0; i < 500; i++) {
		prim_sha256(k, &i, sizeof(i));
		if (replay_claim(x->r, k, T0, T0, &err) == 1)
			x->wins++;
	}
	return NULL;
}

/* Four threads claim the same keys: each key is won exactly once. */
static void
test_race(void **state)
{
	char *path = xasprintf("%s/race.sqlite3", tmpdir());
	const char *err = NULL;
	struct store *st = store_sqlite.open(path, &err);
	struct replay *r;
	struct race x[4];
	pthread_t th[4];

	(void)state;
	assert_non_null(st);
	r = replay_new(st, W);
	for (int i = 0; i < 4; i++) {
		x[i] = (struct race){ r, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, racer, &x[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(x[0].wins + x[1].wins + x[2].wins + x[3].wins, 500);
	replay_free(r);
	st->ops->close(st);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh),
		cmocka_unit_test(test_claim_seen),
		cmocka_unit_test(test_survives_reopen),
		cmocka_unit_test(test_race),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
