#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/hex.h"
#include "core/spki.h"
#include "../testvec.h"

/* SHA-256 of the DER SubjectPublicKeyInfo of the shared Nitro TLS
 * certificate, computed independently:
 *   openssl x509 -inform der -in nitro_attdoc_2023_tls_cert.der -pubkey -noout |
 *   openssl pkey -pubin -outform der | sha256sum */
static const char NITRO_SPKI[] = "60af8483d3d91b0f5dbb375a5137090b5c6feaad56fdee37b5570c15f91d556f";

/* The shared DER certificate as PEM text (caller frees). */
static char *
nitro_pem(size_t *len)
{
	size_t dlen;
	uint8_t *der = testvec_shared("tee-test-vectors/nitro_attdoc_2023_tls_cert.der", &dlen);
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)dlen);
	BIO *b = BIO_new(BIO_s_mem());
	BUF_MEM *bm;
	char *pem;

	assert_non_null(x);
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
	BIO_get_mem_ptr(b, &bm);
	pem = xstrndup(bm->data, bm->length);
	*len = bm->length;
	BIO_free(b);
	X509_free(x);
	free(der);
	return pem;
}

static void
test_known_answer(void **state)
{
	size_t len;
	char *pem = nitro_pem(&len), *two, hex[65];
	uint8_t h[32];

	(void)state;
	assert_int_equal(spki_sha256_of_pem(h, pem, len), 0);
	hex_encode(hex, h, 32);
	assert_string_equal(hex, NITRO_SPKI);
	/* A chain: the first certificate counts. */
	two = xasprintf("%s%s", pem, pem);
	memset(h, 0, sizeof(h));
	assert_int_equal(spki_sha256_of_pem(h, two, strlen(two)), 0);
	hex_encode(hex, h, 32);
	assert_string_equal(hex, NITRO_SPKI);
	/* Length is honoured: a truncated PEM is no certificate. */
	assert_int_equal(spki_sha256_of_pem(h, pem, len / 2), -1);
	free(two);
	free(pem);
}

static void
test_not_a_certificate(void **state)
{
	static const char key[] = "-----BEGIN PUBLIC KEY-----\n"
	    "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
	uint8_t h[32];

	(void)state;
	assert_int_equal(spki_sha256_of_pem(h, "", 0), -1);
	assert_int_equal(spki_sha256_of_pem(h, "junk", 4), -1);
	assert_int_equal(spki_sha256_of_pem(h, key, sizeof(key) - 1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_not_a_certificate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
