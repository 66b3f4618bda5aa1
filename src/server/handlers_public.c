/* Unauthenticated routes: health and attestation. */
#include <string.h>

#include "core/b64.h"
#include "core/hex.h"
#include "enclave/keys.h"
#include "enclave/session.h"
#include "exchange/poller.h"
#include "out/metrics.h"
#include "server/server.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

void
handle_health(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	struct poller_counters pc;

	poller_counters(srv->poller, &pc);
	/* The busiest endpoint (load balancers, monitoring): printed directly
	 * rather than built as a jansson tree. Every value is a number, a bool
	 * or a fixed name from the code: nothing needs escaping. */
	resp->raw = xasprintf("{\"status\":\"ok\",\"version\":\"%s\",\"uptime_s\":%lld,\"active_sessions\":%lld,"
	    "\"attestation_type\":\"%s\",\"hardware_backed\":%s,\"poller\":{\"sessions\":%llu,\"requests\":%llu,"
	    "\"failures\":%llu,\"cycles\":%llu,\"lag_p99_ms\":%lld,\"lag_max_ms\":%lld,\"checkpoints\":%llu,"
	    "\"checkpoint_failures\":%llu,\"checkpoint_bytes\":%llu,\"checkpoint_ms\":%lld}}",
	    PERFAGG_VERSION, (long long)((time_mono_ms() - srv->started_mono_ms) / 1000),
	    (long long)session_count_active(srv->sessions, time_now_ms()), srv->attest->attestation_type,
	    srv->attest->hardware_backed ? "true" : "false", (unsigned long long)pc.jobs,
	    (unsigned long long)pc.requests, (unsigned long long)pc.failures, (unsigned long long)pc.cycles,
	    (long long)pc.lag_p99_ms, (long long)pc.lag_max_ms, (unsigned long long)pc.checkpoints,
	    (unsigned long long)pc.checkpoint_failures, (unsigned long long)pc.checkpoint_bytes,
	    (long long)(pc.checkpoint_ns / 1000000));
	resp->raw_len = strlen(resp->raw);
	resp->status = 200;
}

json_t *
server_attestation_document(struct server *srv, const uint8_t *nonce, size_t nonce_len, const char **errstr)
{
	struct attest_evidence ev = { 0 };
	struct attest_ctx ctx = srv->attest_ctx;
	uint8_t binding[ATTEST_BINDING_BYTES];
	char rd_hex[2 * ATTEST_BINDING_BYTES + 1], meas_hex[65], nonce_hex[2 * ATTEST_NONCE_MAX + 1];
	char tls_hex[65], ts[TIME_ISO_LEN], xb64[B64_ENCODED_LEN(32) + 1], edb64[B64_ENCODED_LEN(32) + 1];
	char *quote;
	json_t *doc;
	int64_t t0;
	int rc;

	ctx.now_ms = time_now_ms();
	attest_binding(binding, keys_x25519_public(srv->keys), keys_ed25519_public(srv->keys),
	    srv->tls_spki_sha256, nonce, nonce_len);
	t0 = metrics_now_ns();
	rc = srv->attest->get_evidence(&ctx, binding, &ev, errstr);
	metrics_crypto_observe(METRICS_CRYPTO_QUOTE, metrics_now_ns() - t0);
	if (rc != 0)
		return NULL;
	hex_encode(rd_hex, binding, sizeof(binding));
	hex_encode(meas_hex, ctx.measurement, sizeof(ctx.measurement));
	hex_encode(nonce_hex, nonce, nonce_len);
	hex_encode(tls_hex, srv->tls_spki_sha256, 32);
	b64_encode_to(xb64, keys_x25519_public(srv->keys), 32);
	b64_encode_to(edb64, keys_ed25519_public(srv->keys), 32);
	time_format_iso_ms(ts, ctx.now_ms);
	quote = b64_encode(ev.blob, ev.blob_len);
	doc = json_pack("{s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:s, s:s}",
	    "attestation_type", srv->attest->attestation_type,
	    "hardware_backed", srv->attest->hardware_backed,
	    "provider", srv->attest->name,
	    "binding_version", ATTEST_BINDING_LABEL,
	    "enclave_pubkey", xb64,
	    "signing_pubkey", edb64,
	    "signing_key_id", keys_id(srv->keys),
	    "measurement", meas_hex,
	    "report_data", rd_hex,
	    "tls_spki_sha256", srv->tls ? tls_hex : NULL,
	    "nonce", nonce_hex,
	    "timestamp", ts,
	    "quote", quote);
	if (keys_epoch(srv->keys) > 0)	/* 0: keys made only to receive a handover */
		json_object_set_new(doc, "key_epoch", json_integer((json_int_t)keys_epoch(srv->keys)));
	if (!srv->attest->hardware_backed)
		json_object_set_new(doc, "warning", json_string(
		    "development evidence: NOT hardware-backed; it proves nothing about where this code runs"));
	free(quote);
	attest_evidence_clear(&ev);
	return doc;
}

void
handle_quote(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	const char *nonce_hex = http_query(req, "nonce");
	uint8_t nonce[ATTEST_NONCE_MAX];
	size_t nonce_len = 0;
	const char *err = NULL;
	json_t *doc;

	if (nonce_hex == NULL || *nonce_hex == '\0') {
		/* The nonce-less document is made once at start: quoting can be slow. */
		resp->status = 200;
		resp->raw = xstrndup(srv->quote_cached, srv->quote_cached_len);
		resp->raw_len = srv->quote_cached_len;
		return;
	}
	if (hex_decode(nonce, sizeof(nonce), &nonce_len, nonce_hex, strlen(nonce_hex)) != 0) {
		http_error(resp, 400, "invalid_nonce", "nonce must be hex, at most %d bytes", ATTEST_NONCE_MAX);
		return;
	}
	doc = server_attestation_document(srv, nonce, nonce_len, &err);
	if (doc == NULL) {
		http_error(resp, 503, "attestation_unavailable", "evidence could not be produced: %s", err);
		return;
	}
	http_json(resp, 200, doc);
}
