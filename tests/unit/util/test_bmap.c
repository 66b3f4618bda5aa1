#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/prim.h"
#include "util/bmap.h"

#define NKEYS 5000

/* Distinct, well-spread keys: SHA-256 of the index. */
static void
key_of(uint8_t key[BMAP_KEY_BYTES], size_t i)
{
	uint64_t v = i;

	prim_sha256(key, &v, sizeof(v));
}

static int vals[NKEYS];

static void
test_put_get_del(void **state)
{
	struct bmap *m = bmap_new();
	uint8_t k[BMAP_KEY_BYTES];

	(void)state;
	assert_int_equal(bmap_count(m), 0);
	key_of(k, 0);
	assert_null(bmap_get(m, k));
	assert_null(bmap_del(m, k));
	/* Thousands of keys: the table grows many times over. */
	for (size_t i = 0; i < NKEYS; i++) {
		key_of(k, i);
		assert_int_equal(bmap_put(m, k, &vals[i]), 0);
		assert_int_equal(bmap_count(m), i + 1);
	}
	for (size_t i = 0; i < NKEYS; i++) {
		key_of(k, i);
		assert_ptr_equal(bmap_get(m, k), &vals[i]);
	}
	key_of(k, NKEYS);
	assert_null(bmap_get(m, k));
	/* Delete every odd key; even keys survive. */
	for (size_t i = 1; i < NKEYS; i += 2) {
		key_of(k, i);
		assert_ptr_equal(bmap_del(m, k), &vals[i]);
		assert_null(bmap_del(m, k));
	}
	assert_int_equal(bmap_count(m), NKEYS / 2);
	for (size_t i = 0; i < NKEYS; i++) {
		key_of(k, i);
		if (i % 2 == 0)
			assert_ptr_equal(bmap_get(m, k), &vals[i]);
		else
			assert_null(bmap_get(m, k));
	}
	/* A deleted key can be put again. */
	key_of(k, 1);
	assert_int_equal(bmap_put(m, k, &vals[1]), 0);
	assert_ptr_equal(bmap_get(m, k), &vals[1]);
	bmap_free(m);
	bmap_free(NULL);
}

static void
test_duplicate_refused(void **state)
{
	struct bmap *m = bmap_new();
	uint8_t k[BMAP_KEY_BYTES];
	int a, b;

	(void)state;
	key_of(k, 42);
	assert_int_equal(bmap_put(m, k, &a), 0);
	assert_int_equal(bmap_put(m, k, &b), -1);
	assert_ptr_equal(bmap_get(m, k), &a);	/* map unchanged */
	assert_int_equal(bmap_count(m), 1);
	bmap_free(m);
}

/* Keys equal in the first 8 bytes (the bucket index) but not after: the
 * whole key must be compared. */
static void
test_same_bucket(void **state)
{
	struct bmap *m = bmap_new();
	uint8_t k[64][BMAP_KEY_BYTES];

	(void)state;
	for (int i = 0; i < 64; i++) {
		memset(k[i], 0xab, BMAP_KEY_BYTES);
		k[i][BMAP_KEY_BYTES - 1] = (uint8_t)i;
		assert_int_equal(bmap_put(m, k[i], &vals[i]), 0);
	}
	for (int i = 0; i < 64; i++)
		assert_ptr_equal(bmap_get(m, k[i]), &vals[i]);
	assert_ptr_equal(bmap_del(m, k[31]), &vals[31]);
	assert_null(bmap_get(m, k[31]));
	assert_ptr_equal(bmap_get(m, k[30]), &vals[30]);
	assert_ptr_equal(bmap_get(m, k[32]), &vals[32]);
	bmap_free(m);
}

struct sweep_state {
	size_t calls;
	int seen[NKEYS];
};

/* Removes the entries whose value index is a multiple of 3. */
static bool
remove_thirds(void *arg, const uint8_t *key, void *val)
{
	struct sweep_state *s = arg;
	size_t i = (size_t)((int *)val - vals);

	s->calls++;
	s->seen[i]++;
	return i % 3 == 0;
}

static bool
remove_all(void *arg, const uint8_t *key, void *val)
{
	(*(size_t *)arg)++;
	return true;
}

static void
test_sweep(void **state)
{
	struct bmap *m = bmap_new();
	static struct sweep_state s;
	uint8_t k[BMAP_KEY_BYTES];
	size_t removed, n = 0;

	(void)state;
	for (size_t i = 0; i < NKEYS; i++) {
		key_of(k, i);
		assert_int_equal(bmap_put(m, k, &vals[i]), 0);
	}
	removed = bmap_sweep(m, remove_thirds, &s);
	assert_int_equal(removed, (NKEYS + 2) / 3);
	assert_int_equal(s.calls, NKEYS);
	for (size_t i = 0; i < NKEYS; i++)
		assert_int_equal(s.seen[i], 1);	/* every entry visited exactly once */
	assert_int_equal(bmap_count(m), NKEYS - removed);
	for (size_t i = 0; i < NKEYS; i++) {
		key_of(k, i);
		if (i % 3 == 0)
			assert_null(bmap_get(m, k));
		else
			assert_ptr_equal(bmap_get(m, k), &vals[i]);
	}
	assert_int_equal(bmap_sweep(m, remove_all, &n), NKEYS - removed);
	assert_int_equal(n, NKEYS - removed);
	assert_int_equal(bmap_count(m), 0);
	n = 0;
	assert_int_equal(bmap_sweep(m, remove_all, &n), 0);
	assert_int_equal(n, 0);
	/* Usable after being emptied. */
	key_of(k, 7);
	assert_int_equal(bmap_put(m, k, &vals[7]), 0);
	assert_ptr_equal(bmap_get(m, k), &vals[7]);
	bmap_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del),
		cmocka_unit_test(test_duplicate_refused),
		cmocka_unit_test(test_same_bucket),
		cmocka_unit_test(test_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
