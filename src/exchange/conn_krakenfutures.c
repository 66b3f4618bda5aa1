/*
 * Kraken Futures connector (exchanges.md section 7).
 *
 * A cycle: GET /derivatives/api/v3/accounts (validates the key; the first
 * cycle only), then the account's executions from the history API,
 * GET /api/history/v3/executions?sort=asc&since=..&count=.., following the
 * continuation token (response header Next-Continuation-Token, or the body
 * field continuationToken) until there is none. Executions carry the fee,
 * which /derivatives/api/v3/fills does not, so fills is not used. Then the
 * flows side step (XPART_FLOWS): the transfers in GET
 * /api/history/v3/account-log?sort=asc&count=500&since=.. (on_log). Then the
 * balances side step (XPART_BALANCES): GET /derivatives/api/v3/openpositions
 * and GET /derivatives/api/v3/accounts again, back to back, so that the
 * positions and the collateral they are netted against are one snapshot.
 * Then the prices side step (XPART_PRICES): the daily closes of every
 * contract traded or held, and of PF_XBTUSD (the BTC benchmark), from the
 * account's first day, GET /api/charts/v1/trade/<contract>/1d?from=&to=
 * (public), each series at most hourly (on_charts).
 *
 * Balances are reported in the cash view the daemon's equity uses (equity =
 * cash + sum(position size x close)), as conn_binance.c does for USD-M. The
 * flex (multi-collateral) account's currencies[c].quantity is the
 * collateral: deposits + realized PnL - fees; its unrealized PnL (pnl,
 * totalUnrealized, in portfolioValue) is sum(signed size x (mark - entry)).
 * The cash left after closing every position at the mark is therefore
 *     cash(USD) = quantity(USD) + sum(signed size x (mark - entry))
 *                               - sum(signed size x mark)
 *               = quantity(USD) - sum over flex positions (signed size x price)
 * with price the position's average entry price from /openpositions (long
 * size > 0, short < 0; every flex contract, PF_*, is quoted and margined in
 * USD whatever its pnlCurrency). Other currencies: cash = quantity, plus the
 * holding wallet's (cashAccount) balances, summed per currency. Each flex
 * position is also reported as a balance of its unified symbol (signed
 * size). Unrealized funding is not counted (Kraken does not state its
 * sign; it moves into quantity when realized). Single-collateral margin
 * accounts (marginAccount: inverse PI_ and FI_ contracts) and their
 * positions are not read (a permanent caveat).
 *
 * Requests per cycle, retries of a request aside:
 *     R = 2 + max(1, ceil(E / 100)) + floor(L / 500) + 1
 *           + sum over the series due of (floor(D_k / 2000) + 1)
 * 2 for openpositions and accounts (3 in the first cycle, which validates
 * the key with accounts first); E the executions since the cursor
 * (count=100 asked; a server answering smaller pages adds pages, never
 * repeats one: each page's continuation token is new); L the account-log
 * entries since its cursor (those at the cursor's millisecond are read
 * again); D_k the days of closes series k still needs (2,000 candles an
 * answer, each next request starting after the last candle), a series
 * being due when not fetched within the hour. Rate pools (docs.kraken.com
 * futures-rate-limits): /derivatives 500 per 10 s per key (accounts and
 * openpositions cost 2 each); /history a pool of 100 tokens whose refill
 * Kraken does not state: taken as 100 per 10 s (1 per call); the public
 * charts API states no limit (not paced). A side step given up by the
 * poller (ops->skip) goes on to the next one (flows, balances, prices); a
 * series of closes given up, or refused with a 4xx, leaves prices degraded
 * and goes on to the next series.
 *
 * Fills are emitted oldest first (ascending). The cursor is the newest
 * execution time seen and the ids seen at exactly that time: since is
 * taken as inclusive, so the next cycle asks from that time again and
 * skips what it already emitted; anything older than the cursor inside a
 * walk is a repeated row (overlapping pages).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fill.h"
#include "exchange/exchange.h"
#include "exchange/sign_kraken.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define PAGE 100
#define ID_MAX FILL_ID_MAX
#define TOKEN_MAX 512
/* /derivatives: 500 per 10 s. */
#define BUDGET 500
#define BUDGET_WINDOW_MS 10000

enum step { ST_ACCOUNTS, ST_EXECUTIONS, ST_LOG, ST_POSITIONS, ST_BALANCES, ST_CHARTS, ST_DONE };

#define LOG_PAGE 500

/* Daily closes: the charts API answers at most CHART_MAX candles; a series
 * caught up is asked again at most every CHARTS_EVERY_MS (its newest
 * candle's close moves until the day ends). */
#define SERIES_MAX 64
#define CHART_MAX 2000
#define CHARTS_EVERY_MS 3600000LL
#define DAY_MS 86400000LL
#define BENCH_NATIVE "PF_XBTUSD"	/* the BTC benchmark's series (server handlers_metrics.c) */

/* A series of daily closes: a contract traded or held, or the benchmark. */
struct kfseries {
	char native[32];		/* "PF_XBTUSD" */
	char unified[FILL_SYMBOL_MAX];	/* "BTC/USD:USD" */
	int64_t from_s;			/* from of its next request, seconds; 0: the account's first day */
	int64_t fetched_ms;		/* when it was last caught up, 0 never */
};

/* An open flex position (ST_POSITIONS), for the balances step. */
struct kfpos {
	char symbol[FILL_SYMBOL_MAX];	/* unified */
	struct dec size;		/* signed: long > 0 */
	struct dec price;		/* average entry */
};

/* Where a walk ordered by time has got to: the newest time emitted, and
 * the ids emitted at exactly that time (the next walk asks from that time
 * again, inclusive, and skips them). */
struct kfcursor {
	int64_t ms;			/* -1: nothing emitted yet */
	char (*ids)[ID_MAX];
	size_t n, cap;
};

