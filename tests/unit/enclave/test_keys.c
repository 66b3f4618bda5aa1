#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/envelope.h"
#include "core/prim.h"
#include "enclave/keys.h"
#include "enclave/secret.h"
#include "util/xalloc.h"
#include "../tmpdir.h"


/* Writes the given keys as PEM: private (PKCS#8) or public (SPKI) blocks. */
static void
write_pem(const char *path, EVP_PKEY **keys, int n, int private)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (int i = 0; i < n; i++)
		assert_int_equal(private ? PEM_write_PrivateKey(f, keys[i], NULL, NULL, 0, NULL, NULL) :
		    PEM_write_PUBKEY(f, keys[i]), 1);
	assert_int_equal(fclose(f), 0);
}

static void
test_generate(void **state)
{
	struct keys *a = keys_generate(), *b = keys_generate();
	uint8_t h[32];
	char id[17];
	static const char hexd[] = "0123456789abcdef";

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_memory_not_equal(keys_x25519_public(a), keys_x25519_public(b), 32);
	assert_memory_not_equal(keys_ed25519_public(a), keys_ed25519_public(b), 32);
	/* The id is the hex of the first 8 bytes of SHA-256(Ed25519 public key). */
	prim_sha256(h, keys_ed25519_public(a), 32);
	for (int i = 0; i < 8; i++) {
		id[2 * i] = hexd[h[i] >> 4];
		id[2 * i + 1] = hexd[h[i] & 15];
	}
	id[16] = '\0';
	assert_string_equal(keys_id(a), id);
	keys_free(a);
	keys_free(b);
	keys_free(NULL);
}

