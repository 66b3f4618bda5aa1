#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "core/attest_binding.h"
#include "core/attest_verify.h"
#include "core/b64.h"
#include "core/dev_evidence.h"
#include "core/hex.h"
#include "core/prim.h"
#include "../testvec.h"

#define T_INSIDE 1751328000	/* 2025-07-01: the sample SGX quote's certificates are valid */

/* Everything a daemon would put in its document, before encoding. */
struct fixture {
	uint8_t seed[32];		/* Ed25519 signing key */
	uint8_t signing_pub[32];
	uint8_t enclave_pub[32];
	uint8_t measurement[32];
	uint8_t tls[32];
	bool tls_null;
	uint8_t nonce[ATTEST_NONCE_MAX];
	size_t nonce_len;
	uint8_t binding[64];
	struct dev_evidence ev;
	uint8_t evidence[DEV_EVIDENCE_BYTES];
};

static const uint8_t zero32[32];

static void
set_b64(json_t *doc, const char *key, const uint8_t *buf, size_t len)
{
	char *s = b64_encode(buf, len);

	assert_int_equal(json_object_set_new(doc, key, json_string(s)), 0);
	free(s);
}

static void
set_hex(json_t *doc, const char *key, const uint8_t *buf, size_t len)
{
	char *s = malloc(2 * len + 1);

	assert_non_null(s);
	hex_encode(s, buf, len);
	assert_int_equal(json_object_set_new(doc, key, json_string(s)), 0);
	free(s);
}

/* Signs f->ev (as it stands) into f->evidence with f->seed. */
static void
sign_evidence(struct fixture *f)
{
	dev_evidence_encode_signed(f->evidence, &f->ev);
	assert_int_equal(prim_ed25519_sign(f->ev.signature, f->evidence, DEV_EVIDENCE_SIGNED_BYTES, f->seed), 0);
	dev_evidence_encode(f->evidence, &f->ev);
}

static void
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(prim_ed25519_keygen(f->seed, f->signing_pub), 0);
	prim_random(f->enclave_pub, 32);
	prim_random(f->measurement, 32);
	prim_random(f->tls, 32);
	f->nonce_len = 16;
	prim_random(f->nonce, f->nonce_len);
	attest_binding(f->binding, f->enclave_pub, f->signing_pub, f->tls_null ? zero32 : f->tls,
	    f->nonce, f->nonce_len);
	f->ev.version = DEV_EVIDENCE_VERSION;
	memcpy(f->ev.report_data, f->binding, 64);
	memcpy(f->ev.measurement, f->measurement, 32);
	f->ev.timestamp_ms = 1751328000123ULL;
	memcpy(f->ev.signing_pub, f->signing_pub, 32);
	sign_evidence(f);
}

/* Rebinds after a change to keys, tls or nonce, re-signing the evidence. */
static void
fixture_rebind(struct fixture *f)
{
	attest_binding(f->binding, f->enclave_pub, f->signing_pub, f->tls_null ? zero32 : f->tls,
	    f->nonce, f->nonce_len);
	memcpy(f->ev.report_data, f->binding, 64);
	sign_evidence(f);
}

static json_t *
doc_build(const struct fixture *f)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "attestation_type", json_string("dev"));
	json_object_set_new(doc, "hardware_backed", json_false());
	set_b64(doc, "enclave_pubkey", f->enclave_pub, 32);
	set_b64(doc, "signing_pubkey", f->signing_pub, 32);
	set_hex(doc, "measurement", f->measurement, 32);
	set_hex(doc, "report_data", f->binding, 64);
	set_hex(doc, "nonce", f->nonce, f->nonce_len);
	if (f->tls_null)
		json_object_set_new(doc, "tls_spki_sha256", json_null());
	else
		set_hex(doc, "tls_spki_sha256", f->tls, 32);
	json_object_set_new(doc, "timestamp", json_string("2025-07-01T00:00:00.123Z"));
	set_b64(doc, "quote", f->evidence, sizeof(f->evidence));
	return doc;
}

static const struct attest_policy dev_ok = { .allow_dev = true };

/* Verifies doc with the fixture's nonce; on failure checks the message and
 * that the claims were zeroed. */
static void
expect_fail(const json_t *doc, const struct fixture *f, const struct attest_policy *pol, const char *want)
{
	struct attest_claims c;
	const char *err = NULL;

	memset(&c, 0xaa, sizeof(c));
	assert_int_equal(attest_verify_document(doc, f->nonce, f->nonce_len, pol, &c, &err), -1);
	assert_non_null(err);
	if (want != NULL)
		assert_string_equal(err, want);
	assert_int_equal(c.attestation_type[0], 0);
	assert_memory_equal(c.enclave_pub, zero32, 32);
}

