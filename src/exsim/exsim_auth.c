/*
 * exsim_auth: signature verification of the simulated exchanges, on OpenSSL
 * directly (see exsim_auth.h for why it is not the connectors' signer).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "core/b64.h"
#include "core/hex.h"
#include "exsim/exsim_auth.h"
#include "util/xalloc.h"

/* Decoded HMAC key bytes: Kraken secrets are 64 bytes; room for more. */
#define KEY_MAX 256

bool
exsim_auth_binance(const char *secret, size_t secret_len, const char *payload, size_t plen, const char *body,
    size_t blen, const char *sig, size_t siglen)
{
	uint8_t want[SHA256_DIGEST_LENGTH], got[SHA256_DIGEST_LENGTH];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	bool ok = false;

	/* The signature is hex of 32 bytes; hex_decode accepts either case. */
	if (sig == NULL || hex_decode_exact(got, sizeof(got), sig, siglen) != 0)
		return false;
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL)
		goto done;
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, (const unsigned char *)secret, secret_len, params) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)payload, plen) != 1 ||
	    EVP_MAC_update(ctx, (const unsigned char *)body, blen) != 1 ||
	    EVP_MAC_final(ctx, want, &outl, sizeof(want)) != 1 || outl != sizeof(want))
		goto done;
	ok = CRYPTO_memcmp(want, got, sizeof(want)) == 0;
done:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

/* HMAC-SHA512(key, a || b) compared with the base64 text sig. */
static bool
hmac512_b64_equal(const uint8_t *key, size_t klen, const void *a, size_t alen, const void *b, size_t blen,
    const char *sig)
{
	uint8_t want[SHA512_DIGEST_LENGTH], got[SHA512_DIGEST_LENGTH];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	bool ok = false;

	if (sig == NULL || b64_decode_exact(got, sizeof(got), sig, strlen(sig)) != 0)
		return false;
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (ctx = EVP_MAC_CTX_new(mac)) == NULL)
		goto done;
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)(uintptr_t)"SHA512", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(ctx, key, klen, params) != 1 || EVP_MAC_update(ctx, a, alen) != 1 ||
	    EVP_MAC_update(ctx, b, blen) != 1 || EVP_MAC_final(ctx, want, &outl, sizeof(want)) != 1 ||
	    outl != sizeof(want))
		goto done;
	ok = CRYPTO_memcmp(want, got, sizeof(want)) == 0;
done:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

/* SHA-256 over up to three parts (NULL parts skipped). */
static bool
sha256_parts(uint8_t out[SHA256_DIGEST_LENGTH], const char *a, size_t alen, const char *b, size_t blen,
    const char *c, size_t clen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    (a == NULL || EVP_DigestUpdate(md, a, alen) == 1) && (b == NULL || EVP_DigestUpdate(md, b, blen) == 1) &&
	    (c == NULL || EVP_DigestUpdate(md, c, clen) == 1) && EVP_DigestFinal_ex(md, out, NULL) == 1;

	EVP_MD_CTX_free(md);
	return ok;
}

bool
exsim_auth_kraken_key(const uint8_t *key, size_t klen, const char *path, const char *nonce, const char *post,
    size_t plen, const char *sig)
{
	uint8_t h[SHA256_DIGEST_LENGTH];

	if (path == NULL || nonce == NULL || !sha256_parts(h, nonce, strlen(nonce), post, plen, NULL, 0))
		return false;
	return hmac512_b64_equal(key, klen, path, strlen(path), h, sizeof(h), sig);
}

bool
exsim_auth_krakenfutures_key(const uint8_t *key, size_t klen, const char *path, const char *nonce,
    const char *post, size_t plen, const char *sig)
{
	uint8_t h[SHA256_DIGEST_LENGTH];

	if (path == NULL)
		return false;
	if (strncmp(path, "/derivatives/", 13) == 0)
		path += 12;
	if (!sha256_parts(h, post, plen, nonce, nonce != NULL ? strlen(nonce) : 0, path, strlen(path)))
		return false;
	return hmac512_b64_equal(key, klen, h, sizeof(h), "", 0, sig);
}

/* Decodes a Kraken secret (canonical base64); 0 or -1. */
static int
kraken_key(uint8_t key[KEY_MAX], size_t *klen, const char *secret)
{
	return secret == NULL ? -1 : b64_decode(key, KEY_MAX, klen, secret, strlen(secret));
}

