/*
 * promtext: a strict parser of the Prometheus text exposition format 0.0.4,
 * for tests. It checks what a scraper relies on: HELP/TYPE lines (at most one
 * each per family, TYPE before the family's samples), metric and label name
 * syntax, label value escaping (\\ \" \n only), float values, one group per
 * family, no duplicate series, and for histograms: _bucket/_sum/_count only,
 * le ascending with cumulative counts, a le="+Inf" bucket equal to _count.
 */
#ifndef PERFAGG_TESTS_PROMTEXT_H
#define PERFAGG_TESTS_PROMTEXT_H

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define PROMTEXT_MAX_LABELS 8

struct promtext_sample {
	char *name;			/* as written (with _bucket/_sum/_count) */
	char *family;			/* the family it belongs to */
	size_t nlabels;
	char *lname[PROMTEXT_MAX_LABELS];
	char *lvalue[PROMTEXT_MAX_LABELS];	/* unescaped */
	double value;
};

struct promtext_family {
	char *name;
	char type[16];
	bool has_help, has_type, closed;
};

struct promtext {
	struct promtext_sample *s;
	size_t n;
	struct promtext_family **f;	/* each allocated alone: pointers to them stay valid */
	size_t nf;
	char err[160];
};

static inline bool
promtext_name_ok(const char *s, size_t n, bool metric)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || (metric && s[0] == ':')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || (metric && s[i] == ':')))
			return false;
	return true;
}

/* A Go ParseFloat-compatible subset: decimal or exponent form, NaN, +Inf, -Inf. */
static inline bool
promtext_float(const char *s, size_t n, double *v)
{
	char buf[64], *end;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "Inf") == 0) {
		*v = INFINITY;
		return true;
	}
	if (strcmp(buf, "-Inf") == 0) {
		*v = -INFINITY;
		return true;
	}
	if (strcmp(buf, "NaN") == 0) {
		*v = NAN;
		return true;
	}
	for (size_t i = 0; i < n; i++)
		if (!(isdigit((unsigned char)buf[i]) || strchr("+-.eE", buf[i]) != NULL))
			return false;
	*v = strtod(buf, &end);
	return end == buf + n;
}

static inline struct promtext_family *
promtext_family_get(struct promtext *p, const char *name, size_t n, bool create)
{
	for (size_t i = 0; i < p->nf; i++)
		if (strlen(p->f[i]->name) == n && memcmp(p->f[i]->name, name, n) == 0)
			return p->f[i];
	if (!create)
		return NULL;
	p->f = xrealloc(p->f, (p->nf + 1) * sizeof(*p->f));
	p->f[p->nf] = xcalloc(1, sizeof(**p->f));
	p->f[p->nf]->name = xstrndup(name, n);
	return p->f[p->nf++];
}

static inline bool
promtext_has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a > b && strcmp(s + a - b, suf) == 0;
}

/* The family a sample name belongs to: a histogram's name_bucket etc. when
 * that histogram was declared, else the name itself. */
static inline struct promtext_family *
promtext_family_of(struct promtext *p, const char *name, size_t n)
{
	static const char *const sufs[] = { "_bucket", "_sum", "_count" };
	struct promtext_family *f;

	for (size_t i = 0; i < 3; i++) {
		size_t k = strlen(sufs[i]);
		if (n > k && memcmp(name + n - k, sufs[i], k) == 0 &&
		    (f = promtext_family_get(p, name, n - k, false)) != NULL && strcmp(f->type, "histogram") == 0)
			return f;
	}
	return promtext_family_get(p, name, n, true);
}

#define PROMTEXT_FAIL(...) do { snprintf(p->err, sizeof(p->err), __VA_ARGS__); return -1; } while (0)

