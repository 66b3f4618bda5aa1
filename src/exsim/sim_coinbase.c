/*
 * sim_coinbase: Coinbase Advanced Trade (API v3) for perfagg-exsim.
 *
 * Endpoints (exchanges.md section 5):
 *   GET /api/v3/brokerage/key_permissions            (JWT)
 *   GET /api/v3/brokerage/accounts                   (JWT; limit 49 default, 250 max; cursor, has_next)
 *   GET /api/v3/brokerage/orders/historical/fills    (JWT; see below)
 *   GET /api/v3/brokerage/market/products/{id}/candles  (public)
 *   GET /api/v3/brokerage/time                       (public; on the offset clock, --clock-offset-s)
 *
 * Authentication: "Authorization: Bearer <JWT>"; the kid names the account,
 * the signature is checked with the account's public key, alg, sub, exp
 * (lifetime <= 120 s, not expired) and uri = "GET " + Host + path without
 * the query (exsim_auth.h, the simulator's own verifier). Any failure is what Coinbase sends:
 * 401 with the text/plain body "Unauthorized". The public key is derived
 * from the account's secret per request (tens of microseconds; no cache to
 * keep coherent).
 *
 * Fills: newest first by sequence_timestamp over all the account's
 * products. limit defaults to 100 and may not exceed 250 (our choice: the
 * maximum is not documented; ccxt pages with 250, ccxt/ccxt#24070, and 100
 * was its former default); more is a 400 INVALID_ARGUMENT. Filters:
 * product_ids (repeated; ccxt's singular product_id too),
 * start_sequence_timestamp and end_sequence_timestamp (both inclusive).
 * The cursor is opaque: base64 of the per-product positions where the next
 * page starts ("f1|i0,i1,...") - the "offset" of the brief per product, so
 * any page is computed directly; an empty cursor means no more pages.
 * sequence_timestamp = trade_time's millisecond plus a hashed 0..999 us:
 * strictly increasing per product (a product never has two fills in one
 * ms), and a fill that becomes visible later (timestamp <= now) always has a
 * later sequence than every fill visible before, so an inclusive start bound
 * at the newest sequence seen never skips a fill.
 * Rendering: sizes and prices as decimal strings; trade_time with 3, 6 or 9
 * fractional digits; size_in_quote true on some buys (size is then the
 * quote amount, the fill's cost); UNKNOWN_LIQUIDITY_INDICATOR where the
 * history's role is unknown; commission in the quote currency; trade_type
 * CORRECTION or SYNTHETIC on about 1% of the rows (adjusted fills, each a
 * trade of the history like any other: the truth is unchanged, as ccxt
 * ignores trade_type). REVERSAL is not generated: a faithful one undoes an
 * earlier fill, which the generator's round trips do not model. With
 * --coinbase-unknown-side P a share P of the rows say UNKNOWN_ORDER_SIDE
 * (their truth side is null, ccxt's undefined; the balances hold them).
 *
 * Rate limit (cfg.strict_limits): 30 requests per second per key on the
 * private endpoints, 10 per second on the public ones (per IP: the
 * simulator's one), answered with 429 {"error":"RATE_LIMIT_EXCEEDED",...}
 * and x-ratelimit-* headers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/b64.h"
#include "core/hex.h"
#include "core/prim.h"
#include "exsim/exsim.h"
#include "exsim/exsim_auth.h"
#include "exsim/exsim_venue.h"
#include "exsim/sim_markets.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

extern const struct exsim_venue sim_coinbase_venue;

#define API "/api/v3/brokerage/"
#define FILLS_DEFAULT 100
#define FILLS_MAX 250
#define ACCOUNTS_DEFAULT 49
#define ACCOUNTS_MAX 250
#define PRIVATE_PER_S 30
#define PUBLIC_PER_S 10
#define MAX_CANDLES 350
/* Zero-balance wallets every Coinbase user has besides the traded ones. */
#define EXTRA_WALLETS 260
#define MAX_SYMBOLS 16
#define DAY_S 86400

/* A 64-bit hash of three words (SHA-256 based: ids and times only need to
 * look random and be reproducible). */
static uint64_t
hash3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t in[3] = { a, b, c }, out = 0;
	uint8_t h[PRIM_SHA256_BYTES];

	prim_sha256(h, in, sizeof(in));
	for (int j = 0; j < 8; j++)
		out = out << 8 | h[j];
	return out;
}

static void
uuid_of(char out[37], uint64_t a, uint64_t b)
{
	uint64_t h1 = hash3(a, b, 1), h2 = hash3(a, b, 2);

	snprintf(out, 37, "%08llx-%04llx-4%03llx-%04llx-%012llx", (unsigned long long)(h1 >> 32),
	    (unsigned long long)((h1 >> 16) & 0xffff), (unsigned long long)(h1 & 0xfff),
	    (unsigned long long)(0x8000 | ((h2 >> 48) & 0x3fff)), (unsigned long long)(h2 & 0xffffffffffffULL));
}

