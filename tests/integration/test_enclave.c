/*
 * Integration: the real perfaggd on 127.0.0.1, driven by the real perfagg
 * client and by raw HTTP (with envelopes built here, to tamper with them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/crypto.h>

#include "core/attest_binding.h"
#include "core/attest_verify.h"
#include "core/b64.h"
#include "core/envelope.h"
#include "core/hex.h"
#include "core/prim.h"
#include "../unit/tmpdir.h"
#include "harness.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

/* Fetches and verifies the attestation; returns the enclave's X25519 key. */
static void
enclave_key(const struct daemon *d, uint8_t pub[32])
{
	struct attest_policy pol = { .allow_dev = true };
	struct attest_claims cl;
	uint8_t nonce[16];
	char path[80], hex[33];
	const char *err = NULL;
	json_t *doc;

	prim_random(nonce, sizeof(nonce));
	hex_encode(hex, nonce, sizeof(nonce));
	snprintf(path, sizeof(path), "/attestation/quote?nonce=%s", hex);
	assert_int_equal(harness_http(d, "GET", path, NULL, 0, NULL, NULL, &doc), 200);
	if (attest_verify_document(doc, nonce, sizeof(nonce), &pol, &cl, &err) != 0)
		fail_msg("attestation: %s", err);
	memcpy(pub, cl.enclave_pub, 32);
	json_decref(doc);
}

/* Builds a submit_key body. metadata_json and plaintext are JSON texts; a
 * metadata without "ts" gets the current time, one with "ts": null none (a
 * version 1 envelope). */
static char *
make_body(const uint8_t pub[32], const char *metadata_json, const char *plaintext, struct envelope *keep)
{
	struct envelope env = { 0 };
	json_t *md = json_loads(metadata_json, 0, NULL), *body;
	const char *err = NULL;
	char *s;

	assert_non_null(md);
	if (json_object_get(md, "ts") == NULL)
		json_object_set_new(md, "ts", json_integer((json_int_t)time_now_ms()));
	else if (json_is_null(json_object_get(md, "ts")))
		json_object_del(md, "ts");
	assert_int_equal(envelope_seal(&env, pub, md, (const uint8_t *)plaintext, strlen(plaintext), &err), 0);
	body = envelope_to_json(&env);
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	json_decref(md);
	if (keep != NULL)
		*keep = env;
	else
		envelope_clear(&env);
	return s;
}

static long
submit(const struct daemon *d, const char *body, json_t **resp)
{
	return harness_http(d, "POST", "/enclave/submit_key", body, strlen(body), NULL, NULL, resp);
}

static const char *const PT =
    "{\"userId\":\"alice\",\"exchange\":\"binance\",\"apiKey\":\"k-123\",\"secret\":\"s-456\",\"accountType\":\"futures\"}";

static void
assert_error(json_t *j, const char *code)
{
	json_t *c = json_object_get(json_object_get(j, "error"), "code");

	assert_true(json_is_string(c));
	assert_string_equal(json_string_value(c), code);
	assert_true(json_is_string(json_object_get(json_object_get(j, "error"), "message")));
}