static inline int
promtext_comment(struct promtext *p, const char *l, size_t n, struct promtext_family **cur)
{
	const char *kw, *name, *rest;
	size_t kwn, namen;
	struct promtext_family *f;

	if (n < 2 || l[1] != ' ')
		return 0;	/* "#..." is a plain comment */
	kw = l + 2;
	for (kwn = 0; kw + kwn < l + n && kw[kwn] != ' '; kwn++)
		;
	if (!((kwn == 4 && memcmp(kw, "HELP", 4) == 0) || (kwn == 4 && memcmp(kw, "TYPE", 4) == 0)))
		return 0;
	name = kw + kwn + 1;
	if (name > l + n)
		PROMTEXT_FAIL("%.4s without a metric name", kw);
	for (namen = 0; name + namen < l + n && name[namen] != ' '; namen++)
		;
	if (!promtext_name_ok(name, namen, true))
		PROMTEXT_FAIL("bad metric name in %.4s line", kw);
	rest = name + namen < l + n ? name + namen + 1 : l + n;
	f = promtext_family_get(p, name, namen, true);
	if (f->closed)
		PROMTEXT_FAIL("%s: %.4s after the family's group ended", f->name, kw);
	if (*cur != NULL && *cur != f)
		(*cur)->closed = true;
	*cur = f;
	if (kw[0] == 'H') {
		if (f->has_help)
			PROMTEXT_FAIL("%s: second HELP", f->name);
		for (const char *c = rest; c < l + n; c++)
			if (*c == '\\' && (c + 1 >= l + n || (c[1] != '\\' && c[1] != 'n')))
				PROMTEXT_FAIL("%s: bad escape in HELP", f->name);
		f->has_help = true;
		return 0;
	}
	if (f->has_type)
		PROMTEXT_FAIL("%s: second TYPE", f->name);
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->s[i].family, f->name) == 0)
			PROMTEXT_FAIL("%s: TYPE after its samples", f->name);
	if ((size_t)(l + n - rest) >= sizeof(f->type))
		PROMTEXT_FAIL("%s: unknown type", f->name);
	memcpy(f->type, rest, (size_t)(l + n - rest));
	f->type[l + n - rest] = '\0';
	if (strcmp(f->type, "counter") != 0 && strcmp(f->type, "gauge") != 0 && strcmp(f->type, "histogram") != 0 &&
	    strcmp(f->type, "summary") != 0 && strcmp(f->type, "untyped") != 0)
		PROMTEXT_FAIL("%s: unknown type '%s'", f->name, f->type);
	f->has_type = true;
	return 0;
}

static inline void
promtext_sample_clear(struct promtext_sample *s)
{
	free(s->name);
	for (size_t k = 0; k < s->nlabels; k++) {
		free(s->lname[k]);
		free(s->lvalue[k]);
	}
}