/* ---- errors ---- */

static void
cb_err(struct exsim_response *rs, unsigned status, const char *code, const char *msg)
{
	exsim_json(rs, status, "{\"error\":\"%s\",\"error_details\":\"%s\",\"message\":\"%s\"}", code, msg, msg);
}

static void
unauthorized(struct exsim_response *rs)
{
	exsim_body(rs, 401, xstrdup("Unauthorized"), 12);
	rs->content_type = "text/plain";
}

/* A one-second window counter: 429 past per_s requests in the window. */
static bool
rate_exceeded(struct exsim *w, double *counter, int64_t *at_ms, unsigned per_s, int64_t now_ms,
    struct exsim_response *rs)
{
	bool over;
	int64_t reset;

	if (!w->cfg.strict_limits)
		return false;
	pthread_mutex_lock(&w->mu);
	if (now_ms - *at_ms >= 1000 || now_ms < *at_ms) {
		*at_ms = now_ms;
		*counter = 0;
	}
	over = ++*counter > per_s;
	reset = *at_ms + 1000 - now_ms;
	pthread_mutex_unlock(&w->mu);
	if (!over)
		return false;
	cb_err(rs, 429, "RATE_LIMIT_EXCEEDED", "Too many requests");
	exsim_header(rs, "x-ratelimit-limit", "%u", per_s);
	exsim_header(rs, "x-ratelimit-remaining", "0");
	exsim_header(rs, "x-ratelimit-reset", "%lld", (long long)(reset + 999) / 1000);
	return true;
}

/* The account the request's JWT authenticates, or NULL after answering 401. */
static struct exsim_account *
authenticate(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs)
{
	const char *auth = rq->header(rq, "Authorization"), *host = rq->header(rq, "Host"), *err;
	struct exsim_account *a;
	char kid[sizeof(a->api_key)];

	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || host == NULL ||
	    exsim_auth_coinbase_kid(auth + 7, strlen(auth + 7), kid, sizeof(kid)) != 0 ||
	    (a = exsim_account_by_key(w, &sim_coinbase_venue, kid)) == NULL ||
	    exsim_auth_coinbase(auth + 7, strlen(auth + 7), a->secret, strlen(a->secret), a->api_key, rq->method, host,
	    rq->path, rq->now_ms / 1000, &err) != 0) {
		unauthorized(rs);
		return NULL;
	}
	return a;
}

static int
param_uint(const struct exsim_request *rq, const char *name, unsigned dflt, unsigned max, unsigned *out)
{
	const char *s = rq->param(rq, name);
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0') {
		*out = dflt;
		return 0;
	}
	v = strtoul(s, &end, 10);
	if (*end != '\0' || *s < '0' || *s > '9' || v == 0 || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* ---- cursors: base64("<tag>|n0,n1,...") ---- */

static char *
cursor_make(char tag, const uint64_t *pos, size_t n)
{
	char buf[MAX_SYMBOLS * 21 + 4];
	size_t len = (size_t)snprintf(buf, sizeof(buf), "%c1|", tag);

	for (size_t k = 0; k < n; k++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%llu", k ? "," : "",
		    (unsigned long long)pos[k]);
	return b64_encode((const uint8_t *)buf, len);
}

static int
cursor_parse(const char *s, char tag, uint64_t *pos, size_t n)
{
	uint8_t buf[MAX_SYMBOLS * 21 + 4];
	size_t len, k = 0;
	char *p, *end;

	if (b64_decode(buf, sizeof(buf) - 1, &len, s, strlen(s)) != 0 || len < 3 || buf[0] != (uint8_t)tag ||
	    buf[1] != '1' || buf[2] != '|')
		return -1;
	buf[len] = '\0';
	for (p = (char *)buf + 3; k < n; k++, p = end + 1) {
		if (*p < '0' || *p > '9')
			return -1;
		pos[k] = strtoull(p, &end, 10);
		if (*end != (k + 1 < n ? ',' : '\0'))
			return -1;
	}
	return 0;
}

/* ---- key_permissions ---- */

static void
key_permissions(const struct exsim_account *a, struct exsim_response *rs)
{
	char portfolio[37];

	uuid_of(portfolio, a->seed, 1);
	exsim_json(rs, 200, "{\"can_view\":true,\"can_trade\":%s,\"can_transfer\":%s,\"portfolio_uuid\":\"%s\","
	    "\"portfolio_type\":\"DEFAULT\"}", a->can_trade ? "true" : "false", a->can_withdraw ? "true" : "false",
	    portfolio);
}

/* ---- accounts ---- */

static json_t *
wallet_json(const struct exsim_account *a, size_t j, const char *cur, struct dec total, const char *created)
{
	char uuid[37], portfolio[37], name[40], av[DEC_STR_MAX], ho[DEC_STR_MAX];
	struct dec hold = DEC_ZERO, avail = total;

	/* A tenth of a positive balance is held by open orders. */
	if (dec_sign(total) > 0 && dec_round(&hold, (struct dec){ total.raw / 10 }, 8) == 0 &&
	    dec_sub(&avail, total, hold) != 0)
		hold = DEC_ZERO, avail = total;
	uuid_of(uuid, a->seed, 100 + j);
	uuid_of(portfolio, a->seed, 1);
	snprintf(name, sizeof(name), "%s Wallet", cur);
	dec_format(av, sizeof(av), avail);
	dec_format(ho, sizeof(ho), hold);
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:b, s:b, s:s, s:s, s:n, s:s, s:b, s:{s:s, s:s}, s:s, s:s}",
	    "uuid", uuid, "name", name, "currency", cur, "available_balance", "value", av, "currency", cur,
	    "default", j == 0, "active", 1, "created_at", created, "updated_at", created, "deleted_at",
	    "type", strcmp(cur, "USD") == 0 ? "ACCOUNT_TYPE_FIAT" : "ACCOUNT_TYPE_CRYPTO", "ready", 1,
	    "hold", "value", ho, "currency", cur, "retail_portfolio_id", portfolio,
	    "platform", "ACCOUNT_PLATFORM_CONSUMER");
}

