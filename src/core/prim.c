/*
 * prim: OpenSSL 3 EVP wrappers. See prim.h for the contract.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <pthread.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "core/prim.h"
#include "util/log.h"

/*
 * OSSL_PARAM constructors take non-const pointers even for inputs they only
 * read; this keeps -Wcast-qual quiet at the one place we drop const.
 */
static void *
unconst(const void *p)
{
	return (void *)(uintptr_t)p;
}

void
prim_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	/* RAND_bytes takes an int: feed it in chunks. */
	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(p, n) != 1)
			fatalx("prim_random: RAND_bytes failed");
		p += n;
		len -= (size_t)n;
	}
}

static void
digest(const EVP_MD *md, uint8_t *out, const void *buf, size_t len)
{
	/* EVP_Digest only fails on allocation failure or a broken provider. */
	if (EVP_Digest(buf, len, out, NULL, md, NULL) != 1)
		fatalx("prim: EVP_Digest failed");
}

/* EVP_sha256() is a legacy handle that OpenSSL resolves in its method store
 * on every use (a hash-table walk under a lock); the fetched algorithms are
 * kept for the life of the process instead. */
static EVP_MD *sha256_md, *sha512_md;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void
md_fetch(void)
{
	if ((sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (sha512_md = EVP_MD_fetch(NULL, "SHA512", NULL)) == NULL)
		fatalx("prim: cannot fetch SHA-256/SHA-512");
}

void
prim_sha256(uint8_t out[PRIM_SHA256_BYTES], const void *buf, size_t len)
{
	pthread_once(&md_once, md_fetch);
	digest(sha256_md, out, buf, len);
}

void
prim_sha512(uint8_t out[PRIM_SHA512_BYTES], const void *buf, size_t len)
{
	pthread_once(&md_once, md_fetch);
	digest(sha512_md, out, buf, len);
}

/*
 * X25519 and Ed25519 keys share one shape: a 32-byte raw private key (the
 * Ed25519 seed) from which OpenSSL derives the 32-byte raw public key.
 */
static int
raw_public(int type, uint8_t pub[32], const uint8_t priv[32])
{
	EVP_PKEY *pk;
	size_t len = 32;
	int rv = -1;

	if ((pk = EVP_PKEY_new_raw_private_key(type, NULL, priv, 32)) == NULL)
		return -1;
	if (EVP_PKEY_get_raw_public_key(pk, pub, &len) == 1 && len == 32)
		rv = 0;
	EVP_PKEY_free(pk);
	return rv;
}

static int
raw_keygen(int type, uint8_t priv[32], uint8_t pub[32])
{
	prim_random(priv, 32);
	if (raw_public(type, pub, priv) == -1) {
		OPENSSL_cleanse(priv, 32);
		return -1;
	}
	return 0;
}

int
prim_x25519_public(uint8_t pub[PRIM_X25519_BYTES], const uint8_t priv[PRIM_X25519_BYTES])
{
	return raw_public(EVP_PKEY_X25519, pub, priv);
}

/*
 * An X25519 EVP_PKEY from the private key and, when the caller has it, the
 * public key. Given both, OpenSSL takes the public key as is; given only the
 * private key it recomputes the public one, a second scalar multiplication
 * that would double the cost of every key agreement.
 */
static EVP_PKEY *
x25519_private_pkey(const uint8_t priv[32], const uint8_t *pub)
{
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pk = NULL;
	OSSL_PARAM params[3];

	if (pub == NULL)
		return EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, PRIM_X25519_BYTES);
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "X25519", NULL)) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY, unconst(priv), PRIM_X25519_BYTES);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, unconst(pub), PRIM_X25519_BYTES);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_KEYPAIR, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static int
x25519_shared(uint8_t shared[PRIM_X25519_BYTES], const uint8_t priv[PRIM_X25519_BYTES], const uint8_t *own_pub,
    const uint8_t peer_pub[PRIM_X25519_BYTES])
{
	static const uint8_t zero[PRIM_X25519_BYTES];
	EVP_PKEY *pk = NULL, *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t out[PRIM_X25519_BYTES];
	size_t len = sizeof(out);
	int rv = -1;

	if ((pk = x25519_private_pkey(priv, own_pub)) == NULL)
		goto fail;
	if ((peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub, PRIM_X25519_BYTES)) == NULL)
		goto fail;
	if ((ctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL)
		goto fail;
	if (EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, peer) != 1)
		goto fail;
	if (EVP_PKEY_derive(ctx, out, &len) != 1 || len != sizeof(out))
		goto fail;
	/*
	 * OpenSSL already fails on an all-zero result, but the refusal is
	 * part of our contract (a small-order peer key contributes nothing),
	 * so it is checked here rather than trusted to a library detail.
	 */
	if (CRYPTO_memcmp(out, zero, sizeof(out)) == 0)
		goto fail;
	memcpy(shared, out, sizeof(out));
	rv = 0;
