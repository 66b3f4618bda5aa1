#include "core/pack.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

void
pack_init(struct pack *w)
{
	memset(w, 0, sizeof(*w));
}

void
pack_free(struct pack *w)
{
	if (w->buf != NULL)
		OPENSSL_cleanse(w->buf, w->cap);
	free(w->buf);
	pack_init(w);
}

/* Grows by copying into a fresh buffer and wiping the old one: realloc
 * would leave the old bytes in freed memory. */
static uint8_t *
room(struct pack *w, size_t n)
{
	if (n > SIZE_MAX / 2 - w->len)
		abort();
	if (w->len + n > w->cap) {
		size_t cap = w->cap != 0 ? w->cap : 256;
		uint8_t *nb;

		while (cap < w->len + n)
			cap *= 2;
		nb = xmalloc(cap);
		if (w->len > 0)
			memcpy(nb, w->buf, w->len);
		if (w->buf != NULL)
			OPENSSL_cleanse(w->buf, w->cap);
		free(w->buf);
		w->buf = nb;
		w->cap = cap;
	}
	w->len += n;
	return w->buf + w->len - n;
}

static void
put_be(struct pack *w, uint64_t v, int bytes)
{
	uint8_t *p = room(w, (size_t)bytes);

	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

void
pack_u8(struct pack *w, uint8_t v)
{
	put_be(w, v, 1);
}

void
pack_bool(struct pack *w, bool v)
{
	put_be(w, v ? 1 : 0, 1);
}

void
pack_u32(struct pack *w, uint32_t v)
{
	put_be(w, v, 4);
}

void
pack_u64(struct pack *w, uint64_t v)
{
	put_be(w, v, 8);
}

void
pack_i64(struct pack *w, int64_t v)
{
	put_be(w, (uint64_t)v, 8);
}

void
pack_dec(struct pack *w, struct dec v)
{
	unsigned __int128 u = (unsigned __int128)v.raw;

	put_be(w, (uint64_t)(u >> 64), 8);
	put_be(w, (uint64_t)u, 8);
}

void
pack_bytes(struct pack *w, const void *p, size_t n)
{
	if (n > UINT32_MAX)
		abort();
	pack_u32(w, (uint32_t)n);
	if (n > 0)
		memcpy(room(w, n), p, n);
}

void
pack_str(struct pack *w, const char *s)
{
	pack_bytes(w, s, strlen(s));
}

void
unpack_init(struct unpack *r, const void *buf, size_t len)
{
	r->p = buf;
	r->len = len;
	r->off = 0;
	r->bad = false;
}

static const uint8_t *
take(struct unpack *r, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	r->off += n;
	return r->p + r->off - n;
}

static uint64_t
get_be(struct unpack *r, int bytes)
{
	const uint8_t *p = take(r, (size_t)bytes);
	uint64_t v = 0;

	if (p == NULL)
		return 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

uint8_t
unpack_u8(struct unpack *r)
{
	return (uint8_t)get_be(r, 1);
}

bool
unpack_bool(struct unpack *r)
{
	uint8_t v = unpack_u8(r);

	if (v > 1)
		r->bad = true;
	return v == 1;
}

uint32_t
unpack_u32(struct unpack *r)
{
	return (uint32_t)get_be(r, 4);
}

uint64_t
unpack_u64(struct unpack *r)
{
	return get_be(r, 8);
}

int64_t
unpack_i64(struct unpack *r)
{
	return (int64_t)get_be(r, 8);
}

struct dec
unpack_dec(struct unpack *r)
{
	uint64_t hi = get_be(r, 8), lo = get_be(r, 8);
	struct dec d;

	if (r->bad)
		return DEC_ZERO;
	d.raw = (__int128)((unsigned __int128)hi << 64 | lo);
	return d;
}

void
unpack_str(struct unpack *r, char *out, size_t cap)
{
	uint32_t n = unpack_u32(r);
	const uint8_t *p;

	out[0] = '\0';
	if (r->bad || n >= cap) {
		r->bad = true;
		return;
	}
	p = take(r, n);
	if (p == NULL || memchr(p, '\0', n) != NULL) {
		r->bad = true;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

void
unpack_fixed(struct unpack *r, void *out, size_t n)
{
	uint32_t got = unpack_u32(r);
	const uint8_t *p;

	if (r->bad || got != n) {
		r->bad = true;
		memset(out, 0, n);
		return;
	}
	p = take(r, n);
	if (p == NULL)
		memset(out, 0, n);
	else if (n > 0)
		memcpy(out, p, n);
}

size_t
unpack_count(struct unpack *r, size_t min_item, size_t max)
{
	uint32_t n = unpack_u32(r);

	if (min_item == 0)
		min_item = 1;
	if (r->bad || n > max || n > (r->len - r->off) / min_item) {
		r->bad = true;
		return 0;
	}
	return n;
}

void
unpack_fail(struct unpack *r)
{
	r->bad = true;
}

bool
unpack_ok(const struct unpack *r)
{
	return !r->bad;
}

bool
unpack_end(const struct unpack *r)
{
	return !r->bad && r->off == r->len;
}
