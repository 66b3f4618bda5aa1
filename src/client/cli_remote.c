/*
 * The client commands that talk to a running perfaggd: attest, register,
 * session, revoke. register is the replacement for the seeds'
 * register-user.ps1 -Secure and SecureClient: it verifies the attestation,
 * encrypts the credential to the attested key, and submits it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "client/cli.h"
#include "client/cli_remote.h"
#include "client/httpc.h"
#include "core/attest_binding.h"
#include "core/attest_verify.h"
#include "core/b64.h"
#include "core/envelope.h"
#include "core/hex.h"
#include "core/prim.h"
#include "enclave/secret.h"
#include "exchange/exchange.h"
#include "util/file.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define CRED_FIELD_MAX 2048

/* Options shared by every remote command. */

enum { OPT_URL = 256, OPT_CACERT, OPT_JSON, OPT_ALLOW_DEV, OPT_ALLOW_DEBUG, OPT_EXPECT, OPT_NONCE, OPT_EXCHANGE,
	OPT_ACCOUNT, OPT_SANDBOX, OPT_TIER, OPT_LABEL, OPT_TTL, OPT_USER, OPT_CREDS, OPT_HELP };

/* Handles an option common to the remote commands. Returns 1 if handled, 0
 * if not, -1 on a bad value (message printed). */
static int
common_opt(struct cli_remote *r, int c, const char *arg)
{
	switch (c) {
	case OPT_URL:
		r->url = arg;
		return 1;
	case OPT_CACERT:
		r->cacert = arg;
		return 1;
	case OPT_JSON:
		r->json = true;
		return 1;
	case OPT_ALLOW_DEV:
		r->allow_dev = true;
		return 1;
	case OPT_ALLOW_DEBUG:
		r->allow_debug = true;
		return 1;
	case OPT_EXPECT:
		if (hex_decode_exact(r->measurement, 32, arg, strlen(arg)) != 0) {
			cli_error(r->cmd, CLI_USAGE, "--expect-measurement takes 64 hex characters");
			return -1;
		}
		r->have_measurement = true;
		return 1;
	case OPT_NONCE:
		if (hex_decode(r->nonce, sizeof(r->nonce), &r->nonce_len, arg, strlen(arg)) != 0) {
			cli_error(r->cmd, CLI_USAGE, "--nonce takes hex, at most %d bytes", ATTEST_NONCE_MAX);
			return -1;
		}
		r->have_nonce = true;
		return 1;
	}
	return 0;
}

char *
cli_url_join(const struct cli_remote *r, const char *path)
{
	size_t n = strlen(r->url);

	while (n > 0 && r->url[n - 1] == '/')
		n--;
	return xasprintf("%.*s%s", (int)n, r->url, path);
}

/*
 * The document's tls_spki_sha256 (bound into report_data, so already
 * verified as the enclave's claim) must be the certificate of the connection
 * that carried it: otherwise a TLS terminator in front of the enclave could
 * relay a genuine attestation. Over plain HTTP there is no certificate and
 * the check is skipped, saying so. Returns 0 or a CLI exit code.
 */
static int
check_tls_binding(struct cli_remote *r, const struct httpc_response *resp)
{
	const json_t *v = json_object_get(resp->json, "tls_spki_sha256");
	uint8_t bound[32];

	r->tls_bound = false;
	if (!resp->tls_peer_known) {
		if (strncasecmp(r->url, "https:", 6) == 0)
			return cli_error(r->cmd, CLI_FAIL, "attestation NOT verified: cannot read the server's "
			    "TLS certificate to check tls_spki_sha256");
		fprintf(stderr, "perfagg %s: note: plain HTTP, so the TLS binding (tls_spki_sha256) is not "
		    "checked\n", r->cmd);
		return 0;
	}
	if (!json_is_string(v) || hex_decode_exact(bound, 32, json_string_value(v), json_string_length(v)) != 0)
		return cli_error(r->cmd, CLI_FAIL, "attestation NOT verified: served over HTTPS but the "
		    "attestation binds no TLS certificate (tls_spki_sha256 is null)");
	if (!prim_ct_equal(bound, resp->tls_spki_sha256, 32))
		return cli_error(r->cmd, CLI_FAIL, "attestation NOT verified: the server's TLS certificate is "
		    "not the one the attestation binds (tls_spki_sha256)");
	r->tls_bound = true;
	return 0;
}

