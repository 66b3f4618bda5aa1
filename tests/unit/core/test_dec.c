#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "dec_helpers.h"

#include <openssl/bn.h>

#include "core/dec.h"

typedef unsigned __int128 u128;

#define I128_MAX ((__int128)(((u128)1 << 127) - 1))
#define I128_MIN (-I128_MAX - 1)

static void
test_parse_ok(void **state)
{
	static const struct { const char *in, *out; } t[] = {
		{ "0.00100000", "0.001" }, { "-1.5", "-1.5" }, { "+2", "2" },
		{ ".5", "0.5" }, { "5.", "5" }, { "-0", "0" }, { "000123.4500", "123.45" },
		{ "1e-8", "0.00000001" }, { "1.5E+3", "1500" }, { "-2.5e2", "-250" },
		{ "123456789e-16", "0.0000000123456789" },
		{ "0.000000000000000001", "0.000000000000000001" },
		{ "1.0000000000000000000000000000000", "1" },
		{ "1000000000000000000000000000000e-30", "1" },
		{ "0e999999999999", "0" }, { "0.0e-50", "0" },
		{ "170141183460469231731.687303715884105727", "170141183460469231731.687303715884105727" },
		{ "-170141183460469231731.687303715884105728", "-170141183460469231731.687303715884105728" },
		{ "12345678901234567890.123456789012345678", "12345678901234567890.123456789012345678" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct dec d;
		const char *err = NULL;
		if (dec_parse(t[i].in, strlen(t[i].in), &d, &err) != 0)
			fail_msg("%s: %s", t[i].in, err);
		assert_dec_str(d, t[i].out);
	}
	assert_true(D("1").raw == (__int128)1000000000000000000LL);
	assert_true(D("0.000000000000000001").raw == 1);
	assert_true(D("-170141183460469231731.687303715884105728").raw == I128_MIN);
	assert_true(D("170141183460469231731.687303715884105727").raw == I128_MAX);
	/* length is honoured: "1.25" cut to 3 bytes is "1.2" */
	{
		struct dec d;
		const char *err;
		assert_int_equal(dec_parse("1.25xyz", 3, &d, &err), 0);
		assert_dec_str(d, "1.2");
	}
}

static void
test_parse_errors(void **state)
{
	static const struct { const char *in, *err; } t[] = {
		{ "", "empty" }, { "-", "not a decimal number" }, { ".", "not a decimal number" },
		{ "+.", "not a decimal number" }, { " 1", "not a decimal number" },
		{ "1 ", "not a decimal number" }, { "1.2.3", "not a decimal number" },
		{ "1e", "not a decimal number" }, { "1e+", "not a decimal number" },
		{ "e5", "not a decimal number" }, { "NaN", "not a decimal number" },
		{ "Infinity", "not a decimal number" }, { "0x10", "not a decimal number" },
		{ "--1", "not a decimal number" }, { "1,5", "not a decimal number" },
		{ "0.0000000000000000001", "more than 18 fractional digits" },
		{ "1.0000000000000000001", "more than 18 fractional digits" },
		{ "123456789e-26", "more than 18 fractional digits" },
		{ "1e-19", "more than 18 fractional digits" },
		{ "1e-99999999999999999999", "more than 18 fractional digits" },
		{ "170141183460469231731.687303715884105728", "out of range" },
		{ "-170141183460469231731.687303715884105729", "out of range" },
		{ "1e21", "out of range" }, { "1e99999999999", "out of range" },
		{ "1000000000000000000000000000000000000000000000001", "out of range" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct dec d = D("7");
		const char *err = NULL;
		if (dec_parse(t[i].in, strlen(t[i].in), &d, &err) != -1)
			fail_msg("accepted %s", t[i].in);
		assert_string_equal(err, t[i].err);
		assert_true(d.raw == D("7").raw);	/* untouched */
	}
	/* a NUL inside the length is garbage, not a terminator */
	{
		struct dec d;
		const char *err;
		assert_int_equal(dec_parse("1\0" "5", 3, &d, &err), -1);
	}
}

static void
test_format(void **state)
{
	(void)state;
	assert_dec_str(DEC_ZERO, "0");
	assert_dec_str(dec_one(), "1");
	assert_dec_str(dec_from_int(-100), "-100");
	assert_dec_str((struct dec){ -1 }, "-0.000000000000000001");
	assert_dec_str((struct dec){ I128_MIN }, "-170141183460469231731.687303715884105728");
	assert_dec_str((struct dec){ I128_MAX }, "170141183460469231731.687303715884105727");
	assert_dec_str(D("-0.001"), "-0.001");
	assert_dec_str(D("100.10"), "100.1");
}

static void
test_arith_limits(void **state)
{
	struct dec r = D("9"), max = { I128_MAX }, min = { I128_MIN };

	(void)state;
	assert_int_equal(dec_add(&r, max, (struct dec){ 1 }), -1);
	assert_dec_str(r, "9");
	assert_int_equal(dec_sub(&r, min, (struct dec){ 1 }), -1);
	assert_int_equal(dec_neg(&r, min), -1);
	assert_int_equal(dec_abs(&r, min), -1);
	assert_int_equal(dec_neg(&r, max), 0);
	assert_true(r.raw == I128_MIN + 1);
	assert_int_equal(dec_abs(&r, D("-2.5")), 0);
	assert_dec_str(r, "2.5");
	assert_int_equal(dec_add(&r, D("0.1"), D("0.2")), 0);
	assert_dec_str(r, "0.3");
	assert_int_equal(dec_sub(&r, D("0.1"), D("0.3")), 0);
	assert_dec_str(r, "-0.2");
	assert_int_equal(dec_cmp(D("-1"), D("0.5")), -1);
	assert_int_equal(dec_cmp(D("2"), D("2.000")), 0);
	assert_int_equal(dec_cmp(max, min), 1);
	assert_int_equal(dec_sign(D("-0.000000000000000001")), -1);
	assert_int_equal(dec_sign(DEC_ZERO), 0);
	assert_true(dec_is_zero(D("-0.0")));

	/* multiplication and division overflow and division by zero */
	r = D("9");
	assert_int_equal(dec_mul(&r, max, D("1.000000000000000001")), -1);
	assert_int_equal(dec_mul(&r, D("1e10"), D("1e11")), -1);
	assert_int_equal(dec_div(&r, D("1"), DEC_ZERO), -1);
	assert_int_equal(dec_muldiv(&r, D("1"), D("1"), DEC_ZERO), -1);
	assert_int_equal(dec_div(&r, max, D("0.5")), -1);
	assert_int_equal(dec_muldiv(&r, min, D("-1"), D("1")), -1);
	assert_dec_str(r, "9");
	/* huge intermediate, result fits: MAX*MAX/MAX and MIN*MIN/MIN */
	assert_int_equal(dec_muldiv(&r, max, max, max), 0);
	assert_true(r.raw == I128_MAX);
	assert_int_equal(dec_muldiv(&r, min, min, min), 0);
	assert_true(r.raw == I128_MIN);
	assert_int_equal(dec_muldiv(&r, min, D("1"), D("1")), 0);
	assert_true(r.raw == I128_MIN);
	assert_int_equal(dec_mul(&r, min, dec_one()), 0);
	assert_true(r.raw == I128_MIN);
	assert_int_equal(dec_div(&r, min, D("-1")), -1);
	assert_int_equal(dec_div(&r, max, D("-1")), 0);
	assert_true(r.raw == -I128_MAX);
	assert_int_equal(dec_mul(&r, D("50000"), D("0.1")), 0);
	assert_dec_str(r, "5000");
	assert_int_equal(dec_div(&r, D("1"), D("3")), 0);
	assert_dec_str(r, "0.333333333333333333");
	assert_int_equal(dec_div(&r, D("2"), D("3")), 0);
	assert_dec_str(r, "0.666666666666666667");
	assert_int_equal(dec_div(&r, D("-2"), D("3")), 0);
	assert_dec_str(r, "-0.666666666666666667");
}

static void
test_ties_to_even(void **state)
{
	struct dec r, half = D("0.5"), tiny1 = { 1 }, tiny3 = { 3 };

	(void)state;
	/* 1e-18 * 0.5 = 0.5e-18 -> 0 (even); 3e-18 * 0.5 = 1.5e-18 -> 2e-18 */
	assert_int_equal(dec_mul(&r, tiny1, half), 0);
	assert_true(r.raw == 0);
	assert_int_equal(dec_mul(&r, tiny3, half), 0);
	assert_true(r.raw == 2);
	assert_int_equal(dec_mul(&r, (struct dec){ -1 }, half), 0);
	assert_true(r.raw == 0);
	assert_int_equal(dec_mul(&r, (struct dec){ -3 }, half), 0);
	assert_true(r.raw == -2);
	assert_int_equal(dec_mul(&r, (struct dec){ -5 }, half), 0);	/* -2.5 -> -2 */
	assert_true(r.raw == -2);
	assert_int_equal(dec_mul(&r, (struct dec){ 7 }, half), 0);	/* 3.5 -> 4 */
	assert_true(r.raw == 4);
	/* just above and below a tie go the nearest way */
	assert_int_equal(dec_mul(&r, (struct dec){ 5 }, D("0.500000000000000001")), 0);
	assert_true(r.raw == 3);
	assert_int_equal(dec_mul(&r, (struct dec){ 5 }, D("0.499999999999999999")), 0);
	assert_true(r.raw == 2);
	/* division ties: 1e-18/2 -> 0, 3e-18/2 -> 2e-18, -3e-18/2 -> -2e-18 */
	assert_int_equal(dec_div(&r, tiny1, D("2")), 0);
	assert_true(r.raw == 0);
	assert_int_equal(dec_div(&r, tiny3, D("2")), 0);
	assert_true(r.raw == 2);
	assert_int_equal(dec_div(&r, tiny3, D("-2")), 0);
	assert_true(r.raw == -2);
	/* muldiv rounds once: 1e-18 * 3 / 2 = 1.5e-18 -> 2e-18 (two roundings could give 1 or 2) */
	assert_int_equal(dec_muldiv(&r, tiny1, D("3"), D("2")), 0);
	assert_true(r.raw == 2);
	/* 10 * (1/3) / (1/3)... with exact muldiv: 10 * 1 / 3 = 3.333333333333333333 */
	assert_int_equal(dec_muldiv(&r, D("10"), D("1"), D("3")), 0);
	assert_dec_str(r, "3.333333333333333333");

	/* dec_round */
	static const struct { const char *in; unsigned p; const char *out; } t[] = {
		{ "2.5", 0, "2" }, { "3.5", 0, "4" }, { "-2.5", 0, "-2" }, { "-3.5", 0, "-4" },
		{ "0.125", 2, "0.12" }, { "0.135", 2, "0.14" }, { "-0.125", 2, "-0.12" },
		{ "0.1251", 2, "0.13" }, { "1.999", 2, "2" }, { "7", 18, "7" },
		{ "0.000000000000000005", 17, "0" }, { "0.000000000000000015", 17, "0.00000000000000002" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(dec_round(&r, D(t[i].in), t[i].p), 0);
		assert_dec_str(r, t[i].out);
	}
	assert_int_equal(dec_round(&r, D("1"), 19), -1);
	assert_int_equal(dec_round(&r, (struct dec){ I128_MAX }, 0), -1);
	assert_int_equal(dec_round(&r, (struct dec){ I128_MIN }, 0), -1);
	assert_int_equal(dec_round(&r, (struct dec){ I128_MIN }, 18), 0);
}

static void
test_to_double(void **state)
{
	(void)state;
	assert_true(dec_to_double(D("1.5")) == 1.5);
	assert_true(dec_to_double(D("-0.25")) == -0.25);
	assert_true(dec_to_double(DEC_ZERO) == 0.0);
	assert_true(dec_to_double(D("0.1")) > 0.0999999999999999 && dec_to_double(D("0.1")) < 0.1000000000000001);
}

/* ---- random comparison against OpenSSL BIGNUM ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	/* splitmix64: seeded, reproducible */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* a random int128 with a random bit length, so every magnitude is exercised */
static __int128
rnd128(void)
{
	u128 v = ((u128)rng() << 64) | rng();
	unsigned bits = (unsigned)(rng() % 128);

	switch (rng() % 16) {
	case 0:
		return I128_MAX - (__int128)(rng() % 3);
	case 1:
		return I128_MIN + (__int128)(rng() % 3);
	case 2:
		return (__int128)(rng() % 5) - 2;
	case 3:	/* multiples of powers of ten, to hit exact ties */
		return (__int128)(rng() % 1000) * (__int128)1000000000000000LL * ((rng() & 1) ? 1 : -1);
	}
	v &= bits == 0 ? 0 : (~(u128)0 >> (128 - bits));
	v >>= 1;
	return (rng() & 1) ? -(__int128)v : (__int128)v;
}

static BIGNUM *
bn_of(__int128 x)
{
	unsigned char be[16];
	u128 m = x < 0 ? (u128)0 - (u128)x : (u128)x;
	BIGNUM *b;

	for (int i = 15; i >= 0; i--, m >>= 8)
		be[i] = (unsigned char)m;
	b = BN_bin2bn(be, 16, NULL);
	assert_non_null(b);
	BN_set_negative(b, x < 0);
	return b;
}

/* Reference: round_half_even(x*y/z) with BIGNUM, or NULL if z == 0. */
static BIGNUM *
bn_muldiv(__int128 x, __int128 y, __int128 z, BN_CTX *ctx)
{
	BIGNUM *a = bn_of(x), *b = bn_of(y), *c = bn_of(z);
	BIGNUM *p = BN_new(), *q = BN_new(), *r = BN_new(), *r2 = BN_new();
	int neg;

	assert_true(BN_mul(p, a, b, ctx));
	neg = BN_is_negative(p) ^ BN_is_negative(c);
	BN_set_negative(p, 0);
	BN_set_negative(c, 0);
	assert_true(BN_div(q, r, p, c, ctx));	/* magnitudes: truncation = floor */
	assert_true(BN_lshift1(r2, r));
	if (BN_cmp(r2, c) > 0 || (BN_cmp(r2, c) == 0 && BN_is_odd(q)))
		assert_true(BN_add_word(q, 1));
	BN_set_negative(q, neg && !BN_is_zero(q));
	BN_free(a);
	BN_free(b);
	BN_free(c);
	BN_free(p);
	BN_free(r);
	BN_free(r2);
	return q;
}

static void
check_one(int op, __int128 x, __int128 y, __int128 z, BN_CTX *ctx)
{
	static const __int128 one = 1000000000000000000LL;
	struct dec r = { 12345 };
	BIGNUM *want, *got, *lo = bn_of(I128_MIN), *hi = bn_of(I128_MAX);
	int rc, fits;

	switch (op) {
	case 0:
		rc = dec_mul(&r, (struct dec){ x }, (struct dec){ y });
		z = one;
		break;
	case 1:
		rc = dec_div(&r, (struct dec){ x }, (struct dec){ z });
		y = one;
		break;
	default:
		rc = dec_muldiv(&r, (struct dec){ x }, (struct dec){ y }, (struct dec){ z });
		break;
	}
	if (z == 0) {
		assert_int_equal(rc, -1);
		goto out;
	}
	want = bn_muldiv(x, y, z, ctx);
	fits = BN_cmp(want, lo) >= 0 && BN_cmp(want, hi) <= 0;
	if (!fits) {
		assert_int_equal(rc, -1);
		assert_true(r.raw == 12345);
	} else {
		assert_int_equal(rc, 0);
		got = bn_of(r.raw);
		if (BN_cmp(got, want) != 0) {
			char *w = BN_bn2dec(want), *g = BN_bn2dec(got);
			fail_msg("op %d: want %s got %s", op, w, g);
		}
		BN_free(got);
	}
	BN_free(want);
out:
	BN_free(lo);
	BN_free(hi);
}

static void
test_random_vs_bignum(void **state)
{
	BN_CTX *ctx = BN_CTX_new();
	int fits = 0;

	(void)state;
	assert_non_null(ctx);
	for (int i = 0; i < 30000; i++) {
		__int128 x = rnd128(), y = rnd128(), z = rnd128();
		struct dec r;
		check_one(i % 3, x, y, z, ctx);
		if (dec_muldiv(&r, (struct dec){ x }, (struct dec){ y }, (struct dec){ z }) == 0)
			fits++;
	}
	/* Products of realistic sizes: prices and quantities with few digits */
	for (int i = 0; i < 10000; i++) {
		__int128 x = (__int128)(rng() % 100000000000ULL) * 10000000000LL;
		__int128 y = (__int128)(rng() % 100000000000ULL) * 1000000000LL;
		__int128 z = (__int128)(rng() % 100000000000ULL + 1) * 100000000LL;
		check_one(i % 3, x, y, z, ctx);
		check_one(i % 3, -x, y, z, ctx);
	}
	/* the random inputs must exercise both outcomes */
	assert_true(fits > 3000 && fits < 27000);
	BN_CTX_free(ctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_arith_limits),
		cmocka_unit_test(test_ties_to_even),
		cmocka_unit_test(test_to_double),
		cmocka_unit_test(test_random_vs_bignum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