fail:
	OPENSSL_cleanse(out, sizeof(out));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(pk);
	return rv;
}

int
prim_x25519_shared(uint8_t shared[PRIM_X25519_BYTES], const uint8_t priv[PRIM_X25519_BYTES],
    const uint8_t peer_pub[PRIM_X25519_BYTES])
{
	return x25519_shared(shared, priv, NULL, peer_pub);
}

int
prim_x25519_shared_kp(uint8_t shared[PRIM_X25519_BYTES], const uint8_t priv[PRIM_X25519_BYTES],
    const uint8_t own_pub[PRIM_X25519_BYTES], const uint8_t peer_pub[PRIM_X25519_BYTES])
{
	return x25519_shared(shared, priv, own_pub, peer_pub);
}

int
prim_x25519_keygen(uint8_t priv[PRIM_X25519_BYTES], uint8_t pub[PRIM_X25519_BYTES])
{
	return raw_keygen(EVP_PKEY_X25519, priv, pub);
}

/* Fetching an algorithm walks OpenSSL's method store; it is done once for
 * the life of the process rather than per derivation. */
static EVP_KDF *hkdf_kdf;
static pthread_once_t hkdf_once = PTHREAD_ONCE_INIT;

static void
hkdf_fetch(void)
{
	hkdf_kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
}

static EVP_KDF *
hkdf_method(void)
{
	pthread_once(&hkdf_once, hkdf_fetch);
	return hkdf_kdf;
}

int
prim_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *ikm, size_t ikm_len,
    const uint8_t *salt, size_t salt_len, const uint8_t *info, size_t info_len)
{
	/* OpenSSL wants a non-NULL pointer even for an empty octet string. */
	static const uint8_t empty[1];
	EVP_KDF *kdf = hkdf_method();
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[5], *p = params;
	int rv = -1;

	if (out_len == 0 || out_len > 255 * PRIM_SHA256_BYTES || kdf == NULL)
		goto fail;
	if ((ctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto fail;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, unconst("SHA256"), 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    unconst(ikm_len > 0 ? ikm : empty), ikm_len);
	/* An absent salt is, per RFC 5869, HashLen zero bytes: OpenSSL does that when it is omitted. */
	if (salt_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, unconst(salt), salt_len);
	if (info_len > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, unconst(info), info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) != 1) {
		OPENSSL_cleanse(out, out_len);
		goto fail;
	}
	rv = 0;
fail:
	EVP_KDF_CTX_free(ctx);
	return rv;
}

/*
 * Shared body of seal and open: one GCM pass over (in, len) with aad. For
 * open, tag is set before finalisation and checked by EVP_DecryptFinal_ex;
 * for seal it is read out afterwards.
 */
static int
gcm(int enc, uint8_t *out, uint8_t tag[PRIM_GCM_TAG_BYTES], const uint8_t *in, size_t len,
    const uint8_t *aad, size_t aad_len, const uint8_t nonce[PRIM_GCM_NONCE_BYTES],
    const uint8_t key[PRIM_AES256_KEY_BYTES])
{
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t fin[16];
	int n, rv = -1;

	if (len > INT_MAX || aad_len > INT_MAX)
		goto fail;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto fail;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1)
		goto fail;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, PRIM_GCM_NONCE_BYTES, NULL) != 1)
		goto fail;
	if (EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
		goto fail;
	if (aad_len > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
		goto fail;
	if (len > 0 && (EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1 || (size_t)n != len))
		goto fail;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, PRIM_GCM_TAG_BYTES, tag) != 1)
		goto fail;
	/* GCM emits nothing at finalisation; fin only keeps out untouched. */
	if (EVP_CipherFinal_ex(ctx, fin, &n) != 1 || n != 0)
		goto fail;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, PRIM_GCM_TAG_BYTES, tag) != 1)
		goto fail;
	rv = 0;
