/*
 * exchange: the one interface every exchange connector implements, and the
 * types it shares with the poller (src/exchange/poller.c).
 *
 * A connector does no I/O. It is a state machine per session that
 *   - produces the next HTTP request of a poll cycle, signed with the
 *     session's credential (next()), and
 *   - consumes the response (handle()): parses it exactly as ccxt parses that
 *     exchange into unified fills (core/fill.h) and other facts, handed to a
 *     sink, and says how the poller should go on (struct xoutcome).
 * The poller owns sockets, timing, retries, backoff, rate budgets and the
 * circuit breaker; connectors own endpoints, parameters, signing, pagination
 * and cursors. Because connectors are pure, they are unit-tested on canned
 * responses, and the same code runs against the exchange simulator.
 *
 * A poll cycle: the poller calls begin(), then alternates next()/handle()
 * until next() returns 0. The first cycle of a session validates the
 * credential (the first authenticated response says valid or not) and walks
 * the full history (backfill); later cycles fetch only what is new, from the
 * connector's cursors, with no gap and no duplicate.
 *
 * Step contract: next() does not advance the cycle; handle() does. Calling
 * next() again without a handle() in between makes the same request again
 * (freshly signed: new timestamp or nonce). The poller relies on this when a
 * rate budget makes it drop a request it has not sent yet.
 *
 * Ordering contract: within one cycle, the fills a connector emits for one
 * symbol may come in any order; the poller sorts the fills of a walk by
 * (timestamp, id) before applying them to the ledger, unless the connector
 * declares ascending (every symbol's fills are emitted oldest first across
 * the whole cycle), in which case they are applied as they come (this is
 * what keeps a 1,000,000-fill backfill in constant memory).
 *
 * Progress contract (each connector states its own bound and tests it):
 *  - Every request serves one part of the account (enum xpart, req->part).
 *    The fills walk (XPART_FILLS, with whatever it needs first: server time,
 *    markets, validation) comes before the side steps (balances, flows,
 *    prices, permissions) in a cycle.
 *  - Every step advances or fails visibly. handle() advances the cycle on
 *    XR_OK; a step's next request differs from the last one (a new cursor,
 *    window or symbol) unless it is a retry of the same step. The requests of
 *    a cycle are bounded by a function of its work (pages of fills, symbols
 *    or currencies to price, flow windows) that the connector's header
 *    states.
 *  - A failing side step never discards or holds back fills: the poller
 *    applies a non-ascending connector's buffered fills before the first
 *    side-step request of a cycle and at its end. A side step answered with
 *    a permanent refusal for that part (a permission the key lacks, an
 *    unknown price series) is not XR_AUTH: the connector calls
 *    xconn_degrade() with the reason and returns XR_OK. A side step that
 *    keeps failing transiently is given up for the cycle after max_retries
 *    attempts: the poller records the part as degraded with the last error
 *    and calls ops->skip(). A fills step is never skipped (it is retried at a
 *    slower pace, and the status shows why).
 *  - XR_AUTH is only for an answer that unambiguously refuses the
 *    credential. The poller does not believe the first one: it retries the
 *    step once more, after ops->resync() (a clock resync with the exchange's
 *    server time) where the connector has one, and only a second refusal
 *    makes the session invalid_credentials.
 *  - Degraded parts and the connector's permanent caveats are shown in the
 *    session status and in every signed document computed from the data.
 */
#ifndef PERFAGG_EXCHANGE_EXCHANGE_H
#define PERFAGG_EXCHANGE_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"
#include "core/fill.h"
#include "core/pack.h"
#include "enclave/vault.h"

#define XREQ_MAX_HEADERS 8
#define XCONN_URL_MAX 256
#define XPOOL_MAX 4
#define XDEGRADED_MAX 120

/* The part of an account a request serves (progress contract above). */
enum xpart {
	XPART_FILLS,		/* the trades walk and what it needs (time, markets, validation) */
	XPART_BALANCES,		/* current balances and positions */
	XPART_FLOWS,		/* deposits and withdrawals */
	XPART_PRICES,		/* daily closes */
	XPART_PERMISSIONS,	/* what the key may do */
};
#define XPART_COUNT (XPART_PERMISSIONS + 1)

/* "fills", "balances", "flows", "prices", "permissions". */
const char *xpart_name(enum xpart p);

/* A rate limit of the exchange, as its documentation states it: a bucket of
 * cap units refilled at per_s units a second (a decaying counter is the same
 * bucket). Per-IP pools are shared by every session of the exchange (one
 * egress address), per-key pools by the sessions of one API key. */
