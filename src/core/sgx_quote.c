#include "core/sgx_quote.h"

#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "core/prim.h"
#include "core/sgx_root_ca.h"
#include "util/log.h"

#define ATT_KEY_ECDSA_P256 2
#define CERT_TYPE_PCK_CHAIN 5
#define TDX_TEE_TYPE 0x81
/* A PCK chain has 3 certificates; anything much longer is not one. */
#define PCK_CHAIN_MAX 8

static const uint8_t intel_qe_vendor_id[16] = {
	0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
	0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
};

/* A bounds-checked cursor: every take fails once the input is short. */
struct cursor {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *
take(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	if (n > c->left)
		return NULL;
	c->p += n;
	c->left -= n;
	return p;
}

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
report_body_parse(struct sgx_report_body *r, const uint8_t *p)
{
	memcpy(r->cpu_svn, p, 16);
	r->misc_select = le32(p + 16);
	memcpy(r->attributes, p + 48, 16);
	memcpy(r->mr_enclave, p + 64, 32);
	memcpy(r->mr_signer, p + 128, 32);
	r->isv_prod_id = le16(p + 256);
	r->isv_svn = le16(p + 258);
	memcpy(r->report_data, p + 320, 64);
	r->debug = (r->attributes[0] & SGX_ATTR_DEBUG) != 0;
}

int
sgx_quote_parse(struct sgx_quote *q, const uint8_t *buf, size_t len, const char **errstr)
{
	struct cursor c = { buf, len }, sd;
	const uint8_t *p;
	uint32_t sig_len, cert_len;

	memset(q, 0, sizeof(*q));
	if (len < 8) {
		*errstr = "quote shorter than its header";
		return -1;
	}
	q->version = le16(buf);
	q->att_key_type = le16(buf + 2);
	q->att_key_data_0 = le32(buf + 4);
	if (q->version == 4 && q->att_key_data_0 == TDX_TEE_TYPE) {
		*errstr = "not an SGX v3 quote: TDX quote (version 4)";
		return -1;
	}
	if (q->version != 3) {
		*errstr = "not an SGX v3 quote: unsupported version";
		return -1;
	}
	if ((p = take(&c, SGX_QUOTE_HEADER_BYTES)) == NULL) {
		*errstr = "quote shorter than its header";
		return -1;
	}
	q->qe_svn = le16(p + 8);
	q->pce_svn = le16(p + 10);
	memcpy(q->qe_vendor_id, p + 12, 16);
	memcpy(q->user_data, p + 28, 20);
	if ((p = take(&c, SGX_REPORT_BODY_BYTES)) == NULL) {
		*errstr = "quote truncated in report body";
		return -1;
	}
	report_body_parse(&q->report, p);
	if ((p = take(&c, 4)) == NULL) {
		*errstr = "quote truncated before signature_data_len";
		return -1;
	}
	sig_len = le32(p);
	if (sig_len > c.left) {
		*errstr = "quote truncated in signature data";
		return -1;
	}
	if (sig_len < c.left) {
		*errstr = "trailing bytes after signature data";
		return -1;
	}
	/* From here on the signature data is parsed on its own cursor so that its
	 * inner lengths are checked against signature_data_len, not the buffer. */
	sd.p = c.p;
	sd.left = sig_len;
	if ((p = take(&sd, 64 + 64 + SGX_REPORT_BODY_BYTES + 64 + 2)) == NULL) {
		*errstr = "signature data too short for its fixed fields";
		return -1;
	}
	memcpy(q->signature, p, 64);
	memcpy(q->attest_pub_key, p + 64, 64);
	q->qe_report_raw = p + 128;
	report_body_parse(&q->qe_report, q->qe_report_raw);
	memcpy(q->qe_report_sig, p + 128 + SGX_REPORT_BODY_BYTES, 64);
	q->qe_auth_len = le16(p + 128 + SGX_REPORT_BODY_BYTES + 64);
	if ((q->qe_auth = take(&sd, q->qe_auth_len)) == NULL) {
		*errstr = "signature data truncated in QE auth data";
		return -1;
	}
	if ((p = take(&sd, 6)) == NULL) {
		*errstr = "signature data truncated before certification data";
		return -1;
	}
	q->cert_type = le16(p);
	cert_len = le32(p + 2);
	if (q->cert_type != CERT_TYPE_PCK_CHAIN) {
		*errstr = "unsupported certification data type (want 5, PCK chain)";
		return -1;
	}
	if ((q->cert = take(&sd, cert_len)) == NULL) {
		*errstr = "signature data truncated in certification data";
		return -1;
	}
	q->cert_len = cert_len;
	if (sd.left != 0) {
		*errstr = "trailing bytes inside signature data";
		return -1;
	}
	q->raw = buf;
	q->raw_len = len;
	return 0;
}

/* Builds a P-256 public key from the quote's raw x || y. */
static EVP_PKEY *
p256_from_xy(const uint8_t xy[64])
{
	uint8_t point[65];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	point[0] = 0x04;	/* uncompressed */
	memcpy(point + 1, xy, 64);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* Verifies an ECDSA-P256-SHA256 signature given as raw r || s (the quote's
 * encoding) by converting it to the DER that EVP_DigestVerify expects. */
static int
ecdsa_p256_verify(EVP_PKEY *pkey, const uint8_t rs[64], const uint8_t *msg, size_t len)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	EVP_MD_CTX *md = NULL;
	int der_len, ok = 0;

	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(rs, 32, NULL)) == NULL ||
	    (s = BN_bin2bn(rs + 32, 32, NULL)) == NULL ||
	    !ECDSA_SIG_set0(sig, r, s))
		goto out;
	r = s = NULL;	/* owned by sig now */
	if ((der_len = i2d_ECDSA_SIG(sig, &der)) <= 0)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) != 1)
		goto out;
	ok = EVP_DigestVerify(md, der, (size_t)der_len, msg, len) == 1;