/* Fetches GET /attestation/quote with a fresh nonce and verifies it under the
 * command's policy. Returns 0 and fills claims (and *doc_out if non-NULL), or
 * a CLI exit code with the error printed. */
int
cli_fetch_attestation(struct cli_remote *r, struct attest_claims *claims, json_t **doc_out)
{
	struct httpc_request req = { .method = "GET", .cacert = r->cacert };
	struct httpc_response resp;
	struct attest_policy pol = { .allow_dev = r->allow_dev, .allow_debug = r->allow_debug,
	    .expect_measurement = r->have_measurement ? r->measurement : NULL };
	char err[512], nonce_hex[2 * ATTEST_NONCE_MAX + 1], *path, *url;
	const char *verr = NULL;
	int rc;

	if (!r->have_nonce) {
		r->nonce_len = ATTEST_NONCE_MAX;
		prim_random(r->nonce, r->nonce_len);
	}
	hex_encode(nonce_hex, r->nonce, r->nonce_len);
	path = xasprintf("/attestation/quote?nonce=%s", nonce_hex);
	url = cli_url_join(r, path);
	req.url = url;
	rc = httpc_do(&req, &resp, err, sizeof(err));
	free(path);
	free(url);
	if (rc != 0)
		return cli_error(r->cmd, CLI_FAIL, "cannot fetch the attestation: %s", err);
	if (resp.status != 200 || resp.json == NULL) {
		rc = cli_error(r->cmd, CLI_FAIL, "attestation request failed (HTTP %ld): %s", resp.status,
		    httpc_error_message(&resp));
		httpc_response_clear(&resp);
		return rc;
	}
	if (attest_verify_document(resp.json, r->nonce, r->nonce_len, &pol, claims, &verr) != 0) {
		rc = cli_error(r->cmd, CLI_FAIL, "attestation NOT verified: %s", verr);
		httpc_response_clear(&resp);
		return rc;
	}
	if ((rc = check_tls_binding(r, &resp)) != 0) {
		httpc_response_clear(&resp);
		return rc;
	}
	if (!claims->hardware_backed)
		fprintf(stderr, "perfagg %s: WARNING: the enclave's evidence is development evidence, NOT "
		    "hardware-backed (accepted because of --allow-dev)\n", r->cmd);
	if (doc_out != NULL)
		*doc_out = json_incref(resp.json);
	httpc_response_clear(&resp);
	return 0;
}

static const char attest_usage[] =
    "usage: perfagg attest --url URL [--nonce HEX] [--expect-measurement HEX] [--allow-dev]\n"
    "                      [--allow-debug] [--cacert FILE] [--json]\n"
    "Fetches the enclave's attestation with a fresh nonce and verifies the evidence, the binding of\n"
    "its keys and the nonce, and (with --expect-measurement) the measurement. Evidence that is not\n"
    "hardware-backed is refused unless --allow-dev is given.\n";

#define COMMON_LONGOPTS \
	{ "url", required_argument, NULL, OPT_URL }, \
	{ "cacert", required_argument, NULL, OPT_CACERT }, \
	{ "json", no_argument, NULL, OPT_JSON }, \
	{ "allow-dev", no_argument, NULL, OPT_ALLOW_DEV }, \
	{ "allow-debug", no_argument, NULL, OPT_ALLOW_DEBUG }, \
	{ "expect-measurement", required_argument, NULL, OPT_EXPECT }, \
	{ "help", no_argument, NULL, OPT_HELP }