struct xpool {
	const char *name;		/* static: "api", "sapi", "private", ... (unique per exchange) */
	bool per_key;
	double cap, per_s;
};

/* One HTTP request to perform. Everything is owned by the request and freed
 * (and wiped: headers carry API keys) by xreq_clear(). */
struct xreq {
	char method[8];			/* "GET", "POST" */
	char *url;			/* absolute, query string included */
	struct {
		char *name;
		char *value;
	} headers[XREQ_MAX_HEADERS];
	size_t nheaders;
	char *body;			/* NULL for none */
	size_t body_len;
	unsigned weight;		/* cost against the pool (the exchange's own units) */
	unsigned pool;			/* index into the connector's pools (ops->pools) */
	enum xpart part;		/* what the request serves; 0 = XPART_FILLS */
	int tag;			/* connector-private: which step this request is */
};

/* Helpers that build a request; they take copies. xreq_set aborts on a
 * header overflow (a connector bug). */
void xreq_set(struct xreq *r, const char *method, const char *base, const char *path, const char *query);
void xreq_header(struct xreq *r, const char *name, const char *value);
void xreq_body(struct xreq *r, const char *body, size_t len);
void xreq_clear(struct xreq *r);

/* A response as the poller received it. */
struct xresp {
	long status;			/* HTTP status; 0 when the transport failed (timeout, reset) */
	const char *body;		/* NUL-terminated; may be truncated or malformed: check */
	size_t body_len;
	int64_t now_ms;			/* local wall clock at receipt */
	/* Case-insensitive response header lookup, NULL if absent. */
	const char *(*header)(const struct xresp *r, const char *name);
	const void *hdr_arg;
};

/* How the poller goes on after a response. */
enum xresult {
	XR_OK,			/* consumed; ask next() for the next step */
	XR_RETRY,		/* transient (5xx, transport, malformed body): same step again after backoff */
	XR_RATE_LIMITED,	/* the exchange says slow down: same step after retry_after_ms */
	XR_CLOCK,		/* timestamp or nonce refused: the connector resynced; same step again now */
	XR_AUTH,		/* credential refused or lacking permission: the session is invalid_credentials */
	XR_FATAL,		/* cannot go on (protocol violation, unsupported account): error says why */
};

struct xoutcome {
	enum xresult result;
	int64_t retry_after_ms;		/* XR_RATE_LIMITED: 0 = poller's choice */
	unsigned used_weight;		/* the exchange's reported budget use (e.g. X-MBX-USED-WEIGHT-1M), 0 if none */
	char error[160];		/* exchange code and message, for the session status; "" when XR_OK */
};

/* Where a connector puts what it learns. Every callback returns 0, or -1
 * to stop the cycle (the poller then fails it with the sink's reason). */
struct xsink {
	void *arg;
	int (*fill)(void *arg, const struct fill *f);
	/* Current total balance of a currency (free + locked). */
	int (*balance)(void *arg, const char *currency, struct dec total);
	/* An external deposit (amount > 0) or withdrawal (< 0), for time-weighted returns. */
	int (*flow)(void *arg, const char *id, int64_t ts_ms, const char *currency, struct dec amount);
	/* A daily close price (UTC day start, ms) for marking positions, unified symbol. */
	int (*price)(void *arg, const char *symbol, int64_t day_ms, struct dec close);
	/* What the key may do, as the exchange reports it. */
	int (*permissions)(void *arg, bool can_trade, bool can_withdraw);
	/* A funding payment id of the futures position symbol (unified), in
	 * its settle currency: received (amount > 0) or paid (< 0). P&L that is
	 * neither a fill nor a flow; ids may repeat (re-read pages). NULL: the
	 * sink takes none (the connector skips them). */
	int (*funding)(void *arg, const char *id, int64_t ts_ms, const char *symbol, const char *currency,
	    struct dec amount);
};

/* Per-session connector configuration. */
struct xconf {
	enum fill_market market;	/* spot, margin, futures (the session's accountType) */
	bool sandbox;			/* use the exchange's testnet/demo base URL */
	const char *base_url;		/* override (tests, proxies); NULL = the exchange's own */
	int64_t backfill_from_ms;	/* 0 = as far back as the API allows */
	unsigned tier;			/* the account's rate tier at the exchange (Kraken: 0 starter,
					 * 1 intermediate, 2 pro); 0 = the exchange's default */
};