out:
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

static X509 *
pinned_root(void)
{
	const unsigned char *p = sgx_root_ca_der;
	uint8_t md[32];
	X509 *root;

	/* The embedded root is the trust anchor of everything below: a mismatch
	 * with its pinned fingerprint means the source was corrupted (a bug). */
	prim_sha256(md, sgx_root_ca_der, sgx_root_ca_der_len);
	if (memcmp(md, sgx_root_ca_sha256, sizeof(md)) != 0)
		fatalx("sgx_root_ca: embedded root does not match its SHA-256 pin");
	if ((root = d2i_X509(NULL, &p, (long)sgx_root_ca_der_len)) == NULL)
		fatalx("sgx_root_ca: embedded root does not parse");
	return root;
}

/* Reads the PEM chain (leaf first). The certification data commonly ends with
 * a NUL, so parsing stops at the first non-certificate. */
static STACK_OF(X509) *
pem_chain(const uint8_t *pem, size_t len)
{
	STACK_OF(X509) *chain;
	BIO *bio;
	X509 *x;

	if (len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	if ((chain = sk_X509_new_null()) == NULL) {
		BIO_free(bio);
		return NULL;
	}
	while (sk_X509_num(chain) <= PCK_CHAIN_MAX &&
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			break;
		}
	}
	BIO_free(bio);
	ERR_clear_error();	/* the PEM reader's end-of-input "error" */
	if (sk_X509_num(chain) < 2 || sk_X509_num(chain) > PCK_CHAIN_MAX) {
		sk_X509_pop_free(chain, X509_free);
		return NULL;
	}
	return chain;
}

/* Verifies leaf against the pinned root, using the other certificates of the
 * chain only as untrusted intermediates. */
static int
chain_verify(STACK_OF(X509) *chain, int64_t verify_time)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *root = pinned_root();
	int ok = 0;

	if ((store = X509_STORE_new()) == NULL || !X509_STORE_add_cert(store, root) ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_CTX_init(ctx, store, sk_X509_value(chain, 0), chain))
		goto out;
	if (verify_time != 0)
		X509_STORE_CTX_set_time(ctx, 0, (time_t)verify_time);
	ok = X509_verify_cert(ctx) == 1;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(root);
	return ok ? 0 : -1;
}

int
sgx_quote_verify(const struct sgx_quote *q, int64_t verify_time, const char **errstr)
{
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *attest_key = NULL, *pck_key;
	EVP_MD_CTX *md = NULL;
	uint8_t hash[32];
	int rc = -1;

	if (q->raw == NULL)
		fatalx("sgx_quote_verify: quote was not parsed");
	if (q->att_key_type != ATT_KEY_ECDSA_P256) {
		*errstr = "quote attestation key type is not ECDSA P-256";
		goto out;
	}
	if (memcmp(q->qe_vendor_id, intel_qe_vendor_id, 16) != 0) {
		*errstr = "quote QE vendor id is not Intel's";
		goto out;
	}
	if ((chain = pem_chain(q->cert, q->cert_len)) == NULL) {
		*errstr = "PCK certificate chain does not parse";
		goto out;
	}
	if (chain_verify(chain, verify_time) == -1) {
		*errstr = "PCK certificate chain does not verify to the Intel SGX Root CA";
		goto out;
	}
	if ((pck_key = X509_get0_pubkey(sk_X509_value(chain, 0))) == NULL ||
	    ecdsa_p256_verify(pck_key, q->qe_report_sig, q->qe_report_raw, SGX_REPORT_BODY_BYTES) == -1) {
		*errstr = "QE report signature does not verify with the PCK key";
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, q->attest_pub_key, 64) != 1 ||
	    EVP_DigestUpdate(md, q->qe_auth, q->qe_auth_len) != 1 ||
	    EVP_DigestFinal_ex(md, hash, NULL) != 1)
		fatalx("sgx_quote_verify: SHA-256 failed");
	if (memcmp(q->qe_report.report_data, hash, 32) != 0) {
		*errstr = "QE report_data does not hash the attestation key and QE auth data";
		goto out;
	}
	for (size_t i = 32; i < 64; i++) {
		if (q->qe_report.report_data[i] != 0) {
			*errstr = "QE report_data upper half is not zero";
			goto out;
		}
	}
	if ((attest_key = p256_from_xy(q->attest_pub_key)) == NULL) {
		*errstr = "quote attestation key is not a P-256 point";
		goto out;
	}
	if (ecdsa_p256_verify(attest_key, q->signature, q->raw, SGX_QUOTE_SIGNED_BYTES) == -1) {
		*errstr = "quote signature does not verify with the attestation key";
		goto out;
	}
	rc = 0;
out:
	/* OpenSSL leaves errors queued on failure; drop them so they never
	 * surface in an unrelated caller's ERR_get_error(). */
	if (rc == -1)
		ERR_clear_error();
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(attest_key);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}
