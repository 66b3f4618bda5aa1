#include "exchange/sign_kraken.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "core/b64.h"
#include "core/prim.h"

/* Kraken secrets decode to 64 bytes; anything up to a SHA-512 block is a
 * plausible HMAC key, longer ones are certainly not Kraken's. */
#define KEY_MAX 128

static int
decode_secret(uint8_t key[KEY_MAX], size_t *keylen, const char *s, size_t len, enum sign_kraken_decode mode)
{
	char padded[2 * KEY_MAX];
	size_t n, pad = 0;
	int got;

	if (mode == SIGN_KRAKEN_STRICT)
		return b64_decode(key, KEY_MAX, keylen, s, len) == 0 && *keylen > 0 ? 0 : -1;
	/* Lenient: drop the padding given, re-pad to a multiple of 4, and let
	 * EVP_DecodeBlock ignore the unused low bits of the last symbol. */
	while (len > 0 && s[len - 1] == '=')
		len--;
	if (len == 0 || len % 4 == 1 || len + 3 >= sizeof(padded))
		return -1;
	memcpy(padded, s, len);
	n = len;
	while (n % 4 != 0) {
		padded[n++] = '=';
		pad++;
	}
	padded[n] = '\0';
	if (n / 4 * 3 > KEY_MAX) {
		OPENSSL_cleanse(padded, sizeof(padded));
		return -1;
	}
	got = EVP_DecodeBlock(key, (const unsigned char *)padded, (int)n);
	OPENSSL_cleanse(padded, sizeof(padded));
	if (got < 0 || (size_t)got < pad)
		return -1;
	*keylen = (size_t)got - pad;
	return 0;
}

static int
hmac_b64(char out[SIGN_KRAKEN_LEN], const char *secret, size_t secret_len, enum sign_kraken_decode mode,
    const uint8_t *msg, size_t msglen, const char **errstr)
{
	uint8_t key[KEY_MAX], mac[PRIM_SHA512_BYTES];
	size_t keylen = 0;
	unsigned maclen = 0;
	int rc = -1;

	if (decode_secret(key, &keylen, secret, secret_len, mode) == -1) {
		*errstr = "API secret is not valid base64";
		goto done;
	}
	if (HMAC(EVP_sha512(), key, (int)keylen, msg, msglen, mac, &maclen) == NULL || maclen != sizeof(mac)) {
		*errstr = "HMAC-SHA512 failed";
		goto done;
	}
	b64_encode_to(out, mac, sizeof(mac));
	rc = 0;
done:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int
sign_kraken_spot(char out[SIGN_KRAKEN_LEN], const char *secret, size_t secret_len, const char *path,
    const char *nonce, const char *post, size_t postlen, const char **errstr)
{
	size_t plen = strlen(path), nlen = strlen(nonce);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *msg = NULL;
	int rc = -1;

	/* msg = path || SHA256(nonce || post) */
	msg = OPENSSL_malloc(plen + PRIM_SHA256_BYTES);
	if (md == NULL || msg == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, nonce, nlen) != 1 || EVP_DigestUpdate(md, post, postlen) != 1 ||
	    EVP_DigestFinal_ex(md, msg + plen, NULL) != 1) {
		*errstr = "SHA-256 failed";
		goto done;
	}
	memcpy(msg, path, plen);
	rc = hmac_b64(out, secret, secret_len, SIGN_KRAKEN_STRICT, msg, plen + PRIM_SHA256_BYTES, errstr);
done:
	OPENSSL_free(msg);
	EVP_MD_CTX_free(md);
	return rc;
}

int
sign_kraken_futures(char out[SIGN_KRAKEN_LEN], const char *secret, size_t secret_len,
    enum sign_kraken_decode mode, const char *path, const char *post, size_t postlen, const char *nonce,
    const char **errstr)
{
	static const char prefix[] = "/derivatives";
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t digest[PRIM_SHA256_BYTES];
	int rc = -1;

	if (strncmp(path, prefix, sizeof(prefix) - 1) == 0)
		path += sizeof(prefix) - 1;
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(md, post, postlen) != 1 ||
	    (nonce != NULL && EVP_DigestUpdate(md, nonce, strlen(nonce)) != 1) ||
	    EVP_DigestUpdate(md, path, strlen(path)) != 1 || EVP_DigestFinal_ex(md, digest, NULL) != 1) {
		*errstr = "SHA-256 failed";
		goto done;
	}
	rc = hmac_b64(out, secret, secret_len, mode, digest, sizeof(digest), errstr);
done:
	EVP_MD_CTX_free(md);
	return rc;
}