struct krakenfutures {
	enum step step;
	struct kfcursor exec;		/* executions */
	struct kfcursor log;		/* account-log transfers (flows) */
	char token[TOKEN_MAX];		/* continuation token of the walk, "" first page */
	int64_t walk_since;		/* since of this walk */
	bool perms_reported;
	uint64_t nfills;
	struct kfpos *pos;		/* this cycle's open flex positions */
	size_t npos, poscap;
	struct kfseries series[SERIES_MAX];
	size_t nseries, series_i;
	int64_t first_day_ms;		/* day of the earliest fill, -1 none */
};

static int
kf_open(struct xconn *c, const char **errstr)
{
	struct krakenfutures *k;

	if (c->conf.market != FILL_FUTURES) {
		*errstr = "krakenfutures: only futures accounts (spot is the kraken connector)";
		return -1;
	}
	k = xcalloc(1, sizeof(*k));
	k->exec.ms = k->log.ms = -1;
	k->first_day_ms = -1;
	c->priv = k;
	c->caveat[XPART_BALANCES] = "Kraken Futures: single-collateral margin accounts (inverse contracts) and their "
	    "positions are not read";
	return 0;
}

static void
kf_close(struct xconn *c)
{
	struct krakenfutures *k = c->priv;

	if (k == NULL)
		return;
	free(k->exec.ids);
	free(k->log.ids);
	free(k->pos);
	free(k);
}

static void
kf_begin(struct xconn *c, int64_t now_ms)
{
	struct krakenfutures *k = c->priv;

	/* once the key is validated, the previous cycle's closing accounts
	 * request stands for this one's opening one (asked back to back, the
	 * same request twice: a repeat) */
	k->step = c->validated ? ST_EXECUTIONS : ST_ACCOUNTS;
	k->npos = 0;
	k->series_i = 0;
	k->token[0] = '\0';
	k->walk_since = k->exec.ms >= 0 ? k->exec.ms : c->conf.backfill_from_ms;
}

static int
signed_get(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char *path,
    const char *query, const char **errstr)
{
	char nonce[24], sig[SIGN_KRAKEN_LEN];
	uint64_t n = (uint64_t)now_ms;

	/* "A good nonce is your system time in milliseconds"; kept strictly
	 * increasing so that nonceDuplicate cannot happen on our side. */
	if (n <= c->nonce)
		n = c->nonce + 1;
	c->nonce = n;
	snprintf(nonce, sizeof(nonce), "%" PRIu64, n);
	if (sign_kraken_futures(sig, cred->secret, cred->secret_len, SIGN_KRAKEN_STRICT, path, query, strlen(query),
	    nonce, errstr) == -1)
		return -1;
	xreq_set(req, "GET", c->base_url, path, query);
	xreq_header(req, "APIKey", cred->api_key);
	xreq_header(req, "Nonce", nonce);
	xreq_header(req, "Authent", sig);
	return 0;
}

/* A history API page, oldest first: count rows from since (ms, inclusive;
 * 0: from the start) after the continuation token (""), on the history
 * pool. Returns 1, or -1 with *errstr. */
static int
history_get(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char *path,
    int count, int64_t since, const char *token, enum xpart part, enum step tag, const char **errstr)
{
	char q[TOKEN_MAX * 3 + 128];
	int n = snprintf(q, sizeof(q), "sort=asc&count=%d", count);

	if (since > 0)
		n += snprintf(q + n, sizeof(q) - (size_t)n, "&since=%" PRId64, since);
	if (token[0] != '\0') {
		char *t = xurl_encode(token, strlen(token));
		snprintf(q + n, sizeof(q) - (size_t)n, "&continuation_token=%s", t);
		free(t);
	}
	if (signed_get(c, cred, now_ms, req, path, q, errstr) == -1)
		return -1;
	req->weight = 1;
	req->pool = 1;
	req->part = part;
	req->tag = (int)tag;
	return 1;
}

static int
kf_next(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char **errstr)
{
	struct krakenfutures *k = c->priv;
	char q[64];

	switch (k->step) {
	case ST_ACCOUNTS:
	case ST_POSITIONS:
	case ST_BALANCES:
		if (signed_get(c, cred, now_ms, req, k->step == ST_POSITIONS ? "/derivatives/api/v3/openpositions" :
		    "/derivatives/api/v3/accounts", "", errstr) == -1)
			return -1;
		req->weight = 2;
		req->pool = 0;
		/* the first accounts request validates the key before the walk */
		req->part = k->step == ST_ACCOUNTS ? XPART_FILLS : XPART_BALANCES;
		req->tag = (int)k->step;
		return 1;
	case ST_EXECUTIONS:
		return history_get(c, cred, now_ms, req, "/api/history/v3/executions", PAGE, k->walk_since, k->token,
		    XPART_FILLS, ST_EXECUTIONS, errstr);
	case ST_LOG:
		return history_get(c, cred, now_ms, req, "/api/history/v3/account-log", LOG_PAGE,
		    k->log.ms >= 0 ? k->log.ms : c->conf.backfill_from_ms, "", XPART_FLOWS, ST_LOG, errstr);
	case ST_CHARTS:
		while (k->series_i < k->nseries && k->series[k->series_i].fetched_ms != 0 &&
		    now_ms - k->series[k->series_i].fetched_ms < CHARTS_EVERY_MS)
			k->series_i++;
		if (k->series_i == k->nseries) {
			k->step = ST_DONE;
			return 0;
		}
		{
			struct kfseries *s = &k->series[k->series_i];
			char path[96];
			if (s->from_s == 0)
				s->from_s = (k->first_day_ms >= 0 ? k->first_day_ms : now_ms - now_ms % DAY_MS) / 1000;
			snprintf(path, sizeof(path), "/api/charts/v1/trade/%s/1d", s->native);
			snprintf(q, sizeof(q), "from=%" PRId64 "&to=%" PRId64, s->from_s, now_ms / 1000);
			xreq_set(req, "GET", c->base_url, path, q);
		}
		req->weight = 1;
		req->pool = 2;
		req->part = XPART_PRICES;
		req->tag = ST_CHARTS;
		return 1;
	case ST_DONE:
		break;
	}
	return 0;
}

