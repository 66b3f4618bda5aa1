/*
 * Key epochs and the handover, the running instance's side
 * (docs/DURABILITY.md "Identity across upgrades", docs/PROTOCOL.md section 9):
 *
 *   POST /admin/handover          (operator token) releases the keys to a new
 *                                 build whose attestation and approved
 *                                 measurement the body carries
 *   POST /admin/handover/accept   409 here: only an awaiting instance accepts
 *   GET  /enclave/handovers       the key epoch and the chain of handovers
 *
 * The release package is {statement, epochs, envelope}: the signed
 * statement (core/handover.h), the epoch file the receiver will hold, and the
 * 64 private bytes (enclave/keys.h) in a credential-format envelope
 * (core/envelope.h) to the new instance's attested X25519 key, with
 * metadata {"purpose": "perfagg/handover/v1", "statement_sha256": hex} as
 * AAD. The plaintext exists only in guarded memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/attest_verify.h"
#include "core/b64.h"
#include "core/envelope.h"
#include "core/handover.h"
#include "core/hex.h"
#include "core/jcs.h"
#include "core/prim.h"
#include "core/signed.h"
#include "enclave/epoch.h"
#include "enclave/keys.h"
#include "enclave/measure.h"
#include "enclave/secret.h"
#include "out/audit.h"
#include "server/handover_pkg.h"
#include "server/server.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

int
server_lock_data_dir(const char *data_dir, bool wait, const char **errstr)
{
	char *path = xasprintf("%s/perfaggd.lock", data_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	free(path);
	if (fd < 0) {
		*errstr = "cannot open DATA_DIR/perfaggd.lock";
		return -1;
	}
	if (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
		*errstr = errno == EWOULDBLOCK ? "in use by another perfaggd (DATA_DIR/perfaggd.lock is locked)" :
		    "cannot lock DATA_DIR/perfaggd.lock";
		close(fd);
		return -1;
	}
	return fd;
}

int
server_claim_keys(struct server *srv, char *err, size_t errlen)
{
	uint8_t m[ATTEST_MEASUREMENT_BYTES];
	const char *e = NULL;
	char want[65];

	if ((srv->lock_fd = server_lock_data_dir(srv->cfg->data_dir, false, &e)) < 0) {
		snprintf(err, errlen, "invalid DATA_DIR '%s': %s", srv->cfg->data_dir, e);
		return -1;
	}
	/* With the dev provider the measurement is the executable's, known
	 * here. (SGX: the key files sit on a mount sealed to MRENCLAVE, which
	 * a new measurement cannot read.) */
	if (srv->epochs == NULL || !srv->epochs->have_measurement || srv->attest->hardware_backed)
		return 0;
	if (measure_file(m, NULL, &e) != 0) {
		snprintf(err, errlen, "cannot measure the executable: %s", e);
		return -1;
	}
	if (memcmp(m, srv->epochs->measurement, sizeof(m)) != 0) {
		hex_encode(want, srv->epochs->measurement, 32);
		snprintf(err, errlen, "invalid ENCLAVE_PRIVATE_KEY_PATH '%s': these keys are held at key epoch %llu by "
		    "measurement %s, not by this executable; a new build takes them over only through a handover "
		    "(HANDOVER_AWAIT=1 and perfagg handover)", srv->cfg->private_key_path,
		    (unsigned long long)srv->epochs->epoch, want);
		return -1;
	}
	return 0;
}

void
server_release_keys(struct server *srv)
{
	epoch_state_free(srv->epochs);
	srv->epochs = NULL;
	json_decref(srv->handover_package);
	srv->handover_package = NULL;
	if (srv->lock_fd >= 0)
		close(srv->lock_fd);	/* DATA_DIR is free: a successor may start */
	srv->lock_fd = -1;
	pthread_mutex_destroy(&srv->handover_mu);
}

int
server_own_measurement(struct server *srv, uint8_t out[32])
{
	json_t *doc = json_loadb(srv->quote_cached, srv->quote_cached_len, 0, NULL);
	const json_t *m;
	int rc = -1;

	if (doc == NULL)
		return -1;
	m = json_object_get(doc, "mrenclave");
	if (m == NULL)
		m = json_object_get(doc, "measurement");
	if (json_is_string(m) && hex_decode_exact(out, 32, json_string_value(m), json_string_length(m)) == 0)
		rc = 0;
	json_decref(doc);
	return rc;
}

