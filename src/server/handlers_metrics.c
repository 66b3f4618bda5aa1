/*
 * GET /enclave/metrics/:id and GET /enclave/summary/:id: a session's results,
 * from the ledger the poller keeps current. Money is exact decimal strings.
 * Every answer says how fresh it is (last poll, backfill done or not).
 */
#include <math.h>
#include <string.h>

#include "core/report.h"
#include "core/valuation.h"
#include "core/signed.h"
#include "enclave/keys.h"
#include "core/stats.h"
#include "core/stats_json.h"
#include "enclave/session.h"
#include "exchange/feebook.h"
#include "exchange/poller.h"
#include "exchange/pricebook.h"
#include "out/audit.h"
#include "server/server.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static json_t *
jtime(int64_t ms)
{
	char t[TIME_ISO_LEN];

	if (ms <= 0)
		return json_null();
	time_format_iso_ms(t, ms);
	return json_string(t);
}

json_t *
server_degraded_json(const struct poll_status *st)
{
	json_t *a = json_array();

	for (size_t i = 0; i < XPART_COUNT; i++)
		if (st->degraded[i][0] != '\0')
			json_array_append_new(a, json_pack("{s:s, s:s}", "part", xpart_name((enum xpart)i), "reason",
			    st->degraded[i]));
	return a;
}

json_t *
server_caveats_json(const struct poll_status *st)
{
	json_t *a = json_array();

	for (size_t i = 0; i < XPART_COUNT; i++)
		if (st->caveat[i] != NULL)
			json_array_append_new(a, json_pack("{s:s, s:s}", "part", xpart_name((enum xpart)i), "caveat",
			    st->caveat[i]));
	return a;
}

json_t *
server_poll_status_json(const struct poll_status *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "state", json_string(poll_state_name(st->state)));
	json_object_set_new(o, "backfill_done", json_boolean(st->backfill_done));
	json_object_set_new(o, "progress", json_string(st->progress));
	json_object_set_new(o, "last_error", st->last_error[0] != '\0' ? json_string(st->last_error) : json_null());
	json_object_set_new(o, "consecutive_failures", json_integer(st->consecutive_failures));
	json_object_set_new(o, "last_poll", jtime(st->last_poll_ms));
	json_object_set_new(o, "last_success", jtime(st->last_success_ms));
	json_object_set_new(o, "next_poll", jtime(st->next_poll_ms));
	json_object_set_new(o, "interval_ms", json_integer(st->interval_ms));
	json_object_set_new(o, "requests", json_integer((json_int_t)st->requests));
	json_object_set_new(o, "fills", json_integer((json_int_t)st->fills_applied));
	json_object_set_new(o, "duplicates", json_integer((json_int_t)st->duplicates));
	json_object_set_new(o, "stale", json_integer((json_int_t)st->stale));
	json_object_set_new(o, "rejected", json_integer((json_int_t)st->rejected));
	json_object_set_new(o, "cycles", json_integer((json_int_t)st->cycles));
	json_object_set_new(o, "cycle_requests", json_integer((json_int_t)st->cycle_requests));
	json_object_set_new(o, "max_cycle_requests", json_integer((json_int_t)st->max_cycle_requests));
	json_object_set_new(o, "repeats", json_integer((json_int_t)st->repeats));
	json_object_set_new(o, "complete_until", jtime(st->complete_until_ms));
	json_object_set_new(o, "checkpoint", st->checkpoint_ms > 0 ? json_pack("{s:o, s:I}", "at",
	    jtime(st->checkpoint_ms), "fills", (json_int_t)st->checkpoint_fills) : json_null());
	json_object_set_new(o, "degraded", server_degraded_json(st));
	json_object_set_new(o, "caveats", server_caveats_json(st));
	if (st->permissions_known)
		json_object_set_new(o, "permissions", json_pack("{s:b, s:b}", "can_trade", st->can_trade,
		    "can_withdraw", st->can_withdraw));
	else
		json_object_set_new(o, "permissions", json_null());
	return o;
}