/* A JSON value given as a number or a string (both occur), as exact text. */
static int
num_dec(const json_t *v, struct dec *out)
{
	const char *err;

	return json_is_string(v) && dec_parse(json_string_value(v), json_string_length(v), out, &err) == 0 ? 0 : -1;
}

static int
num_ms(const json_t *v, int64_t *out)
{
	struct dec d;

	if (num_dec(v, &d) == -1 || dec_sign(d) < 0 || d.raw % (__int128)1000000000000000000LL != 0)
		return -1;
	*out = (int64_t)(d.raw / (__int128)1000000000000000000LL);
	return 0;
}

/* ccxt krakenfutures: PF_XBTUSD -> BTC/USD:USD (linear), PI_XBTUSD ->
 * BTC/USD:BTC (inverse), FI_XBTUSD_230929 -> BTC/USD:BTC-230929. */
static int
kf_symbol(const char *tradeable, struct fill *f, bool *inverse, char settle[FILL_CUR_MAX], const char **why)
{
	char up[48], base[FILL_CUR_MAX], sym[FILL_SYMBOL_MAX];
	const char *u, *exp;
	size_t len = strlen(tradeable), i, blen;

	*why = "unknown contract";
	if (len < 6 || len >= sizeof(up) || tradeable[2] != '_')
		return -1;
	for (i = 0; i <= len; i++)
		up[i] = (char)(tradeable[i] >= 'a' && tradeable[i] <= 'z' ? tradeable[i] - 32 : tradeable[i]);
	u = up + 3;
	exp = strchr(u, '_');
	/* the quote is USD (all Kraken Futures contracts are against USD) */
	blen = (size_t)((exp != NULL ? exp : up + len) - u);
	if (blen <= 3 || memcmp(u + blen - 3, "USD", 3) != 0 || blen - 3 >= sizeof(base))
		return -1;
	memcpy(base, u, blen - 3);
	base[blen - 3] = '\0';
	if (strcmp(base, "XBT") == 0)
		strcpy(base, "BTC");
	*inverse = up[1] == 'I' && up[0] == 'P' ? true : up[0] == 'F' && up[1] == 'I';
	if (up[0] == 'P' && up[1] == 'F') {
		*inverse = false;
		strcpy(settle, "USD");
	} else if (*inverse)
		snprintf(settle, FILL_CUR_MAX, "%s", base);
	else
		return -1;
	if (exp != NULL)
		snprintf(sym, sizeof(sym), "%s/USD:%s-%s", base, settle, exp + 1);
	else
		snprintf(sym, sizeof(sym), "%s/USD:%s", base, settle);
	return fill_set_symbol(f, sym, strlen(sym), why);
}

static bool
str_is(const json_t *v, const char *a)
{
	return json_is_string(v) && strcasecmp(json_string_value(v), a) == 0;
}

/*
 * One history element -> unified fill, or -1 with *why. Every documented
 * spelling is read, and anything else is an error (never zero fills):
 *  - the wrapper: event.Execution.execution (docs.kraken.com api-reference)
 *    or event.execution.execution (the 2024 docs, and observed);
 *  - the account's side: a single "order" with "executionType" ("taker" or
 *    "maker", role unknown when absent) and "orderData" (fee) -- the current
 *    docs and observed responses; or "makerOrder" and "takerOrder", the
 *    account's being the one whose accountUid is the response's, with
 *    "makerOrderData" / "takerOrderData" (fee, nullable) -- the older docs.
 */
