#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "exchange/poller.h"
#include "util/textbuf.h"
#include "util/url.h"
#include "util/xalloc.h"

/* K_URL and K_URLS ("name=URL,...") are strings shown with their secrets
 * redacted (util/url.h). */
enum kind { K_STR, K_INT, K_BOOL, K_LEVEL, K_URL, K_URLS };

struct item {
	const char *env;
	const char *flag;
	enum kind kind;
	const char *def;	/* NULL: unset */
	int64_t min, max;	/* K_INT */
	size_t off;
	const char *help;
};

#define OFF(f) offsetof(struct config, f)
#define DAY 86400

static const struct item items[] = {
	{ "ENCLAVE_HOST", "host", K_STR, "0.0.0.0", 0, 0, OFF(host), "address to listen on" },
	{ "ENCLAVE_PORT", "port", K_INT, "3000", 1, 65535, OFF(port), "TCP port" },
	{ "ENCLAVE_PRIVATE_KEY_PATH", "private-key-path", K_STR, NULL, 0, 0, OFF(private_key_path),
	  "PEM with the X25519 and Ed25519 private keys (unset: generate, memory only)" },
	{ "ENCLAVE_PUBLIC_KEY_PATH", "public-key-path", K_STR, NULL, 0, 0, OFF(public_key_path),
	  "PEM with the matching public keys (checked against the private keys)" },
	{ "DEFAULT_SESSION_TTL", "default-session-ttl", K_INT, "86400", 1, 366 * DAY, OFF(default_session_ttl),
	  "session lifetime in seconds when the client gives none" },
	{ "MAX_SESSION_TTL", "max-session-ttl", K_INT, "604800", 1, 366 * DAY, OFF(max_session_ttl),
	  "longest session lifetime a client may ask for, seconds" },
	{ "MIN_SESSION_TTL", "min-session-ttl", K_INT, "300", 1, 366 * DAY, OFF(min_session_ttl),
	  "shortest session lifetime a client may ask for, seconds" },
	{ "SESSION_CLEANUP_INTERVAL", "session-cleanup-interval", K_INT, "3600000", 100, 7 * DAY * 1000LL,
	  OFF(cleanup_interval_ms), "period of the expired-session sweep, milliseconds" },
	{ "CHECKPOINT_INTERVAL", "checkpoint-interval", K_INT, "300000", 1000, DAY * 1000LL, OFF(checkpoint_interval_ms),
	  "longest time between two checkpoints of a quiet session, milliseconds (a cycle that applies fills "
	  "checkpoints at once)" },
	{ "CHECKPOINT_BACKFILL_INTERVAL", "checkpoint-backfill-interval", K_INT, "10000", 100, DAY * 1000LL,
	  OFF(checkpoint_backfill_ms), "during a backfill whose walk is oldest first (Binance, Kraken Futures), "
	  "time between two checkpoints, milliseconds (a kill resumes the backfill from the last)" },
	{ "RATE_LIMIT_MAX", "rate-limit-max", K_INT, "100", 1, 1000000000, OFF(rate_limit_max),
	  "requests allowed per client address per window (GET /health is exempt)" },
	{ "RATE_LIMIT_WINDOW", "rate-limit-window", K_INT, "900000", 1000, 7 * DAY * 1000LL,
	  OFF(rate_limit_window_ms), "rate-limit window, milliseconds" },
	{ "LOG_LEVEL", "log-level", K_LEVEL, "info", 0, 0, OFF(log_level), "debug, info, warn or error" },
	{ "TLS_CERT_PATH", "tls-cert-path", K_STR, NULL, 0, 0, OFF(tls_cert_path),
	  "PEM certificate chain for HTTPS (with TLS_KEY_PATH)" },
	{ "TLS_KEY_PATH", "tls-key-path", K_STR, NULL, 0, 0, OFF(tls_key_path), "PEM private key for HTTPS" },
	{ "ALLOW_PLAIN_HTTP", "allow-plain-http", K_BOOL, "0", 0, 0, OFF(allow_plain_http),
	  "serve plain HTTP on a non-loopback address (1/0)" },
	{ "ATTESTATION_PROVIDER", "attestation-provider", K_STR, "dev", 0, 0, OFF(attestation_provider),
	  "attestation provider: dev (NOT hardware-backed) or gramine (SGX DCAP)" },
	{ "ATTESTATION_ROOT", "attestation-root", K_STR, NULL, 0, 0, OFF(attestation_root),
	  "device root of the provider (default: /dev/attestation for gramine)" },
	{ "HTTP_THREADS", "http-threads", K_INT, "2", 1, 256, OFF(http_threads), "HTTP worker threads" },
	{ "SECRET_LINGER_MS", "secret-linger-ms", K_INT, "50", 0, 1000, OFF(secret_linger_ms),
	  "keep guarded secret pages open this long after their last use (0: close at once)" },
	{ "MAX_SESSIONS", "max-sessions", K_INT, "100000", 1, 10000000, OFF(max_sessions),
	  "most sessions held at once" },
	{ "MAX_CONNECTIONS", "max-connections", K_INT, "1024", 1, 100000, OFF(max_connections),
	  "most concurrent HTTP connections" },
	{ "API_INTERVAL", "api-interval", K_INT, "60000", 1000, 3600000, OFF(api_interval_ms),
	  "first interval between polls of a session, ms (then adaptive within [30 s, 5 min])" },
	{ "MAX_RETRIES", "max-retries", K_INT, "3", 0, 100, OFF(max_retries),
	  "failures of one poll step before it shows as an error (it is retried, more slowly)" },
	{ "EXCHANGE_BASE_URLS", "exchange-base-urls", K_URLS, NULL, 0, 0, OFF(exchange_base_urls),
	  "overrides: binance=URL,binance:futures=URL,coinbase=URL,kraken=URL,krakenfutures=URL" },
	{ "EXCHANGE_CA_BUNDLE", "exchange-ca-bundle", K_STR, NULL, 0, 0, OFF(exchange_ca_bundle),
	  "CA bundle for exchange TLS (verification is always on)" },
	{ "PERFAGG_REQUIRE_READ_ONLY", "require-read-only", K_BOOL, "0", 0, 0, OFF(require_read_only),
	  "refuse API keys that can trade or withdraw (1/0)" },
	{ "POLL_IP_BUDGETS", "poll-ip-budgets", K_BOOL, "1", 0, 0, OFF(poll_ip_budgets),
	  "honour per-IP exchange limits (Binance weights); 0 only against a simulator" },
	{ "POLL_KEY_BUDGETS", "poll-key-budgets", K_BOOL, "1", 0, 0, OFF(poll_key_budgets),
	  "honour per-key exchange limits (Kraken's counter, Coinbase 30/s); 0 only against a simulator" },
	{ "POLL_MAX_TRANSFERS", "poll-max-transfers", K_INT, "512", 1, 65536, OFF(poll_max_transfers),
	  "exchange requests in flight at once" },
	{ "AUDIT_LOG_PATH", "audit-log-path", K_STR, "perfagg-data/audit.jsonl", 0, 0, OFF(audit_log_path),
	  "append-only, hash-chained audit log (its directory is created if missing)" },
	{ "AUDIT_CHECKPOINT_EVERY", "audit-checkpoint-every", K_INT, "100", 1, 1000000, OFF(audit_checkpoint_every),
	  "entries between signed audit checkpoints (one is also written at shutdown)" },
	{ "OPERATOR_TOKEN", "operator-token", K_STR, NULL, 0, 0, OFF(operator_token),
	  "secret for the administrative routes, as Authorization: Bearer (>= 16 characters; unset: refused)" },
	{ "AGGREGATOR_BACKEND_URL", "aggregator-backend-url", K_URL, NULL, 0, 0, OFF(backend_url),
	  "backend base URL: signed hourly aggregates are POSTed to URL/api/ingest (unset: ingest off)" },
	{ "DATA_DIR", "data-dir", K_STR, "./perfagg-data", 0, 0, OFF(data_dir),
	  "directory of the durable state: state.sqlite3 (sessions, replay guard), the ingest outbox "
	  "(outbox.sqlite3), audit.state; made 0700, its files 0600" },
	{ "STORE", "store", K_STR, "sqlite", 0, 0, OFF(store),
	  "back end of the durable state: sqlite (DATA_DIR/state.sqlite3)" },
	{ "ENVELOPE_WINDOW", "envelope-window", K_INT, "300", 30, 3600, OFF(envelope_window_s),
	  "seconds a credential envelope's client time (metadata.ts) may differ from the service's clock" },
	{ "HANDOVER_AWAIT", "await-handover", K_BOOL, "0", 0, 0, OFF(handover_await),
	  "start as a new build awaiting the keys from the running instance (perfagg handover); the key "
	  "paths must not exist yet" },
	{ "INGEST_INTERVAL", "ingest-interval", K_INT, "3600000", 1000, 7 * DAY * 1000LL, OFF(ingest_interval_ms),
	  "ingest period, ms (3600000: each UTC hour); a backfill is sent once it completes" },
	{ "CONNECTOR_VERSION", "connector-version", K_STR, PERFAGG_VERSION, 0, 0, OFF(connector_version),
	  "connector_version reported in ingest payloads" },
};