/* The seeds' per-symbol names next to the ledger's own fields. */
static void
add_seed_names(json_t *o, const struct ledger_stats *st)
{
	json_object_set_new(o, "symbol", json_string(st->name));
	json_object_set(o, "volume", json_object_get(o, "volume_quote"));
	json_object_set_new(o, "trades_count", json_integer((json_int_t)st->trades));
	json_object_set(o, "returnPct", json_object_get(o, "return_pct"));
	json_object_set(o, "returnUsd", json_object_get(o, "realized_pnl"));
	json_object_set(o, "realizedPnL", json_object_get(o, "realized_pnl"));
	json_object_set(o, "totalFees", json_object_get(o, "fees_quote"));
	json_object_set(o, "periodStart", json_object_get(o, "first_fill"));
	json_object_set(o, "periodEnd", json_object_get(o, "last_fill"));
}

struct view_arg {
	bool summary;
	json_t *out;
	const char *err;
	double periods;
};

/*
 * The summary's return series: per UTC day, realized PnL over the basis of
 * the positions closed that day (from the hourly buckets, in the quote
 * currency with the most volume), every calendar day from the first fill to
 * today included (a day without closes is a zero return). Without the
 * account's capital history this is the return on capital deployed in
 * closed trades, not an account equity curve; docs/ANALYTICS.md says so.
 */
static json_t *
statistics_json(const struct ledger *l, const char *quote, double periods, int64_t now_ms, const char **err)
{
	struct stats_params sp;
	struct stats s;
	double *r = NULL;
	int64_t first_day = -1, last_day = now_ms / 86400000, nd;
	struct dec *pnl = NULL, *basis = NULL;
	json_t *o;

	for (size_t i = 0; i < ledger_nbuckets(l); i++) {
		struct ledger_bucket b;
		ledger_bucket(l, i, &b);
		if (strcmp(b.quote, quote) == 0 && (first_day < 0 || b.hour / 86400000 < first_day))
			first_day = b.hour / 86400000;
	}
	if (first_day < 0 || last_day < first_day)
		return json_null();
	nd = last_day - first_day + 1;
	if (nd > 20000)
		nd = 20000;
	pnl = xcalloc((size_t)nd, sizeof(*pnl));
	basis = xcalloc((size_t)nd, sizeof(*basis));
	r = xcalloc((size_t)nd, sizeof(*r));
	for (size_t i = 0; i < ledger_nbuckets(l); i++) {
		struct ledger_bucket b;
		int64_t d;
		ledger_bucket(l, i, &b);
		d = b.hour / 86400000 - first_day;
		if (strcmp(b.quote, quote) != 0 || d < 0 || d >= nd)
			continue;
		if (dec_add(&pnl[d], pnl[d], b.realized_pnl) != 0 || dec_add(&basis[d], basis[d], b.closed_basis) != 0) {
			*err = "overflow summing daily PnL";
			o = NULL;
			goto out;
		}
	}
	for (int64_t d = 0; d < nd; d++)
		r[d] = dec_is_zero(basis[d]) ? 0.0 : dec_to_double(pnl[d]) / dec_to_double(basis[d]);
	stats_params_default(&sp);
	sp.periods = periods;
	if (stats_compute(r, (size_t)nd, &sp, &s, err) != 0) {
		o = NULL;
		goto out;
	}
	o = stats_json_render(&s);
	json_object_set_new(o, "series", json_string("daily realized PnL / closed basis (no balance snapshot yet, "
	    "or none from this connector: not an account equity curve)"));
	json_object_set_new(o, "quote", json_string(quote));
	json_object_set_new(o, "first_day", jtime(first_day * 86400000));
out:
	free(pnl);
	free(basis);
	free(r);
	return o;
}

#define DAILY_SHOWN 366

struct book_arg {
	struct pricebook *book;
	const char *exchange;
};

static int
book_close(void *arg, const char *symbol, int64_t day, struct dec *close)
{
	const struct book_arg *b = arg;

	return pricebook_close(b->book, b->exchange, symbol, day, close);
}

static json_t *
jdate(int64_t day)
{
	char buf[TIME_DATE_LEN];

	time_format_date(buf, day);
	return json_string(buf);
}

/* The BTC series of the exchange in the connector's naming, the first the
 * book has: the futures contract, then spot in Q, USDT and USD. */
