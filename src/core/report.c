#include "core/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"
#include "util/textbuf.h"
#include "util/xalloc.h"

json_t *
report_dec_json(struct dec d)
{
	char buf[DEC_STR_MAX];

	dec_format(buf, sizeof(buf), d);
	return json_string(buf);
}

/* num/den rounded once, or JSON null when den is 0. *bad set on overflow. */
static json_t *
jratio(struct dec num, struct dec den, struct dec scale, int *bad)
{
	struct dec r;

	if (dec_is_zero(den))
		return json_null();
	if (dec_muldiv(&r, num, scale, den) == -1) {
		*bad = 1;
		return json_null();
	}
	return report_dec_json(r);
}

static json_t *
jtime(int64_t ms, uint64_t trades)
{
	char buf[TIME_ISO_LEN];

	if (trades == 0)
		return json_null();
	time_format_iso_ms(buf, ms);
	return json_string(buf);
}

static json_t *
jamounts(const struct ledger_amount *v, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; i < n; i++)
		json_object_set_new(o, v[i].currency, report_dec_json(v[i].amount));
	return o;
}

/* The quantities report_stats_json() and report_table() derive. */
struct derived {
	struct dec rounds, loss_abs;
};

static int
derive(const struct ledger_stats *st, struct derived *d)
{
	d->rounds = dec_from_int((int64_t)(st->wins + st->losses));
	return dec_abs(&d->loss_abs, st->gross_loss);
}

json_t *
report_stats_json(const struct ledger_stats *st, const char **errstr)
{
	const struct dec one = dec_one(), hundred = dec_from_int(100);
	struct derived d;
	json_t *o;
	int bad = 0;

	if (derive(st, &d) == -1) {
		*errstr = "derived value out of range";
		return NULL;
	}
	o = json_object();
	json_object_set_new(o, "quote", json_string(st->quote));
	json_object_set_new(o, "realized_pnl", report_dec_json(st->realized_pnl));
	json_object_set_new(o, "closed_basis", report_dec_json(st->closed_basis));
	json_object_set_new(o, "return_pct", jratio(st->realized_pnl, st->closed_basis, hundred, &bad));
	json_object_set_new(o, "volume_base", report_dec_json(st->volume_base));
	json_object_set_new(o, "volume_quote", report_dec_json(st->volume_quote));
	json_object_set_new(o, "fees", jamounts(st->fees, st->nfees));
	json_object_set_new(o, "fees_quote", report_dec_json(st->fees_quote));
	json_object_set_new(o, "fees_unconverted", jamounts(st->fees_unconverted, st->nfees_unconverted));
	json_object_set_new(o, "fees_pending", json_integer((json_int_t)st->fees_pending));
	json_object_set_new(o, "trips_pending", json_integer((json_int_t)st->trips_pending));
	json_object_set_new(o, "trades", json_integer((json_int_t)st->trades));
	json_object_set_new(o, "wins", json_integer((json_int_t)st->wins));
	json_object_set_new(o, "losses", json_integer((json_int_t)st->losses));
	json_object_set_new(o, "win_rate", jratio(dec_from_int((int64_t)st->wins), d.rounds, one, &bad));
	json_object_set_new(o, "avg_win", jratio(st->gross_win, dec_from_int((int64_t)st->wins), one, &bad));
	json_object_set_new(o, "avg_loss", jratio(st->gross_loss, dec_from_int((int64_t)st->losses), one, &bad));
	json_object_set_new(o, "profit_factor", jratio(st->gross_win, d.loss_abs, one, &bad));
	json_object_set_new(o, "open_long_qty", report_dec_json(st->open_long_qty));
	json_object_set_new(o, "open_long_cost", report_dec_json(st->open_long_cost));
	json_object_set_new(o, "open_long_avg_price", jratio(st->open_long_cost, st->open_long_qty, one, &bad));
	json_object_set_new(o, "open_short_qty", report_dec_json(st->open_short_qty));
	json_object_set_new(o, "open_short_proceeds", report_dec_json(st->open_short_proceeds));
	json_object_set_new(o, "open_short_avg_price",
	    jratio(st->open_short_proceeds, st->open_short_qty, one, &bad));
	json_object_set_new(o, "unmatched_sell_qty", report_dec_json(st->unmatched_sell_qty));
	json_object_set_new(o, "first_fill", jtime(st->first_fill, st->trades));
	json_object_set_new(o, "last_fill", jtime(st->last_fill, st->trades));
	json_object_set_new(o, "duplicates", json_integer((json_int_t)st->duplicates));
	json_object_set_new(o, "stale", json_integer((json_int_t)st->stale));
	if (bad) {
		json_decref(o);
		*errstr = "derived value out of range";
		return NULL;
	}
	return o;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct ledger_stats *)a)->name, ((const struct ledger_stats *)b)->name);
}

