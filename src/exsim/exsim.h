/*
 * exsim: the exchange simulator's core (perfagg-exsim). A product component:
 * it serves the real endpoints of Binance (spot, USD-M, cross margin),
 * Coinbase Advanced Trade, Kraken spot and Kraken Futures on one loopback
 * port, with their authentication, pagination, windows, weights, limits and
 * error bodies, over deterministic trading histories, and injects faults.
 *
 * Layout: exsim.c (world, accounts, dispatch, faults), exsim_gen.c (the
 * deterministic history generator), exsim_http.c (libmicrohttpd glue),
 * exsim_venue.c (the venue registry), and one module per simulated exchange,
 * each a const struct exsim_venue (exsim_venue.h: its markets and symbols,
 * handlers, error bodies, fees, id and key formats; how to add one):
 * sim_binance.c, sim_coinbase.c, sim_kraken.c, sim_krakenfutures.c.

 * Accounts. The world holds accounts generated from (seed, index): each has
 * one exchange and market, an API key and secret in that exchange's format,
 * permissions, and a history of fills spread over several symbols. Histories
 * are generated on demand from the seed (fill i of symbol k is a pure
 * function of (seed, account, k, i)), so a million fills cost no memory and
 * any page is computed directly. Fills whose timestamp is after the
 * simulator's clock are not yet visible: the account keeps trading while the
 * simulator runs (--live), which is what incremental polling is tested on.
 *
 * Ground truth: GET /exsim/truth?api_key=K returns every visible fill of the
 * account as a JSON array of ccxt unified trades (exactly what `perfagg
 * analyze` reads), plus "flows", "funding" (Binance USD-M FUNDING_FEE rows,
 * see "Funding" below) and "balances". GET /exsim/accounts lists
 * the accounts with their credentials (a simulator's keys are test data).
 *
 * Handlers. exsim_dispatch() answers the /exsim/ routes itself, then, for a
 * path a venue owns (the longest of the venues' URL prefixes: Binance /api/
 * /fapi/ /sapi/ /dapi/; Coinbase /api/v3/brokerage/ /v2/; Kraken /0/; Kraken
 * Futures /derivatives/ /api/history/ /api/charts/), sleeps latency_ms,
 * draws the faults (one seeded RNG under w->mu, a fixed number of draws per
 * request) and answers 504 after timeout_ms, the venue's 5xx body, or its
 * rate-limit body (Binance 429 + Retry-After -1003; Coinbase 429; Kraken
 * HTTP 200 EAPI:Rate limit exceeded; Kraken Futures HTTP 200
 * apiLimitExceeded) before any handler runs. Otherwise the venue's handler,
 * then its reference-data handler, answer; neither gives the venue's 404.
 * rq->overlap asks a pageable endpoint to repeat rows (the handler sets
 * rs->pageable when it honoured it). Truncation or malformation is then
 * applied to the body. Handlers keep their own rate state under w->mu
 * (account fields, banned_until_ms).
 */
#ifndef PERFAGG_EXSIM_EXSIM_H
#define PERFAGG_EXSIM_EXSIM_H
#define EXSIM_STATS_PATHS 256

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/dec.h"
#include "core/fill.h"
#include "util/bmap.h"

/* A simulated exchange: exsim_venue.h (one const struct per sim_<venue>.c). */
struct exsim_venue;

