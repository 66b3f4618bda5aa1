#include "core/series.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/timeutil.h"
#include "util/xalloc.h"

#define NUMBER_MAX	64	/* longest numeric field accepted */

void
series_init(struct series *s)
{
	memset(s, 0, sizeof(*s));
	s->dated = -1;
}

void
series_clear(struct series *s)
{
	free(s->v);
	free(s->ms);
	series_init(s);
}

void
series_push(struct series *s, double v, int64_t ms)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
		s->ms = xreallocarray(s->ms, s->cap, sizeof(*s->ms));
	}
	s->v[s->n] = v;
	s->ms[s->n] = ms;
	s->n++;
}

int
series_parse_number(const char *s, size_t len, double *out)
{
	char buf[NUMBER_MAX + 1], *end;
	double v;

	if (len == 0 || len > NUMBER_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && strchr("+-.eE", s[i]) == NULL)
			return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, &end);
	if (end != buf + len || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* "nan", "-inf", "Infinity"...: a bad number, never a header. */
static int
nonfinite_word(const char *s, size_t len)
{
	static const char *const words[] = { "nan", "inf", "infinity" };

	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		s++;
		len--;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == len && strncasecmp(s, words[i], len) == 0)
			return 1;
	return 0;
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && ((*s)[0] == ' ' || (*s)[0] == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\r'))
		(*len)--;
}

/*
 * Parses one non-blank line (already trimmed). Returns 0, 1 for a header
 * line to skip (only when first), or -1 with *errstr set.
 */
static int
parse_line(struct series *s, const char *p, size_t len, int first, const char **errstr)
{
	const char *comma = memchr(p, ',', len), *f1 = p, *f2;
	size_t l1 = len, l2;
	int64_t ms = 0;
	double v;

	if (comma != NULL) {
		l1 = (size_t)(comma - p);
		f2 = comma + 1;
		l2 = len - l1 - 1;
		if (memchr(f2, ',', l2) != NULL) {
			*errstr = "too many fields (expected 'return' or 'date,return')";
			return -1;
		}
		trim(&f1, &l1);
		trim(&f2, &l2);
	} else {
		f2 = p;
		l2 = len;
	}
	if (series_parse_number(f2, l2, &v) == -1) {
		if (first && isalpha((unsigned char)p[0]) && !nonfinite_word(f2, l2))
			return 1;
		*errstr = l2 == 0 ? "missing return" : "malformed return (expected a finite decimal number)";
		return -1;
	}
	if (s->dated == -1)
		s->dated = comma != NULL;
	if (s->dated != (comma != NULL)) {
		*errstr = s->dated ? "missing date (earlier lines are 'date,return')" :
		    "unexpected date (earlier lines are bare returns)";
		return -1;
	}
	if (s->dated) {
		if (time_parse_iso(f1, l1, &ms) == -1) {
			*errstr = "malformed date (expected YYYY-MM-DD or ISO 8601 UTC)";
			return -1;
		}
		if (s->n > 0 && ms <= s->ms[s->n - 1]) {
			*errstr = "date not after the previous line's date";
			return -1;
		}
	}
	series_push(s, v, ms);
	return 0;
}

int
series_parse(struct series *s, const char *buf, size_t len, size_t *lineno, const char **errstr)
{
	const char *p = buf, *end = buf + len, *nl, *q;
	size_t l;
	int first = 1;

	series_init(s);
	*lineno = 0;
	while (p < end) {
		(*lineno)++;
		nl = memchr(p, '\n', (size_t)(end - p));
		l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (memchr(p, '\0', l) != NULL) {
			*errstr = "NUL byte";
			goto fail;
		}
		q = p;
		trim(&q, &l);
		if (l > 0) {
			if (parse_line(s, q, l, first, errstr) == -1)
				goto fail;
			first = 0;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
fail:
	series_clear(s);
	return -1;
}

int
series_pair(const struct series *r, const struct series *b, double **pr, double **pb, size_t *np,
    const char **errstr)
{
	size_t i = 0, j = 0, k = 0, cap;
	int join = r->dated == 1 && b->dated == 1;

	if (!join && r->n != b->n) {
		*errstr = "undated series pair by position and differ in length";
		return -1;
	}
	cap = r->n < b->n ? r->n : b->n;
	*pr = xcalloc(cap + 1, sizeof(**pr));
	*pb = xcalloc(cap + 1, sizeof(**pb));
	if (!join) {
		if (cap > 0) {
			memcpy(*pr, r->v, cap * sizeof(**pr));
			memcpy(*pb, b->v, cap * sizeof(**pb));
		}
		*np = cap;
		return 0;
	}
	/* Both sorted by date: a merge join. */
	while (i < r->n && j < b->n) {
		if (r->ms[i] < b->ms[j])
			i++;
		else if (r->ms[i] > b->ms[j])
			j++;
		else {
			(*pr)[k] = r->v[i++];
			(*pb)[k] = b->v[j++];
			k++;
		}
	}
	*np = k;
	return 0;
}
