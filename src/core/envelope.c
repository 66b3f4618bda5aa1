/*
 * envelope: the submit_key credential envelope. See envelope.h and
 * docs/PROTOCOL.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/b64.h"
#include "core/envelope.h"
#include "core/jcs.h"
#include "core/prim.h"
#include "util/log.h"
#include "util/xalloc.h"

/* jansson's reference counting is not const-qualified. */
static json_t *
json_ref(const json_t *v)
{
	return json_incref((json_t *)(uintptr_t)v);
}

int
envelope_derive_key(uint8_t key[PRIM_AES256_KEY_BYTES], const uint8_t shared[32],
    const uint8_t ephemeral_pub[32], const uint8_t enclave_pub[32])
{
	uint8_t salt[2 * ENVELOPE_PUB_BYTES];

	memcpy(salt, ephemeral_pub, ENVELOPE_PUB_BYTES);
	memcpy(salt + ENVELOPE_PUB_BYTES, enclave_pub, ENVELOPE_PUB_BYTES);
	return prim_hkdf_sha256(key, PRIM_AES256_KEY_BYTES, shared, PRIM_X25519_BYTES, salt, sizeof(salt),
	    (const uint8_t *)ENVELOPE_INFO, sizeof(ENVELOPE_INFO) - 1);
}

/* Key agreement and derivation, shared by both directions. */
static int
envelope_key(uint8_t key[PRIM_AES256_KEY_BYTES], const uint8_t priv[32], const uint8_t own_pub[32],
    const uint8_t peer_pub[32], const uint8_t ephemeral_pub[32], const uint8_t enclave_pub[32])
{
	uint8_t shared[PRIM_X25519_BYTES];
	int rv = -1;

	if (prim_x25519_shared_kp(shared, priv, own_pub, peer_pub) == -1)
		goto fail;
	if (envelope_derive_key(key, shared, ephemeral_pub, enclave_pub) == -1)
		goto fail;
	rv = 0;
fail:
	OPENSSL_cleanse(shared, sizeof(shared));
	return rv;
}

int
envelope_seal_with(struct envelope *env, const uint8_t enclave_pub[32], const json_t *metadata,
    const uint8_t *pt, size_t pt_len, const uint8_t ephemeral_priv[32], const uint8_t nonce[12],
    const char **errstr)
{
	uint8_t key[PRIM_AES256_KEY_BYTES];
	char *aad = NULL;
	size_t aad_len;
	int rv = -1;

	memset(env, 0, sizeof(*env));
	if (!json_is_object(metadata)) {
		*errstr = "metadata is not an object";
		goto fail;
	}
	if (pt_len == 0 || pt_len > ENVELOPE_MAX_PLAINTEXT) {
		*errstr = "plaintext length out of range";
		goto fail;
	}
	if ((aad = jcs_canonicalize(metadata, &aad_len, errstr)) == NULL)
		goto fail;
	if (prim_x25519_public(env->ephemeral_pub, ephemeral_priv) == -1) {
		*errstr = "bad ephemeral key";
		goto fail;
	}
	if (envelope_key(key, ephemeral_priv, env->ephemeral_pub, enclave_pub, env->ephemeral_pub, enclave_pub) == -1) {
		*errstr = "key agreement failed (bad enclave public key)";
		goto fail;
	}
	memcpy(env->nonce, nonce, ENVELOPE_NONCE_BYTES);
	env->ciphertext = xmalloc(pt_len);
	env->ciphertext_len = pt_len;
	if (prim_aes256gcm_seal(env->ciphertext, env->tag, pt, pt_len, (const uint8_t *)aad, aad_len,
	    env->nonce, key) == -1) {
		*errstr = "encryption failed";
		goto fail;
	}
	env->metadata = json_ref(metadata);
	rv = 0;
fail:
	OPENSSL_cleanse(key, sizeof(key));
	free(aad);
	if (rv == -1)
		envelope_clear(env);
	return rv;
}

int
envelope_seal(struct envelope *env, const uint8_t enclave_pub[32], const json_t *metadata,
    const uint8_t *pt, size_t pt_len, const char **errstr)
{
	uint8_t priv[PRIM_X25519_BYTES], nonce[ENVELOPE_NONCE_BYTES];
	int rv;

	prim_random(priv, sizeof(priv));
	prim_random(nonce, sizeof(nonce));
	rv = envelope_seal_with(env, enclave_pub, metadata, pt, pt_len, priv, nonce, errstr);
	OPENSSL_cleanse(priv, sizeof(priv));
	return rv;
}

int
envelope_open(uint8_t *pt, const struct envelope *env, const uint8_t enclave_priv[32],
    const uint8_t enclave_pub[32])
{
	uint8_t key[PRIM_AES256_KEY_BYTES];
	const char *errstr;
	char *aad = NULL;
	size_t aad_len;
	int rv = -1;

	if (env->ciphertext == NULL || env->ciphertext_len == 0 ||
	    env->ciphertext_len > ENVELOPE_MAX_PLAINTEXT || !json_is_object(env->metadata))
		goto fail;
	if ((aad = jcs_canonicalize(env->metadata, &aad_len, &errstr)) == NULL)
		goto fail;
	if (envelope_key(key, enclave_priv, enclave_pub, env->ephemeral_pub, env->ephemeral_pub, enclave_pub) == -1)
		goto fail;
	if (prim_aes256gcm_open(pt, env->ciphertext, env->ciphertext_len, env->tag, (const uint8_t *)aad,
	    aad_len, env->nonce, key) == -1)
		goto fail;
	rv = 0;
fail:
	OPENSSL_cleanse(key, sizeof(key));
	free(aad);
	/* One failure for every cause, and nothing half-decrypted left behind. */
	if (rv == -1 && env->ciphertext_len > 0 && env->ciphertext_len <= ENVELOPE_MAX_PLAINTEXT)
		OPENSSL_cleanse(pt, env->ciphertext_len);
	return rv;
}