static void
test_health_and_quote(void **state)
{
	struct daemon d;
	json_t *j;

	(void)state;
	harness_start(&d, NULL);
	assert_int_equal(harness_http(&d, "GET", "/health", NULL, 0, NULL, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
	assert_int_equal(json_integer_value(json_object_get(j, "active_sessions")), 0);
	assert_string_equal(json_string_value(json_object_get(j, "attestation_type")), "dev");
	assert_true(json_is_integer(json_object_get(j, "uptime_s")));
	assert_true(json_is_string(json_object_get(j, "version")));
	json_decref(j);

	/* Without a nonce: the cached document, still fully bound. */
	assert_int_equal(harness_http(&d, "GET", "/attestation/quote", NULL, 0, NULL, NULL, &j), 200);
	assert_false(json_is_true(json_object_get(j, "hardware_backed")));
	assert_int_equal(strlen(json_string_value(json_object_get(j, "measurement"))), 64);
	assert_int_equal(strlen(json_string_value(json_object_get(j, "report_data"))), 128);
	json_decref(j);
	uint8_t pub[32];
	enclave_key(&d, pub);

	assert_int_equal(harness_http(&d, "GET", "/attestation/quote?nonce=zz", NULL, 0, NULL, NULL, &j), 400);
	assert_error(j, "invalid_nonce");
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", "/attestation/quote?nonce="
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00", NULL, 0, NULL, NULL, &j), 400);
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", "/nope", NULL, 0, NULL, NULL, &j), 404);
	assert_error(j, "not_found");
	json_decref(j);
	assert_int_equal(harness_http(&d, "DELETE", "/health", NULL, 0, NULL, NULL, &j), 405);
	assert_error(j, "method_not_allowed");
	json_decref(j);
	assert_int_equal(harness_stop(&d), 0);
}

static void
test_raw_protocol(void **state)
{
	struct daemon d;
	struct envelope env;
	uint8_t pub[32];
	char *body, *big, id[65], path[128];
	json_t *j, *b;

	(void)state;
	harness_start(&d, NULL);
	enclave_key(&d, pub);

	body = make_body(pub, "{\"exchange\":\"binance\",\"label\":\"main\",\"ttl\":3600}", PT, NULL);
	assert_int_equal(submit(&d, body, &j), 201);
	assert_int_equal(strlen(json_string_value(json_object_get(j, "session_id"))), 64);
	/* Valid until the exchange says otherwise: the poller validates next. */
	assert_string_equal(json_string_value(json_object_get(j, "status")), "validating");
	assert_int_equal(strlen(json_string_value(json_object_get(j, "expires_at"))), 24);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "session_id")));
	for (size_t i = 0; i < 64; i++)
		assert_true((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
	json_decref(j);

	/* The same envelope again: a replay. */
	assert_int_equal(submit(&d, body, &j), 409);
	assert_error(j, "replayed_envelope");
	json_decref(j);
	free(body);

	/* Tampering: tag, ciphertext, AAD (metadata changed after sealing). */
	for (int which = 0; which < 3; which++) {
		body = make_body(pub, "{\"exchange\":\"binance\",\"label\":\"main\"}", PT, &env);
		if (which == 0)
			env.tag[3] ^= 1;
		else if (which == 1)
			env.ciphertext[5] ^= 0x80;
		else
			json_object_set_new(env.metadata, "label", json_string("other"));
		free(body);
		b = envelope_to_json(&env);
		body = json_dumps(b, JSON_COMPACT);
		assert_int_equal(submit(&d, body, &j), 422);
		assert_error(j, "envelope_rejected");
		assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
		    "the envelope could not be opened");
		json_decref(j);
		json_decref(b);
		free(body);
		envelope_clear(&env);
	}
	/* Plaintext naming another exchange than the metadata: a binding failure, same 422. */
	body = make_body(pub, "{\"exchange\":\"kraken\"}", PT, NULL);
	assert_int_equal(submit(&d, body, &j), 422);
	assert_error(j, "envelope_rejected");
	json_decref(j);
	free(body);
	/* A plaintext missing its secret: the sender knows what it sent, so 400 names it. */
	body = make_body(pub, "{\"exchange\":\"binance\"}", "{\"userId\":\"a\",\"exchange\":\"binance\",\"apiKey\":\"k\"}", NULL);
	assert_int_equal(submit(&d, body, &j), 400);
	assert_error(j, "invalid_credentials");
	json_decref(j);
	free(body);

	/* ttl bounds: below MIN, above MAX, not an integer. */
	const char *bad_md[] = { "{\"exchange\":\"binance\",\"ttl\":299}", "{\"exchange\":\"binance\",\"ttl\":604801}",
	    "{\"exchange\":\"binance\",\"ttl\":\"600\"}", "{\"exchange\":\"binance\",\"ttl\":-10}" };
	for (size_t i = 0; i < 4; i++) {
		body = make_body(pub, bad_md[i], PT, NULL);
		assert_int_equal(submit(&d, body, &j), 400);
		assert_error(j, "invalid_ttl");
		json_decref(j);
		free(body);
	}
	body = make_body(pub, "{\"exchange\":\"binance\",\"ttl\":300}", PT, NULL);
	assert_int_equal(submit(&d, body, &j), 201);
	json_decref(j);
	free(body);
	body = make_body(pub, "{\"exchange\":\"mtgox\"}", PT, NULL);
	assert_int_equal(submit(&d, body, &j), 400);
	assert_error(j, "invalid_metadata");
	json_decref(j);
	free(body);

	/* The rate tier: only where the exchange has tiers, only its names;
	 * the session shows it. */
	body = make_body(pub, "{\"exchange\":\"binance\"}", "{\"userId\":\"a\",\"exchange\":\"binance\",\"apiKey\":\"k\","
	    "\"secret\":\"s\",\"tier\":\"pro\"}", NULL);
	assert_int_equal(submit(&d, body, &j), 400);
	assert_error(j, "invalid_credentials");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
	    "tier (binance: the exchange has no rate tiers)"));
	json_decref(j);
	free(body);
	body = make_body(pub, "{\"exchange\":\"kraken\"}", "{\"userId\":\"a\",\"exchange\":\"kraken\",\"apiKey\":\"k\","
	    "\"secret\":\"s\",\"tier\":\"whale\"}", NULL);
	assert_int_equal(submit(&d, body, &j), 400);
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
	    "one of starter, intermediate, pro"));
	json_decref(j);
	free(body);
	body = make_body(pub, "{\"exchange\":\"kraken\"}", "{\"userId\":\"a\",\"exchange\":\"kraken\",\"apiKey\":\"k\","
	    "\"secret\":\"s\",\"tier\":\"pro\"}", NULL);
	assert_int_equal(submit(&d, body, &j), 201);
	{
		char sid[65];
		json_t *st;
		snprintf(sid, sizeof(sid), "%s", json_string_value(json_object_get(j, "session_id")));
		assert_int_equal(harness_http(&d, "GET", "/enclave/session", NULL, 0, NULL, sid, &st), 200);
		assert_string_equal(json_string_value(json_object_get(st, "tier")), "pro");
		json_decref(st);
		assert_int_equal(harness_http(&d, "DELETE", "/enclave/session", NULL, 0, NULL, sid, &st), 200);
		json_decref(st);
	}
	json_decref(j);
	free(body);

	/* Transport-level errors. */
	big = xmalloc(70 * 1024 + 1);
	memset(big, ' ', 70 * 1024);
	big[70 * 1024] = '\0';
	assert_int_equal(harness_http(&d, "POST", "/enclave/submit_key", big, strlen(big), NULL, NULL, &j), 413);
	assert_error(j, "payload_too_large");
	json_decref(j);
	free(big);
	assert_int_equal(harness_http(&d, "POST", "/enclave/submit_key", "{\"a\":", 5, NULL, NULL, &j), 400);
	assert_error(j, "malformed_json");
	json_decref(j);
	assert_int_equal(harness_http(&d, "POST", "/enclave/submit_key", "{}", 2, "text/plain", NULL, &j), 415);
	assert_error(j, "unsupported_media_type");
	json_decref(j);
	assert_int_equal(harness_http(&d, "POST", "/enclave/submit_key", "{\"nonce\":1}", 11, NULL, NULL, &j), 400);
	assert_error(j, "invalid_envelope");
	json_decref(j);

	/* The session: by path and by bearer; never a credential in it. */
	snprintf(path, sizeof(path), "/enclave/session/%s", id);
	assert_int_equal(harness_http(&d, "GET", path, NULL, 0, NULL, NULL, &j), 200);
	/* The exchange is unreachable here: the session waits for validation and says why. */
	assert_string_equal(json_string_value(json_object_get(j, "status")), "validating");
	assert_true(json_is_object(json_object_get(j, "collection")));
	assert_string_equal(json_string_value(json_object_get(j, "exchange")), "binance");
	assert_string_equal(json_string_value(json_object_get(j, "account_type")), "futures");
	assert_string_equal(json_string_value(json_object_get(j, "label")), "main");
	char *dump = json_dumps(j, 0);
	assert_null(strstr(dump, "k-123"));
	assert_null(strstr(dump, "s-456"));
	free(dump);
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", "/enclave/session", NULL, 0, NULL, id, &j), 200);
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", "/enclave/session", NULL, 0, NULL, NULL, &j), 401);
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", "/enclave/session/xyz", NULL, 0, NULL, NULL, &j), 400);
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", path, NULL, 0, NULL,
	    "0000000000000000000000000000000000000000000000000000000000000000", &j), 400);
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", "/enclave/session/"
	    "0000000000000000000000000000000000000000000000000000000000000000", NULL, 0, NULL, NULL, &j), 404);
	assert_error(j, "session_not_found");
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", "/health", NULL, 0, NULL, NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "active_sessions")), 2);
	json_decref(j);

	/* Revoke by bearer, then it is gone. */
	assert_int_equal(harness_http(&d, "DELETE", "/enclave/session", NULL, 0, NULL, id, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "revoked");
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", path, NULL, 0, NULL, NULL, &j), 404);
	json_decref(j);
	assert_int_equal(harness_http(&d, "DELETE", path, NULL, 0, NULL, NULL, &j), 404);
	json_decref(j);

	/* The log never carries the session id or a credential. */
	char *log = harness_log(&d);
	assert_null(strstr(log, id));
	assert_null(strstr(log, "s-456"));
	assert_null(strstr(log, "k-123"));
	assert_non_null(strstr(log, "\"event\":\"session_created\""));
	free(log);
	assert_int_equal(harness_stop(&d), 0);
}

