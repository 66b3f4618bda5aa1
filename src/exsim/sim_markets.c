/*
 * sim_markets: the reference-data endpoints a general client (ccxt) calls
 * to load markets and currencies, in the exchanges' documented shapes and
 * consistent with the simulator's own markets (the symbols its accounts
 * trade, plus the majors every exchange lists):
 *
 *   Binance   GET /dapi/v1/exchangeInfo (public; no COIN-M contracts listed)
 *             GET /sapi/v1/capital/config/getall, /sapi/v1/margin/allPairs,
 *             /sapi/v1/margin/isolated/allPairs (signed; routed by sim_binance.c)
 *   Coinbase  GET /api/v3/brokerage/market/products (public; product_type=FUTURE: none)
 *             GET /api/v3/brokerage/transaction_summary (JWT; routed by sim_coinbase.c)
 *             GET /v2/currencies, /v2/currencies/crypto, /v2/exchange-rates (public)
 *   Kraken    GET /0/public/Assets
 *   Kraken F. GET /derivatives/api/v3/instruments (public)
 *
 * sim_markets_<venue>_reference() answer the public ones: each is the
 * reference field of its venue (exsim_venue.h), run when the venue's own
 * handler declines the path. The signed ones are bodies the venue's handler
 * calls after its own authentication, so auth, rate limits and errors stay
 * in one place. Every function reads the venue it is given (or the
 * account's), never an exchange of its own choosing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/dec.h"
#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"
#include "exsim/sim_markets.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* Currencies every simulated exchange lists beside its accounts' ones. */
static const char *const majors[] = { "BTC", "ETH", "BNB", "SOL", "XRP", "ADA", "USDT", "USDC", "USD", "EUR" };
#define NMAJORS (sizeof(majors) / sizeof(majors[0]))

static void
send(struct exsim_response *rs, json_t *o)
{
	/* 15 digits: a tick of 0.01 is written "0.01", not its binary expansion */
	char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));

	json_decref(o);
	if (s == NULL)
		fatalx("sim_markets: json_dumps");
	exsim_body(rs, 200, s, strlen(s));
}

/* "0.01" for 2 decimals, "1" for 0. */
static json_t *
step(unsigned decimals)
{
	char b[48];

	if (decimals == 0 || decimals > 30)
		return json_string("1");
	snprintf(b, sizeof(b), "0.%0*d", (int)decimals, 1);
	return json_string(b);
}

/* Adds cur to the set (a JSON object used as an ordered set). */
static void
set_add(json_t *set, const char *cur)
{
	if (json_object_get(set, cur) == NULL)
		json_object_set_new(set, cur, json_true());
}

/* Every unified currency of venue v: majors, then the accounts'. */
static json_t *
currencies(const struct exsim *w, const struct exsim_venue *v)
{
	json_t *set = json_object();

	for (size_t i = 0; i < NMAJORS; i++)
		set_add(set, majors[i]);
	for (size_t i = 0; i < w->naccounts; i++) {
		const struct exsim_account *a = &w->accounts[i];
		if (a->venue != v)
			continue;
		for (size_t k = 0; k < a->nsymbols; k++) {
			set_add(set, a->symbols[k].base);
			set_add(set, a->symbols[k].quote);
		}
		for (size_t c = 0; c < a->ncurrencies; c++)
			set_add(set, a->currencies[c]);
	}
	return set;
}

/* Calls fn once per distinct native symbol of venue v (and futures or not). */
static void
each_symbol(const struct exsim *w, const struct exsim_venue *v, int futures, void (*fn)(const struct exsim_symbol *, void *),
    void *arg)
{
	json_t *seen = json_object();

	for (size_t i = 0; i < w->naccounts; i++) {
		const struct exsim_account *a = &w->accounts[i];
		if (a->venue != v || (futures >= 0 && (a->market == FILL_FUTURES) != (futures == 1)))
			continue;
		for (size_t k = 0; k < a->nsymbols; k++)
			if (json_object_get(seen, a->symbols[k].native) == NULL) {
				json_object_set_new(seen, a->symbols[k].native, json_true());
				fn(&a->symbols[k], arg);
			}
	}
	json_decref(seen);
}

/* ------------------------------------------------------------------ Binance */

