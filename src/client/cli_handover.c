/*
 * perfagg handover: the operator's approval of a new build taking over the
 * enclave's keys (docs/DURABILITY.md "Identity across upgrades").
 *
 *   perfagg handover --from URL_OLD --to URL_NEW --approve MEASUREMENT
 *                    [--allow-dev] [--cacert FILE] [--token-file FILE] [--out FILE]
 *
 * Fetches and verifies the new instance's attestation (fresh nonce, pinned
 * to the approved measurement), asks the running instance to release its keys
 * to it (POST /admin/handover: the old instance checks the evidence itself),
 * checks the signed statement it returns against the old instance's attested
 * signing key, and hands the package to the new instance
 * (POST /admin/handover/accept). The operator token comes from --token-file
 * or PERFAGG_OPERATOR_TOKEN, never from argv.
 */
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cli_remote.h"
#include "client/httpc.h"
#include "core/handover.h"
#include "core/hex.h"
#include "util/file.h"
#include "util/xalloc.h"

enum { H_FROM = 400, H_TO, H_APPROVE, H_ALLOW_DEV, H_CACERT, H_TOKEN_FILE, H_OUT, H_HELP };

static const char usage[] =
    "usage: perfagg handover --from URL_OLD --to URL_NEW --approve MEASUREMENT_HEX [--allow-dev]\n"
    "                        [--cacert FILE] [--token-file FILE] [--out STATEMENT.json]\n"
    "Moves the enclave's keys (signing key and sealing root) from the running instance (--from) to a new\n"
    "build started with HANDOVER_AWAIT=1 (--to) whose attested measurement the operator approves. The\n"
    "operator token is read from --token-file or PERFAGG_OPERATOR_TOKEN. Afterwards the old instance\n"
    "refuses to sign (503 handed_over): stop it, and the new one starts with the keys at the next epoch.\n";

/* The operator token, or NULL after printing why. Caller cleanses and frees. */
static char *
read_token(const char *file)
{
	const char *e = NULL, *env = getenv("PERFAGG_OPERATOR_TOKEN");
	size_t len;
	char *t;

	if (file == NULL) {
		if (env == NULL || *env == '\0') {
			cli_error("handover", CLI_USAGE, "give the operator token with --token-file FILE or "
			    "PERFAGG_OPERATOR_TOKEN");
			return NULL;
		}
		return xstrdup(env);
	}
	if ((t = (char *)file_read_all(file, 4096, &len, &e)) == NULL) {
		cli_error("handover", CLI_USAGE, "%s: %s", file, e);
		return NULL;
	}
	while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r'))
		t[--len] = '\0';
	return t;
}

/* POSTs body to base + path with the token. Returns 0 with *out (new
 * reference) on 200, else a CLI exit code with the error printed. */
static int
post(const struct cli_remote *r, const char *path, json_t *body, const char *token, json_t **out)
{
	struct httpc_request req = { .method = "POST", .cacert = r->cacert, .bearer = token, .max_bytes = 16u << 20 };
	struct httpc_response resp = { 0 };
	char *url = cli_url_join(r, path), *s = json_dumps(body, JSON_COMPACT), err[512];
	int rc;

	req.url = url;
	req.body = s;
	req.body_len = strlen(s);
	rc = httpc_do(&req, &resp, err, sizeof(err));
	free(url);
	free(s);
	if (rc != 0)
		return cli_error("handover", CLI_FAIL, "%s: %s", r->url, err);
	if (resp.status != 200 || resp.json == NULL) {
		rc = cli_error("handover", CLI_FAIL, "%s%s refused (HTTP %ld): %s", r->url, path, resp.status,
		    httpc_error_message(&resp));
		httpc_response_clear(&resp);
		return rc;
	}
	*out = json_incref(resp.json);
	httpc_response_clear(&resp);
	return 0;
}