static void
test_expiry_and_cleanup(void **state)
{
	const char *env[] = { "MIN_SESSION_TTL=1", NULL };
	const char *env2[] = { "MIN_SESSION_TTL=1", "SESSION_CLEANUP_INTERVAL=200", NULL };
	struct daemon d;
	uint8_t pub[32];
	char *body, id[65], path[128];
	json_t *j;

	(void)state;
	harness_start(&d, env);
	enclave_key(&d, pub);
	body = make_body(pub, "{\"exchange\":\"binance\",\"ttl\":1}", PT, NULL);
	assert_int_equal(submit(&d, body, &j), 201);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "session_id")));
	json_decref(j);
	free(body);
	snprintf(path, sizeof(path), "/enclave/session/%s", id);
	assert_int_equal(harness_http(&d, "GET", path, NULL, 0, NULL, NULL, &j), 200);
	json_decref(j);
	usleep(1300 * 1000);
	assert_int_equal(harness_http(&d, "GET", path, NULL, 0, NULL, NULL, &j), 404);
	json_decref(j);
	assert_int_equal(harness_http(&d, "POST", "/enclave/cleanup", NULL, 0, NULL, HARNESS_OPERATOR_TOKEN, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "cleaned_sessions")), 1);
	json_decref(j);
	assert_int_equal(harness_http(&d, "POST", "/enclave/cleanup", NULL, 0, NULL, HARNESS_OPERATOR_TOKEN, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "cleaned_sessions")), 0);
	json_decref(j);
	assert_int_equal(harness_stop(&d), 0);

	/* The periodic sweep removes expired sessions by itself. */
	harness_start(&d, env2);
	enclave_key(&d, pub);
	body = make_body(pub, "{\"exchange\":\"binance\",\"ttl\":1}", PT, NULL);
	assert_int_equal(submit(&d, body, &j), 201);
	json_decref(j);
	free(body);
	usleep(1600 * 1000);
	assert_int_equal(harness_http(&d, "POST", "/enclave/cleanup", NULL, 0, NULL, HARNESS_OPERATOR_TOKEN, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "cleaned_sessions")), 0);
	json_decref(j);
	char *log = harness_log(&d);
	assert_non_null(strstr(log, "\"trigger\":\"interval\""));
	free(log);
	assert_int_equal(harness_stop(&d), 0);
}

