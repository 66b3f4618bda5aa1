/*
 * Administrative routes: the operator token check, the audit export and the
 * outbox's failed rows (list, re-queue).
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
#include "out/outbox.h"
#include "server/server.h"
#include "util/xalloc.h"

#define AUDIT_EXPORT_MAX (256u << 20)
#define OUTBOX_LIST_MAX 1000		/* failed rows per GET /admin/outbox/failed */
#define OUTBOX_REQUEUE_KEYS_MAX 10000	/* keys per POST /admin/outbox/requeue */

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

/* The outbox, or NULL with resp set: without a backend there is none. */
static struct outbox *
admin_outbox(struct server *srv, struct http_response *resp)
{
	if (srv->outbox == NULL)
		http_error(resp, 409, "ingest_disabled", "there is no outbox: set AGGREGATOR_BACKEND_URL to enable "
		    "ingest");
	return srv->outbox;
}

void
handle_outbox_failed(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	struct outbox *ob;
	const char *e = NULL;
	json_t *rows;
	bool more;

	if (server_operator_auth(srv, req, "outbox_failed", resp) != 0 || (ob = admin_outbox(srv, resp)) == NULL)
		return;
	if ((rows = outbox_failed(ob, OUTBOX_LIST_MAX, &more, &e)) == NULL) {
		http_error(resp, 500, "outbox_unavailable", "%s", e);
		return;
	}
	server_audit(srv, resp, "admin_action", AUDIT_NAME("action", "outbox_failed"),
	    AUDIT_INT("count", json_array_size(rows)));
	http_json(resp, 200, json_pack("{s:o, s:b}", "failed", rows, "more", more));
}

/*
 * Parses the optional body {"keys": [...]}: *keys is NULL for "every failed
 * row" (no body, or no "keys"), else an array of nkeys strings borrowed from
 * *body (caller frees the array and decrefs *body). Returns 0, or -1 with
 * resp set.
 */
static int
requeue_keys(const struct http_request *req, json_t **body, const char ***keys, size_t *nkeys,
    struct http_response *resp)
{
	json_error_t jerr;
	json_t *arr, *v;
	size_t i;

	*body = NULL;
	*keys = NULL;
	*nkeys = 0;
	if (req->body_len == 0)
		return 0;
	if (!http_is_json(req)) {
		http_error(resp, 415, "unsupported_media_type", "Content-Type must be application/json");
		return -1;
	}
	if ((*body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		http_error(resp, 400, "malformed_json", "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		return -1;
	}
	arr = json_object_get(*body, "keys");
	if (!json_is_object(*body) || json_object_size(*body) != (arr != NULL ? 1 : 0) ||
	    (arr != NULL && !json_is_array(arr))) {
		http_error(resp, 400, "invalid_request", "the body is {\"keys\": [idempotency keys]}, or empty for "
		    "every failed row");
		return -1;
	}
	if (arr == NULL)
		return 0;
	if (json_array_size(arr) > OUTBOX_REQUEUE_KEYS_MAX) {
		http_error(resp, 400, "too_many_keys", "at most %d keys per request", OUTBOX_REQUEUE_KEYS_MAX);
		return -1;
	}
	*keys = xcalloc(json_array_size(arr) + 1, sizeof(**keys));
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v)) {
			http_error(resp, 400, "invalid_request", "keys[%zu] is not a string", i);
			return -1;
		}
		(*keys)[(*nkeys)++] = json_string_value(v);
	}
	return 0;
}

void
handle_outbox_requeue(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	struct outbox *ob;
	const char **keys = NULL, *e = NULL;
	json_t *body = NULL;
	size_t nkeys;
	int64_t n;

	if (server_operator_auth(srv, req, "outbox_requeue", resp) != 0 || (ob = admin_outbox(srv, resp)) == NULL)
		return;
	if (requeue_keys(req, &body, &keys, &nkeys, resp) != 0)
		goto out;
	if ((n = outbox_requeue(ob, keys, nkeys, &e)) < 0) {
		http_error(resp, 500, "outbox_unavailable", "%s", e);
		goto out;
	}
	server_audit(srv, resp, "admin_action", AUDIT_NAME("action", "outbox_requeue"), AUDIT_INT("count", n));
	http_json(resp, 200, json_pack("{s:I}", "requeued", (json_int_t)n));
out:
	free(keys);
	json_decref(body);
}