int
handover_pkg_metadata_digest(char out[65], const json_t *statement, const char **errstr)
{
	uint8_t h[PRIM_SHA256_BYTES];
	size_t len;
	char *c = jcs_canonicalize(statement, &len, errstr);

	if (c == NULL)
		return -1;
	prim_sha256(h, c, len);
	free(c);
	hex_encode(out, h, sizeof(h));
	return 0;
}

/* The package for claims (already verified) under srv's keys; NULL with resp set. */
static json_t *
release(struct server *srv, const struct attest_claims *cl, const uint8_t own[32], struct epoch_state **next,
    struct http_response *resp)
{
	struct handover_claim c = { 0 };
	struct envelope env = { 0 };
	struct secret *pt = NULL;
	json_t *st = NULL, *meta = NULL, *pkg = NULL;
	const char *e = NULL;
	char ts[TIME_ISO_LEN], digest[65];
	int rc;

	c.from_epoch = keys_epoch(srv->keys);
	c.to_epoch = c.from_epoch + 1;
	memcpy(c.from_measurement, own, 32);
	memcpy(c.to_measurement, cl->measurement, 32);
	memcpy(c.to_x25519, cl->enclave_pub, 32);
	snprintf(c.to_attestation_type, sizeof(c.to_attestation_type), "%s", cl->attestation_type);
	time_format_iso_ms(ts, time_now_ms());
	snprintf(c.released_at, sizeof(c.released_at), "%s", ts);
	if ((st = handover_statement_new(&c)) == NULL ||
	    signed_sign(st, keys_sign, srv->keys, keys_id(srv->keys), c.from_epoch, &e) != 0 ||
	    handover_pkg_metadata_digest(digest, st, &e) != 0) {
		http_error(resp, 500, "signing_failed", "the handover statement could not be signed");
		goto out;
	}
	meta = json_pack("{s:s, s:s}", "purpose", HANDOVER_TYPE, "statement_sha256", digest);
	pt = secret_new(KEYS_PRIVATE_BYTES);
	{
		uint8_t *p = secret_acquire(pt);
		rc = keys_export(srv->keys, p);
		if (rc == 0)
			rc = envelope_seal(&env, cl->enclave_pub, meta, p, KEYS_PRIVATE_BYTES, &e);
		secret_release(pt);
	}
	if (rc != 0) {
		http_error(resp, 500, "handover_failed", "the keys could not be sealed to the new instance");
		goto out;
	}
	*next = epoch_advance(srv->epochs, st, cl->measurement);
	pkg = json_pack("{s:O, s:O, s:o}", "statement", st, "epochs", (*next)->doc, "envelope", envelope_to_json(&env));
out:
	secret_free(pt);
	envelope_clear(&env);
	json_decref(meta);
	json_decref(st);
	return pkg;
}

