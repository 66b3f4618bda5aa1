#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "server/ratelimit.h"

#define T0 1700000000000LL

static const uint8_t A[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };
static const uint8_t B[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 2 };

static void
test_max_and_retry_after(void **state)
{
	struct ratelimit *rl = ratelimit_new(3, 10000);
	int64_t retry = 0;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0, &retry), 0);
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0, &retry), -1);
	assert_int_equal(retry, 10);
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 + 2500, &retry), -1);
	assert_int_equal(retry, 8);	/* 7.5 s left, rounded up */
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 + 9999, &retry), -1);
	assert_int_equal(retry, 1);
	/* The window ends: a fresh allowance. Refused requests did not count. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 + 10000, &retry), 0);
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 + 10000, &retry), -1);
	assert_int_equal(retry, 10);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

/* The window is fixed from its first request, not sliding. */
static void
test_window_reset(void **state)
{
	struct ratelimit *rl = ratelimit_new(2, 1000);
	int64_t retry;

	(void)state;
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0, &retry), 0);
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 + 900, &retry), 0);
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 + 999, &retry), -1);
	assert_int_equal(retry, 1);
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 + 1000, &retry), 0);
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 + 1500, &retry), 0);
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 + 1600, &retry), -1);
	/* A clock that steps back starts a new window rather than locking out. */
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 - 5000, &retry), 0);
	ratelimit_free(rl);
}

static void
test_addresses_independent(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 60000);
	int64_t retry;

	(void)state;
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0, &retry), 0);
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0, &retry), -1);
	assert_int_equal(ratelimit_take(rl, B, sizeof(B), T0, &retry), 0);
	assert_int_equal(ratelimit_take(rl, B, sizeof(B), T0, &retry), -1);
	/* Same bytes, shorter length: a different client key. */
	assert_int_equal(ratelimit_take(rl, A, 15, T0, &retry), 0);
	ratelimit_free(rl);
}

static void
addr_n(uint8_t out[16], uint32_t n)
{
	memset(out, 0, 16);
	memcpy(out + 12, &n, 4);
}

/* Idle entries go when the table grows; live ones stay, with their counts. */
static void
test_idle_sweep(void **state)
{
	struct ratelimit *rl = ratelimit_new(1, 10000);
	uint8_t a[16];
	int64_t retry;

	(void)state;
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 + 5000, &retry), 0);
	for (uint32_t i = 0; i < 1023; i++) {
		addr_n(a, i);
		assert_int_equal(ratelimit_take(rl, a, 16, T0, &retry), 0);
	}
	assert_int_equal(ratelimit_tracked(rl), 1024);
	/* At T0 + 10000 the 1023 are idle, A is not: the 1025th address sweeps. */
	addr_n(a, 5000);
	assert_int_equal(ratelimit_take(rl, a, 16, T0 + 10000, &retry), 0);
	assert_int_equal(ratelimit_tracked(rl), 2);
	assert_int_equal(ratelimit_take(rl, A, sizeof(A), T0 + 10000, &retry), -1);
	assert_int_equal(retry, 5);
	/* Live entries are never swept: 2000 active clients all stay limited. */
	for (uint32_t i = 0; i < 2000; i++) {
		addr_n(a, 10000 + i);
		assert_int_equal(ratelimit_take(rl, a, 16, T0 + 20000, &retry), 0);
	}
	for (uint32_t i = 0; i < 2000; i++) {
		addr_n(a, 10000 + i);
		assert_int_equal(ratelimit_take(rl, a, 16, T0 + 20001, &retry), -1);
	}
	assert_true(ratelimit_tracked(rl) >= 2000);
	ratelimit_free(rl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_and_retry_after),
		cmocka_unit_test(test_window_reset),
		cmocka_unit_test(test_addresses_independent),
		cmocka_unit_test(test_idle_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