/* A symbol an account trades: unified and native names and price scale. */
struct exsim_symbol {
	char unified[FILL_SYMBOL_MAX];	/* "BTC/USDT", futures "BTC/USDT:USDT" */
	char native[32];		/* "BTCUSDT", "BTC-USD", "XXBTZUSD", "PF_XBTUSD" */
	char base[FILL_CUR_MAX], quote[FILL_CUR_MAX];
	char native_base[16], native_quote[16];	/* Kraken "XXBT"/"ZUSD"; else as unified */
	int64_t first_ms;		/* time of fill 0 */
	int64_t spacing_ms;		/* spacing of historical fills (fill i is in [first + i*s, first + (i+1)*s)) */
	uint64_t nfills;		/* total fills over the account's life (visible or not) */
	uint64_t first_id;		/* exchange trade id of fill 0 (Binance ids are per symbol) */
	/* Historical fills are 0..nhist-1, all before the world's start; live
	 * fills nhist.. follow at live_spacing_ms from live_first_ms (the
	 * world's start), each in [live_first + j*ls, live_first + (j+1)*ls). */
	uint64_t nhist;
	int64_t live_first_ms, live_spacing_ms;
	unsigned price_decimals;	/* tick = 10^-price_decimals */
	unsigned lot_decimals;		/* amount step = 10^-lot_decimals */
	/* generator parameters (exsim_gen.c) */
	uint64_t first_order_id;	/* Binance numeric order ids */
	double price0;			/* centre of the price path */
	uint64_t amount_lo, amount_hi;	/* amount range in lots */
	unsigned cycle;			/* fills per half round trip (1..6) */
	uint64_t salt;			/* per-symbol hash salt */
};

/* A deposit (amount > 0) or withdrawal (amount < 0) of an account. */
struct exsim_flow {
	char id[40];
	int64_t ts_ms;
	char currency[FILL_CUR_MAX];	/* unified code */
	struct dec amount;
};

struct exsim_bcache;

struct exsim_account {
	size_t index;
	const struct exsim_venue *venue;	/* static, never freed */
	enum fill_market market;
	char api_key[160];		/* Binance: 64 chars; Kraken: 56; Coinbase: organizations/.../apiKeys/... */
	char secret[512];		/* Binance: 64 chars; Kraken: base64 of 64 bytes; Coinbase: EC PEM or Ed25519 b64 */
	char passphrase[64];		/* "" when none */
	bool can_trade, can_withdraw;	/* key permissions (read-only keys have both false) */
	double unknown_side;		/* Coinbase: cfg.coinbase_unknown_side */
	uint64_t seed;
	uint64_t world_seed;		/* cfg.seed: market-wide facts (funding rates) */
	struct exsim_symbol *symbols;
	size_t nsymbols;
	struct exsim_flow *flows;	/* sorted by ts_ms; all before the world's start */
	size_t nflows;
	char currencies[8][FILL_CUR_MAX];	/* every currency the account holds (balances) */
	size_t ncurrencies;
	struct exsim_bcache *bcache;	/* exsim_balances() running sums (own lock) */
	/* mutable state, under the world lock */
	uint64_t last_nonce;		/* Kraken: strictly increasing */
	double rate_counter;		/* Kraken decaying counter / budget use */
	int64_t rate_at_ms;
};

/* Faults, each a probability per request (0..1) or a duration. */
struct exsim_faults {
	double p_5xx;			/* answer 500/502/503 with the exchange's error body */
	double p_429;			/* answer the exchange's rate-limit error */
	double p_timeout;		/* hold the request past the client's timeout (timeout_ms) */
	double p_truncate;		/* cut the JSON body short */
	double p_malformed;		/* replace the body with invalid JSON */
	double p_overlap;		/* pages repeat some rows of the previous page */
	int64_t latency_ms;		/* added to every request */
	int64_t timeout_ms;		/* how long a "timeout" holds (default 35000) */
	/* The exchanges' clock minus the wall clock (< 0: the servers are
	 * behind): every exchange route and the admin routes see rq->now_ms on
	 * that clock, so timestamps, JWT windows, visibility and the truth
	 * agree; a client must sync to the server time (Binance /time,
	 * Coinbase /time) to be accepted. */
	int64_t clock_offset_ms;
};

