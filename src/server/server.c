#include "server/server.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/prim.h"
#include "core/spki.h"
#include "enclave/epoch.h"
#include "enclave/keys.h"
#include "enclave/measure.h"
#include "enclave/replay.h"
#include "enclave/secret.h"
#include "enclave/session.h"
#include "enclave/session_seal.h"
#include "enclave/vault.h"
#include "exchange/poller.h"
#include "out/audit.h"
#include "out/outbox.h"
#include "out/publisher.h"
#include "server/ratelimit.h"
#include "store/store.h"
#include "util/file.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define PEM_MAX (256 * 1024)

/* Drops what has expired from the state store: claims, and records such as
 * the sealed sessions that expired while the daemon was down (those in the
 * table are dropped by their cleanup). */
static void
store_sweep_logged(struct store *st)
{
	const char *e = NULL;
	long n = st->ops->sweep(st, time_now_ms(), &e);

	if (n < 0)
		log_event(LOG_ERROR, "store_sweep_failed", "{s:s}", "error", e);
	else if (n > 0)
		log_event(LOG_INFO, "store_swept", "{s:I}", "count", (json_int_t)n);
}

/* A session restored from the store is polled again (a restored session
 * the poller refuses is ended: it could never be collected). */
static void
repoll(void *arg, const uint8_t id[SESSION_ID_BYTES], const struct session_info *info)
{
	struct server *srv = arg;
	const char *e = NULL, *ce = NULL;
	uint8_t *ckpt = NULL;
	size_t len = 0;
	int rc;

	/* its checkpoint, if any, resumes it where it was: no new backfill */
	rc = session_seal_checkpoint_get(srv->seal, id, time_now_ms(), &ckpt, &len, &ce);
	if (rc < 0)
		log_event(LOG_WARN, "checkpoint_unreadable", "{s:s, s:s}", "sid", info->id_hash, "error", ce);
	rc = poller_add_resumed(srv->poller, id, info, ckpt, len, &e);
	if (ckpt != NULL) {
		OPENSSL_cleanse(ckpt, len);
		free(ckpt);
	}
	if (rc < 0) {
		log_event(LOG_WARN, "session_restore_refused", "{s:s, s:s}", "sid", info->id_hash, "error", e);
		session_revoke(srv->sessions, id, time_now_ms());
		return;
	}
	if (rc == 0 && len > 0)
		srv->restore_resumed++;
	else {
		srv->restore_backfilling++;
		if (rc == 1)
			log_event(LOG_WARN, "checkpoint_refused", "{s:s, s:s}", "sid", info->id_hash, "error", e);
	}
}

/* The poller's checkpoint keeper: sealed into the store. */
static int
keep_checkpoint(void *arg, const uint8_t id[SESSION_ID_BYTES], const uint8_t *buf, size_t len)
{
	struct server *srv = arg;
	const char *e = NULL;

	if (session_seal_checkpoint_put(srv->seal, id, buf, len, &e) != 0) {
		log_event(LOG_ERROR, "checkpoint_keep_failed", "{s:s}", "error", e);
		return -1;
	}
	return 0;
}

static void *
cleaner_main(void *arg)
{
	struct server *srv = arg;
	struct timespec until;
	int64_t interval = srv->cfg->cleanup_interval_ms;

	pthread_mutex_lock(&srv->stop_mu);
	while (!srv->stopping) {
		time_deadline(&until, interval);
		if (pthread_cond_timedwait(&srv->stop_cv, &srv->stop_mu, &until) == ETIMEDOUT && !srv->stopping) {
			size_t n;
			pthread_mutex_unlock(&srv->stop_mu);
			n = session_cleanup(srv->sessions, time_now_ms());
			if (n > 0) {
				log_event(LOG_INFO, "sessions_cleaned", "{s:I, s:s}", "count", (json_int_t)n,
				    "trigger", "interval");
				audit_event(srv->audit, "sessions_expired", AUDIT_INT("count", n),
				    AUDIT_NAME("trigger", "interval"));
			}
			store_sweep_logged(srv->store);
			pthread_mutex_lock(&srv->stop_mu);
		}
	}
	pthread_mutex_unlock(&srv->stop_mu);
	return NULL;
}