static void
test_rate_limit(void **state)
{
	const char *env[] = { "RATE_LIMIT_MAX=5", "RATE_LIMIT_WINDOW=60000", NULL };
	struct daemon d;
	json_t *j;

	(void)state;
	harness_start(&d, env);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(harness_http(&d, "GET", "/attestation/quote", NULL, 0, NULL, NULL, &j), 200);
		json_decref(j);
	}
	assert_int_equal(harness_http(&d, "GET", "/attestation/quote", NULL, 0, NULL, NULL, &j), 429);
	assert_error(j, "rate_limited");
	json_decref(j);
	assert_int_equal(harness_http(&d, "POST", "/enclave/cleanup", NULL, 0, NULL, NULL, &j), 429);
	json_decref(j);
	/* Health checks are exempt. */
	assert_int_equal(harness_http(&d, "GET", "/health", NULL, 0, NULL, NULL, &j), 200);
	json_decref(j);
	assert_int_equal(harness_stop(&d), 0);
}

static void
test_cli_flow(void **state)
{
	struct daemon d;
	char *out, *err, id[65];
	const char *cred_env[] = { "PERFAGG_API_KEY=cli-key-0001", "PERFAGG_API_SECRET=cli-secret-0001", NULL };
	const char *no_env[] = { "PERFAGG_API_KEY=", "PERFAGG_API_SECRET=", NULL };
	int rc;

	(void)state;
	harness_start(&d, NULL);

	/* attest: dev evidence is refused unless allowed. */
	const char *a1[] = { "perfagg", "attest", "--url", d.url, NULL };
	rc = harness_run(a1, NULL, NULL, &out, &err);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "NOT hardware-backed"));
	free(out);
	free(err);
	const char *a2[] = { "perfagg", "attest", "--url", d.url, "--allow-dev", NULL };
	rc = harness_run(a2, NULL, NULL, &out, &err);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "attestation verified"));
	assert_non_null(strstr(err, "NOT hardware-backed"));
	free(out);
	free(err);
	const char *a3[] = { "perfagg", "attest", "--url", d.url, "--allow-dev", "--expect-measurement",
	    "0000000000000000000000000000000000000000000000000000000000000000", NULL };
	rc = harness_run(a3, NULL, NULL, &out, &err);
	assert_int_equal(rc, 1);
	free(out);
	free(err);

	/* register without --allow-dev is refused before anything is sent. */
	const char *r0[] = { "perfagg", "register", "--url", d.url, "--exchange", "binance", NULL };
	rc = harness_run(r0, cred_env, NULL, &out, &err);
	assert_int_equal(rc, 1);
	free(out);
	free(err);
	/* register with no credential source and no terminal: a clear usage error. */
	const char *r1[] = { "perfagg", "register", "--url", d.url, "--exchange", "binance", "--allow-dev", NULL };
	rc = harness_run(r1, no_env, NULL, &out, &err);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(err, "no credential"));
	free(out);
	free(err);
	/* A credential on the command line is refused. */
	const char *r2[] = { "perfagg", "register", "--url", d.url, "--exchange", "binance", "--allow-dev",
	    "my-secret", NULL };
	rc = harness_run(r2, cred_env, NULL, &out, &err);
	assert_int_equal(rc, 2);
	free(out);
	free(err);

	const char *r3[] = { "perfagg", "register", "--url", d.url, "--exchange", "binance", "--allow-dev",
	    "--account-type", "margin", "--label", "cli", "--ttl", "600", NULL };
	rc = harness_run(r3, cred_env, NULL, &out, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(strlen(out), 65);
	snprintf(id, sizeof(id), "%.64s", out);
	free(out);
	free(err);

	const char *s1[] = { "perfagg", "session", "--url", d.url, id, NULL };
	rc = harness_run(s1, NULL, NULL, &out, &err);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "margin"));
	assert_non_null(strstr(out, "cli"));
	assert_null(strstr(out, "cli-secret-0001"));
	free(out);
	free(err);
	/* The id may come on standard input, keeping it out of ps. */
	const char *s2[] = { "perfagg", "session", "--url", d.url, "--json", "-", NULL };
	char line[80];
	snprintf(line, sizeof(line), "%s\n", id);
	rc = harness_run(s2, NULL, line, &out, &err);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"status\":\"validating\""));
	free(out);
	free(err);

	const char *v1[] = { "perfagg", "revoke", "--url", d.url, id, NULL };
	rc = harness_run(v1, NULL, NULL, &out, &err);
	assert_int_equal(rc, 0);
	free(out);
	free(err);
	rc = harness_run(s1, NULL, NULL, &out, &err);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "404"));
	free(out);
	free(err);
	const char *bad[] = { "perfagg", "session", "--url", d.url, "nothex", NULL };
	rc = harness_run(bad, NULL, NULL, &out, &err);
	assert_int_equal(rc, 2);
	free(out);
	free(err);
	assert_int_equal(harness_stop(&d), 0);
}