int
cli_attest(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS, { "nonce", required_argument, NULL, OPT_NONCE },
		{ NULL, 0, NULL, 0 } };
	struct cli_remote r = { .cmd = "attest" };
	struct attest_claims cl;
	json_t *doc = NULL;
	char hex[129];
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(attest_usage, stdout);
			return CLI_OK;
		}
		if ((rc = common_opt(&r, c, optarg)) < 0)
			return CLI_USAGE;
		if (rc == 0)
			return cli_error(r.cmd, CLI_USAGE, "unknown option (see --help)");
	}
	if (optind != argc)
		return cli_error(r.cmd, CLI_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
	if (r.url == NULL)
		return cli_error(r.cmd, CLI_USAGE, "--url is required");
	if ((rc = cli_fetch_attestation(&r, &cl, &doc)) != 0)
		return rc;
	if (r.json) {
		json_object_set_new(doc, "verified", json_true());
		json_object_set_new(doc, "tls_binding", json_string(r.tls_bound ? "verified" :
		    "not checked (plain HTTP)"));
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		printf("attestation verified\n");
		printf("  type             %s%s\n", cl.attestation_type,
		    cl.hardware_backed ? " (hardware-backed)" : " (NOT hardware-backed)");
		hex_encode(hex, cl.measurement, 32);
		printf("  measurement      %s%s\n", hex, r.have_measurement ? " (matches the expected value)" :
		    " (not pinned: pass --expect-measurement)");
		printf("  enclave key      %s\n", json_string_value(json_object_get(doc, "enclave_pubkey")));
		printf("  signing key      %s (id %s)\n", json_string_value(json_object_get(doc, "signing_pubkey")),
		    json_string_value(json_object_get(doc, "signing_key_id")));
		hex_encode(hex, r.nonce, r.nonce_len);
		printf("  nonce            %s\n", hex);
		printf("  tls binding      %s\n", r.tls_bound ? "verified (the connection's certificate is the "
		    "attested one)" : "not checked (plain HTTP)");
	}
	json_decref(doc);
	return CLI_OK;
}

/* Reads one line from the terminal with echo off into a guarded buffer. */
static int
prompt_secret(const char *label, struct secret **out, size_t *len)
{
	struct termios old, noecho;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
	uint8_t *buf;
	size_t n = 0;
	char ch;

	if (fd < 0)
		return -1;
	*out = secret_new(CRED_FIELD_MAX + 1);
	buf = secret_acquire(*out);
	(void)!write(fd, label, strlen(label));
	if (tcgetattr(fd, &old) == 0) {
		noecho = old;
		noecho.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &noecho);
	}
	while (read(fd, &ch, 1) == 1 && ch != '\n' && ch != '\r') {
		if (n < CRED_FIELD_MAX)
			buf[n++] = (uint8_t)ch;
	}
	ch = 0;
	tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	buf[n] = '\0';
	*len = n;
	secret_release(*out);
	return n > 0 ? 0 : -1;
}

/* The credential fields in guarded memory. */
struct creds {
	struct secret *f[3];	/* apiKey, secret, passphrase */
	size_t len[3];
};

static void
creds_clear(struct creds *c)
{
	for (int i = 0; i < 3; i++)
		secret_free(c->f[i]);
	memset(c, 0, sizeof(*c));
}

static void
creds_set(struct creds *c, int i, const char *s, size_t n)
{
	c->f[i] = secret_new(n + 1);
	memcpy(secret_acquire(c->f[i]), s, n);
	secret_release(c->f[i]);
	c->len[i] = n;
}

static const char *const cred_names[3] = { "apiKey", "secret", "passphrase" };
static const char *const cred_env[3] = { "PERFAGG_API_KEY", "PERFAGG_API_SECRET", "PERFAGG_API_PASSPHRASE" };

/*
 * Reads the credential from, in this order: --credentials-file (JSON with
 * apiKey, secret, passphrase?), the environment (PERFAGG_API_KEY,
 * PERFAGG_API_SECRET, PERFAGG_API_PASSPHRASE), or a no-echo prompt. Never argv.
 */