/*
 * Decodes the base64 string member name of body into out: exactly n bytes,
 * or (n == 0) 1..ENVELOPE_MAX_PLAINTEXT bytes into a fresh buffer.
 */
static int
field_bytes(const json_t *body, const char *name, uint8_t *out, size_t n, uint8_t **dyn, size_t *dyn_len)
{
	const json_t *v = json_object_get(body, name);
	const char *s;
	size_t slen;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	slen = json_string_length(v);
	if (n > 0)
		return b64_decode_exact(out, n, s, slen);
	if (slen == 0 || slen > B64_ENCODED_LEN(ENVELOPE_MAX_PLAINTEXT))
		return -1;
	*dyn = xmalloc(slen / 4 * 3);
	if (b64_decode(*dyn, slen / 4 * 3, dyn_len, s, slen) == -1)
		return -1;
	if (*dyn_len == 0 || *dyn_len > ENVELOPE_MAX_PLAINTEXT)
		return -1;
	return 0;
}

/* The members of the body, in the order they are checked. */
static const struct {
	const char *name;
	const char *missing, *bad;
	size_t len;	/* exact decoded length; 0 for ciphertext, SIZE_MAX for metadata */
} envelope_fields[] = {
	{ "ephemeral_pub", "ephemeral_pub: missing", "ephemeral_pub: not base64 of 32 bytes", ENVELOPE_PUB_BYTES },
	{ "nonce", "nonce: missing", "nonce: not base64 of 12 bytes", ENVELOPE_NONCE_BYTES },
	{ "ciphertext", "ciphertext: missing", "ciphertext: not base64 of 1..16384 bytes", 0 },
	{ "tag", "tag: missing", "tag: not base64 of 16 bytes", ENVELOPE_TAG_BYTES },
	{ "metadata", "metadata: missing", "metadata: not an object", SIZE_MAX },
};
#define ENVELOPE_NFIELDS (sizeof(envelope_fields) / sizeof(envelope_fields[0]))

int
envelope_from_json(struct envelope *env, const json_t *body, const char **errstr)
{
	uint8_t *fixed[ENVELOPE_NFIELDS] = { env->ephemeral_pub, env->nonce, NULL, env->tag, NULL };
	const json_t *meta;
	const char *jerr;
	size_t i, aad_len;
	char *aad;

	memset(env, 0, sizeof(*env));
	if (!json_is_object(body)) {
		*errstr = "body: not a JSON object";
		goto fail;
	}
	for (i = 0; i < ENVELOPE_NFIELDS; i++) {
		if (json_object_get(body, envelope_fields[i].name) == NULL) {
			*errstr = envelope_fields[i].missing;
			goto fail;
		}
	}
	/* All five are present, so any further member is an unknown one. */
	if (json_object_size(body) != ENVELOPE_NFIELDS) {
		*errstr = "body: unknown member";
		goto fail;
	}
	for (i = 0; i < ENVELOPE_NFIELDS; i++) {
		if (envelope_fields[i].len == SIZE_MAX)
			continue;
		if (field_bytes(body, envelope_fields[i].name, fixed[i], envelope_fields[i].len,
		    &env->ciphertext, &env->ciphertext_len) == -1) {
			*errstr = envelope_fields[i].bad;
			goto fail;
		}
	}
	meta = json_object_get(body, "metadata");
	if (!json_is_object(meta)) {
		*errstr = "metadata: not an object";
		goto fail;
	}
	/* Without an AAD the envelope could never be opened: refuse it here, as bad input. */
	if ((aad = jcs_canonicalize(meta, &aad_len, &jerr)) == NULL) {
		*errstr = "metadata: cannot be canonicalized";
		goto fail;
	}
	free(aad);
	env->metadata = json_ref(meta);
	return 0;
fail:
	envelope_clear(env);
	return -1;
}

json_t *
envelope_to_json(const struct envelope *env)
{
	char *pub, *nonce, *ct, *tag;
	json_t *body;

	if (env->ciphertext == NULL || env->metadata == NULL)
		fatalx("envelope_to_json: incomplete envelope");
	pub = b64_encode(env->ephemeral_pub, ENVELOPE_PUB_BYTES);
	nonce = b64_encode(env->nonce, ENVELOPE_NONCE_BYTES);
	ct = b64_encode(env->ciphertext, env->ciphertext_len);
	tag = b64_encode(env->tag, ENVELOPE_TAG_BYTES);
	body = json_pack("{s:s, s:s, s:s, s:s, s:O}", "ephemeral_pub", pub, "nonce", nonce,
	    "ciphertext", ct, "tag", tag, "metadata", env->metadata);
	free(pub);
	free(nonce);
	free(ct);
	free(tag);
	if (body == NULL)
		fatalx("envelope_to_json: json_pack failed");
	return body;
}

void
envelope_clear(struct envelope *env)
{
	free(env->ciphertext);
	json_decref(env->metadata);
	memset(env, 0, sizeof(*env));
}
