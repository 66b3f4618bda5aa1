/*
 * perfagg metrics / summary: fetch a session's signed results and check the
 * signature against the attested key; perfagg verify: check a saved result
 * offline against a saved attestation document.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cli_remote.h"
#include "client/httpc.h"
#include "core/attest_verify.h"
#include "core/handover.h"
#include "core/hex.h"
#include "core/signed.h"
#include "util/file.h"
#include "util/xalloc.h"

enum { O_URL = 300, O_CACERT, O_OUT, O_ATT_OUT, O_ATT, O_EXPECT, O_ALLOW_DEV, O_ALLOW_DEBUG, O_JSON, O_HELP,
	O_HANDOVERS };

static int
write_json(const char *cmd, const char *path, json_t *doc)
{
	char *s = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	const char *err = NULL;
	int rc = file_write_atomic(path, s, strlen(s), 0644, &err);

	free(s);
	if (rc != 0)
		return cli_error(cmd, CLI_FAIL, "cannot write %s: %s", path, err);
	return 0;
}

static void
print_table(json_t *doc)
{
	json_t *m = json_object_get(doc, "metrics"), *t = json_object_get(doc, "totals"), *f = json_object_get(doc, "freshness");
	const char *k;
	json_t *v;
	size_t i;

	printf("%s %s, state %s, backfill %s, last poll %s\n", json_string_value(json_object_get(doc, "exchange")),
	    json_string_value(json_object_get(doc, "account_type")), json_string_value(json_object_get(f, "state")),
	    json_is_true(json_object_get(f, "backfill_done")) ? "done" : "in progress",
	    json_is_string(json_object_get(f, "last_poll")) ? json_string_value(json_object_get(f, "last_poll")) : "never");
	printf("%-16s %7s %22s %14s %20s %16s\n", "SYMBOL", "TRADES", "REALIZED_PNL", "RETURN%", "VOLUME_QUOTE", "FEES_QUOTE");
	json_array_foreach(m, i, v)
		printf("%-16s %7lld %22.22s %14.14s %20.20s %16.16s\n", json_string_value(json_object_get(v, "symbol")),
		    (long long)json_integer_value(json_object_get(v, "trades")),
		    json_string_value(json_object_get(v, "realized_pnl")),
		    json_is_string(json_object_get(v, "return_pct")) ? json_string_value(json_object_get(v, "return_pct")) : "-",
		    json_string_value(json_object_get(v, "volume_quote")), json_string_value(json_object_get(v, "fees_quote")));
	json_object_foreach(t, k, v)
		printf("%-16s %7lld %22.22s %14.14s %20.20s %16.16s\n", k,
		    (long long)json_integer_value(json_object_get(v, "trades")),
		    json_string_value(json_object_get(v, "realized_pnl")),
		    json_is_string(json_object_get(v, "return_pct")) ? json_string_value(json_object_get(v, "return_pct")) : "-",
		    json_string_value(json_object_get(v, "volume_quote")), json_string_value(json_object_get(v, "fees_quote")));
	if (json_is_object(json_object_get(doc, "statistics"))) {
		json_t *s = json_object_get(doc, "statistics");
		printf("statistics (%s):\n", json_string_value(json_object_get(s, "series")));
		json_object_foreach(s, k, v)
			if (json_is_number(v))
				printf("  %-38s %.6g\n", k, json_number_value(v));
			else if (json_is_null(v))
				printf("  %-38s null\n", k);
	}
}

static int
results(const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = { { "url", required_argument, NULL, O_URL },
		{ "cacert", required_argument, NULL, O_CACERT }, { "out", required_argument, NULL, O_OUT },
		{ "save-attestation", required_argument, NULL, O_ATT_OUT },
		{ "expect-measurement", required_argument, NULL, O_EXPECT },
		{ "allow-dev", no_argument, NULL, O_ALLOW_DEV }, { "allow-debug", no_argument, NULL, O_ALLOW_DEBUG },
		{ "json", no_argument, NULL, O_JSON }, { "help", no_argument, NULL, O_HELP }, { NULL, 0, NULL, 0 } };
	struct cli_remote r = { .cmd = cmd };
	struct attest_claims cl;
	const char *out = NULL, *att_out = NULL, *err = NULL;
	char id[80], herr[512], *url;
	struct httpc_request req = { .method = "GET" };
	struct httpc_response resp = { 0 };
	json_t *att = NULL;
	bool json = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_HELP:
			printf("usage: perfagg %s --url URL [--out FILE] [--save-attestation FILE] [--expect-measurement HEX]\n"
			    "                      [--allow-dev] [--cacert FILE] [--json] ID|-\n"
			    "Fetches the session's %s, verifies its signature with the attested signing key, and prints\n"
			    "them; --out saves the signed document and --save-attestation the attestation, for\n"
			    "`perfagg verify` by a third party.\n", cmd, cmd);
			return CLI_OK;
		case O_URL: r.url = optarg; break;
		case O_CACERT: r.cacert = optarg; break;
		case O_OUT: out = optarg; break;
		case O_ATT_OUT: att_out = optarg; break;
		case O_JSON: json = true; break;
		case O_ALLOW_DEV: r.allow_dev = true; break;
		case O_ALLOW_DEBUG: r.allow_debug = true; break;
		case O_EXPECT:
			if (hex_decode_exact(r.measurement, 32, optarg, strlen(optarg)) != 0)
				return cli_error(cmd, CLI_USAGE, "--expect-measurement takes 64 hex characters");
			r.have_measurement = true;
			break;
		default:
			return cli_error(cmd, CLI_USAGE, "unknown option (see --help)");
		}
	}
	if (r.url == NULL || optind != argc - 1)
		return cli_error(cmd, CLI_USAGE, "usage: perfagg %s --url URL ID|-", cmd);
	if ((rc = cli_session_arg(cmd, argv[optind], id)) != 0)
		return rc;
	if ((rc = cli_fetch_attestation(&r, &cl, &att)) != 0)
		return rc;
	url = cli_url_join(&r, strcmp(cmd, "summary") == 0 ? "/enclave/summary" : "/enclave/metrics");
	req.url = url;
	req.bearer = id;
	req.cacert = r.cacert;
	req.max_bytes = 256u << 20;
	rc = httpc_do(&req, &resp, herr, sizeof(herr));
	free(url);
	if (rc != 0) {
		rc = cli_error(cmd, CLI_FAIL, "%s", herr);
		goto out;
	}
	if (resp.status != 200 || resp.json == NULL) {
		rc = cli_error(cmd, CLI_FAIL, "HTTP %ld: %s", resp.status, httpc_error_message(&resp));
		goto out;
	}
	if (signed_verify(resp.json, cl.signing_pub, &err) != 0) {
		rc = cli_error(cmd, CLI_FAIL, "the response's signature is NOT valid: %s", err);
		goto out;
	}
	if ((out != NULL && (rc = write_json(cmd, out, resp.json)) != 0) ||
	    (att_out != NULL && (rc = write_json(cmd, att_out, att)) != 0))
		goto out;
	if (json) {
		json_dumpf(resp.json, stdout, JSON_INDENT(2));
		putchar('\n');
	} else
		print_table(resp.json);
	fprintf(stderr, "perfagg %s: signature verified (key %s)\n", cmd,
	    json_string_value(json_object_get(resp.json, "signing_key_id")));
	rc = CLI_OK;
out:
	httpc_response_clear(&resp);
	json_decref(att);
	return rc;
}

int
cli_metrics(int argc, char **argv)
{
	return results("metrics", argc, argv);
}

int
cli_summary(int argc, char **argv)
{
	return results("summary", argc, argv);
}

static json_t *
load_json(const char *cmd, const char *path, int *rc)
{
	const char *err = NULL;
	size_t len;
	uint8_t *buf = file_read_all(path, 256u << 20, &len, &err);
	json_error_t je;
	json_t *j;

	if (buf == NULL) {
		*rc = cli_error(cmd, CLI_USAGE, "%s: %s", path, err);
		return NULL;
	}
	j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (j == NULL)
		*rc = cli_error(cmd, CLI_USAGE, "%s: line %d: %s", path, je.line, je.text);
	return j;
}

/* The chain of handovers from a file (a GET /enclave/handovers document or a
 * bare array) or the service; a new reference, or NULL with *rc set. */