int
cli_handover(int argc, char **argv)
{
	static const struct option opts[] = { { "from", required_argument, NULL, H_FROM },
		{ "to", required_argument, NULL, H_TO }, { "approve", required_argument, NULL, H_APPROVE },
		{ "allow-dev", no_argument, NULL, H_ALLOW_DEV }, { "cacert", required_argument, NULL, H_CACERT },
		{ "token-file", required_argument, NULL, H_TOKEN_FILE }, { "out", required_argument, NULL, H_OUT },
		{ "help", no_argument, NULL, H_HELP }, { NULL, 0, NULL, 0 } };
	struct cli_remote old = { .cmd = "handover" }, neu = { .cmd = "handover" };
	struct attest_claims cl_old, cl_new;
	struct handover_claim c;
	const char *token_file = NULL, *out_path = NULL, *e = NULL;
	char nonce_hex[2 * ATTEST_NONCE_MAX + 1], approve_hex[65], from_hex[65], *token = NULL, *s;
	json_t *att_new = NULL, *req = NULL, *pkg = NULL, *acc = NULL;
	int ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case H_HELP: fputs(usage, stdout); return CLI_OK;
		case H_FROM: old.url = optarg; break;
		case H_TO: neu.url = optarg; break;
		case H_ALLOW_DEV: old.allow_dev = neu.allow_dev = true; break;
		case H_CACERT: old.cacert = neu.cacert = optarg; break;
		case H_TOKEN_FILE: token_file = optarg; break;
		case H_OUT: out_path = optarg; break;
		case H_APPROVE:
			if (hex_decode_exact(neu.measurement, 32, optarg, strlen(optarg)) != 0)
				return cli_error("handover", CLI_USAGE, "--approve takes the new build's measurement, 64 hex "
				    "characters");
			neu.have_measurement = true;
			break;
		default:
			return cli_error("handover", CLI_USAGE, "unknown option (see --help)");
		}
	}
	if (old.url == NULL || neu.url == NULL || !neu.have_measurement || optind != argc)
		return cli_error("handover", CLI_USAGE, "usage: perfagg handover --from URL --to URL --approve HEX");
	if ((token = read_token(token_file)) == NULL)
		return CLI_USAGE;
	/* Both ends attested: the new one pinned to the approved measurement. */
	if ((rc = cli_fetch_attestation(&neu, &cl_new, &att_new)) != 0 ||
	    (rc = cli_fetch_attestation(&old, &cl_old, NULL)) != 0)
		goto out;
	hex_encode(nonce_hex, neu.nonce, neu.nonce_len);
	hex_encode(approve_hex, neu.measurement, 32);
	req = json_pack("{s:O, s:s, s:s}", "attestation", att_new, "nonce", nonce_hex, "approve_measurement",
	    approve_hex);
	if ((rc = post(&old, "/admin/handover", req, token, &pkg)) != 0)
		goto out;
	if (handover_statement_verify(json_object_get(pkg, "statement"), cl_old.signing_pub, &c, &e) != 0) {
		rc = cli_error("handover", CLI_FAIL, "the released statement does NOT verify with the running "
		    "instance's attested key: %s", e);
		goto out;
	}
	if (memcmp(c.to_measurement, neu.measurement, 32) != 0 || memcmp(c.to_x25519, cl_new.enclave_pub, 32) != 0 ||
	    memcmp(c.from_measurement, cl_old.measurement, 32) != 0) {
		rc = cli_error("handover", CLI_FAIL, "the released statement names other measurements or another key "
		    "than the two attested instances");
		goto out;
	}
	if (out_path != NULL) {
		s = json_dumps(json_object_get(pkg, "statement"), JSON_INDENT(2) | JSON_SORT_KEYS);
		rc = file_write_atomic(out_path, s, strlen(s), 0644, &e);
		free(s);
		if (rc != 0) {
			rc = cli_error("handover", CLI_FAIL, "cannot write %s: %s", out_path, e);
			goto out;
		}
	}
	if ((rc = post(&neu, "/admin/handover/accept", pkg, token, &acc)) != 0) {
		fprintf(stderr, "perfagg handover: the running instance released its keys; run the same command "
		    "again to resend the same package to the new instance\n");
		goto out;
	}
	hex_encode(from_hex, c.from_measurement, 32);
	printf("handover: key epoch %llu -> %llu, signing key %s\n  from measurement %s\n  to   measurement %s\n"
	    "The old instance no longer signs (503 handed_over). Stop it: the new instance starts with the keys\n"
	    "as soon as DATA_DIR is free.\n", (unsigned long long)c.from_epoch, (unsigned long long)c.to_epoch,
	    json_string_value(json_object_get(acc, "signing_key_id")), from_hex, approve_hex);
	rc = CLI_OK;
out:
	if (token != NULL) {
		OPENSSL_cleanse(token, strlen(token));
		free(token);
	}
	json_decref(att_new);
	json_decref(req);
	json_decref(pkg);
	json_decref(acc);
	return rc;
}