/*
 * All symbol stats (which == 0) or quote totals (which == 1) with at least
 * one applied fill, sorted by name. A symbol whose only fills failed inside
 * the ledger has no trade (and so no duplicate or stale fill either): it is
 * left out rather than listed empty.
 */
static struct ledger_stats *
collect(const struct ledger *l, int which, size_t *n, const char **errstr)
{
	struct ledger_stats *v;
	size_t all = which == 0 ? ledger_nsymbols(l) : ledger_nquotes(l);

	v = xreallocarray(NULL, all + 1, sizeof(*v));
	*n = 0;
	for (size_t i = 0; i < all; i++) {
		if (which == 0)
			ledger_symbol_stats(l, i, &v[*n]);
		else if (ledger_quote_stats(l, i, &v[*n]) == -1) {
			*errstr = "total out of range";
			free(v);
			return NULL;
		}
		if (v[*n].trades > 0)
			(*n)++;
	}
	qsort(v, *n, sizeof(*v), cmp_name);
	return v;
}

static json_t *
bucket_json(const struct ledger_bucket *b, int *bad)
{
	char t[TIME_ISO_LEN];
	json_t *o = json_object();

	time_format_iso_ms(t, b->hour);
	json_object_set_new(o, "t", json_string(t));
	json_object_set_new(o, "quote", json_string(b->quote));
	json_object_set_new(o, "trades", json_integer((json_int_t)b->trades));
	json_object_set_new(o, "volume_base", report_dec_json(b->volume_base));
	json_object_set_new(o, "volume_quote", report_dec_json(b->volume_quote));
	json_object_set_new(o, "fees_quote", report_dec_json(b->fees_quote));
	json_object_set_new(o, "realized_pnl", report_dec_json(b->realized_pnl));
	json_object_set_new(o, "closed_basis", report_dec_json(b->closed_basis));
	json_object_set_new(o, "return_pct", jratio(b->realized_pnl, b->closed_basis, dec_from_int(100), bad));
	return o;
}

json_t *
report_json(const struct ledger *l, const char **errstr)
{
	json_t *root = json_object(), *obj, *s, *hourly;
	struct ledger_stats *v = NULL;
	struct ledger_bucket b;
	size_t n;
	int bad = 0;

	for (int which = 0; which < 2; which++) {
		if ((v = collect(l, which, &n, errstr)) == NULL)
			goto fail;
		obj = json_object();
		json_object_set_new(root, which == 0 ? "symbols" : "totals", obj);
		for (size_t i = 0; i < n; i++) {
			if ((s = report_stats_json(&v[i], errstr)) == NULL)
				goto fail;
			json_object_set_new(obj, v[i].name, s);
		}
		free(v);
		v = NULL;
	}
	json_object_set_new(root, "hourly", hourly = json_array());
	for (size_t i = 0; i < ledger_nbuckets(l); i++) {
		ledger_bucket(l, i, &b);
		json_array_append_new(hourly, bucket_json(&b, &bad));
	}
	if (bad) {
		*errstr = "derived value out of range";
		goto fail;
	}
	return root;
fail:
	free(v);
	json_decref(root);
	return NULL;
}

/* ---- table ---- */

/* Display text of a value rounded to 4 places ("-" for undefined). */
static const char *
show(char buf[DEC_STR_MAX], struct dec num, struct dec den, struct dec scale)
{
	struct dec r;

	if (dec_is_zero(den) || dec_muldiv(&r, num, scale, den) == -1 || dec_round(&r, r, 4) == -1)
		return "-";
	dec_format(buf, DEC_STR_MAX, r);
	return buf;
}

