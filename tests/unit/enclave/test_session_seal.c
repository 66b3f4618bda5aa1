/* Sealed sessions (session_seal.h) on a real store: a session and its
 * credential come back in a new table with the same id and times; a record
 * tampered with, moved under another session's key, or sealed under other
 * keys does not open; renewal reseals; revocation and expiry delete. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "enclave/keys.h"
#include "enclave/secret.h"
#include "enclave/session_seal.h"
#include "store/store.h"
#include "util/xalloc.h"

#define T0 1700000000000LL

static const struct credential CRED = { "api-key-1", 9, "the-secret", 10, "pass", 4 };

struct world {
	struct store *st;
	struct keys *k;
	struct session_seal *ss;
	struct vault *v;
	struct session_table *t;
};

static void
open_world(struct world *w, struct store *st, struct keys *k)
{
	const char *err = NULL;
	struct session_keeper kp;

	w->st = st;
	w->k = k;
	w->ss = session_seal_new(st, k, &err);
	assert_non_null(w->ss);
	kp = session_seal_keeper(w->ss);
	w->v = vault_new();
	w->t = session_table_new(w->v, 8, &kp);
}

static void
close_world(struct world *w)
{
	session_table_free(w->t);
	assert_int_equal(vault_count(w->v), 0);
	vault_free(w->v);
	session_seal_free(w->ss);
}

static void
create(struct world *w, uint8_t id[SESSION_ID_BYTES], struct session_info *info)
{
	struct session_params p = { .exchange = "kraken", .account_type = "spot", .label = "main", .user_id = "alice",
		.sandbox = true, .tier = "pro", .ttl_s = 3600 };
	const char *err = NULL;
	uint32_t h;

	assert_int_equal(vault_put(w->v, &CRED, &h, &err), 0);
	assert_int_equal(session_create(w->t, &p, h, T0, id, info, &err), 0);
}

static int
count(void *arg, const uint8_t key[STORE_KEY_BYTES], int64_t exp, const void *val, size_t len)
{
	(void)key;
	(void)exp;
	(void)val;
	(void)len;
	(*(size_t *)arg)++;
	return 0;
}

static size_t
nrecords(struct store *st)
{
	size_t n = 0;
	const char *err = NULL;

	assert_int_equal(st->ops->each(st, STORE_SESSIONS, T0, count, &n, &err), 0);
	return n;
}

static int
same_cred(void *arg, const struct credential *c)
{
	(void)arg;
	return c->api_key_len == CRED.api_key_len && memcmp(c->api_key, CRED.api_key, CRED.api_key_len) == 0 &&
	    c->secret_len == CRED.secret_len && memcmp(c->secret, CRED.secret, CRED.secret_len) == 0 &&
	    c->passphrase_len == CRED.passphrase_len && memcmp(c->passphrase, CRED.passphrase, CRED.passphrase_len) == 0
	    ? 1 : 0;
}

static int told;

static void
on_restored(void *arg, const uint8_t id[SESSION_ID_BYTES], const struct session_info *info)
{
	(void)arg;
	(void)id;
	(void)info;
	told++;
}

static void
test_round_trip(void **state)
{
	const char *err = NULL;
	struct store *st = store_sqlite.open(":memory:", &err);
	struct keys *k = keys_generate();
	struct world a, b;
	struct session_info info, got;
	struct session_seal_counts c;
	uint8_t id[SESSION_ID_BYTES];

	(void)state;
	open_world(&a, st, k);
	create(&a, id, &info);
	assert_int_equal(nrecords(st), 1);
	close_world(&a);	/* a shutdown: the session is kept */
	assert_int_equal(nrecords(st), 1);

	open_world(&b, st, k);
	told = 0;
	assert_int_equal(session_seal_restore(b.ss, b.t, b.v, T0 + 1000, on_restored, NULL, &c, &err), 0);
	assert_int_equal(c.restored, 1);
	assert_int_equal(c.unreadable, 0);
	assert_int_equal(told, 1);
	assert_int_equal(session_lookup(b.t, id, T0 + 1000, &got), 0);
	assert_string_equal(got.id_hash, info.id_hash);
	assert_string_equal(got.exchange, "kraken");
	assert_string_equal(got.account_type, "spot");
	assert_string_equal(got.label, "main");
	assert_string_equal(got.user_hash, info.user_hash);
	assert_string_equal(got.tier, "pro");
	assert_true(got.sandbox);
	assert_int_equal(got.created_ms, info.created_ms);
	assert_int_equal(got.expires_ms, info.expires_ms);
	assert_int_equal(session_use_credential(b.t, id, T0 + 1000, same_cred, NULL), 1);
	/* renewed: resealed with the new expiry */
	assert_int_equal(session_renew(b.t, id, T0 + 2000, 7200, &got, &err), 0);
	close_world(&b);
	open_world(&b, st, k);
	assert_int_equal(session_seal_restore(b.ss, b.t, b.v, T0 + 3000, NULL, NULL, &c, &err), 0);
	assert_int_equal(session_lookup(b.t, id, T0 + 3000, &got), 0);
	assert_int_equal(got.expires_ms, T0 + 2000 + 7200 * 1000);
	/* revoked: the record is gone */
	assert_int_equal(session_revoke(b.t, id, T0 + 3000), 0);
	assert_int_equal(nrecords(st), 0);
	close_world(&b);
	keys_free(k);
	st->ops->close(st);
}