/* Settings whose value is a secret: never written anywhere. */
static const char *const secret_settings[] = { "OPERATOR_TOKEN" };

#define OPERATOR_TOKEN_MIN 16

#define NITEMS (sizeof(items) / sizeof(items[0]))

static int
set_item(struct config *cfg, const struct item *it, const char *val, const char *src, char *err, size_t errlen)
{
	char *base = (char *)cfg, *end;
	const char *digits;
	long long v;

	switch (it->kind) {
	case K_STR:
	case K_URL:
	case K_URLS:
		if (*val == '\0' && it->def == NULL) {	/* empty means unset for optional paths */
			free(*(char **)(base + it->off));
			*(char **)(base + it->off) = NULL;
			return 0;
		}
		if (*val == '\0') {
			snprintf(err, errlen, "invalid %s: must not be empty", src);
			return -1;
		}
		free(*(char **)(base + it->off));
		*(char **)(base + it->off) = xstrdup(val);
		return 0;
	case K_INT:
		/* strtoll alone would take " 80" and "+80": only digits, with an
		 * optional minus sign, are an integer here. */
		digits = val + (*val == '-');
		errno = 0;
		v = strtoll(val, &end, 10);
		if (!isdigit((unsigned char)*digits) || errno != 0 || *end != '\0' || v < it->min || v > it->max) {
			snprintf(err, errlen, "invalid %s '%.64s': expected an integer in [%lld, %lld]", src, val,
			    (long long)it->min, (long long)it->max);
			return -1;
		}
		*(int64_t *)(base + it->off) = v;
		return 0;
	case K_BOOL:
		if (strcmp(val, "1") == 0 || strcmp(val, "true") == 0 || strcmp(val, "yes") == 0)
			*(bool *)(base + it->off) = true;
		else if (strcmp(val, "0") == 0 || strcmp(val, "false") == 0 || strcmp(val, "no") == 0)
			*(bool *)(base + it->off) = false;
		else {
			snprintf(err, errlen, "invalid %s '%.64s': expected 1 or 0", src, val);
			return -1;
		}
		return 0;
	case K_LEVEL:
		if (log_level_parse(val, (enum log_level *)(base + it->off)) != 0) {
			snprintf(err, errlen, "invalid %s '%.64s': expected debug, info, warn or error", src, val);
			return -1;
		}
		return 0;
	}
	return -1;
}

