#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/hex.h"

static void
test_encode(void **state)
{
	static const uint8_t raw[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	char out[2 * sizeof(raw) + 1];

	(void)state;
	hex_encode(out, raw, sizeof(raw));
	assert_string_equal(out, "00017f80abcdefff");
	hex_encode(out, raw, 0);
	assert_string_equal(out, "");
}

static void
test_decode(void **state)
{
	uint8_t out[8];
	size_t n;

	(void)state;
	assert_int_equal(hex_decode(out, sizeof(out), &n, "00017f80ABcdEFff", 16), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(out, "\x00\x01\x7f\x80\xab\xcd\xef\xff", 8);
	assert_int_equal(hex_decode(out, sizeof(out), &n, "", 0), 0);
	assert_int_equal(n, 0);
	/* Only slen characters are read. */
	assert_int_equal(hex_decode(out, sizeof(out), &n, "abcdzz", 4), 0);
	assert_int_equal(n, 2);
}

static void
test_decode_errors(void **state)
{
	static const char *const bad[] = { "abc", "0g", "g0", " 00", "00 ", "0x00", "-1" };
	uint8_t out[8];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hex_decode(out, sizeof(out), &n, bad[i], strlen(bad[i])), -1);
	/* Capacity */
	assert_int_equal(hex_decode(out, 2, &n, "aabbcc", 6), -1);
	assert_int_equal(hex_decode(out, 3, &n, "aabbcc", 6), 0);
	/* Exact */
	assert_int_equal(hex_decode_exact(out, 3, "aabbcc", 6), 0);
	assert_memory_equal(out, "\xaa\xbb\xcc", 3);
	assert_int_equal(hex_decode_exact(out, 2, "aabbcc", 6), -1);
	assert_int_equal(hex_decode_exact(out, 4, "aabbcc", 6), -1);
	assert_int_equal(hex_decode_exact(out, 3, "aabbc", 5), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