static void
test_save_load(void **state)
{
	struct keys *k = keys_generate(), *l, *m;
	char *priv = tmpdir_file("priv.pem"), *pub = tmpdir_file("pub.pem");
	const char *err = NULL;
	struct stat st;

	(void)state;
	assert_int_equal(keys_save(k, priv, pub, &err), 0);
	assert_int_equal(stat(priv, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	l = keys_load(priv, pub, &err);
	assert_non_null(l);
	assert_memory_equal(keys_x25519_public(l), keys_x25519_public(k), 32);
	assert_memory_equal(keys_ed25519_public(l), keys_ed25519_public(k), 32);
	assert_string_equal(keys_id(l), keys_id(k));
	/* Without the public file, the public keys are derived. */
	m = keys_load(priv, NULL, &err);
	assert_non_null(m);
	assert_memory_equal(keys_ed25519_public(m), keys_ed25519_public(k), 32);
	assert_string_equal(keys_id(m), keys_id(k));
	keys_free(k);
	keys_free(l);
	keys_free(m);
	free(priv);
	free(pub);
}

/* Saving never overwrites: either file existing refuses, and leaves both as they were. */
static void
test_save_refuses_existing(void **state)
{
	struct keys *k = keys_generate(), *other = keys_generate(), *l;
	char *priv = tmpdir_file("keep-priv.pem"), *pub = tmpdir_file("keep-pub.pem"),
	    *priv2 = tmpdir_file("new-priv.pem"), *pub2 = tmpdir_file("new-pub.pem");
	const char *err = NULL;
	struct stat st;

	(void)state;
	assert_int_equal(keys_save(k, priv, pub, &err), 0);
	err = NULL;
	assert_int_equal(keys_save(other, priv, pub, &err), -1);
	assert_string_equal(err, "the private key file exists (refusing to overwrite it)");
	err = NULL;
	/* A new private path but an existing public one: no private file is left behind. */
	assert_int_equal(keys_save(other, priv2, pub, &err), -1);
	assert_string_equal(err, "the public key file exists (refusing to overwrite it)");
	assert_int_equal(stat(priv2, &st), -1);
	err = NULL;
	assert_int_equal(keys_save(other, priv, pub2, &err), -1);
	assert_int_equal(stat(pub2, &st), -1);
	/* The originals are intact. */
	l = keys_load(priv, pub, &err);
	assert_non_null(l);
	assert_string_equal(keys_id(l), keys_id(k));
	/* A dangling symlink counts as existing: it is not followed. */
	assert_int_equal(symlink(priv2, pub2), 0);
	err = NULL;
	assert_int_equal(keys_save(other, priv2, pub2, &err), -1);
	assert_int_equal(stat(priv2, &st), -1);
	keys_free(k);
	keys_free(other);
	keys_free(l);
	free(priv);
	free(pub);
	free(priv2);
	free(pub2);
}

static void
test_load_errors(void **state)
{
	struct keys *a = keys_generate(), *b = keys_generate();
	char *priv = tmpdir_file("a.pem"), *pub = tmpdir_file("a.pub"), *bpriv = tmpdir_file("b.pem"), *bpub = tmpdir_file("b.pub");
	char *one = tmpdir_file("one.pem"), *twox = tmpdir_file("twox.pem"), *empty = tmpdir_file("empty.pem");
	char *junk = tmpdir_file("junk.pem"), *three = tmpdir_file("three.pem");
	EVP_PKEY *x1 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519"), *x2 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *set[3];
	const char *err;
	FILE *f;

	(void)state;
	assert_int_equal(keys_save(a, priv, pub, &err), 0);
	assert_int_equal(keys_save(b, bpriv, bpub, &err), 0);

	err = NULL;
	assert_null(keys_load(priv, bpub, &err));	/* someone else's public keys */
	assert_string_equal(err, "public key file does not match the private key file");
	err = NULL;
	assert_null(keys_load(priv, priv, &err));	/* private file where the public one goes */
	assert_non_null(err);
	err = NULL;
	assert_null(keys_load(pub, NULL, &err));	/* public file where the private one goes */
	assert_non_null(err);

	set[0] = x1;
	write_pem(one, set, 1, 1);
	err = NULL;
	assert_null(keys_load(one, NULL, &err));
	assert_string_equal(err, "key file must hold one X25519 and one Ed25519 PKCS#8 private key");

	set[0] = x1;
	set[1] = x2;
	write_pem(twox, set, 2, 1);
	err = NULL;
	assert_null(keys_load(twox, NULL, &err));
	assert_string_equal(err, "unexpected or duplicate key in private key file");

	set[0] = ed;
	set[1] = x1;
	set[2] = ec;
	write_pem(three, set, 3, 1);	/* any order, but no third key */
	err = NULL;
	assert_null(keys_load(three, NULL, &err));
	assert_non_null(err);
	write_pem(three, set, 2, 1);	/* Ed25519 first is fine */
	err = NULL;
	struct keys *ok = keys_load(three, NULL, &err);
	assert_non_null(ok);
	keys_free(ok);

	f = fopen(empty, "w");
	assert_non_null(f);
	fclose(f);
	err = NULL;
	assert_null(keys_load(empty, NULL, &err));
	assert_string_equal(err, "empty key file");
	f = fopen(junk, "w");
	assert_non_null(f);
	fputs("-----BEGIN PRIVATE KEY-----\nnot base64 !!\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	err = NULL;
	assert_null(keys_load(junk, NULL, &err));
	assert_non_null(err);
	err = NULL;
	free(junk);
	junk = tmpdir_file("missing.pem");
	assert_null(keys_load(junk, NULL, &err));
	assert_string_equal(err, "no such file");

	EVP_PKEY_free(x1);
	EVP_PKEY_free(x2);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ec);
	keys_free(a);
	keys_free(b);
	free(priv);
	free(pub);
	free(bpriv);
	free(bpub);
	free(one);
	free(twox);
	free(empty);
	free(junk);
	free(three);
}

/* An encrypted private key file is refused, without asking for a pass
 * phrase on the terminal (a daemon would hang at start). The loader runs in a
 * child on a pseudo-terminal so a prompt would be seen. */
static void
test_encrypted_refused_without_prompt(void **state)
{
	char *enc = tmpdir_file("enc.pem"), out[512] = "";
	EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519"), *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	size_t n = 0;
	pid_t pid;
	int master, st = 0, exited = 0;
	FILE *f;

	(void)state;
	f = fopen(enc, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, x, EVP_aes_256_cbc(), (const unsigned char *)"pw", 2, NULL, NULL), 1);
	assert_int_equal(PEM_write_PrivateKey(f, ed, EVP_aes_256_cbc(), (const unsigned char *)"pw", 2, NULL, NULL), 1);
	fclose(f);
	fflush(NULL);
	pid = forkpty(&master, NULL, NULL, NULL);
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *err = NULL;
		struct keys *k = keys_load(enc, NULL, &err);
		_exit(k == NULL && err != NULL ? 0 : 1);
	}
	/* Up to 5 s; poll may return at once (POLLHUP), so count time, not calls. */
	for (int ms = 0; ms < 5000 && !exited; ms += 20) {
		struct pollfd pfd = { master, POLLIN, 0 };
		ssize_t r = 0;
		if (poll(&pfd, 1, 20) > 0 && (pfd.revents & POLLIN) && n < sizeof(out) - 1)
			r = read(master, out + n, sizeof(out) - 1 - n);
		if (r > 0)
			n += (size_t)r;
		else
			usleep(20000);
		exited = waitpid(pid, &st, WNOHANG) == pid;
	}
	if (!exited) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	close(master);
	out[n] = '\0';
	if (strstr(out, "phrase") != NULL || !exited)
		fail_msg("keys_load prompted on the terminal: \"%s\"", out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EVP_PKEY_free(x);
	EVP_PKEY_free(ed);
	free(enc);
}

static void
test_sign(void **state)
{
	struct keys *k = keys_generate();
	uint8_t sig[64];
	static const uint8_t msg[] = "attest me";

	(void)state;
	assert_int_equal(keys_sign(k, sig, msg, sizeof(msg)), 0);
	assert_int_equal(prim_ed25519_verify(sig, msg, sizeof(msg), keys_ed25519_public(k)), 0);
	sig[10] ^= 1;
	assert_int_not_equal(prim_ed25519_verify(sig, msg, sizeof(msg), keys_ed25519_public(k)), 0);
	keys_free(k);
}

static void
test_open_envelope(void **state)
{
	struct keys *k = keys_generate(), *other = keys_generate();
	struct envelope env = { 0 };
	json_t *md = json_pack("{s:s}", "exchange", "binance");
	static const char pt[] = "{\"apiKey\":\"k\",\"secret\":\"s\"}";
	uint8_t out[sizeof(pt)];
	const char *err = NULL;

	(void)state;
	assert_int_equal(envelope_seal(&env, keys_x25519_public(k), md, (const uint8_t *)pt, sizeof(pt) - 1, &err), 0);
	assert_int_equal(keys_open_envelope(k, out, &env), 0);
	assert_memory_equal(out, pt, sizeof(pt) - 1);
	/* Not to another enclave's key. */
	assert_int_equal(keys_open_envelope(other, out, &env), -1);
	/* Nor with its tag altered. */
	env.tag[0] ^= 1;
	assert_int_equal(keys_open_envelope(k, out, &env), -1);
	envelope_clear(&env);
	json_decref(md);
	keys_free(k);
	keys_free(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_save_refuses_existing),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_encrypted_refused_without_prompt),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_open_envelope),
	};
	return secret_init() != 0 ? 1 : cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