static void
accounts(struct exsim *w, const struct exsim_account *a, const struct exsim_request *rq, struct exsim_response *rs)
{
	char cur[8][FILL_CUR_MAX], extra[FILL_CUR_MAX], created[TIME_ISO_LEN], *next = NULL, *s;
	struct dec tot[8];
	size_t n = exsim_balances(a, rq->now_ms, cur, tot, 8), total_rows = n + EXTRA_WALLETS;
	uint64_t off = 0, end;
	unsigned limit;
	const char *c = rq->param(rq, "cursor");
	json_t *arr = json_array(), *o;

	(void)w;
	if (param_uint(rq, "limit", ACCOUNTS_DEFAULT, ACCOUNTS_MAX, &limit) != 0) {
		json_decref(arr);
		cb_err(rs, 400, "INVALID_ARGUMENT", "limit must be between 1 and 250");
		return;
	}
	if (c != NULL && *c != '\0' && (cursor_parse(c, 'a', &off, 1) != 0 || off > total_rows)) {
		json_decref(arr);
		cb_err(rs, 400, "INVALID_ARGUMENT", "invalid cursor");
		return;
	}
	time_format_iso_ms(created, w->start_ms - 400LL * DAY_S * 1000);
	end = off + limit < total_rows ? off + limit : total_rows;
	for (uint64_t j = off; j < end; j++) {
		if (j < n)
			json_array_append_new(arr, wallet_json(a, j, cur[j], tot[j], created));
		else {
			snprintf(extra, sizeof(extra), "C%03llu", (unsigned long long)(j - n));
			json_array_append_new(arr, wallet_json(a, j, extra, DEC_ZERO, created));
		}
	}
	if (end < total_rows)
		next = cursor_make('a', &end, 1);
	o = json_pack("{s:o, s:b, s:s, s:I}", "accounts", arr, "has_next", end < total_rows, "cursor",
	    next != NULL ? next : "", "size", (json_int_t)(end - off));
	free(next);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	exsim_body(rs, 200, s, strlen(s));
}

/* ---- fills ---- */

/* Sequence position of fill i of product k, microseconds since the epoch. */
static int64_t
seq_us(const struct exsim_account *a, size_t k, uint64_t i, int64_t ts_ms)
{
	return ts_ms * 1000 + (int64_t)(hash3(a->symbols[k].salt, 7, i) % 1000);
}

/* "2023-11-26T10:19:47.504" + extra digits + "Z" */
static void
rfc3339(char out[40], int64_t ms, const char *extra)
{
	char iso[TIME_ISO_LEN];

	time_format_iso_ms(iso, ms);
	snprintf(out, 40, "%.23s%sZ", iso, extra);
}

static int
parse_seq_us(const char *s, int64_t *us)
{
	size_t len = strlen(s), i = 19, nd = 0;
	int64_t frac = 0, ms;
	char whole[40];

	if (len < 20 || len >= sizeof(whole))
		return -1;
	if (s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++)
			if (nd < 6)
				frac = frac * 10 + (s[i] - '0');
	while (nd++ < 6)
		frac *= 10;
	snprintf(whole, sizeof(whole), "%.19s%s", s, s + i);
	if (time_parse_iso(whole, strlen(whole), &ms) != 0)
		return -1;
	*us = ms * 1000 + frac;
	return 0;
}

