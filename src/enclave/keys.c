#include "enclave/keys.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>
#include <unistd.h>

#include "core/hex.h"
#include "core/prim.h"
#include "enclave/secret.h"
#include "out/metrics.h"
#include "util/file.h"
#include "util/xalloc.h"

#define KEY_FILE_MAX 16384

struct keys {
	struct secret *priv;	/* x25519 private (32) || ed25519 seed (32) */
	uint8_t x_pub[32];
	uint8_t ed_pub[32];
	char id[KEYS_ID_HEX_LEN + 1];
	uint64_t epoch;
	atomic_bool retired;
};

static struct keys *
keys_alloc(void)
{
	struct keys *k = xcalloc(1, sizeof(*k));

	k->priv = secret_new(64);
	k->epoch = 1;
	atomic_init(&k->retired, false);
	return k;
}

static void
set_id(struct keys *k)
{
	uint8_t h[PRIM_SHA256_BYTES];

	prim_sha256(h, k->ed_pub, sizeof(k->ed_pub));
	hex_encode(k->id, h, 8);
}

/* Ends keys_generate/keys_import: k (private keys written, rc their status)
 * with its id, or NULL (k freed). */
static struct keys *
keys_finish(struct keys *k, int rc)
{
	secret_release(k->priv);
	if (rc != 0) {
		keys_free(k);
		return NULL;
	}
	set_id(k);
	return k;
}

struct keys *
keys_generate(void)
{
	struct keys *k = keys_alloc();
	uint8_t *p = secret_acquire(k->priv);

	return keys_finish(k, prim_x25519_keygen(p, k->x_pub) | prim_ed25519_keygen(p + 32, k->ed_pub));
}

void
keys_free(struct keys *k)
{
	if (k == NULL)
		return;
	secret_free(k->priv);
	free(k);
}

/* Refuses to decrypt: with no callback OpenSSL would prompt for a pass
 * phrase on the terminal, and a daemon would hang at start. Key files are
 * not encrypted (the enclave's sealing protects them). */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Reads every PEM block of one kind from a file held in guarded memory, and
 * extracts the raw X25519 and Ed25519 keys. want_private selects PKCS#8 or SPKI. */
static int
read_pem_keys(const char *path, int want_private, uint8_t x[32], uint8_t ed[32], const char **errstr)
{
	struct secret *buf = NULL;
	uint8_t *raw = NULL, *pem;
	size_t len = 0, outlen;
	BIO *bio = NULL;
	EVP_PKEY *pk = NULL;
	int have_x = 0, have_ed = 0, rc = -1;

	raw = file_read_all(path, KEY_FILE_MAX, &len, errstr);
	if (raw == NULL)
		return -1;
	if (len == 0) {
		*errstr = "empty key file";
		goto out;
	}
	/* Move the PEM text into guarded memory before OpenSSL sees it. */
	buf = secret_new(len);
	pem = secret_acquire(buf);
	memcpy(pem, raw, len);
	bio = BIO_new_mem_buf(pem, (int)len);
	for (;;) {
		pk = want_private ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) :
		    PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		if (pk == NULL) {
			ERR_clear_error();	/* end of input is reported as an error */
			break;
		}
		outlen = 32;
		if (EVP_PKEY_get_id(pk) == EVP_PKEY_X25519 && !have_x) {
			if ((want_private ? EVP_PKEY_get_raw_private_key(pk, x, &outlen) :
			    EVP_PKEY_get_raw_public_key(pk, x, &outlen)) != 1 || outlen != 32)
				goto bad;
			have_x = 1;
		} else if (EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519 && !have_ed) {
			if ((want_private ? EVP_PKEY_get_raw_private_key(pk, ed, &outlen) :
			    EVP_PKEY_get_raw_public_key(pk, ed, &outlen)) != 1 || outlen != 32)
				goto bad;
			have_ed = 1;
		} else
			goto bad;
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	if (!have_x || !have_ed) {
		*errstr = want_private ? "key file must hold one X25519 and one Ed25519 PKCS#8 private key" :
		    "public key file must hold one X25519 and one Ed25519 public key";
		goto out;
	}
	rc = 0;
	goto out;
bad:
	*errstr = want_private ? "unexpected or duplicate key in private key file" :
	    "unexpected or duplicate key in public key file";
out:
	EVP_PKEY_free(pk);
	BIO_free(bio);
	if (buf != NULL) {
		secret_release(buf);
		secret_free(buf);
	}
	if (raw != NULL) {
		OPENSSL_cleanse(raw, len);
		free(raw);
	}
	return rc;
}

struct keys *
keys_load(const char *private_path, const char *public_path, const char **errstr)
{
	struct keys *k = keys_alloc();
	uint8_t *p = secret_acquire(k->priv);
	uint8_t x_pub[32], ed_pub[32];

	if (read_pem_keys(private_path, 1, p, p + 32, errstr) != 0)
		goto fail;
	if (prim_x25519_public(k->x_pub, p) != 0 || prim_ed25519_public(k->ed_pub, p + 32) != 0) {
		*errstr = "invalid private key";
		goto fail;
	}
	if (public_path != NULL) {
		if (read_pem_keys(public_path, 0, x_pub, ed_pub, errstr) != 0)
			goto fail;
		if (memcmp(x_pub, k->x_pub, 32) != 0 || memcmp(ed_pub, k->ed_pub, 32) != 0) {
			*errstr = "public key file does not match the private key file";
			goto fail;
		}
	}
	secret_release(k->priv);
	set_id(k);
	return k;
fail:
	secret_release(k->priv);
	keys_free(k);
	return NULL;
}

