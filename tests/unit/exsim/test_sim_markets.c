/*
 * sim_markets: the public reference-data routes ccxt's loadMarkets needs
 * answer (they were 404 before) in the documented shapes and list every
 * symbol the simulator's accounts trade; /exsim/closes answers per symbol.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"

static const char *
no_header(const struct exsim_request *r, const char *name)
{
	return NULL;
}

/* GETs path with params, checks 200 and returns the parsed body. */
static json_t *
get(struct exsim *w, const char *path, const struct exsim_param *p, size_t np)
{
	struct exsim_request rq = { .method = "GET", .path = path, .query = "", .body = "", .header = no_header,
		.params = p, .nparams = np, .now_ms = w->start_ms + 1 };
	struct exsim_response rs = { 0 };
	json_t *o;

	exsim_dispatch(w, &rq, &rs);
	assert_int_equal(rs.status, 200);
	o = json_loadb(rs.body, rs.body_len, 0, NULL);
	free(rs.body);
	assert_non_null(o);
	return o;
}

static const struct exsim_account *
first(const struct exsim *w, const char *venue)
{
	for (size_t i = 0; i < w->naccounts; i++)
		if (strcmp(w->accounts[i].venue->name, venue) == 0)
			return &w->accounts[i];
	fail();
	return NULL;
}

static bool
listed(json_t *arr, const char *field, const char *value)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(json_object_get(v, field));
		if (s != NULL && strcmp(s, value) == 0)
			return true;
	}
	return false;
}

static void
test_routes(void **state)
{
	struct exsim w;
	struct exsim_config cfg;
	const struct exsim_account *a;
	const char *err;
	json_t *o;

	(void)state;
	exsim_config_default(&cfg);
	cfg.accounts_per_exchange = 1;
	cfg.fills_per_account = 30;
	cfg.start_ms = 1767225600000LL;
	assert_int_equal(exsim_init(&w, &cfg, &err), 0);

	o = get(&w, "/dapi/v1/exchangeInfo", NULL, 0);
	assert_true(json_is_array(json_object_get(o, "symbols")));
	json_decref(o);

	a = first(&w, "coinbase");
	o = get(&w, "/api/v3/brokerage/market/products", NULL, 0);
	for (size_t k = 0; k < a->nsymbols; k++)
		assert_true(listed(json_object_get(o, "products"), "product_id", a->symbols[k].native));
	json_decref(o);
	{
		struct exsim_param p = { "product_type", "FUTURE" };
		o = get(&w, "/api/v3/brokerage/market/products", &p, 1);
		assert_int_equal(json_array_size(json_object_get(o, "products")), 0);
		json_decref(o);
	}
	o = get(&w, "/v2/currencies/crypto", NULL, 0);
	assert_true(listed(json_object_get(o, "data"), "code", "BTC"));
	json_decref(o);
	o = get(&w, "/v2/currencies", NULL, 0);
	assert_true(listed(json_object_get(o, "data"), "id", "USD"));
	json_decref(o);

	a = first(&w, "kraken");
	o = get(&w, "/0/public/Assets", NULL, 0);
	assert_int_equal(json_array_size(json_object_get(o, "error")), 0);
	for (size_t k = 0; k < a->nsymbols; k++)
		assert_non_null(json_object_get(json_object_get(o, "result"), a->symbols[k].native_base));
	json_decref(o);

	a = first(&w, "krakenfutures");
	o = get(&w, "/derivatives/api/v3/instruments", NULL, 0);
	assert_string_equal(json_string_value(json_object_get(o, "result")), "success");
	for (size_t k = 0; k < a->nsymbols; k++)
		assert_true(listed(json_object_get(o, "instruments"), "symbol", a->symbols[k].native));
	json_decref(o);

	a = first(&w, "binance");
	{
		struct exsim_param p[3] = { { "exchange", "binance" }, { "market", "spot" },
			{ "symbol", a->symbols[0].unified } };
		o = get(&w, "/exsim/closes", p, 3);
		assert_true(json_object_size(o) > 0);
		json_decref(o);
	}
	exsim_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
