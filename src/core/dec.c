#include "core/dec.h"

#include "util/log.h"

typedef unsigned __int128 u128;

#define U128_TOP ((u128)1 << 127)	/* |INT128_MIN| */
#define POS_MAX (U128_TOP - 1)		/* INT128_MAX */

/* 10^0 .. 10^38 (10^38 < 2^127 < 10^39), as constant expressions. */
#define P19 ((u128)10000000000000000000ULL)
static const u128 pow10_tab[39] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
	1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
	1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
	1000000000000000000ULL, P19, P19 * 10, P19 * 100, P19 * 1000, P19 * 10000,
	P19 * 100000, P19 * 1000000, P19 * 10000000, P19 * 100000000,
	P19 * 1000000000, P19 * 10000000000ULL, P19 * 100000000000ULL,
	P19 * 1000000000000ULL, P19 * 10000000000000ULL, P19 * 100000000000000ULL,
	P19 * 1000000000000000ULL, P19 * 10000000000000000ULL,
	P19 * 100000000000000000ULL, P19 * 1000000000000000000ULL, P19 * P19,
};

static u128
pow10u(unsigned n)
{
	if (n > 38)
		fatalx("dec: pow10u(%u)", n);
	return pow10_tab[n];
}

#define ONE_RAW ((__int128)1000000000000000000LL)

static u128
mag(__int128 x)
{
	/* unsigned negation is defined for INT128_MIN too */
	return x < 0 ? (u128)0 - (u128)x : (u128)x;
}

/* Signs a magnitude; -1 if it does not fit the signed range. */
static int
signed_of(u128 m, int neg, __int128 *out)
{
	if (m > (neg ? U128_TOP : POS_MAX))
		return -1;
	*out = neg ? (__int128)((u128)0 - m) : (__int128)m;
	return 0;
}

struct dec
dec_one(void)
{
	return (struct dec){ ONE_RAW };
}

struct dec
dec_from_int(int64_t n)
{
	return (struct dec){ (__int128)n * ONE_RAW };
}

/*
 * Appends one digit to the significant mantissa. Zeros are kept pending so
 * that trailing zeros (which carry no precision) never overflow it.
 */
struct mant {
	u128 m;
	int64_t pend;		/* zeros seen since the last non-zero digit */
	int nonzero;		/* a non-zero digit has been seen */
	int over;		/* m no longer fits */
};

static void
mant_push(struct mant *t, unsigned d)
{
	if (d == 0) {
		if (t->nonzero)
			t->pend++;
		return;
	}
	t->nonzero = 1;
	for (int64_t i = 0; i <= t->pend && !t->over; i++) {
		unsigned add = i == t->pend ? d : 0;
		if (t->m > (~(u128)0 - add) / 10)
			t->over = 1;
		else
			t->m = t->m * 10 + add;
	}
	t->pend = 0;
}

static int
isdig(char c)
{
	return c >= '0' && c <= '9';
}

int
dec_parse(const char *s, size_t len, struct dec *out, const char **errstr)
{
	struct mant t = { 0, 0, 0, 0 };
	size_t i = 0, ndig = 0;
	int64_t nfrac = 0, ex = 0, k;
	int neg = 0, eneg = 0;
	u128 p;

	if (len == 0) {
		*errstr = "empty";
		return -1;
	}
	if (s[i] == '+' || s[i] == '-')
		neg = s[i++] == '-';
	for (; i < len && isdig(s[i]); i++, ndig++)
		mant_push(&t, (unsigned)(s[i] - '0'));
	if (i < len && s[i] == '.')
		for (i++; i < len && isdig(s[i]); i++, ndig++, nfrac++)
			mant_push(&t, (unsigned)(s[i] - '0'));
	if (ndig == 0)
		goto syntax;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		size_t e0;
		if (++i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (e0 = i; i < len && isdig(s[i]); i++)
			if (ex < 1000000000)	/* saturate: anything this big is an error anyway */
				ex = ex * 10 + (s[i] - '0');
		if (i == e0)
			goto syntax;
	}
	if (i != len)
		goto syntax;
	if (!t.nonzero) {
		*out = DEC_ZERO;
		return 0;
	}
	/* value = m * 10^k, and m has no trailing zeros */
	k = t.pend + (eneg ? -ex : ex) - nfrac;
	if (k + DEC_SCALE < 0) {
		*errstr = "more than 18 fractional digits";
		return -1;
	}
	if (t.over || k + DEC_SCALE > 38)
		goto range;
	p = pow10u((unsigned)(k + DEC_SCALE));
	if (t.m > U128_TOP / p || signed_of(t.m * p, neg, &out->raw) == -1)
		goto range;
	return 0;
syntax:
	*errstr = "not a decimal number";
	return -1;
range:
	*errstr = "out of range";
	return -1;
}