/* First index of product k whose sequence is >= us. */
static uint64_t
index_from_seq(const struct exsim_account *a, size_t k, int64_t us, uint64_t hi)
{
	int64_t ms = us >= 0 ? us / 1000 : (us - 999) / 1000;
	uint64_t i = exsim_index_at(a, k, ms);

	/* fills of that very ms may sit below us */
	while (i < hi && seq_us(a, k, i, exsim_fill_ts(a, k, i)) < us)
		i++;
	return i < hi ? i : hi;
}

/* A growing text buffer for page bodies (jansson per row is the
 * simulator's main cost on a million-fill backfill; every value here is a
 * decimal, a time, a hex id or a product code: nothing needs escaping). */
struct text {
	char *p;
	size_t len, cap;
};

static void
text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
text_printf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			fatalx("sim_coinbase: vsnprintf");
		if ((size_t)n < t->cap - t->len)
			break;
		t->cap = 2 * t->cap + (size_t)n + 1;
		t->p = xrealloc(t->p, t->cap);
	}
	t->len += (size_t)n;
}

struct who {
	char user[37], portfolio[37];
};

static void
fill_row(struct text *t, const struct exsim_account *a, const struct who *who, size_t k, uint64_t i)
{
	const struct exsim_symbol *s = &a->symbols[k];
	uint64_t h = hash3(s->salt, 11, i);
	uint8_t eh[PRIM_SHA256_BYTES];
	struct fill f;
	char tt[40], st[40], extra[8], entry[2 * PRIM_SHA256_BYTES + 1], price[DEC_STR_MAX], size[DEC_STR_MAX];
	char fee[DEC_STR_MAX];
	int64_t us;
	uint64_t kind;
	const char *type;
	bool inquote;

	exsim_fill(a, k, i, &f);
	us = seq_us(a, k, i, f.timestamp);
	/* trade_time: ms, or with micro/nanosecond digits */
	switch (h % 3) {
	case 0:
		extra[0] = '\0';
		break;
	case 1:
		snprintf(extra, sizeof(extra), "%03u", (unsigned)(h >> 8) % 1000);
		break;
	default:
		snprintf(extra, sizeof(extra), "%06u", (unsigned)(h >> 8) % 1000000);
		break;
	}
	rfc3339(tt, f.timestamp, extra);
	snprintf(extra, sizeof(extra), "%03u", (unsigned)(us % 1000));
	rfc3339(st, us / 1000, extra);
	prim_sha256(eh, f.id, strlen(f.id));
	hex_encode(entry, eh, sizeof(eh));
	/* market buys by quote amount: size is the quote (the cost) */
	inquote = f.side == FILL_BUY && (h >> 40) % 100 < 15;
	/* about 1% adjusted fills ("Adjusted fills have possible values
	 * REVERSAL, CORRECTION, SYNTHETIC"): rows that move money like any
	 * other, which ccxt takes as trades (it ignores trade_type) */
	kind = hash3(s->salt, 13, i) % 1000;
	type = kind < 6 ? "CORRECTION" : kind < 10 ? "SYNTHETIC" : "FILL";
	dec_format(price, sizeof(price), f.price);
	dec_format(size, sizeof(size), inquote ? f.cost : f.amount);
	dec_format(fee, sizeof(fee), f.nfees > 0 ? f.fees[0].cost : DEC_ZERO);
	text_printf(t, "%s{\"entry_id\":\"%s\",\"trade_id\":\"%s\",\"order_id\":\"%s\",\"trade_time\":\"%s\","
	    "\"trade_type\":\"%s\",\"price\":\"%s\",\"size\":\"%s\",\"commission\":\"%s\",\"product_id\":\"%s\","
	    "\"sequence_timestamp\":\"%s\",\"liquidity_indicator\":\"%s\",\"size_in_quote\":%s,\"user_id\":\"%s\","
	    "\"side\":\"%s\",\"retail_portfolio_id\":\"%s\"}", t->p[t->len - 1] == '[' ? "" : ",", entry, f.id, f.order,
	    tt, type, price, size, fee, s->native, st,
	    f.role == FILL_MAKER ? "MAKER" : f.role == FILL_TAKER ? "TAKER" : "UNKNOWN_LIQUIDITY_INDICATOR",
	    inquote ? "true" : "false", who->user, exsim_side_unknown(a, k, i) ? "UNKNOWN_ORDER_SIDE" :
	    f.side == FILL_BUY ? "BUY" : "SELL", who->portfolio);
}

/* Sequence of the fill just below hi[k], or -1 when product k has none
 * left above lo[k]. */
static int64_t
head_us(const struct exsim_account *a, size_t k, const uint64_t *lo, const uint64_t *hi)
{
	return hi[k] > lo[k] ? seq_us(a, k, hi[k] - 1, exsim_fill_ts(a, k, hi[k] - 1)) : -1;
}

