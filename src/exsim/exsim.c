/*
 * exsim: the simulated world, account lookup, admin routes, fault injection
 * and dispatch to the venues (exsim_venue.h). Names no exchange: every
 * per-exchange fact is a field of a venue.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/prim.h"
#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

enum fault { F_5XX, F_429, F_TIMEOUT, F_TRUNCATE, F_MALFORMED, F_OVERLAP, F_N };
static const char *const fault_names[F_N] = { "5xx", "429", "timeout", "truncate", "malformed", "overlap" };

void
exsim_config_default(struct exsim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 1;
	cfg->accounts_per_exchange = 2;
	cfg->fills_per_account = 2000;
	cfg->history_ms = 90LL * 86400000LL;
	cfg->faults.timeout_ms = 35000;
	cfg->threads = 4;
}

static void
key_hash(uint8_t out[BMAP_KEY_BYTES], const struct exsim_venue *v, const char *api_key)
{
	size_t nv = strlen(v->name) + 1, n = strlen(api_key);
	uint8_t *buf = xmalloc(nv + n);

	memcpy(buf, v->name, nv);
	memcpy(buf + nv, api_key, n);
	prim_sha256(out, buf, nv + n);
	free(buf);
}

int
exsim_init(struct exsim *w, const struct exsim_config *cfg, const char **errstr)
{
	const struct exsim_faults *f = &cfg->faults;
	size_t per = cfg->accounts_per_exchange, i = 0;
	const struct exsim_venue *v;
	double p[F_N] = { f->p_5xx, f->p_429, f->p_timeout, f->p_truncate, f->p_malformed, f->p_overlap };

	memset(w, 0, sizeof(*w));
	for (int j = 0; j < F_N; j++)
		if (!(p[j] >= 0.0 && p[j] <= 1.0)) {
			*errstr = "fault probabilities must be in [0, 1]";
			return -1;
		}
	if (!(cfg->coinbase_unknown_side >= 0.0 && cfg->coinbase_unknown_side <= 1.0)) {
		*errstr = "fault probabilities must be in [0, 1]";
		return -1;
	}
	if (per == 0 || per > 100000 || cfg->fills_per_account == 0 || cfg->fills_per_account > 1000000000ULL ||
	    cfg->history_ms < 1000 || cfg->live_spacing_ms < 0 || f->latency_ms < 0 || f->timeout_ms < 0 ||
	    cfg->threads == 0 || cfg->threads > 256) {
		*errstr = "configuration out of range";
		return -1;
	}
	w->cfg = *cfg;
	w->start_ms = cfg->start_ms != 0 ? cfg->start_ms : time_now_ms();
	w->rng = cfg->seed ^ 0x6a09e667f3bcc909ULL;
	w->weight_window_ms = w->start_ms;
	if (pthread_mutex_init(&w->mu, NULL) != 0)
		fatalx("exsim: mutex");
	w->by_key = bmap_new();
	/* per accounts of every market of every venue, in registry order */
	for (size_t k = 0; (v = exsim_venue_at(k)) != NULL; k++)
		w->naccounts += per * v->nmarkets;
	w->accounts = xcalloc(w->naccounts, sizeof(*w->accounts));
	for (size_t k = 0; (v = exsim_venue_at(k)) != NULL; k++)
		for (size_t m = 0, seen = 0; m < v->nmarkets; m++)
			for (size_t j = 0; j < per; j++, i++) {
				struct exsim_account *a = &w->accounts[i];
				uint8_t h[BMAP_KEY_BYTES];
				exsim_account_generate(a, cfg, w->start_ms, i, v, &v->markets[m], seen++,
				    per * v->nmarkets);
				key_hash(h, v, a->api_key);
				if (bmap_put(w->by_key, h, a) == -1)
					fatalx("exsim: duplicate API key");
			}
	return 0;
}

