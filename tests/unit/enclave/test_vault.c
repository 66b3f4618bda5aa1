#include <setjmp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "enclave/secret.h"
#include "enclave/vault.h"
#include "util/xalloc.h"

static int
setup(void **state)
{
	return secret_init();
}

/* A credential whose fields are derived from n, so each is distinct. */
struct cred_buf {
	char key[32], sec[48], pass[16];
	struct credential c;
};

static void
make_cred(struct cred_buf *b, unsigned n, bool with_pass)
{
	snprintf(b->key, sizeof(b->key), "key-%u", n);
	snprintf(b->sec, sizeof(b->sec), "secret-%u-%u", n, n * 7919u);
	snprintf(b->pass, sizeof(b->pass), with_pass ? "pp-%u" : "", n);
	b->c = (struct credential){ b->key, strlen(b->key), b->sec, strlen(b->sec), b->pass, strlen(b->pass) };
}

/* vault_use callback: compares against the expected credential. */
static int
check_cred(void *arg, const struct credential *c)
{
	const struct credential *want = arg;

	if (c->api_key_len != want->api_key_len || memcmp(c->api_key, want->api_key, c->api_key_len) != 0 ||
	    c->api_key[c->api_key_len] != '\0')
		return 1;
	if (c->secret_len != want->secret_len || memcmp(c->secret, want->secret, c->secret_len) != 0 ||
	    c->secret[c->secret_len] != '\0')
		return 2;
	if (c->passphrase_len != want->passphrase_len ||
	    memcmp(c->passphrase, want->passphrase, c->passphrase_len) != 0 ||
	    c->passphrase[c->passphrase_len] != '\0')
		return 3;
	return 0;
}

static void
test_put_use_erase(void **state)
{
	struct vault *v = vault_new();
	struct cred_buf a, b;
	uint32_t ha, hb;
	const char *err = NULL;

	(void)state;
	make_cred(&a, 1, true);
	make_cred(&b, 2, false);
	assert_int_equal(vault_count(v), 0);
	assert_int_equal(vault_put(v, &a.c, &ha, &err), 0);
	assert_int_equal(vault_put(v, &b.c, &hb, &err), 0);
	assert_int_not_equal(ha, hb);
	assert_int_equal(vault_count(v), 2);
	assert_int_equal(vault_use(v, ha, check_cred, &a.c), 0);
	assert_int_equal(vault_use(v, hb, check_cred, &b.c), 0);
	assert_int_equal(vault_use(v, hb, check_cred, &a.c), 1);	/* the check can fail */
	vault_erase(v, ha);
	assert_int_equal(vault_count(v), 1);
	assert_int_equal(vault_use(v, hb, check_cred, &b.c), 0);
	vault_erase(v, hb);
	assert_int_equal(vault_count(v), 0);
	vault_free(v);
	vault_free(NULL);
}

static void
test_slot_reuse(void **state)
{
	struct vault *v = vault_new();
	struct cred_buf a, b;
	uint32_t h1, h2, h3;
	const char *err;

	(void)state;
	make_cred(&a, 10, true);
	make_cred(&b, 11, true);
	assert_int_equal(vault_put(v, &a.c, &h1, &err), 0);
	assert_int_equal(vault_put(v, &a.c, &h2, &err), 0);
	vault_erase(v, h1);
	assert_int_equal(vault_put(v, &b.c, &h3, &err), 0);
	assert_int_equal(h3, h1);	/* the freed slot, not a new one */
	assert_int_equal(vault_use(v, h3, check_cred, &b.c), 0);
	assert_int_equal(vault_use(v, h2, check_cred, &a.c), 0);
	vault_free(v);
}

/* Fields of an erased slot are zero: a big credential is erased, a small one
 * takes its slot, and everything past the small one's last field is zero. */
static int
tail_is_zero(void *arg, const struct credential *c)
{
	const uint8_t *slot = (const uint8_t *)c->api_key - 2;
	const uint8_t *p = (const uint8_t *)c->passphrase + c->passphrase_len + 1;

	for (; p < slot + VAULT_SLOT_BYTES; p++)
		if (*p != 0)
			return -1;
	return 0;
}

static void
test_erased_slot_zero(void **state)
{
	struct vault *v = vault_new();
	static char big_key[600], big_sec[900], big_pass[400];
	struct credential big = { big_key, sizeof(big_key) - 1, big_sec, sizeof(big_sec) - 1, big_pass,
		sizeof(big_pass) - 1 };
	struct cred_buf small;
	uint32_t h, h2;
	const char *err;

	(void)state;
	memset(big_key, 'K', sizeof(big_key) - 1);
	memset(big_sec, 'S', sizeof(big_sec) - 1);
	memset(big_pass, 'P', sizeof(big_pass) - 1);
	assert_int_equal(vault_put(v, &big, &h, &err), 0);
	assert_int_equal(vault_use(v, h, check_cred, &big), 0);
	assert_int_equal(vault_use(v, h, tail_is_zero, NULL), 0);
	vault_erase(v, h);
	make_cred(&small, 3, false);
	assert_int_equal(vault_put(v, &small.c, &h2, &err), 0);
	assert_int_equal(h2, h);
	assert_int_equal(vault_use(v, h2, check_cred, &small.c), 0);
	assert_int_equal(vault_use(v, h2, tail_is_zero, NULL), 0);
	vault_free(v);
}

