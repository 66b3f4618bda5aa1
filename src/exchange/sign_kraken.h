/*
 * sign_kraken: request signatures of Kraken Spot (API-Sign) and Kraken
 * Futures (Authent), per docs.kraken.com spot-rest-auth and futures-rest.
 *
 *   spot:    base64(HMAC-SHA512(b64decode(secret), path || SHA256(nonce || postdata)))
 *   futures: base64(HMAC-SHA512(b64decode(secret), SHA256(postdata || nonce || path')))
 *            where path' is path with a leading "/derivatives" removed.
 *
 * Secrets are decoded strictly (canonical RFC 4648 base64) unless
 * SIGN_KRAKEN_LENIENT is given. Real Kraken secrets are 88-character
 * canonical base64 of 64 bytes, so a secret that is not canonical is a
 * mistyped or truncated key: refusing it tells the user at registration,
 * where a lenient decoder would sign with a different key and the exchange
 * would answer "invalid signature" with no hint why. Lenient decoding (pad
 * with "=" to a multiple of 4, ignore non-zero unused bits, as Python's
 * base64 and .NET do) exists for Kraken's published Futures example, whose
 * secret is 87 characters.
 *
 * Nothing is retained; decoded key bytes are wiped before return.
 */
#ifndef PERFAGG_EXCHANGE_SIGN_KRAKEN_H
#define PERFAGG_EXCHANGE_SIGN_KRAKEN_H

#include <stddef.h>

/* base64 of a 64-byte HMAC-SHA512, plus NUL. */
#define SIGN_KRAKEN_LEN 89

enum sign_kraken_decode { SIGN_KRAKEN_STRICT, SIGN_KRAKEN_LENIENT };

/*
 * Spot API-Sign of a private request: path is the URI path ("/0/private/
 * TradesHistory"), nonce the decimal nonce text, (post, postlen) the exact
 * form body sent (which contains "nonce=<nonce>"). Writes the signature to
 * out. Returns 0, or -1 with *errstr (secret not base64).
 */
int sign_kraken_spot(char out[SIGN_KRAKEN_LEN], const char *secret, size_t secret_len, const char *path,
    const char *nonce, const char *post, size_t postlen, const char **errstr);

/*
 * Futures Authent: (post, postlen) is the query string of a GET or the body
 * of a POST, URL-encoded exactly as sent; nonce may be NULL (no Nonce
 * header); path is the endpoint path, with or without "/derivatives".
 * Returns 0, or -1 with *errstr.
 */
int sign_kraken_futures(char out[SIGN_KRAKEN_LEN], const char *secret, size_t secret_len,
    enum sign_kraken_decode mode, const char *path, const char *post, size_t postlen, const char *nonce,
    const char **errstr);

#endif