void
exsim_free(struct exsim *w)
{
	if (w->accounts == NULL)
		return;
	for (size_t i = 0; i < w->naccounts; i++)
		exsim_account_clear(&w->accounts[i]);
	free(w->accounts);
	bmap_free(w->by_key);
	pthread_mutex_destroy(&w->mu);
	memset(w, 0, sizeof(*w));
}

struct exsim_account *
exsim_account_by_key(struct exsim *w, const struct exsim_venue *v, const char *api_key)
{
	uint8_t h[BMAP_KEY_BYTES];

	if (api_key == NULL || v == NULL)
		return NULL;
	key_hash(h, v, api_key);
	return bmap_get(w->by_key, h);
}

struct exsim_account *
exsim_account_any(struct exsim *w, const char *api_key)
{
	const struct exsim_venue *v;
	struct exsim_account *a;

	for (size_t k = 0; (v = exsim_venue_at(k)) != NULL; k++)
		if ((a = exsim_account_by_key(w, v, api_key)) != NULL)
			return a;
	return NULL;
}

const char *
exsim_request_param(const struct exsim_request *r, const char *name)
{
	for (size_t j = 0; j < r->nparams; j++)
		if (strcmp(r->params[j].name, name) == 0)
			return r->params[j].value;
	return NULL;
}

/* ---- response helpers ---- */

void
exsim_body(struct exsim_response *rs, unsigned status, char *body, size_t len)
{
	free(rs->body);
	rs->status = status;
	rs->body = body;
	rs->body_len = len;
}

void
exsim_json(struct exsim_response *rs, unsigned status, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("exsim: out of memory");
	exsim_body(rs, status, s, (size_t)n);
}

void
exsim_header(struct exsim_response *rs, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (rs->nheaders == EXSIM_MAX_RESP_HEADERS || strlen(name) >= sizeof(rs->headers[0].name))
		fatalx("exsim: response header %s does not fit", name);
	snprintf(rs->headers[rs->nheaders].name, sizeof(rs->headers[0].name), "%s", name);
	va_start(ap, fmt);
	vsnprintf(rs->headers[rs->nheaders].value, sizeof(rs->headers[0].value), fmt, ap);
	va_end(ap);
	rs->nheaders++;
}

static void
body_json(struct exsim_response *rs, unsigned status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (s == NULL)
		fatalx("exsim: json_dumps");
	exsim_body(rs, status, s, strlen(s));
}

/* ---- admin routes ---- */

static uint64_t
visible_fills(const struct exsim_account *a, int64_t now_ms)
{
	uint64_t n = 0;

	for (size_t k = 0; k < a->nsymbols; k++)
		n += exsim_visible(a, k, now_ms);
	return n;
}

char *
exsim_accounts_json(struct exsim *w, int64_t now_ms)
{
	json_t *arr = json_array();
	char *s;

	for (size_t i = 0; i < w->naccounts; i++) {
		const struct exsim_account *a = &w->accounts[i];
		json_t *syms = json_array();
		for (size_t k = 0; k < a->nsymbols; k++)
			json_array_append_new(syms, json_pack("{s:s, s:s}", "symbol", a->symbols[k].unified,
			    "native", a->symbols[k].native));
		json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:o}",
		    "index", (json_int_t)a->index, "exchange", a->venue->name,
		    "market", exsim_market_name(a->market), "api_key", a->api_key, "secret", a->secret,
		    "passphrase", a->passphrase, "can_trade", a->can_trade, "can_withdraw", a->can_withdraw,
		    "nfills", (json_int_t)visible_fills(a, now_ms), "symbols", syms));
	}
	s = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (s == NULL)
		fatalx("exsim: json_dumps");
	return s;
}

static json_t *
dec_json(struct dec d)
{
	char b[DEC_STR_MAX];

	dec_format(b, sizeof(b), d);
	return json_string(b);
}

