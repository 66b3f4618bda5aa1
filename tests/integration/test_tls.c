/*
 * Integration: perfaggd over HTTPS (a self-signed certificate for 127.0.0.1
 * made here with the OpenSSL API) and with key files from `perfaggd keygen`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/b64.h"
#include "core/hex.h"
#include "core/prim.h"
#include "harness.h"
#include "util/file.h"
#include "util/xalloc.h"

static char dir[64];

struct cert {
	char crt[128], key[128];
	uint8_t spki[32];	/* SHA-256 of the DER SubjectPublicKeyInfo */
};

static struct cert cert_a, cert_b;

/* A self-signed P-256 certificate for 127.0.0.1 (subjectAltName IP), written
 * as <dir>/<name>.crt and <dir>/<name>.key. */
static void
make_cert(struct cert *c, const char *name, long serial)
{
	static const struct {
		int nid;
		const char *value;
	} exts[] = {
		{ NID_subject_alt_name, "IP:127.0.0.1" },
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,digitalSignature,keyCertSign" },
		{ NID_ext_key_usage, "serverAuth" },
	};
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *subj;
	X509V3_CTX ctx;
	unsigned char *der = NULL;
	FILE *f;
	int n;

	assert_non_null(pk);
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	assert_int_equal(X509_set_pubkey(x, pk), 1);
	subj = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1, 0);
	assert_int_equal(X509_set_issuer_name(x, subj), 1);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid, exts[i].value);
		assert_non_null(e);
		assert_int_equal(X509_add_ext(x, e, -1), 1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);

	snprintf(c->crt, sizeof(c->crt), "%s/%s.crt", dir, name);
	snprintf(c->key, sizeof(c->key), "%s/%s.key", dir, name);
	assert_non_null(f = fopen(c->crt, "w"));
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	assert_non_null(f = fopen(c->key, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	/* From the key, not the certificate: an independent path to the SPKI. */
	n = i2d_PUBKEY(pk, &der);
	assert_true(n > 0);
	prim_sha256(c->spki, der, (size_t)n);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static int
setup(void **state)
{
	strcpy(dir, "/tmp/perfagg-test-tls-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	make_cert(&cert_a, "a", 1);
	make_cert(&cert_b, "b", 2);
	return 0;
}

static int
teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);

	free(cmd);
	return rc == 0 ? 0 : -1;
}

static void
start_tls(struct daemon *d, const struct cert *c)
{
	char cert_env[200], key_env[200];
	const char *env[] = { cert_env, key_env, NULL };

	snprintf(cert_env, sizeof(cert_env), "TLS_CERT_PATH=%s", c->crt);
	snprintf(key_env, sizeof(key_env), "TLS_KEY_PATH=%s", c->key);
	harness_start_tls(d, env, c->crt);
}

/* A TCP connection to 127.0.0.1:port. */
static int
dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* A client SSL_CTX that can speak exactly [min, max] (security level 0, so
 * the local OpenSSL configuration does not itself forbid old versions), and
 * does not verify: these tests are about the server's protocol policy. */
static SSL_CTX *
client_ctx(int min, int max)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	assert_non_null(ctx);
	SSL_CTX_set_security_level(ctx, 0);
	assert_int_equal(SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0"), 1);
	assert_int_equal(SSL_CTX_set_min_proto_version(ctx, min), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(ctx, max), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

/* Returns 1 if a handshake limited to [min, max] succeeds with the daemon. */
static int
handshake(int port, int min, int max)
{
	SSL_CTX *ctx = client_ctx(min, max);
	SSL *ssl = SSL_new(ctx);
	int fd = dial(port), ok;

	SSL_set_fd(ssl, fd);
	ok = SSL_connect(ssl) == 1;
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return ok;
}

static void
test_attest_over_https(void **state)
{
	struct daemon d, plain;
	char *out, *err, hex[65];
	json_t *doc;
	int rc;

	(void)state;
	start_tls(&d, &cert_a);
	const char *a1[] = { "perfagg", "attest", "--url", d.url, "--cacert", cert_a.crt, "--allow-dev", "--json", NULL };
	rc = harness_run(a1, NULL, NULL, &out, &err);
	if (rc != 0)
		fail_msg("attest over HTTPS failed (%d): %s", rc, err);
	doc = json_loads(out, 0, NULL);
	assert_non_null(doc);
	hex_encode(hex, cert_a.spki, 32);
	assert_string_equal(json_string_value(json_object_get(doc, "tls_spki_sha256")), hex);
	assert_string_equal(json_string_value(json_object_get(doc, "tls_binding")), "verified");
	json_decref(doc);
	free(out);
	free(err);

	const char *a2[] = { "perfagg", "attest", "--url", d.url, "--cacert", cert_a.crt, "--allow-dev", NULL };
	assert_int_equal(harness_run(a2, NULL, NULL, &out, &err), 0);
	assert_non_null(strstr(out, "tls binding      verified"));
	free(out);
	free(err);

	/* A certificate the client does not trust: refused by TLS itself. */
	const char *a3[] = { "perfagg", "attest", "--url", d.url, "--cacert", cert_b.crt, "--allow-dev", NULL };
	assert_int_not_equal(harness_run(a3, NULL, NULL, &out, &err), 0);
	assert_non_null(strstr(err, "cannot fetch the attestation"));
	free(out);
	free(err);

	/* Plain HTTP to the TLS port gets no HTTP answer. */
	plain = d;
	snprintf(plain.url, sizeof(plain.url), "http://127.0.0.1:%d", d.port);
	assert_int_equal(harness_http(&plain, "GET", "/health", NULL, 0, NULL, NULL, NULL), -1);
	/* But HTTPS does. */
	assert_int_equal(harness_http_ca(&d, cert_a.crt, "GET", "/health", NULL, 0, NULL, NULL, NULL), 200);
	assert_int_equal(harness_stop(&d), 0);
}

/* TLS 1.2 and 1.3 are served, nothing older: the same client code that
 * completes a 1.2 handshake fails when limited to 1.0-1.1. */
static void
test_old_tls_refused(void **state)
{
	struct daemon d;

	(void)state;
	start_tls(&d, &cert_a);
	assert_int_equal(handshake(d.port, TLS1_2_VERSION, TLS1_2_VERSION), 1);
	assert_int_equal(handshake(d.port, TLS1_3_VERSION, TLS1_3_VERSION), 1);
	assert_int_equal(handshake(d.port, TLS1_1_VERSION, TLS1_1_VERSION), 0);
	assert_int_equal(handshake(d.port, TLS1_VERSION, TLS1_1_VERSION), 0);
	assert_int_equal(harness_stop(&d), 0);
}

static void
test_register_over_https(void **state)
{
	struct daemon d;
	const char *cred_env[] = { "PERFAGG_API_KEY=tls-key-0001", "PERFAGG_API_SECRET=tls-secret-0001", NULL };
	char *out, *err, id[65];
	int rc;

	(void)state;
	start_tls(&d, &cert_a);
	const char *r[] = { "perfagg", "register", "--url", d.url, "--cacert", cert_a.crt, "--exchange", "binance",
		"--allow-dev", "--label", "tls", NULL };
	rc = harness_run(r, cred_env, NULL, &out, &err);
	if (rc != 0)
		fail_msg("register over HTTPS failed (%d): %s", rc, err);
	assert_int_equal(strlen(out), 65);
	snprintf(id, sizeof(id), "%.64s", out);
	free(out);
	free(err);
	const char *s[] = { "perfagg", "session", "--url", d.url, "--cacert", cert_a.crt, id, NULL };
	assert_int_equal(harness_run(s, NULL, NULL, &out, &err), 0);
	assert_non_null(strstr(out, "tls"));
	assert_null(strstr(out, "tls-secret-0001"));
	free(out);
	free(err);
	const char *v[] = { "perfagg", "revoke", "--url", d.url, "--cacert", cert_a.crt, id, NULL };
	assert_int_equal(harness_run(v, NULL, NULL, &out, &err), 0);
	free(out);
	free(err);
	assert_int_equal(harness_stop(&d), 0);
}

/* Over plain HTTP the binding check is skipped, and the client says so. */
static void
test_plain_http_binding_skipped(void **state)
{
	struct daemon d;
	char *out, *err;

	(void)state;
	harness_start(&d, NULL);
	const char *a[] = { "perfagg", "attest", "--url", d.url, "--allow-dev", NULL };
	assert_int_equal(harness_run(a, NULL, NULL, &out, &err), 0);
	assert_non_null(strstr(out, "tls binding      not checked (plain HTTP)"));
	assert_non_null(strstr(err, "TLS binding (tls_spki_sha256) is not checked"));
	free(out);
	free(err);
	assert_int_equal(harness_stop(&d), 0);
}

/*
 * A TLS terminator in front of the enclave: it serves its own certificate
 * (B, which the client trusts) and relays requests to the daemon (A). The
 * attestation it relays is genuine, so only the binding check can tell.
 */
struct relay {
	int listen_fd, port, upstream_port;
	const struct cert *cert;
};

static void
relay_pump(SSL *from, SSL *to)
{
	char buf[16384];
	int n;

	while ((n = SSL_read(from, buf, sizeof(buf))) > 0)
		if (SSL_write(to, buf, n) != n)
			break;
}

static void *
relay_main(void *arg)
{
	struct relay *r = arg;
	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION);
	SSL *down = NULL, *up = NULL;
	char req[8192];
	int cfd, ufd, n, len = 0;
	char *end;

	SSL_CTX_use_certificate_file(sctx, r->cert->crt, SSL_FILETYPE_PEM);
	SSL_CTX_use_PrivateKey_file(sctx, r->cert->key, SSL_FILETYPE_PEM);
	cfd = accept(r->listen_fd, NULL, NULL);
	down = SSL_new(sctx);
	SSL_set_fd(down, cfd);
	if (SSL_accept(down) != 1)
		goto out;
	/* A GET: the request ends at the blank line. Ask the daemon to close
	 * after answering, so the response ends with the connection. */
	while (len < (int)sizeof(req) - 64 && (n = SSL_read(down, req + len, (int)sizeof(req) - 64 - len)) > 0) {
		len += n;
		req[len] = '\0';
		if ((end = strstr(req, "\r\n\r\n")) != NULL) {
			memcpy(end, "\r\nConnection: close\r\n\r\n", 24);
			len = (int)(end - req) + 23;
			break;
		}
	}
	ufd = dial(r->upstream_port);
	up = SSL_new(cctx);
	SSL_set_fd(up, ufd);
	if (SSL_connect(up) == 1 && SSL_write(up, req, len) == len)
		relay_pump(up, down);
	SSL_shutdown(down);
	close(ufd);
out:
	SSL_free(up);
	SSL_free(down);
	close(cfd);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	return NULL;
}

static void
test_relayed_attestation_refused(void **state)
{
	struct daemon d;
	struct relay r = { .cert = &cert_b };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	pthread_t th;
	char url[64], *out, *err;
	int rc;

	(void)state;
	start_tls(&d, &cert_a);
	r.upstream_port = d.port;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(r.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(r.listen_fd, 4), 0);
	assert_int_equal(getsockname(r.listen_fd, (struct sockaddr *)&sa, &sl), 0);
	r.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&th, NULL, relay_main, &r), 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", r.port);
	const char *a[] = { "perfagg", "attest", "--url", url, "--cacert", cert_b.crt, "--allow-dev", NULL };
	rc = harness_run(a, NULL, NULL, &out, &err);
	pthread_join(th, NULL);
	close(r.listen_fd);
	if (rc == 0 || strstr(err, "not the one the attestation binds") == NULL)
		fail_msg("relayed attestation accepted or refused for another reason (%d): %s", rc, err);
	free(out);
	free(err);
	assert_int_equal(harness_stop(&d), 0);
}

/* Raw 32-byte X25519 and Ed25519 public keys from a public PEM file, base64. */
static void
pem_public_keys(const char *path, char x_b64[45], char ed_b64[45])
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *pk;
	uint8_t raw[32];
	size_t len;
	int found = 0;

	assert_non_null(f);
	while ((pk = PEM_read_PUBKEY(f, NULL, NULL, NULL)) != NULL) {
		len = 32;
		assert_int_equal(EVP_PKEY_get_raw_public_key(pk, raw, &len), 1);
		assert_int_equal(len, 32);
		b64_encode_to(EVP_PKEY_get_id(pk) == EVP_PKEY_X25519 ? x_b64 : ed_b64, raw, 32);
		found |= EVP_PKEY_get_id(pk) == EVP_PKEY_X25519 ? 1 : 2;
		EVP_PKEY_free(pk);
	}
	ERR_clear_error();
	fclose(f);
	assert_int_equal(found, 3);
}

