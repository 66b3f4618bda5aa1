/*
 * Kraken spot endpoints of the simulator (exchanges.md section 6):
 * public AssetPairs and OHLC; private BalanceEx, Balance, TradesHistory and
 * Ledgers with API-Key/API-Sign, strictly increasing nonces per key and,
 * with strict limits, the Starter tier's decaying call counter.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dec.h"
#include "exsim/exsim.h"
#include "exsim/exsim_auth.h"
#include "exsim/exsim_venue.h"
#include "exsim/sim_kraken_page.h"
#include "exsim/sim_markets.h"
#include "util/log.h"
#include "util/xalloc.h"

extern const struct exsim_venue sim_kraken_venue;

#define PAGE 50
#define OVERLAP_ROWS 7
#define COUNTER_MAX 15.0
#define COUNTER_DECAY 0.33	/* per second, Starter tier */
#define DAY_MS 86400000LL


static void
kerr(struct exsim_response *rs, const char *e)
{
	exsim_json(rs, 200, "{\"error\":[\"%s\"]}", e);
}

/* Kraken renders time as float seconds with 4 decimals. */
static void
sb_time(struct skp_buf *b, int64_t ms)
{
	skp_printf(b, "%" PRId64 ".%03" PRId64 "0", ms / 1000, ms % 1000);
}

static const char *
dstr(char buf[DEC_STR_MAX], struct dec d)
{
	dec_format(buf, DEC_STR_MAX, d);
	return buf;
}


/* "XXBT" -> "XBT" for altnames: 4-letter legacy asset codes lose X/Z. */
static void
alt_asset(char *out, size_t cap, const char *n)
{
	if (strlen(n) == 4 && (n[0] == 'X' || n[0] == 'Z'))
		n++;
	snprintf(out, cap, "%s", n);
}

static void
altname(char *out, size_t cap, const struct exsim_symbol *s)
{
	char b[16], q[16];

	alt_asset(b, sizeof(b), s->native_base);
	alt_asset(q, sizeof(q), s->native_quote);
	snprintf(out, cap, "%s%s", b, q);
}

static const struct exsim_symbol *
find_pair(const struct exsim_account *a, const char *name, size_t *kout)
{
	char alt[40];

	for (size_t k = 0; a != NULL && k < a->nsymbols; k++) {
		altname(alt, sizeof(alt), &a->symbols[k]);
		if (strcmp(a->symbols[k].native, name) == 0 || strcmp(alt, name) == 0) {
			*kout = k;
			return &a->symbols[k];
		}
	}
	return NULL;
}

/* The exchange's pairs are those of every Kraken spot account; a pair's
 * market data (OHLC) comes from the first account that trades it, as
 * exsim_close() reads it. Returns that account and *kout, NULL if no
 * account trades the pair. */
static const struct exsim_account *
pair_owner(const struct exsim *w, const char *name, size_t *kout)
{
	for (size_t j = 0; j < w->naccounts; j++)
		if (w->accounts[j].venue == &sim_kraken_venue && find_pair(&w->accounts[j], name, kout) != NULL)
			return &w->accounts[j];
	return NULL;
}

static void
asset_pairs(struct exsim *w, struct exsim_response *rs)
{
	const char *seen[64];
	size_t nseen = 0;
	struct skp_buf b = { 0 };

	skp_printf(&b, "{\"error\":[],\"result\":{");
	for (size_t j = 0; j < w->naccounts; j++) {
		const struct exsim_account *a = &w->accounts[j];
		for (size_t k = 0; a->venue == &sim_kraken_venue && k < a->nsymbols; k++) {
			const struct exsim_symbol *s = &a->symbols[k];
			char alt[40], wb[16], wq[16];
			size_t i;
			/* once per pair (the generator's pairs are a short list) */
			for (i = 0; i < nseen && strcmp(seen[i], s->native) != 0; i++)
				;
			if (i < nseen)
				continue;
			if (nseen == sizeof(seen) / sizeof(seen[0]))
				fatalx("exsim: more than %zu Kraken pairs", nseen);
			seen[nseen++] = s->native;
			altname(alt, sizeof(alt), s);
			alt_asset(wb, sizeof(wb), s->native_base);
			alt_asset(wq, sizeof(wq), s->native_quote);
			skp_printf(&b, "%s\"%s\":{\"altname\":\"%s\",\"wsname\":\"%s/%s\",\"aclass_base\":\"currency\","
			    "\"base\":\"%s\",\"aclass_quote\":\"currency\",\"quote\":\"%s\",\"lot\":\"unit\","
			    "\"cost_decimals\":5,\"pair_decimals\":%u,\"lot_decimals\":%u,\"lot_multiplier\":1,"
			    "\"leverage_buy\":[],\"leverage_sell\":[],\"fees\":[[0,0.26]],\"fees_maker\":[[0,0.16]],"
			    "\"fee_volume_currency\":\"ZUSD\",\"margin_call\":80,\"margin_stop\":40,\"ordermin\":\"0.0001\","
			    "\"status\":\"online\"}", nseen > 1 ? "," : "", s->native, alt, wb, wq, s->native_base,
			    s->native_quote, s->price_decimals, s->lot_decimals);
		}
	}
	skp_printf(&b, "}}");
	skp_send(&b, rs);
}

