/*
 * exsim_venue: the registry's contract (every venue complete, names unique,
 * found by name and by URL with the longest prefix), and that the world is
 * built from the registry alone (accounts in registry and market order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"

/* Every venue fills every field the shared code calls without a check. */
static void
test_contract(void **state)
{
	const struct exsim_venue *v;
	size_t n;

	(void)state;
	for (n = 0; (v = exsim_venue_at(n)) != NULL; n++) {
		assert_non_null(v->name);
		assert_ptr_equal(exsim_venue_find(v->name), v);
		assert_true(v->nmarkets > 0 && v->markets != NULL);
		for (size_t m = 0; m < v->nmarkets; m++) {
			assert_true(v->markets[m].nsymbols > 0 && v->markets[m].symbols != NULL);
			assert_true(v->markets[m].held == NULL || v->markets[m].held_capital > 0);
			for (size_t k = 0; k < v->markets[m].nsymbols; k++) {
				const struct exsim_symdef *d = &v->markets[m].symbols[k];
				assert_true(d->unified && d->native && d->base && d->quote && d->nbase && d->nquote);
				assert_true(d->price0 > 0 && d->amt_lo > 0 && d->amt_hi >= d->amt_lo);
				assert_true(d->pdec + d->ldec <= 13);	/* cost stays exact at 8 + 5 digits */
			}
		}
		assert_true(v->prefixes != NULL && v->prefixes[0] != NULL);
		for (const char *const *p = v->prefixes; *p != NULL; p++)
			assert_ptr_equal(exsim_venue_of_path(*p), v);
		assert_non_null(v->handle);
		assert_non_null(v->error_5xx);
		assert_non_null(v->error_429);
		assert_true(v->fee != NULL || (v->fee_maker != NULL && v->fee_taker != NULL));
		assert_true(v->role_unknown_pct < 100);
	}
	assert_int_equal(n, 4);
	assert_null(exsim_venue_find("nope"));
	assert_null(exsim_venue_find(NULL));
}

/* Paths go to the venue with the longest matching prefix. */
static void
test_routing(void **state)
{
	static const struct {
		const char *path, *venue;
	} cases[] = {
		{ "/api/v3/myTrades", "binance" }, { "/fapi/v1/userTrades", "binance" },
		{ "/sapi/v1/margin/myTrades", "binance" }, { "/dapi/v1/exchangeInfo", "binance" },
		{ "/api/v3/brokerage/accounts", "coinbase" }, { "/v2/currencies", "coinbase" },
		{ "/0/private/TradesHistory", "kraken" }, { "/derivatives/api/v3/fills", "krakenfutures" },
		{ "/api/history/v3/executions", "krakenfutures" }, { "/api/charts/v1/trade", "krakenfutures" },
		{ "/exsim/truth", NULL }, { "/", NULL }, { "/apix", NULL },
	};

	(void)state;
	for (size_t j = 0; j < sizeof(cases) / sizeof(cases[0]); j++) {
		const struct exsim_venue *v = exsim_venue_of_path(cases[j].path);
		if (cases[j].venue == NULL)
			assert_null(v);
		else {
			assert_non_null(v);
			assert_string_equal(v->name, cases[j].venue);
		}
	}
	assert_true(exsim_venue_mixed(exsim_venue_find("binance")));
	assert_false(exsim_venue_mixed(exsim_venue_find("kraken")));
	assert_false(exsim_venue_mixed(exsim_venue_find("krakenfutures")));
}

/* The world: per accounts of each market of each venue, in registry order,
 * each with its market's symbols and the held currency. */
static void
test_world_order(void **state)
{
	struct exsim_config cfg;
	struct exsim w;
	const struct exsim_venue *v;
	const char *err;
	size_t i = 0;

	(void)state;
	exsim_config_default(&cfg);
	cfg.accounts_per_exchange = 2;
	cfg.fills_per_account = 20;
	cfg.start_ms = 1767225600000LL;
	assert_int_equal(exsim_init(&w, &cfg, &err), 0);
	for (size_t k = 0; (v = exsim_venue_at(k)) != NULL; k++)
		for (size_t m = 0; m < v->nmarkets; m++)
			for (size_t j = 0; j < cfg.accounts_per_exchange; j++, i++) {
				const struct exsim_account *a = &w.accounts[i];
				bool held = v->markets[m].held == NULL;
				assert_true(i < w.naccounts);
				assert_ptr_equal(a->venue, v);
				assert_int_equal(a->market, v->markets[m].market);
				assert_ptr_equal(exsim_account_by_key(&w, v, a->api_key), a);
				for (size_t c = 0; c < a->ncurrencies && !held; c++)
					held = strcmp(a->currencies[c], v->markets[m].held) == 0;
				assert_true(held);
			}
	assert_int_equal(i, w.naccounts);
	exsim_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contract),
		cmocka_unit_test(test_routing),
		cmocka_unit_test(test_world_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
