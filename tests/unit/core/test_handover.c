/*
 * core/handover: the signed statements of the key-epoch chain. A statement
 * verifies only as signed (any changed byte refused), only under its
 * from_epoch; a chain only with consecutive epochs from 1 and continuous
 * measurements; the measurement in force is read from it per epoch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/handover.h"
#include "core/prim.h"
#include "core/signed.h"

static uint8_t seed[32], pub[32];
static char key_id[17];

static int
sign_cb(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	return prim_ed25519_sign(sig, msg, len, arg);
}

/* A signed statement from -> from + 1, measurements filled with bytes mf, mt. */
static json_t *
statement(uint64_t from, uint8_t mf, uint8_t mt, uint64_t sign_epoch)
{
	struct handover_claim c = { .from_epoch = from, .to_epoch = from + 1 };
	const char *err = NULL;
	json_t *st;

	memset(c.from_measurement, mf, 32);
	memset(c.to_measurement, mt, 32);
	memset(c.to_x25519, 0x42, 32);
	strcpy(c.to_attestation_type, "dev");
	strcpy(c.released_at, "2026-12-06T06:00:00.000Z");
	st = handover_statement_new(&c);
	assert_non_null(st);
	assert_int_equal(signed_sign(st, sign_cb, seed, key_id, sign_epoch, &err), 0);
	return st;
}

static int
setup(void **state)
{
	(void)state;
	if (prim_ed25519_keygen(seed, pub) != 0)
		return -1;
	signed_key_id(key_id, pub);
	return 0;
}

static void
test_statement_round_trip(void **state)
{
	json_t *st = statement(1, 0xaa, 0xbb, 1);
	struct handover_claim c;
	const char *err = NULL;
	uint8_t other_seed[32], other_pub[32];

	(void)state;
	assert_int_equal(handover_statement_verify(st, pub, &c, &err), 0);
	assert_int_equal(c.from_epoch, 1);
	assert_int_equal(c.to_epoch, 2);
	assert_int_equal(c.to_measurement[0], 0xbb);
	assert_int_equal(c.to_x25519[31], 0x42);
	assert_string_equal(c.to_attestation_type, "dev");
	/* another key */
	assert_int_equal(prim_ed25519_keygen(other_seed, other_pub), 0);
	assert_int_equal(handover_statement_verify(st, other_pub, &c, &err), -1);
	/* signed under another epoch than its from_epoch */
	json_decref(st);
	st = statement(1, 0xaa, 0xbb, 2);
	assert_int_equal(handover_statement_verify(st, pub, &c, &err), -1);
	assert_non_null(strstr(err, "from_epoch"));
	json_decref(st);
	/* inconsistent claims are not built */
	{
		struct handover_claim bad = { .from_epoch = 1, .to_epoch = 3 };
		strcpy(bad.to_attestation_type, "dev");
		strcpy(bad.released_at, "x");
		assert_null(handover_statement_new(&bad));
	}
}

/* Every changed character of the serialized statement is refused (or the
 * JSON no longer parses). */
static void
test_changed_byte_refused(void **state)
{
	json_t *st = statement(1, 0x11, 0x22, 1), *t;
	char *text = json_dumps(st, JSON_COMPACT);
	size_t n = strlen(text), refused = 0, parsed = 0;
	const char *err = NULL;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		char saved = text[i];
		text[i] = (char)(saved == 'A' ? 'B' : saved == '1' ? '2' : saved ^ 0x01);
		t = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		if (t != NULL) {
			parsed++;
			if (handover_statement_verify(t, pub, NULL, &err) != 0)
				refused++;
			json_decref(t);
		}
		text[i] = saved;
	}
	assert_true(parsed > n / 2);
	assert_int_equal(refused, parsed);
	free(text);
	/* an added member is refused too */
	t = json_deep_copy(st);
	json_object_set_new(t, "note", json_string("x"));
	assert_int_equal(handover_statement_verify(t, pub, NULL, &err), -1);
	json_decref(t);
	json_decref(st);
}