bool
exsim_auth_kraken(const char *secret, const char *path, const char *nonce, const char *post, size_t plen,
    const char *sig)
{
	uint8_t key[KEY_MAX];
	size_t klen;
	bool ok = kraken_key(key, &klen, secret) == 0 && exsim_auth_kraken_key(key, klen, path, nonce, post, plen, sig);

	OPENSSL_cleanse(key, sizeof(key));
	return ok;
}

bool
exsim_auth_krakenfutures(const char *secret, const char *path, const char *nonce, const char *post, size_t plen,
    const char *sig)
{
	uint8_t key[KEY_MAX];
	size_t klen;
	bool ok = kraken_key(key, &klen, secret) == 0 &&
	    exsim_auth_krakenfutures_key(key, klen, path, nonce, post, plen, sig);

	OPENSSL_cleanse(key, sizeof(key));
	return ok;
}

/* ------------------------------------------------------------------ Coinbase JWT */

/* Decodes base64url without padding (RFC 7515 section 2) into a fresh
 * buffer; NULL if it is not. */
static uint8_t *
b64url_decode(const char *s, size_t n, size_t *outlen)
{
	char *std;
	uint8_t *out;
	size_t m = n + (4 - n % 4) % 4;

	if (n % 4 == 1)
		return NULL;
	std = xmalloc(m + 1);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+' || c == '/' || c == '=')
			c = '!';	/* not base64url: make the decode fail */
		std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	memset(std + n, '=', m - n);
	out = xmalloc(m / 4 * 3 + 1);
	if (b64_decode(out, m / 4 * 3 + 1, outlen, std, m) != 0) {
		free(out);
		out = NULL;
	}
	free(std);
	return out;
}

static json_t *
b64url_json(const char *s, size_t n)
{
	size_t len;
	uint8_t *raw = b64url_decode(s, n, &len);
	json_t *o = raw != NULL ? json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL) : NULL;

	free(raw);
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

int
exsim_auth_coinbase_kid(const char *jwt, size_t len, char *out, size_t cap)
{
	const char *dot = memchr(jwt, '.', len);
	json_t *h;
	const char *kid;
	int rc = -1;

	if (dot == NULL || (h = b64url_json(jwt, (size_t)(dot - jwt))) == NULL)
		return -1;
	if ((kid = json_string_value(json_object_get(h, "kid"))) != NULL && strlen(kid) < cap) {
		memcpy(out, kid, strlen(kid) + 1);
		rc = 0;
	}
	json_decref(h);
	return rc;
}

/* The key of a Coinbase secret: PEM EC P-256 (with "\n" escapes as pasted
 * from a JSON key file) or base64 of an Ed25519 seed || public key. */
static EVP_PKEY *
coinbase_key(const char *secret, size_t len)
{
	EVP_PKEY *k = NULL;
	uint8_t raw[64];
	char *pem, *o;
	BIO *bio;
	char group[32];

	if (len >= 10 && strncmp(secret, "-----BEGIN", 10) == 0) {
		pem = xmalloc(len + 1);
		for (size_t i = 0, j = 0; i <= len; i++) {
			o = &pem[j++];
			if (i < len && secret[i] == '\\' && i + 1 < len && secret[i + 1] == 'n') {
				*o = '\n';
				i++;
			} else
				*o = i < len ? secret[i] : '\0';
		}
		if ((bio = BIO_new_mem_buf(pem, -1)) != NULL) {
			k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
			BIO_free(bio);
		}
		OPENSSL_cleanse(pem, len + 1);
		free(pem);
		if (k != NULL && (!EVP_PKEY_is_a(k, "EC") ||
		    EVP_PKEY_get_group_name(k, group, sizeof(group), NULL) != 1 || strcmp(group, "prime256v1") != 0)) {
			EVP_PKEY_free(k);
			k = NULL;
		}
		return k;
	}
	if (b64_decode_exact(raw, sizeof(raw), secret, len) == 0)
		k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32);
	OPENSSL_cleanse(raw, sizeof(raw));
	return k;
}

/* Raw r || s (32 + 32 bytes) as the DER ECDSA-Sig-Value OpenSSL verifies;
 * a fresh buffer, or NULL. */
