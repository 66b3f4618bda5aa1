/* The sqlite store: the registry, claims, a store written by a newer
 * version refused, and an unusable location reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <cmocka.h>

#include "../tmpdir.h"
#include "store/store.h"

static void
test_registry(void **state)
{
	(void)state;
	assert_ptr_equal(store_find("sqlite"), &store_sqlite);
	assert_null(store_find("postgres"));
}

static void
test_claims(void **state)
{
	const char *err = NULL;
	struct store *st = store_sqlite.open(":memory:", &err);
	uint8_t k[STORE_KEY_BYTES] = { 1 };

	(void)state;
	assert_non_null(st);
	assert_ptr_equal(st->ops, &store_sqlite);
	assert_int_equal(st->ops->claimed(st, k, 10, &err), 0);
	assert_int_equal(st->ops->claim(st, k, 100, 10, &err), 1);
	assert_int_equal(st->ops->claim(st, k, 200, 99, &err), 0);
	assert_int_equal(st->ops->claimed(st, k, 99, &err), 1);
	assert_int_equal(st->ops->claimed(st, k, 100, &err), 0);	/* expires_ms is exclusive */
	assert_int_equal(st->ops->claim(st, k, 200, 100, &err), 1);
	assert_int_equal(st->ops->sweep(st, 150, &err), 0);
	assert_int_equal(st->ops->sweep(st, 200, &err), 1);
	st->ops->close(st);
	store_sqlite.close(NULL);
}

static int
count_rec(void *arg, const uint8_t key[STORE_KEY_BYTES], int64_t exp, const void *val, size_t len)
{
	(void)key;
	(void)exp;
	assert_int_equal(len, 3);
	assert_memory_equal(val, "abc", 3);
	(*(int *)arg)++;
	return 0;
}

/* Records: listed until they expire (0: never), replaced by a put, gone
 * after a delete or the sweep past their expiry; kinds do not mix. */
static void
test_records(void **state)
{
	const char *err = NULL;
	struct store *st = store_sqlite.open(":memory:", &err);
	uint8_t a[STORE_KEY_BYTES] = { 1 }, b[STORE_KEY_BYTES] = { 2 };
	int n = 0;

	(void)state;
	assert_non_null(st);
	assert_int_equal(st->ops->put(st, STORE_SESSIONS, a, 100, "xyz", 3, &err), 0);
	assert_int_equal(st->ops->put(st, STORE_SESSIONS, a, 100, "abc", 3, &err), 0);	/* replaced */
	assert_int_equal(st->ops->put(st, STORE_SESSIONS, b, 0, "abc", 3, &err), 0);
	assert_int_equal(st->ops->put(st, STORE_PUBLISHED, a, 0, "abc", 3, &err), 0);
	assert_int_equal(st->ops->each(st, STORE_SESSIONS, 50, count_rec, &n, &err), 0);
	assert_int_equal(n, 2);
	{
		void *v = NULL;
		size_t len = 0;
		assert_int_equal(st->ops->get(st, STORE_SESSIONS, a, 50, &v, &len, &err), 1);
		assert_int_equal(len, 3);
		assert_memory_equal(v, "abc", 3);	/* the replacement */
		free(v);
		assert_int_equal(st->ops->get(st, STORE_SESSIONS, a, 150, &v, &len, &err), 0);	/* expired */
		assert_null(v);
		assert_int_equal(st->ops->get(st, STORE_CHECKPOINTS, a, 50, &v, &len, &err), 0);	/* other kind */
	}
	n = 0;
	assert_int_equal(st->ops->each(st, STORE_SESSIONS, 150, count_rec, &n, &err), 0);
	assert_int_equal(n, 1);	/* a expired, not listed */
	assert_int_equal(st->ops->sweep(st, 150, &err), 1);	/* and swept */
	assert_int_equal(st->ops->del(st, STORE_SESSIONS, a, &err), 0);
	assert_int_equal(st->ops->del(st, STORE_SESSIONS, b, &err), 1);
	n = 0;
	assert_int_equal(st->ops->each(st, STORE_SESSIONS, 150, count_rec, &n, &err), 0);
	assert_int_equal(n, 0);
	n = 0;
	assert_int_equal(st->ops->each(st, STORE_PUBLISHED, 150, count_rec, &n, &err), 0);
	assert_int_equal(n, 1);
	st->ops->close(st);
}

static void
test_newer_schema_refused(void **state)
{
	char *path = xasprintf("%s/newer.sqlite3", tmpdir());
	const char *err = NULL;
	struct store *st = store_sqlite.open(path, &err);
	sqlite3 *db;

	(void)state;
	assert_non_null(st);
	st->ops->close(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE name = 'schema'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_sqlite.open(path, &err));
	assert_non_null(strstr(err, "newer version"));
	free(path);
}

static void
test_bad_location(void **state)
{
	const char *err = NULL;

	(void)state;
	assert_null(store_sqlite.open("/nonexistent-dir/state.sqlite3", &err));
	assert_non_null(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_newer_schema_refused),
		cmocka_unit_test(test_bad_location),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