void
sim_markets_binance_capital_config(const struct exsim *w, const struct exsim_account *a, struct exsim_response *rs)
{
	json_t *set = currencies(w, a->venue), *arr = json_array(), *one;
	const char *cur;

	json_object_foreach(set, cur, one) {
		bool fiat = strcmp(cur, "USD") == 0 || strcmp(cur, "EUR") == 0;
		json_t *nets = json_array();
		if (!fiat)
			json_array_append_new(nets, json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:s, s:s, s:s, s:i}",
			    "network", "ETH", "coin", cur, "name", "Ethereum (ERC20)", "isDefault", 1, "depositEnable", 1,
			    "withdrawEnable", 1, "withdrawFee", "1", "withdrawMin", "2", "withdrawMax", "9999999999",
			    "withdrawIntegerMultiple", "0.00000001", "minConfirm", 12));
		json_array_append_new(arr, json_pack("{s:s, s:b, s:b, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:o}",
		    "coin", cur, "depositAllEnable", !fiat, "withdrawAllEnable", !fiat, "name", cur, "free", "0",
		    "locked", "0", "freeze", "0", "withdrawing", "0", "isLegalMoney", fiat, "trading", 1,
		    "networkList", nets));
	}
	json_decref(set);
	send(rs, arr);
}

struct pairs {
	json_t *arr;
	bool isolated;
	uint64_t id;
};

static void
margin_pair(const struct exsim_symbol *s, void *arg)
{
	struct pairs *p = arg;
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:b}", "symbol", s->native, "base", s->base, "quote", s->quote,
	    "isMarginTrade", 1, "isBuyAllowed", 1, "isSellAllowed", 1);

	if (!p->isolated)
		json_object_set_new(o, "id", json_integer((json_int_t)(351637150141315861ULL + p->id++)));
	json_array_append_new(p->arr, o);
}

void
sim_markets_binance_margin_pairs(const struct exsim *w, const struct exsim_account *a, bool isolated,
    struct exsim_response *rs)
{
	struct pairs p = { .arr = json_array(), .isolated = isolated };

	each_symbol(w, a->venue, 0, margin_pair, &p);
	send(rs, p.arr);
}

static void
dapi_exchange_info(const struct exsim_request *rq, struct exsim_response *rs)
{
	/* The simulator serves no COIN-M contracts: the listing is empty. */
	send(rs, json_pack("{s:s, s:I, s:[{s:s, s:s, s:i, s:i}], s:[], s:[]}", "timezone", "UTC", "serverTime",
	    (json_int_t)rq->now_ms, "rateLimits", "rateLimitType", "REQUEST_WEIGHT", "interval", "MINUTE",
	    "intervalNum", 1, "limit", 2400, "exchangeFilters", "symbols"));
}

/* ------------------------------------------------------------------ Coinbase */

static void
cb_product(const struct exsim_symbol *s, void *arg)
{
	json_array_append_new((json_t *)arg, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:b, s:b, "
	    "s:b, s:b, s:b, s:s, s:s, s:s, s:o}", "product_id", s->native, "base_currency_id", s->base,
	    "quote_currency_id", s->quote, "product_type", "SPOT", "base_increment", step(s->lot_decimals),
	    "quote_increment", step(s->price_decimals), "price_increment", step(s->price_decimals),
	    "base_min_size", "0", "base_max_size", "1000000000", "trading_disabled", 0, "is_disabled", 0,
	    "cancel_only", 0, "limit_only", 0, "post_only", 0, "status", "online", "base_name", s->base,
	    "quote_name", s->quote, "alias_to", json_array()));
}

static void
cb_products(const struct exsim *w, const struct exsim_venue *v, const struct exsim_request *rq,
    struct exsim_response *rs)
{
	const char *type = rq->param(rq, "product_type");
	json_t *arr = json_array();

	if (type == NULL || strcmp(type, "SPOT") == 0)
		each_symbol(w, v, -1, cb_product, arr);
	send(rs, json_pack("{s:o, s:I}", "products", arr, "num_products", (json_int_t)json_array_size(arr)));
}

void
sim_markets_coinbase_transaction_summary(const struct exsim_account *a, struct exsim_response *rs)
{
	(void)a;
	send(rs, json_pack("{s:f, s:f, s:{s:s, s:s, s:s, s:s, s:s}, s:n, s:n, s:s, s:f, s:f, s:f}", "total_volume", 0.0,
	    "total_fees", 0.0, "fee_tier", "pricing_tier", "Advanced 1", "usd_from", "0", "usd_to", "10000",
	    "taker_fee_rate", "0.006", "maker_fee_rate", "0.004", "margin_rate", "goods_and_services_tax",
	    "total_balance", "0", "advanced_trade_only_volume", 0.0, "advanced_trade_only_fees", 0.0,
	    "coinbase_pro_volume", 0.0));
}

static bool
is_fiat(const char *c)
{
	return strcmp(c, "USD") == 0 || strcmp(c, "EUR") == 0 || strcmp(c, "GBP") == 0;
}