/* The product whose head is the newest (ties: the higher index), or -1. */
static int
newest(const int64_t *head, size_t n)
{
	int best = -1;

	for (size_t k = 0; k < n; k++)
		if (head[k] >= 0 && (best < 0 || head[k] >= head[best]))
			best = (int)k;
	return best;
}

/* The product with the oldest fill at or above pos[] (below top[]). */
static int
oldest(const struct exsim_account *a, const uint64_t *pos, const uint64_t *top)
{
	int best = -1;
	int64_t bus = 0;

	for (size_t k = 0; k < a->nsymbols; k++) {
		if (pos[k] >= top[k])
			continue;
		int64_t us = seq_us(a, k, pos[k], exsim_fill_ts(a, k, pos[k]));
		if (best < 0 || us < bus) {
			best = (int)k;
			bus = us;
		}
	}
	return best;
}

static bool
product_wanted(const struct exsim_request *rq, const char *native)
{
	bool any = false;

	for (size_t j = 0; j < rq->nparams; j++)
		if (strcmp(rq->params[j].name, "product_ids") == 0 || strcmp(rq->params[j].name, "product_id") == 0) {
			any = true;
			if (strcmp(rq->params[j].value, native) == 0)
				return true;
		}
	return !any;
}

static void
fills(const struct exsim_account *a, const struct exsim_request *rq, struct exsim_response *rs)
{
	uint64_t lo[MAX_SYMBOLS], hi[MAX_SYMBOLS], top[MAX_SYMBOLS], up[MAX_SYMBOLS], vis[MAX_SYMBOLS];
	bool want[MAX_SYMBOLS];
	int64_t head[MAX_SYMBOLS];
	struct text t;
	struct who who;
	const char *start = rq->param(rq, "start_sequence_timestamp"), *end = rq->param(rq, "end_sequence_timestamp");
	const char *c = rq->param(rq, "cursor");
	int64_t start_us = 0, end_us = 0;
	unsigned limit, n = 0;
	char *next;
	int k;

	if (a->nsymbols > MAX_SYMBOLS)
		fatalx("sim_coinbase: too many products");
	if (param_uint(rq, "limit", FILLS_DEFAULT, FILLS_MAX, &limit) != 0) {
		cb_err(rs, 400, "INVALID_ARGUMENT", "limit must be between 1 and 250");
		return;
	}
	if ((start != NULL && *start != '\0' && parse_seq_us(start, &start_us) != 0) ||
	    (end != NULL && *end != '\0' && parse_seq_us(end, &end_us) != 0)) {
		cb_err(rs, 400, "INVALID_ARGUMENT", "invalid sequence timestamp");
		return;
	}
	for (size_t j = 0; j < a->nsymbols; j++) {
		vis[j] = exsim_visible(a, j, rq->now_ms);
		hi[j] = vis[j];
		if (end != NULL && *end != '\0')
			hi[j] = index_from_seq(a, j, end_us + 1, vis[j]);
		lo[j] = start != NULL && *start != '\0' ? index_from_seq(a, j, start_us, hi[j]) : 0;
		if (!(want[j] = product_wanted(rq, a->symbols[j].native)))
			lo[j] = hi[j];
		top[j] = hi[j];
	}
	if (c != NULL && *c != '\0') {
		if (cursor_parse(c, 'f', up, a->nsymbols) != 0) {
			cb_err(rs, 400, "INVALID_ARGUMENT", "invalid cursor");
			return;
		}
		for (size_t j = 0; j < a->nsymbols; j++) {
			if (up[j] > vis[j]) {
				cb_err(rs, 400, "INVALID_ARGUMENT", "invalid cursor");
				return;
			}
			if (up[j] < hi[j])
				hi[j] = up[j];
			if (lo[j] > hi[j])
				lo[j] = hi[j];
		}
	}
	uuid_of(who.user, a->seed, 2);
	uuid_of(who.portfolio, a->seed, 1);
	t.cap = 4096 + (size_t)limit * 720;
	t.p = xmalloc(t.cap);
	t.len = 0;
	text_printf(&t, "{\"fills\":[");
	if (rq->overlap && c != NULL && *c != '\0') {
		/* Fault: repeat the last rows of the previous page, the oldest
		 * fills just above the cursor, newest of them first. */
		uint64_t pos[MAX_SYMBOLS];
		size_t kk[3], ii[3], m = 0;
		for (size_t j = 0; j < a->nsymbols; j++)
			pos[j] = want[j] ? hi[j] : top[j];
		while (m < 3 && (k = oldest(a, pos, top)) >= 0) {
			kk[m] = (size_t)k;
			ii[m++] = pos[k]++;
		}
		while (m-- > 0)
			fill_row(&t, a, &who, kk[m], ii[m]);
	}
	rs->pageable = true;
	for (size_t j = 0; j < a->nsymbols; j++)
		head[j] = head_us(a, j, lo, hi);
	while (n < limit && (k = newest(head, a->nsymbols)) >= 0) {
		fill_row(&t, a, &who, (size_t)k, --hi[k]);
		head[k] = head_us(a, (size_t)k, lo, hi);
		n++;
	}
	next = newest(head, a->nsymbols) >= 0 ? cursor_make('f', hi, a->nsymbols) : NULL;
	text_printf(&t, "],\"cursor\":\"%s\"}", next != NULL ? next : "");
	free(next);
	exsim_body(rs, 200, t.p, t.len);
}

