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

#include "util/file.h"
#include "util/xalloc.h"
#include "../tmpdir.h"


static void
write_bytes(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_read(void **state)
{
	char *p = tmpdir_file("small");
	const char *err = NULL;
	uint8_t *buf;
	size_t len = 99;

	(void)state;
	write_bytes(p, "hello\0world", 11);
	buf = file_read_all(p, 1024, &len, &err);
	assert_non_null(buf);
	assert_int_equal(len, 11);
	assert_memory_equal(buf, "hello\0world", 11);
	assert_int_equal(buf[11], '\0');	/* NUL not counted */
	free(buf);

	write_bytes(p, "", 0);
	buf = file_read_all(p, 1024, &len, &err);
	assert_non_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], '\0');
	free(buf);
	free(p);
}

/* The cap is exact: max bytes are read, max + 1 refused; also across the
 * reader's internal growth steps. */
static void
test_read_cap(void **state)
{
	static const size_t sizes[] = { 1, 4095, 4096, 4097, 8192, 100000 };
	char *p = tmpdir_file("capped");
	const char *err;
	uint8_t *data = xmalloc(100001), *buf;
	size_t len;

	(void)state;
	for (size_t i = 0; i < 100001; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		write_bytes(p, data, n);
		err = NULL;
		buf = file_read_all(p, n, &len, &err);
		assert_non_null(buf);
		assert_int_equal(len, n);
		assert_memory_equal(buf, data, n);
		free(buf);
		err = NULL;
		assert_null(file_read_all(p, n - 1, &len, &err));
		assert_non_null(err);
		assert_string_equal(err, "file too large");
	}
	/* max 0 accepts only an empty file */
	write_bytes(p, "x", 1);
	assert_null(file_read_all(p, 0, &len, &err));
	free(data);
	free(p);
}

static void
test_read_missing(void **state)
{
	char *p = tmpdir_file("absent");
	const char *err = NULL;
	size_t len;

	(void)state;
	assert_null(file_read_all(p, 100, &len, &err));
	assert_string_equal(err, "no such file");
	err = NULL;
	assert_null(file_read_all(tmpdir(), 100, &len, &err));	/* a directory: read error */
	assert_non_null(err);
	free(p);
}

static void
test_write_atomic(void **state)
{
	char *p = tmpdir_file("out"), *tmp;
	const char *err = NULL;
	struct stat st;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(file_write_atomic(p, "first", 5, 0600, &err), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(file_write_atomic(p, "second!", 7, 0644, &err), 0);
	buf = file_read_all(p, 100, &len, &err);
	assert_non_null(buf);
	assert_int_equal(len, 7);
	assert_memory_equal(buf, "second!", 7);
	free(buf);
	/* No temporary file left behind. */
	tmp = xasprintf("%s.tmp.%ld", p, (long)getpid());
	assert_int_equal(access(tmp, F_OK), -1);

	/* A stale temporary file with loose permissions must not lend its mode
	 * to a private file (keys are written with 0600). */
	write_bytes(tmp, "stale", 5);
	assert_int_equal(chmod(tmp, 0666), 0);
	assert_int_equal(file_write_atomic(p, "private", 7, 0600, &err), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	buf = file_read_all(p, 100, &len, &err);
	assert_non_null(buf);
	assert_memory_equal(buf, "private", 7);
	free(buf);
	free(tmp);

	/* Into a missing directory: fails, nothing created. */
	free(p);
	p = tmpdir_file("nodir/out");
	err = NULL;
	assert_int_equal(file_write_atomic(p, "x", 1, 0600, &err), -1);
	assert_non_null(err);
	free(p);
}

/* file_write_new creates, never replaces. */
static void
test_write_new(void **state)
{
	char *p = tmpdir_file("new"), *link = tmpdir_file("new-link");
	const char *err = NULL;
	struct stat st;
	uint8_t *buf;
	size_t len;

	(void)state;
	assert_int_equal(file_write_new(p, "first", 5, 0600, &err), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(file_write_new(p, "second", 6, 0600, &err), -1);
	assert_string_equal(err, FILE_EXISTS_ERR);
	buf = file_read_all(p, 100, &len, &err);
	assert_non_null(buf);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "first", 5);
	free(buf);
	/* A symlink, even a dangling one, exists: it is not followed. */
	assert_int_equal(symlink("/nonexistent/target", link), 0);
	assert_int_equal(file_write_new(link, "x", 1, 0600, &err), -1);
	assert_string_equal(err, FILE_EXISTS_ERR);
	free(p);
	free(link);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_read_cap),
		cmocka_unit_test(test_read_missing),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_write_new),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
