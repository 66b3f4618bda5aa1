/*
 * The simulated worlds are pinned: digests of everything a seed generates
 * (accounts and keys, every account's truth: fills, flows, balances, daily
 * equity), of the public reference data and closes, and of the per-family
 * fault and not-found bodies. The expected digests were computed before the
 * venue restructure (issue 9) and must never change with a refactor: a
 * change of output is a change of every recorded test world. Changes of
 * output since, each checked to restore the old digests when undone:
 * Coinbase's /exsim/closes lists only days with a candle of their own;
 * Kraken Futures serves daily candles (its close hook), so its truth's
 * daily equity values open positions and /exsim/closes lists its closes.
 *
 * Only the public API is used (no exchange enum, no venue table), so the
 * test compiles against any layout of src/exsim/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "core/prim.h"
#include "exsim/exsim.h"

#define START_MS 1767225600000LL
#define NOW_MS (START_MS + 3600000LL)

/* A running digest: SHA-256 over the concatenation of length-prefixed parts. */
struct digest {
	char *buf;
	size_t len, cap;
};

static void
dg_add(struct digest *d, const char *s, size_t n)
{
	char pre[32];
	int m = snprintf(pre, sizeof(pre), "%zu:", n);

	if (d->len + (size_t)m + n + 1 > d->cap) {
		d->cap = (d->len + (size_t)m + n + 1) * 2;
		d->buf = realloc(d->buf, d->cap);
		assert_non_null(d->buf);
	}
	memcpy(d->buf + d->len, pre, (size_t)m);
	memcpy(d->buf + d->len + m, s, n);
	d->len += (size_t)m + n;
}

static void
dg_add_str(struct digest *d, char *s)
{
	assert_non_null(s);
	dg_add(d, s, strlen(s));
	free(s);
}

static void
dg_check(struct digest *d, const char *expect, const char *what)
{
	uint8_t h[PRIM_SHA256_BYTES];
	char hex[2 * PRIM_SHA256_BYTES + 1];

	prim_sha256(h, d->buf, d->len);
	for (size_t j = 0; j < sizeof(h); j++)
		snprintf(hex + 2 * j, 3, "%02x", h[j]);
	free(d->buf);
	memset(d, 0, sizeof(*d));
	if (strcmp(hex, expect) != 0)
		fail_msg("%s: digest %s, pinned %s", what, hex, expect);
}

static void
make(struct exsim *w, double p5, double p429)
{
	struct exsim_config cfg;
	const char *err;

	exsim_config_default(&cfg);
	cfg.seed = 1;
	cfg.accounts_per_exchange = 2;
	cfg.fills_per_account = 300;
	cfg.start_ms = START_MS;
	cfg.live_spacing_ms = 60000;
	cfg.coinbase_unknown_side = 0.05;
	cfg.faults.p_5xx = p5;
	cfg.faults.p_429 = p429;
	assert_int_equal(exsim_init(w, &cfg, &err), 0);
}

static const char *
no_header(const struct exsim_request *r, const char *name)
{
	(void)r;
	(void)name;
	return NULL;
}

/* GET path (with params) at NOW_MS: status and body into the digest. */
static void
dg_get(struct digest *d, struct exsim *w, const char *path, const struct exsim_param *p, size_t np)
{
	struct exsim_request rq = { .method = "GET", .path = path, .query = "", .body = "", .header = no_header,
		.params = p, .nparams = np, .now_ms = NOW_MS };
	struct exsim_response rs;
	char st[16];

	memset(&rs, 0, sizeof(rs));
	exsim_dispatch(w, &rq, &rs);
	snprintf(st, sizeof(st), "%u", rs.status);
	dg_add(d, path, strlen(path));
	dg_add(d, st, strlen(st));
	dg_add(d, rs.body != NULL ? rs.body : "", rs.body_len);
	for (size_t j = 0; j < rs.nheaders; j++) {
		dg_add(d, rs.headers[j].name, strlen(rs.headers[j].name));
		dg_add(d, rs.headers[j].value, strlen(rs.headers[j].value));
	}
	free(rs.body);
}