static const char *
benchmark_symbol(const struct poller_account *acct, const char *quote, char *buf, size_t cap)
{
	struct dec c;
	char cand[4][FILL_SYMBOL_MAX];

	snprintf(cand[0], sizeof(cand[0]), "BTC/%s:%s", quote, quote);
	snprintf(cand[1], sizeof(cand[1]), "BTC/%s", quote);
	snprintf(cand[2], sizeof(cand[2]), "BTC/USDT");
	snprintf(cand[3], sizeof(cand[3]), "BTC/USD");
	for (size_t i = acct->market == FILL_FUTURES ? 0 : 1; i < 4; i++)
		if (pricebook_close(acct->prices, acct->exchange, cand[i], INT32_MAX, &c) == 0) {
			snprintf(buf, cap, "%s", cand[i]);
			return buf;
		}
	return NULL;
}

/*
 * The account equity part of the summary (docs/ANALYTICS.md section 6):
 * sets "account", "daily", "twr", "statistics" and "benchmark" on out.
 * Returns 1 when done, 0 when there is no balance snapshot (the caller falls
 * back to the realized-PnL series), -1 with *err.
 */
static int
account_json(json_t *out, const struct poller_account *acct, const char *quote, double periods, int64_t now_ms,
    const char **err)
{
	struct book_arg ba = { acct->prices, acct->exchange };
	struct valuation v;
	struct stats_params sp;
	struct stats s;
	json_t *acc, *daily, *unpriced, *notes, *stats, *bench = json_null();
	int64_t at_ms = 0;
	char bsym[FILL_SYMBOL_MAX];
	const char *bs;
	size_t from;

	if (!holdings_has_balances(acct->holdings, &at_ms))
		return 0;
	if (valuation_compute(&v, acct->holdings, quote, time_day_of_ms(now_ms), book_close, &ba, err) != 0)
		return -1;
	unpriced = json_array();
	for (size_t i = 0; i < v.nunpriced; i++)
		json_array_append_new(unpriced, json_string(v.unpriced[i]));
	/* What the equity could not include: the exchange's permanent caveats
	 * and what the last cycle could not collect. */
	notes = json_array();
	for (size_t i = XPART_BALANCES; i <= XPART_PRICES; i++) {
		if (acct->status->caveat[i] != NULL)
			json_array_append_new(notes, json_string(acct->status->caveat[i]));
		if (acct->status->degraded[i][0] != '\0')
			json_array_append_new(notes, json_sprintf("%s incomplete: %s", xpart_name((enum xpart)i),
			    acct->status->degraded[i]));
	}
	if (v.nunpriced > 0)
		json_array_append_new(notes, json_string("the equity excludes the currencies listed in unpriced: "
		    "no daily close was found for them in the account currency"));
	acc = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "quote", quote,
	    "equity", v.ndays > 0 ? report_dec_json(v.days[v.ndays - 1].equity) : json_null(),
	    "first_day", v.ndays > 0 ? jdate(v.days[0].day) : json_null(),
	    "balances_at", jtime(at_ms), "unpriced", unpriced, "notes", notes);
	daily = json_array();
	from = v.ndays > DAILY_SHOWN ? v.ndays - DAILY_SHOWN : 0;
	for (size_t i = from; i < v.ndays; i++) {
		const struct valuation_day *d = &v.days[i];
		json_array_append_new(daily, json_pack("{s:o, s:o, s:o, s:o, s:o}", "date", jdate(d->day),
		    "equity", report_dec_json(d->equity), "flow", report_dec_json(d->flow), "pnl", d->has_return ? report_dec_json(d->pnl) : json_null(),
		    "return", d->has_return ? json_real(d->ret) : json_null()));
	}
	stats_params_default(&sp);
	sp.periods = periods;
	if (v.nreturns == 0) {
		stats = json_null();
		if (v.why_empty != NULL)
			json_object_set_new(acc, "why_no_statistics", json_string(v.why_empty));
		else
			json_object_set_new(acc, "why_no_statistics", json_string("fewer than two valued days"));
	} else if (stats_compute(v.returns, v.nreturns, &sp, &s, err) != 0) {
		valuation_clear(&v);
		json_decref(acc);
		json_decref(daily);
		return -1;
	} else {
		if ((bs = benchmark_symbol(acct, quote, bsym, sizeof(bsym))) != NULL) {
			double *r = xcalloc(v.nreturns, sizeof(double)), *b = xcalloc(v.nreturns, sizeof(double)), btwr;
			size_t n;
			if (valuation_benchmark(&v, bs, book_close, &ba, r, b, &n, &btwr, err) == 0 && n > 0 &&
			    stats_compute_benchmark(r, b, n, &sp, &s, err) == 0)
				bench = json_pack("{s:s, s:o, s:I}", "symbol", bs, "twr", json_real(btwr), "days",
				    (json_int_t)n);
			free(r);
			free(b);
			*err = NULL;
		}
		stats = stats_json_render(&s);
		json_object_set_new(stats, "series", json_string("daily account equity (time-weighted)"));
		json_object_set_new(stats, "quote", json_string(quote));
		json_object_set_new(stats, "first_day", jtime(v.days[0].day * 86400000));
	}
	json_object_set_new(out, "account", acc);
	json_object_set_new(out, "daily", daily);
	json_object_set_new(out, "twr", v.nreturns > 0 ? json_real(v.twr) : json_null());
	json_object_set_new(out, "statistics", stats);
	json_object_set_new(out, "benchmark", bench);
	valuation_clear(&v);
	return 1;
}