/* The poller's credential hook (poller.h): on the poller thread. */
static void
audit_credential(void *arg, const char *sid_hash, const char *exchange, const char *result)
{
	struct server *srv = arg;
	int64_t seq;

	/* The poller thread must not sleep in fsync: the entry goes to disk
	 * with the next one (started now), and nothing waits on it. */
	if (audit_event_nowait(srv->audit, &seq, "credential_used", AUDIT_HASH("sid", sid_hash),
	    AUDIT_NAME("exchange", exchange), AUDIT_NAME("result", result)) == 0)
		audit_when_durable(srv->audit, seq, NULL, NULL);
}

static int
await_audit(void *arg, int64_t token, void (*ready)(void *ctx, int rc), void *ctx)
{
	return audit_when_durable(arg, token, ready, ctx);
}

void
server_defer_audit(struct server *srv, struct http_response *resp, int64_t seq)
{
	http_defer(resp, await_audit, srv->audit, seq);
}

/* Opens the audit log and records the configuration. Returns 0 or -1 with err. */
static int
audit_start(struct server *srv, char *err, size_t errlen)
{
	char *state = xasprintf("%s/audit.state", srv->cfg->data_dir);
	struct audit_options ao = { .path = srv->cfg->audit_log_path,
		.checkpoint_every = (unsigned)srv->cfg->audit_checkpoint_every, .sign = keys_sign_log,
		.sign_arg = srv->keys, .key_id = keys_id(srv->keys), .state_path = state, .mac = keys_state_mac,
		.mac_arg = srv->keys, .key_epoch = keys_epoch(srv->keys) };
	const char *e = NULL;
	json_t *settings;

	srv->audit = audit_open(&ao, &e);
	free(state);
	if (srv->audit == NULL) {
		snprintf(err, errlen, "invalid AUDIT_LOG_PATH '%s': %s", srv->cfg->audit_log_path, e);
		return -1;
	}
	settings = config_public_json(srv->cfg);
	audit_event(srv->audit, "config", AUDIT_JSON("settings", settings), AUDIT_NAME("version", PERFAGG_VERSION),
	    AUDIT_NAME("key_id", keys_id(srv->keys)), AUDIT_NAME("attestation", srv->attest->name),
	    AUDIT_BOOL("hardware_backed", srv->attest->hardware_backed));
	json_decref(settings);
	return 0;
}

static bool
is_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

