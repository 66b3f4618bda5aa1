/*
 * The "awaiting handover" start of a new build (HANDOVER_AWAIT=1), the
 * receiving side of docs/DURABILITY.md "Identity across upgrades":
 *
 *   GET  /health                  200 {"status": "awaiting_handover" | "handover_accepted"}
 *   GET  /attestation/quote       the attestation of fresh keys made for this wait
 *   POST /admin/handover/accept   (operator token) the package the running
 *                                 instance released (handlers_handover.c)
 *   anything else                 503 awaiting_handover
 *
 * The package is opened with the fresh X25519 key (its plaintext, the 64
 * private bytes, only in guarded memory), its statement verified against the
 * released Ed25519 key and checked to name this instance's attested X25519
 * key, its measurement and the next epoch; the key files (which must not
 * exist) and the epoch file are then written. Once DATA_DIR is free (the
 * previous instance stopped) handover_await() returns and perfaggd starts
 * normally on those files.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/envelope.h"
#include "core/handover.h"
#include "core/hex.h"
#include "core/signed.h"
#include "core/spki.h"
#include "enclave/epoch.h"
#include "enclave/keys.h"
#include "enclave/measure.h"
#include "enclave/secret.h"
#include "server/handover_pkg.h"
#include "server/ratelimit.h"
#include "server/server.h"
#include "util/file.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define PEM_MAX (256 * 1024)

struct await {
	struct server srv;		/* the parts the shared handlers read */
	uint8_t own[32];		/* this instance's measurement */
	char *pub_path;
	pthread_mutex_t mu;
	bool accepted;
	json_t *statement;		/* once accepted */
	uint64_t epoch;
};

static bool
exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 || errno != ENOENT;
}

/* Opens and checks a package; on success the key files and the epoch file
 * are written. Returns 0, or -1 with resp set. */
static int
accept_pkg(struct await *a, const json_t *body, struct http_response *resp)
{
	const json_t *stj = json_object_get(body, "statement"), *ep = json_object_get(body, "epochs");
	const json_t *meta, *last;
	struct envelope env = { 0 };
	struct handover_claim c;
	struct epoch_state *st = NULL;
	struct secret *pt = NULL;
	struct keys *k = NULL;
	const char *e = NULL, *v;
	char digest[65];
	int rc = -1, orc;

	if (!json_is_object(stj) || !json_is_object(ep) ||
	    envelope_from_json(&env, json_object_get(body, "envelope"), &e) != 0) {
		http_error(resp, 400, "invalid_request", "the body is the package perfagg handover got from the "
		    "running instance: {statement, epochs, envelope}");
		goto out;
	}
	meta = env.metadata;
	v = json_string_value(json_object_get(meta, "statement_sha256"));
	if (handover_pkg_metadata_digest(digest, stj, &e) != 0 || v == NULL || strcmp(v, digest) != 0 ||
	    json_string_value(json_object_get(meta, "purpose")) == NULL ||
	    strcmp(json_string_value(json_object_get(meta, "purpose")), HANDOVER_TYPE) != 0 ||
	    env.ciphertext_len != KEYS_PRIVATE_BYTES) {
		http_error(resp, 422, "handover_rejected", "the sealed keys are not bound to this statement");
		goto out;
	}
	pt = secret_new(KEYS_PRIVATE_BYTES);
	{
		uint8_t *p = secret_acquire(pt);
		orc = keys_open_envelope(a->srv.keys, p, &env);
		if (orc == 0)
			k = keys_import(p);
		secret_release(pt);
	}
	if (orc != 0 || k == NULL) {
		http_error(resp, 422, "handover_wrong_key", "the package is not sealed to this instance's attested key");
		goto out;
	}
	if (handover_statement_verify(stj, keys_ed25519_public(k), &c, &e) != 0) {
		http_error(resp, 422, "handover_rejected", "the statement does not verify: %s", e);
		goto out;
	}
	if (memcmp(c.to_x25519, keys_x25519_public(a->srv.keys), 32) != 0) {
		http_error(resp, 422, "handover_wrong_key", "the statement names another instance's key");
		goto out;
	}
	if (memcmp(c.to_measurement, a->own, 32) != 0) {
		http_error(resp, 422, "handover_wrong_measurement", "the statement names another measurement");
		goto out;
	}
	if ((st = epoch_from_json(ep, keys_ed25519_public(k), &e)) == NULL) {
		http_error(resp, 422, "handover_rejected", "the key-epoch chain does not verify: %s", e);
		goto out;
	}
	last = json_array_get(json_object_get(st->doc, "handovers"), json_array_size(json_object_get(st->doc,
	    "handovers")) - 1);
	if (st->epoch != c.to_epoch || last == NULL || !json_equal((json_t *)(uintptr_t)last, (json_t *)(uintptr_t)stj)) {
		http_error(resp, 422, "handover_rejected", "the key-epoch chain does not end with this statement");
		goto out;
	}
	if (keys_save(k, a->srv.cfg->private_key_path, a->pub_path, &e) != 0) {
		http_error(resp, 409, "key_files_exist", "the keys could not be written: %s", e);
		goto out;
	}
	if (epoch_save(st, a->srv.cfg->private_key_path, true, &e) != 0) {
		unlink(a->srv.cfg->private_key_path);
		unlink(a->pub_path);
		http_error(resp, 500, "handover_failed", "the key-epoch file could not be written: %s", e);
		goto out;
	}
	a->statement = json_deep_copy(stj);
	a->epoch = st->epoch;
	http_json(resp, 200, json_pack("{s:s, s:I, s:s, s:s}", "status", "accepted", "key_epoch", (json_int_t)st->epoch,
	    "signing_key_id", keys_id(k), "message", "keys installed; this instance starts with them as soon as "
	    "DATA_DIR is free (stop the previous instance)"));
	rc = 0;
out:
	if (pt != NULL)
		secret_free(pt);
	keys_free(k);
	epoch_state_free(st);
	envelope_clear(&env);
	return rc;
}