static void
test_dev_valid(void **state)
{
	struct fixture f;
	struct attest_claims c;
	const char *err = NULL;
	json_t *doc;

	(void)state;
	fixture_init(&f);
	doc = doc_build(&f);
	assert_int_equal(attest_verify_document(doc, f.nonce, f.nonce_len, &dev_ok, &c, &err), 0);
	assert_string_equal(c.attestation_type, "dev");
	assert_false(c.hardware_backed);
	assert_false(c.debug);
	assert_memory_equal(c.enclave_pub, f.enclave_pub, 32);
	assert_memory_equal(c.signing_pub, f.signing_pub, 32);
	assert_memory_equal(c.measurement, f.measurement, 32);
	assert_memory_equal(c.report_data, f.binding, 64);
	assert_int_equal(c.timestamp_ms, 1751328000123ULL);
	json_decref(doc);

	/* plain HTTP (null SPKI hash) and an empty nonce: the cached start-up document */
	f.tls_null = true;
	f.nonce_len = 0;
	fixture_rebind(&f);
	doc = doc_build(&f);
	assert_int_equal(attest_verify_document(doc, NULL, 0, &dev_ok, &c, &err), 0);
	json_decref(doc);
}

static void
test_dev_refused(void **state)
{
	struct fixture f;
	struct attest_policy strict = { 0 };
	json_t *doc;

	(void)state;
	fixture_init(&f);
	doc = doc_build(&f);
	expect_fail(doc, &f, &strict, "dev attestation is NOT hardware-backed and the policy does not allow it");
	/* a dev document claiming to be hardware-backed */
	json_object_set_new(doc, "hardware_backed", json_true());
	expect_fail(doc, &f, &dev_ok, "hardware_backed is true but dev attestation is not hardware-backed");
	json_decref(doc);
}

static void
test_nonce(void **state)
{
	struct fixture f;
	struct attest_claims c;
	uint8_t other[16];
	const char *err;
	json_t *doc;

	(void)state;
	fixture_init(&f);
	doc = doc_build(&f);
	memcpy(other, f.nonce, 16);
	other[0] ^= 1;
	assert_int_equal(attest_verify_document(doc, other, 16, &dev_ok, &c, &err), -1);
	assert_string_equal(err, "document nonce differs from the nonce we sent (replayed or stale document)");
	assert_int_equal(attest_verify_document(doc, f.nonce, 15, &dev_ok, &c, &err), -1);
	assert_string_equal(err, "document nonce differs from the nonce we sent (replayed or stale document)");
	assert_int_equal(attest_verify_document(doc, NULL, 0, &dev_ok, &c, &err), -1);
	assert_string_equal(err, "document nonce differs from the nonce we sent (replayed or stale document)");
	/* the document's nonce changed to ours, but the binding still holds the old one */
	set_hex(doc, "nonce", other, 16);
	assert_int_equal(attest_verify_document(doc, other, 16, &dev_ok, &c, &err), -1);
	assert_string_equal(err,
	    "report_data is not the binding of enclave_pubkey, signing_pubkey, tls_spki_sha256 and nonce");
	assert_int_equal(attest_verify_document(doc, other, 33, &dev_ok, &c, &err), -1);
	assert_string_equal(err, "caller's nonce is longer than 32 bytes");
	json_decref(doc);
}

static void
test_binding_tamper(void **state)
{
	struct fixture f;
	uint8_t x[64];
	const char *bind_err =
	    "report_data is not the binding of enclave_pubkey, signing_pubkey, tls_spki_sha256 and nonce";
	json_t *doc;

	(void)state;
	fixture_init(&f);
	/* tampered report_data */
	doc = doc_build(&f);
	memcpy(x, f.binding, 64);
	x[10] ^= 0x40;
	set_hex(doc, "report_data", x, 64);
	expect_fail(doc, &f, &dev_ok, bind_err);
	json_decref(doc);
	/* swapped enclave_pubkey: a man in the middle substitutes his own key */
	doc = doc_build(&f);
	prim_random(x, 32);
	set_b64(doc, "enclave_pubkey", x, 32);
	expect_fail(doc, &f, &dev_ok, bind_err);
	json_decref(doc);
	/* swapped signing_pubkey */
	doc = doc_build(&f);
	set_b64(doc, "signing_pubkey", x, 32);
	expect_fail(doc, &f, &dev_ok, bind_err);
	json_decref(doc);
	/* different TLS key, and TLS key dropped to null */
	doc = doc_build(&f);
	set_hex(doc, "tls_spki_sha256", x, 32);
	expect_fail(doc, &f, &dev_ok, bind_err);
	json_object_set_new(doc, "tls_spki_sha256", json_null());
	expect_fail(doc, &f, &dev_ok, bind_err);
	json_decref(doc);
}

