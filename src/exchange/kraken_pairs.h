/*
 * kraken_pairs: Kraken spot pair and asset names, normalized to unified
 * symbols exactly as ccxt's kraken.js does.
 *
 * Assets: an id longer than 3 characters that starts with X or Z and has no
 * '.' loses its first character (XXBT -> XBT, ZUSD -> USD, XETH -> ETH), then
 * ccxt's common-currency table applies (XBT -> BTC, XDG -> DOGE, XBT.M ->
 * BTC.M, LUNA -> LUNC, ...). Pairs: the AssetPairs key is the market id, its
 * symbol is base/quote of the normalized asset ids ("XXBTZUSD" -> "BTC/USD"),
 * or the altname for dark-pool pairs (".d"). A pair is looked up by altname
 * first, then by id (ccxt findMarketByAltnameOrId); an unknown (delisted) id
 * is split by length: 8 characters 4+4, 7 characters 4+3, otherwise 3+3.
 */
#ifndef PERFAGG_EXCHANGE_KRAKEN_PAIRS_H
#define PERFAGG_EXCHANGE_KRAKEN_PAIRS_H

#include <stddef.h>

#include <jansson.h>

#include "core/fill.h"

struct kraken_pair {
	char id[32];			/* AssetPairs key: "XXBTZUSD" */
	char altname[32];		/* "XBTUSD" */
	char symbol[FILL_SYMBOL_MAX];	/* "BTC/USD" */
	char quote[FILL_CUR_MAX];	/* "USD": the fee currency of its trades */
};

struct kraken_pairs;

struct kraken_pairs *kraken_pairs_new(void);
void kraken_pairs_free(struct kraken_pairs *p);

/* Unified currency code of the Kraken asset id (s, len) into out. Returns 0,
 * or -1 if the id is empty or does not fit. */
int kraken_asset_code(const char *s, size_t len, char out[FILL_CUR_MAX]);

/* Replaces the table with the "result" object of GET /0/public/AssetPairs.
 * Returns 0, or -1 with *errstr (the table is then unchanged). */
int kraken_pairs_load(struct kraken_pairs *p, json_t *result, const char **errstr);
size_t kraken_pairs_count(const struct kraken_pairs *p);

/* Resolves the pair name a private endpoint returned (id or altname; an
 * unknown one is split by length) into *out. Returns 0, or -1 with *errstr. */
int kraken_pairs_resolve(const struct kraken_pairs *p, const char *name, struct kraken_pair *out,
    const char **errstr);

/* The pair whose unified symbol is symbol, NULL if none (pointer valid until
 * the next load). */
const struct kraken_pair *kraken_pairs_by_symbol(const struct kraken_pairs *p, const char *symbol);

#endif
