/*
 * store: the daemon's durable state behind one const interface, chosen once
 * at start-up (as the exchanges and the attestation providers are).
 *
 * Today it holds the replay guard of the credential envelopes (replay.h):
 * the salted hash of every envelope's ephemeral key accepted, kept until the
 * envelope could no longer pass the freshness check. Its callers see only
 * this header; a back end keeps its own schema and transactions.
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
#include <stdint.h>

#define STORE_KEY_BYTES 32

struct store;

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
	/* Forgets the claims expired at now_ms. Returns how many, or -1 with
	 * *errstr. */
	long (*sweep)(struct store *st, int64_t now_ms, const char **errstr);
};

/* Every store begins with its back end (the ops that made it). */
struct store {
	const struct store_ops *ops;
};

extern const struct store_ops store_sqlite;

/* The back end named name, NULL if none. */
const struct store_ops *store_find(const char *name);

#endif
