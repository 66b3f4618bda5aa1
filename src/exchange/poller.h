/*
 * poller: drives every session's connector on one thread with libcurl multi
 * (no thread per session), and keeps each session's ledger current.
 *
 * Per session it runs poll cycles (exchange.h): the first validates the
 * credential and backfills the whole history, later ones fetch what is new.
 * Between cycles it waits an adaptive interval (apiInterval to start, halved
 * after a cycle that found fills, grown by half after a quiet one, clamped
 * to [min, max]). A failed step is retried after exponential backoff with
 * jitter; after max_retries the session's status shows the error and the
 * step is retried at a slower pace - never skipped, so nothing is lost. Rate
 * budgets follow each exchange's rules and are shared by every session of
 * one key (and, for per-IP limits, of one exchange). A circuit breaker per
 * exchange stops requests for a while after a run of failures.
 * THREAD SAFETY: poller_add/remove/view may be called from any thread.
 * Readers (views, session lists, state counts) never take the poller's own
 * lock: each session's ledger, holdings and status are a collection
 * (collection.h) behind a lock of its own, found through a table with its
 * own read-write lock. A view holds only its session's collection: the
 * poller's lock, the table and the other sessions stay free, and the
 * poller thread waits on a view only to update that same session (one
 * thread: for as long as the view lasts, so views must be short)
 * (test_poller: test_readers_never_stall_polling).
 */
#ifndef PERFAGG_EXCHANGE_POLLER_H
#define PERFAGG_EXCHANGE_POLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/holdings.h"
#include "core/ledger.h"
#include "enclave/session.h"
#include "exchange/collection.h"
#include "exchange/exchange.h"
#include "exchange/pricebook.h"

#define POLLER_MAX_URLS 16

struct poller_config {
	int64_t interval_ms;		/* apiInterval: first interval between cycles (60000) */
	int64_t min_interval_ms;	/* 30000 */
	int64_t max_interval_ms;	/* 300000 */
	unsigned max_retries;		/* maxRetries: failures of one step before it shows as an error (3) */
	int64_t timeout_ms;		/* per request (30000) */
	unsigned max_transfers;		/* requests in flight at once (512) */
	const char *ca_bundle;		/* NULL: the system's */
	bool require_read_only;		/* PERFAGG_REQUIRE_READ_ONLY: refuse keys that can trade or withdraw */
	bool ip_budgets;		/* honour per-IP limits (Binance weights); off only for load tests */
	bool key_budgets;		/* honour per-key limits (Kraken counter, Coinbase, Kraken Futures); off only against a simulator */
	/* Called on the poller thread with the outcome of a credential's use:
	 * "validated" (its first authenticated answer), "invalid_credentials",
	 * "refused_permissions". sid_hash is log_short_hash of the session id.
	 * NULL: not called. */
	void (*on_credential)(void *arg, const char *sid_hash, const char *exchange, const char *result);
	void *on_credential_arg;
	/* Durable checkpoints (checkpoint.h): called on the poller thread
	 * between two cycles of a session, after a cycle that applied fills or
	 * completed the history, and otherwise at least every
	 * checkpoint_every_ms, with the checkpoint's bytes (valid during the
	 * call, wiped after). Returns 0, or -1 (counted; the next cycle tries
	 * again). NULL: no checkpoints. */
	int (*checkpoint)(void *arg, const uint8_t sid[SESSION_ID_BYTES], const uint8_t *buf, size_t len);
	void *checkpoint_arg;
	int64_t checkpoint_every_ms;	/* 0: 300000 */
	/* During the first cycle (the backfill) of an ascending connector
	 * (exchange.h), also after a request answered at least this long after
	 * the last checkpoint, so that a kill resumes the backfill where it
	 * was. 0: 10000. */
	int64_t checkpoint_backfill_ms;
	/* Base URL overrides: "binance", "binance:futures", ... -> URL. */
	struct {
		char key[32];
		char url[XCONN_URL_MAX];
	} urls[POLLER_MAX_URLS];
	size_t nurls;
};