/* After revoke, the secret's bytes are nowhere in the daemon's memory. */
static void
test_revoked_secret_is_gone(void **state)
{
	struct daemon d;
	uint8_t pub[32], rnd[24];
	char secret[64], pt[256], *body, id[65];
	json_t *j;
	long before, after;

	(void)state;
	/* Under ASan the harness skips the sanitizer's terabyte reservations
	 * (its heap among them), so there the proof covers the vault and other
	 * mappings; the ordinary build scans the whole address space. */
	harness_start(&d, NULL);
	enclave_key(&d, pub);
	prim_random(rnd, sizeof(rnd));
	memcpy(secret, "SECRET-", 7);
	hex_encode(secret + 7, rnd, sizeof(rnd));
	snprintf(pt, sizeof(pt), "{\"userId\":\"mem\",\"exchange\":\"kraken\",\"apiKey\":\"key-mem\",\"secret\":\"%s\"}",
	    secret);
	body = make_body(pub, "{\"exchange\":\"kraken\"}", pt, NULL);
	OPENSSL_cleanse(pt, sizeof(pt));
	assert_int_equal(submit(&d, body, &j), 201);
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "session_id")));
	json_decref(j);
	free(body);

	/* Positive control: while the session lives, the scan finds the secret
	 * (in the vault), so a zero afterwards means something. */
	before = harness_memory_count(d.pid, secret, strlen(secret));
	if (before < 0)
		skip();	/* no permission to read another process's memory here */
	assert_true(before >= 1);

	assert_int_equal(harness_http(&d, "DELETE", "/enclave/session", NULL, 0, NULL, id, &j), 200);
	json_decref(j);
	after = harness_memory_count(d.pid, secret, strlen(secret));
	assert_int_equal(after, 0);
	/* A prefix long enough to be specific is gone too. */
	assert_int_equal(harness_memory_count(d.pid, secret + 7, 24), 0);
	assert_int_equal(harness_stop(&d), 0);
}

