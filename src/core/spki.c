#include "core/spki.h"

#include <limits.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/prim.h"

int
spki_sha256_of_pem(uint8_t out[32], const char *pem, size_t len)
{
	BIO *bio = len <= INT_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int n = -1;

	if (x != NULL)
		n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (n > 0)
		prim_sha256(out, der, (size_t)n);
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	return n > 0 ? 0 : -1;
}