size_t
dec_format(char *buf, size_t size, struct dec a)
{
	char tmp[DEC_STR_MAX];
	size_t n = 0, j = sizeof(tmp);
	u128 m = mag(a.raw), ip, fp;
	int k;

	if (size < DEC_STR_MAX)
		fatalx("dec_format: buffer of %zu bytes", size);
	ip = m / (u128)ONE_RAW;
	fp = m % (u128)ONE_RAW;
	do {
		tmp[--j] = (char)('0' + (int)(ip % 10));
		ip /= 10;
	} while (ip != 0);
	if (a.raw < 0)
		buf[n++] = '-';
	while (j < sizeof(tmp))
		buf[n++] = tmp[j++];
	if (fp != 0) {
		buf[n++] = '.';
		for (k = DEC_SCALE - 1; k >= 0; k--) {
			tmp[k] = (char)('0' + (int)(fp % 10));
			fp /= 10;
		}
		for (k = DEC_SCALE; tmp[k - 1] == '0'; k--)
			;
		for (int q = 0; q < k; q++)
			buf[n++] = tmp[q];
	}
	buf[n] = '\0';
	return n;
}

int
dec_add(struct dec *out, struct dec a, struct dec b)
{
	__int128 r;

	if (__builtin_add_overflow(a.raw, b.raw, &r))
		return -1;
	out->raw = r;
	return 0;
}

int
dec_sub(struct dec *out, struct dec a, struct dec b)
{
	__int128 r;

	if (__builtin_sub_overflow(a.raw, b.raw, &r))
		return -1;
	out->raw = r;
	return 0;
}

int
dec_neg(struct dec *out, struct dec a)
{
	return dec_sub(out, DEC_ZERO, a);
}

int
dec_abs(struct dec *out, struct dec a)
{
	return a.raw < 0 ? dec_neg(out, a) : (*out = a, 0);
}

/* 128 x 128 -> 256 bits, little-endian 64-bit limbs. */
static void
mul256(uint64_t w[4], u128 a, u128 b)
{
	uint64_t a0 = (uint64_t)a, a1 = (uint64_t)(a >> 64);
	uint64_t b0 = (uint64_t)b, b1 = (uint64_t)(b >> 64);
	u128 p00 = (u128)a0 * b0, p01 = (u128)a0 * b1;
	u128 p10 = (u128)a1 * b0, p11 = (u128)a1 * b1;
	u128 mid = (p00 >> 64) + (uint64_t)p01 + (uint64_t)p10;
	u128 hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);

	w[0] = (uint64_t)p00;
	w[1] = (uint64_t)mid;
	w[2] = (uint64_t)hi;
	w[3] = (uint64_t)(hi >> 64);
}

static int
nlz32(uint32_t x)
{
	return x == 0 ? 32 : __builtin_clz(x);
}

/*
 * Knuth's algorithm D on 32-bit digits (after Hacker's Delight, divmnu):
 * u has m digits, v has n >= 2 digits with v[n-1] != 0, m >= n.
 * q gets m-n+1 digits, r gets n digits.
 */
static void
divmnu(uint32_t *q, uint32_t *r, const uint32_t *u, const uint32_t *v, int m, int n)
{
	const uint64_t b = (uint64_t)1 << 32;
	uint32_t un[9], vn[4];
	uint64_t qhat, rhat, p;
	int64_t t, k;
	int s = nlz32(v[n - 1]), i, j;

	for (i = n - 1; i > 0; i--)
		vn[i] = (uint32_t)((v[i] << s) | ((uint64_t)v[i - 1] >> (32 - s)));
	vn[0] = v[0] << s;
	un[m] = (uint32_t)((uint64_t)u[m - 1] >> (32 - s));
	for (i = m - 1; i > 0; i--)
		un[i] = (uint32_t)((u[i] << s) | ((uint64_t)u[i - 1] >> (32 - s)));
	un[0] = u[0] << s;
	for (j = m - n; j >= 0; j--) {
		uint64_t num = (uint64_t)un[j + n] * b + un[j + n - 1];
		qhat = num / vn[n - 1];
		rhat = num - qhat * vn[n - 1];
		while (qhat >= b || qhat * vn[n - 2] > b * rhat + un[j + n - 2]) {
			qhat--;
			rhat += vn[n - 1];
			if (rhat >= b)
				break;
		}
		k = 0;
		for (i = 0; i < n; i++) {
			p = qhat * vn[i];
			t = (int64_t)un[i + j] - k - (int64_t)(p & 0xffffffffu);
			un[i + j] = (uint32_t)t;
			k = (int64_t)(p >> 32) - (t >> 32);
		}
		t = (int64_t)un[j + n] - k;
		un[j + n] = (uint32_t)t;
		q[j] = (uint32_t)qhat;
		if (t < 0) {
			q[j]--;
			k = 0;
			for (i = 0; i < n; i++) {
				t = (int64_t)((uint64_t)un[i + j] + vn[i] + (uint64_t)k);
				un[i + j] = (uint32_t)t;
				k = t >> 32;
			}
			un[j + n] = (uint32_t)(un[j + n] + (uint32_t)k);
		}
	}
	for (i = 0; i < n - 1; i++)
		r[i] = (uint32_t)((un[i] >> s) | ((uint64_t)un[i + 1] << (32 - s)));
	r[n - 1] = un[n - 1] >> s;
}

