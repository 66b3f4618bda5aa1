#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "core/sgx_quote.h"
#include "core/sgx_root_ca.h"
#include "../testvec.h"

#define QUOTE_FILE "tee-test-vectors/sgx_quote_v3.bin"
#define QUOTE_LEN 4600
#define T_INSIDE 1751328000	/* 2025-07-01T00:00:00Z, inside the collateral window */
#define QE_REPORT_OFF (SGX_QUOTE_SIGNED_BYTES + 4 + 64 + 64)

static uint8_t *quote;
static size_t quote_len;

static int
setup(void **state)
{
	(void)state;
	quote = testvec_shared(QUOTE_FILE, &quote_len);
	return quote_len == QUOTE_LEN ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	free(quote);
	return 0;
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

/* Parses a copy of exactly len bytes and, when that works, verifies it.
 * Returns 0 only if both pass. */
static int
parse_verify(const uint8_t *buf, size_t len, int64_t t, const char **err)
{
	struct sgx_quote q;
	uint8_t *copy = testvec_dup(buf, len);
	int rc;

	*err = NULL;
	rc = sgx_quote_parse(&q, copy, len, err);
	if (rc == 0)
		rc = sgx_quote_verify(&q, t, err);
	free(copy);
	if (rc == -1)
		assert_non_null(*err);
	return rc;
}

static void
test_root_pin(void **state)
{
	uint8_t md[32];
	size_t len;
	uint8_t *file = testvec_shared("tee-test-vectors/intel_sgx_root_ca.der", &len);

	(void)state;
	assert_int_equal(EVP_Digest(sgx_root_ca_der, sgx_root_ca_der_len, md, NULL, EVP_sha256(), NULL), 1);
	testvec_assert_hex(md, 32, "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
	testvec_assert_hex(sgx_root_ca_sha256, 32, "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
	assert_int_equal(len, sgx_root_ca_der_len);
	assert_memory_equal(file, sgx_root_ca_der, len);
	free(file);
}

static void
test_parse_sample(void **state)
{
	struct sgx_quote q;
	const char *err = NULL;
	uint8_t want_rd[64] = "Hello, world!";

	(void)state;
	assert_int_equal(sgx_quote_parse(&q, quote, quote_len, &err), 0);
	assert_int_equal(q.version, 3);
	assert_int_equal(q.att_key_type, 2);
	assert_int_equal(q.att_key_data_0, 0);
	assert_int_equal(q.qe_svn, 10);
	assert_int_equal(q.pce_svn, 15);
	testvec_assert_hex(q.qe_vendor_id, 16, "939a7233f79c4ca9940a0db3957f0607");
	testvec_assert_hex(q.report.mr_enclave, 32, "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
	testvec_assert_hex(q.report.mr_signer, 32, "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
	assert_int_equal(q.report.attributes[0], 0x05);
	assert_false(q.report.debug);
	assert_int_equal(q.report.isv_prod_id, 0);
	assert_int_equal(q.report.isv_svn, 0);
	assert_memory_equal(q.report.report_data, want_rd, 64);
	testvec_assert_hex(q.qe_report.mr_signer, 32, "8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff");
	assert_int_equal(q.qe_report.isv_prod_id, 1);
	assert_int_equal(q.qe_auth_len, 32);
	assert_int_equal(q.cert_type, 5);
	assert_int_equal(q.cert_len, 3548);
	assert_ptr_equal(q.qe_report_raw, quote + QE_REPORT_OFF);
}

static void
test_verify_sample(void **state)
{
	const char *err = NULL;

	(void)state;
	assert_int_equal(parse_verify(quote, quote_len, T_INSIDE, &err), 0);
	assert_null(err);
	assert_int_equal(parse_verify(quote, quote_len, 1750291200 /* 2025-06-19 */, &err), 0);
	assert_int_equal(parse_verify(quote, quote_len, 1752883200 /* 2025-07-19 */, &err), 0);
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_verify_time(void **state)
{
	const char *err;

	(void)state;
	/* The PCK leaf is valid 2023-09-20 .. 2030-09-20. */
	assert_int_equal(parse_verify(quote, quote_len, 1672531200 /* 2023-01-01 */, &err), -1);
	assert_string_equal(err, "PCK certificate chain does not verify to the Intel SGX Root CA");
	assert_int_equal(parse_verify(quote, quote_len, 1924992000 /* 2031-01-01 */, &err), -1);
	assert_string_equal(err, "PCK certificate chain does not verify to the Intel SGX Root CA");
	assert_int_equal(ERR_peek_error(), 0);
}

static void
test_debug_bit(void **state)
{
	struct sgx_quote q;
	const char *err;
	uint8_t *copy = testvec_dup(quote, quote_len);

	(void)state;
	copy[SGX_QUOTE_HEADER_BYTES + 48] |= SGX_ATTR_DEBUG;
	assert_int_equal(sgx_quote_parse(&q, copy, quote_len, &err), 0);
	assert_true(q.report.debug);
	/* the attributes are signed: setting DEBUG breaks the quote signature */
	assert_int_equal(sgx_quote_verify(&q, T_INSIDE, &err), -1);
	assert_string_equal(err, "quote signature does not verify with the attestation key");
	free(copy);
}

static void
test_flip_signed_region(void **state)
{
	uint8_t *copy = testvec_dup(quote, quote_len);
	const char *err;

	(void)state;
	for (size_t i = 0; i < SGX_QUOTE_SIGNED_BYTES; i++) {
		copy[i] ^= 0x01;
		if (parse_verify(copy, quote_len, T_INSIDE, &err) != -1)
			fail_msg("flip at byte %zu accepted", i);
		copy[i] ^= 0x01;
	}
	free(copy);
}

static void
test_flip_signature_data(void **state)
{
	uint8_t *copy = testvec_dup(quote, quote_len);
	const char *err;
	/* each range: offset, length, expected error (NULL = any) */
	static const struct { size_t off, len; const char *err; } r[] = {
		{ SGX_QUOTE_SIGNED_BYTES + 4, 64, "quote signature does not verify with the attestation key" },
		{ SGX_QUOTE_SIGNED_BYTES + 4 + 64, 64, NULL },	/* attest key: QE hash or point */
		{ QE_REPORT_OFF, SGX_REPORT_BODY_BYTES, NULL },
		{ QE_REPORT_OFF + SGX_REPORT_BODY_BYTES, 64, "QE report signature does not verify with the PCK key" },
		{ QE_REPORT_OFF + SGX_REPORT_BODY_BYTES + 64 + 2, 32,
		  "QE report_data does not hash the attestation key and QE auth data" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(r) / sizeof(r[0]); k++) {
		for (size_t i = r[k].off; i < r[k].off + r[k].len; i += 3) {
			copy[i] ^= 0x80;
			if (parse_verify(copy, quote_len, T_INSIDE, &err) != -1)
				fail_msg("flip at byte %zu accepted", i);
			if (r[k].err != NULL)
				assert_string_equal(err, r[k].err);
			copy[i] ^= 0x80;
		}
	}
	/* the QE report's own report_data: caught by the QE signature first */
	copy[QE_REPORT_OFF + 320] ^= 1;
	assert_int_equal(parse_verify(copy, quote_len, T_INSIDE, &err), -1);
	assert_string_equal(err, "QE report signature does not verify with the PCK key");
	copy[QE_REPORT_OFF + 320] ^= 1;
	/* the base64 body of the leaf certificate */
	copy[QE_REPORT_OFF + SGX_REPORT_BODY_BYTES + 64 + 2 + 32 + 6 + 200] ^= 0x01;
	assert_int_equal(parse_verify(copy, quote_len, T_INSIDE, &err), -1);
	free(copy);
}

static void
test_truncation(void **state)
{
	struct sgx_quote q;
	const char *err;

	(void)state;
	/* every shorter length fails to parse; each copy is exact-size for ASan */
	for (size_t len = 0; len < quote_len; len++) {
		uint8_t *copy = testvec_dup(quote, len);
		err = NULL;
		if (sgx_quote_parse(&q, copy, len, &err) != -1)
			fail_msg("truncation at %zu accepted", len);
		assert_non_null(err);
		free(copy);
	}
	/* the same with signature_data_len adjusted to the truncation, so the
	 * inner lengths (QE auth, certification data) are what must catch it */
	for (size_t len = SGX_QUOTE_SIGNED_BYTES + 4; len < quote_len; len++) {
		uint8_t *copy = testvec_dup(quote, len);
		put_le32(copy + SGX_QUOTE_SIGNED_BYTES, (uint32_t)(len - SGX_QUOTE_SIGNED_BYTES - 4));
		err = NULL;
		if (sgx_quote_parse(&q, copy, len, &err) != -1)
			fail_msg("inner truncation at %zu accepted", len);
		assert_non_null(err);
		free(copy);
	}
}

static void
test_length_fields(void **state)
{
	uint8_t *big = testvec_dup(quote, quote_len);
	struct sgx_quote q;
	const char *err;
	size_t auth_off = QE_REPORT_OFF + SGX_REPORT_BODY_BYTES + 64;
	size_t cert_off = auth_off + 2 + 32;

	(void)state;
	/* huge QE auth length, huge certification data size */
	big[auth_off] = 0xff;
	big[auth_off + 1] = 0xff;
	assert_int_equal(sgx_quote_parse(&q, big, quote_len, &err), -1);
	assert_string_equal(err, "signature data truncated in QE auth data");
	memcpy(big, quote, quote_len);
	put_le32(big + cert_off + 2, 0xffffffffu);
	assert_int_equal(sgx_quote_parse(&q, big, quote_len, &err), -1);
	assert_string_equal(err, "signature data truncated in certification data");
	memcpy(big, quote, quote_len);
	put_le32(big + SGX_QUOTE_SIGNED_BYTES, 0xffffffffu);
	assert_int_equal(sgx_quote_parse(&q, big, quote_len, &err), -1);
	assert_string_equal(err, "quote truncated in signature data");
	/* certification data type other than 5 */
	memcpy(big, quote, quote_len);
	big[cert_off] = 4;
	assert_int_equal(sgx_quote_parse(&q, big, quote_len, &err), -1);
	assert_string_equal(err, "unsupported certification data type (want 5, PCK chain)");
	free(big);
}

static void
test_trailing(void **state)
{
	uint8_t *big = malloc(quote_len + 1);
	struct sgx_quote q;
	const char *err;

	(void)state;
	assert_non_null(big);
	memcpy(big, quote, quote_len);
	big[quote_len] = 0;
	assert_int_equal(sgx_quote_parse(&q, big, quote_len + 1, &err), -1);
	assert_string_equal(err, "trailing bytes after signature data");
	/* extra byte counted by signature_data_len but by none of its parts */
	put_le32(big + SGX_QUOTE_SIGNED_BYTES, 4164 + 1);
	assert_int_equal(sgx_quote_parse(&q, big, quote_len + 1, &err), -1);
	assert_string_equal(err, "trailing bytes inside signature data");
	free(big);
}

static void
test_header_checks(void **state)
{
	uint8_t *copy = testvec_dup(quote, quote_len);
	struct sgx_quote q;
	const char *err;

	(void)state;
	copy[0] = 2;
	assert_int_equal(sgx_quote_parse(&q, copy, quote_len, &err), -1);
	assert_string_equal(err, "not an SGX v3 quote: unsupported version");
	copy[0] = 4;	/* SGX v4 (tee_type 0) is not v3 either */
	assert_int_equal(sgx_quote_parse(&q, copy, quote_len, &err), -1);
	assert_string_equal(err, "not an SGX v3 quote: unsupported version");
	copy[0] = 3;
	copy[2] = 3;	/* ECDSA P-384 */
	assert_int_equal(sgx_quote_parse(&q, copy, quote_len, &err), 0);
	assert_int_equal(sgx_quote_verify(&q, T_INSIDE, &err), -1);
	assert_string_equal(err, "quote attestation key type is not ECDSA P-256");
	copy[2] = 2;
	copy[12] ^= 1;	/* QE vendor id */
	assert_int_equal(sgx_quote_parse(&q, copy, quote_len, &err), 0);
	assert_int_equal(sgx_quote_verify(&q, T_INSIDE, &err), -1);
	assert_string_equal(err, "quote QE vendor id is not Intel's");
	free(copy);
}

static void
test_tdx_refused(void **state)
{
	struct sgx_quote q;
	const char *err;
	size_t len;
	uint8_t *tdx = testvec_shared("tee-test-vectors/tdx_quote_v4.bin", &len);

	(void)state;
	assert_int_equal(sgx_quote_parse(&q, tdx, len, &err), -1);
	assert_string_equal(err, "not an SGX v3 quote: TDX quote (version 4)");
	free(tdx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_pin),
		cmocka_unit_test(test_parse_sample),
		cmocka_unit_test(test_verify_sample),
		cmocka_unit_test(test_verify_time),
		cmocka_unit_test(test_debug_bit),
		cmocka_unit_test(test_flip_signed_region),
		cmocka_unit_test(test_flip_signature_data),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_length_fields),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_tdx_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