static json_t *
fill_json(const struct fill *f, bool side_unknown)
{
	char dt[TIME_ISO_LEN];
	json_t *o;

	time_format_iso_ms(dt, f->timestamp);
	o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "id", f->id, "order", f->order,
	    "timestamp", (json_int_t)f->timestamp, "datetime", dt, "symbol", f->symbol,
	    "side", f->side == FILL_BUY ? "buy" : "sell", "price", dec_json(f->price), "amount", dec_json(f->amount),
	    "cost", dec_json(f->cost), "takerOrMaker", f->role == FILL_MAKER ? json_string("maker") :
	    f->role == FILL_TAKER ? json_string("taker") : json_null(),
	    "marketType", exsim_market_name(f->market));
	if (side_unknown)
		json_object_set_new(o, "side", json_null());	/* ccxt: side undefined */
	if (f->nfees > 0)
		json_object_set_new(o, "fee", json_pack("{s:o, s:s}", "cost", dec_json(f->fees[0].cost),
		    "currency", f->fees[0].currency));
	return o;
}

/* The next fill in (timestamp, id) order over all symbols: a k-way merge
 * whose heads are recomputed, so the export needs no array of fills. */
struct merge {
	const struct exsim_account *a;
	uint64_t *next, *end;
	struct fill *head;
};

static int
fill_order(const struct fill *x, const struct fill *y)
{
	if (x->timestamp != y->timestamp)
		return x->timestamp < y->timestamp ? -1 : 1;
	return strcmp(x->id, y->id);
}

static const struct fill *
merge_next(struct merge *m, size_t *kout)
{
	size_t best = SIZE_MAX;

	for (size_t k = 0; k < m->a->nsymbols; k++)
		if (m->next[k] < m->end[k] && (best == SIZE_MAX || fill_order(&m->head[k], &m->head[best]) < 0))
			best = k;
	*kout = best;
	return best == SIZE_MAX ? NULL : &m->head[best];
}

static void
merge_advance(struct merge *m, size_t k)
{
	if (++m->next[k] < m->end[k])
		exsim_fill(m->a, k, m->next[k], &m->head[k]);
}

/* Appends text to a growing buffer. */
struct buf {
	char *p;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_json(struct buf *b, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (s == NULL)
		fatalx("exsim: json_dumps");
	buf_add(b, s, strlen(s));
	free(s);
}

/* The account's funding rows booked by now_ms (exsim_funding_at), by time
 * then symbol, as ccxt's fetchFundingHistory unifies them, plus the rate,
 * position and mark they were computed from. */
static json_t *
funding_json(const struct exsim_account *a, int64_t now_ms)
{
	json_t *arr = json_array();
	int64_t from = INT64_MAX, to = INT64_MIN;

	for (size_t k = 0; exsim_has_funding(a) && k < a->nsymbols; k++) {
		const struct exsim_symbol *s = &a->symbols[k];
		uint64_t vis = exsim_visible(a, k, now_ms);
		if (vis == 0)
			continue;
		if (exsim_fill_ts(a, k, 0) < from)
			from = exsim_fill_ts(a, k, 0);
		/* every fill (INT64_MAX): up to the last one, as exsim_funding_sum */
		if (now_ms < INT64_MAX)
			to = now_ms;
		else if (exsim_fill_ts(a, k, s->nfills - 1) > to)
			to = exsim_fill_ts(a, k, s->nfills - 1);
	}
	for (int64_t t = from == INT64_MAX ? 0 : exsim_funding_ceil(from); from != INT64_MAX && t <= to;
	    t += EXSIM_FUNDING_PERIOD_MS)
		for (size_t k = 0; k < a->nsymbols; k++) {
			struct exsim_funding f;
			char dt[TIME_ISO_LEN], id[24];
			if (now_ms == INT64_MAX && t > exsim_fill_ts(a, k, a->symbols[k].nfills - 1))
				continue;
			if (!exsim_funding_at(a, k, t, &f))
				continue;
			time_format_iso_ms(dt, t);
			snprintf(id, sizeof(id), "%llu", (unsigned long long)f.tran_id);
			json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o}", "id", id,
			    "symbol", a->symbols[k].unified, "timestamp", (json_int_t)t, "datetime", dt, "currency",
			    a->symbols[k].quote, "amount", dec_json(f.income), "rate", dec_json(f.rate), "position",
			    dec_json(f.position), "mark", dec_json(f.mark)));
		}
	return arr;
}