/* (w / d, w % d) when the quotient fits 128 bits; -1 otherwise. d != 0. */
static int
div256(const uint64_t w[4], u128 d, u128 *q, u128 *r)
{
	u128 hi = ((u128)w[3] << 64) | w[2], lo = ((u128)w[1] << 64) | w[0];
	uint32_t u[8], v[4], qq[8], rr[4];
	int n;

	if (hi == 0) {
		*q = lo / d;
		*r = lo % d;
		return 0;
	}
	if (hi >= d)
		return -1;
	if ((d >> 64) == 0) {
		/* hi < d < 2^64: two 128/64 steps */
		u128 cur = (hi << 64) | w[1];
		uint64_t q1 = (uint64_t)(cur / d);
		cur = ((cur % d) << 64) | w[0];
		*q = ((u128)q1 << 64) | (uint64_t)(cur / d);
		*r = cur % d;
		return 0;
	}
	for (int i = 0; i < 4; i++) {
		u[2 * i] = (uint32_t)w[i];
		u[2 * i + 1] = (uint32_t)(w[i] >> 32);
		v[i] = (uint32_t)(d >> (32 * i));
	}
	n = v[3] != 0 ? 4 : 3;
	divmnu(qq, rr, u, v, 8, n);
	/* hi < d guarantees the quotient digits above 4 are zero */
	*q = ((u128)qq[3] << 96) | ((u128)qq[2] << 64) | ((u128)qq[1] << 32) | qq[0];
	*r = 0;
	for (int i = n - 1; i >= 0; i--)
		*r = (*r << 32) | rr[i];
	return 0;
}

/* round_half_even(x * y / z) with one rounding; -1 on overflow or z == 0. */
static int
muldiv_raw(__int128 x, __int128 y, __int128 z, __int128 *out)
{
	uint64_t w[4];
	u128 q, r, az = mag(z);
	int neg = (x < 0) ^ (y < 0) ^ (z < 0);

	if (z == 0)
		return -1;
	mul256(w, mag(x), mag(y));
	if (div256(w, az, &q, &r) == -1)
		return -1;
	/* r < az <= 2^127, so az - r does not wrap */
	if (r > az - r || (r == az - r && (q & 1))) {
		if (++q == 0)
			return -1;
	}
	return signed_of(q, neg && q != 0, out);
}

int
dec_mul(struct dec *out, struct dec a, struct dec b)
{
	return muldiv_raw(a.raw, b.raw, ONE_RAW, &out->raw);
}

int
dec_div(struct dec *out, struct dec a, struct dec b)
{
	return muldiv_raw(a.raw, ONE_RAW, b.raw, &out->raw);
}

int
dec_muldiv(struct dec *out, struct dec a, struct dec b, struct dec c)
{
	/* (a/S)(b/S)/(c/S) = ab/(cS): in raw units that is exactly a*b/c */
	return muldiv_raw(a.raw, b.raw, c.raw, &out->raw);
}

int
dec_round(struct dec *out, struct dec a, unsigned places)
{
	u128 m = mag(a.raw), d, q, r;

	if (places > DEC_SCALE)
		return -1;
	d = pow10u(DEC_SCALE - places);
	q = m / d;
	r = m % d;
	if (r > d - r || (r == d - r && (q & 1)))
		q++;
	if (q > U128_TOP / d)
		return -1;
	return signed_of(q * d, a.raw < 0, &out->raw);
}

int
dec_cmp(struct dec a, struct dec b)
{
	return (a.raw > b.raw) - (a.raw < b.raw);
}

int
dec_sign(struct dec a)
{
	return (a.raw > 0) - (a.raw < 0);
}

bool
dec_is_zero(struct dec a)
{
	return a.raw == 0;
}

double
dec_to_double(struct dec a)
{
	return (double)(a.raw / ONE_RAW) + (double)(a.raw % ONE_RAW) / 1e18;
}