static void
test_evidence_tamper(void **state)
{
	struct fixture f, g;
	json_t *doc;
	uint8_t bad[DEV_EVIDENCE_BYTES];

	(void)state;
	fixture_init(&f);
	/* tampered evidence signature */
	doc = doc_build(&f);
	memcpy(bad, f.evidence, sizeof(bad));
	bad[DEV_EVIDENCE_SIGNED_BYTES + 5] ^= 1;
	set_b64(doc, "quote", bad, sizeof(bad));
	expect_fail(doc, &f, &dev_ok, "dev evidence signature does not verify with its signing key");
	/* tampered timestamp (a signed byte) */
	memcpy(bad, f.evidence, sizeof(bad));
	bad[124] ^= 1;
	set_b64(doc, "quote", bad, sizeof(bad));
	expect_fail(doc, &f, &dev_ok, "dev evidence signature does not verify with its signing key");
	/* truncated evidence, at several lengths */
	for (size_t len = 0; len < DEV_EVIDENCE_BYTES; len += 20) {
		set_b64(doc, "quote", f.evidence, len);
		expect_fail(doc, &f, &dev_ok, "dev evidence has the wrong length (want 221 bytes)");
	}
	set_b64(doc, "quote", f.evidence, DEV_EVIDENCE_BYTES - 1);
	expect_fail(doc, &f, &dev_ok, "dev evidence has the wrong length (want 221 bytes)");
	/* bad magic */
	memcpy(bad, f.evidence, sizeof(bad));
	bad[0] = 'X';
	set_b64(doc, "quote", bad, sizeof(bad));
	expect_fail(doc, &f, &dev_ok, "dev evidence magic is not PERFAGG-DEV-NOT-HW");
	json_decref(doc);

	/* version 2, properly signed */
	g = f;
	g.ev.version = 2;
	sign_evidence(&g);
	doc = doc_build(&g);
	expect_fail(doc, &g, &dev_ok, "dev evidence version is not 1");
	json_decref(doc);

	/* evidence (validly signed) over another report_data */
	g = f;
	g.ev.report_data[0] ^= 1;
	sign_evidence(&g);
	doc = doc_build(&g);
	expect_fail(doc, &g, &dev_ok, "dev evidence report_data differs from the document's report_data");
	json_decref(doc);

	/* the document's measurement is not the one in the evidence */
	doc = doc_build(&f);
	set_hex(doc, "measurement", zero32, 32);
	expect_fail(doc, &f, &dev_ok, "dev evidence measurement differs from the document's measurement");
	json_decref(doc);

	/* evidence signed by another key than the bound signing key */
	g = f;
	assert_int_equal(prim_ed25519_keygen(g.seed, g.ev.signing_pub), 0);
	sign_evidence(&g);
	doc = doc_build(&g);
	expect_fail(doc, &g, &dev_ok, "dev evidence signing key differs from the document's signing_pubkey");
	json_decref(doc);
}

static void
test_measurement_pin(void **state)
{
	struct fixture f;
	struct attest_claims c;
	struct attest_policy pol = { .allow_dev = true };
	uint8_t other[32];
	const char *err;
	json_t *doc;

	(void)state;
	fixture_init(&f);
	doc = doc_build(&f);
	pol.expect_measurement = f.measurement;
	assert_int_equal(attest_verify_document(doc, f.nonce, f.nonce_len, &pol, &c, &err), 0);
	memcpy(other, f.measurement, 32);
	other[31] ^= 1;
	pol.expect_measurement = other;
	expect_fail(doc, &f, &pol, "measurement differs from the expected (pinned) measurement");
	json_decref(doc);
}