static int
read_creds(const char *cmd, const char *file, bool want_passphrase, struct creds *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	if (file != NULL) {
		const char *err = NULL;
		size_t len = 0;
		uint8_t *raw = file_read_all(file, 65536, &len, &err);
		json_t *doc = raw != NULL ? json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
		if (raw != NULL) {
			OPENSSL_cleanse(raw, len);
			free(raw);
		}
		if (doc == NULL || !json_is_object(doc)) {
			json_decref(doc);
			return cli_error(cmd, CLI_USAGE, "--credentials-file %s: %s", file,
			    err != NULL ? err : "not a JSON object {\"apiKey\", \"secret\", \"passphrase\"?}");
		}
		for (i = 0; i < 3; i++) {
			json_t *v = json_object_get(doc, cred_names[i]);
			if (v != NULL && json_is_string(v) && json_string_length(v) > 0)
				creds_set(c, i, json_string_value(v), json_string_length(v));
			else if (v != NULL || i < 2) {
				json_decref(doc);
				creds_clear(c);
				return cli_error(cmd, CLI_USAGE, "--credentials-file %s: %s must be a non-empty string",
				    file, cred_names[i]);
			}
		}
		json_decref(doc);
		return 0;
	}
	if ((getenv(cred_env[0]) != NULL && *getenv(cred_env[0]) != '\0') ||
	    (getenv(cred_env[1]) != NULL && *getenv(cred_env[1]) != '\0')) {
		for (i = 0; i < 3; i++) {
			const char *v = getenv(cred_env[i]);
			if (v != NULL && *v != '\0')
				creds_set(c, i, v, strlen(v));
			else if (i < 2) {
				creds_clear(c);
				return cli_error(cmd, CLI_USAGE, "%s is not set (the credential comes from %s and %s)",
				    cred_env[i], cred_env[0], cred_env[1]);
			}
		}
		return 0;
	}
	for (i = 0; i < 3; i++) {
		static const char *const labels[3] = { "API key: ", "API secret: ", "API passphrase (empty if none): " };
		if (i == 2 && !want_passphrase)
			break;
		if (prompt_secret(labels[i], &c->f[i], &c->len[i]) != 0) {
			if (i == 2 && c->f[2] != NULL) {	/* an empty passphrase is none */
				secret_free(c->f[2]);
				c->f[2] = NULL;
				break;
			}
			creds_clear(c);
			return cli_error(cmd, CLI_USAGE, "no credential: use --credentials-file, set %s and %s, or run "
			    "on a terminal", cred_env[0], cred_env[1]);
		}
	}
	return 0;
}

/* Serializes the plaintext JSON into guarded memory. */
static struct secret *
build_plaintext(const char *user, const char *exchange, const char *account, bool sandbox, const char *tier,
    struct creds *c, size_t *len)
{
	json_t *pt = json_pack("{s:s, s:s, s:s, s:b}", "userId", user, "exchange", exchange, "accountType", account,
	    "sandbox", sandbox);

	if (tier != NULL)
		json_object_set_new(pt, "tier", json_string(tier));
	struct secret *out;
	size_t n;

	for (int i = 0; i < 3; i++) {
		if (c->f[i] == NULL)
			continue;
		json_object_set_new(pt, cred_names[i], json_stringn((const char *)secret_acquire(c->f[i]), c->len[i]));
		secret_release(c->f[i]);
	}
	n = json_dumpb(pt, NULL, 0, JSON_COMPACT);
	out = secret_new(n + 1);
	*len = json_dumpb(pt, (char *)secret_acquire(out), n, JSON_COMPACT);
	secret_release(out);
	json_decref(pt);	/* jansson's blocks are wiped on free (util/jsonmem.h) */
	return out;
}

static const char register_usage[] =
    "usage: perfagg register --url URL --exchange NAME [--account-type spot|futures|margin] [--sandbox]\n"
    "                        [--tier NAME] [--label L] [--ttl SECONDS] [--user-id ID] [--credentials-file FILE]\n"
    "                        [--expect-measurement HEX] [--allow-dev] [--cacert FILE] [--json]\n"
    "Verifies the enclave's attestation, encrypts the exchange credential to the attested key and\n"
    "submits it; prints the session id. The credential is read from --credentials-file (JSON:\n"
    "{\"apiKey\", \"secret\", \"passphrase\"?}), else from PERFAGG_API_KEY, PERFAGG_API_SECRET and\n"
    "PERFAGG_API_PASSPHRASE, else from a no-echo prompt. It is never taken from the command line.\n"
    "--tier names the account's rate tier where the exchange paces keys by tier (kraken: starter,\n"
    "the default, intermediate or pro).\n";