static void
await_dispatch(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct await *a = arg;
	int64_t retry;
	bool accepted;

	pthread_mutex_lock(&a->mu);
	accepted = a->accepted;
	pthread_mutex_unlock(&a->mu);
	if (strcmp(req->path, "/health") == 0 && strcmp(req->method, "GET") == 0) {
		http_json(resp, 200, json_pack("{s:s, s:s, s:s}", "status", accepted ? "handover_accepted" :
		    "awaiting_handover", "version", PERFAGG_VERSION, "attestation_type", a->srv.attest->attestation_type));
		return;
	}
	if (ratelimit_take(a->srv.ratelimit, req->addr, sizeof(req->addr), time_now_ms(), &retry) != 0) {
		resp->retry_after_s = retry;
		http_error(resp, 429, "rate_limited", "too many requests; retry in %lld s", (long long)retry);
		return;
	}
	if (strcmp(req->path, "/attestation/quote") == 0 && strcmp(req->method, "GET") == 0) {
		handle_quote(&a->srv, req, resp);
		return;
	}
	if (strcmp(req->path, "/admin/handover/accept") == 0 && strcmp(req->method, "POST") == 0) {
		json_t *body;
		if (server_operator_auth(&a->srv, req, "handover_accept", resp) != 0)
			return;
		body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
		pthread_mutex_lock(&a->mu);
		if (a->accepted)
			http_error(resp, 409, "handover_done", "a handover was already accepted (key epoch %llu): a "
			    "package is accepted once", (unsigned long long)a->epoch);
		else if (accept_pkg(a, body, resp) == 0) {
			a->accepted = true;
			log_event(LOG_WARN, "handover_accepted", "{s:I}", "key_epoch", (json_int_t)a->epoch);
		}
		pthread_mutex_unlock(&a->mu);
		json_decref(body);
		return;
	}
	http_error(resp, 503, accepted ? "handover_pending" : "awaiting_handover", accepted ?
	    "the keys were handed over; this instance starts once the previous one stopped" :
	    "this instance awaits its keys from the running instance (perfagg handover)");
}