struct exsim_config {
	uint16_t port;
	uint64_t seed;
	size_t accounts_per_exchange;	/* per exchange and market */
	uint64_t fills_per_account;	/* approximate total over all symbols */
	int64_t history_ms;		/* how far back histories start (default 90 days) */
	int64_t start_ms;		/* history anchor ("now" at start); 0 = wall clock */
	int64_t live_spacing_ms;	/* > 0: accounts keep trading, about one fill per this per account */
	bool strict_limits;		/* enforce the real per-IP weight limits (off for load tests) */
	/* Coinbase: the share of fills (0..1) whose side the API reports as
	 * UNKNOWN_ORDER_SIDE (their truth side is null, as ccxt's; they still
	 * move the balances). 0 by default: a client cannot book them. */
	double coinbase_unknown_side;
	bool no_ledger_permission;	/* Kraken keys lack "Query Ledger Entries" (read-only keys often do) */
	struct exsim_faults faults;
	unsigned threads;
};

struct exsim {
	struct exsim_config cfg;
	int64_t start_ms;		/* wall clock at start: "now" for history generation */
	struct exsim_account *accounts;
	size_t naccounts;
	pthread_mutex_t mu;		/* account mutable state, rate state, rng */
	uint64_t rng;			/* fault decisions */
	/* per-IP weight windows (Binance) */
	int64_t weight_window_ms;
	int64_t banned_until_ms;
	uint64_t stats_requests, stats_faults;
	uint64_t stats_by_fault[6];	/* 5xx, 429, timeout, truncate, malformed, overlap */
	/* requests by path (query string excluded), for tests that count
	 * what a client asked for; paths past the table count as "other" */
	struct {
		char path[96];
		uint64_t n;
	} stats_paths[EXSIM_STATS_PATHS];
	size_t nstats_paths;
	uint64_t stats_other_paths;
	struct bmap *by_key;		/* SHA-256(venue name || NUL || api_key) -> account */
};

struct exsim_param {
	const char *name, *value;	/* decoded */
};

/* A request as handlers see it. */
struct exsim_request {
	const char *method;
	const char *path;		/* without the query */
	const char *query;		/* raw query string as sent (for signatures), "" if none */
	const char *body;		/* raw body, "" if none */
	size_t body_len;
	const char *(*header)(const struct exsim_request *r, const char *name);
	/* Query or form parameter lookup (decoded), NULL if absent. */
	const char *(*param)(const struct exsim_request *r, const char *name);
	const void *ctx;
	int64_t now_ms;
	/* Every query parameter, then every form parameter of an
	 * application/x-www-form-urlencoded body, in order, decoded (repeated
	 * names such as Coinbase's product_ids appear repeatedly). */
	const struct exsim_param *params;
	size_t nparams;
	/* Set by exsim_dispatch (p_overlap fault): a pageable endpoint repeats
	 * some rows of the previous page at the start of this one. */
	bool overlap;
};

#define EXSIM_MAX_RESP_HEADERS 6
struct exsim_response {
	unsigned status;
	char *body;			/* malloc'd, owned */
	size_t body_len;
	const char *content_type;	/* default application/json */
	struct {
		char name[40];
		char value[96];
	} headers[EXSIM_MAX_RESP_HEADERS];
	size_t nheaders;
	bool pageable;			/* the handler allows the overlap fault on this body */
};

/* Handlers: each returns true if it owns the path (and filled resp). They
 * run concurrently on the server's threads: mutable account and world state
 * only under w->mu. A venue's handlers are fields of its exsim_venue. */
typedef bool (*exsim_handler_fn)(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs);

/* Names: "spot", "margin", "futures" (a venue's name is venue->name). */
const char *exsim_market_name(enum fill_market m);

/* Defaults for every field (port 0, seed 1, 2 accounts, 2000 fills, 90 days,
 * no live trading, no faults, timeout 35000 ms, 4 threads). */
void exsim_config_default(struct exsim_config *cfg);

/* World. Builds every account of cfg (copied); aborts only on OOM. Returns
 * 0, or -1 with *errstr on a bad configuration. */