int
server_start(struct server *srv, const struct config *cfg, char *err, size_t errlen)
{
	struct http_options opt = { 0 };
	uint8_t *cert = NULL, *key = NULL;
	struct secret *key_secret = NULL;
	const char *e = NULL;
	json_t *doc;
	size_t len;
	int rc = -1;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = cfg;
	srv->lock_fd = -1;
	pthread_mutex_init(&srv->handover_mu, NULL);
	srv->started_mono_ms = time_mono_ms();
	pthread_mutex_init(&srv->stop_mu, NULL);
	pthread_cond_init(&srv->stop_cv, NULL);

	srv->attest = attest_provider_find(cfg->attestation_provider);
	if (srv->attest == NULL) {
		snprintf(err, errlen, "invalid ATTESTATION_PROVIDER '%.32s': expected dev or gramine",
		    cfg->attestation_provider);
		return -1;
	}
	if (srv->attest->probe(cfg->attestation_root != NULL ? cfg->attestation_root : srv->attest->default_root,
	    &e) != 0) {
		snprintf(err, errlen, "invalid ATTESTATION_PROVIDER '%s': not usable on this host: %s", srv->attest->name, e);
		return -1;
	}
	if (cfg->tls_cert_path == NULL && !is_loopback(cfg->host) && !cfg->allow_plain_http) {
		snprintf(err, errlen, "invalid ENCLAVE_HOST '%s': refusing plain HTTP on a non-loopback address; "
		    "set TLS_CERT_PATH and TLS_KEY_PATH, bind 127.0.0.1, or set ALLOW_PLAIN_HTTP=1", cfg->host);
		return -1;
	}
	if (cfg->private_key_path != NULL) {
		/* The private file alone first, so the message names the file
		 * that is wrong: a public file that does not match is a bad
		 * ENCLAVE_PUBLIC_KEY_PATH, not a bad private key. */
		srv->keys = keys_load(cfg->private_key_path, NULL, &e);
		if (srv->keys == NULL) {
			snprintf(err, errlen, "invalid ENCLAVE_PRIVATE_KEY_PATH '%s': %s", cfg->private_key_path, e);
			return -1;
		}
		if (cfg->public_key_path != NULL) {
			keys_free(srv->keys);
			srv->keys = keys_load(cfg->private_key_path, cfg->public_key_path, &e);
			if (srv->keys == NULL) {
				snprintf(err, errlen, "invalid ENCLAVE_PUBLIC_KEY_PATH '%s': %s", cfg->public_key_path, e);
				return -1;
			}
		}
		/* The key epoch and its chain of handovers (enclave/epoch.h). */
		if ((srv->epochs = epoch_load(cfg->private_key_path, keys_ed25519_public(srv->keys), &e)) == NULL) {
			snprintf(err, errlen, "invalid ENCLAVE_PRIVATE_KEY_PATH '%s': key-epoch file: %s",
			    cfg->private_key_path, e);
			goto fail;
		}
		keys_set_epoch(srv->keys, srv->epochs->epoch);
	} else if ((srv->keys = keys_generate()) == NULL) {
		snprintf(err, errlen, "cannot generate the enclave keys");
		return -1;
	}

	/* Before anything is written there: files left by an older version or
	 * copied in by hand may be readable by others. */
	if (file_private_dir(cfg->data_dir, &e) != 0) {
		snprintf(err, errlen, "invalid DATA_DIR '%s': %s", cfg->data_dir, e);
		goto fail;
	}
	if (server_claim_keys(srv, err, errlen) != 0)
		goto fail;
	srv->attest_ctx.root = cfg->attestation_root != NULL ? cfg->attestation_root : srv->attest->default_root;
	srv->attest_ctx.sign = keys_sign_log;	/* evidence still answers after a handover */
	srv->attest_ctx.sign_arg = srv->keys;
	memcpy(srv->attest_ctx.signing_pub, keys_ed25519_public(srv->keys), 32);
	if (audit_start(srv, err, errlen) != 0)
		goto fail;
	if (measure_file(srv->attest_ctx.measurement, NULL, &e) != 0) {
		snprintf(err, errlen, "cannot measure the executable: %s", e);
		goto fail;
	}

	if (cfg->tls_cert_path != NULL) {
		cert = file_read_all(cfg->tls_cert_path, PEM_MAX, &len, &e);
		if (cert == NULL || spki_sha256_of_pem(srv->tls_spki_sha256, (const char *)cert, len) != 0) {
			snprintf(err, errlen, "invalid TLS_CERT_PATH '%s': %s", cfg->tls_cert_path,
			    cert == NULL ? e : "not a PEM certificate");
			goto fail;
		}
		key = file_read_all(cfg->tls_key_path, PEM_MAX, &len, &e);
		if (key == NULL) {
			snprintf(err, errlen, "invalid TLS_KEY_PATH '%s': %s", cfg->tls_key_path, e);
			goto fail;
		}
		/* The TLS key goes to the HTTP library, which keeps its own copy;
		 * ours is moved to guarded memory and wiped after start. */
		key_secret = secret_new(len + 1);
		memcpy(secret_acquire(key_secret), key, len + 1);
		OPENSSL_cleanse(key, len);
		srv->tls = true;
	}

	srv->vault = vault_new();
	{
		const struct store_ops *so = store_find(cfg->store);
		char *path;
		if (so == NULL) {
			snprintf(err, errlen, "invalid STORE '%s': the back ends are: sqlite", cfg->store);
			goto fail;
		}
		/* DATA_DIR exists and is private: file_private_dir above */
		path = xasprintf("%s/state.sqlite3", cfg->data_dir);
		srv->store = so->open(path, &e);
		free(path);
		if (srv->store == NULL) {
			snprintf(err, errlen, "invalid DATA_DIR '%s': %s", cfg->data_dir, e);
			goto fail;
		}
	}
	/* Sessions are sealed under keys derived from the enclave's key files:
	 * with keys generated for this run alone, nothing sealed could be
	 * opened after it, so sessions are not kept. */
	if (cfg->private_key_path != NULL) {
		struct session_keeper kp;
		if ((srv->seal = session_seal_new(srv->store, srv->keys, &e)) == NULL) {
			snprintf(err, errlen, "cannot seal sessions: %s", e);
			goto fail;
		}
		kp = session_seal_keeper(srv->seal);
		srv->sessions = session_table_new(srv->vault, (size_t)cfg->max_sessions, &kp);
	} else {
		srv->sessions = session_table_new(srv->vault, (size_t)cfg->max_sessions, NULL);
		log_event(LOG_WARN, "sessions_not_kept", "{s:s}", "why", "ENCLAVE_PRIVATE_KEY_PATH is unset: the keys "
		    "are generated for this run, so sessions end with it");
	}
	srv->replay = replay_new(srv->store, cfg->envelope_window_s * 1000);
	srv->ratelimit = ratelimit_new(cfg->rate_limit_max, cfg->rate_limit_window_ms);
	{
		struct poller_config pc = { .interval_ms = cfg->api_interval_ms, .min_interval_ms = 30000,
			.max_interval_ms = 300000, .max_retries = (unsigned)cfg->max_retries, .timeout_ms = 30000,
			.max_transfers = (unsigned)cfg->poll_max_transfers, .ca_bundle = cfg->exchange_ca_bundle,
			.require_read_only = cfg->require_read_only, .ip_budgets = cfg->poll_ip_budgets,
			.key_budgets = cfg->poll_key_budgets,
			.on_credential = audit_credential, .on_credential_arg = srv,
			.checkpoint = srv->seal != NULL ? keep_checkpoint : NULL, .checkpoint_arg = srv,
			.checkpoint_every_ms = cfg->checkpoint_interval_ms,
			.checkpoint_backfill_ms = cfg->checkpoint_backfill_ms };
		if (pc.min_interval_ms > pc.interval_ms)
			pc.min_interval_ms = pc.interval_ms;
		if (cfg->exchange_base_urls != NULL && poller_parse_urls(&pc, cfg->exchange_base_urls, &e) != 0) {
			snprintf(err, errlen, "invalid EXCHANGE_BASE_URLS: %s", e);
			goto fail;
		}
		srv->poller = poller_start(&pc, srv->sessions, &e);
		if (srv->poller == NULL) {
			snprintf(err, errlen, "cannot start the exchange poller: %s", e);
			goto fail;
		}
	}
	if (srv->seal != NULL) {
		struct session_seal_counts sc;
		if (session_seal_restore(srv->seal, srv->sessions, srv->vault, time_now_ms(), repoll, srv, &sc, &e) != 0) {
			snprintf(err, errlen, "cannot restore sessions: %s", e);
			goto fail;
		}
		store_sweep_logged(srv->store);
		log_event(LOG_INFO, "sessions_restored", "{s:I, s:I, s:I, s:I, s:I, s:I}", "restored",
		    (json_int_t)sc.restored, "resumed", (json_int_t)srv->restore_resumed, "backfilling",
		    (json_int_t)srv->restore_backfilling, "unreadable", (json_int_t)sc.unreadable, "refused",
		    (json_int_t)sc.refused, "orphan_checkpoints", (json_int_t)sc.orphans);
		audit_event(srv->audit, "sessions_restored", AUDIT_INT("restored", sc.restored),
		    AUDIT_INT("resumed", srv->restore_resumed), AUDIT_INT("backfilling", srv->restore_backfilling),
		    AUDIT_INT("unreadable", sc.unreadable), AUDIT_INT("refused", sc.refused));
	}

	if (cfg->backend_url != NULL) {
		struct outbox_config oc = { .data_dir = cfg->data_dir, .backend_url = cfg->backend_url };
		/* progress is kept only where sessions are (key files) */
		struct publisher_config pbc = { .interval_ms = cfg->ingest_interval_ms,
			.connector_version = cfg->connector_version, .store = srv->seal != NULL ? srv->store : NULL };
		if ((srv->outbox = outbox_open(&oc, &e)) == NULL) {
			snprintf(err, errlen, "invalid DATA_DIR '%s': %s", cfg->data_dir, e);
			goto fail;
		}
		if ((srv->publisher = publisher_start(&pbc, srv->poller, srv->sessions, srv->keys, srv->outbox,
		    &e)) == NULL) {
			snprintf(err, errlen, "cannot start ingest: %s", e);
			goto fail;
		}
	}

	doc = server_attestation_document(srv, NULL, 0, &e);
	if (doc == NULL) {
		snprintf(err, errlen, "attestation provider '%s' failed: %s", srv->attest->name, e);
		goto fail;
	}
	srv->quote_cached = json_dumps(doc, JSON_COMPACT);
	srv->quote_cached_len = strlen(srv->quote_cached);
	json_decref(doc);

	opt.host = cfg->host;
	opt.port = (unsigned)cfg->port;
	opt.threads = (unsigned)cfg->http_threads;
	opt.max_connections = (unsigned)cfg->max_connections;
	opt.tls_cert_pem = (const char *)cert;
	opt.tls_key_pem = key_secret != NULL ? (const char *)secret_acquire(key_secret) : NULL;
	opt.dispatch = server_dispatch;
	opt.arg = srv;
	srv->http = http_server_start(&opt, &e);
	if (key_secret != NULL)
		secret_release(key_secret);
	if (srv->http == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%lld: %s", cfg->host, (long long)cfg->port, e);
		goto fail;
	}
	if (pthread_create(&srv->cleaner, NULL, cleaner_main, srv) != 0) {
		snprintf(err, errlen, "cannot start the session cleaner");
		goto fail;
	}
	pthread_setname_np(srv->cleaner, "cleaner");	/* top, perf and gdb show who is busy */
	srv->cleaner_started = true;
	log_event(LOG_INFO, "listening", "{s:s, s:I, s:b, s:s, s:b, s:s}", "host", cfg->host,
	    "port", (json_int_t)cfg->port, "tls", srv->tls, "attestation", srv->attest->name,
	    "hardware_backed", srv->attest->hardware_backed, "signing_key_id", keys_id(srv->keys));
	rc = 0;
fail:
	if (key_secret != NULL) {
		secret_release(key_secret);
		secret_free(key_secret);
	}
	free(key);
	free(cert);
	if (rc != 0)
		server_stop(srv);
	return rc;
}

