/*
 * publisher: the daemon's ingest timer. It builds every session's ingest
 * payloads (out/ingest.h) from the poller's ledgers and commits them to the
 * outbox (out/outbox.h), which delivers them.
 *
 * Periods are multiples of the interval since the epoch (3600000: the UTC
 * hours). A session is published only once its backfill is done, and only
 * up to its cutoff: the last period boundary at or before the start of its
 * last successful poll cycle, so no fill of a published period can still
 * arrive. Then:
 *  - first, one "backfill" payload from the hour of its first fill to the
 *    cutoff (every hour completed so far);
 *  - then one "hourly" payload per interval, as the cutoff moves past each
 *    boundary (at most 48 per pass; the rest on the next pass).
 * Empty periods are sent too, so the backend can tell "no trades" from "no
 * data". Payloads are signed with the enclave key; client_id is an HMAC of
 * the session id (never the id itself) under keys_derive("perfagg/ingest/
 * client-id/v1"): the same for a session restored after a restart with the
 * same key files. A pass runs every min(interval, 5 s). How far each
 * session was published is kept in the state store (STORE_PUBLISHED, key
 * SHA-256("perfagg/published/v1" || session id), until the session has been
 * expired a week): a session restored after a restart goes on from there,
 * and no period is built twice; the outbox resends what was not delivered.
 */
#ifndef PERFAGG_OUT_PUBLISHER_H
#define PERFAGG_OUT_PUBLISHER_H

#include <stddef.h>
#include <stdint.h>

struct poller;
struct session_table;
struct keys;
struct outbox;

struct store;
struct publisher_config {
	int64_t interval_ms;		/* INGEST_INTERVAL */
	const char *connector_version;	/* CONNECTOR_VERSION (copied) */
	struct store *store;		/* progress kept across restarts (not owned); NULL: memory only */
};

struct publisher;

/* Starts the timer thread. p, sessions, keys and ob are not owned and must
 * outlive the publisher. Returns NULL with *errstr on failure. */
struct publisher *publisher_start(const struct publisher_config *cfg, struct poller *p,
    struct session_table *sessions, struct keys *keys, struct outbox *ob, const char **errstr);
/* Stops the thread and frees; NULL is a no-op. */
void publisher_stop(struct publisher *pb);

/* One pass at wall clock now_ms (the thread's, exposed for tests). Returns
 * the number of payloads committed to the outbox. */
size_t publisher_pass(struct publisher *pb, int64_t now_ms);

#endif
