/*
 * attest: attestation providers (one const vtable each, chosen once at
 * start-up) and the binding of the enclave's keys into their evidence.
 *
 * Binding: attest_binding() in core/attest_binding.h (it lives in core/ because
 * the client-side verifier computes it too):
 *   report_data = SHA-512("PERFAGG-ATTEST-v1\0" || x25519_pub[32] || ed25519_pub[32]
 *                         || tls_spki_sha256[32] || u8 nonce_len || nonce[nonce_len])
 *
 * Providers and their evidence (the base64 "quote" of GET /attestation/quote):
 *   dev      attestation_type "dev", NOT hardware-backed. Evidence is exactly
 *            221 bytes, integers big-endian (core/dev_evidence.h):
 *              magic "PERFAGG-DEV-NOT-HW\0" (19) | u16 version = 1
 *              | report_data[64] | measurement[32] | u64 timestamp_ms
 *              | signing_pub[32] | Ed25519 signature[64] over all preceding bytes,
 *            signed through attest_ctx.sign. Needs no device: probe always passes.
 *   gramine  attestation_type "sgx_dcap", hardware-backed; Gramine's
 *            /dev/attestation (root injectable). probe: <root>/attestation_type
 *            reads "dcap". get_evidence: writes the binding to
 *            <root>/user_report_data, reads <root>/quote (at most 8 KiB), parses
 *            it as an SGX DCAP v3 quote (core/sgx_quote.h) and requires its
 *            report_data to equal the binding. The quote is not verified here
 *            (that is the client's job, core/attest_verify.h).
 */
#ifndef PERFAGG_ENCLAVE_ATTEST_H
#define PERFAGG_ENCLAVE_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/attest_binding.h"

#define ATTEST_MEASUREMENT_BYTES 32	/* SHA-256 of the running executable */

/* Evidence produced by a provider: an opaque blob served as base64 in the
 * "quote" field. Owned; attest_evidence_clear() frees the blob and zeroes the
 * struct (safe on a zeroed or already cleared struct). */
struct attest_evidence {
	uint8_t *blob;
	size_t blob_len;
};
void attest_evidence_clear(struct attest_evidence *ev);

/* What a provider may use to produce evidence. The signing key never leaves
 * the key store: providers that sign (dev) call sign(). */
struct attest_ctx {
	const char *root;	/* device root, e.g. "/dev/attestation"; tests point it at a temp dir;
				 * NULL means the provider's default_root */
	/* Ed25519-signs (msg, len) into sig; returns 0, or -1 on failure. */
	int (*sign)(void *sign_arg, uint8_t sig[64], const uint8_t *msg, size_t len);
	void *sign_arg;
	uint8_t signing_pub[32];	/* Ed25519 public key matching sign() */
	uint8_t measurement[ATTEST_MEASUREMENT_BYTES];
	int64_t now_ms;
};

struct attest_provider {
	const char *name;	/* "dev", "gramine": the ATTESTATION_PROVIDER setting */
	const char *attestation_type;	/* the JSON attestation_type, e.g. "dev", "sgx_dcap" */
	bool hardware_backed;
	const char *default_root;
	/* Returns 0 if the provider can run on this host (root readable, right
	 * type), else -1 with *errstr. root NULL means default_root. */
	int (*probe)(const char *root, const char **errstr);
	/* Produces evidence carrying binding into *out (which the caller then
	 * owns). Returns 0, or -1 with *errstr and *out left empty. */
	int (*get_evidence)(const struct attest_ctx *ctx, const uint8_t binding[ATTEST_BINDING_BYTES],
	    struct attest_evidence *out, const char **errstr);
};

extern const struct attest_provider attest_provider_dev;
extern const struct attest_provider attest_provider_gramine;

/* Looks a provider up by name ("dev", "gramine"); NULL if unknown. */
const struct attest_provider *attest_provider_find(const char *name);

#endif
