/*
 * The text form of the sections `perfagg analyze` adds to the ledger report
 * (concentration and the return series), read back from their JSON so that
 * the table never says something the JSON does not.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/analyze.h"
#include "util/xalloc.h"

struct text {
	char *buf;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = 2 * t->cap + (size_t)(n > 0 ? n : 0);
		t->buf = xrealloc(t->buf, t->cap);
	}
	t->len += (size_t)n;
}

/* A JSON number, string or null as display text. */
static const char *
show(const json_t *v, char buf[32])
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, 32, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, 32, "%.6g", json_real_value(v));
	else if (json_is_boolean(v))
		return json_is_true(v) ? "yes" : "no";
	else
		return "-";
	return buf;
}

static void
concentration(struct text *t, json_t *c)
{
	json_t *by = json_object_get(c, "volume_hhi_by_quote"), *v;
	const char *k;
	char b[32];

	tprintf(t, "\nCONCENTRATION (HHI)\n");
	tprintf(t, "  %-28s %s\n", "account currency", show(json_object_get(c, "quote"), b));
	tprintf(t, "  %-28s %s\n", "volume_hhi", show(json_object_get(c, "volume_hhi"), b));
	json_object_foreach(by, k, v) {
		char label[64];

		snprintf(label, sizeof(label), "volume_hhi in %s", k);
		tprintf(t, "  %-28s %s\n", label, show(v, b));
	}
	if ((v = json_object_get(c, "exposure_hhi")) != NULL)
		tprintf(t, "  %-28s %s\n", "exposure_hhi (last marks)", show(v, b));
}

static void
daily(struct text *t, const json_t *acc, const json_t *days, const json_t *twr)
{
	const json_t *d;
	size_t i;
	char a[32], b[32];

	tprintf(t, "\nDAILY EQUITY (%s, capital %s, carried marks: %s)\n",
	    show(json_object_get(acc, "quote"), a), show(json_object_get(acc, "capital"), b),
	    show(json_object_get(acc, "carry_marks"), b));
	tprintf(t, "%-10s %22s %22s %22s %14s\n", "DATE", "EQUITY", "PNL", "FLOW", "RETURN");
	json_array_foreach(days, i, d) {
		char r[32];
		const json_t *ret = json_object_get(d, "return");

		if (json_is_real(ret))
			snprintf(r, sizeof(r), "%.8f", json_real_value(ret));
		else
			snprintf(r, sizeof(r), "-");
		tprintf(t, "%-10s %22s %22s %22s %14s\n", show(json_object_get(d, "date"), a),
		    json_string_value(json_object_get(d, "equity")),
		    json_string_value(json_object_get(d, "pnl")),
		    json_string_value(json_object_get(d, "flow")), r);
	}
	tprintf(t, "TWR %s\n", show(twr, a));
}

static void
statistics(struct text *t, json_t *st)
{
	const char *k;
	json_t *v;
	char b[32];

	tprintf(t, "\nSTATISTICS (daily returns)\n");
	json_object_foreach(st, k, v)
		tprintf(t, "  %-38s %s\n", k, show(v, b));
}

static void
correlation(struct text *t, const json_t *c)
{
	const json_t *syms = json_object_get(c, "symbols"), *rows = json_object_get(c, "matrix");
	size_t i, j;
	char b[32];

	tprintf(t, "\nCORRELATION OF DAILY PNL\n%-16s", "");
	for (i = 0; i < json_array_size(syms); i++)
		tprintf(t, " %16s", json_string_value(json_array_get(syms, i)));
	tprintf(t, "\n");
	for (i = 0; i < json_array_size(syms); i++) {
		tprintf(t, "%-16s", json_string_value(json_array_get(syms, i)));
		for (j = 0; j < json_array_size(syms); j++) {
			const json_t *v = json_array_get(json_array_get(rows, i), j);

			if (json_is_real(v))
				snprintf(b, sizeof(b), "%.6f", json_real_value(v));
			else
				snprintf(b, sizeof(b), "-");
			tprintf(t, " %16s", b);
		}
		tprintf(t, "\n");
	}
}

char *
analyze_table(json_t *rep)
{
	struct text t = { xmalloc(256), 0, 256 };
	json_t *v;

	t.buf[0] = '\0';
	if ((v = json_object_get(rep, "concentration")) != NULL)
		concentration(&t, v);
	if ((v = json_object_get(rep, "daily")) != NULL)
		daily(&t, json_object_get(rep, "account"), v, json_object_get(rep, "twr"));
	if ((v = json_object_get(rep, "statistics")) != NULL)
		statistics(&t, v);
	if ((v = json_object_get(rep, "correlation")) != NULL)
		correlation(&t, v);
	return t.buf;
}