static void
test_config_errors(void **state)
{
	char *out, *err;
	int rc;

	(void)state;
	const char *h[] = { "perfaggd", "--help", NULL };
	rc = harness_run(h, NULL, NULL, &out, &err);
	assert_int_equal(rc, 0);
	const char *names[] = { "ENCLAVE_PORT", "ENCLAVE_HOST", "ENCLAVE_PRIVATE_KEY_PATH", "ENCLAVE_PUBLIC_KEY_PATH",
	    "DEFAULT_SESSION_TTL", "MAX_SESSION_TTL", "SESSION_CLEANUP_INTERVAL", "RATE_LIMIT_MAX", "RATE_LIMIT_WINDOW",
	    "LOG_LEVEL", "TLS_CERT_PATH", "TLS_KEY_PATH" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_non_null(strstr(out, names[i]));
	free(out);
	free(err);

	const char *envs[][2] = { { "ENCLAVE_PORT=abc", "ENCLAVE_PORT" }, { "ENCLAVE_PORT=70000", "ENCLAVE_PORT" },
	    { "LOG_LEVEL=loud", "LOG_LEVEL" }, { "MAX_SESSION_TTL=100", "MIN_SESSION_TTL" },
	    { "TLS_CERT_PATH=/nonexistent.pem", "TLS_CERT_PATH" },
	    { "ENCLAVE_PRIVATE_KEY_PATH=/nonexistent.pem", "ENCLAVE_PRIVATE_KEY_PATH" },
	    { "ATTESTATION_PROVIDER=sgx9", "ATTESTATION_PROVIDER" } };
	for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
		const char *env[] = { "ENCLAVE_HOST=127.0.0.1", envs[i][0], NULL };
		const char *argv[] = { "perfaggd", NULL };
		rc = harness_run(argv, env, NULL, &out, &err);
		assert_int_equal(rc, 2);
		assert_non_null(strstr(err, envs[i][1]));
		/* one line */
		assert_non_null(strchr(err, '\n'));
		assert_null(strchr(err, '\n') + 1 < err + strlen(err) ? strchr(strchr(err, '\n') + 1, '\n') : NULL);
		free(out);
		free(err);
	}
	/* Plain HTTP on a public address is refused unless allowed. */
	const char *env[] = { "ENCLAVE_HOST=0.0.0.0", NULL };
	const char *argv[] = { "perfaggd", NULL };
	rc = harness_run(argv, env, NULL, &out, &err);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(err, "ENCLAVE_HOST"));
	free(out);
	free(err);
	const char *flag[] = { "perfaggd", "--port", "0", NULL };
	rc = harness_run(flag, NULL, NULL, &out, &err);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(err, "--port"));
	free(out);
	free(err);
}

