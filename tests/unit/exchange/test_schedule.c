/*
 * schedule: entries come out by due time whatever the order they went in,
 * move when re-scheduled, leave when removed; backoff stays within its
 * jitter window and cap; a breaker opens after its threshold of failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "exchange/schedule.h"

#define N 1000

struct item {
	int id;
	struct schedule_entry due;
};

/* A fixed generator: the same "random" due times on every run. */
static uint64_t
lcg(uint64_t *x)
{
	*x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
	return *x >> 33;
}

/* Pops every entry, checking due times never decrease; returns how many. */
static size_t
drain(struct schedule *s)
{
	struct schedule_entry *e;
	int64_t last = INT64_MIN;
	size_t n = 0;

	while ((e = schedule_first(s)) != NULL) {
		assert_true(e->due_ms >= last);
		last = e->due_ms;
		schedule_remove(s, e);
		n++;
	}
	return n;
}

static void
test_order(void **state)
{
	struct schedule *s = schedule_new();
	struct item *it = calloc(N, sizeof(*it));
	uint64_t x = 42;

	(void)state;
	assert_non_null(it);
	for (int i = 0; i < N; i++) {
		it[i].id = i;
		schedule_entry_init(&it[i].due);
		/* few distinct values: ties too */
		schedule_at(s, &it[i].due, (int64_t)(lcg(&x) % 300));
	}
	/* the owner comes back from its entry */
	assert_int_equal(SCHEDULE_OWNER(&it[17].due, struct item, due)->id, 17);
	assert_int_equal(drain(s), N);
	assert_null(schedule_first(s));
	free(it);
	schedule_free(s);
}

/* schedule_at on a queued entry moves it, later or earlier; it is never
 * queued twice. */
static void
test_reschedule_moves(void **state)
{
	struct schedule *s = schedule_new();
	struct item it[5];

	(void)state;
	for (int i = 0; i < 5; i++) {
		it[i].id = i;
		schedule_entry_init(&it[i].due);
		schedule_at(s, &it[i].due, 100 + 10 * i);
	}
	assert_ptr_equal(schedule_first(s), &it[0].due);
	schedule_at(s, &it[0].due, 1000);	/* later: last */
	assert_ptr_equal(schedule_first(s), &it[1].due);
	schedule_at(s, &it[4].due, 5);		/* earlier: first */
	assert_ptr_equal(schedule_first(s), &it[4].due);
	assert_int_equal(it[4].due.due_ms, 5);
	schedule_remove(s, &it[4].due);
	schedule_remove(s, &it[1].due);
	schedule_remove(s, &it[2].due);
	schedule_remove(s, &it[3].due);
	assert_ptr_equal(schedule_first(s), &it[0].due);
	schedule_remove(s, &it[0].due);
	assert_null(schedule_first(s));
	schedule_free(s);
}

/* Removing from the middle keeps the rest in order; removing what is not
 * queued (never, or already removed, or zeroed by its owner) is a no-op. */
static void
test_remove(void **state)
{
	struct schedule *s = schedule_new();
	struct item *it = calloc(N, sizeof(*it));
	struct item stray, zeroed = { 0 };
	uint64_t x = 7;
	size_t removed = 0;

	(void)state;
	assert_non_null(it);
	for (int i = 0; i < N; i++) {
		schedule_entry_init(&it[i].due);
		schedule_at(s, &it[i].due, (int64_t)(lcg(&x) % 100000));
	}
	for (int i = 0; i < N; i += 3) {
		schedule_remove(s, &it[i].due);
		removed++;
	}
	/* again: no-op */
	schedule_remove(s, &it[0].due);
	schedule_remove(s, &it[3].due);
	schedule_entry_init(&stray.due);
	schedule_remove(s, &stray.due);
	schedule_remove(s, &zeroed.due);	/* idx 0 is someone else's slot */
	assert_int_equal(drain(s), N - removed);
	/* a removed entry can be queued again */
	schedule_at(s, &it[0].due, 3);
	assert_ptr_equal(schedule_first(s), &it[0].due);
	schedule_remove(s, &it[0].due);
	free(it);
	schedule_free(s);
}

static void
test_backoff(void **state)
{
	struct schedule *s = schedule_new();
	bool low_seen = false, high_seen = false;

	(void)state;
	for (unsigned f = 0; f < 40; f++) {
		int64_t base = (int64_t)SCHEDULE_BACKOFF_BASE_MS << (f > 6 ? 6 : f);

		if (base > SCHEDULE_BACKOFF_MAX_MS)
			base = SCHEDULE_BACKOFF_MAX_MS;
		for (int k = 0; k < 2000; k++) {
			int64_t w = schedule_backoff_ms(s, f);

			assert_true(w >= base / 2);
			assert_true(w <= base);
			assert_true(w <= SCHEDULE_BACKOFF_MAX_MS);
			if (f == 0 && w < base / 2 + base / 10)
				low_seen = true;
			if (f == 0 && w > base - base / 10)
				high_seen = true;
		}
	}
	/* jittered over the window, not a constant */
	assert_true(low_seen && high_seen);
	/* large counts are capped, not overflowed */
	assert_true(schedule_backoff_ms(s, UINT32_MAX) <= SCHEDULE_BACKOFF_MAX_MS);
	assert_true(schedule_backoff_ms(s, UINT32_MAX) >= SCHEDULE_BACKOFF_MAX_MS / 2);
	schedule_free(s);
}

static void
test_breaker(void **state)
{
	struct schedule *s = schedule_new();
	static const int key_a, key_b;
	struct schedule_breaker *a = schedule_breaker(s, &key_a), *b = schedule_breaker(s, &key_b);
	int64_t now = 1000000;

	(void)state;
	assert_ptr_equal(schedule_breaker(s, &key_a), a);	/* one per key */
	assert_ptr_not_equal(a, b);
	assert_int_equal(schedule_breaker_open_until(a, now), 0);
	/* a success resets the run */
	for (int i = 0; i < SCHEDULE_BREAKER_THRESHOLD - 1; i++)
		assert_false(schedule_breaker_failure(a, now));
	schedule_breaker_success(a);
	for (int i = 0; i < SCHEDULE_BREAKER_THRESHOLD - 1; i++)
		assert_false(schedule_breaker_failure(a, now));
	assert_int_equal(schedule_breaker_open_until(a, now), 0);
	/* the threshold-th failure in a row opens it */
	assert_true(schedule_breaker_failure(a, now));
	assert_int_equal(schedule_breaker_open_until(a, now), now + SCHEDULE_BREAKER_OPEN_MS);
	assert_int_equal(schedule_breaker_open_until(a, now + SCHEDULE_BREAKER_OPEN_MS - 1),
	    now + SCHEDULE_BREAKER_OPEN_MS);
	assert_int_equal(schedule_breaker_open_until(a, now + SCHEDULE_BREAKER_OPEN_MS), 0);
	/* the other key is not affected */
	assert_int_equal(schedule_breaker_open_until(b, now), 0);
	/* still failing after it closed: half as many failures reopen it */
	now += SCHEDULE_BREAKER_OPEN_MS;
	for (int i = 0; i < SCHEDULE_BREAKER_THRESHOLD / 2 - 1; i++)
		assert_false(schedule_breaker_failure(a, now));
	assert_true(schedule_breaker_failure(a, now));
	assert_int_equal(schedule_breaker_open_until(a, now), now + SCHEDULE_BREAKER_OPEN_MS);
	schedule_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_reschedule_moves),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_breaker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
