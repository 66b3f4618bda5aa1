/*
 * exsim_venue: one simulated exchange behind one const interface, the
 * simulator's counterpart of src/exchange/exchange.h's exchange_ops.
 *
 * Every fact the simulator's shared code knows about an exchange lives in
 * its venue: the markets it has and the symbols each one lists (unified and
 * native names, price and lot scales, price levels, first trade ids), the
 * currency it holds but never trades, its fee schedule, id and key formats,
 * the fills it reports without a side or liquidity, the URL prefixes it
 * owns, its request handler and public reference data, its error bodies and
 * how its candles close. The world (exsim.c), the generator (exsim_gen.c),
 * the balances, the equity (exsim_equity.c) and the reference data
 * (sim_markets.c) ask the venue; none of them names an exchange.
 *
 * Ownership: venues are const, static and live for the program; an account
 * points at its venue (a->venue), chosen once when the world is generated,
 * and venues are compared by address.
 *
 * Adding a venue:
 *   1. src/exsim/sim_<venue>.c: its request handler (and, for public
 *      reference data, a second handler), its symbol tables, and at its end
 *      `const struct exsim_venue sim_<venue>_venue = { ... };`;
 *   2. one line X(sim_<venue>_venue) in the registry (exsim_venue.c): the
 *      registry's order is the order of the world's accounts, so append;
 *   3. its tests (tests/unit/exsim/, exsim_venue_find("<venue>")).
 * Nothing else changes: no switch on an exchange remains outside the venues.
 */
#ifndef PERFAGG_EXSIM_EXSIM_VENUE_H
#define PERFAGG_EXSIM_EXSIM_VENUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"
#include "core/fill.h"
#include "exsim/exsim.h"

/* A symbol a market lists (the generator draws an account's symbols from
 * its market's table). */
struct exsim_symdef {
	const char *unified, *native;	/* "BTC/USDT:USDT", "BTCUSDT" */
	const char *base, *quote;	/* unified codes */
	const char *nbase, *nquote;	/* native codes (Kraken "XXBT"/"ZUSD"); else as unified */
	double price0;			/* centre of the price path */
	unsigned pdec, ldec;		/* price tick 10^-pdec, lot 10^-ldec */
	double amt_lo, amt_hi;		/* amount range of one fill */
	uint64_t id0;			/* base of the per-symbol trade ids (sequence ids) */
};

/* One market of a venue: its symbols, and a currency its accounts hold and
 * never trade (NULL for none), with the starting capital of that currency. */
struct exsim_venue_market {
	enum fill_market market;
	const struct exsim_symdef *symbols;
	size_t nsymbols;
	const char *held;		/* Binance spot "BNB" (fees), Coinbase "USDC" */
	int64_t held_capital;		/* whole units, before the symbols' needs */
	bool funding;			/* positions booked funding (exsim_funding.c) */
};

/* Trade and order ids of fills. */
enum exsim_id_format {
	EXSIM_IDS_UUID,			/* random UUIDv4 strings */
	EXSIM_IDS_SEQUENCE,		/* decimal, symbol's first_id + i (orders first_order_id + o) */
	EXSIM_IDS_TXID,			/* "TXXXXX-XXXXX-XXXXXX", orders 'O...' */
};

/* API key and secret shapes. */
enum exsim_key_format {
	EXSIM_KEYS_ALNUM64,		/* 64 alphanumerics each */
	EXSIM_KEYS_BASE64,		/* key: base64 of 42 bytes (56 chars); secret: base64 of 64 bytes */
	EXSIM_KEYS_CDP,			/* "organizations/<uuid>/apiKeys/<uuid>"; EC PEM (even index) or Ed25519 b64 */
};

/* Public reference data: as exsim_handler_fn, told its venue. */
typedef bool exsim_reference_fn(struct exsim *w, const struct exsim_venue *v, const struct exsim_request *rq,
    struct exsim_response *rs);

