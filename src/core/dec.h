/*
 * dec: exact fixed-point decimals for money and quantities.
 *
 * A struct dec holds value * 10^18 in a signed 128-bit integer, so it
 * represents every decimal with at most 18 fractional digits and an absolute
 * value below about 1.7e20. Nothing here is binary floating point except
 * dec_to_double(), which exists for statistics on return series only.
 *
 * Errors are never silent: a result that does not fit is reported (-1),
 * never wrapped; an input with more precision than 18 fractional digits is
 * rejected, never rounded. Operations that must round (mul, div, muldiv,
 * round) round once, half to even, on the exact result.
 *
 * Accepted text (dec_parse), all of it exact:
 *	[+-] digits [. [digits]] [(e|E) [+-] digits]
 *	[+-] . digits [(e|E) [+-] digits]
 * so "0.00100000", "-1.5", "+2", ".5", "5." and "1e-8", "1.5E+3" are
 * accepted (ccxt and some exchanges emit exponent forms). Trailing zeros
 * never count as precision: "1.0000000000000000000000" is 1. Rejected:
 * empty input, whitespace anywhere, "NaN", "Infinity", hex, a lone sign or
 * point, trailing garbage.
 */
#ifndef PERFAGG_CORE_DEC_H
#define PERFAGG_CORE_DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEC_SCALE 18
/* Longest dec_format() output plus NUL: sign, 21 integer digits, point, 18 digits. */
#define DEC_STR_MAX 48

struct dec {
	__int128 raw;		/* value * 10^18 */
};

#define DEC_ZERO ((struct dec){ 0 })

/* 1 as a dec. */
struct dec dec_one(void);
/* n as a dec; always exact (|n| < 2^63 < 1.7e20). */
struct dec dec_from_int(int64_t n);

/*
 * Parses the decimal text (s, len) (grammar above; s need not be NUL-
 * terminated). Returns 0 and sets *out, or -1 with *errstr set to a static
 * string ("empty", "not a decimal number", "more than 18 fractional digits",
 * "out of range").
 */
int dec_parse(const char *s, size_t len, struct dec *out, const char **errstr);

/*
 * Writes the shortest exact text of a into buf (size bytes, at least
 * DEC_STR_MAX recommended): "1.5", "-0.001", "100", "0". No exponent, no
 * trailing fractional zeros, "-" only for negatives. Returns the length
 * written (without the NUL); aborts if size is too small (a caller bug).
 */
size_t dec_format(char *buf, size_t size, struct dec a);

/* Each sets *out and returns 0, or returns -1 on overflow (out untouched). */
int dec_add(struct dec *out, struct dec a, struct dec b);
int dec_sub(struct dec *out, struct dec a, struct dec b);
int dec_neg(struct dec *out, struct dec a);
int dec_abs(struct dec *out, struct dec a);

/* a*b, a/b and a*b/c, each computed exactly in 256 bits and rounded once,
 * half to even, to 18 fractional digits. Return 0, or -1 on overflow or
 * division by zero (out untouched). */
int dec_mul(struct dec *out, struct dec a, struct dec b);
int dec_div(struct dec *out, struct dec a, struct dec b);
int dec_muldiv(struct dec *out, struct dec a, struct dec b, struct dec c);

/* a rounded half to even to places fractional digits (0..18). Returns 0,
 * or -1 on overflow or places > 18. */
int dec_round(struct dec *out, struct dec a, unsigned places);

/* -1, 0 or 1 as a <, ==, > b. */
int dec_cmp(struct dec a, struct dec b);
/* -1, 0 or 1 by the sign of a. */
int dec_sign(struct dec a);
bool dec_is_zero(struct dec a);

/* The nearest-ish double (within 1 ulp or so): for statistics only. */
double dec_to_double(struct dec a);

#endif
