#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "core/b64.h"
#include "core/envelope.h"
#include "core/jcs.h"
#include "kat.h"

/*
 * The worked example of docs/PROTOCOL.md section 7. Every value below was
 * computed independently with Python's `cryptography` package by
 * tests/vectors/envelope_example.py.
 */
#define EX_ENCLAVE_PRIV "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
#define EX_ENCLAVE_PUB "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a"
#define EX_EPHEMERAL_PRIV "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
#define EX_EPHEMERAL_PUB "675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f"
#define EX_NONCE "808182838485868788898a8b"
#define EX_SHARED "d6fb939511b2381bc8599b4b8edc5968829450dfd7a87aebe78a703cd04cd54e"
#define EX_KEY "355a1da6316aa4f5e240c1c777de20e53cbb12d99ed17b729abd1ad6d1e9483f"
#define EX_METADATA "{\"exchange\":\"binance\",\"label\":\"main\",\"ts\":1767225600000,\"ttl\":3600}"
#define EX_PLAINTEXT "{\"userId\":\"alice\",\"exchange\":\"binance\",\"apiKey\":\"demo-key\"," \
	"\"secret\":\"demo-secret\",\"accountType\":\"spot\"}"
#define EX_CIPHERTEXT "49922615128dd0eab23097be0a1925bb96658b06b878bd6c56f4e31b18f5bfcf" \
	"59cefa63ca3458d463eb90f9cacc0440a52339eec78f2965c1d11e3b1d46daa7" \
	"4223aafebd53cabd992f4bc9604fb3ec59111ff60748eb313ba7afd408f9aa7e" \
	"85690d4b72d022"
#define EX_TAG "4ed8e7bd4bd0234d163338fe63eb4229"
#define EX_BODY "{\"ciphertext\":\"SZImFRKN0OqyMJe+Chklu5Zliwa4eL1sVvTjGxj1v89ZzvpjyjRY1GPrkPnKzARApSM57sePKWXB" \
	"0R47HUbap0Ijqv69U8q9mS9LyWBPs+xZER/2B0jrMTunr9QI+ap+hWkNS3LQIg==\"," \
	"\"ephemeral_pub\":\"Z13VdO13iTELPS52gfN5C0ZsdzsVIf7PNld5WDcepS8=\"," \
	"\"metadata\":{\"exchange\":\"binance\",\"label\":\"main\",\"ts\":1767225600000,\"ttl\":3600}," \
	"\"nonce\":\"gIGCg4SFhoeIiYqL\",\"tag\":\"TtjnvUvQI00WMzj+Y+tCKQ==\"}"

struct keys {
	uint8_t priv[32], pub[32];
};

static json_t *
parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (v == NULL)
		fail_msg("bad test JSON: %s", jerr.text);
	return v;
}

static void
example_keys(struct keys *k)
{
	kat_unhex(k->priv, 32, EX_ENCLAVE_PRIV);
	assert_int_equal(prim_x25519_public(k->pub, k->priv), 0);
	kat_assert_hex(k->pub, 32, EX_ENCLAVE_PUB);
}

/* Seals the worked example into env. */
static void
example_seal(struct envelope *env, const struct keys *k)
{
	uint8_t eph[32], nonce[12];
	const char *errstr = NULL;
	json_t *meta = parse("{\"ttl\": 3600, \"ts\": 1767225600000, \"label\": \"main\", \"exchange\": \"binance\"}");

	kat_unhex(eph, 32, EX_EPHEMERAL_PRIV);
	kat_unhex(nonce, 12, EX_NONCE);
	assert_int_equal(envelope_seal_with(env, k->pub, meta, (const uint8_t *)EX_PLAINTEXT,
	    strlen(EX_PLAINTEXT), eph, nonce, &errstr), 0);
	json_decref(meta);
}