static void
table_row(struct textbuf *t, const struct ledger_stats *st)
{
	char a[DEC_STR_MAX], b[DEC_STR_MAX], c[DEC_STR_MAX], d[DEC_STR_MAX], e[DEC_STR_MAX];
	char f[DEC_STR_MAX], g[DEC_STR_MAX], h[DEC_STR_MAX];
	struct derived dv;

	if (derive(st, &dv) == -1)
		dv.rounds = DEC_ZERO;
	dec_format(a, sizeof(a), st->realized_pnl);
	dec_format(c, sizeof(c), st->volume_quote);
	dec_format(d, sizeof(d), st->fees_quote);
	dec_format(e, sizeof(e), st->open_long_qty);
	dec_format(f, sizeof(f), st->open_short_qty);
	dec_format(g, sizeof(g), st->unmatched_sell_qty);
	textbuf_printf(t, "%-16s %7llu %16s %10s %16s %12s %12s %12s %12s %7s\n", st->name,
	    (unsigned long long)st->trades, a,
	    show(b, st->realized_pnl, st->closed_basis, dec_from_int(100)), c, d, e, f, g,
	    show(h, dec_from_int((int64_t)st->wins), dv.rounds, dec_from_int(100)));
}

char *
report_table(const struct ledger *l, const char **errstr)
{
	struct textbuf t;
	struct ledger_stats *v;
	size_t n;

	textbuf_init(&t);
	for (int which = 0; which < 2; which++) {
		if ((v = collect(l, which, &n, errstr)) == NULL) {
			free(t.buf);
			return NULL;
		}
		textbuf_printf(&t, "%s%-16s %7s %16s %10s %16s %12s %12s %12s %12s %7s\n", which ? "\n" : "",
		    which == 0 ? "SYMBOL" : "TOTAL (QUOTE)", "TRADES", "REALIZED_PNL", "RETURN%",
		    "VOLUME_QUOTE", "FEES_QUOTE", "OPEN_LONG", "OPEN_SHORT", "UNMATCHED", "WIN%");
		for (size_t i = 0; i < n; i++)
			table_row(&t, &v[i]);
		free(v);
	}
	return textbuf_take(&t);
}

json_t *
report_fees_json(const struct ledger *l, report_source_fn source, const void *arg)
{
	json_t *o = json_object(), *cur = json_array();
	uint64_t pending = ledger_fees_pending(l);
	char src[256];

	for (size_t i = 0; i < ledger_nconversions(l); i++) {
		struct ledger_conversion c;
		json_t *e;
		ledger_conversion(l, i, &c);
		source(arg, c.currency, c.quote, src, sizeof(src));
		e = json_pack("{s:s, s:s, s:o, s:I, s:o, s:o, s:s, s:o, s:I}", "currency", c.currency, "quote", c.quote,
		    "fees", report_dec_json(c.total), "fills", (json_int_t)c.fills,
		    "converted", report_dec_json(c.converted), "converted_quote", report_dec_json(c.converted_quote),
		    "source", src, "pending", report_dec_json(c.pending), "pending_fills", (json_int_t)c.pending_fills);
		json_object_set_new(e, "pending_first_fill", jtime(c.pending_first, c.pending_fills));
		json_object_set_new(e, "pending_last_fill", jtime(c.pending_last, c.pending_fills));
		json_array_append_new(cur, e);
	}
	json_object_set_new(o, "rule", json_string("a fee paid in a currency that is neither the symbol's base "
	    "nor its quote is converted into the quote at the rate of the fill's UTC day (source), then counted "
	    "like a quote fee: added to a buy's cost, taken from a sell's proceeds (docs/ANALYTICS.md section 2)"));
	json_object_set_new(o, "complete", json_boolean(pending == 0));
	json_object_set_new(o, "pending_fees", json_integer((json_int_t)pending));
	json_object_set_new(o, "currencies", cur);
	if (pending > 0)
		json_object_set_new(o, "note", json_string("some third-currency fees are not converted yet (no rate "
		    "for their day, e.g. the day has not closed): realized_pnl, closed_basis, fees_quote and the open "
		    "cost leave them out and are NOT final (fees_unconverted, fees_pending); round trips waiting "
		    "for them (trips_pending) are counted in neither wins nor losses"));
	return o;
}
