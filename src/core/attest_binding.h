/*
 * attest_binding: the 64 bytes that tie the enclave's keys (and the verifier's
 * nonce) to attestation evidence. One format for every TEE; it goes into SGX
 * report_data, the dev evidence, and later TDX/SNP inblob and Nitro user_data.
 *
 *   binding = SHA-512("PERFAGG-ATTEST-v1\0" || x25519_pub[32] || ed25519_pub[32]
 *                     || tls_spki_sha256[32] || u8 nonce_len || nonce[nonce_len])
 *
 * The label is hashed WITH its terminating NUL (18 bytes). tls_spki_sha256 is
 * SHA-256 of the DER SubjectPublicKeyInfo of the TLS certificate the daemon
 * serves, or 32 zero bytes when it serves plain HTTP. nonce is 0..32 bytes
 * chosen by the verifier.
 *
 * Lives in core/ (pure) because both the enclave (enclave/attest.h) and the
 * client-side verifier (core/attest_verify.h) compute it.
 */
#ifndef PERFAGG_CORE_ATTEST_BINDING_H
#define PERFAGG_CORE_ATTEST_BINDING_H

#include <stddef.h>
#include <stdint.h>

#define ATTEST_BINDING_BYTES 64
#define ATTEST_NONCE_MAX 32
#define ATTEST_BINDING_LABEL "PERFAGG-ATTEST-v1"	/* hashed with its NUL */

/* Computes the 64-byte binding above into out. nonce may be NULL when
 * nonce_len is 0; nonce_len > ATTEST_NONCE_MAX is a bug (aborts). */
void attest_binding(uint8_t out[ATTEST_BINDING_BYTES], const uint8_t x25519_pub[32],
    const uint8_t ed25519_pub[32], const uint8_t tls_spki_sha256[32], const uint8_t *nonce, size_t nonce_len);

#endif
