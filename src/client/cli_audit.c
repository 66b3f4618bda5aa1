/*
 * perfagg audit verify: offline verification of perfaggd's audit log
 * (core/audit_chain.h). The checkpoint keys come from saved attestation
 * documents (verified here, with the nonce each document carries) or are
 * given directly; a log spanning daemon runs with different keys needs each
 * run's key.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "core/attest_verify.h"
#include "core/audit_chain.h"
#include "core/b64.h"
#include "core/hex.h"
#include "core/signed.h"
#include "util/file.h"

#define MAX_KEYS 16
#define LOG_MAX ((size_t)1 << 30)
#define DOC_MAX (1u << 20)

static const char usage[] =
    "usage: perfagg audit verify FILE [--attestation QUOTE.json [--allow-dev] [--allow-debug]\n"
    "                                 [--expect-measurement HEX]]... [--signing-key BASE64]...\n"
    "Checks every line of a perfaggd audit log: its own hash, the chain of prev hashes, seq\n"
    "continuity, chain restarts after a crash, and every checkpoint's signature. The signing keys\n"
    "come from saved attestation documents (GET /attestation/quote; verified first, against the\n"
    "nonce the document carries) or are given in base64. Prints the first bad line and exits 1 if\n"
    "anything is wrong, if no checkpoint is signed, or if the daemon recorded that it found the log\n"
    "truncated (a chain_restart with reason \"truncated\").\n";

enum { OPT_ATTEST = 256, OPT_KEY, OPT_ALLOW_DEV, OPT_ALLOW_DEBUG, OPT_EXPECT, OPT_HELP };

/* Verifies the attestation document at path and takes its signing key. */
static int
key_from_attestation(const char *path, const struct attest_policy *pol, uint8_t key[32])
{
	struct attest_claims cl;
	const char *e = NULL;
	const json_t *n;
	uint8_t *buf, nonce[64];
	size_t len, nlen = 0;
	json_t *doc;
	json_error_t jerr;

	if ((buf = file_read_all(path, DOC_MAX, &len, &e)) == NULL)
		return cli_error("audit", CLI_USAGE, "%s: %s", path, e);
	doc = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (doc == NULL)
		return cli_error("audit", CLI_USAGE, "%s: not JSON: %s", path, jerr.text);
	/* A saved document is checked against its own nonce: freshness is
	 * not the question here, the key's binding to the enclave is. */
	n = json_object_get(doc, "nonce");
	if (!json_is_string(n) || hex_decode(nonce, sizeof(nonce), &nlen, json_string_value(n),
	    json_string_length(n)) != 0) {
		json_decref(doc);
		return cli_error("audit", CLI_FAIL, "%s: attestation NOT verified: no valid nonce", path);
	}
	if (attest_verify_document(doc, nonce, nlen, pol, &cl, &e) != 0) {
		json_decref(doc);
		return cli_error("audit", CLI_FAIL, "%s: attestation NOT verified: %s", path, e);
	}
	json_decref(doc);
	if (!cl.hardware_backed)
		fprintf(stderr, "perfagg audit: WARNING: %s is development evidence, NOT hardware-backed "
		    "(accepted because of --allow-dev)\n", path);
	memcpy(key, cl.signing_pub, 32);
	return CLI_OK;
}