/*
 * The realized funding of a futures account (null for spot and margin):
 * per position symbol and settle currency the sum of the payments
 * (received > 0, paid < 0) and their count, the totals per currency, and
 * whether the connector collects them at all. Funding comes with the fills
 * walk, so it is complete up to the same time as the fills
 * (freshness.complete_until). It is P&L in the account equity and returns,
 * and not part of realized_pnl (fills only).
 */
static json_t *
funding_json(const struct poller_account *acct)
{
	const struct exchange_ops *ops = exchange_find(acct->exchange);
	const struct holdings *h = acct->holdings;
	size_t n = holdings_nfunding(h);
	json_t *syms, *totals, *o;

	if (acct->market != FILL_FUTURES)
		return json_null();
	if (ops == NULL || !ops->funding)
		return json_pack("{s:b, s:s}", "collected", 0, "note", "this exchange's connector does not collect "
		    "funding payments: the equity includes them through the balances, the per-symbol figures do not");
	syms = json_array();
	totals = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *sym, *cur, *s2, *c2;
		struct dec total, sum = DEC_ZERO, t2;
		uint64_t payments, p2;

		(void)holdings_funding_total(h, i, &sym, &cur, &total, &payments);
		json_array_append_new(syms, json_pack("{s:s, s:s, s:o, s:I}", "symbol", sym, "currency", cur,
		    "amount", report_dec_json(total), "payments", (json_int_t)payments));
		if (json_object_get(totals, cur) != NULL)
			continue;
		/* the first entry of a currency sums them all */
		for (size_t k = i; k < n; k++)
			if (holdings_funding_total(h, k, &s2, &c2, &t2, &p2) == 0 && strcmp(c2, cur) == 0 &&
			    dec_add(&sum, sum, t2) != 0) {
				json_decref(syms);
				json_decref(totals);
				return NULL;
			}
		json_object_set_new(totals, cur, report_dec_json(sum));
	}
	o = json_pack("{s:b, s:o, s:o}", "collected", 1, "symbols", syms, "totals", totals);
	return o;
}

