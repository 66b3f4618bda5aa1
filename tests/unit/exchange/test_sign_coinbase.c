/*
 * Coinbase CDP JWTs. The vectors in tests/vectors/coinbase/jwt.json were made
 * by gen_jwt.py with Python `cryptography` (not by this code); the EdDSA one
 * was re-derived with the OpenSSL CLI (check_openssl.sh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "exchange/sign_coinbase.h"
#include "util/file.h"
#include "util/xalloc.h"

static json_t *vec;

static const char *
v(const char *a, const char *b)
{
	const json_t *o = json_object_get(vec, a);

	if (b != NULL)
		o = json_object_get(o, b);
	if (!json_is_string(o))
		fail_msg("vector %s.%s missing", a, b ? b : "");
	return json_string_value(o);
}

static int64_t now0;
static const char *kid;

#define FILLS "/api/v3/brokerage/orders/historical/fills"
#define HOST "api.coinbase.com"

static int
setup(void **state)
{
	const char *src = getenv("PERFAGG_SOURCE_DIR"), *err = NULL;
	char *path = xasprintf("%s/tests/vectors/coinbase/jwt.json", src ? src : ".");
	size_t len;
	uint8_t *buf = file_read_all(path, 1 << 20, &len, &err);

	(void)state;
	if (buf == NULL)
		fail_msg("%s: %s", path, err);
	vec = json_loadb((const char *)buf, len, 0, NULL);
	free(buf);
	free(path);
	if (vec == NULL)
		return -1;
	now0 = json_integer_value(json_object_get(vec, "now"));
	kid = json_string_value(json_object_get(vec, "kid"));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	json_decref(vec);
	return 0;
}

static EVP_PKEY *
pub_of(const char *secret)
{
	const char *err = NULL;
	EVP_PKEY *k = sign_coinbase_public(secret, strlen(secret), &err);

	if (k == NULL)
		fail_msg("public: %s", err);
	return k;
}

static int
verify(const char *jwt, EVP_PKEY *k, const char *path, int64_t now, const char **err)
{
	return sign_coinbase_verify(jwt, strlen(jwt), k, kid, "GET", HOST, path, now, err);
}

/* Deterministic EdDSA: our JWT is byte-identical to the independent one,
 * and the query string is left out of the uri. */
static void
test_eddsa_known_answer(void **state)
{
	const char *secret = v("eddsa", "secret"), *err = NULL;
	char *jwt;

	(void)state;
	jwt = sign_coinbase_jwt(kid, secret, strlen(secret), "GET", HOST, FILLS "?limit=250&cursor=abc", now0,
	    v("nonce", NULL), &err);
	assert_non_null(jwt);
	assert_string_equal(jwt, v("eddsa", "jwt"));
	free(jwt);
	/* A secret with a trailing newline (pasted) signs the same. */
	char *nl = xasprintf("%s\n", secret);
	jwt = sign_coinbase_jwt(kid, nl, strlen(nl), "GET", HOST, FILLS, now0, v("nonce", NULL), &err);
	assert_string_equal(jwt, v("eddsa", "jwt"));
	free(jwt);
	free(nl);
}

static void
test_eddsa_random_nonce(void **state)
{
	const char *secret = v("eddsa", "secret"), *err = NULL;
	char *a, *b;
	EVP_PKEY *k = pub_of(secret);

	(void)state;
	a = sign_coinbase_jwt(kid, secret, strlen(secret), "GET", HOST, FILLS, now0, NULL, &err);
	b = sign_coinbase_jwt(kid, secret, strlen(secret), "GET", HOST, FILLS, now0, NULL, &err);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_not_equal(a, b);	/* fresh nonce each time */
	assert_int_equal(verify(a, k, FILLS, now0, &err), 0);
	assert_int_equal(verify(b, k, FILLS, now0, &err), 0);
	free(a);
	free(b);
	EVP_PKEY_free(k);
}