static void
test_decode_errors(void **state)
{
	static const struct {
		const char *key;
		const char *json;	/* replacement value; NULL = delete the key */
		const char *err;
	} cases[] = {
		{ "attestation_type", NULL, "attestation_type is missing or not a string" },
		{ "attestation_type", "3", "attestation_type is missing or not a string" },
		{ "hardware_backed", "\"false\"", "hardware_backed is missing or not a boolean" },
		{ "enclave_pubkey", "\"AAAA\"", "enclave_pubkey is not base64 of 32 bytes" },
		{ "enclave_pubkey", NULL, "enclave_pubkey is not base64 of 32 bytes" },
		{ "signing_pubkey", "\"not base64!\"", "signing_pubkey is not base64 of 32 bytes" },
		{ "measurement", "\"zz\"", "measurement is not hex of 32 bytes" },
		{ "report_data", "\"00\"", "report_data is not hex of 64 bytes" },
		{ "nonce", "\"abc\"", "nonce is not hex of at most 32 bytes" },
		{ "nonce", NULL, "nonce is not hex of at most 32 bytes" },
		{ "tls_spki_sha256", "7", "tls_spki_sha256 is neither null nor hex of 32 bytes" },
		{ "tls_spki_sha256", NULL, "tls_spki_sha256 is neither null nor hex of 32 bytes" },
		{ "quote", "\"@@@@\"", "quote is not base64 of at most 8 KiB" },
		{ "quote", NULL, "quote is not base64 of at most 8 KiB" },
		{ "attestation_type", "\"nitro\"", "unknown attestation_type" },
		{ "attestation_type", "\"dev\\u0000x\"", "attestation_type is missing or not a string" },
	};
	struct fixture f;
	json_t *doc, *arr;

	(void)state;
	fixture_init(&f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		doc = doc_build(&f);
		if (cases[i].json == NULL)
			json_object_del(doc, cases[i].key);
		else
			json_object_set_new(doc, cases[i].key, json_loads(cases[i].json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL));
		expect_fail(doc, &f, &dev_ok, cases[i].err);
		json_decref(doc);
	}
	arr = json_array();
	expect_fail(arr, &f, &dev_ok, "attestation document is not a JSON object");
	json_decref(arr);
}

/* An sgx_dcap document around the real sample quote. Its report_data is
 * "Hello, world!", which no key set binds to, so the best it can do is reach
 * the binding comparison after the quote itself verified. */
static json_t *
sgx_doc(const struct fixture *f, const uint8_t *quote, size_t len)
{
	json_t *doc = doc_build(f);

	json_object_set_new(doc, "attestation_type", json_string("sgx_dcap"));
	json_object_set_new(doc, "hardware_backed", json_true());
	set_b64(doc, "quote", quote, len);
	return doc;
}

static void
test_sgx(void **state)
{
	struct fixture f;
	struct attest_policy pol = { .verify_time = T_INSIDE };
	size_t len;
	uint8_t *quote = testvec_shared("tee-test-vectors/sgx_quote_v3.bin", &len);
	uint8_t *tdx;
	json_t *doc;

	(void)state;
	fixture_init(&f);
	doc = sgx_doc(&f, quote, len);
	expect_fail(doc, &f, &pol, "SGX quote report_data is not the binding of the document's keys and nonce");
	/* the certificate chain is checked at the policy's time */
	pol.verify_time = 1924992000;	/* 2031 */
	expect_fail(doc, &f, &pol, "PCK certificate chain does not verify to the Intel SGX Root CA");
	pol.verify_time = T_INSIDE;
	/* one flipped bit in the signed body */
	quote[100] ^= 1;
	set_b64(doc, "quote", quote, len);
	expect_fail(doc, &f, &pol, "quote signature does not verify with the attestation key");
	quote[100] ^= 1;
	set_b64(doc, "quote", quote, len - 1);
	expect_fail(doc, &f, &pol, "quote truncated in signature data");
	json_object_set_new(doc, "hardware_backed", json_false());
	expect_fail(doc, &f, &pol, "hardware_backed is false but sgx_dcap attestation is hardware-backed");
	json_decref(doc);
	/* dev evidence presented as sgx_dcap */
	doc = sgx_doc(&f, f.evidence, sizeof(f.evidence));
	expect_fail(doc, &f, &pol, "not an SGX v3 quote: unsupported version");
	json_decref(doc);
	tdx = testvec_shared("tee-test-vectors/tdx_quote_v4.bin", &len);
	doc = sgx_doc(&f, tdx, len);
	expect_fail(doc, &f, &pol, "not an SGX v3 quote: TDX quote (version 4)");
	json_decref(doc);
	free(tdx);
	free(quote);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dev_valid),
		cmocka_unit_test(test_dev_refused),
		cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_binding_tamper),
		cmocka_unit_test(test_evidence_tamper),
		cmocka_unit_test(test_measurement_pin),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_sgx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
