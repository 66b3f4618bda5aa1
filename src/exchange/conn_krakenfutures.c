/*
 * Kraken Futures connector (exchanges.md section 7).
 *
 * A cycle: GET /derivatives/api/v3/accounts (validates the key, balances),
 * then the account's executions from the history API,
 * GET /api/history/v3/executions?sort=asc&since=..&count=.., following the
 * continuation token (response header Next-Continuation-Token, or the body
 * field continuationToken) until there is none. Executions carry the fee,
 * which /derivatives/api/v3/fills does not, so fills is not used.
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

#include "core/fill.h"
#include "exchange/exchange.h"
#include "exchange/sign_kraken.h"
#include "util/xalloc.h"

#define PAGE 100
#define ID_MAX FILL_ID_MAX
#define TOKEN_MAX 512
/* /derivatives: 500 per 10 s. */
#define BUDGET 500
#define BUDGET_WINDOW_MS 10000

enum step { ST_ACCOUNTS, ST_EXECUTIONS, ST_DONE };

struct krakenfutures {
	enum step step;
	int64_t cursor_ms;		/* newest execution time emitted, -1 none */
	char (*at_cursor)[ID_MAX];	/* execution ids emitted at cursor_ms */
	size_t nat, cap;
	char token[TOKEN_MAX];		/* continuation token of the walk, "" first page */
	int64_t walk_since;		/* since of this walk */
	bool perms_reported;
	uint64_t nfills;
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
	k->cursor_ms = -1;
	c->priv = k;
	c->caveat[XPART_PRICES] = "Kraken Futures: no daily closes are fetched, so open positions are not valued "
	    "(only the margin account's balances are)";
	c->caveat[XPART_FLOWS] = "Kraken Futures: no deposits or withdrawals are fetched: transfers count as returns";
	return 0;
}

static void
kf_close(struct xconn *c)
{
	struct krakenfutures *k = c->priv;

	if (k == NULL)
		return;
	free(k->at_cursor);
	free(k);
}

