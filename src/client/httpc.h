/*
 * httpc: one blocking HTTP request with libcurl, for the perfagg client.
 * TLS certificates are always verified (a custom CA bundle may be given).
 */
#ifndef PERFAGG_CLIENT_HTTPC_H
#define PERFAGG_CLIENT_HTTPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct httpc_response {
	long status;
	char *body;		/* NUL-terminated, owned; httpc_response_clear() frees it */
	size_t body_len;
	json_t *json;		/* body parsed as JSON when it is JSON, else NULL */
	bool tls_peer_known;	/* HTTPS: the server's leaf certificate was seen */
	uint8_t tls_spki_sha256[32];	/* then: SHA-256 of its SubjectPublicKeyInfo */
	char errtext[320];	/* httpc_error_message()'s buffer */
};

struct httpc_request {
	const char *method;	/* GET, POST, DELETE */
	const char *url;
	const char *bearer;	/* Authorization: Bearer value, or NULL */
	const char *body;	/* request body or NULL */
	const char *content_type;	/* body's type; NULL = application/json */
	size_t body_len;
	const char *cacert;	/* CA bundle path or NULL for the system's */
	long timeout_s;		/* 0: 30 s */
	size_t max_bytes;	/* largest response accepted; 0: 4 MiB */
};

/* Performs the request. Returns 0 when an HTTP response arrived (any status),
 * or -1 with a message in err for transport failures. */
int httpc_do(const struct httpc_request *req, struct httpc_response *resp, char *err, size_t errlen);
void httpc_response_clear(struct httpc_response *resp);

/* "code: message" of an {"error":{"code","message"}} body (the code is what
 * scripts match on), or a generic text; valid while resp is. */
const char *httpc_error_message(struct httpc_response *resp);

#endif