/* A connector instance: one per session. The common part is here; priv is
 * the connector's own state. */
struct xconn {
	const struct exchange_ops *ops;
	struct xconf conf;
	char base_url[XCONN_URL_MAX];
	void *priv;
	/* progress, shown in the session status */
	bool validated;			/* an authenticated request succeeded */
	bool backfill_done;		/* the first full walk is complete */
	char progress[128];		/* e.g. "BTCUSDT: 4/12 symbols" */
	int64_t clock_offset_ms;	/* exchange time - local time, when the connector tracks it */
	uint64_t nonce;			/* last nonce used (Kraken): strictly increasing */
	/* Permanent limits of this exchange and market (static strings set by
	 * open(), NULL where none), e.g. an API that reports no deposits. */
	const char *caveat[XPART_COUNT];
	/* Why a part is incomplete this cycle ("" when it is complete), set with
	 * xconn_degrade(); the poller clears them at begin() and publishes them
	 * at the end of the cycle. */
	char degraded[XPART_COUNT][XDEGRADED_MAX];
};

struct exchange_ops {
	const char *name;		/* "binance", "coinbase", "kraken", "krakenfutures" */
	/* The credential's shape: whether the exchange's keys may carry a
	 * passphrase (the client asks for one). */
	bool passphrase;
	/* Default base URLs per market (index enum fill_market), production and
	 * sandbox; NULL where the exchange has none (the market is refused). */
	const char *prod_url[3];
	const char *sandbox_url[3];
	bool ascending;			/* see the ordering contract above */
	/* Futures funding payments are reported (sink funding) with the fills
	 * walk; false: the connector does not collect them. */
	bool funding;
	/* Sets up c->priv for c->conf. Returns 0, or -1 with *errstr (e.g. an
	 * account type the exchange does not offer). */
	int (*open)(struct xconn *c, const char **errstr);
	void (*close)(struct xconn *c);
	/* Starts a poll cycle at now_ms. */
	void (*begin)(struct xconn *c, int64_t now_ms);
	/* Fills *req with the next request of the cycle, signed with cred
	 * (valid only during the call: copy nothing secret out but the
	 * signature and the public key header). Returns 1 when a request was
	 * made, 0 when the cycle is complete, -1 with *errstr on a connector
	 * error (e.g. the secret is not valid base64). */
	int (*next)(struct xconn *c, const struct credential *cred, int64_t now_ms, struct xreq *req,
	    const char **errstr);
	/* Consumes the response to the request next() last made (tag tells
	 * which), feeding sink, and says how to go on. */
	void (*handle)(struct xconn *c, const struct xreq *req, const struct xresp *resp, const struct xsink *sink,
	    struct xoutcome *out);
	/* The exchange's rate pools for c (fills out, returns how many, at most
	 * XPOOL_MAX); every request is charged req->weight against
	 * out[req->pool]. NULL: no limit. */
	size_t (*pools)(const struct xconn *c, struct xpool out[XPOOL_MAX]);
	/* Gives up on the side step req belongs to (req->part != XPART_FILLS)
	 * for this cycle: next() goes on past it. The poller has recorded the
	 * part as degraded. NULL: the connector has no side step to skip. */
	void (*skip)(struct xconn *c, const struct xreq *req);
	/* Makes the next request a server-time request (clock resync), after
	 * which the current step is repeated. NULL where the exchange's
	 * authentication does not depend on the clock. */
	void (*resync)(struct xconn *c);
	/*
	 * Checkpoints: a session's cursors, so that a restarted daemon (or one
	 * killed with -9) goes on polling where it was, with no new backfill.
	 * Called only between cycles: save() after a cycle completed (never
	 * while one is in progress), load() on a freshly opened xconn (same
	 * ops and conf) before its first begin(). The common fields are
	 * xconn_save()'s; these write and read the connector's own part.
	 *
	 * After load(), the next cycle continues incrementally exactly as the
	 * saved instance's next cycle would have: the fills walk, and the
	 * flows and funding walks, go on from the saved cursors (the ids at a
	 * boundary included), so no fill, flow or funding payment is emitted
	 * again and none is missed. What is cheap and public is not saved but
	 * fetched again by that cycle: the server time (clock sync; the offset
	 * itself is saved), the market lists (exchangeInfo, asset pairs), and,
	 * deliberately, the daily-close series: the pricebook that holds the
	 * closes lives in memory and is not checkpointed, so after a load every
	 * series is "never fetched" and is fetched again from the account's
	 * first day (whose marker is saved). Balances and positions are read
	 * again in that first cycle (forced), and the key's permissions are
	 * reported again where they come with a request the cycle makes anyway.
	 *
	 * An ascending connector (see the ordering contract) may also be saved
	 * between two requests of a cycle, after an XR_OK: its cursors (fills,
	 * flows, funding) move with what it emits, which the poller applies at
	 * once, so a save there describes exactly what was applied, and a load
	 * goes on from there with a new cycle (the poller checkpoints a long
	 * backfill that way). A non-ascending connector's fills are held in the
	 * poller until its walk is complete; it is saved between cycles only.
	 *
	 * save() appends to w and returns 0 (-1 with nothing written on a
	 * connector bug). load() treats r as untrusted: every count, string,
	 * enum and index is checked; it returns 0, or -1 with *errstr and c in
	 * any state that close() accepts (xconn_load() then reopens it).
	 */
	int (*save)(const struct xconn *c, struct pack *w);
	int (*load)(struct xconn *c, struct unpack *r, const char **errstr);
	/* The account tiers the exchange paces by (rate limits), NULL
	 * terminated, the default first; index = xconf.tier. NULL: the
	 * exchange has no tiers (a registration naming one is refused). */
	const char *const *tiers;
};