static int
build(void *arg, const struct poller_account *acct)
{
	struct view_arg *a = arg;
	const struct ledger *l = acct->ledger;
	const struct poll_status *st = acct->status;
	int rc = 0;
	json_t *symbols = json_array(), *totals = json_object(), *o, *stats = json_null();
	const char *top_quote = NULL;
	struct dec top_volume = { 0 };

	for (size_t i = 0; i < ledger_nsymbols(l) && !a->summary; i++) {
		struct ledger_stats s;
		ledger_symbol_stats(l, i, &s);
		if ((o = report_stats_json(&s, &a->err)) == NULL)
			goto fail;
		add_seed_names(o, &s);
		json_array_append_new(symbols, o);
	}
	for (size_t i = 0; i < ledger_nquotes(l); i++) {
		struct ledger_stats s;
		if (ledger_quote_stats(l, i, &s) != 0 || (o = report_stats_json(&s, &a->err)) == NULL) {
			if (a->err == NULL)
				a->err = "overflow in totals";
			goto fail;
		}
		add_seed_names(o, &s);
		json_object_set_new(totals, s.name, o);
		if (top_quote == NULL || dec_cmp(s.volume_quote, top_volume) > 0) {
			top_quote = s.quote;
			top_volume = s.volume_quote;
		}
	}
	a->out = json_object();
	if (a->summary && top_quote != NULL &&
	    (rc = account_json(a->out, acct, top_quote, a->periods, time_now_ms(), &a->err)) < 0)
		goto fail;
	if (a->summary && rc == 0) {
		/* No balances (or no fills to tell the account currency): the
		 * realized series, and "series" says so. */
		if (top_quote != NULL) {
			json_decref(stats);
			stats = statistics_json(l, top_quote, a->periods, time_now_ms(), &a->err);
			if (stats == NULL)
				goto fail;
		}
		json_object_set_new(a->out, "account", json_null());
		json_object_set_new(a->out, "twr", json_null());
		json_object_set_new(a->out, "benchmark", json_null());
	}
	if (!a->summary)
		json_object_set_new(a->out, "metrics", symbols);
	else
		json_decref(symbols);
	json_object_set_new(a->out, "totals", totals);
	/* how third-currency fees were converted, and whether realized PnL is final */
	json_object_set_new(a->out, "fee_conversion", report_fees_json(l, feebook_source, acct->exchange));
	if (a->summary && json_object_get(a->out, "statistics") == NULL)
		json_object_set_new(a->out, "statistics", stats);
	else
		json_decref(stats);
	if ((o = funding_json(acct)) == NULL) {
		a->err = "overflow in funding";
		goto fail;
	}
	json_object_set_new(a->out, "funding", o);
	/* Coverage: what the figures are computed from, and what they lack. */
	json_object_set_new(a->out, "freshness", json_pack("{s:o, s:b, s:o, s:s, s:o, s:o, s:o, s:o}",
	    "last_poll", jtime(st->last_poll_ms), "backfill_done", st->backfill_done,
	    "last_success", jtime(st->last_success_ms), "state", poll_state_name(st->state),
	    "last_error", st->last_error[0] != '\0' ? json_string(st->last_error) : json_null(),
	    "complete_until", jtime(st->complete_until_ms), "degraded", server_degraded_json(st),
	    "caveats", server_caveats_json(st)));
	return 0;
fail:
	json_decref(a->out);
	a->out = NULL;
	json_decref(symbols);
	json_decref(totals);
	json_decref(stats);
	return -1;
}

static void
results(struct server *srv, const struct http_request *req, struct http_response *resp, bool summary)
{
	struct view_arg a = { .summary = summary, .periods = 365 };
	struct session_info info;
	uint8_t id[SESSION_ID_BYTES];
	char expires[TIME_ISO_LEN], generated[TIME_ISO_LEN];

	if (server_session_id(req, summary ? "/enclave/summary" : "/enclave/metrics", id, resp) != 0)
		return;
	if (session_lookup(srv->sessions, id, time_now_ms(), &info) != 0) {
		http_error(resp, 404, "session_not_found", "no such session, or it has expired or been revoked");
		return;
	}
	if (poller_view_account(srv->poller, id, build, &a) != 0) {
		if (a.err != NULL)
			http_error(resp, 500, "calculation_failed", "%s", a.err);
		else
			http_error(resp, 404, "session_not_found", "no results for this session");
		return;
	}
	time_format_iso_ms(expires, info.expires_ms);
	time_format_iso_ms(generated, time_now_ms());
	json_object_set_new(a.out, "kind", json_string(summary ? "summary" : "metrics"));
	json_object_set_new(a.out, "exchange", json_string(info.exchange));
	json_object_set_new(a.out, "account_type", json_string(info.account_type));
	json_object_set_new(a.out, "session", json_string(info.id_hash));
	json_object_set_new(a.out, "session_expires", json_string(expires));
	json_object_set_new(a.out, "generated_at", json_string(generated));
	/* Every result is signed with the attested key: a third party checks it
	 * offline with `perfagg verify` and the attestation document. */
	if (signed_sign(a.out, keys_sign, srv->keys, keys_id(srv->keys), keys_epoch(srv->keys), &a.err) != 0) {
		json_decref(a.out);
		http_error(resp, 500, "signing_failed", "%s", a.err);
		return;
	}
	http_json(resp, 200, a.out);
	server_audit(srv, resp, "metrics_served", AUDIT_HASH("sid", info.id_hash),
	    AUDIT_NAME("endpoint", summary ? "summary" : "metrics"), AUDIT_NAME("exchange", info.exchange));
}

void
handle_metrics(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	results(srv, req, resp, false);
}

void
handle_summary(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	results(srv, req, resp, true);
}