static void
assert_quote_keys(const struct daemon *d, const char *x_b64, const char *ed_b64)
{
	json_t *doc;

	assert_int_equal(harness_http(d, "GET", "/attestation/quote", NULL, 0, NULL, NULL, &doc), 200);
	assert_string_equal(json_string_value(json_object_get(doc, "enclave_pubkey")), x_b64);
	assert_string_equal(json_string_value(json_object_get(doc, "signing_pubkey")), ed_b64);
	json_decref(doc);
}

static void
test_key_files(void **state)
{
	char priv[128], pub[128], pub2[128], priv2[128], x_b64[45], ed_b64[45];
	char priv_env[160], pub_env[160], pub2_env[160];
	const char *env[] = { priv_env, pub_env, NULL }, *bad_env[] = { priv_env, pub2_env, NULL };
	struct daemon d;
	struct stat st;
	char *out, *err, *log, *nl;
	int rc;

	(void)state;
	snprintf(priv, sizeof(priv), "%s/priv.pem", dir);
	snprintf(pub, sizeof(pub), "%s/pub.pem", dir);
	snprintf(priv2, sizeof(priv2), "%s/priv2.pem", dir);
	snprintf(pub2, sizeof(pub2), "%s/pub2.pem", dir);
	const char *k1[] = { "perfaggd", "keygen", priv, pub, NULL };
	assert_int_equal(harness_run(k1, NULL, NULL, &out, &err), 0);
	free(out);
	free(err);
	assert_int_equal(stat(priv, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	const char *k2[] = { "perfaggd", "keygen", priv2, pub2, NULL };
	assert_int_equal(harness_run(k2, NULL, NULL, &out, &err), 0);
	free(out);
	free(err);
	{
		/* keygen never overwrites a key: one line, exit 1, the files unchanged. */
		size_t n1, n2;
		const char *e = NULL;
		uint8_t *before = file_read_all(priv, 16384, &n1, &e), *after;
		assert_int_equal(harness_run(k1, NULL, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "the private key file exists (refusing to overwrite it)"));
		assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1);
		free(out);
		free(err);
		after = file_read_all(priv, 16384, &n2, &e);
		assert_non_null(before);
		assert_non_null(after);
		assert_int_equal(n1, n2);
		assert_memory_equal(before, after, n1);
		free(before);
		free(after);
	}
	const char *k3[] = { "perfaggd", "keygen", priv, NULL };
	assert_int_equal(harness_run(k3, NULL, NULL, &out, &err), 2);
	free(out);
	free(err);

	pem_public_keys(pub, x_b64, ed_b64);
	snprintf(priv_env, sizeof(priv_env), "ENCLAVE_PRIVATE_KEY_PATH=%s", priv);
	snprintf(pub_env, sizeof(pub_env), "ENCLAVE_PUBLIC_KEY_PATH=%s", pub);
	snprintf(pub2_env, sizeof(pub2_env), "ENCLAVE_PUBLIC_KEY_PATH=%s", pub2);
	harness_start(&d, env);
	assert_quote_keys(&d, x_b64, ed_b64);
	assert_int_equal(harness_stop(&d), 0);
	/* A restart serves the same keys. */
	harness_start(&d, env);
	assert_quote_keys(&d, x_b64, ed_b64);
	assert_int_equal(harness_stop(&d), 0);

	/* Someone else's public file: start-up stops with one line naming it. */
	rc = harness_start_fails(bad_env, &log);
	assert_int_equal(rc, 2);
	nl = strchr(log, '\n');
	if (nl == NULL || nl[1] != '\0')
		fail_msg("not one line: %s", log);
	assert_non_null(strstr(log, "ENCLAVE_PUBLIC_KEY_PATH"));
	assert_non_null(strstr(log, "does not match"));
	free(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attest_over_https),
		cmocka_unit_test(test_old_tls_refused),
		cmocka_unit_test(test_register_over_https),
		cmocka_unit_test(test_plain_http_binding_skipped),
		cmocka_unit_test(test_relayed_attestation_refused),
		cmocka_unit_test(test_key_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