static unsigned char *
es256_der(const uint8_t *rs, int *derlen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
	unsigned char *der = NULL;

	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return NULL;
	}
	*derlen = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	return *derlen > 0 ? der : NULL;
}

static bool
signature_ok(EVP_PKEY *k, bool ec, const char *input, size_t ilen, const uint8_t *sig, size_t slen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int derlen = 0;
	bool ok = false;

	if (md == NULL)
		return false;
	if (ec) {
		if (slen == 64 && (der = es256_der(sig, &derlen)) != NULL &&
		    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1)
			ok = EVP_DigestVerify(md, der, (size_t)derlen, (const unsigned char *)input, ilen) == 1;
	} else if (slen == 64 && EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) == 1)
		ok = EVP_DigestVerify(md, sig, slen, (const unsigned char *)input, ilen) == 1;
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ok;
}

static bool
uri_ok(json_t *claims, const char *want)
{
	json_t *uris = json_object_get(claims, "uris"), *u;
	const char *uri = json_string_value(json_object_get(claims, "uri"));
	size_t i;

	if (uri != NULL)
		return strcmp(uri, want) == 0;
	if (!json_is_array(uris))
		return false;
	json_array_foreach(uris, i, u)
		if (json_is_string(u) && strcmp(json_string_value(u), want) == 0)
			return true;
	return false;
}

int
exsim_auth_coinbase(const char *jwt, size_t len, const char *secret, size_t secret_len, const char *kid,
    const char *method, const char *host, const char *path, int64_t now_s, const char **why)
{
	const char *d1 = memchr(jwt, '.', len), *d2 = NULL, *alg, *iss;
	json_t *hdr = NULL, *cl = NULL, *nbf, *exp;
	uint8_t *sig = NULL;
	size_t slen = 0, plen;
	EVP_PKEY *k = NULL;
	char *uri = NULL;
	bool ec;
	int rc = -1;

	*why = "malformed token";
	if (d1 != NULL)
		d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt));
	if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)) != NULL ||
	    (hdr = b64url_json(jwt, (size_t)(d1 - jwt))) == NULL ||
	    (cl = b64url_json(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL ||
	    (sig = b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - jwt), &slen)) == NULL)
		goto done;
	*why = "bad secret";
	if ((k = coinbase_key(secret, secret_len)) == NULL)
		goto done;
	ec = EVP_PKEY_is_a(k, "EC");
	*why = "alg does not match the key";
	if ((alg = json_string_value(json_object_get(hdr, "alg"))) == NULL ||
	    strcmp(alg, ec ? "ES256" : "EdDSA") != 0)
		goto done;
	*why = "kid or sub is not the key name";
	if (!json_is_string(json_object_get(hdr, "kid")) || strcmp(json_string_value(json_object_get(hdr, "kid")), kid) ||
	    !json_is_string(json_object_get(cl, "sub")) || strcmp(json_string_value(json_object_get(cl, "sub")), kid))
		goto done;
	*why = "iss";
	if ((iss = json_string_value(json_object_get(cl, "iss"))) == NULL ||
	    (strcmp(iss, "cdp") != 0 && strcmp(iss, "coinbase-cloud") != 0))
		goto done;
	*why = "nbf/exp";
	nbf = json_object_get(cl, "nbf");
	exp = json_object_get(cl, "exp");
	if (!json_is_integer(nbf) || !json_is_integer(exp) || json_integer_value(nbf) > now_s + EXSIM_AUTH_JWT_SKEW_S ||
	    json_integer_value(exp) <= now_s || json_integer_value(exp) < json_integer_value(nbf) ||
	    json_integer_value(exp) - json_integer_value(nbf) > EXSIM_AUTH_JWT_LIFETIME_S)
		goto done;
	*why = "uri";
	plen = strcspn(path, "?");
	uri = xasprintf("%s %s%.*s", method, host, (int)plen, path);
	if (!uri_ok(cl, uri))
		goto done;
	*why = "signature";
	if (!signature_ok(k, ec, jwt, (size_t)(d2 - jwt), sig, slen))
		goto done;
	*why = NULL;
	rc = 0;
done:
	free(uri);
	free(sig);
	EVP_PKEY_free(k);
	json_decref(hdr);
	json_decref(cl);
	return rc;
}
