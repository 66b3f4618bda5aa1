/*
 * attest: attestation providers (one const vtable each, chosen once at
 * start-up) and the binding of the enclave's keys into their evidence.
 *
 * Binding (one format for every TEE, docs/PROTOCOL.md):
 *   report_data = SHA-512("PERFAGG-ATTEST-v1\0" || x25519_pub[32] || ed25519_pub[32]
 *                         || tls_spki_sha256[32] || u8 nonce_len || nonce[nonce_len])
 * tls_spki_sha256 is SHA-256 of the DER SubjectPublicKeyInfo of the TLS
 * certificate the daemon serves, or 32 zero bytes when it serves plain HTTP.
 * nonce is 0..32 bytes chosen by the verifier.
 */
#ifndef PERFAGG_ENCLAVE_ATTEST_H
#define PERFAGG_ENCLAVE_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATTEST_BINDING_BYTES 64
#define ATTEST_NONCE_MAX 32
#define ATTEST_MEASUREMENT_BYTES 32	/* SHA-256 of the running executable */
#define ATTEST_BINDING_LABEL "PERFAGG-ATTEST-v1"	/* hashed with its NUL */

/* Computes the 64-byte binding above. nonce may be NULL when nonce_len is 0;
 * nonce_len > ATTEST_NONCE_MAX is a bug (aborts). */
void attest_binding(uint8_t out[ATTEST_BINDING_BYTES], const uint8_t x25519_pub[32],
    const uint8_t ed25519_pub[32], const uint8_t tls_spki_sha256[32], const uint8_t *nonce, size_t nonce_len);

/* Evidence produced by a provider: an opaque blob served as base64 in the
 * "quote" field. Owned; attest_evidence_clear() frees it. */
struct attest_evidence {
	uint8_t *blob;
	size_t blob_len;
};
void attest_evidence_clear(struct attest_evidence *ev);

/* What a provider may use to produce evidence. The signing key never leaves
 * the key store: providers that sign (dev) call sign(). */
struct attest_ctx {
	const char *root;	/* device root, e.g. "/dev/attestation"; tests point it at a temp dir */
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
	/* Returns 0 if the provider can run on this host (root readable, right type). */
	int (*probe)(const char *root, const char **errstr);
	/* Produces evidence carrying binding. Returns 0, or -1 with *errstr. */
	int (*get_evidence)(const struct attest_ctx *ctx, const uint8_t binding[ATTEST_BINDING_BYTES],
	    struct attest_evidence *out, const char **errstr);
};

extern const struct attest_provider attest_provider_dev;
extern const struct attest_provider attest_provider_gramine;

/* Looks a provider up by name; NULL if unknown. */
const struct attest_provider *attest_provider_find(const char *name);

#endif
