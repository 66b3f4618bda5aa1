#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/hex.h"
#include "enclave/secret.h"
#include "enclave/session.h"
#include "enclave/vault.h"
#include "util/log.h"

#define T0 1700000000000LL	/* an arbitrary "now", ms */

static const struct credential CRED = { "api-key", 7, "api-secret", 10, "", 0 };

struct fixture {
	struct vault *v;
	struct session_table *t;
};

static int
setup(void **state)
{
	static struct fixture f;

	if (secret_init() != 0)
		return -1;
	f.v = vault_new();
	f.t = session_table_new(f.v, 4, NULL);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	session_table_free(f->t);
	/* Every credential was erased by the table. */
	if (vault_count(f->v) != 0)
		return -1;
	vault_free(f->v);
	return 0;
}

/* Stores CRED and creates a session with ttl_s at now. */
static int
create(struct fixture *f, int64_t ttl_s, int64_t now, uint8_t id[SESSION_ID_BYTES], struct session_info *info)
{
	struct session_params p = { .exchange = "binance", .account_type = "futures", .label = "main",
		.user_id = "alice", .sandbox = true, .ttl_s = ttl_s };
	const char *err = NULL;
	uint32_t h;
	int rc;

	assert_int_equal(vault_put(f->v, &CRED, &h, &err), 0);
	rc = session_create(f->t, &p, h, now, id, info, &err);
	if (rc != 0) {
		assert_string_equal(err, "session capacity reached");
		vault_erase(f->v, h);	/* the handle stayed ours */
	}
	return rc;
}

static int
is_cred(void *arg, const struct credential *c)
{
	(void)arg;
	return c->api_key_len == 7 && memcmp(c->api_key, "api-key", 7) == 0 && c->secret_len == 10 &&
	    memcmp(c->secret, "api-secret", 10) == 0 ? 42 : 7;
}

static void
test_create_lookup(void **state)
{
	struct fixture *f = *state;
	uint8_t id[SESSION_ID_BYTES], other[SESSION_ID_BYTES];
	struct session_info info, got;
	char uh[13], ih[13];

	assert_int_equal(create(f, 300, T0, id, &info), 0);
	assert_string_equal(info.exchange, "binance");
	assert_string_equal(info.account_type, "futures");
	assert_string_equal(info.label, "main");
	assert_true(info.sandbox);
	assert_int_equal(info.created_ms, T0);
	assert_int_equal(info.expires_ms, T0 + 300000);
	assert_int_equal(info.status, SESSION_ACTIVE);
	log_short_hash(uh, "alice", 5);
	assert_string_equal(info.user_hash, uh);
	log_short_hash(ih, id, SESSION_ID_BYTES);
	assert_string_equal(info.id_hash, ih);

	memset(&got, 0, sizeof(got));
	assert_int_equal(session_lookup(f->t, id, T0 + 1, &got), 0);
	assert_memory_equal(&got, &info, sizeof(info));
	assert_int_equal(session_use_credential(f->t, id, T0 + 1, is_cred, NULL), 42);

	memcpy(other, id, sizeof(other));
	other[31] ^= 1;
	assert_int_equal(session_lookup(f->t, other, T0, &got), -1);
	assert_int_equal(session_use_credential(f->t, other, T0, is_cred, NULL), -1);
	assert_int_equal(session_count_active(f->t, T0), 1);
	assert_int_equal(session_revoke(f->t, id, T0), 0);
}

/* Expiry erases the credential at once: the lookup fails, the vault slot is freed. */
static void
test_expiry(void **state)
{
	struct fixture *f = *state;
	uint8_t id[SESSION_ID_BYTES];
	struct session_info info;

	assert_int_equal(create(f, 300, T0, id, &info), 0);
	assert_int_equal(vault_count(f->v), 1);
	assert_int_equal(session_lookup(f->t, id, T0 + 300000 - 1, &info), 0);
	assert_int_equal(session_use_credential(f->t, id, T0 + 300000 - 1, is_cred, NULL), 42);
	/* The expiry instant itself is expired. */
	assert_int_equal(session_use_credential(f->t, id, T0 + 300000, is_cred, NULL), -1);
	assert_int_equal(vault_count(f->v), 0);
	assert_int_equal(session_lookup(f->t, id, T0 + 300000, &info), -1);
	/* Not found even with a clock that steps back. */
	assert_int_equal(session_use_credential(f->t, id, T0, is_cred, NULL), -1);
	/* Revoking an expired session removes it but reports -1. */
	assert_int_equal(session_revoke(f->t, id, T0 + 400000), -1);
	assert_int_equal(session_revoke(f->t, id, T0 + 400000), -1);
}