void
config_usage(FILE *out)
{
	fprintf(out, "usage: perfaggd [--flag value ...]\n"
	    "       perfaggd keygen PRIVATE.pem PUBLIC.pem   (write a new key pair set and exit)\n\n"
	    "Every setting comes from the environment variable named, overridden by its flag.\n\n");
	for (size_t i = 0; i < NITEMS; i++) {
		const struct item *it = &items[i];
		fprintf(out, "  --%-26s %-26s %s (default: %s)\n", it->flag, it->env, it->help,
		    it->def != NULL ? it->def : "unset");
	}
	fprintf(out, "  --%-26s %-26s %s\n", "help", "", "print this help and exit");
}

static const struct item *
find_flag(const char *name, size_t len)
{
	for (size_t i = 0; i < NITEMS; i++)
		if (strlen(items[i].flag) == len && strncmp(items[i].flag, name, len) == 0)
			return &items[i];
	return NULL;
}

static int
check(struct config *cfg, char *err, size_t errlen)
{
	if (cfg->min_session_ttl > cfg->max_session_ttl) {
		snprintf(err, errlen, "invalid MIN_SESSION_TTL: greater than MAX_SESSION_TTL");
		return -1;
	}
	if (cfg->default_session_ttl < cfg->min_session_ttl || cfg->default_session_ttl > cfg->max_session_ttl) {
		snprintf(err, errlen, "invalid DEFAULT_SESSION_TTL: must lie in [MIN_SESSION_TTL, MAX_SESSION_TTL]");
		return -1;
	}
	if ((cfg->tls_cert_path == NULL) != (cfg->tls_key_path == NULL)) {
		snprintf(err, errlen, "invalid %s: TLS_CERT_PATH and TLS_KEY_PATH go together",
		    cfg->tls_cert_path == NULL ? "TLS_CERT_PATH" : "TLS_KEY_PATH");
		return -1;
	}
	if (cfg->exchange_base_urls != NULL) {
		struct poller_config pc;
		const char *e = NULL;
		if (poller_parse_urls(&pc, cfg->exchange_base_urls, &e) != 0) {
			snprintf(err, errlen, "invalid EXCHANGE_BASE_URLS: %s", e);
			return -1;
		}
	}
	if (cfg->operator_token != NULL && strlen(cfg->operator_token) < OPERATOR_TOKEN_MIN) {
		snprintf(err, errlen, "invalid OPERATOR_TOKEN: shorter than %d characters", OPERATOR_TOKEN_MIN);
		return -1;
	}
	if (cfg->handover_await && cfg->private_key_path == NULL) {
		snprintf(err, errlen, "invalid HANDOVER_AWAIT: needs ENCLAVE_PRIVATE_KEY_PATH (where the handed-over "
		    "keys are written)");
		return -1;
	}
	if (cfg->public_key_path != NULL && cfg->private_key_path == NULL) {
		snprintf(err, errlen, "invalid ENCLAVE_PUBLIC_KEY_PATH: given without ENCLAVE_PRIVATE_KEY_PATH");
		return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, int argc, char **argv, FILE *out, char *err, size_t errlen)
{
	char src[96];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NITEMS; i++)
		if (items[i].def != NULL && set_item(cfg, &items[i], items[i].def, items[i].env, err, errlen) != 0)
			return -1;
	for (size_t i = 0; i < NITEMS; i++) {
		const char *v = getenv(items[i].env);
		if (v != NULL && set_item(cfg, &items[i], v, items[i].env, err, errlen) != 0)
			return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val;
		const struct item *it;
		size_t nlen;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			config_usage(out);
			return 1;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%.64s' (see --help)", a);
			return -1;
		}
		a += 2;
		eq = strchr(a, '=');
		nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
		it = find_flag(a, nlen);
		if (it == NULL) {
			snprintf(err, errlen, "unknown flag '--%.*s' (see --help)", (int)(nlen > 64 ? 64 : nlen), a);
			return -1;
		}
		if (eq != NULL)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			snprintf(err, errlen, "flag --%s needs a value", it->flag);
			return -1;
		}
		snprintf(src, sizeof(src), "--%s", it->flag);
		if (set_item(cfg, it, val, src, err, errlen) != 0)
			return -1;
	}
	return check(cfg, err, errlen);
}

