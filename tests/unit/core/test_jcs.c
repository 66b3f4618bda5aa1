#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>

#include "core/jcs.h"
#include "util/file.h"
#include "util/xalloc.h"

/* Parses text and asserts that its canonical form is exactly want. */
static void
assert_canon(const char *text, const char *want)
{
	json_error_t jerr;
	const char *errstr = NULL;
	json_t *v;
	char *got;
	size_t len;

	v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (v == NULL)
		fail_msg("bad test JSON: %s", jerr.text);
	got = jcs_canonicalize(v, &len, &errstr);
	if (got == NULL)
		fail_msg("canonicalize failed: %s", errstr);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
	json_decref(v);
}

static void
assert_refused(json_t *v)
{
	const char *errstr = NULL;
	size_t len;

	assert_null(jcs_canonicalize(v, &len, &errstr));
	assert_non_null(errstr);
	json_decref(v);
}

/* RFC 8785 section 3.2.2 / 3.2.3: the "numbers, string, literals" example. */
static void
test_rfc8785_example(void **state)
{
	(void)state;
	assert_canon(
	    "{\n  \"numbers\": [333333333.33333329, 1E30, 4.50,\n"
	    "              2e-3, 0.000000000000000000000000001],\n"
	    "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
	    "  \"literals\": [null, true, false]\n}",
	    "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
	    "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

/* RFC 8785 section 3.2.3: sorting by UTF-16 code units. */
static void
test_rfc8785_sorting(void **state)
{
	(void)state;
	assert_canon(
	    "{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\","
	    " \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\", \"1\": \"One\","
	    " \"\\ud83d\\ude00\": \"Emoji: Grinning Face\", \"\\u0080\": \"Control\","
	    " \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"}",
	    "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
	    "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
	    "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\",\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
	/* U+E000 (one unit E000) sorts after U+10000 (D800 DC00), unlike in UTF-8. */
	assert_canon("{\"\\ue000\":1,\"\\ud800\\udc00\":2,\"\\uffff\":3,\"\\udbff\\udfff\":4,\"\\ud7ff\":5}",
	    "{\"\xed\x9f\xbf\":5,\"\xf0\x90\x80\x80\":2,\"\xf4\x8f\xbf\xbf\":4,\"\xee\x80\x80\":1,"
	    "\"\xef\xbf\xbf\":3}");
	/* A prefix sorts first; sorting applies at every level, arrays keep their order. */
	assert_canon("{\"ab\":{\"b\":[3,{\"z\":0,\"y\":1}],\"a\":{}},\"a\":[]}",
	    "{\"a\":[],\"ab\":{\"a\":{},\"b\":[3,{\"y\":1,\"z\":0}]}}");
}

static void
test_string_escapes(void **state)
{
	const char *errstr;
	json_t *v;
	char *got;
	size_t len;

	(void)state;
	/* Controls other than the five short forms become lower-case \u00xx; DEL and
	 * everything above stay raw; '/' is not escaped. */
	assert_canon("\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001F\\u007f/\\u00e9\"",
	    "\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\x7f/\xc3\xa9\"");
	/* An embedded NUL (jansson keeps the length). */
	v = json_stringn("a\0b", 3);
	got = jcs_canonicalize(v, &len, &errstr);
	assert_non_null(got);
	assert_string_equal(got, "\"a\\u0000b\"");
	free(got);
	json_decref(v);
	/* Invalid UTF-8 (only reachable through the unchecked constructors). */
	assert_refused(json_stringn_nocheck("\xc0\xaf", 2));	/* overlong '/' */
	assert_refused(json_stringn_nocheck("\xed\xa0\x80", 3));	/* lone surrogate */
	assert_refused(json_stringn_nocheck("\xe2\x82", 2));	/* truncated */
	v = json_object();
	json_object_setn_new_nocheck(v, "\xff", 1, json_true());
	assert_refused(v);
}

static void
test_literals_and_structures(void **state)
{
	(void)state;
	assert_canon("[ ]", "[]");
	assert_canon("{ }", "{}");
	assert_canon("[true, false, null, \"\", [[]], {\"\": {}}]", "[true,false,null,\"\",[[]],{\"\":{}}]");
	assert_canon("-0", "0");
	assert_canon("-0.0", "0");
	assert_canon("1.0", "1");
	assert_canon("100", "100");
	assert_canon("-1e-7", "-1e-7");
	assert_canon("123456789012345678901.0", "123456789012345680000");
	assert_canon("1e21", "1e+21");
	assert_canon("0.1e-5", "0.000001");
	assert_canon("1.5e300", "1.5e+300");
}

static json_t *
nest(int depth)
{
	json_t *v = json_array();

	for (int i = 0; i < depth; i++) {
		json_t *outer = json_array();

		json_array_append_new(outer, v);
		v = outer;
	}
	return v;
}

static void
test_depth_limit(void **state)
{
	const char *errstr;
	json_t *v;
	char *got;
	size_t len;

	(void)state;
	v = nest(64);
	got = jcs_canonicalize(v, &len, &errstr);
	assert_non_null(got);
	assert_int_equal(len, 2 * 65);
	free(got);
	json_decref(v);
	assert_refused(nest(65));
}

/* jansson integers are I-JSON numbers: exact in a double, or refused. */
static void
test_integers(void **state)
{
	(void)state;
	assert_canon("9007199254740992", "9007199254740992");
	assert_canon("-9007199254740992", "-9007199254740992");
	assert_canon("1152921504606846976", "1152921504606847000");	/* 2^60, exact */
	assert_canon("-9223372036854775808", "-9223372036854776000");	/* -2^63, exact */
	assert_refused(json_integer(9007199254740993LL));	/* 2^53 + 1 */
	assert_refused(json_integer(-9007199254740993LL));
	assert_refused(json_integer(9223372036854775807LL));	/* rounds to 2^63 */
	assert_refused(json_integer(1152921504606846977LL));
}

static double
from_bits(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

/* RFC 8785 appendix B: IEEE 754 bit patterns and their serialization. */
static const struct {
	uint64_t bits;
	const char *text;
} appendix_b[] = {
	{ 0x0000000000000000ULL, "0" },
	{ 0x8000000000000000ULL, "0" },
	{ 0x0000000000000001ULL, "5e-324" },
	{ 0x8000000000000001ULL, "-5e-324" },
	{ 0x7fefffffffffffffULL, "1.7976931348623157e+308" },
	{ 0xffefffffffffffffULL, "-1.7976931348623157e+308" },
	{ 0x4340000000000000ULL, "9007199254740992" },
	{ 0xc340000000000000ULL, "-9007199254740992" },
	{ 0x4430000000000000ULL, "295147905179352830000" },
	{ 0x44b52d02c7e14af5ULL, "9.999999999999997e+22" },
	{ 0x44b52d02c7e14af6ULL, "1e+23" },
	{ 0x44b52d02c7e14af7ULL, "1.0000000000000001e+23" },
	{ 0x444b1ae4d6e2ef4eULL, "999999999999999700000" },
	{ 0x444b1ae4d6e2ef4fULL, "999999999999999900000" },
	{ 0x444b1ae4d6e2ef50ULL, "1e+21" },
	{ 0x3eb0c6f7a0b5ed8cULL, "9.999999999999997e-7" },
	{ 0x3eb0c6f7a0b5ed8dULL, "0.000001" },
	{ 0x41b3de4355555553ULL, "333333333.3333332" },
	{ 0x41b3de4355555554ULL, "333333333.33333325" },
	{ 0x41b3de4355555555ULL, "333333333.3333333" },
	{ 0x41b3de4355555556ULL, "333333333.3333334" },
	{ 0x41b3de4355555557ULL, "333333333.33333343" },
	{ 0xbecbf647612f3696ULL, "-0.0000033333333333333333" },
	{ 0x43143ff3c1cb0959ULL, "1424953923781206.2" },
	/* Not in the RFC table: the smallest normal double. */
	{ 0x0010000000000000ULL, "2.2250738585072014e-308" },
};

static void
test_rfc8785_numbers(void **state)
{
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(appendix_b) / sizeof(appendix_b[0]); i++) {
		int n = jcs_format_number(out, from_bits(appendix_b[i].bits));

		assert_int_equal(n, (int)strlen(appendix_b[i].text));
		assert_string_equal(out, appendix_b[i].text);
	}
	/* The appendix's NaN and Infinity rows: errors. */
	assert_int_equal(jcs_format_number(out, from_bits(0x7fffffffffffffffULL)), -1);
	assert_int_equal(jcs_format_number(out, from_bits(0x7ff0000000000000ULL)), -1);
	assert_int_equal(jcs_format_number(out, -INFINITY), -1);
	assert_int_equal(jcs_format_number(out, NAN), -1);
}

/*
 * tests/vectors/jcs_numbers.txt: 12000 doubles (every power of two, the
 * neighbours of every power of ten, random bit patterns) with their
 * expected text, computed independently by gen_jcs_numbers.py.
 */
static void
test_number_vectors(void **state)
{
	const char *src = getenv("PERFAGG_SOURCE_DIR"), *errstr;
	char *path, *line, *next, *comma, out[32];
	uint8_t *buf;
	size_t len, count = 0;

	(void)state;
	assert_non_null(src);
	path = xasprintf("%s/tests/vectors/jcs_numbers.txt", src);
	buf = file_read_all(path, 1 << 22, &len, &errstr);
	if (buf == NULL)
		fail_msg("%s: %s", path, errstr);
	buf = xrealloc(buf, len + 1);
	buf[len] = '\0';
	for (line = (char *)buf; *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			fail_msg("unterminated line");
		*next++ = '\0';
		comma = strchr(line, ',');
		assert_non_null(comma);
		*comma = '\0';
		assert_true(jcs_format_number(out, from_bits(strtoull(line, NULL, 16))) > 0);
		if (strcmp(out, comma + 1) != 0)
			fail_msg("%s: got %s, want %s", line, out, comma + 1);
		count++;
	}
	assert_int_equal(count, 12000);
	free(buf);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8785_example),
		cmocka_unit_test(test_rfc8785_sorting),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_literals_and_structures),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_rfc8785_numbers),
		cmocka_unit_test(test_number_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
