/*
 * config: perfaggd's settings, from the environment (the names the seeds use)
 * overridden by command-line flags. One table drives parsing, validation and
 * --help, so a setting cannot exist in one place and be missing in another.
 */
#ifndef PERFAGG_SERVER_CONFIG_H
#define PERFAGG_SERVER_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/log.h"

struct config {
	char *host;			/* ENCLAVE_HOST */
	int64_t port;			/* ENCLAVE_PORT */
	char *private_key_path;		/* ENCLAVE_PRIVATE_KEY_PATH, NULL = generate */
	char *public_key_path;		/* ENCLAVE_PUBLIC_KEY_PATH */
	int64_t default_session_ttl;	/* seconds */
	int64_t max_session_ttl;
	int64_t min_session_ttl;
	int64_t cleanup_interval_ms;	/* SESSION_CLEANUP_INTERVAL */
	int64_t checkpoint_interval_ms;	/* CHECKPOINT_INTERVAL */
	int64_t checkpoint_backfill_ms;	/* CHECKPOINT_BACKFILL_INTERVAL */
	int64_t rate_limit_max;
	int64_t rate_limit_window_ms;
	enum log_level log_level;
	char *tls_cert_path;
	char *tls_key_path;
	bool allow_plain_http;
	char *attestation_provider;
	char *attestation_root;		/* NULL = the provider's default */
	int64_t http_threads;
	int64_t secret_linger_ms;
	int64_t max_sessions;
	int64_t max_connections;
	/* exchange polling (issue #4) */
	int64_t api_interval_ms;	/* apiInterval */
	int64_t max_retries;		/* maxRetries */
	char *exchange_base_urls;	/* "binance=http://...,kraken=..." */
	char *exchange_ca_bundle;
	bool require_read_only;
	bool poll_ip_budgets;
	bool poll_key_budgets;
	int64_t poll_max_transfers;
	/* audit trail and administration (issue #5) */
	char *audit_log_path;		/* AUDIT_LOG_PATH */
	int64_t audit_checkpoint_every;	/* AUDIT_CHECKPOINT_EVERY */
	char *operator_token;		/* OPERATOR_TOKEN, NULL = administrative routes refused */
	/* backend ingest (issue #5) */
	char *backend_url;		/* AGGREGATOR_BACKEND_URL, NULL = ingest off */
	char *data_dir;			/* DATA_DIR */
	int64_t ingest_interval_ms;	/* INGEST_INTERVAL */
	char *connector_version;	/* CONNECTOR_VERSION */
	/* durable state (issue #10) */
	char *store;			/* STORE: the state store's back end */
	int64_t envelope_window_s;	/* ENVELOPE_WINDOW */
	bool handover_await;		/* HANDOVER_AWAIT: start awaiting the keys (handover) */
};

/*
 * Fills cfg from defaults, then the environment, then argv (--flag value or
 * --flag=value). Returns 0; 1 if --help was given (usage printed on out);
 * -1 with a one-line message in err (naming the setting) for a bad setting.
 * Strings in cfg are owned: config_clear() frees them.
 */
int config_load(struct config *cfg, int argc, char **argv, FILE *out, char *err, size_t errlen);
void config_clear(struct config *cfg);

/* Every setting as {ENV_NAME: value} (null when unset) for the audit log;
 * secrets (OPERATOR_TOKEN) appear only as "set" or null, URLs with their
 * credentials redacted (util/url.h). New reference. */
json_t *config_public_json(const struct config *cfg);

/* A URL setting as it may be shown (logs, audit, status): url_redact() of s,
 * or of each URL of a "name=URL,..." list. Caller frees. */
char *config_redacted_url(bool list, const char *s);

/* Prints the settings table (--help). */
void config_usage(FILE *out);

#endif
