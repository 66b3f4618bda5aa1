/*
 * server: perfaggd's state and its life cycle. Assembles the enclave pieces
 * (keys, vault, sessions, replay guard, attestation) behind the HTTP routes.
 */
#ifndef PERFAGG_SERVER_SERVER_H
#define PERFAGG_SERVER_SERVER_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "enclave/attest.h"
#include "server/config.h"
#include "out/audit.h"
#include "server/http.h"

struct server {
	const struct config *cfg;
	struct keys *keys;
	struct vault *vault;
	struct session_table *sessions;
	struct store *store;		/* durable state (store.h) */
	struct session_seal *seal;	/* sessions kept in it; NULL: keys generated, not kept */
	size_t restore_resumed;		/* sessions restored from their checkpoints at start */
	size_t restore_backfilling;	/* ... and restored without one (backfilling again) */
	struct replay *replay;
	struct ratelimit *ratelimit;
	struct poller *poller;
	struct outbox *outbox;		/* NULL when ingest is off */
	struct publisher *publisher;
	const struct attest_provider *attest;
	struct attest_ctx attest_ctx;
	uint8_t tls_spki_sha256[32];	/* zero when serving plain HTTP */
	bool tls;
	int64_t started_mono_ms;
	char *quote_cached;		/* the nonce-less attestation document, serialized */
	size_t quote_cached_len;
	struct http_server *http;
	struct audit *audit;		/* out/audit.h */
	/* key epochs and the handover (handlers_handover.c) */
	struct epoch_state *epochs;	/* enclave/epoch.h; NULL without key files */
	int lock_fd;			/* DATA_DIR/perfaggd.lock, held while running */
	pthread_mutex_t handover_mu;
	json_t *handover_package;	/* the released package, once released */
	/* expired-session sweeper */
	pthread_t cleaner;
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cv;
	bool stopping;
	bool cleaner_started;
};

/* Builds the state from cfg (not owned; must outlive the server) and starts
 * listening. Returns 0, or -1 with a one-line reason in err. */
int server_start(struct server *srv, const struct config *cfg, char *err, size_t errlen);
/* Stops listening, wipes every secret, frees everything. */
void server_stop(struct server *srv);

/* The route dispatcher (http_dispatch_fn); arg is the struct server. */
/* Holds resp back (without blocking the thread) until audit entries up to
 * seq are on disk: what a response acknowledges is recorded first. */
void server_defer_audit(struct server *srv, struct http_response *resp, int64_t seq);

/* Writes an audit entry (fields as for audit_event) and defers resp on it. */
#define server_audit(srv, resp, ev, ...) do {						\
	int64_t server_seq_;								\
	if (audit_event_nowait((srv)->audit, &server_seq_, ev, __VA_ARGS__) == 0)	\
		server_defer_audit((srv), (resp), server_seq_);				\
} while (0)

void server_dispatch(void *arg, const struct http_request *req, struct http_response *resp);

/* Handlers, one per route (handlers_*.c). */
void handle_health(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_quote(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_submit_key(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_session_get(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_session_delete(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_session_renew(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_cleanup(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_metrics(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_summary(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_audit_export(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_outbox_failed(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_outbox_requeue(struct server *srv, const struct http_request *req, struct http_response *resp);

/* Checks the operator token of an administrative route (action names it in
 * the audit log). Returns 0, or -1 with resp set (403 when OPERATOR_TOKEN is
 * unset, 401 when the token is missing or wrong). */
int server_operator_auth(struct server *srv, const struct http_request *req, const char *action,
    struct http_response *resp);

/* Key epochs and the handover (handlers_handover.c). */
void handle_handover_release(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_handover_accept(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_handovers(struct server *srv, const struct http_request *req, struct http_response *resp);

/* The measurement this instance's evidence vouches for (dev: SHA-256 of the
 * executable; SGX: MRENCLAVE, read from the cached quote document). 0 or -1. */
int server_own_measurement(struct server *srv, uint8_t out[32]);

/* At start, once DATA_DIR is private: takes its lock (one daemon per state
 * store) and, with key files and the dev provider, checks that this
 * executable's measurement is the one in force at the keys' epoch (a new
 * build takes them over only through a handover). Returns 0, or -1 with err.
 * server_release_keys() undoes it and frees the handover state (at stop). */
int server_claim_keys(struct server *srv, char *err, size_t errlen);
void server_release_keys(struct server *srv);

/* Takes the exclusive lock of DATA_DIR (DATA_DIR/perfaggd.lock, flock):
 * one daemon per state store. wait: block until it is free. Returns the
 * descriptor, or -1 with *errstr. */
int server_lock_data_dir(const char *data_dir, bool wait, const char **errstr);

/*
 * The "awaiting handover" start of a new build (HANDOVER_AWAIT=1): serves
 * /health, its attestation (fresh keys in memory) and
 * POST /admin/handover/accept until an operator-approved package from the
 * running instance is accepted (key files and epoch file then written), then
 * waits until DATA_DIR is free (the previous instance stopped) and returns
 * 0 with *statement (new reference) the accepted handover statement: the
 * caller starts the server normally and audits it. Returns 1 when a signal
 * stopped it, -1 with err on a start-up error.
 */
int handover_await(const struct config *cfg, const sigset_t *sigs, json_t **statement, char *err, size_t errlen);

void handle_prometheus(struct server *srv, const struct http_request *req, struct http_response *resp);
void handle_openapi(struct server *srv, const struct http_request *req, struct http_response *resp);

/* The route table, read-only: method, path, and whether the path also takes
 * "/{id}" (one segment). Static storage; sets *n. */
struct server_route {
	const char *method;
	const char *path;
	bool with_id;
};
const struct server_route *server_routes(size_t *n);

struct poll_status;
/* The collection status of a session as JSON (new reference). */
json_t *server_poll_status_json(const struct poll_status *st);
/* The status's degraded parts [{part, reason}] and the exchange's caveats
 * [{part, caveat}] as JSON arrays (new references). */
json_t *server_degraded_json(const struct poll_status *st);
json_t *server_caveats_json(const struct poll_status *st);

/* Resolves the session id of a session route (path or Bearer header).
 * Returns 0, or -1 with resp set. prefix is the route ("/enclave/metrics"). */
int server_session_id(const struct http_request *req, const char *prefix, uint8_t id[32], struct http_response *resp);

/* Builds the attestation document for nonce (may be NULL/0). Returns a new
 * reference, or NULL with *errstr when the provider fails. */
json_t *server_attestation_document(struct server *srv, const uint8_t *nonce, size_t nonce_len, const char **errstr);

#endif
