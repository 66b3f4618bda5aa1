/*
 * Administrative routes: the operator token check and the audit export.
 *
 * The operator token is given as "Authorization: Bearer <token>", the
 * standard header for a bearer credential (RFC 6750). Session routes use the
 * same header for a session id; the two never meet, because an
 * administrative route takes no session id. When OPERATOR_TOKEN is unset the
 * administrative routes are refused (403): an unauthenticated cleanup or
 * export is never the default.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/prim.h"
#include "out/audit.h"
#include "server/server.h"

#define AUDIT_EXPORT_MAX (256u << 20)

int
server_operator_auth(struct server *srv, const struct http_request *req, const char *action,
    struct http_response *resp)
{
	const char *auth = http_header(req, "Authorization"), *tok = srv->cfg->operator_token;
	uint8_t want[PRIM_SHA256_BYTES], got[PRIM_SHA256_BYTES];
	bool ok;

	if (tok == NULL) {
		audit_event(srv->audit, "admin_denied", AUDIT_NAME("action", action), AUDIT_NAME("reason", "no_token_set"));
		http_error(resp, 403, "operator_token_unset", "administrative routes are disabled: set OPERATOR_TOKEN "
		    "on the daemon to enable them");
		return -1;
	}
	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
		audit_event(srv->audit, "admin_denied", AUDIT_NAME("action", action), AUDIT_NAME("reason", "missing"));
		http_error(resp, 401, "operator_token_required", "give the operator token as Authorization: Bearer <token>");
		return -1;
	}
	/* Hashing both sides first makes the comparison constant-time in the
	 * length too: the token's length is not revealed either. */
	prim_sha256(want, tok, strlen(tok));
	prim_sha256(got, auth + 7, strlen(auth + 7));
	ok = CRYPTO_memcmp(want, got, sizeof(want)) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	if (!ok) {
		audit_event(srv->audit, "admin_denied", AUDIT_NAME("action", action), AUDIT_NAME("reason", "wrong"));
		http_error(resp, 401, "operator_token_invalid", "the operator token is not valid");
		return -1;
	}
	return 0;
}

void
handle_audit_export(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	const char *e = NULL;
	size_t len;
	char *buf;

	if (server_operator_auth(srv, req, "audit_export", resp) != 0)
		return;
	/* Logged first, so the export contains the record of itself. */
	audit_event(srv->audit, "admin_action", AUDIT_NAME("action", "audit_export"));
	if ((buf = audit_read(srv->audit, AUDIT_EXPORT_MAX, &len, &e)) == NULL) {
		http_error(resp, 500, "audit_unavailable", "%s", e);
		return;
	}
	resp->status = 200;
	resp->raw = buf;
	resp->raw_len = len;
	resp->content_type = "application/x-ndjson";
}
