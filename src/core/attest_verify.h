/*
 * attest_verify: client-side verification of the daemon's attestation
 * document, the JSON of GET /attestation/quote:
 *
 *   { "attestation_type": "dev" | "sgx_dcap",
 *     "hardware_backed":  bool (must agree with the type),
 *     "enclave_pubkey":   base64 of the 32-byte X25519 key,
 *     "signing_pubkey":   base64 of the 32-byte Ed25519 key,
 *     "measurement":      hex 32 (SHA-256 of the daemon executable),
 *     "report_data":      hex 64 (the binding, core/attest_binding.h),
 *     "nonce":            hex 0..32 bytes, "" for the cached start-up document,
 *     "tls_spki_sha256":  hex 32, or null for plain HTTP,
 *     "timestamp":        not checked here,
 *     "quote":            base64 of the evidence (dev: core/dev_evidence.h;
 *                         sgx_dcap: an SGX DCAP v3 quote, core/sgx_quote.h),
 *     "mrenclave":        hex 32, sgx_dcap only, optional; must match the quote }
 *
 * Checks, in order: strict decoding of every field; doc.nonce equals the
 * caller's nonce; report_data equals the binding recomputed from
 * enclave_pubkey, signing_pubkey, tls_spki_sha256 (null = 32 zero bytes) and
 * the caller's nonce; then by type:
 *   dev       refused unless policy->allow_dev; the evidence parses (exact
 *             length, magic, version); its report_data, measurement and
 *             signing_pub equal the document's; its Ed25519 signature verifies.
 *             The measurement compared to expect_measurement is doc.measurement.
 *   sgx_dcap  the quote parses and verifies (core/sgx_quote.h: PCK chain to the
 *             pinned Intel root at policy->verify_time, QE report, quote
 *             signature); its report_data equals the binding; DEBUG is refused
 *             unless policy->allow_debug. The measurement is MRENCLAVE.
 *             NOT checked: PCK revocation, QE identity, platform TCB status
 *             (needs Intel collateral; see core/sgx_quote.h).
 *   other     refused.
 * Finally, when policy->expect_measurement is set, the measurement must equal it.
 *
 * Pure: no I/O. The caller prints a loud warning when claims.hardware_backed
 * is false.
 */
#ifndef PERFAGG_CORE_ATTEST_VERIFY_H
#define PERFAGG_CORE_ATTEST_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct attest_policy {
	bool allow_dev;			/* accept the NOT hardware-backed dev evidence */
	bool allow_debug;		/* accept SGX enclaves with the DEBUG attribute */
	const uint8_t *expect_measurement;	/* 32 bytes, or NULL not to pin */
	int64_t verify_time;		/* certificate validity time, Unix seconds; 0 = now */
};

/* What a verified document establishes. */
struct attest_claims {
	char attestation_type[16];	/* "dev" or "sgx_dcap" */
	bool hardware_backed;
	uint8_t enclave_pub[32];	/* X25519: encrypt credentials to this */
	uint8_t signing_pub[32];	/* Ed25519: results are signed with this */
	uint8_t measurement[32];	/* dev: doc.measurement; sgx_dcap: MRENCLAVE */
	uint8_t report_data[64];	/* the binding */
	bool debug;			/* sgx_dcap: DEBUG attribute set; dev: false */
	uint8_t mr_signer[32];		/* sgx_dcap only, else zero */
	uint16_t isv_prod_id;		/* sgx_dcap only */
	uint16_t isv_svn;		/* sgx_dcap only */
	uint64_t timestamp_ms;		/* dev only: the signed evidence time */
};

/*
 * Verifies doc against the caller's nonce (nonce_len 0..32; nonce may be NULL
 * when nonce_len is 0) and policy. On success returns 0 and fills *out; on
 * failure returns -1, sets *errstr to a static string naming the failed check
 * and zeroes *out. doc is only read.
 */
int attest_verify_document(const json_t *doc, const uint8_t *nonce, size_t nonce_len,
    const struct attest_policy *policy, struct attest_claims *out, const char **errstr);

#endif