struct poller;

/* Parses "name=url,name:market=url" into cfg->urls. Returns 0, or -1 with *errstr. */
int poller_parse_urls(struct poller_config *cfg, const char *spec, const char **errstr);

/* Starts the poller thread. sessions is not owned and must outlive it. */
struct poller *poller_start(const struct poller_config *cfg, struct session_table *sessions, const char **errstr);
/* Stops the thread, frees every job. NULL is a no-op. */
void poller_stop(struct poller *p);

/* Starts collecting for session sid (exchange, account type and sandbox from
 * info). Returns 0, or -1 with *errstr (unknown exchange, unsupported market). */
int poller_add(struct poller *p, const uint8_t sid[SESSION_ID_BYTES], const struct session_info *info,
    const char **errstr);
/* As poller_add, with the connector given (tests use their own). */
int poller_add_ops(struct poller *p, const uint8_t sid[SESSION_ID_BYTES], const struct session_info *info,
    const struct exchange_ops *ops, const char **errstr);

/* As poller_add, resuming from a checkpoint (ckpt, len; checkpoint.h)
 * taken by an earlier instance: the session's ledger, holdings, status and
 * cursors are as they were, and its next cycle reads only what came after.
 * Returns 0 resumed, 1 started afresh because the checkpoint cannot be
 * used (*errstr says why: the session backfills again), or -1 with
 * *errstr as poller_add. */
int poller_add_resumed(struct poller *p, const uint8_t sid[SESSION_ID_BYTES], const struct session_info *info,
    const void *ckpt, size_t len, const char **errstr);

/* Stops collecting for sid and frees its ledger (revocation). */
void poller_remove(struct poller *p, const uint8_t sid[SESSION_ID_BYTES]);

/* Calls fn with the session's ledger and status, its collection locked
 * for the duration of the call (the session removed meanwhile stays
 * readable until fn returns). Returns fn's result, or -1 if unknown. */
int poller_view(struct poller *p, const uint8_t sid[SESSION_ID_BYTES],
    int (*fn)(void *arg, const struct ledger *l, const struct poll_status *st), void *arg);

/* Everything a session's results are computed from, valid during the
 * callback of poller_view_account() only. */
struct poller_account {
	const struct ledger *ledger;
	const struct holdings *holdings;	/* daily holdings and balances (core/holdings.h) */
	const struct poll_status *status;
	struct pricebook *prices;		/* daily closes of every exchange, shared (own lock) */
	const char *exchange;			/* the connector's name: the key of its closes */
	enum fill_market market;
};

/* As poller_view, with the holdings and the shared closes too. */
int poller_view_account(struct poller *p, const uint8_t sid[SESSION_ID_BYTES],
    int (*fn)(void *arg, const struct poller_account *a), void *arg);

/* A copy of the ids of every session collected now, in no particular order
 * (caller frees *sids). Returns how many. */
size_t poller_sessions(struct poller *p, uint8_t (**sids)[SESSION_ID_BYTES]);

/* Counters for /metrics and tests. */
struct poller_counters {
	uint64_t jobs, requests, failures, cycles;
	uint64_t checkpoints, checkpoint_failures;	/* taken, and failed (save or keeper) */
	uint64_t checkpoint_bytes;	/* of the last one taken */
	int64_t checkpoint_ns;		/* time spent taking them (serializing and keeping), total */
	uint64_t lag_samples;
	int64_t lag_max_ms;		/* how late a cycle started past its due time */
	int64_t lag_p99_ms;		/* over the last 4096 cycle starts */
};
void poller_counters(struct poller *p, struct poller_counters *out);

/* The number of sessions in each poll_state (for /metrics). */
void poller_state_counts(struct poller *p, uint64_t counts[POLL_NSTATES]);

#endif
