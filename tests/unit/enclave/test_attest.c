#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "core/dev_evidence.h"
#include "core/prim.h"
#include "core/sgx_quote.h"
#include "enclave/attest.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "../testvec.h"

#define REPORT_DATA_OFF (SGX_QUOTE_HEADER_BYTES + 320)

static void
fill(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

/* ---- binding ---- */

static void
test_binding_kat(void **state)
{
	uint8_t x[32], e[32], t[32], nonce[16], zero[32] = { 0 };
	uint8_t got[64], want[64], buf[18 + 96 + 1 + 32];
	size_t n = 0;

	(void)state;
	fill(x, 32, 0);
	fill(e, 32, 32);
	fill(t, 32, 64);
	fill(nonce, 16, 0xa0);
	/* independent computation: OpenSSL SHA-512 over a hand-built buffer */
	memcpy(buf, "PERFAGG-ATTEST-v1", 17);
	buf[17] = 0;
	n = 18;
	memcpy(buf + n, x, 32);
	memcpy(buf + n + 32, e, 32);
	memcpy(buf + n + 64, t, 32);
	n += 96;
	buf[n++] = 16;
	memcpy(buf + n, nonce, 16);
	n += 16;
	SHA512(buf, n, want);
	attest_binding(got, x, e, t, nonce, sizeof(nonce));
	assert_memory_equal(got, want, 64);
	/* and a literal from Python hashlib.sha512 over the same bytes */
	testvec_assert_hex(got, 64, "9e53b1222e95c0822587c7d78bf3f07550a5ee9cee771420be20e11fd56fd814"
	    "57d68af022e0c54ddb4c7f7ee243a954e5f954b2fabfebb3789658b3f8f5000f");
	/* empty nonce (NULL), plain HTTP (zero SPKI hash) */
	attest_binding(got, x, e, zero, NULL, 0);
	testvec_assert_hex(got, 64, "9ec8df8e01c20602262a65cfab08165b0ae17579f31116ac9a966928a17b1901"
	    "8a5a4681c8f1b132c86c487e05da89ef15019e838a6c250d7d2e92f8977554e7");
	/* every input matters: swapping the two keys changes the result */
	attest_binding(want, e, x, zero, NULL, 0);
	assert_memory_not_equal(got, want, 64);
	/* the nonce length is bound: a 1-byte zero nonce differs from no nonce */
	attest_binding(want, x, e, zero, zero, 1);
	assert_memory_not_equal(got, want, 64);
	attest_binding(got, x, e, zero, zero, ATTEST_NONCE_MAX);	/* max length is allowed */
}

/* ---- registry ---- */

static void
test_provider_find(void **state)
{
	struct attest_evidence ev = { 0 };

	(void)state;
	assert_ptr_equal(attest_provider_find("dev"), &attest_provider_dev);
	assert_ptr_equal(attest_provider_find("gramine"), &attest_provider_gramine);
	assert_null(attest_provider_find("sgx_dcap"));	/* a type, not a provider name */
	assert_null(attest_provider_find(""));
	assert_null(attest_provider_find(NULL));
	assert_string_equal(attest_provider_dev.attestation_type, "dev");
	assert_false(attest_provider_dev.hardware_backed);
	assert_string_equal(attest_provider_gramine.attestation_type, "sgx_dcap");
	assert_true(attest_provider_gramine.hardware_backed);
	assert_string_equal(attest_provider_gramine.default_root, "/dev/attestation");
	attest_evidence_clear(&ev);	/* empty and twice: both no-ops */
	ev.blob = xmalloc(3);
	ev.blob_len = 3;
	attest_evidence_clear(&ev);
	assert_null(ev.blob);
	assert_int_equal(ev.blob_len, 0);
	attest_evidence_clear(&ev);
	attest_evidence_clear(NULL);
}

/* ---- dev provider ---- */

struct signer {
	uint8_t seed[32];
	int fail;
};

static int
test_sign(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	struct signer *s = arg;

	if (s->fail)
		return -1;
	return prim_ed25519_sign(sig, msg, len, s->seed);
}

static void
make_ctx(struct attest_ctx *ctx, struct signer *s, const char *root)
{
	memset(ctx, 0, sizeof(*ctx));
	memset(s, 0, sizeof(*s));
	assert_int_equal(prim_ed25519_keygen(s->seed, ctx->signing_pub), 0);
	ctx->root = root;
	ctx->sign = test_sign;
	ctx->sign_arg = s;
	fill(ctx->measurement, 32, 0x40);
	ctx->now_ms = 1751328000123;
}

static void
test_dev_roundtrip(void **state)
{
	struct attest_ctx ctx;
	struct signer s;
	struct attest_evidence ev = { 0 };
	struct dev_evidence d;
	uint8_t binding[64];
	const char *err = NULL;

	(void)state;
	make_ctx(&ctx, &s, NULL);
	fill(binding, 64, 0x80);
	assert_int_equal(attest_provider_dev.probe(NULL, &err), 0);
	assert_int_equal(attest_provider_dev.get_evidence(&ctx, binding, &ev, &err), 0);
	assert_int_equal(ev.blob_len, 221);
	/* the exact layout, byte by byte */
	assert_memory_equal(ev.blob, "PERFAGG-DEV-NOT-HW\0", 19);
	assert_int_equal(ev.blob[19], 0);
	assert_int_equal(ev.blob[20], 1);
	assert_memory_equal(ev.blob + 21, binding, 64);
	assert_memory_equal(ev.blob + 85, ctx.measurement, 32);
	testvec_assert_hex(ev.blob + 117, 8, "00000197c348887b");	/* 1751328000123 big-endian */
	assert_memory_equal(ev.blob + 125, ctx.signing_pub, 32);
	assert_int_equal(prim_ed25519_verify(ev.blob + 157, ev.blob, 157, ctx.signing_pub), 0);
	/* and through the shared parser */
	assert_int_equal(dev_evidence_parse(&d, ev.blob, ev.blob_len, &err), 0);
	assert_int_equal(d.timestamp_ms, 1751328000123ULL);
	assert_memory_equal(d.report_data, binding, 64);
	assert_int_equal(dev_evidence_verify(&d, &err), 0);
	d.timestamp_ms++;
	assert_int_equal(dev_evidence_verify(&d, &err), -1);
	assert_string_equal(err, "dev evidence signature does not verify with its signing key");
	attest_evidence_clear(&ev);
	/* a failing signer is an error, and leaves no evidence behind */
	s.fail = 1;
	assert_int_equal(attest_provider_dev.get_evidence(&ctx, binding, &ev, &err), -1);
	assert_string_equal(err, "dev evidence: signing failed");
	assert_null(ev.blob);
}

/* ---- gramine provider on a fake /dev/attestation ---- */

struct tree {
	char dir[64];
};

static char *
tree_path(const struct tree *t, const char *name)
{
	return xasprintf("%s/%s", t->dir, name);
}

static void
tree_put(const struct tree *t, const char *name, const void *buf, size_t len)
{
	char *p = tree_path(t, name);
	FILE *f = fopen(p, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(p);
}

static void
tree_rm(const struct tree *t, const char *name)
{
	char *p = tree_path(t, name);

	unlink(p);
	free(p);
}

static uint8_t *
tree_get(const struct tree *t, const char *name, size_t *len)
{
	char *p = tree_path(t, name);
	const char *err;
	uint8_t *buf = file_read_all(p, 1 << 16, len, &err);

	free(p);
	return buf;
}

static int
tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/perfagg-attest-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	*state = t;
	return 0;
}

static int
tree_teardown(void **state)
{
	struct tree *t = *state;

	tree_rm(t, "attestation_type");
	tree_rm(t, "user_report_data");
	tree_rm(t, "quote");
	rmdir(t->dir);
	free(t);
	return 0;
}

/* The real sample quote with its report_data replaced by binding: it parses,
 * and its signature no longer verifies (irrelevant to the provider). */
static uint8_t *
synthetic_quote(const uint8_t binding[64], size_t *len)
{
	uint8_t *q = testvec_shared("tee-test-vectors/sgx_quote_v3.bin", len);

	memcpy(q + REPORT_DATA_OFF, binding, 64);
	return q;
}

static void
test_gramine_ok(void **state)
{
	struct tree *t = *state;
	struct attest_ctx ctx;
	struct signer s;
	struct attest_evidence ev = { 0 };
	uint8_t binding[64], *q, *urd;
	size_t qlen, urdlen;
	const char *err = NULL;

	make_ctx(&ctx, &s, t->dir);
	fill(binding, 64, 0x11);
	q = synthetic_quote(binding, &qlen);
	tree_put(t, "attestation_type", "dcap", 4);
	tree_put(t, "user_report_data", "", 0);
	tree_put(t, "quote", q, qlen);
	assert_int_equal(attest_provider_gramine.probe(t->dir, &err), 0);
	assert_int_equal(attest_provider_gramine.get_evidence(&ctx, binding, &ev, &err), 0);
	assert_int_equal(ev.blob_len, qlen);
	assert_memory_equal(ev.blob, q, qlen);
	/* the binding went to user_report_data */
	urd = tree_get(t, "user_report_data", &urdlen);
	assert_non_null(urd);
	assert_int_equal(urdlen, 64);
	assert_memory_equal(urd, binding, 64);
	attest_evidence_clear(&ev);
	free(urd);
	free(q);
}

static void
test_gramine_type(void **state)
{
	struct tree *t = *state;
	struct attest_ctx ctx;
	struct signer s;
	struct attest_evidence ev = { 0 };
	uint8_t binding[64] = { 0 };
	const char *err = NULL;

	make_ctx(&ctx, &s, t->dir);
	tree_put(t, "user_report_data", "", 0);
	/* no attestation_type at all (not under Gramine) */
	assert_int_equal(attest_provider_gramine.probe(t->dir, &err), -1);
	assert_string_equal(err, "gramine: cannot read attestation_type (not running under Gramine SGX?)");
	tree_put(t, "attestation_type", "none", 4);
	assert_int_equal(attest_provider_gramine.probe(t->dir, &err), -1);
	assert_string_equal(err, "gramine: attestation_type is not \"dcap\" (set sgx.remote_attestation = \"dcap\")");
	assert_int_equal(attest_provider_gramine.get_evidence(&ctx, binding, &ev, &err), -1);
	assert_null(ev.blob);
	tree_put(t, "attestation_type", "dcapx", 5);
	assert_int_equal(attest_provider_gramine.probe(t->dir, &err), -1);
	tree_put(t, "attestation_type", "dcap\n", 5);
	assert_int_equal(attest_provider_gramine.probe(t->dir, &err), 0);
}

static void
test_gramine_errors(void **state)
{
	struct tree *t = *state;
	struct attest_ctx ctx;
	struct signer s;
	struct attest_evidence ev = { 0 };
	uint8_t binding[64], other[64], *q, *big;
	size_t qlen;
	const char *err = NULL;

	make_ctx(&ctx, &s, t->dir);
	fill(binding, 64, 0x22);
	q = synthetic_quote(binding, &qlen);
	tree_put(t, "attestation_type", "dcap", 4);

	/* no user_report_data file: it is never created */
	tree_put(t, "quote", q, qlen);
	assert_int_equal(attest_provider_gramine.get_evidence(&ctx, binding, &ev, &err), -1);
	assert_string_equal(err, "gramine: cannot write user_report_data");
	tree_put(t, "user_report_data", "", 0);

	/* missing quote */
	tree_rm(t, "quote");
	assert_int_equal(attest_provider_gramine.get_evidence(&ctx, binding, &ev, &err), -1);
	assert_string_equal(err, "gramine: cannot read quote (or larger than 8 KiB)");

	/* truncated quote */
	tree_put(t, "quote", q, qlen - 100);
	assert_int_equal(attest_provider_gramine.get_evidence(&ctx, binding, &ev, &err), -1);
	assert_string_equal(err, "quote truncated in signature data");
	tree_put(t, "quote", q, 40);
	assert_int_equal(attest_provider_gramine.get_evidence(&ctx, binding, &ev, &err), -1);
	assert_string_equal(err, "quote shorter than its header");

	/* over 8 KiB */
	big = xcalloc(1, SGX_QUOTE_MAX_BYTES + 1);
	memcpy(big, q, qlen);
	tree_put(t, "quote", big, SGX_QUOTE_MAX_BYTES + 1);
	assert_int_equal(attest_provider_gramine.get_evidence(&ctx, binding, &ev, &err), -1);
	assert_string_equal(err, "gramine: cannot read quote (or larger than 8 KiB)");
	free(big);

	/* report_data is not our binding */
	tree_put(t, "quote", q, qlen);
	memcpy(other, binding, 64);
	other[63] ^= 1;
	assert_int_equal(attest_provider_gramine.get_evidence(&ctx, other, &ev, &err), -1);
	assert_string_equal(err, "gramine: quote report_data does not carry our binding");

	/* a TDX quote is refused by the parser */
	free(q);
	q = testvec_shared("tee-test-vectors/tdx_quote_v4.bin", &qlen);
	tree_put(t, "quote", q, qlen);
	assert_int_equal(attest_provider_gramine.get_evidence(&ctx, binding, &ev, &err), -1);
	assert_string_equal(err, "not an SGX v3 quote: TDX quote (version 4)");
	assert_null(ev.blob);
	free(q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binding_kat),
		cmocka_unit_test(test_provider_find),
		cmocka_unit_test(test_dev_roundtrip),
		cmocka_unit_test_setup_teardown(test_gramine_ok, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_gramine_type, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_gramine_errors, tree_setup, tree_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