static void
test_worked_example(void **state)
{
	struct keys k;
	struct envelope env, back;
	uint8_t eph[32], eph_pub[32], shared[32], shared2[32], key[32], pt[sizeof(EX_PLAINTEXT)];
	const char *errstr = NULL;
	json_t *body;
	char *text, *aad;
	size_t len;

	(void)state;
	example_keys(&k);
	kat_unhex(eph, 32, EX_EPHEMERAL_PRIV);
	assert_int_equal(prim_x25519_public(eph_pub, eph), 0);
	kat_assert_hex(eph_pub, 32, EX_EPHEMERAL_PUB);

	/* Both sides agree on the shared secret and the key. */
	assert_int_equal(prim_x25519_shared(shared, eph, k.pub), 0);
	kat_assert_hex(shared, 32, EX_SHARED);
	assert_int_equal(prim_x25519_shared(shared2, k.priv, eph_pub), 0);
	assert_memory_equal(shared, shared2, 32);
	assert_int_equal(envelope_derive_key(key, shared, eph_pub, k.pub), 0);
	kat_assert_hex(key, 32, EX_KEY);
	/* The derivation is HKDF with salt = ephemeral_pub || enclave_pub and the fixed info. */
	{
		uint8_t salt[64], key2[32];

		memcpy(salt, eph_pub, 32);
		memcpy(salt + 32, k.pub, 32);
		kat_assert_hex(salt, 64, EX_EPHEMERAL_PUB EX_ENCLAVE_PUB);
		assert_int_equal(prim_hkdf_sha256(key2, 32, shared, 32, salt, 64,
		    (const uint8_t *)"perf-aggregator/v1/submit_key", 29), 0);
		assert_memory_equal(key, key2, 32);
	}

	example_seal(&env, &k);
	kat_assert_hex(env.ephemeral_pub, 32, EX_EPHEMERAL_PUB);
	kat_assert_hex(env.nonce, 12, EX_NONCE);
	assert_int_equal(env.ciphertext_len, strlen(EX_PLAINTEXT));
	kat_assert_hex(env.ciphertext, env.ciphertext_len, EX_CIPHERTEXT);
	kat_assert_hex(env.tag, 16, EX_TAG);
	aad = jcs_canonicalize(env.metadata, &len, &errstr);
	assert_string_equal(aad, EX_METADATA);
	free(aad);

	/* The wire body, canonicalized. */
	body = envelope_to_json(&env);
	text = jcs_canonicalize(body, &len, &errstr);
	assert_string_equal(text, EX_BODY);
	free(text);
	json_decref(body);
	envelope_clear(&env);

	/* The enclave side: parse the body text and open it. */
	body = parse(EX_BODY);
	assert_int_equal(envelope_from_json(&back, body, &errstr), 0);
	json_decref(body);
	assert_int_equal(envelope_open(pt, &back, k.priv, k.pub), 0);
	assert_memory_equal(pt, EX_PLAINTEXT, strlen(EX_PLAINTEXT));
	envelope_clear(&back);
}

static void
test_roundtrip_random(void **state)
{
	struct keys k;
	struct envelope e1, e2;
	const char *errstr = NULL;
	json_t *meta = parse("{\"exchange\":\"okx\",\"label\":\"\\u00e9t\\u00e9\",\"ttl\":300}");
	uint8_t pt[ENVELOPE_MAX_PLAINTEXT], out[ENVELOPE_MAX_PLAINTEXT];

	(void)state;
	assert_int_equal(prim_x25519_keygen(k.priv, k.pub), 0);
	prim_random(pt, sizeof(pt));
	/* Smallest and largest plaintexts. */
	assert_int_equal(envelope_seal(&e1, k.pub, meta, pt, 1, &errstr), 0);
	assert_int_equal(envelope_seal(&e2, k.pub, meta, pt, sizeof(pt), &errstr), 0);
	/* Fresh ephemeral key and nonce each time. */
	assert_memory_not_equal(e1.ephemeral_pub, e2.ephemeral_pub, 32);
	assert_memory_not_equal(e1.nonce, e2.nonce, 12);
	assert_int_equal(envelope_open(out, &e1, k.priv, k.pub), 0);
	assert_int_equal(out[0], pt[0]);
	assert_int_equal(envelope_open(out, &e2, k.priv, k.pub), 0);
	assert_memory_equal(out, pt, sizeof(pt));
	/* Through JSON and back. */
	{
		struct envelope back;
		json_t *body = envelope_to_json(&e2);

		assert_int_equal(envelope_from_json(&back, body, &errstr), 0);
		assert_int_equal(envelope_open(out, &back, k.priv, k.pub), 0);
		assert_memory_equal(out, pt, sizeof(pt));
		envelope_clear(&back);
		json_decref(body);
	}
	envelope_clear(&e1);
	envelope_clear(&e2);
	json_decref(meta);
}

