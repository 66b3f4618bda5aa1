/*
 * collection: what the poller has collected for one session (its ledger,
 * holdings and status) behind a lock of its own, and the table readers find
 * it in.
 *
 * The poller thread writes a collection under its mutex; readers (the HTTP
 * handlers, the publisher) find it through a collection_table, which has its
 * own read-write lock, so no reader ever takes the poller's lock nor waits on
 * its scheduling. A collection is reference counted: a reader holding one
 * may outlive the session's removal from the table and from the poller.
 * THREAD SAFETY: every function may be called from any thread.
 */
#ifndef PERFAGG_EXCHANGE_COLLECTION_H
#define PERFAGG_EXCHANGE_COLLECTION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fill.h"
#include "core/holdings.h"
#include "core/ledger.h"
#include "exchange/exchange.h"
#include "util/bmap.h"

/* Where a session's collection stands. */
enum poll_state {
	POLL_VALIDATING,		/* no authenticated answer yet */
	POLL_ACTIVE,
	POLL_INVALID_CREDENTIALS,	/* the exchange refused the key: polling stopped, credential wiped */
	POLL_REFUSED_PERMISSIONS,	/* the key can trade or withdraw and read-only keys are required */
	POLL_FAILED,			/* the connector cannot serve this account (error says why) */
};
#define POLL_NSTATES (POLL_FAILED + 1)

struct poll_status {
	enum poll_state state;
	bool backfill_done;
	char progress[128];
	char last_error[160];		/* "" when the last step succeeded */
	unsigned consecutive_failures;
	int64_t last_success_ms;	/* wall clock of the last successful cycle, 0 = none yet */
	int64_t complete_until_ms;	/* wall clock at which the last successful cycle began: the
					 * fills the exchange had executed before it are applied; 0 = none */
	int64_t last_poll_ms;		/* wall clock of the last request */
	int64_t next_poll_ms;
	int64_t interval_ms;
	uint64_t requests, fills_applied, duplicates, stale, rejected;
	/* the last checkpoint kept (checkpoint.h): when, and the fills it
	 * holds (what a restart resumes from); 0 = none */
	int64_t checkpoint_ms;
	uint64_t checkpoint_fills;
	uint64_t cycles;		/* completed poll cycles */
	uint64_t cycle_requests;	/* requests of the last completed cycle */
	uint64_t max_cycle_requests;	/* the most any completed cycle took */
	/* Requests that repeated the previous one verbatim (method, URL, body)
	 * although it had been answered and consumed: a connector not
	 * advancing (exchange.h progress contract). Must stay 0. */
	uint64_t repeats;
	bool can_trade, can_withdraw, permissions_known;
	/* Why a part of the account is incomplete ("" = complete), as of the
	 * last completed cycle, and the exchange's permanent caveats (static
	 * strings or NULL), by enum xpart. */
	char degraded[XPART_COUNT][XDEGRADED_MAX];
	const char *caveat[XPART_COUNT];
};

const char *poll_state_name(enum poll_state s);

struct collection {
	pthread_mutex_t mu;		/* ledger, holdings and st */
	struct ledger *ledger;
	struct holdings *holdings;
	struct poll_status st;
	const char *exchange;		/* the connector's name (static) */
	enum fill_market market;
	/* st.state, also readable without mu (collection_table_state_counts
	 * takes no collection's lock: a reader inside a view may count) */
	atomic_int state;
	atomic_uint refs;		/* private */
};

/* A new, empty collection with one reference (the caller's); exchange must
 * be a static string. Never NULL. */
struct collection *collection_new(const char *exchange, enum fill_market market);
/* Drops a reference; the last one frees the ledger and holdings. NULL is a no-op. */
void collection_unref(struct collection *c);
/* Sets st.state and its lock-free copy. Caller holds c->mu. */
void collection_set_state(struct collection *c, enum poll_state s);

struct collection_table;

struct collection_table *collection_table_new(void);
/* Drops the table's references and frees it. NULL is a no-op. */
void collection_table_free(struct collection_table *t);
/* Files c under sid, taking a reference of its own. Returns 0, or -1 if sid
 * is present (nothing taken). */
int collection_table_put(struct collection_table *t, const uint8_t sid[BMAP_KEY_BYTES], struct collection *c);
/* Removes sid and drops the table's reference (absent: no-op). */
void collection_table_del(struct collection_table *t, const uint8_t sid[BMAP_KEY_BYTES]);
/* The collection under sid with a new reference for the caller (release
 * with collection_unref), or NULL. */
struct collection *collection_table_get(struct collection_table *t, const uint8_t sid[BMAP_KEY_BYTES]);
/* A copy of every id (caller frees *sids). Returns how many. */
size_t collection_table_sids(struct collection_table *t, uint8_t (**sids)[BMAP_KEY_BYTES]);
/* The number of collections in each poll_state (no collection's lock is
 * taken). */
void collection_table_state_counts(struct collection_table *t, uint64_t counts[POLL_NSTATES]);

#endif
