#include "exchange/sign_coinbase.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/b64.h"
#include "core/hex.h"
#include "core/prim.h"
#include "util/xalloc.h"

#define ED25519_SECRET_BYTES 64
#define ES256_HALF 32
#define SIG_MAX 64
/* Clock skew tolerated on nbf (the exchange's servers and ours differ). */
#define NBF_SKEW_S 60

/* base64url without padding (RFC 7515 section 2), through the strict
 * standard codec: translate the alphabet, drop or restore the padding. */
static char *
b64url_encode(const uint8_t *buf, size_t len)
{
	char *s = b64_encode(buf, len);
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '=')
		s[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		s[i] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	return s;
}

static int
b64url_decode(uint8_t *out, size_t cap, size_t *outlen, const char *s, size_t len)
{
	char *t;
	size_t n = 0;
	int rc;

	if (len % 4 == 1 || len > 4 * (cap / 3 + 1))
		return -1;
	t = xmalloc(len + 3);
	for (size_t i = 0; i < len; i++) {
		/* Only the url alphabet: '+', '/' and '=' are not base64url. */
		if (s[i] == '+' || s[i] == '/' || s[i] == '=') {
			free(t);
			return -1;
		}
		t[n++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	}
	while (n % 4 != 0)
		t[n++] = '=';
	rc = b64_decode(out, cap, outlen, t, n);
	OPENSSL_cleanse(t, n);
	free(t);
	return rc;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static EVP_PKEY *
load_pem(const char *secret, size_t len, const char **errstr)
{
	EVP_PKEY *k = NULL;
	BIO *bio;
	char *pem = xmalloc(len + 1), group[32];
	size_t n = 0, glen = 0;

	/* A key pasted from Coinbase's JSON key file keeps its "\n" escapes. */
	for (size_t i = 0; i < len; i++) {
		if (secret[i] == '\\' && i + 1 < len && secret[i + 1] == 'n') {
			pem[n++] = '\n';
			i++;
		} else
			pem[n++] = secret[i];
	}
	pem[n] = '\0';
	if ((bio = BIO_new_mem_buf(pem, (int)n)) == NULL)
		goto fail;
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (k == NULL) {
		*errstr = "secret: not a readable PEM private key";
		goto fail;
	}
	if (!EVP_PKEY_is_a(k, "EC") ||
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		*errstr = "secret: PEM key is not an EC P-256 key";
		EVP_PKEY_free(k);
		k = NULL;
	}
fail:
	if (k == NULL && *errstr == NULL)
		*errstr = "secret: cannot read PEM";
	OPENSSL_cleanse(pem, len + 1);
	free(pem);
	return k;
}

static EVP_PKEY *
load_ed25519(const char *secret, size_t len, const char **errstr)
{
	uint8_t raw[ED25519_SECRET_BYTES], pub[PRIM_ED25519_PUB_BYTES];
	size_t publen = sizeof(pub);
	EVP_PKEY *k = NULL;

	while (len > 0 && is_space(secret[len - 1]))
		len--;
	while (len > 0 && is_space(*secret))
		secret++, len--;
	if (b64_decode_exact(raw, sizeof(raw), secret, len) != 0) {
		*errstr = "secret: neither a PEM EC key nor base64 of a 64-byte Ed25519 key";
		goto done;
	}
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, PRIM_ED25519_SEED_BYTES);
	/* The second half must be the seed's public key: a mismatch means a
	 * corrupted or mis-assembled secret, which Coinbase would refuse. */
	if (k == NULL || EVP_PKEY_get_raw_public_key(k, pub, &publen) != 1 || publen != sizeof(pub) ||
	    memcmp(pub, raw + PRIM_ED25519_SEED_BYTES, sizeof(pub)) != 0) {
		*errstr = "secret: Ed25519 public half does not match the seed";
		EVP_PKEY_free(k);
		k = NULL;
	}
done:
	OPENSSL_cleanse(raw, sizeof(raw));
	return k;
}

static bool
looks_pem(const char *s, size_t len)
{
	static const char tag[] = "-----BEGIN";

	return len >= sizeof(tag) - 1 && memmem(s, len, tag, sizeof(tag) - 1) != NULL;
}

static EVP_PKEY *
load_private(const char *secret, size_t len, const char **errstr)
{
	*errstr = NULL;
	return looks_pem(secret, len) ? load_pem(secret, len, errstr) : load_ed25519(secret, len, errstr);
}

static const char *
key_alg(EVP_PKEY *k)
{
	return EVP_PKEY_is_a(k, "ED25519") ? "EdDSA" : EVP_PKEY_is_a(k, "EC") ? "ES256" : NULL;
}

/* Signs (msg, len) into sig (64 bytes): Ed25519, or ECDSA-SHA256 converted
 * from OpenSSL's DER to JWS's fixed-width r||s (RFC 7518 section 3.4). */
static int
sign_raw(uint8_t sig[SIG_MAX], const char *msg, size_t len, EVP_PKEY *k)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ec = EVP_PKEY_is_a(k, "EC");
	uint8_t der[80];
	size_t dlen = sizeof(der);
	const uint8_t *p = der;
	ECDSA_SIG *es = NULL;
	int rc = -1;

	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, ec ? EVP_sha256() : NULL, NULL, k) != 1)
		goto done;
	if (!ec) {
		dlen = SIG_MAX;
		rc = EVP_DigestSign(ctx, sig, &dlen, (const uint8_t *)msg, len) == 1 && dlen == SIG_MAX ? 0 : -1;
		goto done;
	}
	if (EVP_DigestSign(ctx, der, &dlen, (const uint8_t *)msg, len) != 1 ||
	    (es = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) == NULL)
		goto done;
	if (BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, ES256_HALF) == ES256_HALF &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + ES256_HALF, ES256_HALF) == ES256_HALF)
		rc = 0;
done:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int
verify_raw(const uint8_t *sig, size_t siglen, const char *msg, size_t len, EVP_PKEY *k)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ec = EVP_PKEY_is_a(k, "EC");
	uint8_t *der = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	int dlen, rc = -1;

	if (ctx == NULL || siglen != SIG_MAX || EVP_DigestVerifyInit(ctx, NULL, ec ? EVP_sha256() : NULL, NULL, k) != 1)
		goto done;
	if (!ec) {
		rc = EVP_DigestVerify(ctx, sig, siglen, (const uint8_t *)msg, len) == 1 ? 0 : -1;
		goto done;
	}
	if ((es = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(sig, ES256_HALF, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + ES256_HALF, ES256_HALF, NULL)) == NULL || ECDSA_SIG_set0(es, r, s) != 1)
		goto done;
	r = s = NULL;	/* owned by es now */
	if ((dlen = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto done;
	rc = EVP_DigestVerify(ctx, der, (size_t)dlen, (const uint8_t *)msg, len) == 1 ? 0 : -1;
done:
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(ctx);
	return rc;
}

static char *
make_uri(const char *method, const char *host, const char *path)
{
	size_t plen = strcspn(path, "?");

	return xasprintf("%s %s%.*s", method, host, (int)plen, path);
}

static char *
b64url_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII), *e;

	if (s == NULL)
		return NULL;
	e = b64url_encode((const uint8_t *)s, strlen(s));
	free(s);
	return e;
}

char *
sign_coinbase_jwt(const char *key_name, const char *secret, size_t secret_len, const char *method,
    const char *host, const char *path, int64_t now_s, const char *nonce, const char **errstr)
{
	EVP_PKEY *k;
	json_t *hdr = NULL, *claims = NULL;
	char noncebuf[SIGN_COINBASE_NONCE_HEX + 1], *uri, *h = NULL, *c = NULL, *input = NULL, *sig64 = NULL;
	char *jwt = NULL;
	uint8_t rnd[SIGN_COINBASE_NONCE_HEX / 2], sig[SIG_MAX];

	if ((k = load_private(secret, secret_len, errstr)) == NULL)
		return NULL;
	if (nonce == NULL) {
		prim_random(rnd, sizeof(rnd));
		hex_encode(noncebuf, rnd, sizeof(rnd));
		nonce = noncebuf;
	}
	uri = make_uri(method, host, path);
	/* PyJWT (coinbase-advanced-py) sorts the header keys: alg, kid, nonce, typ. */
	hdr = json_pack("{s:s,s:s,s:s,s:s}", "alg", key_alg(k), "kid", key_name, "nonce", nonce, "typ", "JWT");
	claims = json_pack("{s:s,s:s,s:I,s:I,s:s}", "sub", key_name, "iss", "cdp", "nbf", (json_int_t)now_s, "exp",
	    (json_int_t)(now_s + SIGN_COINBASE_LIFETIME_S), "uri", uri);
	if (hdr == NULL || claims == NULL || (h = b64url_json(hdr)) == NULL || (c = b64url_json(claims)) == NULL) {
		*errstr = "JWT: key name or nonce is not valid UTF-8";
		goto done;
	}
	input = xasprintf("%s.%s", h, c);
	if (sign_raw(sig, input, strlen(input), k) != 0) {
		*errstr = "JWT: signing failed";
		goto done;
	}
	sig64 = b64url_encode(sig, sizeof(sig));
	jwt = xasprintf("%s.%s", input, sig64);
done:
	EVP_PKEY_free(k);
	json_decref(hdr);
	json_decref(claims);
	free(uri);
	free(h);
	free(c);
	free(input);
	free(sig64);
	return jwt;
}

