#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/prim.h"
#include "enclave/measure.h"
#include "util/file.h"
#include "util/xalloc.h"

/* Files of several sizes, across the 64 KiB read buffer. */
static void
test_file_hash(void **state)
{
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 300000 };
	char path[] = "/tmp/perfagg-test-measure-XXXXXX";
	uint8_t *data = xmalloc(300000), got[32], want[32];
	const char *err = NULL;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	for (size_t i = 0; i < 300000; i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(pwrite(fd, data, sizes[i], 0), (ssize_t)sizes[i]);
		prim_sha256(want, data, sizes[i]);
		assert_int_equal(measure_file(got, path, &err), 0);
		assert_memory_equal(got, want, 32);
	}
	close(fd);
	unlink(path);
	free(data);
}

static void
test_self_and_missing(void **state)
{
	uint8_t got[32], want[32], *exe;
	const char *err = NULL;
	size_t len;

	(void)state;
	exe = file_read_all("/proc/self/exe", 1 << 30, &len, &err);
	assert_non_null(exe);
	prim_sha256(want, exe, len);
	free(exe);
	assert_int_equal(measure_file(got, NULL, &err), 0);
	assert_memory_equal(got, want, 32);
	err = NULL;
	assert_int_equal(measure_file(got, "/nonexistent/perfagg", &err), -1);
	assert_string_equal(err, "cannot open the executable to measure it");
	err = NULL;
	assert_int_equal(measure_file(got, "/tmp", &err), -1);	/* a directory cannot be read */
	assert_string_equal(err, "cannot read the executable to measure it");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_hash),
		cmocka_unit_test(test_self_and_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
