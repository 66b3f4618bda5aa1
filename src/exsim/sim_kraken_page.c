#include "exsim/sim_kraken_page.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

void
skp_view_init(struct skp_view *v, const struct exsim_account *a, int64_t now_ms)
{
	v->a = a;
	v->lo = xcalloc(a->nsymbols + 1, sizeof(*v->lo));
	v->hi = xcalloc(a->nsymbols + 1, sizeof(*v->hi));
	for (size_t k = 0; k < a->nsymbols; k++)
		v->hi[k] = exsim_visible(a, k, now_ms);
}

void
skp_view_free(struct skp_view *v)
{
	free(v->lo);
	free(v->hi);
	v->lo = v->hi = NULL;
}

/* First index of symbol k whose position is >= p. */
static uint64_t
idx_ge(const struct exsim_account *a, size_t k, const struct skp_pos *p)
{
	if (k == p->k)
		return p->i;
	return exsim_index_at(a, k, k < p->k ? p->ts + 1 : p->ts);
}

static void
clip(struct skp_view *v, size_t k)
{
	if (v->lo[k] > v->hi[k])
		v->lo[k] = v->hi[k];
}

/* Index of the first fill of symbol k after p. */
static uint64_t
idx_gt(const struct exsim_account *a, size_t k, const struct skp_pos *p)
{
	return idx_ge(a, k, p) + (k == p->k ? 1 : 0);
}

/* Raises lo[k] (lower) or lowers hi[k] to j. */
static void
bound(struct skp_view *v, size_t k, uint64_t j, bool lower)
{
	if (lower && j > v->lo[k])
		v->lo[k] = j;
	if (!lower && j < v->hi[k])
		v->hi[k] = j;
	clip(v, k);
}

void
skp_after(struct skp_view *v, const struct skp_pos *p)
{
	for (size_t k = 0; k < v->a->nsymbols; k++)
		bound(v, k, idx_gt(v->a, k, p), true);
}

void
skp_from_ts(struct skp_view *v, int64_t ts)
{
	for (size_t k = 0; k < v->a->nsymbols; k++)
		bound(v, k, exsim_index_at(v->a, k, ts), true);
}

void
skp_upto(struct skp_view *v, const struct skp_pos *p)
{
	for (size_t k = 0; k < v->a->nsymbols; k++)
		bound(v, k, idx_gt(v->a, k, p), false);
}

void
skp_before_ts(struct skp_view *v, int64_t ts)
{
	for (size_t k = 0; k < v->a->nsymbols; k++)
		bound(v, k, exsim_index_at(v->a, k, ts), false);
}

uint64_t
skp_count(const struct skp_view *v)
{
	uint64_t n = 0;

	for (size_t k = 0; k < v->a->nsymbols; k++)
		n += v->hi[k] - v->lo[k];
	return n;
}

/* Number of fills in the view with timestamp > t. */
static uint64_t
count_gt(const struct skp_view *v, int64_t t)
{
	uint64_t n = 0;

	for (size_t k = 0; k < v->a->nsymbols; k++) {
		uint64_t j = exsim_index_at(v->a, k, t + 1);
		if (j < v->lo[k])
			j = v->lo[k];
		if (j < v->hi[k])
			n += v->hi[k] - j;
	}
	return n;
}

static int
pos_cmp(const struct skp_pos *x, const struct skp_pos *y)
{
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->k != y->k)
		return x->k < y->k ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i ? 1 : 0;
}