static void
test_eddsa_verify_checks(void **state)
{
	const char *jwt = v("eddsa", "jwt"), *err = NULL;
	EVP_PKEY *k = pub_of(v("eddsa", "secret"));
	char *t;

	(void)state;
	assert_int_equal(verify(jwt, k, FILLS, now0, &err), 0);
	assert_int_equal(verify(jwt, k, FILLS "?limit=5", now0 + 119, &err), 0);
	assert_int_equal(verify(jwt, k, FILLS, now0 + 120, &err), -1);
	assert_string_equal(err, "JWT expired");
	assert_int_equal(verify(jwt, k, FILLS, now0 - 61, &err), -1);
	assert_string_equal(err, "JWT not yet valid");
	assert_int_equal(verify(jwt, k, "/api/v3/brokerage/accounts", now0, &err), -1);
	assert_string_equal(err, "JWT uri does not match the request");
	assert_int_equal(sign_coinbase_verify(jwt, strlen(jwt), k, kid, "POST", HOST, FILLS, now0, &err), -1);
	assert_string_equal(err, "JWT uri does not match the request");
	assert_int_equal(sign_coinbase_verify(jwt, strlen(jwt), k, kid, "GET", "127.0.0.1:8080", FILLS, now0, &err), -1);
	assert_int_equal(sign_coinbase_verify(jwt, strlen(jwt), k, "organizations/x/apiKeys/y", "GET", HOST, FILLS,
	    now0, &err), -1);
	assert_string_equal(err, "JWT kid/sub is not this key");
	/* Tampered signature and tampered claims. */
	t = xstrdup(jwt);
	t[strlen(t) - 5] = t[strlen(t) - 5] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(t, k, FILLS, now0, &err), -1);
	assert_string_equal(err, "JWT signature invalid");
	free(t);
	t = xstrdup(jwt);
	char *claims = strchr(t, '.') + 1;
	claims[3] = claims[3] == 'x' ? 'y' : 'x';
	assert_int_equal(verify(t, k, FILLS, now0, &err), -1);
	free(t);
	/* Malformed: two parts, four parts, empty, padding, not base64url. */
	const char *bad[] = { "a.b", "a.b.c.d", "", "..", "eyJ9.eyJ9.AA==", "e+J9.e/J9.AA" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(verify(bad[i], k, FILLS, now0, &err), -1);
		assert_string_equal(err, "malformed JWT");
	}
	/* Length is honoured: a prefix of a valid token is not valid. */
	assert_int_equal(sign_coinbase_verify(jwt, strlen(jwt) - 1, k, kid, "GET", HOST, FILLS, now0, &err), -1);
	/* Lifetime 121 s; header alg lying about the key type. */
	assert_int_equal(verify(v("eddsa_lifetime_121", NULL), k, FILLS, now0, &err), -1);
	assert_string_equal(err, "JWT lifetime over 120 s");
	assert_int_equal(verify(v("eddsa_header_es256", NULL), k, FILLS, now0, &err), -1);
	assert_string_equal(err, "JWT alg does not match the key");
	/* ccxt's variant with uris[] is accepted. */
	assert_int_equal(verify(v("eddsa_ccxt_uris", NULL), k, FILLS, now0, &err), 0);
	assert_int_equal(verify(v("eddsa_ccxt_uris", NULL), k, "/api/v3/brokerage/accounts", now0, &err), -1);
	EVP_PKEY_free(k);
}

/* ES256: verify the independent tool's JWT with SEC1 and PKCS#8 forms. */
static void
test_es256_verify_independent(void **state)
{
	const char *jwt = v("es256", "jwt"), *err = NULL;
	const char *accounts = "/api/v3/brokerage/accounts";
	EVP_PKEY *k1 = pub_of(v("es256", "secret_sec1")), *k2 = pub_of(v("es256", "secret_pkcs8"));
	EVP_PKEY *ed = pub_of(v("eddsa", "secret"));

	(void)state;
	assert_int_equal(verify(jwt, k1, accounts, now0 + 1, &err), 0);
	assert_int_equal(verify(jwt, k2, accounts, now0 + 1, &err), 0);
	assert_int_equal(verify(jwt, k1, FILLS, now0 + 1, &err), -1);
	assert_int_equal(verify(jwt, ed, accounts, now0 + 1, &err), -1);
	assert_string_equal(err, "JWT alg does not match the key");
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(ed);
}