/* Daily candles from the fills of the pair's first account (pair_owner):
 * close is the last fill's price of the day (open/high/low are the close:
 * the connector marks positions with closes only). */
static void
ohlc(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs)
{
	const struct exsim_account *a;
	const char *pair = rq->param(rq, "pair"), *iv = rq->param(rq, "interval"), *since = rq->param(rq, "since");
	const struct exsim_symbol *s;
	struct skp_buf b = { 0 };
	size_t k = 0;
	int64_t day, last = 0, from = 0;
	bool any = false, have = false;
	struct dec close = DEC_ZERO;

	if (pair == NULL || (a = pair_owner(w, pair, &k)) == NULL || (s = find_pair(a, pair, &k)) == NULL) {
		kerr(rs, "EQuery:Unknown asset pair");
		return;
	}
	if (iv != NULL && strcmp(iv, "1440") != 0) {
		kerr(rs, "EGeneral:Invalid arguments");
		return;
	}
	if (since != NULL)
		from = strtoll(since, NULL, 10) * 1000;
	skp_printf(&b, "{\"error\":[],\"result\":{\"%s\":[", s->native);
	for (day = s->first_ms / DAY_MS * DAY_MS; day <= rq->now_ms; day += DAY_MS) {
		uint64_t j = exsim_index_at(a, k, day + DAY_MS);
		char cb[DEC_STR_MAX];
		if (j > exsim_visible(a, k, rq->now_ms))
			j = exsim_visible(a, k, rq->now_ms);
		if (j > 0) {
			struct fill f;
			exsim_fill(a, k, j - 1, &f);
			close = f.price;
			have = true;
		}
		if (!have || day <= from)
			continue;
		dstr(cb, close);
		skp_printf(&b, "%s[%" PRId64 ",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"0\",0]", any ? "," : "", day / 1000, cb,
		    cb, cb, cb, cb);
		any = true;
		last = day / 1000;
	}
	skp_printf(&b, "],\"last\":%" PRId64 "}}", last);
	skp_send(&b, rs);
}

/* Authenticates a private call; on failure rs is the error. */
static struct exsim_account *
auth(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs, unsigned cost)
{
	const char *key = rq->header(rq, "API-Key"), *sig = rq->header(rq, "API-Sign"), *nonce = rq->param(rq, "nonce");
	struct exsim_account *a;
	uint64_t n = 0;
	char *end = NULL;
	double counter;

	if (key == NULL || (a = exsim_account_by_key(w, &sim_kraken_venue, key)) == NULL) {
		kerr(rs, "EAPI:Invalid key");
		return NULL;
	}
	if (!exsim_auth_kraken(a->secret, rq->path, nonce, rq->body, rq->body_len, sig)) {
		kerr(rs, "EAPI:Invalid signature");
		return NULL;
	}
	n = strtoull(nonce, &end, 10);
	pthread_mutex_lock(&w->mu);
	if (*nonce == '\0' || *end != '\0' || n <= a->last_nonce) {
		pthread_mutex_unlock(&w->mu);
		kerr(rs, "EAPI:Invalid nonce");
		return NULL;
	}
	a->last_nonce = n;
	if (w->cfg.strict_limits) {
		counter = a->rate_counter;
		if (a->rate_at_ms != 0 && rq->now_ms > a->rate_at_ms)
			counter -= (double)(rq->now_ms - a->rate_at_ms) / 1000.0 * COUNTER_DECAY;
		if (counter < 0)
			counter = 0;
		a->rate_counter = counter;
		a->rate_at_ms = rq->now_ms;
		if (counter + cost > COUNTER_MAX) {
			pthread_mutex_unlock(&w->mu);
			kerr(rs, "EAPI:Rate limit exceeded");
			return NULL;
		}
		a->rate_counter += cost;
	}
	pthread_mutex_unlock(&w->mu);
	return a;
}

