/*
 * enclave/epoch: the key-epoch file next to the key files. Created once
 * (never over an existing file), read back with its measurement in force,
 * advanced by a statement; a missing file is epoch 1 with no measurement;
 * a key_epoch that does not match the chain, a statement signed by another
 * key, or a changed statement is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "../tmpdir.h"
#include "core/handover.h"
#include "core/prim.h"
#include "core/signed.h"
#include "enclave/epoch.h"
#include "util/file.h"

static uint8_t seed[32], pub[32];

static int
sign_cb(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	return prim_ed25519_sign(sig, msg, len, arg);
}

static void
test_create_load_advance(void **state)
{
	char *priv = tmpdir_file("priv.pem"), *path = epoch_path(priv), kid[17];
	uint8_t m1[32], m2[32];
	struct handover_claim c = { .from_epoch = 1, .to_epoch = 2 };
	struct epoch_state *st, *next, *back;
	const char *err = NULL;
	struct stat sb;
	json_t *s;

	(void)state;
	assert_int_equal(prim_ed25519_keygen(seed, pub), 0);
	signed_key_id(kid, pub);
	memset(m1, 0x11, 32);
	memset(m2, 0x22, 32);
	/* no file: epoch 1, measurement unknown */
	st = epoch_load(priv, pub, &err);
	assert_non_null(st);
	assert_int_equal(st->epoch, 1);
	assert_false(st->have_measurement);
	epoch_state_free(st);

	st = epoch_state_new(m1);
	assert_int_equal(epoch_save(st, priv, true, &err), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(epoch_save(st, priv, true, &err), -1);	/* never overwritten when created */
	back = epoch_load(priv, pub, &err);
	assert_non_null(back);
	assert_int_equal(back->epoch, 1);
	assert_true(back->have_measurement);
	assert_memory_equal(back->measurement, m1, 32);
	epoch_state_free(back);

	memcpy(c.from_measurement, m1, 32);
	memcpy(c.to_measurement, m2, 32);
	strcpy(c.to_attestation_type, "dev");
	strcpy(c.released_at, "2026-12-06T06:00:00.000Z");
	s = handover_statement_new(&c);
	assert_int_equal(signed_sign(s, sign_cb, seed, kid, 1, &err), 0);
	next = epoch_advance(st, s, m2);
	assert_int_equal(next->epoch, 2);
	assert_int_equal(epoch_save(next, priv, false, &err), 0);	/* atomic replace */
	back = epoch_load(priv, pub, &err);
	assert_non_null(back);
	assert_int_equal(back->epoch, 2);
	assert_memory_equal(back->measurement, m2, 32);
	epoch_state_free(back);

	/* another key: the statement does not verify */
	{
		uint8_t s2[32], p2[32];
		assert_int_equal(prim_ed25519_keygen(s2, p2), 0);
		assert_null(epoch_load(priv, p2, &err));
	}
	/* key_epoch not 1 + the handovers */
	{
		json_t *d = json_deep_copy(next->doc);
		json_object_set_new(d, "key_epoch", json_integer(3));
		assert_null(epoch_from_json(d, pub, &err));
		json_object_set_new(d, "key_epoch", json_integer(2));
		json_object_set_new(json_array_get(json_object_get(d, "handovers"), 0), "to_epoch", json_integer(3));
		assert_null(epoch_from_json(d, pub, &err));
		json_decref(d);
	}
	/* a file that is not JSON */
	assert_int_equal(file_write_atomic(path, "{", 1, 0600, &err), 0);
	assert_null(epoch_load(priv, pub, &err));
	json_decref(s);
	epoch_state_free(next);
	epoch_state_free(st);
	free(path);
	free(priv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_load_advance),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