EVP_PKEY *
sign_coinbase_public(const char *secret, size_t secret_len, const char **errstr)
{
	EVP_PKEY *k, *pub = NULL;
	uint8_t *der = NULL;
	const uint8_t *p;
	int n;

	if ((k = load_private(secret, secret_len, errstr)) == NULL)
		return NULL;
	/* Round trip through SubjectPublicKeyInfo: the result holds no
	 * private part, whatever the key type. */
	if ((n = i2d_PUBKEY(k, &der)) > 0) {
		p = der;
		pub = d2i_PUBKEY(NULL, &p, n);
	}
	if (pub == NULL)
		*errstr = "secret: cannot derive the public key";
	OPENSSL_free(der);
	EVP_PKEY_free(k);
	return pub;
}

/* Decodes a base64url JSON object part; NULL when malformed. */
static json_t *
part_json(const char *s, size_t len)
{
	uint8_t buf[2048];
	size_t n;

	if (b64url_decode(buf, sizeof(buf), &n, s, len) != 0)
		return NULL;
	return json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
}

static const char *
jstr_or_null(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool
str_eq(const json_t *o, const char *key, const char *want)
{
	const char *s = jstr_or_null(o, key);

	return s != NULL && strcmp(s, want) == 0;
}

static bool
uri_ok(const json_t *claims, const char *uri)
{
	const json_t *uris = json_object_get(claims, "uris"), *v;
	size_t i;

	if (json_object_get(claims, "uri") != NULL)
		return str_eq(claims, "uri", uri);
	if (!json_is_array(uris))
		return false;
	json_array_foreach(uris, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), uri) == 0)
			return true;
	return false;
}

int
sign_coinbase_verify(const char *jwt, size_t len, EVP_PKEY *pub, const char *kid, const char *method,
    const char *host, const char *path, int64_t now_s, const char **errstr)
{
	const char *d1, *d2, *alg = key_alg(pub);
	json_t *hdr = NULL, *claims = NULL;
	const json_t *nbf, *exp;
	uint8_t sig[SIG_MAX + 1];
	size_t siglen;
	char *uri = make_uri(method, host, path);
	int rc = -1;

	*errstr = "malformed JWT";
	if ((d1 = memchr(jwt, '.', len)) == NULL || (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt))) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt)) != NULL)
		goto done;
	if ((hdr = part_json(jwt, (size_t)(d1 - jwt))) == NULL || !json_is_object(hdr) ||
	    (claims = part_json(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL || !json_is_object(claims) ||
	    b64url_decode(sig, sizeof(sig), &siglen, d2 + 1, len - (size_t)(d2 + 1 - jwt)) != 0)
		goto done;
	nbf = json_object_get(claims, "nbf");
	exp = json_object_get(claims, "exp");
	if (alg == NULL || !str_eq(hdr, "alg", alg))
		*errstr = "JWT alg does not match the key";
	else if (!str_eq(hdr, "kid", kid) || !str_eq(claims, "sub", kid))
		*errstr = "JWT kid/sub is not this key";
	else if (!str_eq(claims, "iss", "cdp") && !str_eq(claims, "iss", "coinbase-cloud"))
		*errstr = "JWT iss is not cdp";
	else if (!json_is_integer(nbf) || !json_is_integer(exp))
		*errstr = "JWT nbf/exp missing";
	else if (json_integer_value(exp) <= now_s)
		*errstr = "JWT expired";
	else if (json_integer_value(nbf) > now_s + NBF_SKEW_S)
		*errstr = "JWT not yet valid";
	else if (json_integer_value(exp) - json_integer_value(nbf) > SIGN_COINBASE_LIFETIME_S)
		*errstr = "JWT lifetime over 120 s";
	else if (!uri_ok(claims, uri))
		*errstr = "JWT uri does not match the request";
	else if (verify_raw(sig, siglen, jwt, (size_t)(d2 - jwt), pub) != 0)
		*errstr = "JWT signature invalid";
	else {
		*errstr = NULL;
		rc = 0;
	}
done:
	json_decref(hdr);
	json_decref(claims);
	free(uri);
	return rc;
}

int
sign_coinbase_kid(const char *jwt, size_t len, char *out, size_t cap)
{
	const char *dot = memchr(jwt, '.', len), *kid;
	json_t *hdr;
	int rc = -1;

	if (dot == NULL || (hdr = part_json(jwt, (size_t)(dot - jwt))) == NULL)
		return -1;
	if ((kid = json_is_object(hdr) ? jstr_or_null(hdr, "kid") : NULL) != NULL && strlen(kid) < cap) {
		memcpy(out, kid, strlen(kid) + 1);
		rc = 0;
	}
	json_decref(hdr);
	return rc;
}