static void
cb_currencies(const struct exsim *w, const struct exsim_venue *v, bool crypto, struct exsim_response *rs)
{
	json_t *set = currencies(w, v), *arr = json_array(), *one;
	const char *cur;
	unsigned n = 0;

	json_object_foreach(set, cur, one) {
		char asset[40];
		n++;
		if (is_fiat(cur) != !crypto)
			continue;
		if (!crypto) {
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "id", cur, "name", cur, "min_size", "0.01"));
			continue;
		}
		snprintf(asset, sizeof(asset), "5b71fc48-3dd3-540c-809b-f8c94d%06x", n);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:s}", "asset_id", asset,
		    "code", cur, "name", cur, "exponent", 8, "type", "crypto", "sort_index", (int)n, "address_regex", "",
		    "color", "#000000"));
	}
	json_decref(set);
	send(rs, json_pack("{s:o}", "data", arr));
}

/* Exchange rates are only read for their keys by clients loading markets;
 * the simulator quotes every currency against itself (USD 1) rather than
 * invent prices: the rates of the one currency it is sure of. */
static void
cb_rates(struct exsim_response *rs)
{
	send(rs, json_pack("{s:{s:s, s:{s:s}}}", "data", "currency", "USD", "rates", "USD", "1"));
}

/* ------------------------------------------------------------------ Kraken */

static void
kraken_asset(json_t *res, const char *native)
{
	char alt[16];
	const char *n = native;

	if (json_object_get(res, native) != NULL)
		return;
	if (strlen(n) == 4 && (n[0] == 'X' || n[0] == 'Z'))
		n++;
	snprintf(alt, sizeof(alt), "%s", n);
	json_object_set_new(res, native, json_pack("{s:s, s:s, s:i, s:i, s:s, s:s}", "aclass", "currency", "altname",
	    alt, "decimals", 10, "display_decimals", strcmp(alt, "USD") == 0 || strcmp(alt, "EUR") == 0 ? 2 : 5,
	    "collateral_value", "1", "status", "enabled"));
}

static void
kraken_assets(const struct exsim *w, const struct exsim_venue *v, struct exsim_response *rs)
{
	json_t *res = json_object();

	for (size_t i = 0; i < w->naccounts; i++) {
		const struct exsim_account *a = &w->accounts[i];
		if (a->venue != v)
			continue;
		for (size_t k = 0; k < a->nsymbols; k++) {
			kraken_asset(res, a->symbols[k].native_base);
			kraken_asset(res, a->symbols[k].native_quote);
		}
	}
	send(rs, json_pack("{s:[], s:o}", "error", "result", res));
}

/* ------------------------------------------------------------------ Kraken Futures */

static void
kf_instrument(const struct exsim_symbol *s, void *arg)
{
	json_t *tick = step(s->price_decimals);
	double t = strtod(json_string_value(tick), NULL);

	json_decref(tick);
	/* tickSize is a JSON number in Kraken's answer; the step is a power of ten */
	json_array_append_new((json_t *)arg, json_pack("{s:s, s:s, s:b, s:f, s:i, s:i, s:s, s:s, s:b, s:s}",
	    "symbol", s->native, "type", "flexible_futures", "tradeable", 1, "tickSize", t, "contractSize", 1,
	    "contractValueTradePrecision", (int)s->lot_decimals, "impactMidSize", "1", "openingDate",
	    "2022-01-01T00:00:00.000Z", "postOnly", 0, "tags", "perpetual"));
}

static void
kf_instruments(const struct exsim *w, const struct exsim_venue *v, const struct exsim_request *rq,
    struct exsim_response *rs)
{
	json_t *arr = json_array();
	char t[TIME_ISO_LEN];

	each_symbol(w, v, 1, kf_instrument, arr);
	time_format_iso_ms(t, rq->now_ms);
	send(rs, json_pack("{s:s, s:o, s:s}", "result", "success", "instruments", arr, "serverTime", t));
}

/* ------------------------------------------------------------------ public reference handlers */

bool
sim_markets_binance_reference(struct exsim *w, const struct exsim_venue *v, const struct exsim_request *rq,
    struct exsim_response *rs)
{
	if (strcmp(rq->method, "GET") != 0 || strcmp(rq->path, "/dapi/v1/exchangeInfo") != 0)
		return false;
	dapi_exchange_info(rq, rs);
	return true;
}

bool
sim_markets_coinbase_reference(struct exsim *w, const struct exsim_venue *v, const struct exsim_request *rq,
    struct exsim_response *rs)
{
	const char *p = rq->path;

	if (strcmp(rq->method, "GET") != 0)
		return false;
	if (strcmp(p, "/api/v3/brokerage/market/products") == 0)
		cb_products(w, v, rq, rs);
	else if (strcmp(p, "/v2/currencies") == 0)
		cb_currencies(w, v, false, rs);
	else if (strcmp(p, "/v2/currencies/crypto") == 0)
		cb_currencies(w, v, true, rs);
	else if (strcmp(p, "/v2/exchange-rates") == 0)
		cb_rates(rs);
	else
		return false;
	return true;
}

