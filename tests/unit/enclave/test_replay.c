#include <setjmp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/prim.h"
#include "enclave/replay.h"

static void
test_record_seen(void **state)
{
	struct replay *r = replay_new(), *r2 = replay_new();
	uint8_t a[32], b[32];

	(void)state;
	memset(a, 0x11, 32);
	memcpy(b, a, 32);
	b[31] ^= 0x80;	/* differs in the last bit only */
	assert_false(replay_seen(r, a));
	assert_int_equal(replay_record(r, a), 0);
	assert_true(replay_seen(r, a));
	assert_false(replay_seen(r, b));
	assert_int_equal(replay_record(r, a), -1);
	assert_int_equal(replay_record(r, b), 0);
	assert_true(replay_seen(r, b));
	/* Instances are independent (and salted differently). */
	assert_false(replay_seen(r2, a));
	assert_int_equal(replay_record(r2, a), 0);
	replay_free(r);
	replay_free(r2);
	replay_free(NULL);
}

static void
test_many(void **state)
{
	struct replay *r = replay_new();
	uint8_t k[32];

	(void)state;
	for (uint32_t i = 0; i < 20000; i++) {
		prim_sha256(k, &i, sizeof(i));
		assert_int_equal(replay_record(r, k), 0);
	}
	for (uint32_t i = 0; i < 20000; i++) {
		prim_sha256(k, &i, sizeof(i));
		assert_true(replay_seen(r, k));
		assert_int_equal(replay_record(r, k), -1);
	}
	for (uint32_t i = 20000; i < 20100; i++) {
		prim_sha256(k, &i, sizeof(i));
		assert_false(replay_seen(r, k));
	}
	replay_free(r);
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

	for (uint32_t i = 0; i < 2000; i++) {
		prim_sha256(k, &i, sizeof(i));
		if (replay_record(x->r, k) == 0)
			x->wins++;
	}
	return NULL;
}

/* Four threads record the same keys: each key is won exactly once. */
static void
test_race(void **state)
{
	struct replay *r = replay_new();
	struct race x[4];
	pthread_t th[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		x[i] = (struct race){ r, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, racer, &x[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(x[0].wins + x[1].wins + x[2].wins + x[3].wins, 2000);
	replay_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_seen),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_race),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