struct exsim_venue {
	const char *name;		/* "binance": the truth's and /exsim/accounts' "exchange" */
	const struct exsim_venue_market *markets;	/* in account order */
	size_t nmarkets;
	/* URL prefixes the venue owns; a path belongs to the venue with the
	 * longest matching prefix (NULL-terminated). */
	const char *const *prefixes;
	/* Its endpoints: true when it owns the path (and filled rs). Runs on
	 * the server's threads: mutable state only under w->mu. */
	exsim_handler_fn handle;
	/* Public reference data for general clients (sim_markets.c); NULL: none. */
	exsim_reference_fn *reference;
	/* Error bodies: a 500/502/503 (status), the rate-limit answer, and the
	 * body of a 404 (NULL: {"error":"not found"}). */
	void (*error_5xx)(struct exsim_response *rs, unsigned status, int64_t now_ms);
	void (*error_429)(struct exsim_response *rs, int64_t now_ms);
	const char *not_found_body;
	/* The daily close of unified on day as its public candle endpoint
	 * serves it at now_ms: 0, or -1 when none (exsim_close()); NULL: the
	 * venue serves no candles. */
	int (*close)(const struct exsim *w, const struct exsim_venue *v, enum fill_market m, const char *unified,
	    int64_t day, int64_t now_ms, struct dec *close);
	/* The same, for days that have a candle of their own only; NULL: as
	 * close (a venue that omits empty buckets, Coinbase, sets it). */
	int (*candle)(const struct exsim *w, const struct exsim_venue *v, enum fill_market m, const char *unified,
	    int64_t day, int64_t now_ms, struct dec *close);
	/* Fees: fee_maker/fee_taker rates of the cost, in the quote currency
	 * (an unknown role pays taker); fee, when set, replaces them (r: a
	 * uniform draw in 0..99 of the fill). */
	const char *fee_maker, *fee_taker;
	void (*fee)(const struct exsim_account *a, const struct exsim_symbol *s, unsigned r, struct fill *f);
	enum exsim_id_format ids;
	enum exsim_key_format keys;
	unsigned role_unknown_pct;	/* fills reported without liquidity (Coinbase 3) */
	bool side_unknown;		/* honours cfg.coinbase_unknown_side (UNKNOWN_ORDER_SIDE) */
};

/* The registry (exsim_venue.c): the i-th venue, NULL past the end. */
const struct exsim_venue *exsim_venue_at(size_t i);
/* The venue named name, NULL if none. */
const struct exsim_venue *exsim_venue_find(const char *name);
/* The venue owning path (longest prefix), NULL if none. */
const struct exsim_venue *exsim_venue_of_path(const char *path);
/* Whether v has a futures market beside spot or margin ones. */
bool exsim_venue_mixed(const struct exsim_venue *v);

/* A close hook for venues whose candles are their accounts' fills: the
 * last visible fill of the day of the first account of v trading unified
 * (of the same futures-ness as m when v is mixed). */
int exsim_close_from_fills(const struct exsim *w, const struct exsim_venue *v, enum fill_market m, const char *unified,
    int64_t day, int64_t now_ms, struct dec *close);

/* A day's candle as a venue whose candles are its accounts' fills serves
 * it: open is the day's first fill (the previous close on a day without
 * one), close as exsim_close_from_fills, fills how many the day has. */
struct exsim_candle {
	struct dec open, close;
	uint64_t fills;
};
/* The candle of unified on day (days since the epoch) at now_ms, from the
 * same account as exsim_close_from_fills: 0, or -1 when there is none. */
int exsim_candle_from_fills(const struct exsim *w, const struct exsim_venue *v, enum fill_market m, const char *unified,
    int64_t day, int64_t now_ms, struct exsim_candle *c);

/* Fee helpers for venue fee hooks (exsim_gen.c): adds round8(of * rate) in
 * cur; adds units * 10^-decimals of cur. */
void exsim_fee_rate(struct fill *f, struct dec of, const char *rate, const char *cur);
void exsim_fee_units(struct fill *f, int64_t units, unsigned decimals, const char *cur);

#endif