static inline int
promtext_sample_line(struct promtext *p, const char *l, size_t n, struct promtext_family **cur)
{
	struct promtext_sample s = { 0 };
	struct promtext_family *f;
	const char *c = l, *e = l + n, *v;
	size_t k;

#define SFAIL(...) do { snprintf(p->err, sizeof(p->err), __VA_ARGS__); promtext_sample_clear(&s); return -1; } while (0)
	while (c < e && (isalnum((unsigned char)*c) || *c == '_' || *c == ':'))
		c++;
	if (!promtext_name_ok(l, (size_t)(c - l), true))
		SFAIL("bad metric name at '%.20s'", l);
	f = promtext_family_of(p, l, (size_t)(c - l));
	if (f->closed)
		SFAIL("%s: samples not in one group", f->name);
	if (*cur != NULL && *cur != f)
		(*cur)->closed = true;
	*cur = f;
	s.name = xstrndup(l, (size_t)(c - l));
	s.family = f->name;
	if (c < e && *c == '{') {
		c++;
		while (c < e && *c != '}') {
			const char *ln = c;
			char *val;
			size_t vn = 0;
			while (c < e && (isalnum((unsigned char)*c) || *c == '_'))
				c++;
			if (!promtext_name_ok(ln, (size_t)(c - ln), false) || (c - ln >= 2 && ln[0] == '_' && ln[1] == '_'))
				SFAIL("%s: bad label name", s.name);
			if (c + 1 >= e || c[0] != '=' || c[1] != '"')
				SFAIL("%s: expected =\" after a label name", s.name);
			if (s.nlabels == PROMTEXT_MAX_LABELS)
				SFAIL("%s: too many labels", s.name);
			for (k = 0; k < s.nlabels; k++)
				if (strlen(s.lname[k]) == (size_t)(c - ln) && memcmp(s.lname[k], ln, (size_t)(c - ln)) == 0)
					SFAIL("%s: label repeated", s.name);
			s.lname[s.nlabels] = xstrndup(ln, (size_t)(c - ln));
			c += 2;
			val = s.lvalue[s.nlabels++] = xmalloc((size_t)(e - c) + 1);
			while (c < e && *c != '"') {
				if (*c == '\n')
					SFAIL("%s: raw newline in a label value", s.name);
				if (*c == '\\') {
					if (c + 1 >= e || (c[1] != '\\' && c[1] != '"' && c[1] != 'n'))
						SFAIL("%s: bad escape in a label value", s.name);
					val[vn++] = c[1] == 'n' ? '\n' : c[1];
					c += 2;
					continue;
				}
				val[vn++] = *c++;
			}
			if (c >= e)
				SFAIL("%s: unterminated label value", s.name);
			val[vn] = '\0';
			c++;
			if (c < e && *c == ',')
				c++;
			else if (c < e && *c != '}')
				SFAIL("%s: expected , or } after a label", s.name);
		}
		if (c >= e)
			SFAIL("%s: unterminated label set", s.name);
		c++;
	}
	if (c >= e || *c != ' ')
		SFAIL("%s: expected a space before the value", s.name);
	c++;
	for (v = c; c < e && *c != ' '; c++)
		;
	if (!promtext_float(v, (size_t)(c - v), &s.value))
		SFAIL("%s: bad value '%.*s'", s.name, (int)(c - v), v);
	if (c < e) {	/* optional timestamp: an integer */
		c++;
		if (c == e || (*c == '-' && c + 1 == e))
			SFAIL("%s: empty timestamp", s.name);
		for (const char *t = *c == '-' ? c + 1 : c; t < e; t++)
			if (!isdigit((unsigned char)*t))
				SFAIL("%s: bad timestamp", s.name);
	}
	/* No two samples of one series. */
	for (size_t i = 0; i < p->n; i++) {
		bool same = strcmp(p->s[i].name, s.name) == 0 && p->s[i].nlabels == s.nlabels;
		for (size_t a = 0; same && a < s.nlabels; a++) {
			bool found = false;
			for (size_t b = 0; b < s.nlabels; b++)
				found |= strcmp(p->s[i].lname[b], s.lname[a]) == 0 && strcmp(p->s[i].lvalue[b], s.lvalue[a]) == 0;
			same = found;
		}
		if (same)
			SFAIL("%s: duplicate series", s.name);
	}
	p->s = xrealloc(p->s, (p->n + 1) * sizeof(*p->s));
	p->s[p->n++] = s;
	return 0;
#undef SFAIL
}

static inline const char *
promtext_label(const struct promtext_sample *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->lname[i], name) == 0)
			return s->lvalue[i];
	return NULL;
}

/* True when a and b carry the same labels, ignoring "le". */
static inline bool
promtext_same_series(const struct promtext_sample *a, const struct promtext_sample *b)
{
	size_t na = 0, nb = 0;

	for (size_t i = 0; i < a->nlabels; i++) {
		const char *v;
		if (strcmp(a->lname[i], "le") == 0)
			continue;
		na++;
		if ((v = promtext_label(b, a->lname[i])) == NULL || strcmp(v, a->lvalue[i]) != 0)
			return false;
	}
	for (size_t i = 0; i < b->nlabels; i++)
		nb += strcmp(b->lname[i], "le") != 0;
	return na == nb;
}

