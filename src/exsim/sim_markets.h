/*
 * sim_markets: reference-data endpoints general clients (ccxt) load markets
 * and currencies from (sim_markets.c for the list). The public ones are
 * answered by the venues' reference handlers (exsim_venue.h); the signed
 * ones are bodies the exchange's own handler calls once it has
 * authenticated the request.
 */
#ifndef PERFAGG_EXSIM_SIM_MARKETS_H
#define PERFAGG_EXSIM_SIM_MARKETS_H

#include <stdbool.h>

#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"

/* Public reference data of each venue (its reference field): Binance
 * /dapi/v1/exchangeInfo; Coinbase market/products, /v2/currencies[/crypto],
 * /v2/exchange-rates; Kraken /0/public/Assets; Kraken Futures
 * /derivatives/api/v3/instruments. */
exsim_reference_fn sim_markets_binance_reference, sim_markets_coinbase_reference, sim_markets_kraken_reference,
    sim_markets_krakenfutures_reference;

/* Binance GET /sapi/v1/capital/config/getall: every currency of the
 * simulated Binance with one ETH network. */
void sim_markets_binance_capital_config(const struct exsim *w, const struct exsim_account *a,
    struct exsim_response *rs);
/* Binance GET /sapi/v1/margin/allPairs (cross, with ids) or
 * /sapi/v1/margin/isolated/allPairs: the spot and margin symbols. */
void sim_markets_binance_margin_pairs(const struct exsim *w, const struct exsim_account *a, bool isolated,
    struct exsim_response *rs);
/* Coinbase GET /api/v3/brokerage/transaction_summary: the lowest fee tier. */
void sim_markets_coinbase_transaction_summary(const struct exsim_account *a, struct exsim_response *rs);

/* Kraken Futures GET /api/history/v3/account-log: the account's transfers
 * ("cross-exchange transfer" rows with old and new balance); params since,
 * before (ms), sort (desc default), count (500 default, 1..100000). The
 * log's trade and funding rows are not simulated. */
void sim_markets_krakenfutures_account_log(const struct exsim_account *a, const struct exsim_request *rq,
    struct exsim_response *rs);

#endif
