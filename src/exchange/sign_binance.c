/* Binance request signatures; see sign_binance.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/b64.h"
#include "core/hex.h"
#include "core/prim.h"
#include "exchange/exchange.h"
#include "exchange/sign_binance.h"
#include "util/xalloc.h"

int
sign_binance_hmac(char out[SIGN_BINANCE_HMAC_HEX], const char *secret, size_t slen, const char *query,
    size_t qlen, const char *body, size_t blen)
{
	uint8_t mac[32];
	size_t maclen = 0;
	EVP_MAC *m = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	int rc = -1;

	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	/* Streamed rather than one-shot so query and body need no joined copy. */
	if ((m = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (ctx = EVP_MAC_CTX_new(m)) == NULL)
		goto fail;
	if (EVP_MAC_init(ctx, (const unsigned char *)secret, slen, params) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)query, qlen) != 1 ||
	    (blen > 0 && EVP_MAC_update(ctx, (const unsigned char *)body, blen) != 1) ||
	    EVP_MAC_final(ctx, mac, &maclen, sizeof(mac)) != 1 || maclen != sizeof(mac))
		goto fail;
	hex_encode(out, mac, sizeof(mac));
	rc = 0;
fail:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(m);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

static char *
sign_ed25519(const char *pem, size_t plen, const char *query, size_t qlen, const char *body, size_t blen,
    const char **errstr)
{
	uint8_t seed[PRIM_ED25519_SEED_BYTES], sig[PRIM_ED25519_SIG_BYTES];
	char b64[B64_ENCODED_LEN(PRIM_ED25519_SIG_BYTES) + 1];
	size_t seedlen = sizeof(seed);
	uint8_t *msg = NULL;
	BIO *bio = NULL;
	EVP_PKEY *pk = NULL;
	char *out = NULL;

	if (plen > 8192 || (bio = BIO_new_mem_buf(pem, (int)plen)) == NULL ||
	    (pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		*errstr = "the API secret is a PEM block that is not a private key";
		goto fail;
	}
	if (EVP_PKEY_get_id(pk) != EVP_PKEY_ED25519) {
		*errstr = "only HMAC and Ed25519 Binance API keys are supported";
		goto fail;
	}
	if (EVP_PKEY_get_raw_private_key(pk, seed, &seedlen) != 1 || seedlen != sizeof(seed)) {
		*errstr = "cannot read the Ed25519 private key";
		goto fail;
	}
	msg = xmalloc(qlen + blen + 1);
	memcpy(msg, query, qlen);
	if (blen > 0)
		memcpy(msg + qlen, body, blen);
	if (prim_ed25519_sign(sig, msg, qlen + blen, seed) != 0) {
		*errstr = "Ed25519 signing failed";
		goto fail;
	}
	b64_encode_to(b64, sig, sizeof(sig));
	out = xurl_encode(b64, strlen(b64));
fail:
	OPENSSL_cleanse(seed, sizeof(seed));
	free(msg);
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return out;
}

char *
sign_binance(const char *secret, size_t slen, const char *query, size_t qlen, const char *body, size_t blen,
    const char **errstr)
{
	static const char pem[] = "-----BEGIN";
	char hex[SIGN_BINANCE_HMAC_HEX];

	if (slen >= sizeof(pem) - 1 && memcmp(secret, pem, sizeof(pem) - 1) == 0)
		return sign_ed25519(secret, slen, query, qlen, body, blen, errstr);
	if (sign_binance_hmac(hex, secret, slen, query, qlen, body, blen) != 0) {
		*errstr = "HMAC-SHA256 failed";
		return NULL;
	}
	return xstrdup(hex);
}
