/*
 * store: the daemon's durable state behind one const interface, chosen once
 * at start-up (as the exchanges and the attestation providers are).
 *
 * It holds claims (the replay guard of the credential envelopes, replay.h:
 * the hash of every accepted envelope's ephemeral key, kept until the
 * envelope could no longer pass the freshness check) and records: opaque
 * values by kind and 32-byte key, each with the time after which it may be
 * dropped (sessions, sealed by their owner before they get here; the
 * publisher's progress). The store never sees a secret in clear. Its
 * callers see only this header; a back end keeps its own schema and
 * transactions.
 *
 * Back ends: "sqlite" (store_sqlite.c), one file under DATA_DIR, written so
 * that a back end shared by several instances can follow (every operation
 * is one atomic statement keyed by its own primary key, with no state in
 * the connection between calls).
 *
 * THREAD SAFETY: every operation may be called from any thread.
 */
#ifndef PERFAGG_STORE_STORE_H
#define PERFAGG_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_KEY_BYTES 32

struct store;

/* The kinds of records. */
enum store_kind {
	STORE_SESSIONS = 1,		/* session_seal.h: a session and its sealed credential */
	STORE_PUBLISHED = 2,		/* publisher.h: how far a session's aggregates were sent */
	STORE_CHECKPOINTS = 3,		/* session_seal.h: a session's sealed collection checkpoint */
};

/* A record, as store_ops.each hands it over (valid during the call). */
typedef int store_each_fn(void *arg, const uint8_t key[STORE_KEY_BYTES], int64_t expires_ms, const void *val,
    size_t len);

struct store_ops {
	const char *name;
	/* Opens (creating if needed) the store at location: for "sqlite" a
	 * file path (":memory:" for tests). Returns NULL with *errstr. */
	struct store *(*open)(const char *location, const char **errstr);
	/* Closes st. NULL is a no-op. */
	void (*close)(struct store *st);
	/* Claims key until expires_ms: 1 when it was free (absent, or its
	 * claim had expired at now_ms) and is now held, 0 when a claim not
	 * yet expired holds it, -1 with *errstr when the store failed. One
	 * atomic step: of two racing claims exactly one gets 1. */
	int (*claim)(struct store *st, const uint8_t key[STORE_KEY_BYTES], int64_t expires_ms, int64_t now_ms,
	    const char **errstr);
	/* Whether a claim on key holds at now_ms: 1 yes, 0 no, -1 with *errstr. */
	int (*claimed)(struct store *st, const uint8_t key[STORE_KEY_BYTES], int64_t now_ms, const char **errstr);
	/* Forgets the claims and the records expired at now_ms. Returns how
	 * many, or -1 with *errstr. */
	long (*sweep)(struct store *st, int64_t now_ms, const char **errstr);
	/* Puts record key of kind (replacing it): val (len bytes, copied) and
	 * when it may be dropped (expires_ms; 0 never). Returns 0, or -1 with
	 * *errstr. Committed when it returns. */
	int (*put)(struct store *st, enum store_kind kind, const uint8_t key[STORE_KEY_BYTES], int64_t expires_ms,
	    const void *val, size_t len, const char **errstr);
	/* Reads record key of kind if not expired at now_ms: 1 with *val
	 * (malloc'd, the caller frees) and *len, 0 when there is none, -1 with
	 * *errstr. */
	int (*get)(struct store *st, enum store_kind kind, const uint8_t key[STORE_KEY_BYTES], int64_t now_ms,
	    void **val, size_t *len, const char **errstr);
	/* Deletes record key of kind, overwriting its bytes: 1 deleted, 0 there
	 * was none, -1 with *errstr. */
	int (*del)(struct store *st, enum store_kind kind, const uint8_t key[STORE_KEY_BYTES], const char **errstr);
	/* Calls fn for every record of kind not expired at now_ms, in key
	 * order, until fn returns non-zero. Returns 0, or -1 with *errstr. fn
	 * must not call the store. */
	int (*each)(struct store *st, enum store_kind kind, int64_t now_ms, store_each_fn *fn, void *arg,
	    const char **errstr);
};

/* Every store begins with its back end (the ops that made it). */
struct store {
	const struct store_ops *ops;
};

extern const struct store_ops store_sqlite;

/* The back end named name, NULL if none. */
const struct store_ops *store_find(const char *name);

#endif