struct grab {
	uint8_t key[STORE_KEY_BYTES];
	uint8_t *val;
	size_t len;
};

static int
grab_one(void *arg, const uint8_t key[STORE_KEY_BYTES], int64_t exp, const void *val, size_t len)
{
	struct grab *g = arg;

	(void)exp;
	memcpy(g->key, key, STORE_KEY_BYTES);
	g->val = xmalloc(len);
	memcpy(g->val, val, len);
	g->len = len;
	return 1;
}

static void
test_does_not_open(void **state)
{
	const char *err = NULL;
	struct store *st = store_sqlite.open(":memory:", &err);
	struct keys *k = keys_generate(), *other = keys_generate();
	struct world a, b;
	struct session_info info;
	struct session_seal_counts c;
	uint8_t id[SESSION_ID_BYTES], moved[STORE_KEY_BYTES];
	struct grab g = { { 0 }, NULL, 0 };

	(void)state;
	open_world(&a, st, k);
	create(&a, id, &info);
	close_world(&a);
	assert_int_equal(st->ops->each(st, STORE_SESSIONS, T0, grab_one, &g, &err), 0);
	assert_non_null(g.val);

	/* other keys: unreadable, and left in the store */
	open_world(&b, st, other);
	assert_int_equal(session_seal_restore(b.ss, b.t, b.v, T0, NULL, NULL, &c, &err), 0);
	assert_int_equal(c.restored, 0);
	assert_int_equal(c.unreadable, 1);
	assert_int_equal(nrecords(st), 1);
	close_world(&b);

	/* one bit flipped in the ciphertext */
	g.val[g.len - 1] ^= 1;
	assert_int_equal(st->ops->put(st, STORE_SESSIONS, g.key, T0 + 3600000, g.val, g.len, &err), 0);
	g.val[g.len - 1] ^= 1;
	open_world(&b, st, k);
	assert_int_equal(session_seal_restore(b.ss, b.t, b.v, T0, NULL, NULL, &c, &err), 0);
	assert_int_equal(c.unreadable, 1);
	close_world(&b);

	/* the intact record moved under another session's key */
	assert_int_equal(st->ops->del(st, STORE_SESSIONS, g.key, &err), 1);
	memcpy(moved, g.key, sizeof(moved));
	moved[0] ^= 0xff;
	assert_int_equal(st->ops->put(st, STORE_SESSIONS, moved, T0 + 3600000, g.val, g.len, &err), 0);
	open_world(&b, st, k);
	assert_int_equal(session_seal_restore(b.ss, b.t, b.v, T0, NULL, NULL, &c, &err), 0);
	assert_int_equal(c.restored, 0);
	assert_int_equal(c.unreadable, 1);
	close_world(&b);

	/* back where it belongs, it opens */
	assert_int_equal(st->ops->del(st, STORE_SESSIONS, moved, &err), 1);
	assert_int_equal(st->ops->put(st, STORE_SESSIONS, g.key, T0 + 3600000, g.val, g.len, &err), 0);
	open_world(&b, st, k);
	assert_int_equal(session_seal_restore(b.ss, b.t, b.v, T0, NULL, NULL, &c, &err), 0);
	assert_int_equal(c.restored, 1);
	/* expired: wiped and deleted by the cleanup */
	assert_int_equal(session_cleanup(b.t, T0 + 3600000), 1);
	assert_int_equal(nrecords(st), 0);
	close_world(&b);
	free(g.val);
	keys_free(k);
	keys_free(other);
	st->ops->close(st);
}

