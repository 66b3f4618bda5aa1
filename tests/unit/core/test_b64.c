#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/b64.h"

/* RFC 4648 section 10. */
static const struct {
	const char *raw, *enc;
} rfc4648[] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

static void
test_rfc4648_vectors(void **state)
{
	char enc[16];
	uint8_t dec[8];
	size_t n, len;

	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		char *s;

		len = strlen(rfc4648[i].raw);
		b64_encode_to(enc, (const uint8_t *)rfc4648[i].raw, len);
		assert_string_equal(enc, rfc4648[i].enc);
		assert_int_equal(strlen(enc), B64_ENCODED_LEN(len));
		s = b64_encode((const uint8_t *)rfc4648[i].raw, len);
		assert_string_equal(s, rfc4648[i].enc);
		free(s);
		assert_int_equal(b64_decode(dec, sizeof(dec), &n, enc, strlen(enc)), 0);
		assert_int_equal(n, len);
		assert_memory_equal(dec, rfc4648[i].raw, len);
		assert_int_equal(b64_decode_exact(dec, len, enc, strlen(enc)), 0);
		assert_memory_equal(dec, rfc4648[i].raw, len);
	}
}

static void
test_reject_noncanonical(void **state)
{
	static const char *const bad[] = {
		"Zm9=",		/* unused bits set ("fo" is Zm8=) */
		"Zh==",		/* unused bits set ("f" is Zg==) */
		"Zm9v\n",	/* trailing newline */
		" Zm9v",	/* leading space */
		"Zm9",		/* missing padding */
		"Zg=",		/* short padding */
		"Zg",		/* no padding */
		"====",
		"Z===",		/* three padding characters */
		"Zm9v====",	/* a whole group of padding */
		"Zg==Zm9v",	/* padding in the middle */
		"Zm=v",		/* padding inside a group */
		"Zm9-",		/* URL-safe alphabet */
		"Zm9_",
		"Zm9v\0Zm9",	/* embedded NUL */
		"Zm 9v",
	};
	uint8_t out[16];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i]);

		if (i == 14)
			len = 8;	/* count past the NUL */
		n = 99;
		assert_int_equal(b64_decode(out, sizeof(out), &n, bad[i], len), -1);
		assert_int_equal(n, 99);
	}
}

static void
test_lengths(void **state)
{
	uint8_t out[6];
	size_t n;

	(void)state;
	/* Capacity: "foobar" needs 6 bytes. */
	assert_int_equal(b64_decode(out, 5, &n, "Zm9vYmFy", 8), -1);
	assert_int_equal(b64_decode(out, 6, &n, "Zm9vYmFy", 8), 0);
	assert_int_equal(n, 6);
	/* Only the given length is read: "Zm9vYmFy" cut to "Zm9v". */
	assert_int_equal(b64_decode(out, 6, &n, "Zm9vYmFy", 4), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "foo", 3);
	/* Exact: one byte short or long is refused. */
	assert_int_equal(b64_decode_exact(out, 5, "Zm9vYmE=", 8), 0);
	assert_int_equal(b64_decode_exact(out, 4, "Zm9vYmE=", 8), -1);
	assert_int_equal(b64_decode_exact(out, 6, "Zm9vYmE=", 8), -1);
	assert_int_equal(b64_decode_exact(out, 6, "Zm9vYmE", 7), -1);
}

static void
test_all_bytes_roundtrip(void **state)
{
	uint8_t raw[256], back[256];
	char *enc;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(255 - i);
	for (size_t len = 0; len <= sizeof(raw); len += 1) {
		enc = b64_encode(raw, len);
		assert_int_equal(strlen(enc), B64_ENCODED_LEN(len));
		assert_int_equal(b64_decode(back, sizeof(back), &n, enc, strlen(enc)), 0);
		assert_int_equal(n, len);
		assert_memory_equal(back, raw, len);
		free(enc);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_reject_noncanonical),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_all_bytes_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