int exsim_init(struct exsim *w, const struct exsim_config *cfg, const char **errstr);
void exsim_free(struct exsim *w);
/* Finds the account with this API key on venue v, NULL if none. */
struct exsim_account *exsim_account_by_key(struct exsim *w, const struct exsim_venue *v, const char *api_key);
/* Finds an account by API key on any venue, NULL if none. */
struct exsim_account *exsim_account_any(struct exsim *w, const char *api_key);
/* Runs one request through the admin routes, faults and the handlers; rs
 * must be zeroed; the caller frees rs->body. */
void exsim_dispatch(struct exsim *w, const struct exsim_request *rq, struct exsim_response *rs);
/* The default param() of a request: first params[] entry named name. */
const char *exsim_request_param(const struct exsim_request *r, const char *name);

/* Admin bodies (also used by --export-accounts): fresh strings. */
char *exsim_accounts_json(struct exsim *w, int64_t now_ms);
char *exsim_truth_json(const struct exsim_account *a, int64_t now_ms);

/* Generator (exsim_gen.c). Fills a (zeroed) with account number index of
 * market m of venue v, ordinal-th of count accounts of its venue
 * (permissions depend on it). */
struct exsim_venue_market;
void exsim_account_generate(struct exsim_account *a, const struct exsim_config *cfg, int64_t start_ms, size_t index,
    const struct exsim_venue *v, const struct exsim_venue_market *m, size_t ordinal, size_t count);
void exsim_account_clear(struct exsim_account *a);
/* The balance cache of an account (exsim_balance.c); free(NULL) no-op. */
struct exsim_bcache *exsim_bcache_new(const struct exsim_account *a);
void exsim_bcache_free(struct exsim_bcache *c);

/* Histories. */
/* Fill i (0-based, i < sym->nfills) of symbol k of account a, in unified
 * form, with its exchange trade id in out->id; deterministic. */
void exsim_fill(const struct exsim_account *a, size_t k, uint64_t i, struct fill *out);
/* Whether the exchange reports fill i of symbol k without its side
 * (Coinbase UNKNOWN_ORDER_SIDE); deterministic. */
bool exsim_side_unknown(const struct exsim_account *a, size_t k, uint64_t i);
/* Timestamp of fill i of symbol k alone (cheaper than exsim_fill). */
int64_t exsim_fill_ts(const struct exsim_account *a, size_t k, uint64_t i);
/* Number of fills of symbol k visible at now_ms (timestamp <= now_ms). */
uint64_t exsim_visible(const struct exsim_account *a, size_t k, int64_t now_ms);
/* Index of the first fill of symbol k with timestamp >= ts_ms (may be nfills). */
uint64_t exsim_index_at(const struct exsim_account *a, size_t k, int64_t ts_ms);
/* Balances (currency, total) derived from the visible history; writes up to
 * cap entries, returns the count. Spot and margin: flows, plus base and
 * minus cost on buys (the reverse on sells), minus fees in their currency.
 * Futures (cash view of the settle currency): flows, plus cost on sells,
 * minus cost on buys, minus fees, plus the funding booked up to now_ms
 * (Binance USD-M, exsim_funding_at); equal to realized PnL plus funding at
 * the end of each round trip. Thread-safe. */
size_t exsim_balances(const struct exsim_account *a, int64_t now_ms, char (*cur)[FILL_CUR_MAX], struct dec *total,
    size_t cap);

/* A deterministic 64-bit hash of (salt, domain, i) (exsim_gen.c). */
uint64_t exsim_hash(uint64_t salt, uint64_t domain, uint64_t i);

/* A futures position in its round trip (exsim_gen.c: a trip opens over
 * cycle fills and closes over as many with the same amounts). For the fills
 * [start, upto) of the trip holding fill upto - 1 of symbol k: the opening
 * half's signed amount and signed cost (buys positive), and the position
 * left (amt, signed). All zero when upto is 0 (exsim_balance.c). */
