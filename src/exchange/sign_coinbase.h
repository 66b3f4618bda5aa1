/*
 * sign_coinbase: Coinbase CDP API key JWTs (Advanced Trade, "Authorization:
 * Bearer <JWT>"), as coinbase-advanced-py's jwt_generator.py makes them:
 *
 *   header  {"alg":"ES256"|"EdDSA","kid":<key name>,"nonce":<hex>,"typ":"JWT"}
 *   claims  {"sub":<key name>,"iss":"cdp","nbf":now,"exp":now+120,
 *            "uri":"<METHOD> <host><path>"}
 *
 * compact JSON, base64url without padding, the path WITHOUT its query string
 * (a query in the uri is a 401: ccxt/ccxt#21640). The secret decides the
 * algorithm: a PEM EC P-256 private key (SEC1 "EC PRIVATE KEY" or PKCS#8
 * "PRIVATE KEY"; literal "\n" escapes, as in a pasted JSON key file, are
 * accepted) signs ES256 with the raw r||s (64 bytes, not DER); base64 of 64
 * bytes (Ed25519 seed || public key) signs EdDSA with the seed.
 *
 * The verifier is the exchange's side, used by the simulator: it checks the
 * signature with the public half, alg, kid/sub, lifetime and uri.
 */
#ifndef PERFAGG_EXCHANGE_SIGN_COINBASE_H
#define PERFAGG_EXCHANGE_SIGN_COINBASE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#define SIGN_COINBASE_LIFETIME_S 120
/* Hex digits of a nonce (coinbase-advanced-py: secrets.token_hex(), 32 bytes). */
#define SIGN_COINBASE_NONCE_HEX 64

/*
 * Makes the JWT for one request at now_s (UNIX seconds). key_name is the
 * CDP key name ("organizations/{org}/apiKeys/{id}"); (secret, secret_len) is
 * only read, and every copy of it is wiped. host is "api.coinbase.com" (with
 * ":port" when the base URL has one); path may carry a query, which is left
 * out of the uri. nonce is the header nonce, or NULL for a fresh random one.
 * Returns a fresh string the caller frees, or NULL with *errstr (bad secret).
 */
char *sign_coinbase_jwt(const char *key_name, const char *secret, size_t secret_len, const char *method,
    const char *host, const char *path, int64_t now_s, const char *nonce, const char **errstr);

/*
 * The public half of a secret in either form above. Returns a new key the
 * caller frees with EVP_PKEY_free(), or NULL with *errstr.
 */
EVP_PKEY *sign_coinbase_public(const char *secret, size_t secret_len, const char **errstr);

/*
 * Checks the JWT (jwt, len) as Coinbase does for a request (method, host,
 * path; a query in path is ignored) at now_s: three base64url parts; header
 * alg matching pub's type (ES256 for P-256, EdDSA for Ed25519) and kid equal
 * to kid; claims sub equal to kid, iss "cdp" (or ccxt's "coinbase-cloud"),
 * integer nbf and exp with nbf <= now + 60 s of clock skew, exp > now and
 * exp - nbf <= 120 s; "uri" (or an entry of ccxt's "uris") equal to the
 * request's; the signature valid under pub. pub is only read.
 * Returns 0, or -1 with *errstr saying which check failed.
 */
int sign_coinbase_verify(const char *jwt, size_t len, EVP_PKEY *pub, const char *kid, const char *method,
    const char *host, const char *path, int64_t now_s, const char **errstr);

/*
 * Copies the header's kid of (jwt, len) into out (cap bytes), NOT verified:
 * the exchange side uses it to find the key to verify with. Returns 0, or
 * -1 when the token has no readable header or kid (or it does not fit).
 */
int sign_coinbase_kid(const char *jwt, size_t len, char *out, size_t cap);

#endif