/* 100 arenas' worth of credentials, all distinct and all readable. */
static void
test_many_arenas(void **state)
{
	enum { N = 100 * VAULT_ARENA_SLOTS };
	struct vault *v = vault_new();
	struct cred_buf *b = xcalloc(N, sizeof(*b));
	uint32_t *h = xcalloc(N, sizeof(*h));
	const char *err;

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		make_cred(&b[i], i, i % 2 == 0);
		assert_int_equal(vault_put(v, &b[i].c, &h[i], &err), 0);
	}
	assert_int_equal(vault_count(v), N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(vault_use(v, h[i], check_cred, &b[i].c), 0);
	for (unsigned i = 0; i < N; i += 3)
		vault_erase(v, h[i]);
	for (unsigned i = 0; i < N; i++)
		if (i % 3 != 0)
			assert_int_equal(vault_use(v, h[i], check_cred, &b[i].c), 0);
	assert_int_equal(vault_count(v), N - (N + 2) / 3);
	vault_free(v);
	free(b);
	free(h);
}

static void
test_too_large(void **state)
{
	struct vault *v = vault_new();
	static char big[70000];
	struct credential c = { "k", 1, big, 0, "", 0 };
	uint32_t h = 12345;
	const char *err = NULL;

	(void)state;
	memset(big, 'x', sizeof(big));
	/* Exactly a slot: 3 fields of 3 overhead bytes + 1 + secret. */
	c.secret_len = VAULT_SLOT_BYTES - 9 - 1;
	assert_int_equal(vault_put(v, &c, &h, &err), 0);
	assert_int_equal(vault_use(v, h, check_cred, &c), 0);
	c.secret_len++;
	err = NULL;
	assert_int_equal(vault_put(v, &c, &h, &err), -1);
	assert_string_equal(err, "credential too large");
	/* Over 16 bits: the length would not fit the slot's u16. */
	c.secret_len = 65536 + 10;
	assert_int_equal(vault_put(v, &c, &h, &err), -1);
	c.secret_len = 0;
	c.api_key = big;
	c.api_key_len = sizeof(big);
	assert_int_equal(vault_put(v, &c, &h, &err), -1);
	assert_int_equal(vault_count(v), 1);
	vault_free(v);
}

struct worker {
	struct vault *v;
	uint32_t shared[8];
	struct cred_buf shared_cred[8];
	unsigned id;
	int failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	const char *err;

	for (unsigned i = 0; i < 400; i++) {
		struct cred_buf own;
		uint32_t h;
		make_cred(&own, w->id * 100000 + i, i % 2 == 0);
		if (vault_put(w->v, &own.c, &h, &err) != 0)
			w->failures++;
		else {
			if (vault_use(w->v, h, check_cred, &own.c) != 0)
				w->failures++;
			if (vault_use(w->v, w->shared[i % 8], check_cred, &w->shared_cred[i % 8].c) != 0)
				w->failures++;
			vault_erase(w->v, h);
		}
	}
	return NULL;
}

/* Four threads put, use and erase their own credentials while reading
 * shared ones: no credential is ever seen torn or mixed up. */
static void
test_concurrent(void **state)
{
	struct vault *v = vault_new();
	struct worker w[4];
	pthread_t th[4];
	struct cred_buf shared[8];
	uint32_t hs[8];
	const char *err;

	(void)state;
	for (unsigned i = 0; i < 8; i++) {
		make_cred(&shared[i], 900000 + i, true);
		assert_int_equal(vault_put(v, &shared[i].c, &hs[i], &err), 0);
	}
	for (unsigned t = 0; t < 4; t++) {
		w[t] = (struct worker){ .v = v, .id = t + 1 };
		memcpy(w[t].shared, hs, sizeof(hs));
		for (unsigned i = 0; i < 8; i++) {
			make_cred(&w[t].shared_cred[i], 900000 + i, true);
		}
		assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
	}
	for (unsigned t = 0; t < 4; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(w[t].failures, 0);
	}
	assert_int_equal(vault_count(v), 8);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(vault_use(v, hs[i], check_cred, &shared[i].c), 0);
	vault_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_use_erase),
		cmocka_unit_test(test_slot_reuse),
		cmocka_unit_test(test_erased_slot_zero),
		cmocka_unit_test(test_many_arenas),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