/* ---- candles (public) ---- */

static const struct {
	const char *name;
	int64_t seconds;
} granularities[] = {
	{ "ONE_MINUTE", 60 }, { "FIVE_MINUTE", 300 }, { "FIFTEEN_MINUTE", 900 }, { "THIRTY_MINUTE", 1800 },
	{ "ONE_HOUR", 3600 }, { "TWO_HOUR", 7200 }, { "SIX_HOUR", 21600 }, { "ONE_DAY", 86400 },
};

/*
 * Candles are the market's trades, and the simulated market's trades are
 * the fills of every Coinbase account trading the product: a bucket's open
 * is its first fill's price, close its last's, low and high the extremes,
 * volume the base traded; a bucket without a fill has no candle (as
 * Coinbase omits empty buckets). So the day's candle range contains every
 * fill of the day and the close is the day's last fill, visible at now.
 */

/* Whether account a's symbol k is product id (native "BTC-USD") or
 * unified ("BTC/USD"). */
static bool
trades(const struct exsim_account *a, size_t k, const char *id, bool unified)
{
	return a->venue == &sim_coinbase_venue && strcmp(unified ? a->symbols[k].unified : a->symbols[k].native, id) == 0;
}

static bool
product_listed(const struct exsim *w, const char *id)
{
	for (size_t i = 0; i < w->naccounts; i++)
		for (size_t k = 0; k < w->accounts[i].nsymbols; k++)
			if (trades(&w->accounts[i], k, id, false))
				return true;
	return false;
}

struct candle {
	bool any;
	int64_t first_ts, last_ts;
	struct dec open, close, low, high, volume;
};

static void
candle_add(struct candle *c, const struct fill *f)
{
	if (!c->any || f->timestamp < c->first_ts) {
		c->first_ts = f->timestamp;
		c->open = f->price;
	}
	/* the later account wins a tie: the same choice as last_fill() */
	if (!c->any || f->timestamp >= c->last_ts) {
		c->last_ts = f->timestamp;
		c->close = f->price;
	}
	if (!c->any || dec_cmp(f->price, c->low) < 0)
		c->low = f->price;
	if (!c->any || dec_cmp(f->price, c->high) > 0)
		c->high = f->price;
	if (dec_add(&c->volume, c->any ? c->volume : DEC_ZERO, f->amount) != 0)
		fatalx("sim_coinbase: candle volume overflow");
	c->any = true;
}

/* The candle of product id over [t_ms, t_ms + g_ms) at now_ms. */
static void
candle_of(const struct exsim *w, const char *id, int64_t t_ms, int64_t g_ms, int64_t now_ms, struct candle *c)
{
	struct fill f;

	memset(c, 0, sizeof(*c));
	for (size_t n = 0; n < w->naccounts; n++) {
		const struct exsim_account *a = &w->accounts[n];
		for (size_t k = 0; k < a->nsymbols; k++) {
			uint64_t i, end, vis;
			if (!trades(a, k, id, false))
				continue;
			vis = exsim_visible(a, k, now_ms);
			end = exsim_index_at(a, k, t_ms + g_ms);
			for (i = exsim_index_at(a, k, t_ms); i < end && i < vis; i++) {
				exsim_fill(a, k, i, &f);
				candle_add(c, &f);
			}
		}
	}
}

/* The price (and time, *ts) of the last fill of the market before
 * before_ms visible at now_ms (ties: the later account), or -1 when there
 * is none. */
static int
last_fill(const struct exsim *w, const char *unified, int64_t before_ms, int64_t now_ms, struct dec *price,
    int64_t *ts)
{
	int64_t best = 0;
	bool any = false;
	struct fill f;

	for (size_t n = 0; n < w->naccounts; n++) {
		const struct exsim_account *a = &w->accounts[n];
		for (size_t k = 0; k < a->nsymbols; k++) {
			uint64_t j, vis;
			if (!trades(a, k, unified, true))
				continue;
			vis = exsim_visible(a, k, now_ms);
			j = exsim_index_at(a, k, before_ms);
			if (j > vis)
				j = vis;
			if (j == 0 || (any && exsim_fill_ts(a, k, j - 1) < best))
				continue;
			exsim_fill(a, k, j - 1, &f);
			best = f.timestamp;
			*price = f.price;
			any = true;
		}
	}
	*ts = best;
	return any ? 0 : -1;
}

