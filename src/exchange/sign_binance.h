/*
 * sign_binance: the signature of a Binance SIGNED request (rest-api.md
 * "Request Security"). The payload is the exact query string as sent,
 * concatenated without a separator to the exact request body.
 *
 * Key types:
 * - HMAC (the 64-character secret): hex(HMAC-SHA256(secret, payload)).
 * - Ed25519 (the secret is a PKCS#8 PEM "PRIVATE KEY"): Ed25519 signature
 *   over the payload, base64, then URL-encoded, since it is sent as a query
 *   parameter (the base64 alphabet has '+', '/' and '=').
 * Any other PEM key (RSA) is refused.
 */
#ifndef PERFAGG_EXCHANGE_SIGN_BINANCE_H
#define PERFAGG_EXCHANGE_SIGN_BINANCE_H

#include <stddef.h>

#define SIGN_BINANCE_HMAC_HEX 65	/* 64 hex characters and the NUL */

/* Writes hex(HMAC-SHA256(secret, query || body)) in lower case into out.
 * body may be NULL (blen 0). Returns 0, or -1 if OpenSSL fails. */
int sign_binance_hmac(char out[SIGN_BINANCE_HMAC_HEX], const char *secret, size_t slen, const char *query,
    size_t qlen, const char *body, size_t blen);

/* The value of the signature parameter for the key in (secret, slen): HMAC
 * hex, or URL-encoded base64 Ed25519 when the secret is an Ed25519 PEM key.
 * Returns a fresh string the caller frees, or NULL with *errstr (a PEM that
 * does not parse, or a key type Binance signing does not use here). */
char *sign_binance(const char *secret, size_t slen, const char *query, size_t qlen, const char *body, size_t blen,
    const char **errstr);

#endif