fail:
	EVP_CIPHER_CTX_free(ctx);
	return rv;
}

int
prim_aes256gcm_seal(uint8_t *ct, uint8_t tag[PRIM_GCM_TAG_BYTES], const uint8_t *pt, size_t len,
    const uint8_t *aad, size_t aad_len, const uint8_t nonce[PRIM_GCM_NONCE_BYTES],
    const uint8_t key[PRIM_AES256_KEY_BYTES])
{
	return gcm(1, ct, tag, pt, len, aad, aad_len, nonce, key);
}

int
prim_aes256gcm_open(uint8_t *pt, const uint8_t *ct, size_t len, const uint8_t tag[PRIM_GCM_TAG_BYTES],
    const uint8_t *aad, size_t aad_len, const uint8_t nonce[PRIM_GCM_NONCE_BYTES],
    const uint8_t key[PRIM_AES256_KEY_BYTES])
{
	uint8_t t[PRIM_GCM_TAG_BYTES];

	/* The EVP tag control takes a non-const buffer: hand it a copy. */
	memcpy(t, tag, sizeof(t));
	if (gcm(0, pt, t, ct, len, aad, aad_len, nonce, key) == -1) {
		/* Unauthenticated plaintext must never be visible to the caller. */
		if (len > 0)
			OPENSSL_cleanse(pt, len);
		return -1;
	}
	return 0;
}

/* An empty message may come as NULL; OpenSSL is not promised to accept that. */
static const uint8_t *
nonnull(const uint8_t *msg)
{
	return msg != NULL ? msg : (const uint8_t *)"";
}

int
prim_ed25519_public(uint8_t pub[PRIM_ED25519_PUB_BYTES], const uint8_t seed[PRIM_ED25519_SEED_BYTES])
{
	return raw_public(EVP_PKEY_ED25519, pub, seed);
}

int
prim_ed25519_keygen(uint8_t seed[PRIM_ED25519_SEED_BYTES], uint8_t pub[PRIM_ED25519_PUB_BYTES])
{
	return raw_keygen(EVP_PKEY_ED25519, seed, pub);
}

int
prim_ed25519_sign(uint8_t sig[PRIM_ED25519_SIG_BYTES], const uint8_t *msg, size_t len,
    const uint8_t seed[PRIM_ED25519_SEED_BYTES])
{
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	size_t siglen = PRIM_ED25519_SIG_BYTES;
	int rv = -1;

	if ((pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, PRIM_ED25519_SEED_BYTES)) == NULL)
		goto fail;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto fail;
	/* Pure Ed25519: no digest, one-shot over the whole message. */
	if (EVP_DigestSignInit_ex(ctx, NULL, NULL, NULL, NULL, pk, NULL) != 1)
		goto fail;
	if (EVP_DigestSign(ctx, sig, &siglen, nonnull(msg), len) != 1 || siglen != PRIM_ED25519_SIG_BYTES)
		goto fail;
	rv = 0;
fail:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return rv;
}

int
prim_ed25519_verify(const uint8_t sig[PRIM_ED25519_SIG_BYTES], const uint8_t *msg, size_t len,
    const uint8_t pub[PRIM_ED25519_PUB_BYTES])
{
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *ctx = NULL;
	int rv = -1;

	if ((pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, PRIM_ED25519_PUB_BYTES)) == NULL)
		goto fail;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto fail;
	if (EVP_DigestVerifyInit_ex(ctx, NULL, NULL, NULL, NULL, pk, NULL) != 1)
		goto fail;
	if (EVP_DigestVerify(ctx, sig, PRIM_ED25519_SIG_BYTES, nonnull(msg), len) != 1)
		goto fail;
	rv = 0;
fail:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return rv;
}

int
prim_ct_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}