static json_t *
candle_json(const struct candle *c, int64_t t)
{
	char tb[24], b[5][DEC_STR_MAX];

	snprintf(tb, sizeof(tb), "%lld", (long long)t);
	dec_format(b[0], sizeof(b[0]), c->low);
	dec_format(b[1], sizeof(b[1]), c->high);
	dec_format(b[2], sizeof(b[2]), c->open);
	dec_format(b[3], sizeof(b[3]), c->close);
	dec_format(b[4], sizeof(b[4]), c->volume);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "start", tb, "low", b[0], "high", b[1], "open", b[2],
	    "close", b[3], "volume", b[4]);
}

/* The close a client holds for day: the close of the latest ONE_DAY candle
 * at or before it, i.e. the market's last fill before the day's end. */
static int
sim_coinbase_close(const struct exsim *w, const char *unified, int64_t day, int64_t now_ms, struct dec *close)
{
	int64_t ts;

	if (day * DAY_S * 1000 > now_ms)
		return -1;
	return last_fill(w, unified, (day + 1) * DAY_S * 1000, now_ms, close, &ts);
}

static int
sim_coinbase_candle_close(const struct exsim *w, const char *unified, int64_t day, int64_t now_ms, struct dec *close)
{
	int64_t ts;

	if (day * DAY_S * 1000 > now_ms || last_fill(w, unified, (day + 1) * DAY_S * 1000, now_ms, close, &ts) != 0)
		return -1;
	/* a last fill from an earlier day makes no candle for this one */
	return ts >= day * DAY_S * 1000 ? 0 : -1;
}

static void
candles(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs, const char *product)
{
	const char *st = rq->param(rq, "start"), *en = rq->param(rq, "end"), *gr = rq->param(rq, "granularity");
	struct candle cd;
	int64_t g = 0, start, end, first, now_s = rq->now_ms / 1000;
	char *e1, *e2, *s;
	json_t *arr, *o;

	if (!product_listed(w, product)) {
		cb_err(rs, 404, "NOT_FOUND", "ProductID is invalid");
		return;
	}
	for (size_t j = 0; gr != NULL && j < sizeof(granularities) / sizeof(granularities[0]); j++)
		if (strcmp(gr, granularities[j].name) == 0)
			g = granularities[j].seconds;
	if (st == NULL || en == NULL || g == 0 || (start = strtoll(st, &e1, 10), *e1 != '\0' || e1 == st) ||
	    (end = strtoll(en, &e2, 10), *e2 != '\0' || e2 == en) || end < start) {
		cb_err(rs, 400, "INVALID_ARGUMENT", "start, end and granularity are required");
		return;
	}
	if ((end - start) / g >= MAX_CANDLES) {
		cb_err(rs, 400, "INVALID_ARGUMENT",
		    "start and end argument is invalid - number of candles requested should be less than 350");
		return;
	}
	arr = json_array();
	first = (start + g - 1) / g * g;
	/* newest first; buckets that have not begun are not there yet */
	for (int64_t t = (end < now_s ? end : now_s) / g * g; t >= first; t -= g) {
		candle_of(w, product, t * 1000, g * 1000, rq->now_ms, &cd);
		if (cd.any)
			json_array_append_new(arr, candle_json(&cd, t));
	}
	o = json_pack("{s:o}", "candles", arr);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	exsim_body(rs, 200, s, strlen(s));
}

/* ---- time (public) ---- */

/* GET /api/v3/brokerage/time, as the API reference's example:
 * {"iso":"2024-02-27T03:37:14Z","epochSeconds":"1709005034","epochMillis":"1709005034333"}
 * on the simulator's (possibly offset) clock. */
static void
server_time(const struct exsim_request *rq, struct exsim_response *rs)
{
	char iso[TIME_ISO_LEN];

	time_format_iso_ms(iso, rq->now_ms / 1000 * 1000);
	exsim_json(rs, 200, "{\"iso\":\"%.19sZ\",\"epochSeconds\":\"%lld\",\"epochMillis\":\"%lld\"}", iso,
	    (long long)(rq->now_ms / 1000), (long long)rq->now_ms);
}

/* ---- dispatch ---- */