static void
kf_begin(struct xconn *c, int64_t now_ms)
{
	struct krakenfutures *k = c->priv;

	k->step = ST_ACCOUNTS;
	k->token[0] = '\0';
	k->walk_since = k->cursor_ms >= 0 ? k->cursor_ms : c->conf.backfill_from_ms;
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

static int
kf_next(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req, const char **errstr)
{
	struct krakenfutures *k = c->priv;
	char q[TOKEN_MAX * 3 + 128];
	int n;

	switch (k->step) {
	case ST_ACCOUNTS:
		if (signed_get(c, cred, now_ms, req, "/derivatives/api/v3/accounts", "", errstr) == -1)
			return -1;
		req->weight = 2;
		req->tag = ST_ACCOUNTS;
		return 1;
	case ST_EXECUTIONS:
		n = snprintf(q, sizeof(q), "sort=asc&count=%d", PAGE);
		if (k->walk_since > 0)
			n += snprintf(q + n, sizeof(q) - (size_t)n, "&since=%" PRId64, k->walk_since);
		if (k->token[0] != '\0') {
			char *t = xurl_encode(k->token, strlen(k->token));
			snprintf(q + n, sizeof(q) - (size_t)n, "&continuation_token=%s", t);
			free(t);
		}
		if (signed_get(c, cred, now_ms, req, "/api/history/v3/executions", q, errstr) == -1)
			return -1;
		req->weight = 1;
		req->tag = ST_EXECUTIONS;
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

/* One history element -> unified fill. Returns 1 with *f, 0 for an element
 * that is not an execution, -1 with *why. */
static int
parse_execution(const json_t *el, const char *account, struct fill *f, const char **why)
{
	const json_t *ex = json_object_get(json_object_get(json_object_get(el, "event"), "Execution"), "execution");
	const json_t *mo, *to, *mine, *od;
	const char *id, *dir, *tradeable, *oid;
	char settle[FILL_CUR_MAX];
	bool inverse;
	struct dec fee;

	if (ex == NULL)
		return 0;
	memset(f, 0, sizeof(*f));
	*why = "execution: bad field";
	mo = json_object_get(ex, "makerOrder");
	to = json_object_get(ex, "takerOrder");
	/* The account's own side of the execution. */
	if (account != NULL && json_is_string(json_object_get(mo, "accountUid")) &&
	    strcmp(json_string_value(json_object_get(mo, "accountUid")), account) == 0) {
		mine = mo;
		f->role = FILL_MAKER;
	} else if (json_is_object(to)) {
		mine = to;
		f->role = FILL_TAKER;
	} else if (json_is_object(mo)) {
		mine = mo;
		f->role = FILL_MAKER;
	} else
		return -1;
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
	if (strcmp(dir, "Buy") == 0 || strcmp(dir, "buy") == 0)
		f->side = FILL_BUY;
	else if (strcmp(dir, "Sell") == 0 || strcmp(dir, "sell") == 0)
		f->side = FILL_SELL;
	else
		return -1;
	if (kf_symbol(tradeable, f, &inverse, settle, why) == -1)
		return -1;
	*why = "execution: bad field";
	if (num_dec(json_object_get(ex, "quantity"), &f->amount) == -1 ||
	    num_dec(json_object_get(ex, "price"), &f->price) == -1 || dec_sign(f->amount) <= 0 ||
	    dec_sign(f->price) <= 0)
		return -1;
	/* ccxt: linear cost = size * price, inverse = size / price (contract size 1) */
	if ((inverse ? dec_div(&f->cost, f->amount, f->price) : dec_mul(&f->cost, f->amount, f->price)) == -1)
		return -1;
	f->has_cost = true;
	od = json_object_get(ex, "orderData");
	if (json_object_get(od, "fee") != NULL) {
		if (num_dec(json_object_get(od, "fee"), &fee) == -1 || fill_add_fee(f, fee, settle, why) == -1)
			return -1;
	}
	f->market = FILL_FUTURES;
	return 1;
}

static bool
seen_at_cursor(const struct krakenfutures *k, const char *id)
{
	for (size_t i = 0; i < k->nat; i++)
		if (strcmp(k->at_cursor[i], id) == 0)
			return true;
	return false;
}

static void
advance_cursor(struct krakenfutures *k, int64_t ts, const char *id)
{
	if (ts > k->cursor_ms) {
		k->cursor_ms = ts;
		k->nat = 0;
	}
	if (k->nat == k->cap) {
		k->cap = k->cap == 0 ? 8 : k->cap * 2;
		k->at_cursor = xreallocarray(k->at_cursor, k->cap, sizeof(*k->at_cursor));
	}
	snprintf(k->at_cursor[k->nat++], ID_MAX, "%s", id);
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
		int r = parse_execution(el, account, &f, &why);
		if (r == -1) {
			xoutcome_error(out, XR_FATAL, "krakenfutures executions: %s", why);
			return;
		}
		if (r == 0 || f.timestamp < k->cursor_ms || (f.timestamp == k->cursor_ms && seen_at_cursor(k, f.id)) ||
		    f.timestamp < c->conf.backfill_from_ms)
			continue;
		if (sink->fill(sink->arg, &f) == -1) {
			xoutcome_error(out, XR_FATAL, "sink refused a fill");
			return;
		}
		advance_cursor(k, f.timestamp, f.id);
		k->nfills++;
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
		k->step = ST_DONE;
		c->backfill_done = true;
	}
	snprintf(c->progress, sizeof(c->progress), "%" PRIu64 " fills; key permissions unknown (Kraken does not report them)",
	    k->nfills);
}

static int
add_balance(const struct xsink *sink, const char *cur, const json_t *v)
{
	char up[FILL_CUR_MAX];
	struct dec d;
	size_t n = strlen(cur);

	if (n == 0 || n >= sizeof(up) || num_dec(v, &d) == -1)
		return -1;
	for (size_t i = 0; i <= n; i++)
		up[i] = (char)(cur[i] >= 'a' && cur[i] <= 'z' ? cur[i] - 32 : cur[i]);
	if (strcmp(up, "XBT") == 0)
		strcpy(up, "BTC");
	return sink->balance != NULL ? sink->balance(sink->arg, up, d) : 0;
}

static void
on_accounts(struct xconn *c, json_t *j, const struct xsink *sink, struct xoutcome *out)
{
	struct krakenfutures *k = c->priv;
	json_t *accts = json_object_get(j, "accounts"), *a, *v;
	const char *name, *cur;

	if (!json_is_object(accts)) {
		xoutcome_error(out, XR_RETRY, "krakenfutures accounts: malformed body");
		return;
	}
	c->validated = true;
	/* cash: {"balances":{"xbt":..}}; flex (multi-collateral):
	 * {"currencies":{"USD":{"quantity":..}}}; margin accounts hold
	 * collateral already counted in cash or flex. */
	json_object_foreach(accts, name, a) {
		const char *type = json_string_value(json_object_get(a, "type"));
		if (type != NULL && strcmp(type, "cashAccount") == 0) {
			json_object_foreach(json_object_get(a, "balances"), cur, v)
				if (add_balance(sink, cur, v) == -1)
					goto bad;
		} else if (type != NULL && strcmp(type, "multiCollateralMarginAccount") == 0) {
			json_object_foreach(json_object_get(a, "currencies"), cur, v)
				if (add_balance(sink, cur, json_object_get(v, "quantity")) == -1)
					goto bad;
		}
	}
	if (!k->perms_reported) {
		if (sink->permissions != NULL && sink->permissions(sink->arg, false, false) == -1)
			goto bad;
		k->perms_reported = true;
		snprintf(c->progress, sizeof(c->progress), "key permissions unknown (Kraken does not report them)");
	}
	k->step = ST_EXECUTIONS;
	return;
bad:
	xoutcome_error(out, XR_FATAL, "krakenfutures accounts: bad balance");
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
	if (e != NULL || resp->status == 429) {
		if (e == NULL)
			e = "HTTP 429";
		if (strcmp(e, "apiLimitExceeded") == 0 || resp->status == 429) {
			out->retry_after_ms = rate_wait(req);
			xoutcome_error(out, XR_RATE_LIMITED, "krakenfutures: %s", e);
		} else if (strcmp(e, "authenticationError") == 0 || strcmp(e, "Unauthorized") == 0) {
			xoutcome_error(out, XR_AUTH, "krakenfutures: %s", e);
		} else if (strcmp(e, "nonceBelowThreshold") == 0 || strcmp(e, "nonceDuplicate") == 0) {
			if ((uint64_t)resp->now_ms > c->nonce)
				c->nonce = (uint64_t)resp->now_ms;
			c->nonce += 1000;
			xoutcome_error(out, XR_CLOCK, "krakenfutures: %s", e);
		} else if (strcmp(e, "unavailable") == 0 || strcmp(e, "Server Error") == 0) {
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
	else
		xoutcome_error(out, XR_FATAL, "krakenfutures: response to an unknown step");
done:
	json_decref(j);
}

/* Kraken Futures: 500 per 10 s on /derivatives. */
static size_t
kf_pools(const struct xconn *c, struct xpool out[XPOOL_MAX])
{
	(void)c;
	out[0] = (struct xpool){ "derivatives", true, 500, 50 };
	return 1;
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
};