struct exsim_trip {
	uint64_t start;
	struct dec open_amt, open_cost, amt;
};
void exsim_trip_of(const struct exsim_account *a, size_t k, uint64_t upto, struct exsim_trip *t);
/* The cost basis (signed) of what is left of the position: the opening
 * cost, in proportion once part of it is closed, rounded to decimals. */
struct dec exsim_trip_basis(const struct exsim_trip *t, unsigned decimals);

/*
 * Funding (exsim_funding.c). Binance USD-M books a FUNDING_FEE income row
 * every 8 hours (00:00, 08:00, 16:00 UTC) on each position open at that
 * time, in the settle (quote) asset: income = -position x mark x rate, to 8
 * decimals, added to walletBalance. Here the position is the one left by the
 * fills timestamped at or before the funding time, the mark the last of
 * those fills' price, and the rate a deterministic function of the world
 * seed, the symbol and the period, a multiple of 0.000001 in
 * [-0.0003, 0.0003] (the same for every account). Other exchanges and
 * markets have none here.
 */
#define EXSIM_FUNDING_PERIOD_MS (8 * 3600000LL)
struct exsim_funding {
	int64_t ts_ms;			/* the funding time */
	uint64_t tran_id;		/* unique per account */
	struct dec position;		/* signed amount held */
	struct dec mark;		/* price the notional is taken at */
	struct dec rate;
	struct dec income;		/* received (> 0) or paid (< 0) */
};
/* Whether account a is booked funding (Binance USD-M). */
bool exsim_has_funding(const struct exsim_account *a);
/* The first funding time at or after ts_ms. */
int64_t exsim_funding_ceil(int64_t ts_ms);
/* The funding of symbol k at funding time ts_ms (a multiple of the period):
 * true with *out when a position was open then, false when none is booked. */
bool exsim_funding_at(const struct exsim_account *a, size_t k, int64_t ts_ms, struct exsim_funding *out);
/* The sum of the funding of symbol k booked at times in [from_ms, to_ms]
 * (to_ms INT64_MAX: up to its last fill). */
struct dec exsim_funding_sum(const struct exsim_account *a, size_t k, int64_t from_ms, int64_t to_ms);

/* Daily closes and equity (exsim_equity.c). The close of unified symbol on
 * day (days since the epoch) exactly as venue v's public candle endpoint
 * (klines, OHLC, candles) serves it at now_ms (its close hook): 0, or -1
 * when it serves none for that day. A venue that omits empty buckets
 * (Coinbase) serves the latest candle before; /exsim/closes lists only the
 * days with a candle of their own (the venue's candle hook). */
int exsim_close(const struct exsim *w, const struct exsim_venue *v, enum fill_market m, const char *unified,
    int64_t day, int64_t now_ms, struct dec *close);
/* The truth's "daily_equity" of account a at now_ms (a new reference), computed
 * forward and independently of the daemon: the balances at the end of each day
 * from the account's own fills and flows, times that day's close from
 * exsim_close() (docs/ANALYTICS.md section 6 for the conventions). */
json_t *exsim_daily_equity_json(const struct exsim *w, const struct exsim_account *a, int64_t now_ms);

/* Response helpers. */
void exsim_json(struct exsim_response *rs, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void exsim_body(struct exsim_response *rs, unsigned status, char *body, size_t len);	/* takes body */
void exsim_header(struct exsim_response *rs, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* HTTP server (exsim_http.c): libmicrohttpd, thread pool, epoll, on
 * 127.0.0.1:port (0 = ephemeral). NULL with *errstr on failure. */
struct exsim_http;
struct exsim_http *exsim_http_start(struct exsim *w, uint16_t port, unsigned threads, const char **errstr);
uint16_t exsim_http_port(const struct exsim_http *h);
void exsim_http_stop(struct exsim_http *h);

#endif