static bool
sim_coinbase_handle(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs)
{
	static double pub_counter;
	static int64_t pub_at;
	const char *p = rq->path + strlen(API), *q;
	struct exsim_account *a;

	if (strncmp(rq->path, API, strlen(API)) != 0)
		return false;
	if (strcmp(p, "time") == 0 && strcmp(rq->method, "GET") == 0) {
		if (!rate_exceeded(w, &pub_counter, &pub_at, PUBLIC_PER_S, rq->now_ms, rs))
			server_time(rq, rs);
		return true;
	}
	if (strncmp(p, "market/products/", 16) == 0 && (q = strchr(p + 16, '/')) != NULL &&
	    strcmp(q, "/candles") == 0 && q - (p + 16) < 32) {
		char product[32];
		snprintf(product, sizeof(product), "%.*s", (int)(q - (p + 16)), p + 16);
		if (strcmp(rq->method, "GET") != 0)
			return false;
		if (!rate_exceeded(w, &pub_counter, &pub_at, PUBLIC_PER_S, rq->now_ms, rs))
			candles(w, rq, rs, product);
		return true;
	}
	if (strcmp(p, "key_permissions") != 0 && strcmp(p, "accounts") != 0 &&
	    strcmp(p, "orders/historical/fills") != 0 && strcmp(p, "transaction_summary") != 0)
		return false;
	if (strcmp(rq->method, "GET") != 0)
		return false;
	if ((a = authenticate(w, rq, rs)) == NULL)
		return true;
	if (rate_exceeded(w, &a->rate_counter, &a->rate_at_ms, PRIVATE_PER_S, rq->now_ms, rs))
		return true;
	if (strcmp(p, "key_permissions") == 0)
		key_permissions(a, rs);
	else if (strcmp(p, "accounts") == 0)
		accounts(w, a, rq, rs);
	else if (strcmp(p, "transaction_summary") == 0)
		sim_markets_coinbase_transaction_summary(a, rs);
	else
		fills(a, rq, rs);
	return true;
}

/* ------------------------------------------------------------------ venue */

static const struct exsim_symdef coinbase_spot[] = {
	{ "BTC/USD", "BTC-USD", "BTC", "USD", "BTC", "USD", 60000, 2, 8, 0.0001, 0.2, 0 },
	{ "ETH/USD", "ETH-USD", "ETH", "USD", "ETH", "USD", 3000, 2, 8, 0.001, 3, 0 },
	{ "SOL/USD", "SOL-USD", "SOL", "USD", "SOL", "USD", 150, 2, 6, 0.05, 40, 0 },
	{ "ETH/BTC", "ETH-BTC", "ETH", "BTC", "ETH", "BTC", 0.05, 5, 8, 0.001, 3, 0 },
};

static const struct exsim_venue_market coinbase_markets[] = {
	/* USDC held and never traded, and Coinbase lists no USDC-USD product
	 * (USDC converts 1:1): a held currency without a price series */
	{ FILL_SPOT, coinbase_spot, sizeof(coinbase_spot) / sizeof(coinbase_spot[0]), "USDC", 250, false },
};

static const char *const coinbase_prefixes[] = { "/api/v3/brokerage/", "/v2/", NULL };

static void
coinbase_5xx(struct exsim_response *rs, unsigned status, int64_t now_ms)
{
	exsim_json(rs, status, "{\"error\":\"INTERNAL\",\"error_details\":\"internal error\","
	    "\"message\":\"internal error\"}");
}

static void
coinbase_429(struct exsim_response *rs, int64_t now_ms)
{
	exsim_json(rs, 429, "{\"error\":\"RATE_LIMIT_EXCEEDED\",\"error_details\":\"Too many requests\","
	    "\"message\":\"Too many requests\"}");
}

/* Candles: sim_coinbase_close (the venue's own product candles). */
static int
coinbase_close(const struct exsim *w, const struct exsim_venue *v, enum fill_market m, const char *unified,
    int64_t day, int64_t now_ms, struct dec *close)
{
	return sim_coinbase_close(w, unified, day, now_ms, close);
}

static int
coinbase_candle(const struct exsim *w, const struct exsim_venue *v, enum fill_market m, const char *unified,
    int64_t day, int64_t now_ms, struct dec *close)
{
	return sim_coinbase_candle_close(w, unified, day, now_ms, close);
}

const struct exsim_venue sim_coinbase_venue = {
	.name = "coinbase",
	.markets = coinbase_markets,
	.nmarkets = sizeof(coinbase_markets) / sizeof(coinbase_markets[0]),
	.prefixes = coinbase_prefixes,
	.handle = sim_coinbase_handle,
	.reference = sim_markets_coinbase_reference,
	.error_5xx = coinbase_5xx,
	.error_429 = coinbase_429,
	.close = coinbase_close,
	.candle = coinbase_candle,
	.fee_maker = "0.004",
	.fee_taker = "0.006",
	.ids = EXSIM_IDS_UUID,
	.keys = EXSIM_KEYS_CDP,
	.role_unknown_pct = 3,		/* UNKNOWN_LIQUIDITY_INDICATOR, charged as taker */
	.side_unknown = true,		/* UNKNOWN_ORDER_SIDE at cfg.coinbase_unknown_side */
};