bool
sim_markets_kraken_reference(struct exsim *w, const struct exsim_venue *v, const struct exsim_request *rq,
    struct exsim_response *rs)
{
	if (strcmp(rq->method, "GET") != 0 || strcmp(rq->path, "/0/public/Assets") != 0)
		return false;
	kraken_assets(w, v, rs);
	return true;
}

bool
sim_markets_krakenfutures_reference(struct exsim *w, const struct exsim_venue *v, const struct exsim_request *rq,
    struct exsim_response *rs)
{
	if (strcmp(rq->method, "GET") != 0 || strcmp(rq->path, "/derivatives/api/v3/instruments") != 0)
		return false;
	kf_instruments(w, v, rq, rs);
	return true;
}

/* ------------------------------------------------------------------ Kraken Futures account log */

/* The balance of unified currency cur at ms (0 when none). */
static struct dec
balance_at(const struct exsim_account *a, const char *cur, int64_t ms)
{
	char c[8][FILL_CUR_MAX];
	struct dec t[8];
	size_t n = exsim_balances(a, ms, c, t, 8);

	for (size_t j = 0; j < n; j++)
		if (strcmp(c[j], cur) == 0)
			return t[j];
	return DEC_ZERO;
}

static bool
ms_param(const struct exsim_request *rq, const char *name, int64_t *out)
{
	const char *v = rq->param(rq, name);
	char *end;

	if (v == NULL)
		return true;
	*out = strtoll(v, &end, 10);
	return *v != '\0' && *end == '\0';
}

void
sim_markets_krakenfutures_account_log(const struct exsim_account *a, const struct exsim_request *rq,
    struct exsim_response *rs)
{
	int64_t since = INT64_MIN, before = INT64_MAX, count = 500;
	const char *sort = rq->param(rq, "sort");
	bool asc = sort != NULL && strcmp(sort, "asc") == 0;
	char *body = NULL, uid[40];
	size_t n = 0, rows = 0;

	if (!ms_param(rq, "since", &since) || !ms_param(rq, "before", &before) || !ms_param(rq, "count", &count) ||
	    count < 1 || count > 100000 || (sort != NULL && strcmp(sort, "asc") != 0 && strcmp(sort, "desc") != 0)) {
		exsim_json(rs, 400, "{\"result\":\"error\",\"error\":\"invalidArgument\"}");
		return;
	}
	for (size_t i = 0; i < a->nflows; i++)
		n += a->flows[i].ts_ms <= rq->now_ms;
	snprintf(uid, sizeof(uid), "%08zx-0000-4000-8000-%012llx", a->index,
	    (unsigned long long)(a->seed & 0xffffffffffffULL));
	body = xasprintf("{\"accountUid\":\"%s\",\"logs\":[", uid);
	for (size_t r = 0; r < n && rows < (size_t)count; r++) {
		const struct exsim_flow *f = &a->flows[asc ? r : n - 1 - r];
		char t[TIME_ISO_LEN], asset[FILL_CUR_MAX], ob[DEC_STR_MAX], nb[DEC_STR_MAX], *more;
		if (f->ts_ms < since || f->ts_ms >= before)
			continue;
		time_format_iso_ms(t, f->ts_ms);
		for (size_t j = 0; j < sizeof(asset); j++)
			asset[j] = (char)((f->currency[j] >= 'A' && f->currency[j] <= 'Z') ? f->currency[j] + 32 :
			    f->currency[j]);
		dec_format(ob, sizeof(ob), balance_at(a, f->currency, f->ts_ms - 1));
		dec_format(nb, sizeof(nb), balance_at(a, f->currency, f->ts_ms));
		/* balances are JSON numbers in Kraken's log: written as their exact decimal text */
		more = xasprintf("%s%s{\"asset\":\"%s\",\"booking_uid\":\"%s\",\"collateral\":null,\"contract\":null,"
		    "\"date\":\"%s\",\"execution\":null,\"fee\":0,\"funding_rate\":null,\"id\":%zu,"
		    "\"info\":\"cross-exchange transfer\",\"margin_account\":\"flex\",\"mark_price\":null,"
		    "\"new_average_entry_price\":null,\"new_balance\":%s,\"old_average_entry_price\":null,"
		    "\"old_balance\":%s,\"realized_funding\":null,\"realized_pnl\":null,\"trade_price\":null,"
		    "\"conversion_spread_percentage\":null,\"liquidation_fee\":null,\"position_uid\":null}",
		    body, rows++ > 0 ? "," : "", asset, f->id, t, (size_t)(f - a->flows) + 1, nb, ob);
		free(body);
		body = more;
	}
	{
		char *all = xasprintf("%s]}", body);
		free(body);
		exsim_body(rs, 200, all, strlen(all));
	}
}