static json_t *
load_chain(const char *file, const char *url, const char *cacert, int *rc)
{
	json_t *doc = NULL, *chain;

	if (file != NULL) {
		if ((doc = load_json("verify", file, rc)) == NULL)
			return NULL;
	} else {
		struct cli_remote r = { .cmd = "verify", .url = url };
		struct httpc_request req = { .method = "GET", .cacert = cacert, .max_bytes = 16u << 20 };
		struct httpc_response resp = { 0 };
		char herr[512], *u = cli_url_join(&r, "/enclave/handovers");
		int hrc;

		req.url = u;
		hrc = httpc_do(&req, &resp, herr, sizeof(herr));
		free(u);
		if (hrc != 0 || resp.status != 200 || resp.json == NULL) {
			*rc = cli_error("verify", CLI_FAIL, "cannot fetch the handover chain from %s: %s", url,
			    hrc != 0 ? herr : httpc_error_message(&resp));
			httpc_response_clear(&resp);
			return NULL;
		}
		doc = json_incref(resp.json);
		httpc_response_clear(&resp);
	}
	chain = json_is_array(doc) ? json_incref(doc) : json_incref(json_object_get(doc, "handovers"));
	json_decref(doc);
	if (!json_is_array(chain)) {
		json_decref(chain);
		*rc = cli_error("verify", CLI_FAIL, "the handover chain is not a JSON array (nor {\"handovers\": [...]})");
		return NULL;
	}
	return chain;
}