static int
parse_execution(const json_t *el, const char *account, struct fill *f, const char **native, const char **why)
{
	const json_t *ev = json_object_get(el, "event"), *wrap, *ex, *mine, *od = NULL, *et;
	const char *id, *dir, *tradeable, *oid, *mine_acct;
	char settle[FILL_CUR_MAX];
	bool inverse;
	struct dec fee;

	memset(f, 0, sizeof(*f));
	wrap = json_object_get(ev, "Execution");
	if (wrap == NULL)
		wrap = json_object_get(ev, "execution");
	ex = json_object_get(wrap, "execution");
	if (!json_is_object(ex)) {
		*why = "an element that is not an execution (no event.Execution.execution)";
		return -1;
	}
	*why = "execution: bad field";
	if (json_is_object(mine = json_object_get(ex, "order"))) {
		et = json_object_get(ex, "executionType");
		if (et == NULL)
			et = json_object_get(wrap, "executionType");
		if (et == NULL || json_is_null(et))
			f->role = FILL_ROLE_UNKNOWN;
		else if (str_is(et, "taker"))
			f->role = FILL_TAKER;
		else if (str_is(et, "maker"))
			f->role = FILL_MAKER;
		else {
			*why = "execution: executionType neither taker nor maker";
			return -1;
		}
		mine_acct = json_string_value(json_object_get(mine, "accountUid"));
		if (account != NULL && mine_acct != NULL && strcmp(mine_acct, account) != 0) {
			*why = "execution: the order is another account's";
			return -1;
		}
		od = json_object_get(ex, "orderData");
	} else if (json_is_object(json_object_get(ex, "makerOrder")) && json_is_object(json_object_get(ex, "takerOrder"))) {
		const json_t *mo = json_object_get(ex, "makerOrder"), *to = json_object_get(ex, "takerOrder");
		if (account != NULL && str_is(json_object_get(mo, "accountUid"), account)) {
			mine = mo;
			f->role = FILL_MAKER;
			od = json_object_get(ex, "makerOrderData");
		} else if (account != NULL && str_is(json_object_get(to, "accountUid"), account)) {
			mine = to;
			f->role = FILL_TAKER;
			od = json_object_get(ex, "takerOrderData");
		} else {
			*why = "execution: neither makerOrder nor takerOrder is the account's (accountUid)";
			return -1;
		}
	} else {
		*why = "execution: unknown shape (neither order nor makerOrder/takerOrder)";
		return -1;
	}
	id = json_string_value(json_object_get(ex, "uid"));
	oid = json_string_value(json_object_get(mine, "uid"));
	dir = json_string_value(json_object_get(mine, "direction"));
	tradeable = json_string_value(json_object_get(mine, "tradeable"));
	if (id == NULL || strlen(id) >= sizeof(f->id) || dir == NULL || tradeable == NULL ||
	    num_ms(json_object_get(ex, "timestamp"), &f->timestamp) == -1)
		return -1;
	strcpy(f->id, id);
	if (oid != NULL && strlen(oid) < sizeof(f->order))
		strcpy(f->order, oid);
	if (strcasecmp(dir, "buy") == 0)
		f->side = FILL_BUY;
	else if (strcasecmp(dir, "sell") == 0)
		f->side = FILL_SELL;
	else
		return -1;
	if (kf_symbol(tradeable, f, &inverse, settle, why) == -1)
		return -1;
	*native = tradeable;
	*why = "execution: bad field";
	if (num_dec(json_object_get(ex, "quantity"), &f->amount) == -1 ||
	    num_dec(json_object_get(ex, "price"), &f->price) == -1 || dec_sign(f->amount) <= 0 ||
	    dec_sign(f->price) <= 0)
		return -1;
	/* ccxt: linear cost = size * price, inverse = size / price (contract size 1) */
	if ((inverse ? dec_div(&f->cost, f->amount, f->price) : dec_mul(&f->cost, f->amount, f->price)) == -1)
		return -1;
	f->has_cost = true;
	if (json_is_object(od) && json_object_get(od, "fee") != NULL) {
		if (num_dec(json_object_get(od, "fee"), &fee) == -1 || fill_add_fee(f, fee, settle, why) == -1)
			return -1;
	}
	f->market = FILL_FUTURES;
	return 1;
}

/* Whether the row (ts, id) was emitted already: older than the cursor, or
 * at its time with an id emitted there. */
static bool
cursor_seen(const struct kfcursor *cu, int64_t ts, const char *id)
{
	if (ts < cu->ms)
		return true;
	if (ts > cu->ms)
		return false;
	for (size_t i = 0; i < cu->n; i++)
		if (strcmp(cu->ids[i], id) == 0)
			return true;
	return false;
}

static void
cursor_advance(struct kfcursor *cu, int64_t ts, const char *id)
{
	if (ts > cu->ms) {
		cu->ms = ts;
		cu->n = 0;
	}
	if (cu->n == cu->cap) {
		cu->cap = cu->cap == 0 ? 8 : cu->cap * 2;
		cu->ids = xreallocarray(cu->ids, cu->cap, sizeof(*cu->ids));
	}
	snprintf(cu->ids[cu->n++], ID_MAX, "%s", id);
}

/* Daily closes are wanted for every contract traded or held (native name
 * as Kraken spells it, unified as the fills name it) and, once the account
 * has a first day, for the BTC benchmark. */
static void
note_series(struct krakenfutures *k, const char *native, const char *unified)
{
	struct kfseries *s;

	for (size_t i = 0; i < k->nseries; i++)
		if (strcasecmp(k->series[i].native, native) == 0)
			return;
	if (k->nseries == SERIES_MAX || strlen(native) >= sizeof(s->native))
		return;
	s = &k->series[k->nseries++];
	memset(s, 0, sizeof(*s));
	snprintf(s->native, sizeof(s->native), "%s", native);
	snprintf(s->unified, sizeof(s->unified), "%s", unified);
	if (strcasecmp(native, BENCH_NATIVE) != 0)
		note_series(k, BENCH_NATIVE, "BTC/USD:USD");
}

static void
on_executions(struct xconn *c, const json_t *j, const struct xresp *resp, const struct xsink *sink,
    struct xoutcome *out)
{
	struct krakenfutures *k = c->priv;
	const json_t *els = json_object_get(j, "elements"), *el;
	const char *account = json_string_value(json_object_get(j, "accountUid")), *why, *tok;
	size_t i;
	struct fill f;

	if (!json_is_array(els)) {
		xoutcome_error(out, XR_RETRY, "krakenfutures executions: malformed body");
		return;
	}
	json_array_foreach(els, i, el) {
		const char *native = NULL;
		int r = parse_execution(el, account, &f, &native, &why);
		if (r == -1) {
			xoutcome_error(out, XR_FATAL, "krakenfutures executions: %s", why);
			return;
		}
		if (cursor_seen(&k->exec, f.timestamp, f.id) || f.timestamp < c->conf.backfill_from_ms)
			continue;
		if (sink->fill(sink->arg, &f) == -1) {
			xoutcome_error(out, XR_FATAL, "sink refused a fill");
			return;
		}
		cursor_advance(&k->exec, f.timestamp, f.id);
		k->nfills++;
		if (k->first_day_ms < 0 || f.timestamp - f.timestamp % DAY_MS < k->first_day_ms)
			k->first_day_ms = f.timestamp - f.timestamp % DAY_MS;
		note_series(k, native, f.symbol);
	}
	tok = resp->header != NULL ? resp->header(resp, "Next-Continuation-Token") : NULL;
	if (tok == NULL || *tok == '\0')
		tok = json_string_value(json_object_get(j, "continuationToken"));
	if (tok != NULL && *tok != '\0' && json_array_size(els) > 0) {
		if (strlen(tok) >= sizeof(k->token)) {
			xoutcome_error(out, XR_FATAL, "krakenfutures executions: continuation token too long");
			return;
		}
		strcpy(k->token, tok);
	} else {
		k->step = ST_LOG;
		c->backfill_done = true;
	}
	snprintf(c->progress, sizeof(c->progress), "%" PRIu64 " fills; key permissions unknown (Kraken does not report them)",
	    k->nfills);
}

