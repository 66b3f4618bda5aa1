/*
 * keys: the enclave's two long-term key pairs.
 *
 *  - X25519, for credential envelopes (envelope.h);
 *  - Ed25519, for signing evidence and results.
 *
 * Private keys live only in guarded memory (struct secret) and never leave
 * this module: callers ask it to open an envelope or to sign. Keys are either
 * generated at start (memory only) or loaded from PEM files: the private file
 * holds both keys as PKCS#8 ("PRIVATE KEY" blocks, any order), the public file
 * both as SubjectPublicKeyInfo ("PUBLIC KEY" blocks) and must match.
 * THREAD SAFETY: after creation, every function is thread-safe.
 */
#ifndef PERFAGG_ENCLAVE_KEYS_H
#define PERFAGG_ENCLAVE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/envelope.h"

#define KEYS_ID_HEX_LEN 16	/* key id: hex of the first 8 bytes of SHA-256(Ed25519 public key) */

struct keys;

/* Generates both key pairs. Returns NULL only if the generator fails. */
struct keys *keys_generate(void);

/* Loads both key pairs from PEM files (public_path may be NULL: the public
 * keys are then derived). Returns NULL with *errstr on a missing, malformed,
 * incomplete or mismatched file. */
struct keys *keys_load(const char *private_path, const char *public_path, const char **errstr);

/* Writes both key pairs as PEM to new files (private file mode 0600). Never
 * overwrites: if either path exists, -1 with *errstr naming which, and
 * neither file is written. Returns 0 or -1. */
int keys_save(struct keys *k, const char *private_path, const char *public_path, const char **errstr);

/* Wipes and frees; NULL is a no-op. */
void keys_free(struct keys *k);

/* Both private keys as 64 raw bytes: X25519 private key || Ed25519 seed.
 * keys_import builds key pairs from them (priv is the caller's, in guarded
 * memory; copied); NULL only if they are invalid. keys_export writes them
 * into out (the caller's guarded memory): only the audited handover
 * (enclave/handover.h) releases them. Returns 0 or -1. */
#define KEYS_PRIVATE_BYTES 64
struct keys *keys_import(const uint8_t priv[KEYS_PRIVATE_BYTES]);
int keys_export(struct keys *k, uint8_t out[KEYS_PRIVATE_BYTES]);

/* The key epoch (core/signed.h): 1 unless set; set once at start, before
 * the key is shared between threads. */
uint64_t keys_epoch(const struct keys *k);
void keys_set_epoch(struct keys *k, uint64_t epoch);

/* After a handover released the keys: keys_sign refuses from now on (the
 * new instance signs under the next epoch); keys_sign_log still signs the
 * audit log's own checkpoints until this instance stops. Thread-safe. */
void keys_retire(struct keys *k);
bool keys_retired(const struct keys *k);

/* Public keys (32 bytes each, owned by k) and the signing key id (NUL-terminated). */
const uint8_t *keys_x25519_public(const struct keys *k);
const uint8_t *keys_ed25519_public(const struct keys *k);
const char *keys_id(const struct keys *k);

/* Signs (msg, len) with the Ed25519 key. The signature of attest_ctx.sign:
 * arg is the struct keys. Returns 0 or -1. */
int keys_sign(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len);
/* keys_sign, also after keys_retire (the audit log's checkpoints only). */
int keys_sign_log(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len);

/* Derives a key for purpose (a label naming its one use, e.g.
 * "perfagg/seal/sessions/v1") from both private keys: HKDF-SHA256(IKM = the
 * X25519 private key || the Ed25519 seed, salt = "perfagg/keys/derive/v1",
 * info = purpose). Keys loaded from the same files derive the same key, so
 * it is the sealing root of the dev provider; generated keys derive one that
 * dies with the process. out is the caller's (guarded memory: it is a
 * secret). Returns 0 or -1. */
#define KEYS_DERIVED_BYTES 32
int keys_derive(struct keys *k, const char *purpose, uint8_t out[KEYS_DERIVED_BYTES]);

/* HMAC-SHA256 of (msg, len) under keys_derive(KEYS_STATE_MAC_INFO):
 * authenticates state the daemon keeps on disk (out/audit.h: the last
 * checkpoint's position) so that only the holder of these keys can write
 * it. arg is the struct keys. Returns 0 or -1. */
#define KEYS_STATE_MAC_INFO "perfagg/state-mac/v1"
int keys_state_mac(void *arg, uint8_t mac[32], const uint8_t *msg, size_t len);

/* Opens env with the X25519 key into pt (env->ciphertext_len bytes, the
 * caller's guarded memory). Returns 0, or -1 on any failure (no detail). */
int keys_open_envelope(struct keys *k, uint8_t *pt, const struct envelope *env);

#endif