void
server_stop(struct server *srv)
{
	if (srv->cleaner_started) {
		pthread_mutex_lock(&srv->stop_mu);
		srv->stopping = true;
		pthread_cond_signal(&srv->stop_cv);
		pthread_mutex_unlock(&srv->stop_mu);
		pthread_join(srv->cleaner, NULL);
		srv->cleaner_started = false;
	}
	http_server_stop(srv->http);
	srv->http = NULL;
	publisher_stop(srv->publisher);
	srv->publisher = NULL;
	outbox_free(srv->outbox);
	srv->outbox = NULL;
	poller_stop(srv->poller);
	srv->poller = NULL;
	audit_close(srv->audit);	/* its last checkpoint is signed: before the keys go */
	srv->audit = NULL;
	session_table_free(srv->sessions);
	vault_free(srv->vault);
	replay_free(srv->replay);
	session_seal_free(srv->seal);
	srv->seal = NULL;
	if (srv->store != NULL)
		srv->store->ops->close(srv->store);
	srv->store = NULL;
	ratelimit_free(srv->ratelimit);
	keys_free(srv->keys);
	free(srv->quote_cached);
	server_release_keys(srv);
	srv->sessions = NULL;
	srv->vault = NULL;
	srv->replay = NULL;
	srv->ratelimit = NULL;
	srv->keys = NULL;
	srv->quote_cached = NULL;
	pthread_mutex_destroy(&srv->stop_mu);
	pthread_cond_destroy(&srv->stop_cv);
}