static void
test_chain(void **state)
{
	json_t *chain = json_array();
	const char *err = NULL;
	uint8_t m[32];

	(void)state;
	/* empty: epoch 1 is the attestation's to name */
	assert_int_equal(handover_chain_verify(chain, pub, &err), 0);
	assert_int_equal(handover_measurement_at(chain, 1, m, &err), 1);
	assert_int_equal(handover_measurement_at(chain, 2, m, &err), -1);
	json_array_append_new(chain, statement(1, 0x01, 0x02, 1));
	json_array_append_new(chain, statement(2, 0x02, 0x03, 2));
	assert_int_equal(handover_chain_verify(chain, pub, &err), 0);
	assert_int_equal(handover_measurement_at(chain, 1, m, &err), 0);
	assert_int_equal(m[0], 0x01);
	assert_int_equal(handover_measurement_at(chain, 2, m, &err), 0);
	assert_int_equal(m[0], 0x02);
	assert_int_equal(handover_measurement_at(chain, 3, m, &err), 0);
	assert_int_equal(m[0], 0x03);
	/* an epoch the chain does not cover */
	assert_int_equal(handover_measurement_at(chain, 4, m, &err), -1);
	assert_non_null(strstr(err, "not covered"));
	assert_int_equal(handover_measurement_at(chain, 0, m, &err), -1);
	json_decref(chain);

	/* a gap in the epochs: 1 -> 2, then 3 -> 4 */
	chain = json_array();
	json_array_append_new(chain, statement(1, 0x01, 0x02, 1));
	json_array_append_new(chain, statement(3, 0x02, 0x03, 3));
	assert_int_equal(handover_chain_verify(chain, pub, &err), -1);
	assert_non_null(strstr(err, "gap"));
	json_decref(chain);
	/* not starting at epoch 1 */
	chain = json_array();
	json_array_append_new(chain, statement(2, 0x01, 0x02, 2));
	assert_int_equal(handover_chain_verify(chain, pub, &err), -1);
	json_decref(chain);
	/* measurements not continuous: epoch 2 handed to 0x02, released by 0x09 */
	chain = json_array();
	json_array_append_new(chain, statement(1, 0x01, 0x02, 1));
	json_array_append_new(chain, statement(2, 0x09, 0x03, 2));
	assert_int_equal(handover_chain_verify(chain, pub, &err), -1);
	assert_non_null(strstr(err, "from_measurement"));
	json_decref(chain);
	/* a statement changed inside a chain */
	chain = json_array();
	json_array_append_new(chain, statement(1, 0x01, 0x02, 1));
	json_object_set_new(json_array_get(chain, 0), "released_at", json_string("2026-12-06T07:00:00.000Z"));
	assert_int_equal(handover_chain_verify(chain, pub, &err), -1);
	assert_non_null(strstr(err, "handover 0"));
	json_decref(chain);
	/* not an array */
	assert_int_equal(handover_chain_verify(NULL, pub, &err), -1);
}

static void
test_signed_key_epoch(void **state)
{
	json_t *doc = json_pack("{s:s}", "a", "b");
	const char *err = NULL;
	uint64_t e = 0;

	(void)state;
	/* documents from before epochs: epoch 1 */
	assert_int_equal(signed_key_epoch(doc, &e, &err), 0);
	assert_int_equal(e, 1);
	assert_int_equal(signed_sign(doc, sign_cb, seed, key_id, 7, &err), 0);
	assert_int_equal(signed_key_epoch(doc, &e, &err), 0);
	assert_int_equal(e, 7);
	assert_int_equal(signed_verify(doc, pub, &err), 0);
	/* the epoch is signed: changing it breaks the signature */
	json_object_set_new(doc, "key_epoch", json_integer(8));
	assert_int_equal(signed_verify(doc, pub, &err), -1);
	json_object_set_new(doc, "key_epoch", json_string("1"));
	assert_int_equal(signed_key_epoch(doc, &e, &err), -1);
	assert_int_equal(signed_sign(doc, sign_cb, seed, key_id, 0, &err), -1);
	json_decref(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statement_round_trip),
		cmocka_unit_test(test_changed_byte_refused),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_signed_key_epoch),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