static int
setup(void **state)
{
	(void)state;
	return secret_init();
}

static size_t
ncheckpoints(struct store *st)
{
	size_t n = 0;
	const char *err = NULL;

	assert_int_equal(st->ops->each(st, STORE_CHECKPOINTS, T0, count, &n, &err), 0);
	return n;
}

/* A session's checkpoint: sealed, read back only under the same keys and
 * for the same session, replaced by the next, deleted with its session,
 * and collected at restore when its session is gone. */
static void
test_checkpoints(void **state)
{
	const char *err = NULL;
	struct store *st = store_sqlite.open(":memory:", &err);
	struct keys *k = keys_generate(), *other = keys_generate();
	struct world a, b;
	struct session_info info, info2;
	struct session_seal_counts c;
	struct session_seal *wrong;
	uint8_t id[SESSION_ID_BYTES], id2[SESSION_ID_BYTES], *buf;
	size_t len;

	(void)state;
	open_world(&a, st, k);
	create(&a, id, &info);
	create(&a, id2, &info2);
	assert_int_equal(session_seal_checkpoint_get(a.ss, id, T0, &buf, &len, &err), 0);	/* none yet */
	assert_int_equal(session_seal_checkpoint_put(a.ss, id, (const uint8_t *)"first", 5, &err), 0);
	assert_int_equal(session_seal_checkpoint_put(a.ss, id, (const uint8_t *)"second state", 12, &err), 0);
	assert_int_equal(session_seal_checkpoint_put(a.ss, id2, (const uint8_t *)"other", 5, &err), 0);
	assert_int_equal(ncheckpoints(st), 2);	/* replaced, not added */
	assert_int_equal(session_seal_checkpoint_get(a.ss, id, T0, &buf, &len, &err), 1);
	assert_int_equal(len, 12);
	assert_memory_equal(buf, "second state", 12);
	free(buf);
	/* sealed: other keys cannot read it */
	wrong = session_seal_new(st, other, &err);
	assert_int_equal(session_seal_checkpoint_get(wrong, id, T0, &buf, &len, &err), -1);
	assert_null(buf);
	session_seal_free(wrong);
	/* revoked: its checkpoint goes with it */
	assert_int_equal(session_revoke(a.t, id2, T0), 0);
	assert_int_equal(ncheckpoints(st), 1);
	close_world(&a);

	/* the session's record gone behind the daemon's back (swept after it
	 * expired while down): its checkpoint is an orphan, deleted at restore */
	assert_int_equal(st->ops->sweep(st, info.expires_ms + 1, &err), 1);
	open_world(&b, st, k);
	assert_int_equal(session_seal_restore(b.ss, b.t, b.v, T0, NULL, NULL, &c, &err), 0);
	assert_int_equal(c.restored, 0);
	assert_int_equal(c.orphans, 1);
	assert_int_equal(ncheckpoints(st), 0);
	close_world(&b);
	keys_free(k);
	keys_free(other);
	st->ops->close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_does_not_open),
		cmocka_unit_test(test_checkpoints),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