/* A currency as Kraken Futures spells it ("usd", "xbt") in unified form
 * ("USD", "BTC"). Returns 0, or -1 when it does not fit. */
static int
kf_currency(const char *cur, char out[FILL_CUR_MAX])
{
	size_t n = strlen(cur);

	if (n == 0 || n >= FILL_CUR_MAX)
		return -1;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)(cur[i] >= 'a' && cur[i] <= 'z' ? cur[i] - 32 : cur[i]);
	if (strcmp(out, "XBT") == 0)
		strcpy(out, "BTC");
	return 0;
}

/* The account-log entries that move money into or out of the account
 * (ccxt krakenfutures parseLedgerEntryType: type "transfer"). */
static bool
is_transfer(const char *info)
{
	static const char *const kinds[] = { "transfer", "subaccount transfer", "cross-exchange transfer",
		"admin transfer" };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcasecmp(info, kinds[i]) == 0)
			return true;
	return false;
}

/*
 * GET /api/history/v3/account-log?sort=asc&count=500&since=<ms>: the
 * account's balance changes, oldest first; the transfers among them are its
 * deposits and withdrawals: amount = new_balance - old_balance + fee (ccxt
 * parseLedgerEntry), in the entry's asset, id booking_uid (else id). Every
 * other entry (trades, funding, fees: already in the fills or the balances)
 * only advances the cursor. A full page asks again from the newest time
 * read; a full page with nothing new (more than 500 entries in one
 * millisecond) cannot be walked with since alone: flows are degraded.
 */
static void
on_log(struct xconn *c, const json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct krakenfutures *k = c->priv;
	const json_t *logs = json_object_get(j, "logs"), *row;
	bool fresh = false;
	size_t i;

	if (!json_is_array(logs)) {
		xoutcome_error(out, XR_RETRY, "krakenfutures account-log: malformed body");
		return;
	}
	json_array_foreach(logs, i, row) {
		const char *info = json_string_value(json_object_get(row, "info"));
		const char *date = json_string_value(json_object_get(row, "date"));
		const char *id = json_string_value(json_object_get(row, "booking_uid"));
		const json_t *fee = json_object_get(row, "fee");
		char cur[FILL_CUR_MAX];
		struct dec oldb, newb, f = DEC_ZERO, amount;
		int64_t ts;

		if (id == NULL)
			id = json_string_value(json_object_get(row, "id"));	/* a number, as its text */
		if (info == NULL || date == NULL || id == NULL || strlen(id) >= ID_MAX ||
		    time_parse_iso(date, strlen(date), &ts) == -1) {
			xoutcome_error(out, XR_RETRY, "krakenfutures account-log: an entry without info, date or id");
			return;
		}
		if (cursor_seen(&k->log, ts, id))
			continue;
		fresh = true;
		if (is_transfer(info) && ts >= c->conf.backfill_from_ms) {
			if (!json_is_string(json_object_get(row, "asset")) ||
			    kf_currency(json_string_value(json_object_get(row, "asset")), cur) == -1 ||
			    num_dec(json_object_get(row, "old_balance"), &oldb) == -1 ||
			    num_dec(json_object_get(row, "new_balance"), &newb) == -1 ||
			    (fee != NULL && !json_is_null(fee) && num_dec(fee, &f) == -1) ||
			    dec_sub(&amount, newb, oldb) == -1 || dec_add(&amount, amount, f) == -1) {
				xoutcome_error(out, XR_RETRY, "krakenfutures account-log: a bad transfer entry");
				return;
			}
			if (dec_sign(amount) != 0 && sink->flow != NULL && sink->flow(sink->arg, id, ts, cur, amount) == -1) {
				xoutcome_error(out, XR_FATAL, "the flow sink refused");
				return;
			}
		}
		cursor_advance(&k->log, ts, id);
	}
	if (json_array_size(logs) < LOG_PAGE)
		k->step = ST_POSITIONS;
	else if (!fresh) {
		xconn_degrade(c, XPART_FLOWS, "deposits and withdrawals incomplete: more than %d account-log entries at "
		    "one millisecond", LOG_PAGE);
		k->step = ST_POSITIONS;
	}
}

/* Per-currency totals of the balances step. */
struct totals {
	struct {
		char cur[FILL_CUR_MAX];
		struct dec v;
	} t[32];
	size_t n;
};

/* Adds v (a JSON number or string) to currency cur (Kraken's spelling:
 * "xbt", "XBT" -> "BTC"). Returns 0 or -1 (bad value, too many). */
static int
totals_add(struct totals *t, const char *cur, struct dec v)
{
	char up[FILL_CUR_MAX];
	size_t i;

	if (kf_currency(cur, up) == -1)
		return -1;
	for (i = 0; i < t->n && strcmp(t->t[i].cur, up) != 0; i++)
		;
	if (i == t->n) {
		if (t->n == sizeof(t->t) / sizeof(t->t[0]))
			return -1;
		strcpy(t->t[t->n].cur, up);
		t->t[t->n++].v = DEC_ZERO;
	}
	return dec_add(&t->t[i].v, t->t[i].v, v);
}