static const char *
native_asset(const struct exsim_account *a, const char *cur)
{
	for (size_t k = 0; k < a->nsymbols; k++) {
		if (strcmp(a->symbols[k].base, cur) == 0)
			return a->symbols[k].native_base;
		if (strcmp(a->symbols[k].quote, cur) == 0)
			return a->symbols[k].native_quote;
	}
	return cur;
}

static void
balance(const struct exsim_account *a, const struct exsim_request *rq, struct exsim_response *rs, bool ex)
{
	char cur[8][FILL_CUR_MAX], db[DEC_STR_MAX];
	struct dec tot[8];
	size_t n = exsim_balances(a, rq->now_ms, cur, tot, 8);
	struct skp_buf b = { 0 };

	skp_printf(&b, "{\"error\":[],\"result\":{");
	for (size_t j = 0; j < n; j++) {
		if (ex)
			skp_printf(&b, "%s\"%s\":{\"balance\":\"%s\",\"hold_trade\":\"0.0000\"}", j > 0 ? "," : "",
			    native_asset(a, cur[j]), dstr(db, tot[j]));
		else
			skp_printf(&b, "%s\"%s\":\"%s\"", j > 0 ? "," : "", native_asset(a, cur[j]), dstr(db, tot[j]));
	}
	skp_printf(&b, "}}");
	skp_send(&b, rs);
}

/* start/end: a unix time (seconds, may be fractional) or an id (then
 * *is_time is false). For a time, *ms = floor(value * 1000) + 1: start
 * (exclusive) keeps fills at ms >= *ms, end (inclusive) those at ms < *ms. */
static void
time_bound(const char *v, int64_t *ms, bool *is_time)
{
	struct dec d;
	const char *err;
	__int128 x;

	*is_time = dec_parse(v, strlen(v), &d, &err) == 0;
	if (!*is_time)
		return;
	/* ms of value*1000, rounded down; start keeps ms > that */
	x = d.raw / (__int128)1000000000000000LL;
	if (d.raw < 0 && d.raw % (__int128)1000000000000000LL != 0)
		x--;
	/* start keeps ms >= *ms, end keeps ms < *ms */
	*ms = (int64_t)x + 1;
}

static void
trades_history(struct exsim *w, struct exsim_account *a, const struct exsim_request *rq, struct exsim_response *rs)
{
	const char *start = rq->param(rq, "start"), *end = rq->param(rq, "end"), *ofs_s = rq->param(rq, "ofs");
	struct skp_view v;
	struct skp_pos page[PAGE], p;
	uint64_t ofs = ofs_s != NULL ? strtoull(ofs_s, NULL, 10) : 0, count, from;
	size_t n;
	int64_t ms;
	bool is_time;
	struct skp_buf b = { 0 };

	skp_view_init(&v, a, rq->now_ms);
	if (start != NULL) {
		time_bound(start, &ms, &is_time);
		if (is_time)
			skp_from_ts(&v, ms);	/* time > start: ms >= floor(start*1000)+1 */
		else if (skp_find_id(a, rq->now_ms, start, &p))
			skp_after(&v, &p);
		else
			goto bad;
	}
	if (end != NULL) {
		time_bound(end, &ms, &is_time);
		if (is_time)
			skp_before_ts(&v, ms);	/* time <= end: ms < floor(end*1000)+1 */
		else if (skp_find_id(a, rq->now_ms, end, &p))
			skp_upto(&v, &p);
		else
			goto bad;
	}
	count = skp_count(&v);
	/* overlap fault: the page starts a few rows early, as when the
	 * account traded between two calls */
	from = rq->overlap && ofs > 0 ? ofs - (ofs < OVERLAP_ROWS ? ofs : OVERLAP_ROWS) : ofs;
	n = skp_page(&v, from, true, page, PAGE);
	skp_printf(&b, "{\"error\":[],\"result\":{\"trades\":{");
	for (size_t j = 0; j < n; j++) {
		struct fill f;
		char pb[DEC_STR_MAX], cb[DEC_STR_MAX], fb[DEC_STR_MAX], vb[DEC_STR_MAX];
		exsim_fill(a, page[j].k, page[j].i, &f);
		skp_printf(&b, "%s\"%s\":{\"ordertxid\":\"%s\",\"postxid\":\"TKH2SE-M7IF5-CFI7LT\",\"pair\":\"%s\",\"time\":",
		    j > 0 ? "," : "", f.id, f.order, a->symbols[page[j].k].native);
		sb_time(&b, f.timestamp);
		skp_printf(&b, ",\"type\":\"%s\",\"ordertype\":\"%s\",\"price\":\"%s\",\"cost\":\"%s\",\"fee\":\"%s\","
		    "\"vol\":\"%s\",\"margin\":\"0.00000\",\"leverage\":\"0\",\"misc\":\"\",\"trade_id\":%" PRIu64
		    ",\"maker\":%s}", f.side == FILL_BUY ? "buy" : "sell", f.role == FILL_MAKER ? "limit" : "market",
		    dstr(pb, f.price), dstr(cb, f.cost), dstr(fb, f.nfees > 0 ? f.fees[0].cost : DEC_ZERO),
		    dstr(vb, f.amount), page[j].i + 1000000, f.role == FILL_MAKER ? "true" : "false");
	}
	skp_printf(&b, "},\"count\":%" PRIu64 "}}", count);
	skp_view_free(&v);
	skp_send(&b, rs);
	rs->pageable = true;
	return;
bad:
	skp_view_free(&v);
	kerr(rs, "EGeneral:Invalid arguments");
}