char *
config_redacted_url(bool list, const char *s)
{
	struct textbuf t;
	const char *item, *comma, *eq;
	char *r;

	if (!list)
		return url_redact(s, strlen(s));
	/* "name=URL,name=URL": the split of poller_parse_urls, each URL redacted. */
	textbuf_init(&t);
	for (item = s;; item = comma + 1) {
		comma = strchr(item, ',');
		size_t n = comma != NULL ? (size_t)(comma - item) : strlen(item);
		eq = memchr(item, '=', n);
		size_t name = eq != NULL ? (size_t)(eq - item) + 1 : 0;
		r = url_redact(item + name, n - name);
		textbuf_printf(&t, "%s%.*s%s", item == s ? "" : ",", (int)name, item, r);
		free(r);
		if (comma == NULL)
			break;
	}
	return textbuf_take(&t);
}

json_t *
config_public_json(const struct config *cfg)
{
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	const char *base = (const char *)cfg;
	json_t *o = json_object();

	for (size_t i = 0; i < NITEMS; i++) {
		const struct item *it = &items[i];
		const void *f = base + it->off;
		json_t *v = NULL;
		bool secret = false;

		for (size_t k = 0; k < sizeof(secret_settings) / sizeof(secret_settings[0]); k++)
			secret |= strcmp(it->env, secret_settings[k]) == 0;
		switch (it->kind) {
		case K_STR:
			if (*(char *const *)f != NULL)
				v = json_string(secret ? "set" : *(char *const *)f);
			break;
		case K_URL:
		case K_URLS:
			if (*(char *const *)f != NULL) {
				char *r = config_redacted_url(it->kind == K_URLS, *(char *const *)f);
				v = json_string(r);
				free(r);
			}
			break;
		case K_INT:
			v = json_integer(*(const int64_t *)f);
			break;
		case K_BOOL:
			v = json_boolean(*(const bool *)f);
			break;
		case K_LEVEL:
			v = json_string(levels[*(const enum log_level *)f]);
			break;
		}
		json_object_set_new(o, it->env, v != NULL ? v : json_null());
	}
	return o;
}

void
config_clear(struct config *cfg)
{
	for (size_t i = 0; i < NITEMS; i++)
		if (items[i].kind == K_STR || items[i].kind == K_URL || items[i].kind == K_URLS) {
			char **p = (char **)((char *)cfg + items[i].off);
			bool wipe = items[i].kind != K_STR;	/* a URL may hold credentials */
			for (size_t k = 0; k < sizeof(secret_settings) / sizeof(secret_settings[0]); k++)
				wipe |= strcmp(items[i].env, secret_settings[k]) == 0;
			if (*p != NULL && wipe)
				OPENSSL_cleanse(*p, strlen(*p));
			free(*p);
			*p = NULL;
		}
}
