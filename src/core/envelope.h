/*
 * envelope: the credential envelope of POST /enclave/submit_key
 * (docs/PROTOCOL.md is the normative description).
 *
 *   shared = X25519(ephemeral_priv, enclave_pub)          all-zero refused
 *   key    = HKDF-SHA256(IKM = shared,
 *                        salt = ephemeral_pub || enclave_pub,
 *                        info = "perf-aggregator/v1/submit_key", L = 32)
 *   ciphertext, tag = AES-256-GCM(key, nonce[12], AAD = JCS(metadata), plaintext)
 *
 * Pure code: no I/O, no allocation of secrets (callers own every buffer, so
 * the enclave side can keep plaintext in guarded memory).
 */
#ifndef PERFAGG_CORE_ENVELOPE_H
#define PERFAGG_CORE_ENVELOPE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/prim.h"

#define ENVELOPE_INFO "perf-aggregator/v1/submit_key"
#define ENVELOPE_PUB_BYTES PRIM_X25519_BYTES
#define ENVELOPE_NONCE_BYTES PRIM_GCM_NONCE_BYTES
#define ENVELOPE_TAG_BYTES PRIM_GCM_TAG_BYTES
#define ENVELOPE_MAX_PLAINTEXT 16384

/* The wire envelope, binary fields decoded. ciphertext and metadata are owned
 * by the struct: envelope_clear() releases them. */
struct envelope {
	uint8_t ephemeral_pub[ENVELOPE_PUB_BYTES];
	uint8_t nonce[ENVELOPE_NONCE_BYTES];
	uint8_t tag[ENVELOPE_TAG_BYTES];
	uint8_t *ciphertext;
	size_t ciphertext_len;
	json_t *metadata;	/* the object exactly as received; AAD = jcs(metadata) */
};

/* The HKDF step above: key from the X25519 shared secret and both public keys. */
PRIM_WUR int envelope_derive_key(uint8_t key[PRIM_AES256_KEY_BYTES], const uint8_t shared[32],
    const uint8_t ephemeral_pub[32], const uint8_t enclave_pub[32]);

/*
 * Client side: encrypts (pt, pt_len) to enclave_pub with a fresh ephemeral
 * key and nonce, AAD = jcs(metadata). Fills env (ciphertext allocated with
 * malloc; metadata gets a new reference). Returns 0, or -1 with *errstr.
 */
int envelope_seal(struct envelope *env, const uint8_t enclave_pub[32], const json_t *metadata,
    const uint8_t *pt, size_t pt_len, const char **errstr);

/* Deterministic variant for known-answer tests: the caller gives the
 * ephemeral private key and the nonce. */
int envelope_seal_with(struct envelope *env, const uint8_t enclave_pub[32], const json_t *metadata,
    const uint8_t *pt, size_t pt_len, const uint8_t ephemeral_priv[32], const uint8_t nonce[12],
    const char **errstr);

/*
 * Enclave side: decrypts env with the enclave key pair into pt, which must
 * hold env->ciphertext_len bytes (the caller puts it in guarded memory).
 * Returns 0, or -1 for ANY failure (zero shared secret, bad tag, AAD
 * mismatch): one generic failure, no detail, pt wiped.
 */
PRIM_WUR int envelope_open(uint8_t *pt, const struct envelope *env, const uint8_t enclave_priv[32],
    const uint8_t enclave_pub[32]);

/* Parses the JSON request body {ephemeral_pub, nonce, ciphertext, tag, metadata}
 * (binary fields standard base64, metadata an object) into env. Unknown
 * top-level members are refused. Returns 0, or -1 with *errstr naming the field. */
int envelope_from_json(struct envelope *env, const json_t *body, const char **errstr);

/* Builds the JSON request body from env (new reference). */
json_t *envelope_to_json(const struct envelope *env);

/* Releases what env owns and zeroes it; safe on a zeroed struct. */
void envelope_clear(struct envelope *env);

#endif
