/*
 * The text form of the sections `perfagg analyze` adds to the ledger report
 * (concentration and the return series), read back from their JSON so that
 * the table never says something the JSON does not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/analyze.h"
#include "util/textbuf.h"

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
concentration(struct textbuf *t, json_t *c)
{
	json_t *by = json_object_get(c, "volume_hhi_by_quote"), *v;
	const char *k;
	char b[32];

	textbuf_printf(t, "\nCONCENTRATION (HHI)\n");
	textbuf_printf(t, "  %-28s %s\n", "account currency", show(json_object_get(c, "quote"), b));
	textbuf_printf(t, "  %-28s %s\n", "volume_hhi", show(json_object_get(c, "volume_hhi"), b));
	json_object_foreach(by, k, v) {
		char label[64];

		snprintf(label, sizeof(label), "volume_hhi in %s", k);
		textbuf_printf(t, "  %-28s %s\n", label, show(v, b));
	}
	if ((v = json_object_get(c, "exposure_hhi")) != NULL)
		textbuf_printf(t, "  %-28s %s\n", "exposure_hhi (last marks)", show(v, b));
}

static void
daily(struct textbuf *t, const json_t *acc, const json_t *days, const json_t *twr)
{
	const json_t *d;
	size_t i;
	char a[32], b[32];

	textbuf_printf(t, "\nDAILY EQUITY (%s, capital %s, carried marks: %s)\n",
	    show(json_object_get(acc, "quote"), a), show(json_object_get(acc, "capital"), b),
	    show(json_object_get(acc, "carry_marks"), b));
	textbuf_printf(t, "%-10s %22s %22s %22s %14s\n", "DATE", "EQUITY", "PNL", "FLOW", "RETURN");
	json_array_foreach(days, i, d) {
		char r[32];
		const json_t *ret = json_object_get(d, "return");

		if (json_is_real(ret))
			snprintf(r, sizeof(r), "%.8f", json_real_value(ret));
		else
			snprintf(r, sizeof(r), "-");
		textbuf_printf(t, "%-10s %22s %22s %22s %14s\n", show(json_object_get(d, "date"), a),
		    json_string_value(json_object_get(d, "equity")),
		    json_string_value(json_object_get(d, "pnl")),
		    json_string_value(json_object_get(d, "flow")), r);
	}
	textbuf_printf(t, "TWR %s\n", show(twr, a));
}

static void
statistics(struct textbuf *t, json_t *st)
{
	const char *k;
	json_t *v;
	char b[32];

	textbuf_printf(t, "\nSTATISTICS (daily returns)\n");
	json_object_foreach(st, k, v)
		textbuf_printf(t, "  %-38s %s\n", k, show(v, b));
}

static void
correlation(struct textbuf *t, const json_t *c)
{
	const json_t *syms = json_object_get(c, "symbols"), *rows = json_object_get(c, "matrix");
	size_t i, j;
	char b[32];

	textbuf_printf(t, "\nCORRELATION OF DAILY PNL\n%-16s", "");
	for (i = 0; i < json_array_size(syms); i++)
		textbuf_printf(t, " %16s", json_string_value(json_array_get(syms, i)));
	textbuf_printf(t, "\n");
	for (i = 0; i < json_array_size(syms); i++) {
		textbuf_printf(t, "%-16s", json_string_value(json_array_get(syms, i)));
		for (j = 0; j < json_array_size(syms); j++) {
			const json_t *v = json_array_get(json_array_get(rows, i), j);

			if (json_is_real(v))
				snprintf(b, sizeof(b), "%.6f", json_real_value(v));
			else
				snprintf(b, sizeof(b), "-");
			textbuf_printf(t, " %16s", b);
		}
		textbuf_printf(t, "\n");
	}
}

char *
analyze_table(json_t *rep)
{
	struct textbuf t;
	json_t *v;

	textbuf_init(&t);
	if ((v = json_object_get(rep, "concentration")) != NULL)
		concentration(&t, v);
	if ((v = json_object_get(rep, "daily")) != NULL)
		daily(&t, json_object_get(rep, "account"), v, json_object_get(rep, "twr"));
	if ((v = json_object_get(rep, "statistics")) != NULL)
		statistics(&t, v);
	if ((v = json_object_get(rep, "correlation")) != NULL)
		correlation(&t, v);
	return textbuf_take(&t);
}