char *
exsim_truth_json(const struct exsim_account *a, int64_t now_ms)
{
	struct merge m = { .a = a };
	struct buf b = { 0 };
	const struct fill *f;
	json_t *flows, *bal;
	char cur[8][FILL_CUR_MAX];
	struct dec tot[8];
	size_t k, n, nf = 0;

	m.next = xcalloc(a->nsymbols, sizeof(*m.next));
	m.end = xcalloc(a->nsymbols, sizeof(*m.end));
	m.head = xcalloc(a->nsymbols, sizeof(*m.head));
	for (k = 0; k < a->nsymbols; k++) {
		m.end[k] = exsim_visible(a, k, now_ms);
		if (m.end[k] > 0)
			exsim_fill(a, k, 0, &m.head[k]);
	}
	/* One fill at a time through jansson: the export of a million fills
	 * never holds a million JSON objects. */
	buf_add(&b, "{\"fills\":[", 10);
	while ((f = merge_next(&m, &k)) != NULL) {
		if (nf++ > 0)
			buf_add(&b, ",", 1);
		buf_json(&b, fill_json(f, exsim_side_unknown(a, k, m.next[k])));
		merge_advance(&m, k);
	}
	flows = json_array();
	for (size_t j = 0; j < a->nflows && a->flows[j].ts_ms <= now_ms; j++) {
		const struct exsim_flow *fl = &a->flows[j];
		char dt[TIME_ISO_LEN];
		time_format_iso_ms(dt, fl->ts_ms);
		json_array_append_new(flows, json_pack("{s:s, s:I, s:s, s:s, s:o, s:s}", "id", fl->id,
		    "timestamp", (json_int_t)fl->ts_ms, "datetime", dt, "currency", fl->currency,
		    "amount", dec_json(fl->amount), "type", dec_sign(fl->amount) > 0 ? "deposit" : "withdrawal"));
	}
	bal = json_object();
	n = exsim_balances(a, now_ms, cur, tot, 8);
	for (size_t j = 0; j < n; j++)
		json_object_set_new(bal, cur[j], dec_json(tot[j]));
	buf_add(&b, "],\"flows\":", 10);
	buf_json(&b, flows);
	buf_add(&b, ",\"funding\":", 11);
	buf_json(&b, funding_json(a, now_ms));
	buf_add(&b, ",\"balances\":", 12);
	buf_json(&b, bal);
	buf_add(&b, "}", 1);
	free(m.next);
	free(m.end);
	free(m.head);
	return b.p;
}

/* GET /exsim/closes?exchange=E&market=M&symbol=S: the daily closes the
 * exchange's public candle endpoint serves for unified symbol S
 * (exsim_close; a venue that omits empty buckets: only the days with a
 * candle, its candle hook), {"<day start ms>": "<close>", ...} over the
 * last 1000 days: the truth an independent client's OHLCV is judged by. */
static void
closes(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs)
{
	const char *mn = rq->param(rq, "market"), *sym = rq->param(rq, "symbol");
	const struct exsim_venue *v = exsim_venue_find(rq->param(rq, "exchange"));
	int m = -1;
	int64_t today = rq->now_ms / 86400000LL;
	json_t *o;

	for (int j = FILL_SPOT; mn != NULL && j <= FILL_FUTURES; j++)
		if (strcmp(mn, exsim_market_name((enum fill_market)j)) == 0)
			m = j;
	if (v == NULL || m < 0 || sym == NULL) {
		exsim_json(rs, 400, "{\"error\":\"exchange, market and symbol required\"}");
		return;
	}
	o = json_object();
	for (int64_t d = today - 999; d <= today; d++) {
		struct dec c;
		char key[24];
		int rc = v->candle != NULL ? v->candle(w, v, (enum fill_market)m, sym, d, rq->now_ms, &c) :
		    exsim_close(w, v, (enum fill_market)m, sym, d, rq->now_ms, &c);
		if (rc == 0) {
			snprintf(key, sizeof(key), "%lld", (long long)(d * 86400000LL));
			json_object_set_new(o, key, dec_json(c));
		}
	}
	body_json(rs, 200, o);
}

