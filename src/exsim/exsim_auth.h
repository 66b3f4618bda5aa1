/*
 * exsim_auth: the simulator's own verification of request signatures, the
 * exchange's side of each scheme, written from the exchanges' documentation
 * (../shared/reference/exchanges.md sections 1.1, 5.4, 6.4, 7.3) directly on
 * OpenSSL. It deliberately shares no code with the connectors' signing
 * modules (src/exchange/sign_*.c): a simulator that verified with the
 * signer it tests would accept whatever mistake the signer makes. The
 * independent checks are the exchanges' published vectors
 * (tests/unit/exsim/test_exsim_auth.c) and the real ccxt client's requests
 * (tests/ccxt/).
 *
 *   Binance:        hex(HMAC-SHA256(secret, query-without-signature || body)), any case
 *   Kraken spot:    base64(HMAC-SHA512(b64decode(secret), path || SHA256(nonce || postdata)))
 *   Kraken Futures: base64(HMAC-SHA512(b64decode(secret), SHA256(postdata || nonce || path)))
 *                   path without "/derivatives"; no nonce when the Nonce header is absent
 *   Coinbase:       JWT ES256 (raw r||s) or EdDSA, claims as Coinbase checks them
 *
 * Every function only reads its arguments, keeps nothing, wipes decoded key
 * bytes and compares in constant time. Each returns true (or 0) only for a
 * valid signature; any malformed input is simply "not valid".
 */
#ifndef PERFAGG_EXSIM_EXSIM_AUTH_H
#define PERFAGG_EXSIM_EXSIM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Coinbase: lifetime a JWT may claim, and the clock skew its nbf may have. */
#define EXSIM_AUTH_JWT_LIFETIME_S 120
#define EXSIM_AUTH_JWT_SKEW_S 60

/* Binance HMAC: (sig, siglen) is the signature parameter's hex text;
 * (payload, plen) the raw query without the signature parameter and (body,
 * blen) the raw body, concatenated without separator. */
bool exsim_auth_binance(const char *secret, size_t secret_len, const char *payload, size_t plen, const char *body,
    size_t blen, const char *sig, size_t siglen);

/* Kraken spot API-Sign: key (klen bytes) is the decoded secret; path the URI
 * path ("/0/private/..."), nonce the nonce text, (post, plen) the exact
 * body. sig is the API-Sign header (base64). */
bool exsim_auth_kraken_key(const uint8_t *key, size_t klen, const char *path, const char *nonce, const char *post,
    size_t plen, const char *sig);
/* The same with the secret as the account holds it (canonical base64). */
bool exsim_auth_kraken(const char *secret, const char *path, const char *nonce, const char *post, size_t plen,
    const char *sig);

/* Kraken Futures Authent: path may carry "/derivatives" (removed); nonce is
 * the Nonce header or NULL; (post, plen) the raw query of a GET or body of a
 * POST; sig the Authent header (base64). */
bool exsim_auth_krakenfutures_key(const uint8_t *key, size_t klen, const char *path, const char *nonce,
    const char *post, size_t plen, const char *sig);
bool exsim_auth_krakenfutures(const char *secret, const char *path, const char *nonce, const char *post,
    size_t plen, const char *sig);

/* Coinbase: copies the (unverified) header kid of (jwt, len) into out (cap
 * bytes) to find the key with. 0, or -1 when there is none or it does not
 * fit. */
int exsim_auth_coinbase_kid(const char *jwt, size_t len, char *out, size_t cap);

/*
 * Coinbase: verifies (jwt, len) for a request (method, host, path without
 * query) at now_s with the account's secret (PEM EC P-256 private key, "\n"
 * escapes allowed, or base64 of Ed25519 seed || public key) and key name
 * kid: three base64url parts; header alg ES256 for an EC key or EdDSA for
 * Ed25519, kid = kid; claims sub = kid, iss "cdp" (or "coinbase-cloud", as
 * ccxt sends with ES256), integer nbf <= now + skew, exp > now, exp - nbf <=
 * lifetime; "uri" (or an entry of "uris") = "METHOD host path"; signature
 * valid. Returns 0, or -1 with *why naming the failed check.
 */
int exsim_auth_coinbase(const char *jwt, size_t len, const char *secret, size_t secret_len, const char *kid,
    const char *method, const char *host, const char *path, int64_t now_s, const char **why);

#endif