static int
write_pem(const char *path, EVP_PKEY *a, EVP_PKEY *b, int private, const char **errstr)
{
	BIO *mem = BIO_new(BIO_s_mem());
	BUF_MEM *bm = NULL;
	int rc = -1;

	if (private) {
		if (PEM_write_bio_PrivateKey(mem, a, NULL, NULL, 0, NULL, NULL) != 1 ||
		    PEM_write_bio_PrivateKey(mem, b, NULL, NULL, 0, NULL, NULL) != 1)
			goto out;
	} else if (PEM_write_bio_PUBKEY(mem, a) != 1 || PEM_write_bio_PUBKEY(mem, b) != 1)
		goto out;
	BIO_get_mem_ptr(mem, &bm);
	rc = file_write_new(path, bm->data, bm->length, private ? 0600 : 0644, errstr);
	if (private)
		OPENSSL_cleanse(bm->data, bm->length);
out:
	if (rc != 0 && *errstr == NULL)
		*errstr = "cannot encode keys";
	BIO_free(mem);
	return rc;
}

int
keys_save(struct keys *k, const char *private_path, const char *public_path, const char **errstr)
{
	uint8_t *p = secret_acquire(k->priv);
	EVP_PKEY *x = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, p, 32);
	EVP_PKEY *ed = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, p + 32, 32);
	int rc = -1;

	secret_release(k->priv);
	*errstr = NULL;
	if (x == NULL || ed == NULL) {
		*errstr = "cannot encode keys";
		goto out;
	}
	if (write_pem(private_path, x, ed, 1, errstr) != 0) {
		if (*errstr != NULL && strcmp(*errstr, FILE_EXISTS_ERR) == 0)
			*errstr = "the private key file exists (refusing to overwrite it)";
		goto out;
	}
	if (write_pem(public_path, x, ed, 0, errstr) != 0) {
		/* All or nothing: the private file is the one just created. */
		unlink(private_path);
		if (*errstr != NULL && strcmp(*errstr, FILE_EXISTS_ERR) == 0)
			*errstr = "the public key file exists (refusing to overwrite it)";
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(x);
	EVP_PKEY_free(ed);
	return rc;
}

const uint8_t *
keys_x25519_public(const struct keys *k)
{
	return k->x_pub;
}

const uint8_t *
keys_ed25519_public(const struct keys *k)
{
	return k->ed_pub;
}

const char *
keys_id(const struct keys *k)
{
	return k->id;
}

struct keys *
keys_import(const uint8_t priv[KEYS_PRIVATE_BYTES])
{
	struct keys *k = keys_alloc();
	uint8_t *p = secret_acquire(k->priv);

	memcpy(p, priv, KEYS_PRIVATE_BYTES);
	return keys_finish(k, prim_x25519_public(k->x_pub, p) | prim_ed25519_public(k->ed_pub, p + 32));
}

int
keys_export(struct keys *k, uint8_t out[KEYS_PRIVATE_BYTES])
{
	memcpy(out, secret_acquire(k->priv), KEYS_PRIVATE_BYTES);
	secret_release(k->priv);
	return 0;
}

uint64_t
keys_epoch(const struct keys *k)
{
	return k->epoch;
}

void
keys_set_epoch(struct keys *k, uint64_t epoch)
{
	k->epoch = epoch;
}

void
keys_retire(struct keys *k)
{
	atomic_store(&k->retired, true);
}

bool
keys_retired(const struct keys *k)
{
	return atomic_load(&((struct keys *)(uintptr_t)k)->retired);
}

int
keys_sign(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	struct keys *k = arg;

	if (atomic_load(&k->retired))
		return -1;	/* handed over: the next epoch's holder signs now */
	return keys_sign_log(arg, sig, msg, len);
}

int
keys_sign_log(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	struct keys *k = arg;
	int64_t t0 = metrics_now_ns();
	int rc = prim_ed25519_sign(sig, msg, len, secret_acquire(k->priv) + 32);

	secret_release(k->priv);
	metrics_crypto_observe(METRICS_CRYPTO_SIGN, metrics_now_ns() - t0);
	return rc;
}

int
keys_open_envelope(struct keys *k, uint8_t *pt, const struct envelope *env)
{
	int64_t t0 = metrics_now_ns();
	int rc = envelope_open(pt, env, secret_acquire(k->priv), k->x_pub);

	secret_release(k->priv);
	metrics_crypto_observe(METRICS_CRYPTO_ENVELOPE_OPEN, metrics_now_ns() - t0);
	return rc;
}

int
keys_derive(struct keys *k, const char *purpose, uint8_t out[KEYS_DERIVED_BYTES])
{
	static const char salt[] = "perfagg/keys/derive/v1";
	int rc = prim_hkdf_sha256(out, KEYS_DERIVED_BYTES, secret_acquire(k->priv), 64, (const uint8_t *)salt,
	    sizeof(salt) - 1, (const uint8_t *)purpose, strlen(purpose));

	secret_release(k->priv);
	return rc;
}

int
keys_state_mac(void *arg, uint8_t mac[32], const uint8_t *msg, size_t len)
{
	struct keys *k = arg;
	struct secret *key = secret_new(KEYS_DERIVED_BYTES);
	uint8_t *kb = secret_acquire(key);
	size_t outlen = 0;
	int rc = -1;

	/* A key of its own (HKDF label), never the signing or envelope key
	 * itself: one key, one purpose. */
	if (keys_derive(k, KEYS_STATE_MAC_INFO, kb) == 0 &&
	    EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, kb, KEYS_DERIVED_BYTES, msg, len, mac, 32, &outlen) != NULL &&
	    outlen == 32)
		rc = 0;
	secret_release(key);
	secret_free(key);
	return rc;
}