static inline int
promtext_check_histograms(struct promtext *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct promtext_sample *s = &p->s[i];
		struct promtext_family *f = promtext_family_get(p, s->family, strlen(s->family), false);
		double prev_le = -INFINITY, prev_v = 0, inf = -1, count = -1;
		bool sum = false;

		if (strcmp(f->type, "histogram") != 0) {
			if (strcmp(s->name, s->family) != 0)
				PROMTEXT_FAIL("%s: name differs from its family", s->name);
			if (promtext_label(s, "le") != NULL && strcmp(f->type, "summary") != 0)
				PROMTEXT_FAIL("%s: le label outside a histogram", s->name);
			continue;
		}
		if (!promtext_has_suffix(s->name, "_bucket") && !promtext_has_suffix(s->name, "_sum") &&
		    !promtext_has_suffix(s->name, "_count"))
			PROMTEXT_FAIL("%s: a histogram sample must be _bucket, _sum or _count", s->name);
		if (!promtext_has_suffix(s->name, "_bucket")) {
			if (promtext_label(s, "le") != NULL)
				PROMTEXT_FAIL("%s: le outside _bucket", s->name);
			continue;
		}
		/* Check the series once, from its first bucket. */
		{
			bool first = true;
			for (size_t j = 0; j < i; j++)
				if (strcmp(p->s[j].name, s->name) == 0 && promtext_same_series(&p->s[j], s))
					first = false;
			if (!first)
				continue;
		}
		for (size_t j = i; j < p->n; j++) {
			struct promtext_sample *b = &p->s[j];
			const char *le;
			double lev;
			if (strcmp(b->family, s->family) != 0 || !promtext_same_series(b, s))
				continue;
			if (promtext_has_suffix(b->name, "_sum")) {
				sum = true;
				continue;
			}
			if (promtext_has_suffix(b->name, "_count")) {
				count = b->value;
				continue;
			}
			le = promtext_label(b, "le");
			if (le == NULL || !promtext_float(le, strlen(le), &lev) || isnan(lev))
				PROMTEXT_FAIL("%s: bucket without a valid le", b->name);
			if (lev <= prev_le)
				PROMTEXT_FAIL("%s: le not ascending at %s", b->name, le);
			if (b->value < prev_v || b->value != floor(b->value))
				PROMTEXT_FAIL("%s: bucket counts not cumulative integers at le=%s", b->name, le);
			prev_le = lev;
			prev_v = b->value;
			if (isinf(lev))
				inf = b->value;
		}
		if (inf < 0)
			PROMTEXT_FAIL("%s: no le=\"+Inf\" bucket", s->name);
		if (!sum || count < 0)
			PROMTEXT_FAIL("%s: _sum or _count missing", s->family);
		if (count != inf)
			PROMTEXT_FAIL("%s: _count %g != +Inf bucket %g", s->family, count, inf);
	}
	return 0;
}

/* Parses (buf, len). Returns 0, or -1 with p->err. Free with promtext_free(). */
static inline int
promtext_parse(struct promtext *p, const char *buf, size_t len)
{
	struct promtext_family *cur = NULL;
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	if (len > 0 && buf[len - 1] != '\n')
		PROMTEXT_FAIL("the last line does not end with a newline");
	while (i < len) {
		const char *l = buf + i, *nl = memchr(l, '\n', len - i);
		size_t n = (size_t)(nl - l);
		if (memchr(l, '\0', n) != NULL || memchr(l, '\r', n) != NULL)
			PROMTEXT_FAIL("NUL or CR in line '%.20s'", l);
		if (n > 0 && l[0] == '#') {
			if (promtext_comment(p, l, n, &cur) != 0)
				return -1;
		} else if (n > 0) {
			if (promtext_sample_line(p, l, n, &cur) != 0)
				return -1;
		}
		i += n + 1;
	}
	return promtext_check_histograms(p);
}

static inline void
promtext_free(struct promtext *p)
{
	for (size_t i = 0; i < p->n; i++)
		promtext_sample_clear(&p->s[i]);
	for (size_t i = 0; i < p->nf; i++) {
		free(p->f[i]->name);
		free(p->f[i]);
	}
	free(p->s);
	free(p->f);
	memset(p, 0, sizeof(*p));
}

/* The sum of the samples named name whose label (if not NULL) equals value;
 * -1 when there is none. */
static inline double
promtext_sum(const struct promtext *p, const char *name, const char *label, const char *value)
{
	double t = 0;
	bool any = false;

	for (size_t i = 0; i < p->n; i++) {
		const char *v;
		if (strcmp(p->s[i].name, name) != 0)
			continue;
		if (label != NULL && ((v = promtext_label(&p->s[i], label)) == NULL || strcmp(v, value) != 0))
			continue;
		t += p->s[i].value;
		any = true;
	}
	return any ? t : -1;
}

#undef PROMTEXT_FAIL
#endif