static bool
admin(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs)
{
	const char *key;
	struct exsim_account *a;
	char *s;

	if (strncmp(rq->path, "/exsim/", 7) != 0)
		return false;
	if (strcmp(rq->method, "GET") != 0) {
		exsim_json(rs, 405, "{\"error\":\"method not allowed\"}");
		return true;
	}
	if (strcmp(rq->path, "/exsim/accounts") == 0) {
		s = exsim_accounts_json(w, rq->now_ms);
		exsim_body(rs, 200, s, strlen(s));
	} else if (strcmp(rq->path, "/exsim/truth") == 0) {
		if ((key = rq->param(rq, "api_key")) == NULL || (a = exsim_account_any(w, key)) == NULL) {
			exsim_json(rs, 404, "{\"error\":\"unknown api_key\"}");
			return true;
		}
		s = exsim_truth_json(a, rq->now_ms);
		{
			/* the truth's last "}" makes room for the daily equity */
			json_t *de = exsim_daily_equity_json(w, a, rq->now_ms);
			char *des = json_dumps(de, JSON_COMPACT), *full;
			json_decref(de);
			s[strlen(s) - 1] = '\0';
			full = xasprintf("%s,\"daily_equity\":%s}", s, des);
			free(s);
			free(des);
			s = full;
		}
		exsim_body(rs, 200, s, strlen(s));
	} else if (strcmp(rq->path, "/exsim/closes") == 0) {
		closes(w, rq, rs);
	} else if (strcmp(rq->path, "/exsim/stats") == 0) {
		json_t *o, *by = json_object(), *paths = json_object();
		pthread_mutex_lock(&w->mu);
		for (int j = 0; j < F_N; j++)
			json_object_set_new(by, fault_names[j], json_integer((json_int_t)w->stats_by_fault[j]));
		for (size_t j = 0; j < w->nstats_paths; j++)
			json_object_set_new(paths, w->stats_paths[j].path, json_integer((json_int_t)w->stats_paths[j].n));
		if (w->stats_other_paths > 0)
			json_object_set_new(paths, "other", json_integer((json_int_t)w->stats_other_paths));
		o = json_pack("{s:I, s:I, s:o, s:o, s:I, s:I}", "requests", (json_int_t)w->stats_requests,
		    "faults", (json_int_t)w->stats_faults, "by_fault", by, "by_path", paths, "accounts",
		    (json_int_t)w->naccounts, "start_ms", (json_int_t)w->start_ms);
		pthread_mutex_unlock(&w->mu);
		body_json(rs, 200, o);
	} else
		exsim_json(rs, 404, "{\"error\":\"no such route\"}");
	return true;
}

/* ---- faults ---- */

/* xorshift64* under w->mu: fault decisions are reproducible for a seed and
 * a request order. */