static void
test_es256_sign_verify(void **state)
{
	const char *forms[] = { v("es256", "secret_sec1"), v("es256", "secret_pkcs8") }, *err = NULL;
	EVP_PKEY *k = pub_of(forms[0]);

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		char *jwt = sign_coinbase_jwt(kid, forms[i], strlen(forms[i]), "GET", HOST, FILLS "?limit=1", now0,
		    v("nonce", NULL), &err);
		assert_non_null(jwt);
		/* header and claims equal the independent ES256 JWT's up to the uri */
		assert_memory_equal(jwt, v("es256", "jwt"), 40);
		/* 64 raw bytes -> 86 base64url characters, no DER */
		assert_int_equal(strlen(strrchr(jwt, '.') + 1), 86);
		assert_int_equal(verify(jwt, k, FILLS, now0, &err), 0);
		jwt[strlen(jwt) - 2] ^= 1;
		assert_int_equal(verify(jwt, k, FILLS, now0, &err), -1);
		free(jwt);
	}
	/* A PEM with literal "\n" escapes, as pasted from the JSON key file. */
	char *esc = xmalloc(2 * strlen(forms[0]) + 1), *p = esc;
	for (const char *s = forms[0]; *s; s++) {
		if (*s == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else
			*p++ = *s;
	}
	*p = '\0';
	char *jwt = sign_coinbase_jwt(kid, esc, strlen(esc), "GET", HOST, FILLS, now0, NULL, &err);
	assert_non_null(jwt);
	assert_int_equal(verify(jwt, k, FILLS, now0, &err), 0);
	free(jwt);
	free(esc);
	EVP_PKEY_free(k);
}

static void
test_kid(void **state)
{
	const char *jwt = v("eddsa", "jwt");
	char out[160], small[8];

	(void)state;
	assert_int_equal(sign_coinbase_kid(jwt, strlen(jwt), out, sizeof(out)), 0);
	assert_string_equal(out, kid);
	assert_int_equal(sign_coinbase_kid(jwt, strlen(jwt), small, sizeof(small)), -1);
	assert_int_equal(sign_coinbase_kid("nodot", 5, out, sizeof(out)), -1);
	assert_int_equal(sign_coinbase_kid("e30.x.y", 7, out, sizeof(out)), -1);	/* {} has no kid */
	assert_int_equal(sign_coinbase_kid("!!.x.y", 6, out, sizeof(out)), -1);
}

static void
test_bad_secrets(void **state)
{
	const char *err = NULL, *ed = v("eddsa", "secret");
	char *s;

	(void)state;
	assert_null(sign_coinbase_jwt(kid, "not a key", 9, "GET", HOST, FILLS, now0, NULL, &err));
	assert_string_equal(err, "secret: neither a PEM EC key nor base64 of a 64-byte Ed25519 key");
	/* 32 bytes only (a bare seed) */
	assert_null(sign_coinbase_jwt(kid, "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=", 44, "GET", HOST, FILLS, now0,
	    NULL, &err));
	/* public half does not belong to the seed */
	s = xstrdup(ed);
	s[50] = s[50] == 'A' ? 'B' : 'A';
	err = NULL;
	assert_null(sign_coinbase_jwt(kid, s, strlen(s), "GET", HOST, FILLS, now0, NULL, &err));
	assert_string_equal(err, "secret: Ed25519 public half does not match the seed");
	free(s);
	s = xstrdup("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
	assert_null(sign_coinbase_public(s, strlen(s), &err));
	assert_string_equal(err, "secret: not a readable PEM private key");
	free(s);
	const char *p384 = v("p384_sec1", NULL);
	assert_null(sign_coinbase_jwt(kid, p384, strlen(p384), "GET", HOST, FILLS, now0, NULL, &err));
	assert_string_equal(err, "secret: PEM key is not an EC P-256 key");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eddsa_known_answer),
		cmocka_unit_test(test_eddsa_random_nonce),
		cmocka_unit_test(test_eddsa_verify_checks),
		cmocka_unit_test(test_es256_verify_independent),
		cmocka_unit_test(test_es256_sign_verify),
		cmocka_unit_test(test_kid),
		cmocka_unit_test(test_bad_secrets),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