/* The registry: every connector, found by name. */
extern const struct exchange_ops exchange_binance;
extern const struct exchange_ops exchange_coinbase;
extern const struct exchange_ops exchange_kraken;
extern const struct exchange_ops exchange_krakenfutures;
const struct exchange_ops *exchange_find(const char *name);
/* The i-th connector of the registry, NULL past the end. */
const struct exchange_ops *exchange_at(size_t i);
/* "binance, coinbase, ..." (static storage), for messages. */
const char *exchange_names(void);
/* The index of tier name in ops->tiers: 0 with *tier, or -1 with *errstr
 * (the exchange has no tiers, or not that one). */
int exchange_tier(const struct exchange_ops *ops, const char *name, unsigned *tier, const char **errstr);

/* Sets up c for ops and conf (base URL from conf, else the default for the
 * market and sandbox flag) and calls ops->open. Returns 0 or -1 with *errstr. */
int xconn_open(struct xconn *c, const struct exchange_ops *ops, const struct xconf *conf, const char **errstr);
void xconn_close(struct xconn *c);

/*
 * A session's checkpoint (exchange_util.c): a version byte, the exchange's
 * name, the market, validated, backfill_done, clock_offset_ms and nonce,
 * then ops->save's part. Only between cycles (see ops->save). xconn_save
 * appends to w and returns 0 or -1. xconn_load reads one into c, freshly
 * opened with the same ops and conf, refusing a checkpoint of another
 * exchange or market, a damaged or truncated one, or trailing bytes: 0,
 * or -1 with *errstr and c reset to freshly opened (the caller may go on
 * with a full backfill).
 */
int xconn_save(const struct xconn *c, struct pack *w);
int xconn_load(struct xconn *c, struct unpack *r, const char **errstr);

/* Helpers connectors share (exchange_util.c). */
/* Checkpoint reading: a string that must be non-empty and fit cap bytes
 * with its NUL; an integer that must lie in [lo, hi]; a UTC day start (ms)
 * in [lo, XCKPT_TS_MAX] (lo = 0 or -1: "none" as the connector spells it).
 * Each makes the reader bad otherwise (sticky: check unpack_ok once). */
#define XCKPT_TS_MAX 7258118400000LL	/* 2200-01-01: no cursor is later */
void xunpack_name(struct unpack *r, char *out, size_t cap);
int64_t xunpack_range(struct unpack *r, int64_t lo, int64_t hi);
int64_t xunpack_day(struct unpack *r, int64_t none);

/* Percent-encodes (s, len) per RFC 3986 unreserved set into a fresh string. */
char *xurl_encode(const char *s, size_t len);
/* Looks up header name (case-insensitive) in raw response header lines
 * ("Name: value\r\n" ...), copying its trimmed value into out (cap bytes).
 * Returns out, or NULL if absent. For the poller and the synchronous runner. */
const char *xheaders_find(const char *raw, const char *name, char *out, size_t cap);
/* Records why part is incomplete this cycle; the first reason of a cycle
 * is kept. */
void xconn_degrade(struct xconn *c, enum xpart part, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Formats "%s" outcome error text: snprintf into out->error. */
void xoutcome_error(struct xoutcome *out, enum xresult r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