/* The first GET /accounts of a cycle: the key is valid. */
static void
on_accounts(struct xconn *c, const json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct krakenfutures *k = c->priv;

	if (!json_is_object(json_object_get(j, "accounts"))) {
		xoutcome_error(out, XR_RETRY, "krakenfutures accounts: malformed body");
		return;
	}
	c->validated = true;
	if (!k->perms_reported) {
		if (sink->permissions != NULL && sink->permissions(sink->arg, false, false) == -1) {
			xoutcome_error(out, XR_FATAL, "the permissions sink refused");
			return;
		}
		k->perms_reported = true;
		snprintf(c->progress, sizeof(c->progress), "key permissions unknown (Kraken does not report them)");
	}
	k->step = ST_EXECUTIONS;
}

/*
 * GET /openpositions: the flex positions (PF_*), checked whole before the
 * balances step uses them. Inverse ones (PI_, FI_) belong to
 * single-collateral margin accounts, which are not read (caveat).
 */
static void
on_positions(struct xconn *c, const json_t *j, struct xoutcome *out)
{
	struct krakenfutures *k = c->priv;
	const json_t *arr = json_object_get(j, "openPositions"), *p;
	const char *why;
	size_t i;

	if (!json_is_array(arr)) {
		/* a flat account and an unreadable one differ (ccxt/ccxt#29710) */
		xoutcome_error(out, XR_RETRY, "krakenfutures openpositions: no openPositions list");
		return;
	}
	k->npos = 0;
	json_array_foreach(arr, i, p) {
		const char *sym = json_string_value(json_object_get(p, "symbol"));
		const json_t *side = json_object_get(p, "side");
		char settle[FILL_CUR_MAX];
		bool inverse;
		struct fill f;
		struct kfpos *kp;

		memset(&f, 0, sizeof(f));
		if (sym == NULL || kf_symbol(sym, &f, &inverse, settle, &why) == -1 || (!str_is(side, "long") &&
		    !str_is(side, "short"))) {
			xoutcome_error(out, XR_FATAL, "krakenfutures openpositions: %s", sym == NULL ? "no symbol" :
			    "bad position");
			return;
		}
		if (inverse)
			continue;
		if (k->npos == k->poscap) {
			k->poscap = k->poscap == 0 ? 8 : k->poscap * 2;
			k->pos = xreallocarray(k->pos, k->poscap, sizeof(*k->pos));
		}
		kp = &k->pos[k->npos];
		snprintf(kp->symbol, sizeof(kp->symbol), "%s", f.symbol);
		note_series(k, sym, f.symbol);
		if (num_dec(json_object_get(p, "size"), &kp->size) == -1 || dec_sign(kp->size) < 0 ||
		    num_dec(json_object_get(p, "price"), &kp->price) == -1 || dec_sign(kp->price) <= 0 ||
		    (str_is(side, "short") && dec_neg(&kp->size, kp->size) == -1)) {
			xoutcome_error(out, XR_FATAL, "krakenfutures openpositions: bad size or price (%s)", sym);
			return;
		}
		k->npos++;
	}
	k->step = ST_BALANCES;
}

/* The balances step's GET /accounts: the cash view (top of the file). Every
 * figure is checked before anything is emitted. */
static void
on_balances(struct xconn *c, json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct krakenfutures *k = c->priv;
	json_t *accts = json_object_get(j, "accounts"), *a, *v;
	const char *name, *cur;
	struct totals t = { .n = 0 };
	struct dec d, basis;
	bool flex = false;

	if (!json_is_object(accts)) {
		xoutcome_error(out, XR_RETRY, "krakenfutures accounts: malformed body");
		return;
	}
	json_object_foreach(accts, name, a) {
		const char *type = json_string_value(json_object_get(a, "type"));
		if (type != NULL && strcmp(type, "cashAccount") == 0) {
			json_object_foreach(json_object_get(a, "balances"), cur, v)
				if (num_dec(v, &d) == -1 || totals_add(&t, cur, d) == -1)
					goto bad;
		} else if (type != NULL && strcmp(type, "multiCollateralMarginAccount") == 0) {
			flex = true;
			json_object_foreach(json_object_get(a, "currencies"), cur, v)
				if (num_dec(json_object_get(v, "quantity"), &d) == -1 || totals_add(&t, cur, d) == -1)
					goto bad;
		}
	}
	if (k->npos > 0 && !flex) {
		xoutcome_error(out, XR_FATAL, "krakenfutures accounts: open flex positions and no flex account");
		return;
	}
	/* cash(USD) = quantity(USD) - sum(signed size x entry price) */
	for (size_t i = 0; i < k->npos; i++)
		if (dec_mul(&basis, k->pos[i].size, k->pos[i].price) == -1 || dec_neg(&basis, basis) == -1 ||
		    totals_add(&t, "USD", basis) == -1)
			goto bad;
	for (size_t i = 0; i < t.n; i++)
		if (sink->balance != NULL && sink->balance(sink->arg, t.t[i].cur, t.t[i].v) == -1)
			goto refused;
	for (size_t i = 0; i < k->npos; i++)
		if (sink->balance != NULL && sink->balance(sink->arg, k->pos[i].symbol, k->pos[i].size) == -1)
			goto refused;
	k->step = ST_CHARTS;
	return;
bad:
	xoutcome_error(out, XR_FATAL, "krakenfutures accounts: bad balance");
	return;
refused:
	xoutcome_error(out, XR_FATAL, "the balance sink refused");
}

/* ops->skip: the balances step, or one series of closes, was given up for
 * this cycle. */
static void
kf_skip(struct xconn *c, const struct xreq *req)
{
	struct krakenfutures *k = c->priv;

	if (req->tag == ST_CHARTS)
		k->series_i++;
	else if (req->tag == ST_LOG)
		k->step = ST_POSITIONS;
	else if (k->step == ST_POSITIONS || k->step == ST_BALANCES)
		k->step = ST_CHARTS;
}

