/*
 * outbox: a durable queue of ingest payloads in SQLite, and the thread that
 * delivers them to POST {backend}/api/ingest.
 *
 * Durability: one file, DATA_DIR/outbox.sqlite3, in WAL mode with
 * synchronous=FULL, so a payload outbox_put() returned 0 for is on disk
 * before anything is sent, and survives a crash or kill -9. On open every
 * undelivered row is due again. Rows hold what outbox_put() was given: the
 * aggregates of a signed ingest payload, never raw trades or credentials.
 *
 * Idempotency: the idempotency_key column is UNIQUE. Putting a key again with
 * the same body is a no-op; with a different body it is refused (-1, logged
 * as an error) and the stored row is kept, so one key never has two bodies.
 * The stored bytes are what is sent, on every attempt.
 *
 * Delivery (when a backend URL is set): one sender thread, one request at a
 * time, due rows oldest first, with headers Content-Type: application/json
 * and Idempotency-Key. Answers:
 *   2xx                   delivered (kept 7 days, then pruned on open);
 *   400, 401, 403, 413,   failed: the answers the ingest contract names for
 *   422                   a payload it will never accept, so it is not
 *                         retried; the row stays, with its status, logged
 *                         as an error, counted by outbox_counts() (by
 *                         status too) and listed by outbox_failed() until
 *                         an operator re-queues it (outbox_requeue());
 *   anything else         (no connection, timeout, 3xx, 404, 408, 409, 425,
 *                         429, any other 4xx, 5xx: an answer that may pass)
 *                         retried after min(retry_max, retry_min * 2^(n-1))
 *                         with jitter (half fixed, half random), forever.
 * A row an older build failed for an answer no longer final is pending
 * again on open.
 *
 * Files: the database and its -wal and -shm are 0600, whatever the umask
 * and whoever created them.
 * THREAD SAFETY: every function may be called from any thread.
 */
#ifndef PERFAGG_OUT_OUTBOX_H
#define PERFAGG_OUT_OUTBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTBOX_FILE "outbox.sqlite3"

struct outbox_config {
	const char *data_dir;		/* created (0700) if missing */
	const char *backend_url;	/* base URL; NULL = store only, never send */
	int64_t retry_min_ms;		/* first retry delay; 0 = 1000 */
	int64_t retry_max_ms;		/* largest retry delay; 0 = 300000 */
	int64_t timeout_ms;		/* per request; 0 = 30000 */
	const char *ca_bundle;		/* NULL: the system's */
};

/* The answers that fail a row for good, in this order: 400, 401, 403, 413, 422. */
#define OUTBOX_NFINAL 5
extern const long outbox_final_status[OUTBOX_NFINAL];

struct outbox_counts {
	int64_t pending, delivered, failed;
	int64_t failed_by_status[OUTBOX_NFINAL];	/* by outbox_final_status[i] */
};

struct outbox;

/* Opens (creating) the outbox file under cfg->data_dir and, with a backend
 * URL, starts the sender. cfg's strings are copied. Returns NULL with
 * *errstr on failure. */
struct outbox *outbox_open(const struct outbox_config *cfg, const char **errstr);
/* Stops the sender (aborting a request in flight: the row stays pending) and
 * closes the file. NULL is a no-op. */
void outbox_free(struct outbox *ob);

/*
 * Commits payload (body, len), a JSON object whose "idempotency_key" member
 * equals key, then wakes the sender. Returns 0 when the row is on disk (new,
 * or already there with the same body), or -1 with *errstr (not a JSON
 * object with that key, the key already holds a different body, a database
 * error).
 */
int outbox_put(struct outbox *ob, const char *key, const char *body, size_t len, const char **errstr);

/* Rows not yet delivered nor failed (for /metrics); -1 on a database error. */
int64_t outbox_depth(struct outbox *ob);
/* Rows by state (scans the table: for tests and tools, not per request).
 * Returns 0, or -1 on a database error. */
int outbox_counts(struct outbox *ob, struct outbox_counts *out);
/* The same counts as kept in memory (counted at open and on every change):
 * cheap, for /metrics. */
void outbox_tally(struct outbox *ob, struct outbox_counts *out);

/*
 * The failed rows, oldest first, at most limit of them, as a JSON array of
 * {idempotency_key, status, error, attempts, created, failed} (times ISO
 * 8601 UTC); never a body. *more is set when rows were left out. Returns a
 * new reference, or NULL with *errstr on a database error.
 */
json_t *outbox_failed(struct outbox *ob, size_t limit, bool *more, const char **errstr);

/*
 * Puts failed rows back to pending, due now with their attempt counter at
 * zero, and wakes the sender: the rows whose idempotency key is one of
 * keys[0..nkeys), or every failed row when keys is NULL. Keys of no failed
 * row are ignored. Returns the number of rows re-queued, or -1 with *errstr
 * on a database error (then none is).
 */
int64_t outbox_requeue(struct outbox *ob, const char *const *keys, size_t nkeys, const char **errstr);

#endif