void
handle_handover_release(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	struct attest_policy pol = { 0 };
	struct attest_claims cl;
	struct epoch_state *next = NULL;
	json_t *body = NULL, *att, *pkg = NULL;
	uint8_t approved[32], own[32], nonce[ATTEST_NONCE_MAX];
	size_t nonce_len = 0;
	const char *e = NULL, *ap, *nh;
	char to_x[B64_ENCODED_LEN(32) + 1];

	if (server_operator_auth(srv, req, "handover", resp) != 0)
		return;
	if (srv->epochs == NULL) {
		http_error(resp, 409, "handover_unavailable", "this instance's keys are generated for this run "
		    "(no ENCLAVE_PRIVATE_KEY_PATH): there is nothing to hand over");
		return;
	}
	body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
	att = json_object_get(body, "attestation");
	ap = json_string_value(json_object_get(body, "approve_measurement"));
	nh = json_string_value(json_object_get(body, "nonce"));
	if (!json_is_object(att) || ap == NULL || hex_decode_exact(approved, 32, ap, strlen(ap)) != 0 || nh == NULL ||
	    hex_decode(nonce, sizeof(nonce), &nonce_len, nh, strlen(nh)) != 0) {
		http_error(resp, 400, "invalid_request", "the body is {\"attestation\": the new instance's attestation "
		    "document, \"nonce\": its hex nonce, \"approve_measurement\": 64 hex characters}");
		goto out;
	}
	/* The releasing instance checks the evidence itself: dev evidence only
	 * when it is itself dev (a hardware instance never hands its keys to
	 * software evidence). */
	pol.allow_dev = !srv->attest->hardware_backed;
	if (attest_verify_document(att, nonce, nonce_len, &pol, &cl, &e) != 0) {
		audit_event(srv->audit, "handover_refused", AUDIT_NAME("reason", "attestation_rejected"));
		http_error(resp, 422, "attestation_rejected", "the new instance's attestation does not verify: %s", e);
		goto out;
	}
	if (memcmp(cl.measurement, approved, 32) != 0) {
		audit_event(srv->audit, "handover_refused", AUDIT_NAME("reason", "measurement_not_approved"));
		http_error(resp, 403, "measurement_not_approved", "the new instance's attested measurement is not "
		    "the one the operator approved");
		goto out;
	}
	if (server_own_measurement(srv, own) != 0) {
		http_error(resp, 500, "handover_failed", "this instance's own measurement is unknown");
		goto out;
	}
	b64_encode_to(to_x, cl.enclave_pub, 32);
	pthread_mutex_lock(&srv->handover_mu);
	if (srv->handover_package != NULL) {
		const char *prev = json_string_value(json_object_get(json_object_get(srv->handover_package, "statement"),
		    "to_x25519"));
		/* The same recipient again (a lost response): the same package.
		 * Anyone else: the keys are gone. */
		if (prev != NULL && strcmp(prev, to_x) == 0)
			http_json(resp, 200, json_incref(srv->handover_package));
		else {
			audit_event(srv->audit, "handover_refused", AUDIT_NAME("reason", "handed_over"));
			http_error(resp, 409, "handed_over", "the keys were already released (key epoch %llu)",
			    (unsigned long long)keys_epoch(srv->keys));
		}
		pthread_mutex_unlock(&srv->handover_mu);
		goto out;
	}
	if ((pkg = release(srv, &cl, own, &next, resp)) == NULL) {
		pthread_mutex_unlock(&srv->handover_mu);
		goto out;
	}
	/* Recorded before anything leaves: this instance never starts again
	 * with these keys (its measurement is no longer the one in force). */
	if (srv->cfg->private_key_path == NULL || epoch_save(next, srv->cfg->private_key_path, false, &e) != 0) {
		pthread_mutex_unlock(&srv->handover_mu);
		http_error(resp, 500, "handover_failed", "the key-epoch file could not be written: %s", e);
		goto out;
	}
	keys_retire(srv->keys);
	srv->handover_package = json_incref(pkg);
	pthread_mutex_unlock(&srv->handover_mu);
	log_event(LOG_WARN, "handover_released", "{s:I, s:I}", "from_epoch", (json_int_t)next->epoch - 1,
	    "to_epoch", (json_int_t)next->epoch);
	http_json(resp, 200, json_incref(pkg));
	server_audit(srv, resp, "handover_released", AUDIT_INT("from_epoch", next->epoch - 1),
	    AUDIT_INT("to_epoch", next->epoch), AUDIT_JSON("statement", json_object_get(pkg, "statement")));
out:
	epoch_state_free(next);
	json_decref(pkg);
	json_decref(body);
}

void
handle_handover_accept(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	if (server_operator_auth(srv, req, "handover_accept", resp) != 0)
		return;
	http_error(resp, 409, "not_awaiting_handover", "this instance holds its keys (key epoch %llu); only an "
	    "instance started with HANDOVER_AWAIT=1 accepts a handover", (unsigned long long)keys_epoch(srv->keys));
}

json_t *
handover_pkg_chain_json(const struct epoch_state *st, const char *key_id, uint64_t epoch)
{
	return json_pack("{s:I, s:s, s:o}", "key_epoch", (json_int_t)epoch, "signing_key_id", key_id, "handovers",
	    st != NULL ? json_deep_copy(json_object_get(st->doc, "handovers")) : json_array());
}

void
handle_handovers(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	json_t *doc;

	pthread_mutex_lock(&srv->handover_mu);
	doc = handover_pkg_chain_json(srv->epochs, keys_id(srv->keys), keys_epoch(srv->keys));
	if (srv->handover_package != NULL) {
		/* released: the chain now ends with this instance's statement */
		json_array_append(json_object_get(doc, "handovers"),
		    json_object_get(srv->handover_package, "statement"));
		json_object_set_new(doc, "handed_over", json_true());
	}
	pthread_mutex_unlock(&srv->handover_mu);
	http_json(resp, 200, doc);
}
