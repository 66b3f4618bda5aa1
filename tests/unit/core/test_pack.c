#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/pack.h"

static void
test_round_trip(void **state)
{
	struct pack w;
	struct unpack r;
	struct dec d = { .raw = -((__int128)1 << 100) - 7 };
	char s[16];
	uint8_t fixed[3];

	(void)state;
	pack_init(&w);
	pack_u8(&w, 0xab);
	pack_bool(&w, true);
	pack_u32(&w, 0xdeadbeef);
	pack_u64(&w, 0x0102030405060708ULL);
	pack_i64(&w, -5);
	pack_dec(&w, d);
	pack_str(&w, "BTC/USDT");
	pack_bytes(&w, "\x01\x02\x03", 3);
	pack_u32(&w, 2);
	/* big-endian at fixed width */
	assert_memory_equal(w.buf, "\xab\x01\xde\xad\xbe\xef\x01\x02\x03\x04\x05\x06\x07\x08", 14);

	unpack_init(&r, w.buf, w.len);
	assert_int_equal(unpack_u8(&r), 0xab);
	assert_true(unpack_bool(&r));
	assert_int_equal(unpack_u32(&r), 0xdeadbeef);
	assert_int_equal(unpack_u64(&r), 0x0102030405060708ULL);
	assert_int_equal(unpack_i64(&r), -5);
	assert_true(unpack_dec(&r).raw == d.raw);
	unpack_str(&r, s, sizeof(s));
	assert_string_equal(s, "BTC/USDT");
	unpack_fixed(&r, fixed, 3);
	assert_memory_equal(fixed, "\x01\x02\x03", 3);
	assert_false(unpack_end(&r));
	assert_int_equal(unpack_count(&r, 1, 10), 0);	/* 2 items cannot fit in 0 bytes */
	assert_false(unpack_ok(&r));
	pack_free(&w);
	assert_null(w.buf);
}

static void
test_refusals(void **state)
{
	struct pack w;
	struct unpack r;
	char s[4];

	(void)state;
	pack_init(&w);
	pack_str(&w, "toolong");
	unpack_init(&r, w.buf, w.len);
	unpack_str(&r, s, sizeof(s));
	assert_false(unpack_ok(&r));
	assert_string_equal(s, "");
	/* sticky: later reads give zero */
	assert_int_equal(unpack_u8(&r), 0);

	/* an embedded NUL is refused */
	pack_free(&w);
	pack_bytes(&w, "a\0b", 3);
	unpack_init(&r, w.buf, w.len);
	unpack_str(&r, s, sizeof(s));
	assert_false(unpack_ok(&r));

	/* a bool must be 0 or 1 */
	unpack_init(&r, "\x02", 1);
	(void)unpack_bool(&r);
	assert_false(unpack_ok(&r));

	/* truncation */
	unpack_init(&r, "\x00\x00\x00", 3);
	assert_int_equal(unpack_u32(&r), 0);
	assert_false(unpack_ok(&r));

	/* a count over max, or over what the bytes can hold */
	unpack_init(&r, "\x00\x00\x00\x05" "abcde", 9);
	assert_int_equal(unpack_count(&r, 1, 4), 0);
	assert_false(unpack_ok(&r));
	unpack_init(&r, "\x00\x00\x00\x05" "abcde", 9);
	assert_int_equal(unpack_count(&r, 2, 100), 0);
	assert_false(unpack_ok(&r));
	unpack_init(&r, "\x00\x00\x00\x05" "abcde", 9);
	assert_int_equal(unpack_count(&r, 1, 100), 5);
	assert_true(unpack_ok(&r));
	assert_false(unpack_end(&r));	/* trailing bytes */
	pack_free(&w);
}

static void
test_growth(void **state)
{
	struct pack w;
	struct unpack r;

	(void)state;
	pack_init(&w);
	for (uint32_t i = 0; i < 100000; i++)
		pack_u32(&w, i);
	assert_int_equal(w.len, 400000);
	unpack_init(&r, w.buf, w.len);
	for (uint32_t i = 0; i < 100000; i++)
		assert_int_equal(unpack_u32(&r), i);
	assert_true(unpack_end(&r));
	pack_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