/* 1 + the index of the flow whose id is id, 0 if none. */
static size_t
flow_after(const struct exsim_account *a, const char *id)
{
	for (size_t j = 0; j < a->nflows; j++)
		if (strcmp(a->flows[j].id, id) == 0)
			return j + 1;
	return 0;
}

static void
ledgers(const struct exsim_account *a, const struct exsim_request *rq, struct exsim_response *rs)
{
	const char *type = rq->param(rq, "type"), *start = rq->param(rq, "start"), *end = rq->param(rq, "end");
	const char *ofs_s = rq->param(rq, "ofs");
	uint64_t ofs = ofs_s != NULL ? strtoull(ofs_s, NULL, 10) : 0, rank = 0, count = 0;
	int64_t lo = INT64_MIN, hi = INT64_MAX, ms;
	size_t emitted = 0, lo_idx = 0, hi_idx = a->nflows;
	bool is_time;
	struct skp_buf b = { 0 };

	if (type == NULL)
		type = "all";
	if (strcmp(type, "all") != 0 && strcmp(type, "deposit") != 0 && strcmp(type, "withdrawal") != 0 &&
	    strcmp(type, "trade") != 0) {
		kerr(rs, "EGeneral:Invalid arguments");
		return;
	}
	/* flows are sorted by time; ids bound by position */
	if (start != NULL) {
		time_bound(start, &ms, &is_time);
		if (is_time)
			lo = ms;
		else if ((lo_idx = flow_after(a, start)) == 0)
			goto bad;
	}
	if (end != NULL) {
		time_bound(end, &ms, &is_time);
		if (is_time)
			hi = ms;
		else if ((hi_idx = flow_after(a, end)) == 0)
			goto bad;
	}
#define MATCH(j) ((j) >= lo_idx && (j) < hi_idx && a->flows[j].ts_ms <= rq->now_ms && a->flows[j].ts_ms >= lo && \
	a->flows[j].ts_ms < hi && (strcmp(type, "all") == 0 || \
	(strcmp(type, "deposit") == 0) == (dec_sign(a->flows[j].amount) > 0)) && strcmp(type, "trade") != 0)
	for (size_t j = 0; j < a->nflows; j++)
		if (MATCH(j))
			count++;
	if (rq->overlap && ofs > 0)
		ofs -= ofs < 2 ? ofs : 2;
	skp_printf(&b, "{\"error\":[],\"result\":{\"ledger\":{");
	for (size_t j = a->nflows; j-- > 0 && emitted < PAGE;) {
		const struct exsim_flow *fl = &a->flows[j];
		char ab[DEC_STR_MAX];
		if (!MATCH(j) || rank++ < ofs)
			continue;
		skp_printf(&b, "%s\"%s\":{\"refid\":\"R%s\",\"time\":", emitted > 0 ? "," : "", fl->id, fl->id + 1);
		sb_time(&b, fl->ts_ms);
		skp_printf(&b, ",\"type\":\"%s\",\"subtype\":\"\",\"aclass\":\"currency\",\"asset\":\"%s\","
		    "\"amount\":\"%s\",\"fee\":\"0.0000\"}", dec_sign(fl->amount) > 0 ? "deposit" : "withdrawal",
		    native_asset(a, fl->currency), dstr(ab, fl->amount));
		emitted++;
	}