/*
 * Protocol version 2 (docs/PROTOCOL.md): an envelope without its client time
 * is refused with a clear code, one outside the window either way as
 * stale, and an accepted envelope is refused again after a clean restart
 * and after kill -9 with the same key files and DATA_DIR.
 */
static void
test_replay_across_restart(void **state)
{
	char priv[300], pub_path[300], dir[300], key_env[340], data_env[340], *body, *old, *stale, *early, *out = NULL,
	    *err = NULL, md[128];
	const char *env[] = { key_env, data_env, "ENVELOPE_WINDOW=300", NULL };
	struct daemon d;
	uint8_t pub[32];
	json_t *j;
	int st;

	(void)state;
	snprintf(priv, sizeof(priv), "%s/enclave.pem", tmpdir());
	snprintf(pub_path, sizeof(pub_path), "%s/enclave.pub.pem", tmpdir());
	snprintf(dir, sizeof(dir), "%s/data", tmpdir());
	{
		const char *argv[] = { "perfaggd", "keygen", priv, pub_path, NULL };
		assert_int_equal(harness_run(argv, NULL, NULL, &out, &err), 0);
	}
	snprintf(key_env, sizeof(key_env), "ENCLAVE_PRIVATE_KEY_PATH=%s", priv);
	snprintf(data_env, sizeof(data_env), "DATA_DIR=%s", dir);
	harness_start(&d, env);
	enclave_key(&d, pub);
	body = make_body(pub, "{\"exchange\":\"binance\"}", PT, NULL);
	assert_int_equal(submit(&d, body, &j), 201);
	json_decref(j);

	/* a version 1 envelope: told to update */
	old = make_body(pub, "{\"exchange\":\"binance\",\"ts\":null}", PT, NULL);
	assert_int_equal(submit(&d, old, &j), 400);
	assert_error(j, "protocol_outdated");
	json_decref(j);
	/* ten minutes old, and ten minutes ahead: stale, with the difference */
	snprintf(md, sizeof(md), "{\"exchange\":\"binance\",\"ts\":%lld}", (long long)(time_now_ms() - 600000));
	stale = make_body(pub, md, PT, NULL);
	assert_int_equal(submit(&d, stale, &j), 400);
	assert_error(j, "stale_envelope");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")), "within 300 s"));
	json_decref(j);
	snprintf(md, sizeof(md), "{\"exchange\":\"binance\",\"ts\":%lld}", (long long)(time_now_ms() + 600000));
	early = make_body(pub, md, PT, NULL);
	assert_int_equal(submit(&d, early, &j), 400);
	assert_error(j, "stale_envelope");
	json_decref(j);

	/* a clean restart, then a kill -9: the accepted envelope stays refused */
	assert_int_equal(harness_stop(&d), 0);
	harness_start(&d, env);
	assert_int_equal(submit(&d, body, &j), 409);
	assert_error(j, "replayed_envelope");
	json_decref(j);
	kill(d.pid, SIGKILL);
	waitpid(d.pid, &st, 0);
	harness_start(&d, env);
	assert_int_equal(submit(&d, body, &j), 409);
	assert_error(j, "replayed_envelope");
	json_decref(j);
	/* and a fresh envelope is still welcome */
	free(body);
	body = make_body(pub, "{\"exchange\":\"binance\"}", PT, NULL);
	assert_int_equal(submit(&d, body, &j), 201);
	json_decref(j);
	assert_int_equal(harness_stop(&d), 0);
	free(body);
	free(old);
	free(stale);
	free(early);
	free(out);
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_and_quote),
		cmocka_unit_test(test_raw_protocol),
		cmocka_unit_test(test_expiry_and_cleanup),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_cli_flow),
		cmocka_unit_test(test_revoked_secret_is_gone),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_replay_across_restart),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