static double
rng_uniform(struct exsim *w)
{
	uint64_t x = w->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	w->rng = x;
	return (double)((x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1)
		;
}

static void
count_fault(struct exsim *w, enum fault f)
{
	w->stats_faults++;
	w->stats_by_fault[f]++;
}

static void
not_found(struct exsim_response *rs, const struct exsim_venue *v)
{
	if (v != NULL && v->not_found_body != NULL)
		exsim_json(rs, 404, "%s", v->not_found_body);
	else
		exsim_json(rs, 404, "{\"error\":\"not found\"}");
}

/* Counts a request to path. Called with w->mu held. */
static void
count_path(struct exsim *w, const char *path)
{
	size_t i;

	for (i = 0; i < w->nstats_paths; i++)
		if (strcmp(w->stats_paths[i].path, path) == 0)
			break;
	if (i == w->nstats_paths) {
		if (i == EXSIM_STATS_PATHS || strlen(path) >= sizeof(w->stats_paths[0].path)) {
			w->stats_other_paths++;
			return;
		}
		snprintf(w->stats_paths[i].path, sizeof(w->stats_paths[i].path), "%s", path);
		w->nstats_paths++;
	}
	w->stats_paths[i].n++;
}

void
exsim_dispatch(struct exsim *w, const struct exsim_request *rq0, struct exsim_response *rs)
{
	const struct exsim_faults *F = &w->cfg.faults;
	struct exsim_request rq = *rq0;
	const struct exsim_venue *v = exsim_venue_of_path(rq.path);
	bool f5 = false, f429 = false, fto = false, ftr = false, fmal = false;
	unsigned status5 = 500;
	double cut = 0;

	if (rq.param == NULL)
		rq.param = exsim_request_param;
	rq.now_ms += F->clock_offset_ms;
	pthread_mutex_lock(&w->mu);
	w->stats_requests++;
	count_path(w, rq.path);
	if (v != NULL) {
		/* every draw happens on every request, so one probability does
		 * not shift the sequence of another */
		double u5 = rng_uniform(w), u429 = rng_uniform(w), uto = rng_uniform(w);
		double utr = rng_uniform(w), umal = rng_uniform(w), uov = rng_uniform(w);
		double us = rng_uniform(w);
		f5 = u5 < F->p_5xx;
		f429 = !f5 && u429 < F->p_429;
		fto = !f5 && !f429 && uto < F->p_timeout;
		ftr = utr < F->p_truncate;
		fmal = !ftr && umal < F->p_malformed;
		rq.overlap = uov < F->p_overlap;
		status5 = us < 1.0 / 3 ? 500 : us < 2.0 / 3 ? 502 : 503;
		cut = us;
		if (f5)
			count_fault(w, F_5XX);
		if (f429)
			count_fault(w, F_429);
		if (fto)
			count_fault(w, F_TIMEOUT);
	}
	pthread_mutex_unlock(&w->mu);

	if (F->latency_ms > 0 && v != NULL)
		sleep_ms(F->latency_ms);
	if (admin(w, &rq, rs))
		return;
	if (v == NULL) {
		not_found(rs, v);
		return;
	}
	if (fto) {
		/* hold past the client's timeout, then answer as a gateway would */
		sleep_ms(F->timeout_ms);
		exsim_json(rs, 504, "{\"error\":\"gateway timeout\"}");
		return;
	}
	if (f5) {
		v->error_5xx(rs, status5, rq.now_ms);
		return;
	}
	if (f429) {
		v->error_429(rs, rq.now_ms);
		return;
	}
	if (!v->handle(w, &rq, rs) && (v->reference == NULL || !v->reference(w, v, &rq, rs)))
		not_found(rs, v);
	if (rq.overlap && rs->pageable) {
		pthread_mutex_lock(&w->mu);
		count_fault(w, F_OVERLAP);
		pthread_mutex_unlock(&w->mu);
	}
	if (rs->body_len >= 2 && (ftr || fmal)) {
		pthread_mutex_lock(&w->mu);
		count_fault(w, ftr ? F_TRUNCATE : F_MALFORMED);
		pthread_mutex_unlock(&w->mu);
		if (ftr) {
			/* cut somewhere strictly inside the body */
			rs->body_len = 1 + (size_t)(cut * (double)(rs->body_len - 1));
			rs->body[rs->body_len] = '\0';
		} else
			exsim_json(rs, rs->status, "<html><body><h1>502 Bad Gateway</h1></body></html>{\"");
	}
}
