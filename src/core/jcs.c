/*
 * jcs: RFC 8785 canonical JSON. See jcs.h for the contract.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jcs.h"
#include "util/xalloc.h"

/* Deepest nesting accepted: recursion depth must not follow input blindly. */
#define JCS_MAX_DEPTH 64

struct out {
	char *buf;
	size_t len, cap;
};

static void
out_put(struct out *o, const void *p, size_t n)
{
	if (o->cap - o->len <= n) {	/* keep room for the final NUL */
		size_t cap = o->cap ? o->cap : 64;

		while (cap - o->len <= n)
			cap *= 2;
		o->buf = xrealloc(o->buf, cap);
		o->cap = cap;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void
out_char(struct out *o, char c)
{
	out_put(o, &c, 1);
}

/*
 * Decodes one UTF-8 sequence at s[0..len) into *cp and returns its length,
 * or 0 if it is malformed (overlong, surrogate, beyond U+10FFFF, truncated).
 */
static size_t
utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t c, min;

	if (len == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * Maps a code point to a key whose order is the order of its UTF-16
 * encoding. Only U+E000..U+FFFF move: as single code units they sort after
 * the surrogates (D800..DFFF) that encode every supplementary character.
 */
static uint32_t
utf16_order(uint32_t cp)
{
	return (cp >= 0xe000 && cp <= 0xffff) ? cp + 0x110000 : cp;
}

static int
utf16_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	const unsigned char *pa = (const unsigned char *)a, *pb = (const unsigned char *)b;
	uint32_t ca = 0, cb = 0;
	size_t na, nb;

	/* Names were validated before sorting, so utf8_next cannot fail here. */
	while (alen > 0 && blen > 0) {
		na = utf8_next(pa, alen, &ca);
		nb = utf8_next(pb, blen, &cb);
		if (ca != cb)
			return utf16_order(ca) < utf16_order(cb) ? -1 : 1;
		pa += na, alen -= na;
		pb += nb, blen -= nb;
	}
	return alen > 0 ? 1 : blen > 0 ? -1 : 0;
}

static int
put_string(struct out *o, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	size_t i, n;
	char esc[6];

	out_char(o, '"');
	for (i = 0; i < len; i += n) {
		if ((n = utf8_next(p + i, len - i, &cp)) == 0)
			return -1;
		switch (cp) {
		case '"':  out_put(o, "\\\"", 2); continue;
		case '\\': out_put(o, "\\\\", 2); continue;
		case '\b': out_put(o, "\\b", 2); continue;
		case '\f': out_put(o, "\\f", 2); continue;
		case '\n': out_put(o, "\\n", 2); continue;
		case '\r': out_put(o, "\\r", 2); continue;
		case '\t': out_put(o, "\\t", 2); continue;
		}
		if (cp < 0x20) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[cp >> 4];
			esc[5] = hex[cp & 0x0f];
			out_put(o, esc, 6);
		} else
			out_put(o, p + i, n);
	}
	out_char(o, '"');
	return 0;
}

/*
 * Lays out the decimal digits (k of them, no leading or trailing zeros)
 * with decimal exponent n, value = 0.digits * 10^n, as ECMAScript
 * Number::toString (ECMA-262 section 6.1.6.1.20, steps 6-10) does.
 */
static int
layout(char *out, const char *digits, int k, int n)
{
	int len = 0, i, e;

	if (k <= n && n <= 21) {
		memcpy(out, digits, (size_t)k);
		len = k;
		for (i = 0; i < n - k; i++)
			out[len++] = '0';
	} else if (0 < n && n <= 21) {
		memcpy(out, digits, (size_t)n);
		len = n;
		out[len++] = '.';
		memcpy(out + len, digits + n, (size_t)(k - n));
		len += k - n;
	} else if (-6 < n && n <= 0) {
		out[len++] = '0';
		out[len++] = '.';
		for (i = 0; i < -n; i++)
			out[len++] = '0';
		memcpy(out + len, digits, (size_t)k);
		len += k;
	} else {
		out[len++] = digits[0];
		if (k > 1) {
			out[len++] = '.';
			memcpy(out + len, digits + 1, (size_t)(k - 1));
			len += k - 1;
		}
		e = n - 1;
		len += snprintf(out + len, 8, "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
	out[len] = '\0';
	return len;
}

/*
 * Writes v (finite, > 0) with p significant digits, correctly rounded, as
 * digits (no point) and returns the decimal exponent of the first digit.
 */
static int
digits_at(char digits[20], double v, int p)
{
	char buf[40];
	int k = 0;
	size_t i;

	snprintf(buf, sizeof(buf), "%.*e", p - 1, v);
	for (i = 0; buf[i] != 'e'; i++)
		if (buf[i] != '.')
			digits[k++] = buf[i];
	digits[k] = '\0';
	return atoi(buf + i + 1);
}

/* Whether the p digits with exponent exp read back as exactly v. */
static int
round_trips(const char *digits, int p, int exp, double v)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%c.%se%d", digits[0], p > 1 ? digits + 1 : "0", exp);
	return strtod(buf, NULL) == v;
}

/*
 * Adds one unit in the last place to the p digits; returns the new
 * exponent (one higher when 99..9 carries into 100..0).
 */
static int
bump(char *digits, int p, int exp)
{
	int i;

	for (i = p - 1; i >= 0 && digits[i] == '9'; i--)
		digits[i] = '0';
	if (i >= 0) {
		digits[i]++;
		return exp;
	}
	digits[0] = '1';
	return exp + 1;
}

int
jcs_format_number(char out[32], double v)
{
	char digits[20], up[20];
	int p, k, exp = 0, uexp, sign = 0;

	if (!isfinite(v))
		return -1;
	if (v == 0) {	/* +0 and -0 */
		memcpy(out, "0", 2);
		return 1;
	}
	if (v < 0) {
		out[sign++] = '-';
		v = -v;
	}
	/*
	 * The shortest digit string that reads back as v. %.*e rounds
	 * correctly, so it gives the p-digit candidate closest to v, which is
	 * ECMAScript's choice. One exception: when v is a power of two, the
	 * gap to the next double below is half the gap above, and the closest
	 * candidate may lie just outside below while the next one up is
	 * inside. Trying that one too keeps the result the shortest.
	 */
	for (p = 1; p <= 17; p++) {
		exp = digits_at(digits, v, p);
		if (round_trips(digits, p, exp, v))
			break;
		memcpy(up, digits, sizeof(up));
		uexp = bump(up, p, exp);
		if (round_trips(up, p, uexp, v)) {
			memcpy(digits, up, sizeof(up));
			exp = uexp;
			break;
		}
	}
	k = (int)strlen(digits);
	while (k > 1 && digits[k - 1] == '0')
		k--;
	return sign + layout(out + sign, digits, k, exp + 1);
}

/* 2^53: every integer up to it in magnitude is exact in a double. */
#define JCS_EXACT_INT 9007199254740992LL

static int
put_number(struct out *o, double v, const char **errstr)
{
	char num[32];
	int n;

	if ((n = jcs_format_number(num, v)) == -1) {
		*errstr = "number is not finite";
		return -1;
	}
	out_put(o, num, (size_t)n);
	return 0;
}

static int
put_integer(struct out *o, json_int_t i, const char **errstr)
{
	double d = (double)i;

	/*
	 * Beyond 2^53 the conversion may round. (json_int_t)d is undefined
	 * when d rounds up to 2^63, hence the range check before it.
	 */
	if (i > JCS_EXACT_INT || i < -JCS_EXACT_INT) {
		if (d >= 9223372036854775808.0 || (json_int_t)d != i) {
			*errstr = "integer not exactly representable as a double";
			return -1;
		}
		return put_number(o, d, errstr);
	}
	/* Up to 2^53 the shortest round-trip form of an integer is its
	 * decimal digits, which ECMAScript prints as they are (below 1e21):
	 * no need to search for the digits (audit entries and signed results
	 * carry many integers). */
	{
		char buf[24];
		size_t n = 0;
		uint64_t u = i < 0 ? (uint64_t)-i : (uint64_t)i;
		char *e = buf + sizeof(buf), *q = e;

		do
			*--q = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		if (i < 0)
			*--q = '-';
		n = (size_t)(e - q);
		out_put(o, q, n);
	}
	return 0;
}

struct member {
	const char *name;
	size_t len;
	json_t *value;
};

static int
member_cmp(const void *a, const void *b)
{
	const struct member *ma = a, *mb = b;

	return utf16_cmp(ma->name, ma->len, mb->name, mb->len);
}

static int put_value(struct out *, const json_t *, int, const char **);

static int
put_object(struct out *o, const json_t *obj, int depth, const char **errstr)
{
	struct member *m;
	size_t n = json_object_size(obj), i = 0, off;
	uint32_t cp;
	void *it;
	int rv = -1;

	m = xreallocarray(NULL, n ? n : 1, sizeof(*m));
	/* jansson's iterator API is not const-qualified; it does not modify obj. */
	for (it = json_object_iter((json_t *)(uintptr_t)obj); it != NULL && i < n;
	    it = json_object_iter_next((json_t *)(uintptr_t)obj, it), i++) {
		m[i].name = json_object_iter_key(it);
		m[i].len = json_object_iter_key_len(it);
		m[i].value = json_object_iter_value(it);
		for (off = 0; off < m[i].len; ) {
			size_t step = utf8_next((const unsigned char *)m[i].name + off, m[i].len - off, &cp);

			if (step == 0) {
				*errstr = "member name is not valid UTF-8";
				goto fail;
			}
			off += step;
		}
	}
	qsort(m, i, sizeof(*m), member_cmp);
	out_char(o, '{');
	for (n = i, i = 0; i < n; i++) {
		if (i > 0)
			out_char(o, ',');
		put_string(o, m[i].name, m[i].len);
		out_char(o, ':');
		if (put_value(o, m[i].value, depth + 1, errstr) == -1)
			goto fail;
	}
	out_char(o, '}');
	rv = 0;
fail:
	free(m);
	return rv;
}

static int
put_value(struct out *o, const json_t *v, int depth, const char **errstr)
{
	size_t i;

	if (depth > JCS_MAX_DEPTH) {
		*errstr = "nesting too deep";
		return -1;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return put_object(o, v, depth, errstr);
	case JSON_ARRAY:
		out_char(o, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				out_char(o, ',');
			if (put_value(o, json_array_get(v, i), depth + 1, errstr) == -1)
				return -1;
		}
		out_char(o, ']');
		return 0;
	case JSON_STRING:
		if (put_string(o, json_string_value(v), json_string_length(v)) == -1) {
			*errstr = "string is not valid UTF-8";
			return -1;
		}
		return 0;
	case JSON_INTEGER:
		return put_integer(o, json_integer_value(v), errstr);
	case JSON_REAL:
		return put_number(o, json_real_value(v), errstr);
	case JSON_TRUE:
		out_put(o, "true", 4);
		return 0;
	case JSON_FALSE:
		out_put(o, "false", 5);
		return 0;
	case JSON_NULL:
		out_put(o, "null", 4);
		return 0;
	}
	*errstr = "unknown JSON type";
	return -1;
}

char *
jcs_canonicalize(const json_t *value, size_t *len, const char **errstr)
{
	struct out o = { NULL, 0, 0 };

	if (value == NULL) {
		*errstr = "no value";
		return NULL;
	}
	if (put_value(&o, value, 0, errstr) == -1) {
		free(o.buf);
		return NULL;
	}
	o.buf[o.len] = '\0';
	*len = o.len;
	return o.buf;
}
