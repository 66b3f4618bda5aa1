/*
 * budget: the token bucket the poller paces exchanges with, and its
 * reservations: requests waiting on one bucket get successive slots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "exchange/budget.h"

/* Full at first use; taking within the tokens costs no wait. */
static void
test_full_at_start(void **state)
{
	struct budget b = { 0 };

	(void)state;
	budget_set(&b, 10, 1);	/* 10 tokens, 1 per second */
	for (int i = 0; i < 10; i++)
		assert_int_equal(budget_reserve(&b, 1, 1000), 0);
	assert_true(b.tokens >= 0 && b.tokens < 1e-9);
}

/*
 * Five requests of weight 2 on an empty bucket refilled at 1 token/s: each
 * gets its own slot 2 s after the previous one (plus the 1 ms rounding),
 * not the same instant; no one is asked again.
 */
static void
test_waiters_queue_in_order(void **state)
{
	struct budget b = { 0 };
	int64_t w, prev = 0;

	(void)state;
	budget_set(&b, 4, 1);
	assert_int_equal(budget_reserve(&b, 4, 1000), 0);	/* drained */
	for (int i = 1; i <= 5; i++) {
		w = budget_reserve(&b, 2, 1000);
		assert_int_equal(w, 2000 * i + 1);
		assert_true(w > prev);
		prev = w;
	}
	/* Time passes: the debt shrinks at the refill rate. */
	assert_int_equal(budget_reserve(&b, 1, 6000), 5000 + 1 + 1000);
}

/* A weight above the capacity is clamped (it could never be paid). */
static void
test_weight_clamped_to_cap(void **state)
{
	struct budget b = { 0 };

	(void)state;
	budget_set(&b, 5, 5);
	assert_int_equal(budget_reserve(&b, 50, 1), 0);
	assert_int_equal(budget_reserve(&b, 50, 1), 1000 + 1);	/* 5 tokens at 5/s */
}

/* No budget, or no capacity: no limit. Pauses the exchange imposed. */
static void
test_unlimited_and_blocked(void **state)
{
	struct budget b = { 0 };

	(void)state;
	assert_int_equal(budget_reserve(NULL, 100, 1), 0);
	assert_int_equal(budget_reserve(&b, 100, 1), 0);	/* cap 0 */
	assert_int_equal(budget_blocked(NULL, 1), 0);
	b.blocked_until = 5000;
	assert_int_equal(budget_blocked(&b, 1000), 4000);
	assert_int_equal(budget_blocked(&b, 5000), 0);
}

/* Refill never exceeds the capacity. */
static void
test_refill_capped(void **state)
{
	struct budget b = { 0 };

	(void)state;
	budget_set(&b, 3, 1);
	assert_int_equal(budget_reserve(&b, 3, 1000), 0);
	assert_int_equal(budget_reserve(&b, 3, 1000000), 0);	/* long idle: full, not 1000 */
	assert_int_equal(budget_reserve(&b, 1, 1000000), 1000 + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_at_start),
		cmocka_unit_test(test_waiters_queue_in_order),
		cmocka_unit_test(test_weight_clamped_to_cap),
		cmocka_unit_test(test_unlimited_and_blocked),
		cmocka_unit_test(test_refill_capped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