/* Accounts with their keys and secrets, and every account's truth. */
static void
test_world(void **state)
{
	struct exsim w;
	struct digest d = { 0 };

	(void)state;
	make(&w, 0, 0);
	assert_int_equal(w.naccounts, 12);
	dg_add_str(&d, exsim_accounts_json(&w, NOW_MS));
	for (size_t i = 0; i < w.naccounts; i++) {
		json_t *de = exsim_daily_equity_json(&w, &w.accounts[i], NOW_MS);
		dg_add_str(&d, exsim_truth_json(&w.accounts[i], NOW_MS));
		dg_add_str(&d, json_dumps(de, JSON_COMPACT));
		json_decref(de);
	}
	dg_check(&d, "431efcef3ab8fb88121bd2fe27269819e8ab924d5b5482fff6c94ad795917ee6", "world");
	exsim_free(&w);
}

/* Public reference data, the closes of every traded symbol, unknown paths. */
static void
test_reference(void **state)
{
	static const char *const paths[] = { "/dapi/v1/exchangeInfo", "/api/v3/brokerage/market/products",
		"/v2/currencies", "/v2/currencies/crypto", "/v2/exchange-rates", "/0/public/Assets",
		"/derivatives/api/v3/instruments", "/api/v3/nope", "/fapi/v1/nope", "/sapi/v1/nope", "/dapi/v1/nope",
		"/api/v3/brokerage/nope", "/v2/nope", "/0/public/Nope", "/0/private/Nope", "/derivatives/api/v3/nope",
		"/api/history/v3/nope", "/api/charts/v1/nope", "/nope", "/exsim/nope" };
	struct exsim w;
	struct digest d = { 0 };
	json_t *accts;
	size_t i;
	json_t *a;

	(void)state;
	make(&w, 0, 0);
	for (size_t j = 0; j < sizeof(paths) / sizeof(paths[0]); j++)
		dg_get(&d, &w, paths[j], NULL, 0);
	{
		struct exsim_param p = { "product_type", "FUTURE" };
		dg_get(&d, &w, "/api/v3/brokerage/market/products", &p, 1);
	}
	{
		char *s = exsim_accounts_json(&w, NOW_MS);
		accts = json_loads(s, 0, NULL);
		free(s);
		assert_non_null(accts);
	}
	json_array_foreach(accts, i, a) {
		size_t k;
		json_t *sym;
		json_array_foreach(json_object_get(a, "symbols"), k, sym) {
			struct exsim_param p[3] = { { "exchange", json_string_value(json_object_get(a, "exchange")) },
				{ "market", json_string_value(json_object_get(a, "market")) },
				{ "symbol", json_string_value(json_object_get(sym, "symbol")) } };
			dg_get(&d, &w, "/exsim/closes", p, 3);
			/* the same symbol asked of every other market */
			p[1].value = "futures";
			dg_get(&d, &w, "/exsim/closes", p, 3);
			p[1].value = "spot";
			dg_get(&d, &w, "/exsim/closes", p, 3);
		}
	}
	json_decref(accts);
	dg_check(&d, "04974e74f88b31e2cbbfe8e33264fb23ef99e8907142b0fe965e0620961f82ff", "reference");
	exsim_free(&w);
}

/* The 5xx and rate-limit bodies of every family. */
static void
test_faults(void **state)
{
	static const char *const paths[] = { "/api/v3/account", "/fapi/v2/account", "/sapi/v1/margin/account",
		"/api/v3/brokerage/accounts", "/v2/currencies", "/0/private/Balance", "/derivatives/api/v3/accounts",
		"/api/history/v3/account-log", "/api/charts/v1/trade/PF_XBTUSD/1d" };
	struct digest d = { 0 };

	(void)state;
	for (int f = 0; f < 2; f++) {
		struct exsim w;
		make(&w, f == 0 ? 1.0 : 0, f == 1 ? 1.0 : 0);
		for (size_t j = 0; j < sizeof(paths) / sizeof(paths[0]); j++)
			dg_get(&d, &w, paths[j], NULL, 0);
		exsim_free(&w);
	}
	dg_check(&d, "ef70c9447e09c586303ae84681d7fbec13eddb3fd00430db2d5094803b021fcf", "faults");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_world),
		cmocka_unit_test(test_reference),
		cmocka_unit_test(test_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