/* The fill of rank r counted from the newest (r < count). */
static struct skp_pos
nth_newest(const struct skp_view *v, uint64_t r)
{
	const struct exsim_account *a = v->a;
	int64_t lo = INT64_MAX, hi = INT64_MIN, t;
	struct skp_pos best = { 0 };
	uint64_t skip;

	for (size_t k = 0; k < a->nsymbols; k++)
		if (v->lo[k] < v->hi[k]) {
			int64_t t0 = exsim_fill_ts(a, k, v->lo[k]), t1 = exsim_fill_ts(a, k, v->hi[k] - 1);
			if (t0 < lo)
				lo = t0;
			if (t1 > hi)
				hi = t1;
		}
	/* smallest t with count_gt(t) <= r: the rank-r fill's time */
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (count_gt(v, mid) <= r)
			hi = mid;
		else
			lo = mid + 1;
	}
	t = lo;
	skip = r - count_gt(v, t);
	/* among the fills at exactly t (at most one per symbol), newest
	 * first means highest symbol index first */
	for (size_t kk = a->nsymbols; kk-- > 0;) {
		uint64_t j = exsim_index_at(a, kk, t);
		if (j >= v->lo[kk] && j < v->hi[kk] && exsim_fill_ts(a, kk, j) == t) {
			if (skip == 0) {
				best.ts = t;
				best.k = kk;
				best.i = j;
				return best;
			}
			skip--;
		}
	}
	fatalx("sim_kraken_page: rank %llu not found", (unsigned long long)r);
}

size_t
skp_page(const struct skp_view *v, uint64_t rank, bool desc, struct skp_pos *out, size_t n)
{
	const struct exsim_account *a = v->a;
	uint64_t total = skp_count(v), *cur;
	struct skp_pos first;
	size_t got = 0;

	if (rank >= total || n == 0)
		return 0;
	first = nth_newest(v, desc ? rank : total - 1 - rank);
	cur = xcalloc(a->nsymbols + 1, sizeof(*cur));
	/* cur[k]: next index to take, as a count (desc: take cur-1) */
	for (size_t k = 0; k < a->nsymbols; k++) {
		uint64_t j = idx_ge(a, k, &first);
		if (desc)
			j += k == first.k ? 1 : 0;	/* positions <= first */
		if (j < v->lo[k])
			j = v->lo[k];
		if (j > v->hi[k])
			j = v->hi[k];
		cur[k] = j;
	}
	while (got < n) {
		struct skp_pos best = { 0 }, p;
		bool have = false;
		for (size_t k = 0; k < a->nsymbols; k++) {
			if (desc ? cur[k] <= v->lo[k] : cur[k] >= v->hi[k])
				continue;
			p.k = k;
			p.i = desc ? cur[k] - 1 : cur[k];
			p.ts = exsim_fill_ts(a, k, p.i);
			if (!have || (desc ? pos_cmp(&p, &best) > 0 : pos_cmp(&p, &best) < 0)) {
				best = p;
				have = true;
			}
		}
		if (!have)
			break;
		out[got++] = best;
		if (desc)
			cur[best.k]--;
		else
			cur[best.k]++;
	}
	free(cur);
	return got;
}

bool
skp_find_id(const struct exsim_account *a, int64_t now_ms, const char *id, struct skp_pos *p)
{
	struct skp_view v;
	struct skp_pos page[256];
	uint64_t rank = 0;
	size_t n;
	struct fill f;
	bool found = false;

	skp_view_init(&v, a, now_ms);
	while (!found && (n = skp_page(&v, rank, true, page, 256)) > 0) {
		for (size_t j = 0; j < n && !found; j++) {
			exsim_fill(a, page[j].k, page[j].i, &f);
			if (strcmp(f.id, id) == 0) {
				*p = page[j];
				found = true;
			}
		}
		rank += n;
	}
	skp_view_free(&v);
	return found;
}

void
skp_printf(struct skp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (n < 0)
			fatalx("sim_kraken_page: vsnprintf");
		if ((size_t)n < b->cap - b->n) {
			b->n += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 256;
		b->p = xrealloc(b->p, b->cap);
	}
}

void
skp_send(struct skp_buf *b, struct exsim_response *rs)
{
	exsim_body(rs, 200, b->p, b->n);
	memset(b, 0, sizeof(*b));
}
