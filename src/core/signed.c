#include "core/signed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/b64.h"
#include "core/hex.h"
#include "core/jcs.h"
#include "core/prim.h"

void
signed_key_id(char out[SIGNED_KEY_ID_HEX + 1], const uint8_t pub[32])
{
	uint8_t h[PRIM_SHA256_BYTES];

	prim_sha256(h, pub, 32);
	hex_encode(out, h, SIGNED_KEY_ID_HEX / 2);
}

/* JCS of doc without its signature member; caller frees. */
static char *
signed_bytes(const json_t *doc, size_t *len, const char **errstr)
{
	json_t *copy;
	char *out;

	if (!json_is_object(doc)) {
		*errstr = "a signed document is a JSON object";
		return NULL;
	}
	copy = json_copy((json_t *)(uintptr_t)doc);	/* shallow: members are shared, not changed */
	json_object_del(copy, "signature");
	out = jcs_canonicalize(copy, len, errstr);
	json_decref(copy);
	return out;
}

int
signed_sign(json_t *doc, signed_sign_fn sign, void *arg, const char *key_id, uint64_t key_epoch,
    const char **errstr)
{
	uint8_t sig[PRIM_ED25519_SIG_BYTES];
	char b64[B64_ENCODED_LEN(PRIM_ED25519_SIG_BYTES) + 1], *msg;
	size_t len;
	int rc;

	if (!json_is_object(doc)) {
		*errstr = "a signed document is a JSON object";
		return -1;
	}
	if (key_epoch < 1 || key_epoch > ((uint64_t)1 << 53)) {
		*errstr = "key_epoch out of range";
		return -1;
	}
	json_object_set_new(doc, "signing_key_id", json_string(key_id));
	json_object_set_new(doc, "key_epoch", json_integer((json_int_t)key_epoch));
	if ((msg = signed_bytes(doc, &len, errstr)) == NULL)
		return -1;
	rc = sign(arg, sig, (const uint8_t *)msg, len);
	free(msg);
	if (rc != 0) {
		*errstr = "signing failed";
		return -1;
	}
	b64_encode_to(b64, sig, sizeof(sig));
	json_object_set_new(doc, "signature", json_string(b64));
	return 0;
}

int
signed_verify(const json_t *doc, const uint8_t pub[32], const char **errstr)
{
	const json_t *s = json_object_get(doc, "signature"), *k = json_object_get(doc, "signing_key_id");
	uint8_t sig[PRIM_ED25519_SIG_BYTES];
	char id[SIGNED_KEY_ID_HEX + 1], *msg;
	size_t len;
	int rc;

	if (!json_is_string(s) || b64_decode_exact(sig, sizeof(sig), json_string_value(s), json_string_length(s)) != 0) {
		*errstr = "no valid \"signature\" (base64 of 64 bytes)";
		return -1;
	}
	signed_key_id(id, pub);
	if (!json_is_string(k) || strcmp(json_string_value(k), id) != 0) {
		*errstr = "signing_key_id does not match the attested signing key";
		return -1;
	}
	if ((msg = signed_bytes(doc, &len, errstr)) == NULL)
		return -1;
	rc = prim_ed25519_verify(sig, (const uint8_t *)msg, len, pub);
	free(msg);
	if (rc != 0) {
		*errstr = "signature does not verify: the document was changed or signed by another key";
		return -1;
	}
	return 0;
}

int
signed_key_epoch(const json_t *doc, uint64_t *epoch, const char **errstr)
{
	const json_t *e = json_object_get(doc, "key_epoch");

	if (e == NULL) {
		*epoch = 1;
		return 0;
	}
	if (!json_is_integer(e) || json_integer_value(e) < 1) {
		*errstr = "key_epoch is not an integer >= 1";
		return -1;
	}
	*epoch = (uint64_t)json_integer_value(e);
	return 0;
}
