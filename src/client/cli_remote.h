/*
 * cli_remote: what the client commands that talk to perfaggd share: the
 * connection options and attestation policy, fetching and verifying the
 * attestation, URLs, and the session id argument.
 */
#ifndef PERFAGG_CLIENT_CLI_REMOTE_H
#define PERFAGG_CLIENT_CLI_REMOTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/attest_binding.h"
#include "core/attest_verify.h"

#define SESSION_ARG_MAX 80

struct cli_remote {
	const char *cmd;
	const char *url;
	const char *cacert;
	bool json;
	/* attestation policy */
	bool allow_dev;
	bool allow_debug;
	bool have_measurement;
	uint8_t measurement[32];
	bool have_nonce;
	uint8_t nonce[ATTEST_NONCE_MAX];
	size_t nonce_len;
	bool tls_bound;		/* set by cli_fetch_attestation: the TLS binding was checked */
};

/* Fetches GET /attestation/quote with a fresh nonce (or r->nonce) and
 * verifies it under r's policy. Returns 0 and fills claims (and *doc_out, a
 * new reference, if non-NULL), or a CLI exit code with the error printed. */
int cli_fetch_attestation(struct cli_remote *r, struct attest_claims *claims, json_t **doc_out);

/* r->url joined with path (no doubled slash); caller frees. */
char *cli_url_join(const struct cli_remote *r, const char *path);

/* Reads a session id argument ("-" = first line of standard input) into id.
 * Returns 0, or a CLI exit code with the error printed. */
int cli_session_arg(const char *cmd, const char *arg, char id[SESSION_ARG_MAX]);

#endif
