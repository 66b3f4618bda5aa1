#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/prim.h"
#include "core/signed.h"

static uint8_t seed[32], pub[32];

static int
sign_cb(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	return prim_ed25519_sign(sig, msg, len, arg);
}

static void
test_round_trip_and_tamper(void **state)
{
	json_t *doc = json_pack("{s:s, s:{s:s, s:i}, s:[i, i]}", "b", "x", "a", "pnl", "12.5", "trades", 3, "c", 1, 2);
	char id[17];
	const char *err = NULL;

	(void)state;
	assert_int_equal(prim_ed25519_keygen(seed, pub), 0);
	signed_key_id(id, pub);
	assert_int_equal(strlen(id), 16);
	assert_int_equal(signed_sign(doc, sign_cb, seed, id, 1, &err), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "signing_key_id")), id);
	assert_int_equal(signed_verify(doc, pub, &err), 0);

	/* Member order does not matter (JCS), a changed value does. */
	char *sorted = json_dumps(doc, JSON_SORT_KEYS);
	json_t *reordered = json_loads(sorted, 0, NULL);
	free(sorted);
	assert_int_equal(signed_verify(reordered, pub, &err), 0);
	json_object_set_new(json_object_get(reordered, "a"), "pnl", json_string("12.6"));
	assert_int_equal(signed_verify(reordered, pub, &err), -1);
	assert_non_null(strstr(err, "does not verify"));
	json_decref(reordered);

	/* Another key: the key id no longer matches. */
	uint8_t s2[32], p2[32];
	assert_int_equal(prim_ed25519_keygen(s2, p2), 0);
	assert_int_equal(signed_verify(doc, p2, &err), -1);
	assert_non_null(strstr(err, "signing_key_id"));

	/* A swapped key id is inside the signed bytes. */
	json_t *c = json_deep_copy(doc);
	json_object_set_new(c, "signing_key_id", json_string("0000000000000000"));
	assert_int_equal(signed_verify(c, pub, &err), -1);
	json_decref(c);
	/* No signature, or a malformed one. */
	c = json_deep_copy(doc);
	json_object_set_new(c, "signature", json_string("abc"));
	assert_int_equal(signed_verify(c, pub, &err), -1);
	json_object_del(c, "signature");
	assert_int_equal(signed_verify(c, pub, &err), -1);
	json_decref(c);
	json_decref(doc);
}

/* Every single-character change of the serialized document fails. */
static void
test_every_byte_matters(void **state)
{
	json_t *doc = json_pack("{s:s, s:s}", "realized_pnl", "100.25", "symbol", "BTC/USDT");
	const char *err = NULL;
	char id[17], *text;
	size_t n, changed = 0;

	(void)state;
	assert_int_equal(prim_ed25519_keygen(seed, pub), 0);
	signed_key_id(id, pub);
	assert_int_equal(signed_sign(doc, sign_cb, seed, id, 1, &err), 0);
	text = json_dumps(doc, JSON_COMPACT);
	n = strlen(text);
	for (size_t i = 0; i < n; i++) {
		char saved = text[i];
		json_t *t;
		text[i] = saved == 'A' ? 'B' : saved == '0' ? '1' : saved == '"' ? '\'' : 'A';
		t = json_loads(text, 0, NULL);
		if (t != NULL) {
			assert_int_equal(signed_verify(t, pub, &err), -1);
			changed++;
		}
		json_decref(t);
		text[i] = saved;
	}
	assert_true(changed > n / 2);
	free(text);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_tamper),
		cmocka_unit_test(test_every_byte_matters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
