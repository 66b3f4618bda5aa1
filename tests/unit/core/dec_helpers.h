/*
 * Helpers shared by the core unit tests (include after cmocka.h):
 * D("1.5") parses a literal or fails the test; assert_dec_str() compares a
 * decimal's shortest text.
 */
#ifndef PERFAGG_TESTS_DEC_HELPERS_H
#define PERFAGG_TESTS_DEC_HELPERS_H

#include <string.h>

#include "core/dec.h"

static inline struct dec
D(const char *s)
{
	struct dec d;
	const char *err = NULL;

	if (dec_parse(s, strlen(s), &d, &err) != 0)
		fail_msg("parse %s: %s", s, err);
	return d;
}

static inline void
assert_dec_str(struct dec d, const char *want)
{
	char buf[DEC_STR_MAX];

	dec_format(buf, sizeof(buf), d);
	if (strcmp(buf, want) != 0)
		fail_msg("want %s, got %s", want, buf);
}

#endif
