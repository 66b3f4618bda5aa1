#include "core/marks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/csvrow.h"
#include "core/fill.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

struct mark {
	char symbol[FILL_SYMBOL_MAX];
	int64_t day;
	struct dec price;
};

struct marks {
	struct mark *v;			/* sorted by (symbol, day) */
	size_t n, cap;
	int64_t first, last;
};

static int
add(struct marks *m, const char *sym, size_t symlen, int64_t day, const char *p, size_t plen,
    const char **errstr)
{
	struct mark *k;

	if (symlen == 0 || symlen >= FILL_SYMBOL_MAX || memchr(sym, '/', symlen) == NULL ||
	    memchr(sym, '\0', symlen) != NULL) {
		*errstr = "symbol: not BASE/QUOTE";
		return -1;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 64;
		m->v = xreallocarray(m->v, m->cap, sizeof(*m->v));
	}
	k = &m->v[m->n];
	memset(k, 0, sizeof(*k));
	memcpy(k->symbol, sym, symlen);
	k->day = day;
	if (dec_parse(p, plen, &k->price, errstr) == -1)
		return -1;
	if (dec_sign(k->price) < 0) {
		*errstr = "price: must not be negative";
		return -1;
	}
	m->n++;
	return 0;
}

static int
cmp_mark(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;
	int c = strcmp(x->symbol, y->symbol);

	if (c != 0)
		return c;
	return x->day < y->day ? -1 : x->day > y->day;
}

static int
parse_csv(struct marks *m, const char *buf, size_t len, char *where, const char **errstr)
{
	struct csvrow r;
	struct csvrow_field f[3];
	int n, col[3] = { -1, -1, -1 };	/* date, symbol, price */
	static const char *const names[3] = { "date", "symbol", "price" };
	int64_t day;

	csvrow_init(&r, buf, len);
	if ((n = csvrow_next(&r, f, 3, errstr)) <= 0) {
		if (n == 0)
			*errstr = "no header";
		goto fail;
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < 3; j++)
			if (csvrow_is(&f[i], names[j]))
				col[j] = i;
	if (n != 3 || col[0] < 0 || col[1] < 0 || col[2] < 0) {
		*errstr = "header must name the columns date, symbol and price";
		goto fail;
	}
	while ((n = csvrow_next(&r, f, 3, errstr)) > 0) {
		if (n != 3) {
			*errstr = "expected date,symbol,price";
			goto fail;
		}
		if (time_parse_date(f[col[0]].s, f[col[0]].len, &day) == -1) {
			*errstr = "date: expected YYYY-MM-DD";
			goto fail;
		}
		if (add(m, f[col[1]].s, f[col[1]].len, day, f[col[2]].s, f[col[2]].len, errstr) == -1)
			goto fail;
	}
	if (n == 0)
		return 0;
fail:
	if (r.line > 0)
		snprintf(where, MARKS_WHERE_MAX, "line %zu", r.line);
	return -1;
}

static int
parse_json(struct marks *m, const char *buf, size_t len, char *where, const char **errstr)
{
	json_t *root, *day_o, *v;
	const char *date, *sym;
	int line = 0, rc = -1;
	int64_t day;

	if ((root = fill_json_loads(buf, len, &line, errstr)) == NULL) {
		snprintf(where, MARKS_WHERE_MAX, "line %d", line);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(where, MARKS_WHERE_MAX, "top level");
		*errstr = "expected {\"YYYY-MM-DD\": {\"SYMBOL\": price, ...}, ...}";
		goto out;
	}
	json_object_foreach(root, date, day_o) {
		snprintf(where, MARKS_WHERE_MAX, "%.16s", date);
		if (time_parse_date(date, strlen(date), &day) == -1) {
			*errstr = "date: expected YYYY-MM-DD";
			goto out;
		}
		if (!json_is_object(day_o)) {
			*errstr = "expected an object of symbol: price";
			goto out;
		}
		json_object_foreach(day_o, sym, v) {
			snprintf(where, MARKS_WHERE_MAX, "%.16s %.50s", date, sym);
			if (!json_is_string(v)) {
				*errstr = "price: not a decimal number";
				goto out;
			}
			if (add(m, sym, strlen(sym), day, json_string_value(v), json_string_length(v),
			    errstr) == -1)
				goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

struct marks *
marks_parse(const char *buf, size_t len, char *where, const char **errstr)
{
	struct marks *m = xcalloc(1, sizeof(*m));
	size_t k = 0;
	int rc;

	where[0] = '\0';
	while (k < len && (buf[k] == ' ' || buf[k] == '\t' || buf[k] == '\r' || buf[k] == '\n'))
		k++;
	if (k < len && buf[k] == '{')
		rc = parse_json(m, buf, len, where, errstr);
	else
		rc = parse_csv(m, buf, len, where, errstr);
	if (rc == -1)
		goto fail;
	if (m->n == 0) {
		*errstr = "no marks";
		goto fail;
	}
	qsort(m->v, m->n, sizeof(*m->v), cmp_mark);
	m->first = m->last = m->v[0].day;
	for (size_t i = 0; i < m->n; i++) {
		if (i > 0 && cmp_mark(&m->v[i - 1], &m->v[i]) == 0) {
			char d[TIME_DATE_LEN];

			time_format_date(d, m->v[i].day);
			snprintf(where, MARKS_WHERE_MAX, "%s %s", d, m->v[i].symbol);
			*errstr = "two marks for the same date and symbol";
			goto fail;
		}
		if (m->v[i].day < m->first)
			m->first = m->v[i].day;
		if (m->v[i].day > m->last)
			m->last = m->v[i].day;
	}
	return m;
fail:
	marks_free(m);
	return NULL;
}

void
marks_free(struct marks *m)
{
	if (m == NULL)
		return;
	free(m->v);
	free(m);
}

int64_t
marks_first_day(const struct marks *m)
{
	return m->first;
}

int64_t
marks_last_day(const struct marks *m)
{
	return m->last;
}

int
marks_price(const struct marks *m, const char *symbol, int64_t day, int carry, struct dec *price,
    int64_t *from)
{
	size_t lo = 0, hi = m->n, mid;
	struct mark key;
	const struct mark *k;

	if (strlen(symbol) >= sizeof(key.symbol))
		return -1;
	memset(&key, 0, sizeof(key));
	strcpy(key.symbol, symbol);
	key.day = day;
	/* lo = the first entry greater than (symbol, day) */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cmp_mark(&m->v[mid], &key) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -1;
	k = &m->v[lo - 1];
	if (strcmp(k->symbol, symbol) != 0 || (!carry && k->day != day))
		return -1;
	*price = k->price;
	if (from != NULL)
		*from = k->day;
	return 0;
}
