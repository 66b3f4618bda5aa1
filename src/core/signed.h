/*
 * signed: Ed25519 signatures over JSON documents (results, ingest payloads,
 * audit checkpoints).
 *
 * A signed document is a JSON object carrying three members:
 *   "signing_key_id": hex of the first 8 bytes of SHA-256(Ed25519 public key)
 *   "key_epoch":      the key epoch it was signed in (1, 2, ...: the custody
 *                     of the key by one measurement, core/handover.h)
 *   "signature":      standard base64 of Ed25519(JCS(document without "signature"))
 * The key id and epoch are inside the signed bytes, so they cannot be swapped. JCS is
 * RFC 8785 (core/jcs.h). Pure code: the private key stays with the caller,
 * which signs through a callback.
 */
#ifndef PERFAGG_CORE_SIGNED_H
#define PERFAGG_CORE_SIGNED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define SIGNED_KEY_ID_HEX 16

/* The signing callback: 0 on success, -1 on failure. */
typedef int (*signed_sign_fn)(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len);

/* The key id of an Ed25519 public key (16 hex characters + NUL). */
void signed_key_id(char out[SIGNED_KEY_ID_HEX + 1], const uint8_t pub[32]);

/* Signs doc (an object) in place: sets signing_key_id and key_epoch (>= 1),
 * then signature. A signature already present is replaced. Returns 0, or -1
 * with *errstr. */
int signed_sign(json_t *doc, signed_sign_fn sign, void *arg, const char *key_id, uint64_t key_epoch,
    const char **errstr);

/* The key_epoch of a signed document: its "key_epoch" member, or 1 when it
 * has none (documents signed before epochs existed). Returns 0, or -1 with
 * *errstr when the member is not an integer >= 1. */
int signed_key_epoch(const json_t *doc, uint64_t *epoch, const char **errstr);

/* Verifies doc against the Ed25519 public key pub: the key id must match pub
 * and the signature must verify over JCS(doc without "signature").
 * Returns 0, or -1 with *errstr naming what failed. doc is only read. */
int signed_verify(const json_t *doc, const uint8_t pub[32], const char **errstr);

#endif