int
cli_register(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_LONGOPTS,
		{ "exchange", required_argument, NULL, OPT_EXCHANGE },
		{ "account-type", required_argument, NULL, OPT_ACCOUNT },
		{ "sandbox", no_argument, NULL, OPT_SANDBOX },
		{ "tier", required_argument, NULL, OPT_TIER },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "ttl", required_argument, NULL, OPT_TTL },
		{ "user-id", required_argument, NULL, OPT_USER },
		{ "credentials-file", required_argument, NULL, OPT_CREDS },
		{ NULL, 0, NULL, 0 } };
	struct cli_remote r = { .cmd = "register" };
	const char *exchange = NULL, *account = "spot", *label = NULL, *user = NULL, *creds_file = NULL, *tier = NULL;
	struct httpc_request req = { .method = "POST" };
	struct httpc_response resp = { 0 };
	struct envelope env = { 0 };
	struct attest_claims cl;
	struct creds creds = { 0 };
	struct secret *pt = NULL;
	json_t *md = NULL, *body = NULL;
	const char *err = NULL;
	char herr[512], *url = NULL, *body_s = NULL, *end;
	bool sandbox = false;
	long long ttl = -1;
	size_t pt_len;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			fputs(register_usage, stdout);
			return CLI_OK;
		case OPT_EXCHANGE:
			exchange = optarg;
			continue;
		case OPT_ACCOUNT:
			account = optarg;
			if (strcmp(account, "spot") != 0 && strcmp(account, "futures") != 0 && strcmp(account, "margin") != 0)
				return cli_error(r.cmd, CLI_USAGE, "--account-type must be spot, futures or margin");
			continue;
		case OPT_SANDBOX:
			sandbox = true;
			continue;
		case OPT_TIER:
			tier = optarg;
			continue;
		case OPT_LABEL:
			label = optarg;
			continue;
		case OPT_TTL:
			errno = 0;
			ttl = strtoll(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg || ttl <= 0)
				return cli_error(r.cmd, CLI_USAGE, "--ttl takes a positive number of seconds");
			continue;
		case OPT_USER:
			user = optarg;
			continue;
		case OPT_CREDS:
			creds_file = optarg;
			continue;
		}
		if ((rc = common_opt(&r, c, optarg)) < 0)
			return CLI_USAGE;
		if (rc == 0)
			return cli_error(r.cmd, CLI_USAGE, "unknown option (see --help)");
	}
	if (optind != argc)
		return cli_error(r.cmd, CLI_USAGE, "unexpected argument '%s' (credentials are never taken from the "
		    "command line; see --help)", argv[optind]);
	if (r.url == NULL || exchange == NULL)
		return cli_error(r.cmd, CLI_USAGE, "--url and --exchange are required");
	if (user == NULL)
		user = getenv("USER") != NULL ? getenv("USER") : "perfagg";

	if (exchange_find(exchange) == NULL)
		return cli_error(r.cmd, CLI_USAGE, "--exchange must be one of %s", exchange_names());
	if (tier != NULL) {
		unsigned t;
		if (exchange_tier(exchange_find(exchange), tier, &t, &err) != 0)
			return cli_error(r.cmd, CLI_USAGE, "--tier %s: %s %s", tier, exchange, err);
	}
	if ((rc = read_creds(r.cmd, creds_file, exchange_find(exchange)->passphrase, &creds)) != 0)
		return rc;
	if ((rc = cli_fetch_attestation(&r, &cl, NULL)) != 0)
		goto out;

	/* ts: the envelope is accepted only near this time, once (protocol v2) */
	md = json_pack("{s:s, s:I}", "exchange", exchange, "ts", (json_int_t)time_now_ms());
	if (label != NULL)
		json_object_set_new(md, "label", json_string(label));
	if (ttl > 0)
		json_object_set_new(md, "ttl", json_integer(ttl));
	pt = build_plaintext(user, exchange, account, sandbox, tier, &creds, &pt_len);
	rc = envelope_seal(&env, cl.enclave_pub, md, secret_acquire(pt), pt_len, &err);
	secret_release(pt);
	if (rc != 0) {
		rc = cli_error(r.cmd, CLI_FAIL, "cannot encrypt the credential: %s", err);
		goto out;
	}
	body = envelope_to_json(&env);
	body_s = json_dumps(body, JSON_COMPACT);
	url = cli_url_join(&r, "/enclave/submit_key");
	req.url = url;
	req.body = body_s;
	req.body_len = strlen(body_s);
	req.cacert = r.cacert;
	if (httpc_do(&req, &resp, herr, sizeof(herr)) != 0) {
		rc = cli_error(r.cmd, CLI_FAIL, "cannot submit: %s", herr);
		goto out;
	}
	if (resp.status != 201 || !json_is_string(json_object_get(resp.json, "session_id"))) {
		rc = cli_error(r.cmd, CLI_FAIL, "registration refused (HTTP %ld): %s", resp.status,
		    httpc_error_message(&resp));
		goto out;
	}
	if (r.json) {
		json_dumpf(resp.json, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		printf("%s\n", json_string_value(json_object_get(resp.json, "session_id")));
		fprintf(stderr, "perfagg register: session created, expires %s (keep the id secret: it is the key to "
		    "your results)\n", json_string_value(json_object_get(resp.json, "expires_at")));
	}
	rc = CLI_OK;
out:
	httpc_response_clear(&resp);
	free(url);
	free(body_s);
	json_decref(body);
	json_decref(md);
	envelope_clear(&env);
	secret_free(pt);
	creds_clear(&creds);
	return rc;
}