static void
test_revoke(void **state)
{
	struct fixture *f = *state;
	uint8_t a[SESSION_ID_BYTES], b[SESSION_ID_BYTES];
	struct session_info info;

	assert_int_equal(create(f, 300, T0, a, &info), 0);
	assert_int_equal(create(f, 300, T0, b, &info), 0);
	assert_memory_not_equal(a, b, SESSION_ID_BYTES);
	assert_int_equal(vault_count(f->v), 2);
	assert_int_equal(session_revoke(f->t, a, T0 + 10), 0);
	assert_int_equal(vault_count(f->v), 1);
	assert_int_equal(session_lookup(f->t, a, T0 + 10, &info), -1);
	assert_int_equal(session_use_credential(f->t, a, T0 + 10, is_cred, NULL), -1);
	assert_int_equal(session_revoke(f->t, a, T0 + 10), -1);
	assert_int_equal(session_lookup(f->t, b, T0 + 10, &info), 0);
	assert_int_equal(session_revoke(f->t, b, T0 + 10), 0);
	assert_int_equal(vault_count(f->v), 0);
}

static void
test_cleanup_and_count(void **state)
{
	struct fixture *f = *state;
	uint8_t id[3][SESSION_ID_BYTES];
	struct session_info info;

	assert_int_equal(create(f, 300, T0, id[0], &info), 0);
	assert_int_equal(create(f, 600, T0, id[1], &info), 0);
	assert_int_equal(create(f, 900, T0, id[2], &info), 0);
	assert_int_equal(session_count_active(f->t, T0), 3);
	assert_int_equal(session_cleanup(f->t, T0 + 299999), 0);
	assert_int_equal(session_cleanup(f->t, T0 + 300000), 1);
	assert_int_equal(vault_count(f->v), 2);
	assert_int_equal(session_count_active(f->t, T0 + 300000), 2);
	/* Counting needs no cleanup: expired sessions are not active. */
	assert_int_equal(session_count_active(f->t, T0 + 700000), 1);
	assert_int_equal(session_count_active(f->t, T0 + 1000000), 0);
	assert_int_equal(session_cleanup(f->t, T0 + 1000000), 2);
	assert_int_equal(vault_count(f->v), 0);
	assert_int_equal(session_cleanup(f->t, T0 + 1000000), 0);
	assert_int_equal(session_lookup(f->t, id[2], T0, &info), -1);
}

/* The cap counts live sessions: a full table refuses, and an expired
 * session does not hold a place. */
static void
test_capacity(void **state)
{
	struct fixture *f = *state;
	uint8_t id[6][SESSION_ID_BYTES];
	struct session_info info;

	for (int i = 0; i < 4; i++)
		assert_int_equal(create(f, i == 0 ? 300 : 3600, T0, id[i], &info), 0);
	assert_int_equal(create(f, 3600, T0, id[4], &info), -1);
	assert_int_equal(vault_count(f->v), 4);
	assert_int_equal(session_revoke(f->t, id[1], T0), 0);
	assert_int_equal(create(f, 3600, T0, id[1], &info), 0);
	assert_int_equal(create(f, 3600, T0, id[4], &info), -1);
	/* id[0] expires: its place is free again without an explicit cleanup. */
	assert_int_equal(create(f, 3600, T0 + 300000, id[4], &info), 0);
	assert_int_equal(vault_count(f->v), 4);
	assert_int_equal(session_lookup(f->t, id[4], T0 + 300000, &info), 0);
	assert_int_equal(session_cleanup(f->t, T0 + 3600000), 3);
	assert_int_equal(session_cleanup(f->t, T0 + 3900000), 1);
}

static void
test_id_parse(void **state)
{
	uint8_t id[SESSION_ID_BYTES], want[SESSION_ID_BYTES];
	char hex[SESSION_ID_HEX_LEN + 2];

	(void)state;
	for (int i = 0; i < SESSION_ID_BYTES; i++)
		want[i] = (uint8_t)(i * 37 + 1);
	hex_encode(hex, want, SESSION_ID_BYTES);
	assert_int_equal(session_id_parse(id, hex, SESSION_ID_HEX_LEN), 0);
	assert_memory_equal(id, want, SESSION_ID_BYTES);
	for (int i = 0; i < SESSION_ID_HEX_LEN; i++)
		if (hex[i] >= 'a')
			hex[i] = (char)(hex[i] - 'a' + 'A');
	assert_int_equal(session_id_parse(id, hex, SESSION_ID_HEX_LEN), 0);
	assert_memory_equal(id, want, SESSION_ID_BYTES);
	assert_int_equal(session_id_parse(id, hex, SESSION_ID_HEX_LEN - 1), -1);
	assert_int_equal(session_id_parse(id, hex, SESSION_ID_HEX_LEN - 2), -1);
	hex[SESSION_ID_HEX_LEN] = '0';
	assert_int_equal(session_id_parse(id, hex, SESSION_ID_HEX_LEN + 1), -1);
	hex[5] = 'g';
	assert_int_equal(session_id_parse(id, hex, SESSION_ID_HEX_LEN), -1);
	assert_int_equal(session_id_parse(id, "", 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_and_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity, setup, teardown),
		cmocka_unit_test(test_id_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