/* The measurement in force at the document's key epoch, following the chain
 * anchored by the attestation (cl). Returns 0 with meas set, or a CLI code. */
static int
epoch_measurement(const json_t *doc, const json_t *att, const json_t *chain, const struct attest_claims *cl,
    uint64_t *epoch, uint8_t meas[32])
{
	const json_t *ae = json_object_get(att, "key_epoch");
	uint64_t att_epoch = json_is_integer(ae) && json_integer_value(ae) >= 1 ? (uint64_t)json_integer_value(ae) : 1;
	const char *err = NULL;
	uint8_t m[32];
	int r;

	if (signed_key_epoch(doc, epoch, &err) != 0)
		return cli_error("verify", CLI_FAIL, "document NOT verified: %s", err);
	if (chain == NULL) {
		if (*epoch != att_epoch)
			return cli_error("verify", CLI_FAIL, "document NOT verified: it was signed at key epoch %llu and the "
			    "attestation is of epoch %llu: give the chain of handovers (--handovers FILE or --url URL)",
			    (unsigned long long)*epoch, (unsigned long long)att_epoch);
		memcpy(meas, cl->measurement, 32);
		return 0;
	}
	if (handover_chain_verify(chain, cl->signing_pub, &err) != 0)
		return cli_error("verify", CLI_FAIL, "handover chain NOT verified: %s", err);
	/* The attestation anchors the chain: its measurement is the one in
	 * force at its epoch. */
	if ((r = handover_measurement_at(chain, att_epoch, m, &err)) < 0)
		return cli_error("verify", CLI_FAIL, "handover chain NOT verified: the attestation's key epoch %llu: %s",
		    (unsigned long long)att_epoch, err);
	if (r == 0 && memcmp(m, cl->measurement, 32) != 0)
		return cli_error("verify", CLI_FAIL, "handover chain NOT verified: the attested measurement is not the "
		    "one the chain puts in force at key epoch %llu", (unsigned long long)att_epoch);
	if ((r = handover_measurement_at(chain, *epoch, meas, &err)) < 0)
		return cli_error("verify", CLI_FAIL, "document NOT verified: key epoch %llu: %s",
		    (unsigned long long)*epoch, err);
	if (r == 1)
		memcpy(meas, cl->measurement, 32);
	return 0;
}