/*
 * GET /api/charts/v1/trade/<symbol>/1d (public): {"candles":[{"time" (ms),
 * "open", "high", "low", "close", "volume"}], "more_candles"} oldest first
 * (docs.kraken.com futures-api charts/candles; ccxt fetchOHLCV). More
 * candles: the next request starts the day after the last one. Caught up:
 * the next cycle's starts at the newest candle, whose close moves until
 * the day ends. A 4xx is the series' permanent refusal (an unknown or
 * delisted contract): prices are degraded and the cycle goes on.
 */
static void
on_charts(struct xconn *c, const struct xresp *resp, const struct xsink *sink, struct xoutcome *out)
{
	struct krakenfutures *k = c->priv;
	struct kfseries *s = &k->series[k->series_i];
	const json_t *candles, *cd;
	json_t *j = NULL;
	int64_t last = -1, t;
	const char *err;
	size_t i;
	int line;

	if (resp->status == 429) {
		out->retry_after_ms = 1000;
		xoutcome_error(out, XR_RATE_LIMITED, "krakenfutures charts: HTTP 429");
		return;
	}
	if (resp->status == 0 || resp->status >= 500) {
		xoutcome_error(out, XR_RETRY, "krakenfutures charts %s: HTTP %ld", s->native, resp->status);
		return;
	}
	if (resp->status >= 400) {
		xconn_degrade(c, XPART_PRICES, "no daily closes for %s (krakenfutures charts: HTTP %ld)", s->native,
		    resp->status);
		s->fetched_ms = resp->now_ms;
		k->series_i++;
		return;
	}
	j = fill_json_loads(resp->body, resp->body_len, &line, &err);
	if (resp->status != 200 || j == NULL || !json_is_array(candles = json_object_get(j, "candles"))) {
		xoutcome_error(out, XR_RETRY, "krakenfutures charts %s: HTTP %ld, malformed body", s->native,
		    resp->status);
		goto done;
	}
	json_array_foreach(candles, i, cd) {
		struct dec close;
		const json_t *tv = json_object_get(cd, "time"), *cv = json_object_get(cd, "close");
		/* numbers arrive as their exact text (fill_json_loads) */
		if (num_ms(tv, &t) == -1 || t % DAY_MS != 0 || t <= last || num_dec(cv, &close) == -1 ||
		    dec_sign(close) <= 0) {
			xoutcome_error(out, XR_RETRY, "krakenfutures charts %s: bad candle", s->native);
			goto done;
		}
		last = t;
		if (sink->price != NULL && sink->price(sink->arg, s->unified, t, close) == -1) {
			xoutcome_error(out, XR_FATAL, "sink refused a price");
			goto done;
		}
	}
	if (json_is_true(json_object_get(j, "more_candles")) && last >= 0 && (last + DAY_MS) / 1000 > s->from_s) {
		s->from_s = (last + DAY_MS) / 1000;
		goto done;
	}
	if (last >= 0)
		s->from_s = last / 1000;
	s->fetched_ms = resp->now_ms;
	k->series_i++;
done:
	json_decref(j);
}

/* The budget refills over its window: wait at least this call's share,
 * and not less than a second (the history pool's refill is undocumented). */
static int64_t
rate_wait(const struct xreq *req)
{
	int64_t ms = (int64_t)req->weight * BUDGET_WINDOW_MS / BUDGET;

	return ms < 1000 ? 1000 : ms;
}

static void
kf_handle(struct xconn *c, const struct xreq *req, const struct xresp *resp, const struct xsink *sink,
    struct xoutcome *out)
{
	json_t *j = NULL;
	const json_t *ev;
	const char *e = NULL, *err, *res;
	int line;

	memset(out, 0, sizeof(*out));
	out->result = XR_OK;
	if (req->tag == ST_CHARTS) {
		on_charts(c, resp, sink, out);
		return;
	}
	if (resp->status == 0 || resp->status >= 500) {
		xoutcome_error(out, XR_RETRY, "krakenfutures: HTTP %ld", resp->status);
		return;
	}
	j = fill_json_loads(resp->body, resp->body_len, &line, &err);
	if (j == NULL || !json_is_object(j)) {
		if (resp->status == 429) {
			out->retry_after_ms = rate_wait(req);
			xoutcome_error(out, XR_RATE_LIMITED, "krakenfutures: HTTP 429");
		} else
			xoutcome_error(out, resp->status == 200 ? XR_RETRY : XR_FATAL,
			    "krakenfutures: HTTP %ld, malformed body", resp->status);
		goto done;
	}
	/* {"result":"error","error":"code"} or {"errors":[{"code":..,"message":..}]} */
	res = json_string_value(json_object_get(j, "result"));
	ev = json_object_get(j, "error");
	if (json_is_string(ev))
		e = json_string_value(ev);
	else if (json_is_array(json_object_get(j, "errors")) && json_array_size(json_object_get(j, "errors")) > 0) {
		const json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
		e = json_string_value(json_object_get(e0, "code"));
		if (e == NULL)
			e = json_string_value(json_object_get(e0, "message"));
		if (e == NULL)
			e = "error";
	} else if (res != NULL && strcmp(res, "error") == 0)
		e = "error";
	else if (res == NULL && json_is_string(json_object_get(j, "status")) &&
	    strcasecmp(json_string_value(json_object_get(j, "status")), "success") != 0)
		/* the history API's refusals: {"status":"unauthorized"} */
		e = json_string_value(json_object_get(j, "status"));
	if (e != NULL || resp->status == 429) {
		if (e == NULL)
			e = "HTTP 429";
		/* Kraken spells its codes in more than one case ("unavailable",
		 * "Unavailable"; "Unauthorized", "unauthorized"): compared
		 * without case (docs.kraken.com futures-rest errors). */
		if (strcasecmp(e, "apiLimitExceeded") == 0 || resp->status == 429) {
			out->retry_after_ms = rate_wait(req);
			xoutcome_error(out, XR_RATE_LIMITED, "krakenfutures: %s", e);
		} else if (strcasecmp(e, "authenticationError") == 0 || strcasecmp(e, "unauthorized") == 0) {
			xoutcome_error(out, XR_AUTH, "krakenfutures: %s", e);
		} else if (strcasecmp(e, "nonceBelowThreshold") == 0 || strcasecmp(e, "nonceDuplicate") == 0) {
			if ((uint64_t)resp->now_ms > c->nonce)
				c->nonce = (uint64_t)resp->now_ms;
			c->nonce += 1000;
			xoutcome_error(out, XR_CLOCK, "krakenfutures: %s", e);
		} else if (strcasecmp(e, "unavailable") == 0 || strcasecmp(e, "Server Error") == 0 ||
		    strcasecmp(e, "marketUnavailable") == 0) {
			xoutcome_error(out, XR_RETRY, "krakenfutures: %s", e);
		} else {
			xoutcome_error(out, XR_FATAL, "krakenfutures: %s", e);
		}
		goto done;
	}
	if (resp->status != 200) {
		xoutcome_error(out, XR_FATAL, "krakenfutures: HTTP %ld", resp->status);
		goto done;
	}
	if (req->tag == ST_ACCOUNTS)
		on_accounts(c, j, sink, out);
	else if (req->tag == ST_EXECUTIONS)
		on_executions(c, j, resp, sink, out);
	else if (req->tag == ST_LOG)
		on_log(c, j, sink, out);
	else if (req->tag == ST_POSITIONS)
		on_positions(c, j, out);
	else if (req->tag == ST_BALANCES)
		on_balances(c, j, sink, out);
	else
		xoutcome_error(out, XR_FATAL, "krakenfutures: response to an unknown step");
done:
	json_decref(j);
}

