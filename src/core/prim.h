/*
 * prim: the cryptographic primitives Perf-Aggregator uses, as thin wrappers
 * over OpenSSL 3 with fixed sizes and one result convention.
 *
 * Every function returns 0 on success and -1 on failure (a failed
 * verification or decryption is -1 with no detail, on purpose). Outputs come
 * first, then (buf, len) inputs, then keys. Temporaries holding secrets are
 * wiped before return. Key material passed in is only read.
 */
#ifndef PERFAGG_CORE_PRIM_H
#define PERFAGG_CORE_PRIM_H

#include <stddef.h>
#include <stdint.h>

#define PRIM_X25519_BYTES 32
#define PRIM_ED25519_PUB_BYTES 32
#define PRIM_ED25519_SEED_BYTES 32	/* RFC 8032 private key (the seed) */
#define PRIM_ED25519_SIG_BYTES 64
#define PRIM_SHA256_BYTES 32
#define PRIM_SHA512_BYTES 64
#define PRIM_AES256_KEY_BYTES 32
#define PRIM_GCM_NONCE_BYTES 12
#define PRIM_GCM_TAG_BYTES 16

#define PRIM_WUR __attribute__((warn_unused_result))

/* Fills buf with len bytes from the OS CSPRNG (OpenSSL RAND_bytes). Aborts
 * if the generator fails: running on without randomness is never right. */
void prim_random(void *buf, size_t len);

/* SHA-256 / SHA-512 of (buf, len). */
void prim_sha256(uint8_t out[PRIM_SHA256_BYTES], const void *buf, size_t len);
void prim_sha512(uint8_t out[PRIM_SHA512_BYTES], const void *buf, size_t len);

/* X25519 (RFC 7748). pub_from_priv derives a public key. shared computes
 * X25519(priv, peer_pub) and REFUSES (-1) an all-zero result (small-order peer). */
PRIM_WUR int prim_x25519_public(uint8_t pub[PRIM_X25519_BYTES], const uint8_t priv[PRIM_X25519_BYTES]);
PRIM_WUR int prim_x25519_shared(uint8_t shared[PRIM_X25519_BYTES], const uint8_t priv[PRIM_X25519_BYTES],
    const uint8_t peer_pub[PRIM_X25519_BYTES]);
/* As prim_x25519_shared, for a caller that also holds its own public key
 * (own_pub must be the one that belongs to priv): OpenSSL then does not
 * recompute it, which halves the cost. */
PRIM_WUR int prim_x25519_shared_kp(uint8_t shared[PRIM_X25519_BYTES], const uint8_t priv[PRIM_X25519_BYTES],
    const uint8_t own_pub[PRIM_X25519_BYTES], const uint8_t peer_pub[PRIM_X25519_BYTES]);
/* Generates a fresh X25519 key pair. */
PRIM_WUR int prim_x25519_keygen(uint8_t priv[PRIM_X25519_BYTES], uint8_t pub[PRIM_X25519_BYTES]);

/* HKDF-SHA256 (RFC 5869): extract with salt, expand with info, out_len bytes (<= 255*32). */
PRIM_WUR int prim_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
    const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len);

/* AES-256-GCM with a 12-byte nonce and a 16-byte tag. ct/pt have the same
 * length as the input; they may alias it. open returns -1 on any
 * authentication failure and then leaves pt zeroed. */
PRIM_WUR int prim_aes256gcm_seal(uint8_t *ct, uint8_t tag[PRIM_GCM_TAG_BYTES], const uint8_t *pt, size_t len,
    const uint8_t *aad, size_t aad_len, const uint8_t nonce[PRIM_GCM_NONCE_BYTES],
    const uint8_t key[PRIM_AES256_KEY_BYTES]);
PRIM_WUR int prim_aes256gcm_open(uint8_t *pt, const uint8_t *ct, size_t len, const uint8_t tag[PRIM_GCM_TAG_BYTES],
    const uint8_t *aad, size_t aad_len, const uint8_t nonce[PRIM_GCM_NONCE_BYTES],
    const uint8_t key[PRIM_AES256_KEY_BYTES]);

/* Ed25519 (RFC 8032, pure). seed is the 32-byte private key. */
PRIM_WUR int prim_ed25519_public(uint8_t pub[PRIM_ED25519_PUB_BYTES], const uint8_t seed[PRIM_ED25519_SEED_BYTES]);
PRIM_WUR int prim_ed25519_keygen(uint8_t seed[PRIM_ED25519_SEED_BYTES], uint8_t pub[PRIM_ED25519_PUB_BYTES]);
PRIM_WUR int prim_ed25519_sign(uint8_t sig[PRIM_ED25519_SIG_BYTES], const uint8_t *msg, size_t len,
    const uint8_t seed[PRIM_ED25519_SEED_BYTES]);
PRIM_WUR int prim_ed25519_verify(const uint8_t sig[PRIM_ED25519_SIG_BYTES], const uint8_t *msg, size_t len,
    const uint8_t pub[PRIM_ED25519_PUB_BYTES]);

/* Constant-time equality of two len-byte buffers: returns 1 if equal, else 0. */
int prim_ct_equal(const void *a, const void *b, size_t len);

#endif