int
cli_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "attestation", required_argument, NULL, OPT_ATTEST },
		{ "signing-key", required_argument, NULL, OPT_KEY },
		{ "allow-dev", no_argument, NULL, OPT_ALLOW_DEV },
		{ "allow-debug", no_argument, NULL, OPT_ALLOW_DEBUG },
		{ "expect-measurement", required_argument, NULL, OPT_EXPECT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 } };
	struct attest_policy pol = { 0 };
	struct audit_chain_report rep;
	const char *docs[MAX_KEYS], *path, *e = NULL;
	uint8_t keys[MAX_KEYS][32], measurement[32];
	char id[SIGNED_KEY_ID_HEX + 1];
	size_t nkeys = 0, ndocs = 0, len;
	uint8_t *buf;
	int c, rc;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		return cli_error("audit", CLI_USAGE, "expected 'verify' (see --help)");
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_HELP:
			fputs(usage, stdout);
			return CLI_OK;
		case OPT_ATTEST:
			if (ndocs + nkeys >= MAX_KEYS)
				return cli_error("audit", CLI_USAGE, "at most %d keys", MAX_KEYS);
			docs[ndocs++] = optarg;
			break;
		case OPT_KEY:
			if (ndocs + nkeys >= MAX_KEYS)
				return cli_error("audit", CLI_USAGE, "at most %d keys", MAX_KEYS);
			if (b64_decode_exact(keys[nkeys], 32, optarg, strlen(optarg)) != 0)
				return cli_error("audit", CLI_USAGE, "--signing-key takes the base64 of a 32-byte "
				    "Ed25519 public key");
			nkeys++;
			break;
		case OPT_ALLOW_DEV:
			pol.allow_dev = true;
			break;
		case OPT_ALLOW_DEBUG:
			pol.allow_debug = true;
			break;
		case OPT_EXPECT:
			if (hex_decode_exact(measurement, 32, optarg, strlen(optarg)) != 0)
				return cli_error("audit", CLI_USAGE, "--expect-measurement takes 64 hex characters");
			pol.expect_measurement = measurement;
			break;
		default:
			return cli_error("audit", CLI_USAGE, "unknown option (see --help)");
		}
	}
	if (optind + 1 != argc)
		return cli_error("audit", CLI_USAGE, "expected one FILE (see --help)");
	path = argv[optind];
	if (ndocs + nkeys == 0)
		return cli_error("audit", CLI_USAGE, "give --attestation QUOTE.json or --signing-key BASE64: "
		    "checkpoint signatures are always verified");
	for (size_t i = 0; i < ndocs; i++)
		if ((rc = key_from_attestation(docs[i], &pol, keys[nkeys++])) != CLI_OK)
			return rc;
	if ((buf = file_read_all(path, LOG_MAX, &len, &e)) == NULL)
		return cli_error("audit", CLI_USAGE, "%s: %s", path, e);
	rc = audit_chain_verify((const char *)buf, len, (const uint8_t (*)[32])keys, nkeys, &rep);
	free(buf);
	if (rc != 0)
		return cli_error("audit", CLI_FAIL, "%s:%zu: NOT verified: %s", path, rep.bad_line, rep.error);
	/* A chain that checks is not enough: without a signature anyone could
	 * have written it, and a log the daemon found cut short is not the record. */
	if (rep.checkpoints == 0)
		return cli_error("audit", CLI_FAIL, "%s: NOT verified: no signed checkpoint (%zu entries, none covered "
			"by a signature)", path, rep.entries);
	if (rep.truncations > 0)
		return cli_error("audit", CLI_FAIL, "%s:%zu: NOT verified: TRUNCATED: the daemon found the log cut "
			"short (its last signed checkpoint was seq %lld, the log ended at seq %lld: %lld entries or more "
			"lost); %zu truncation(s) recorded", path, rep.truncation_line,
			(long long)rep.truncation_expected_seq, (long long)rep.truncation_found_seq,
			(long long)(rep.truncation_expected_seq - rep.truncation_found_seq), rep.truncations);
	printf("audit log verified: %s\n", path);
	printf("  lines           %zu\n", rep.lines);
	printf("  entries         %zu (seq 1..%lld)\n", rep.entries, (long long)rep.last_seq);
	printf("  checkpoints     %zu signed, verified with key id", rep.checkpoints);
	for (size_t i = 0; i < nkeys; i++) {
		signed_key_id(id, keys[i]);
		printf(" %s", id);
	}
	printf("\n  chain restarts  %zu", rep.restarts);
	if (rep.restarts > 0)
		printf(" (first after the broken line %zu, kept as written)", rep.first_restart_line);
	printf("\n  head            %s\n", rep.head);
	printf("  unsigned tail   %zu entries after the last checkpoint%s\n", rep.after_checkpoint,
	    rep.after_checkpoint > 0 ? " (not covered by a signature)" : "");
	return CLI_OK;
}