static void
assert_open_fails(const struct envelope *env, const struct keys *k)
{
	uint8_t pt[256];

	assert_true(env->ciphertext_len <= sizeof(pt));
	memset(pt, 0x5a, sizeof(pt));
	assert_int_equal(envelope_open(pt, env, k->priv, k->pub), -1);
	for (size_t i = 0; i < env->ciphertext_len; i++)
		assert_int_equal(pt[i], 0);
}

static void
test_tamper(void **state)
{
	struct keys k;
	struct envelope env;
	uint8_t pt[256];

	(void)state;
	example_keys(&k);
	example_seal(&env, &k);
	uint8_t *const flip[] = { &env.tag[0], &env.ciphertext[17], &env.nonce[11], &env.ephemeral_pub[5] };

	for (size_t i = 0; i < sizeof(flip) / sizeof(flip[0]); i++) {
		*flip[i] ^= 0x10;
		assert_open_fails(&env, &k);
		*flip[i] ^= 0x10;
	}
	/* AAD: any change to the metadata. */
	json_object_set_new(env.metadata, "ttl", json_integer(3601));
	assert_open_fails(&env, &k);
	json_object_set_new(env.metadata, "ttl", json_integer(3600));
	json_object_set_new(env.metadata, "extra", json_null());
	assert_open_fails(&env, &k);
	json_object_del(env.metadata, "extra");
	/* A different enclave key. */
	{
		struct keys other;

		assert_int_equal(prim_x25519_keygen(other.priv, other.pub), 0);
		assert_open_fails(&env, &other);
	}
	/* Everything restored: it opens. */
	assert_int_equal(envelope_open(pt, &env, k.priv, k.pub), 0);
	assert_memory_equal(pt, EX_PLAINTEXT, env.ciphertext_len);
	envelope_clear(&env);
}

static void
test_small_order_ephemeral(void **state)
{
	static const char *const bad[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	};
	struct keys k;
	struct envelope env;

	(void)state;
	example_keys(&k);
	example_seal(&env, &k);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kat_unhex(env.ephemeral_pub, 32, bad[i]);
		assert_open_fails(&env, &k);
	}
	envelope_clear(&env);
}

static void
test_seal_errors(void **state)
{
	struct keys k;
	struct envelope env;
	const char *errstr;
	uint8_t pt[ENVELOPE_MAX_PLAINTEXT + 1] = { 0 }, zero[32] = { 0 };
	json_t *meta = parse("{\"exchange\":\"binance\",\"ttl\":3600}"), *arr = parse("[]");
	json_t *huge = json_pack("{s:I}", "ttl", (json_int_t)9007199254740993LL);

	(void)state;
	example_keys(&k);
	errstr = NULL;
	assert_int_equal(envelope_seal(&env, k.pub, arr, pt, 10, &errstr), -1);
	assert_non_null(errstr);
	errstr = NULL;
	assert_int_equal(envelope_seal(&env, k.pub, huge, pt, 10, &errstr), -1);
	assert_non_null(errstr);
	errstr = NULL;
	assert_int_equal(envelope_seal(&env, k.pub, meta, pt, 0, &errstr), -1);
	assert_non_null(errstr);
	errstr = NULL;
	assert_int_equal(envelope_seal(&env, k.pub, meta, pt, sizeof(pt), &errstr), -1);
	assert_non_null(errstr);
	errstr = NULL;
	assert_int_equal(envelope_seal(&env, zero, meta, pt, 10, &errstr), -1);
	assert_non_null(errstr);
	/* Failure leaves nothing to free; clearing twice is harmless. */
	assert_null(env.ciphertext);
	assert_null(env.metadata);
	envelope_clear(&env);
	envelope_clear(&env);
	json_decref(meta);
	json_decref(arr);
	json_decref(huge);
}