/* The partial server: fresh keys, attestation, TLS. Returns 0 or -1 with err. */
static int
await_setup(struct await *a, const struct config *cfg, char **cert, struct secret **key, char *err, size_t errlen)
{
	struct server *srv = &a->srv;
	const char *e = NULL;
	json_t *doc;
	size_t len;
	uint8_t *raw;

	srv->cfg = cfg;
	srv->lock_fd = -1;
	srv->started_mono_ms = time_mono_ms();
	if ((srv->attest = attest_provider_find(cfg->attestation_provider)) == NULL ||
	    srv->attest->probe(cfg->attestation_root != NULL ? cfg->attestation_root : srv->attest->default_root, &e) != 0) {
		snprintf(err, errlen, "invalid ATTESTATION_PROVIDER '%.32s'", cfg->attestation_provider);
		return -1;
	}
	if (exists(cfg->private_key_path) || exists(a->pub_path)) {
		snprintf(err, errlen, "invalid HANDOVER_AWAIT: the key files (%s, %s) exist; an instance awaiting a "
		    "handover writes them, never over existing ones", cfg->private_key_path, a->pub_path);
		return -1;
	}
	if ((srv->keys = keys_generate()) == NULL) {
		snprintf(err, errlen, "cannot generate the enclave keys");
		return -1;
	}
	keys_set_epoch(srv->keys, 0);	/* no epoch: they only receive the handover, and sign no document */
	srv->attest_ctx.root = cfg->attestation_root != NULL ? cfg->attestation_root : srv->attest->default_root;
	srv->attest_ctx.sign = keys_sign;
	srv->attest_ctx.sign_arg = srv->keys;
	memcpy(srv->attest_ctx.signing_pub, keys_ed25519_public(srv->keys), 32);
	if (measure_file(srv->attest_ctx.measurement, NULL, &e) != 0) {
		snprintf(err, errlen, "cannot measure the executable: %s", e);
		return -1;
	}
	if (cfg->tls_cert_path != NULL) {
		*cert = (char *)file_read_all(cfg->tls_cert_path, PEM_MAX, &len, &e);
		if (*cert == NULL || spki_sha256_of_pem(srv->tls_spki_sha256, *cert, len) != 0) {
			snprintf(err, errlen, "invalid TLS_CERT_PATH '%s'", cfg->tls_cert_path);
			return -1;
		}
		if ((raw = file_read_all(cfg->tls_key_path, PEM_MAX, &len, &e)) == NULL) {
			snprintf(err, errlen, "invalid TLS_KEY_PATH '%s': %s", cfg->tls_key_path, e);
			return -1;
		}
		*key = secret_new(len + 1);
		memcpy(secret_acquire(*key), raw, len + 1);
		secret_release(*key);
		OPENSSL_cleanse(raw, len);
		free(raw);
		srv->tls = true;
	}
	if ((doc = server_attestation_document(srv, NULL, 0, &e)) == NULL) {
		snprintf(err, errlen, "attestation provider '%s' failed: %s", srv->attest->name, e);
		return -1;
	}
	json_object_set_new(doc, "awaiting_handover", json_true());
	srv->quote_cached = json_dumps(doc, JSON_COMPACT);
	srv->quote_cached_len = strlen(srv->quote_cached);
	json_decref(doc);
	if (server_own_measurement(srv, a->own) != 0) {
		snprintf(err, errlen, "cannot read this instance's measurement");
		return -1;
	}
	srv->ratelimit = ratelimit_new(cfg->rate_limit_max, cfg->rate_limit_window_ms);
	return 0;
}

int
handover_await(const struct config *cfg, const sigset_t *sigs, json_t **statement, char *err, size_t errlen)
{
	struct await a;
	struct http_options opt = { 0 };
	struct secret *key = NULL;
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	char *cert = NULL, mhex[65];
	const char *e = NULL;
	bool logged_wait = false;
	int rc = -1, sig;

	memset(&a, 0, sizeof(a));
	pthread_mutex_init(&a.mu, NULL);
	*statement = NULL;
	a.pub_path = cfg->public_key_path != NULL ? xstrdup(cfg->public_key_path) :
	    xasprintf("%s.pub", cfg->private_key_path);
	if (await_setup(&a, cfg, &cert, &key, err, errlen) != 0)
		goto out;
	if (file_private_dir(cfg->data_dir, &e) != 0) {
		snprintf(err, errlen, "invalid DATA_DIR '%s': %s", cfg->data_dir, e);
		goto out;
	}
	opt.host = cfg->host;
	opt.port = (unsigned)cfg->port;
	opt.threads = 1;
	opt.max_connections = (unsigned)cfg->max_connections;
	opt.tls_cert_pem = cert;
	opt.tls_key_pem = key != NULL ? (const char *)secret_acquire(key) : NULL;
	opt.dispatch = await_dispatch;
	opt.arg = &a;
	a.srv.http = http_server_start(&opt, &e);
	if (key != NULL)
		secret_release(key);
	if (a.srv.http == NULL) {
		snprintf(err, errlen, "cannot listen on %s:%lld: %s", cfg->host, (long long)cfg->port, e);
		goto out;
	}
	hex_encode(mhex, a.own, 32);
	log_event(LOG_INFO, "awaiting_handover", "{s:s, s:I, s:s, s:s}", "host", cfg->host, "port", (json_int_t)cfg->port,
	    "measurement", mhex, "attestation", a.srv.attest->name);
	for (;;) {
		bool accepted;
		sig = sigtimedwait(sigs, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM) {
			rc = 1;
			break;
		}
		pthread_mutex_lock(&a.mu);
		accepted = a.accepted;
		pthread_mutex_unlock(&a.mu);
		if (accepted) {
			int fd = server_lock_data_dir(cfg->data_dir, false, &e);
			if (fd >= 0) {
				close(fd);
				*statement = json_incref(a.statement);
				rc = 0;
				break;
			}
			if (!logged_wait)
				log_event(LOG_INFO, "handover_waiting_for_data_dir", "{s:s}", "why", e);
			logged_wait = true;
		}
	}
out:
	http_server_stop(a.srv.http);
	keys_free(a.srv.keys);
	ratelimit_free(a.srv.ratelimit);
	free(a.srv.quote_cached);
	json_decref(a.statement);
	if (key != NULL)
		secret_free(key);
	free(cert);
	free(a.pub_path);
	pthread_mutex_destroy(&a.mu);
	return rc;
}