#undef MATCH
	skp_printf(&b, "},\"count\":%" PRIu64 "}}", count);
	skp_send(&b, rs);
	rs->pageable = true;
	return;
bad:
	kerr(rs, "EGeneral:Invalid arguments");
}

static bool
sim_kraken_handle(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs)
{
	struct exsim_account *a;
	const char *name;
	bool history;

	if (strncmp(rq->path, "/0/", 3) != 0)
		return false;
	if (strcmp(rq->path, "/0/public/AssetPairs") == 0) {
		asset_pairs(w, rs);
		return true;
	}
	if (strcmp(rq->path, "/0/public/OHLC") == 0) {
		ohlc(w, rq, rs);
		return true;
	}
	if (strncmp(rq->path, "/0/private/", 11) != 0)
		return false;
	if (strcmp(rq->method, "POST") != 0) {
		exsim_json(rs, 405, "{\"error\":[\"EGeneral:Invalid arguments\"]}");
		return true;
	}
	name = rq->path + 11;
	history = strcmp(name, "TradesHistory") == 0 || strcmp(name, "Ledgers") == 0;
	if (!history && strcmp(name, "BalanceEx") != 0 && strcmp(name, "Balance") != 0)
		return false;
	if ((a = auth(w, rq, rs, history ? 2 : 1)) == NULL)
		return true;
	if (strcmp(name, "Ledgers") == 0 && w->cfg.no_ledger_permission) {
		/* what Kraken answers a key without "Query Ledger Entries" */
		kerr(rs, "EGeneral:Permission denied");
		return true;
	}
	if (strcmp(name, "BalanceEx") == 0 || strcmp(name, "Balance") == 0)
		balance(a, rq, rs, strcmp(name, "BalanceEx") == 0);
	else if (strcmp(name, "TradesHistory") == 0)
		trades_history(w, a, rq, rs);
	else
		ledgers(a, rq, rs);
	return true;
}

/* ------------------------------------------------------------------ venue */

static const struct exsim_symdef kraken_spot[] = {
	{ "BTC/USD", "XXBTZUSD", "BTC", "USD", "XXBT", "ZUSD", 60000, 2, 8, 0.0001, 0.2, 0 },
	{ "ETH/USD", "XETHZUSD", "ETH", "USD", "XETH", "ZUSD", 3000, 2, 8, 0.001, 3, 0 },
	{ "SOL/USD", "SOLUSD", "SOL", "USD", "SOL", "USD", 150, 2, 8, 0.05, 40, 0 },
	{ "ETH/BTC", "XETHXXBT", "ETH", "BTC", "XETH", "XXBT", 0.05, 5, 8, 0.001, 3, 0 },
	{ "BTC/EUR", "XXBTZEUR", "BTC", "EUR", "XXBT", "ZEUR", 55000, 2, 8, 0.0001, 0.2, 0 },
};

static const struct exsim_venue_market kraken_markets[] = {
	{ FILL_SPOT, kraken_spot, sizeof(kraken_spot) / sizeof(kraken_spot[0]), NULL, 0, false },
};

static const char *const kraken_prefixes[] = { "/0/", NULL };

static void
kraken_5xx(struct exsim_response *rs, unsigned status, int64_t now_ms)
{
	exsim_json(rs, status, "{\"error\":[\"EService:Unavailable\"]}");
}

static void
kraken_429(struct exsim_response *rs, int64_t now_ms)
{
	exsim_json(rs, 200, "{\"error\":[\"EAPI:Rate limit exceeded\"]}");
}

const struct exsim_venue sim_kraken_venue = {
	.name = "kraken",
	.markets = kraken_markets,
	.nmarkets = sizeof(kraken_markets) / sizeof(kraken_markets[0]),
	.prefixes = kraken_prefixes,
	.handle = sim_kraken_handle,
	.reference = sim_markets_kraken_reference,
	.error_5xx = kraken_5xx,
	.error_429 = kraken_429,
	.not_found_body = "{\"error\":[\"EGeneral:Unknown method\"]}",
	.close = exsim_close_from_fills,	/* OHLC: the pair owner's last fill of the day */
	.fee_maker = "0.0016",
	.fee_taker = "0.0026",
	.ids = EXSIM_IDS_TXID,
	.keys = EXSIM_KEYS_BASE64,
};