/* Reads the session id argument ("-" = first line of standard input). */
int
cli_session_arg(const char *cmd, const char *arg, char id[SESSION_ARG_MAX])
{
	size_t n;

	if (strcmp(arg, "-") == 0) {
		if (fgets(id, SESSION_ARG_MAX, stdin) == NULL)
			return cli_error(cmd, CLI_USAGE, "no session id on standard input");
	} else
		snprintf(id, SESSION_ARG_MAX, "%s", arg);
	n = strcspn(id, "\r\n");
	id[n] = '\0';
	if (n != 64 || strspn(id, "0123456789abcdefABCDEF") != 64)
		return cli_error(cmd, CLI_USAGE, "a session id is 64 hexadecimal characters");
	return 0;
}

static int
session_request(const char *cmd, const char *method, int argc, char **argv)
{
	static const struct option opts[] = { { "url", required_argument, NULL, OPT_URL },
		{ "cacert", required_argument, NULL, OPT_CACERT }, { "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP }, { NULL, 0, NULL, 0 } };
	struct cli_remote r = { .cmd = cmd };
	struct httpc_request req = { .method = method };
	struct httpc_response resp = { 0 };
	char id[SESSION_ARG_MAX], herr[512], *url;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == OPT_HELP) {
			printf("usage: perfagg %s --url URL [--cacert FILE] [--json] ID|-\n%s\n", cmd,
			    strcmp(method, "GET") == 0 ? "Shows a session's status (never its credentials)." :
			    "Revokes a session: the enclave wipes its credentials at once.");
			return CLI_OK;
		}
		if (common_opt(&r, c, optarg) != 1)
			return cli_error(cmd, CLI_USAGE, "unknown option (see --help)");
	}
	if (r.url == NULL || optind != argc - 1)
		return cli_error(cmd, CLI_USAGE, "usage: perfagg %s --url URL ID|-", cmd);
	if ((rc = cli_session_arg(cmd, argv[optind], id)) != 0)
		return rc;
	/* The id travels in the Authorization header, not the URL. */
	url = cli_url_join(&r, "/enclave/session");
	req.url = url;
	req.bearer = id;
	req.cacert = r.cacert;
	rc = httpc_do(&req, &resp, herr, sizeof(herr));
	free(url);
	OPENSSL_cleanse(id, sizeof(id));
	if (rc != 0)
		return cli_error(cmd, CLI_FAIL, "%s", herr);
	if (resp.status != 200) {
		rc = cli_error(cmd, CLI_FAIL, "HTTP %ld: %s", resp.status, httpc_error_message(&resp));
		httpc_response_clear(&resp);
		return rc;
	}
	if (r.json || strcmp(method, "GET") != 0) {
		json_dumpf(resp.json, stdout, r.json ? JSON_COMPACT : JSON_INDENT(2));
		putchar('\n');
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(resp.json, k, v) {
			if (json_is_string(v))
				printf("%-14s %s\n", k, json_string_value(v));
			else if (json_is_boolean(v))
				printf("%-14s %s\n", k, json_is_true(v) ? "true" : "false");
		}
	}
	httpc_response_clear(&resp);
	return CLI_OK;
}

int
cli_session(int argc, char **argv)
{
	return session_request("session", "GET", argc, argv);
}

int
cli_revoke(int argc, char **argv)
{
	return session_request("revoke", "DELETE", argc, argv);
}
