/*
 * kat: helpers shared by the known-answer tests of src/core. Include after
 * <cmocka.h>.
 */
#ifndef PERFAGG_TESTS_CORE_KAT_H
#define PERFAGG_TESTS_CORE_KAT_H

#include <stdint.h>
#include <string.h>

#include "core/hex.h"

/* Decodes the hex string s, which must be exactly 2*n characters, into out. */
static inline void
kat_unhex(uint8_t *out, size_t n, const char *s)
{
	assert_int_equal(hex_decode_exact(out, n, s, strlen(s)), 0);
}

/* Asserts that the n bytes at got are the hex string want. */
static inline void
kat_assert_hex(const uint8_t *got, size_t n, const char *want)
{
	char buf[2 * 512 + 1];

	assert_true(n <= 512);
	hex_encode(buf, got, n);
	assert_string_equal(buf, want);
}

#endif