/* Kraken Futures (top of the file): /derivatives and /history. */
/* ------------------------------------------------------------------ checkpoints */

/* Ids at a cursor's millisecond at most (a burst of executions at one ms). */
#define SAVE_IDS_MAX 100000

static void
cursor_save(const struct kfcursor *cu, struct pack *w)
{
	pack_i64(w, cu->ms);
	pack_u32(w, (uint32_t)cu->n);
	for (size_t i = 0; i < cu->n; i++)
		pack_str(w, cu->ids[i]);
}

/* A cursor: its time (-1: nothing emitted, then no ids) and the ids at it. */
static void
cursor_load(struct kfcursor *cu, struct unpack *r)
{
	int64_t ms = xunpack_range(r, -1, XCKPT_TS_MAX);
	size_t n = unpack_count(r, 4 + 1, SAVE_IDS_MAX);

	if (ms < 0 && n > 0)
		unpack_fail(r);
	cu->ms = ms;
	for (size_t i = 0; i < n && unpack_ok(r); i++) {
		char id[ID_MAX];

		xunpack_name(r, id, sizeof(id));
		if (unpack_ok(r))
			cursor_advance(cu, ms, id);
	}
}

/* The cursors: the executions' (the fills walk: its newest time and the
 * ids at it) and the account log's (the flows), the fills counted for the
 * status, the account's first day and the contracts whose closes are
 * wanted (traded or held). Not saved: the positions and balances (read
 * every cycle), whether the permissions were reported (they are again,
 * with the accounts request the balances step makes anyway) and the
 * series' cursors (from_s, fetched_ms: the pricebook is not checkpointed,
 * so every series is fetched again from the first day). */
static int
kf_save(const struct xconn *c, struct pack *w)
{
	const struct krakenfutures *k = c->priv;

	cursor_save(&k->exec, w);
	cursor_save(&k->log, w);
	pack_u64(w, k->nfills);
	pack_i64(w, k->first_day_ms);
	pack_u32(w, (uint32_t)k->nseries);
	for (size_t i = 0; i < k->nseries; i++) {
		pack_str(w, k->series[i].native);
		pack_str(w, k->series[i].unified);
	}
	return 0;
}

static int
kf_load(struct xconn *c, struct unpack *r, const char **errstr)
{
	struct krakenfutures *k = c->priv;
	size_t n;

	cursor_load(&k->exec, r);
	cursor_load(&k->log, r);
	k->nfills = unpack_u64(r);
	k->first_day_ms = xunpack_day(r, -1);
	n = unpack_count(r, 2 * (4 + 1), SERIES_MAX);
	for (size_t i = 0; i < n && unpack_ok(r); i++) {
		struct kfseries *s = &k->series[i];

		xunpack_name(r, s->native, sizeof(s->native));
		xunpack_name(r, s->unified, sizeof(s->unified));
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(k->series[j].native, s->native) == 0) {
				*errstr = "krakenfutures checkpoint: a series twice";
				return -1;
			}
		/* never fetched: from the account's first day */
		s->from_s = 0;
		s->fetched_ms = 0;
	}
	if (!unpack_ok(r))
		return -1;
	k->nseries = n;
	return 0;
}

static size_t
kf_pools(const struct xconn *c, struct xpool out[XPOOL_MAX])
{
	(void)c;
	out[0] = (struct xpool){ "derivatives", true, 500, 50 };
	out[1] = (struct xpool){ "history", true, 100, 10 };
	/* the public charts API states no limit: not paced */
	out[2] = (struct xpool){ "charts", false, 0, 0 };
	return 3;
}

const struct exchange_ops exchange_krakenfutures = {
	.name = "krakenfutures",
	.prod_url = { NULL, NULL, "https://futures.kraken.com" },
	.sandbox_url = { NULL, NULL, "https://demo-futures.kraken.com" },
	.ascending = true,
	.open = kf_open,
	.close = kf_close,
	.begin = kf_begin,
	.next = kf_next,
	.handle = kf_handle,
	.pools = kf_pools,
	.skip = kf_skip,
	.save = kf_save,
	.load = kf_load,
};