int
cli_verify(int argc, char **argv)
{
	static const struct option opts[] = { { "attestation", required_argument, NULL, O_ATT },
		{ "expect-measurement", required_argument, NULL, O_EXPECT }, { "allow-dev", no_argument, NULL, O_ALLOW_DEV },
		{ "allow-debug", no_argument, NULL, O_ALLOW_DEBUG }, { "help", no_argument, NULL, O_HELP },
		{ "handovers", required_argument, NULL, O_HANDOVERS }, { "url", required_argument, NULL, O_URL },
		{ "cacert", required_argument, NULL, O_CACERT }, { NULL, 0, NULL, 0 } };
	const char *chain_path = NULL, *chain_url = NULL, *cacert = NULL;
	json_t *chain = NULL;
	uint64_t epoch = 1;
	char mhex[65];
	struct attest_policy pol = { 0 };
	struct attest_claims cl;
	uint8_t meas[32], nonce[ATTEST_NONCE_MAX];
	size_t nonce_len = 0;
	const char *att_path = NULL, *err = NULL, *nh;
	json_t *att = NULL, *doc = NULL;
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_HELP:
			printf("usage: perfagg verify FILE --attestation QUOTE.json [--expect-measurement HEX | --allow-dev]\n"
			    "Checks, offline, that FILE (a signed metrics/summary response or ingest payload) was signed by\n"
			    "the key bound in the attestation document QUOTE.json, and that the attestation itself verifies\n"
			    "(evidence, binding, measurement). One changed byte makes it fail. Exit 0 verified, 1 not.\n"
			    "A document signed at a later key epoch than the attestation's needs the chain of handovers:\n"
			    "--handovers FILE (GET /enclave/handovers saved) or --url URL (fetched); each statement's\n"
			    "signature and the consecutive epochs are checked, and the measurement in force at the\n"
			    "document's epoch is printed.\n");
			return CLI_OK;
		case O_ATT: att_path = optarg; break;
		case O_HANDOVERS: chain_path = optarg; break;
		case O_URL: chain_url = optarg; break;
		case O_CACERT: cacert = optarg; break;
		case O_ALLOW_DEV: pol.allow_dev = true; break;
		case O_ALLOW_DEBUG: pol.allow_debug = true; break;
		case O_EXPECT:
			if (hex_decode_exact(meas, 32, optarg, strlen(optarg)) != 0)
				return cli_error("verify", CLI_USAGE, "--expect-measurement takes 64 hex characters");
			pol.expect_measurement = meas;
			break;
		default:
			return cli_error("verify", CLI_USAGE, "unknown option (see --help)");
		}
	}
	if (att_path == NULL || optind != argc - 1)
		return cli_error("verify", CLI_USAGE, "usage: perfagg verify FILE --attestation QUOTE.json");
	if ((att = load_json("verify", att_path, &rc)) == NULL || (doc = load_json("verify", argv[optind], &rc)) == NULL)
		goto out;
	/* Offline, the document's own nonce is the one to check it against:
	 * freshness was the fetcher's to check, the binding is everyone's. */
	nh = json_string_value(json_object_get(att, "nonce"));
	if (nh == NULL || hex_decode(nonce, sizeof(nonce), &nonce_len, nh, strlen(nh)) != 0) {
		rc = cli_error("verify", CLI_FAIL, "%s: no valid nonce", att_path);
		goto out;
	}
	if (attest_verify_document(att, nonce, nonce_len, &pol, &cl, &err) != 0) {
		rc = cli_error("verify", CLI_FAIL, "attestation NOT verified: %s", err);
		goto out;
	}
	if (signed_verify(doc, cl.signing_pub, &err) != 0) {
		rc = cli_error("verify", CLI_FAIL, "%s NOT verified: %s", argv[optind], err);
		goto out;
	}
	if ((chain_path != NULL || chain_url != NULL) && (chain = load_chain(chain_path, chain_url, cacert, &rc)) == NULL)
		goto out;
	if ((rc = epoch_measurement(doc, att, chain, &cl, &epoch, meas)) != 0)
		goto out;
	hex_encode(mhex, meas, 32);
	printf("verified: %s was signed by key %s, bound in %s attestation evidence%s\n", argv[optind],
	    json_string_value(json_object_get(doc, "signing_key_id")), cl.attestation_type,
	    cl.hardware_backed ? "" : " (NOT hardware-backed: development evidence)");
	printf("key epoch %llu: measurement %s%s\n", (unsigned long long)epoch, mhex,
	    chain != NULL ? " (followed the chain of handovers)" : "");
	rc = CLI_OK;
out:
	json_decref(chain);
	json_decref(att);
	json_decref(doc);
	return rc;
}