/* envelope_from_json on the example body with one member replaced (NULL value: removed). */
static void
assert_body_refused(const char *member, json_t *value, const char *errprefix)
{
	struct envelope env;
	const char *errstr = NULL;
	json_t *body = parse(EX_BODY);

	if (value == NULL)
		json_object_del(body, member);
	else
		json_object_set_new(body, member, value);
	assert_int_equal(envelope_from_json(&env, body, &errstr), -1);
	assert_non_null(errstr);
	if (strncmp(errstr, errprefix, strlen(errprefix)) != 0)
		fail_msg("%s: errstr \"%s\", want prefix \"%s\"", member, errstr, errprefix);
	assert_null(env.ciphertext);
	assert_null(env.metadata);
	json_decref(body);
}

static json_t *
b64_of(size_t n)
{
	uint8_t buf[ENVELOPE_MAX_PLAINTEXT + 1] = { 0 };
	char *s = b64_encode(buf, n);
	json_t *v = json_string(s);

	free(s);
	return v;
}

static void
test_from_json_errors(void **state)
{
	static const char *const fields[] = { "ephemeral_pub", "nonce", "ciphertext", "tag", "metadata" };
	struct envelope env;
	const char *errstr;
	json_t *v;

	(void)state;
	/* Not an object. */
	v = parse("[1,2]");
	assert_int_equal(envelope_from_json(&env, v, &errstr), -1);
	assert_string_equal(errstr, "body: not a JSON object");
	json_decref(v);
	v = parse("\"x\"");
	assert_int_equal(envelope_from_json(&env, v, &errstr), -1);
	json_decref(v);

	/* Each member missing, or of the wrong type. */
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		assert_body_refused(fields[i], NULL, fields[i]);
		assert_body_refused(fields[i], json_integer(1), fields[i]);
		assert_body_refused(fields[i], json_null(), fields[i]);
	}
	/* An unknown member. */
	assert_body_refused("version", json_integer(1), "body: unknown member");

	/* Bad base64: non-canonical, whitespace, URL alphabet. */
	assert_body_refused("nonce", json_string("gIGCg4SFhoeIiYqL\n"), "nonce");
	assert_body_refused("tag", json_string("VvSNGHhv3AtfZFVmDt6N6A="), "tag");
	assert_body_refused("tag", json_string("VvSNGHhv3AtfZFVmDt6N6B=="), "tag");	/* unused bits */
	assert_body_refused("ephemeral_pub", json_string("Z13VdO13iTELPS52gfN5C0ZsdzsVIf7PNld5WDcepS8"),
	    "ephemeral_pub");
	assert_body_refused("ciphertext", json_string("SZIm-RKN"), "ciphertext");

	/* Wrong lengths. */
	assert_body_refused("ephemeral_pub", b64_of(31), "ephemeral_pub");
	assert_body_refused("ephemeral_pub", b64_of(33), "ephemeral_pub");
	assert_body_refused("nonce", b64_of(16), "nonce");
	assert_body_refused("nonce", b64_of(11), "nonce");
	assert_body_refused("tag", b64_of(12), "tag");
	assert_body_refused("ciphertext", b64_of(0), "ciphertext");
	assert_body_refused("ciphertext", b64_of(ENVELOPE_MAX_PLAINTEXT + 1), "ciphertext");

	/* metadata: not an object, or without a canonical form. */
	assert_body_refused("metadata", parse("[]"), "metadata");
	assert_body_refused("metadata", json_string("{}"), "metadata");
	assert_body_refused("metadata", json_pack("{s:I}", "ttl", (json_int_t)9007199254740993LL), "metadata");

	/* The largest ciphertext is accepted. */
	{
		json_t *body = parse(EX_BODY);

		json_object_set_new(body, "ciphertext", b64_of(ENVELOPE_MAX_PLAINTEXT));
		assert_int_equal(envelope_from_json(&env, body, &errstr), 0);
		assert_int_equal(env.ciphertext_len, ENVELOPE_MAX_PLAINTEXT);
		envelope_clear(&env);
		json_decref(body);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worked_example),
		cmocka_unit_test(test_roundtrip_random),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_small_order_ephemeral),
		cmocka_unit_test(test_seal_errors),
		cmocka_unit_test(test_from_json_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
