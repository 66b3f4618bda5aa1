/* Credential intake and session routes. */
#include <openssl/crypto.h>
#include <string.h>

#include "core/envelope.h"
#include "core/hex.h"
#include "enclave/keys.h"
#include "enclave/replay.h"
#include "enclave/secret.h"
#include "enclave/session.h"
#include "exchange/exchange.h"
#include "exchange/poller.h"
#include "out/audit.h"
#include "server/server.h"
#include "util/log.h"
#include "util/timeutil.h"

#define USER_ID_MAX 128

static const char *const account_types[] = { "spot", "futures", "margin" };

static bool
in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* The single answer to every decryption or binding failure: which check
 * failed is not said, so the endpoint is no oracle. */
static void
reject_envelope(struct http_response *resp)
{
	http_error(resp, 422, "envelope_rejected", "the envelope could not be opened");
}

/* Checks metadata {exchange, label?, ttl?, ts}; sets *ttl_s and *ts_ms (the
 * client's time, required since protocol version 2, and fresh: replay.h).
 * Returns 0 or -1 with resp set. */
static int
check_metadata(struct server *srv, json_t *md, int64_t now_ms, int64_t *ttl_s, int64_t *ts_ms,
    struct http_response *resp)
{
	const char *key;
	json_t *v;

	*ttl_s = srv->cfg->default_session_ttl;
	json_object_foreach(md, key, v) {
		if (strcmp(key, "exchange") == 0) {
			if (!json_is_string(v) || exchange_find(json_string_value(v)) == NULL) {
				http_error(resp, 400, "invalid_metadata", "metadata.exchange must be one of %s",
				    exchange_names());
				return -1;
			}
		} else if (strcmp(key, "label") == 0) {
			if (!json_is_string(v) || json_string_length(v) == 0 ||
			    json_string_length(v) > SESSION_LABEL_MAX || strlen(json_string_value(v)) != json_string_length(v)) {
				http_error(resp, 400, "invalid_metadata", "metadata.label must be a string of 1 to %d bytes",
				    SESSION_LABEL_MAX);
				return -1;
			}
		} else if (strcmp(key, "ttl") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < srv->cfg->min_session_ttl ||
			    json_integer_value(v) > srv->cfg->max_session_ttl) {
				http_error(resp, 400, "invalid_ttl", "metadata.ttl must be an integer number of seconds in "
				    "[%lld, %lld]", (long long)srv->cfg->min_session_ttl, (long long)srv->cfg->max_session_ttl);
				return -1;
			}
			*ttl_s = json_integer_value(v);
		} else if (strcmp(key, "ts") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0) {
				http_error(resp, 400, "invalid_metadata", "metadata.ts must be the client's time, an "
				    "integer number of ms since the Unix epoch");
				return -1;
			}
			*ts_ms = json_integer_value(v);
		} else {
			http_error(resp, 400, "invalid_metadata", "unknown metadata member '%.40s'", key);
			return -1;
		}
	}
	if (json_object_get(md, "exchange") == NULL) {
		http_error(resp, 400, "invalid_metadata", "metadata.exchange is required");
		return -1;
	}
	if (json_object_get(md, "ts") == NULL) {
		http_error(resp, 400, "protocol_outdated", "metadata.ts (the client's time, ms since the Unix epoch) is "
		    "required since protocol version 2 (docs/PROTOCOL.md): update the client");
		return -1;
	}
	if (!replay_fresh(srv->replay, *ts_ms, now_ms)) {
		http_error(resp, 400, "stale_envelope", "metadata.ts is %lld s from the service's clock; envelopes are "
		    "accepted within %lld s of it: check the client's clock, or seal a new envelope",
		    (long long)((*ts_ms > now_ms ? *ts_ms - now_ms : now_ms - *ts_ms) / 1000),
		    (long long)(replay_window_ms(srv->replay) / 1000));
		return -1;
	}
	return 0;
}

/* The decrypted plaintext, validated. Strings point into the jansson
 * document (whose blocks are wiped when freed: util/jsonmem.h). */
struct plaintext {
	const char *user_id, *exchange, *account_type;
	const char *tier;	/* NULL: the exchange's default */
	struct credential cred;
	bool sandbox;
	char why[160];		/* a composed field message */
};

static int
get_string(const json_t *o, const char *name, bool required, size_t max, const char **out, size_t *len)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (v == NULL)
		return required ? -1 : 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	*out = json_string_value(v);
	if (len != NULL)
		*len = json_string_length(v);
	return 0;
}

/* Returns 0; -1 for a schema error (400, field named); -2 for a binding
 * failure (exchange differs from metadata: 422, generic). */
static int
check_plaintext(json_t *pt, const char *md_exchange, struct plaintext *out, const char **field)
{
	static const char *const allowed[] = { "userId", "exchange", "apiKey", "secret", "passphrase",
	    "accountType", "sandbox", "tier" };
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(pt)) {
		*field = "plaintext (not an object)";
		return -1;
	}
	json_object_foreach(pt, key, v) {
		if (!in_list(key, allowed, sizeof(allowed) / sizeof(allowed[0]))) {
			*field = "plaintext (unknown member)";
			return -1;
		}
	}
	if (get_string(pt, "exchange", true, 64, &out->exchange, NULL) != 0 || strcmp(out->exchange, md_exchange) != 0)
		return -2;
	if (get_string(pt, "userId", true, USER_ID_MAX, &out->user_id, NULL) != 0) {
		*field = "userId";
		return -1;
	}
	if (get_string(pt, "apiKey", true, VAULT_SLOT_BYTES, &out->cred.api_key, &out->cred.api_key_len) != 0) {
		*field = "apiKey";
		return -1;
	}
	if (get_string(pt, "secret", true, VAULT_SLOT_BYTES, &out->cred.secret, &out->cred.secret_len) != 0) {
		*field = "secret";
		return -1;
	}
	if (get_string(pt, "passphrase", false, VAULT_SLOT_BYTES, &out->cred.passphrase,
	    &out->cred.passphrase_len) != 0) {
		*field = "passphrase";
		return -1;
	}
	if (get_string(pt, "accountType", false, 16, &out->account_type, NULL) != 0 ||
	    (out->account_type != NULL && !in_list(out->account_type, account_types, 3))) {
		*field = "accountType (spot, futures or margin)";
		return -1;
	}
	if (out->account_type == NULL)
		out->account_type = "spot";
	{
		const struct exchange_ops *ops = exchange_find(md_exchange);
		int m = strcmp(out->account_type, "spot") == 0 ? FILL_SPOT :
		    strcmp(out->account_type, "margin") == 0 ? FILL_MARGIN : FILL_FUTURES;
		bool sb = json_is_true(json_object_get(pt, "sandbox"));
		if (ops == NULL || (sb ? ops->sandbox_url[m] : ops->prod_url[m]) == NULL) {
			*field = sb ? "accountType (no sandbox of this account type at this exchange)" :
			    "accountType (not offered by this exchange)";
			return -1;
		}
	}
	v = json_object_get(pt, "sandbox");
	if (v != NULL && !json_is_boolean(v)) {
		*field = "sandbox (a boolean)";
		return -1;
	}
	out->sandbox = v != NULL && json_is_true(v);
	/* The account's rate tier, named by the exchange's connector. */
	if (get_string(pt, "tier", false, SESSION_TIER_MAX, &out->tier, NULL) != 0) {
		*field = "tier (a non-empty string)";
		return -1;
	}
	if (out->tier != NULL) {
		const struct exchange_ops *ops = exchange_find(md_exchange);
		const char *err;
		unsigned t;
		if (exchange_tier(ops, out->tier, &t, &err) != 0) {
			size_t n = (size_t)snprintf(out->why, sizeof(out->why), "tier (%s: %s", md_exchange, err);
			for (size_t i = 0; ops->tiers != NULL && ops->tiers[i] != NULL && n < sizeof(out->why); i++)
				n += (size_t)snprintf(out->why + n, sizeof(out->why) - n, "%s%s", i == 0 ? "; one of " :
				    ", ", ops->tiers[i]);
			if (n < sizeof(out->why))
				snprintf(out->why + n, sizeof(out->why) - n, ")");
			*field = out->why;
			return -1;
		}
	}
	return 0;
}

void
handle_submit_key(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	struct envelope env = { 0 };
	struct secret *pt = NULL;
	struct plaintext p;
	struct session_params sp;
	struct session_info info;
	json_t *body = NULL, *doc = NULL;
	json_error_t jerr;
	const char *err = NULL, *md_exchange, *field = NULL;
	uint8_t id[SESSION_ID_BYTES], *ptb;
	char id_hex[SESSION_ID_HEX_LEN + 1], expires[TIME_ISO_LEN];
	uint32_t handle;
	bool stored = false;
	int64_t ttl_s, ts_ms = 0, now = time_now_ms();
	int rc;

	if (!http_is_json(req)) {
		http_error(resp, 415, "unsupported_media_type", "Content-Type must be application/json");
		return;
	}
	body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL) {
		http_error(resp, 400, "malformed_json", "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
		return;
	}
	if (envelope_from_json(&env, body, &err) != 0) {
		http_error(resp, 400, "invalid_envelope", "%s", err);
		goto out;
	}
	if (check_metadata(srv, env.metadata, now, &ttl_s, &ts_ms, resp) != 0)
		goto out;
	md_exchange = json_string_value(json_object_get(env.metadata, "exchange"));
	if ((rc = replay_seen(srv->replay, env.ephemeral_pub, now, &err)) != 0) {
		if (rc < 0) {
			http_error(resp, 503, "store_unavailable", "the state store failed; try again later");
			goto out;
		}
		http_error(resp, 409, "replayed_envelope", "this envelope was already submitted");
		log_event(LOG_WARN, "submit_key_replay", NULL);
		server_audit(srv, resp, "submit_key_rejected", AUDIT_NAME("reason", "replay"));
		goto out;
	}

	pt = secret_scratch();	/* envelope_from_json caps ciphertext_len at ENVELOPE_MAX_PLAINTEXT */
	ptb = secret_acquire(pt);
	if (keys_open_envelope(srv->keys, ptb, &env) != 0) {
		reject_envelope(resp);
		log_event(LOG_WARN, "submit_key_rejected", "{s:I}", "ciphertext_len", (json_int_t)env.ciphertext_len);
		server_audit(srv, resp, "submit_key_rejected", AUDIT_NAME("reason", "decrypt"),
		    AUDIT_INT("ciphertext_len", env.ciphertext_len));
		goto out;
	}
	doc = json_loadb((const char *)ptb, env.ciphertext_len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		reject_envelope(resp);
		log_event(LOG_WARN, "submit_key_rejected", "{s:s}", "reason", "plaintext");
		server_audit(srv, resp, "submit_key_rejected", AUDIT_NAME("reason", "plaintext"),
		    AUDIT_INT("ciphertext_len", env.ciphertext_len));
		goto out;
	}
	rc = check_plaintext(doc, md_exchange, &p, &field);
	if (rc == -2) {
		reject_envelope(resp);
		log_event(LOG_WARN, "submit_key_rejected", "{s:s}", "reason", "binding");
		server_audit(srv, resp, "submit_key_rejected", AUDIT_NAME("reason", "binding"),
		    AUDIT_INT("ciphertext_len", env.ciphertext_len));
		goto out;
	}
	if (rc != 0) {
		http_error(resp, 400, "invalid_credentials", "invalid or missing %s", field);
		goto out;
	}
	if (vault_put(srv->vault, &p.cred, &handle, &err) != 0) {
		http_error(resp, 400, "invalid_credentials", "%s", err);
		goto out;
	}
	stored = true;
	if ((rc = replay_claim(srv->replay, env.ephemeral_pub, ts_ms, now, &err)) != 1) {
		if (rc < 0)
			http_error(resp, 503, "store_unavailable", "the state store failed; try again later");
		else
			http_error(resp, 409, "replayed_envelope", "this envelope was already submitted");
		goto out;
	}
	sp = (struct session_params){ .exchange = md_exchange, .account_type = p.account_type,
	    .label = json_string_value(json_object_get(env.metadata, "label")), .user_id = p.user_id,
	    .sandbox = p.sandbox, .tier = p.tier, .ttl_s = ttl_s };
	if (session_create(srv->sessions, &sp, handle, now, id, &info, &err) != 0) {
		http_error(resp, 503, "capacity", "%s; try again later", err);
		goto out;
	}
	stored = false;	/* the session owns the credential now */
	if (poller_add(srv->poller, id, &info, &err) != 0) {
		session_revoke(srv->sessions, id, now);
		http_error(resp, 400, "invalid_credentials", "cannot collect from this account: %s", err);
		goto out;
	}
	hex_encode(id_hex, id, sizeof(id));
	time_format_iso_ms(expires, info.expires_ms);
	http_json(resp, 201, json_pack("{s:s, s:s, s:s}", "session_id", id_hex, "expires_at", expires,
	    "status", poll_state_name(POLL_VALIDATING)));
	log_event(LOG_INFO, "session_created", "{s:s, s:s, s:s, s:s, s:I, s:b, s:I, s:I, s:I}",
	    "sid", info.id_hash, "exchange", info.exchange, "account_type", info.account_type,
	    "user", info.user_hash, "ttl_s", (json_int_t)ttl_s, "sandbox", info.sandbox,
	    "api_key_len", (json_int_t)p.cred.api_key_len, "secret_len", (json_int_t)p.cred.secret_len,
	    "passphrase_len", (json_int_t)p.cred.passphrase_len);
	server_audit(srv, resp, "credential_submitted", AUDIT_NAME("exchange", info.exchange),
	    AUDIT_INT("api_key_len", p.cred.api_key_len), AUDIT_INT("secret_len", p.cred.secret_len),
	    AUDIT_INT("passphrase_len", p.cred.passphrase_len), AUDIT_INT("ciphertext_len", env.ciphertext_len));
	server_audit(srv, resp, "session_created", AUDIT_HASH("sid", info.id_hash), AUDIT_NAME("exchange", info.exchange),
	    AUDIT_NAME("account_type", info.account_type), AUDIT_HASH("user", info.user_hash),
	    AUDIT_INT("ttl_s", ttl_s), AUDIT_BOOL("sandbox", info.sandbox));
	OPENSSL_cleanse(id, sizeof(id));
	OPENSSL_cleanse(id_hex, sizeof(id_hex));
out:
	if (stored)
		vault_erase(srv->vault, handle);
	json_decref(doc);	/* its blocks are wiped as they are freed */
	if (pt != NULL) {
		OPENSSL_cleanse(ptb, env.ciphertext_len);
		secret_release(pt);
	}
	envelope_clear(&env);
	json_decref(body);
}

/*
 * The session id comes from the path (/enclave/session/<id>, as the seeds
 * have it) or from "Authorization: Bearer <id>", which keeps it out of URLs
 * and proxy logs. Both at once must agree. Returns 0, or -1 with resp set.
 */
int
server_session_id(const struct http_request *req, const char *prefix, uint8_t id[SESSION_ID_BYTES],
    struct http_response *resp)
{
	const char *path_id = NULL, *auth = http_header(req, "Authorization");
	uint8_t other[SESSION_ID_BYTES];
	size_t plen = strlen(prefix);
	bool have = false;

	if (req->path[plen] == '/') {
		path_id = req->path + plen + 1;
		if (session_id_parse(id, path_id, strlen(path_id)) != 0)
			goto bad;
		have = true;
	}
	if (auth != NULL) {
		if (strncmp(auth, "Bearer ", 7) != 0 || session_id_parse(have ? other : id, auth + 7, strlen(auth + 7)) != 0)
			goto bad;
		if (have && CRYPTO_memcmp(id, other, SESSION_ID_BYTES) != 0) {
			http_error(resp, 400, "invalid_session_id", "the path and the Authorization header name different sessions");
			return -1;
		}
		have = true;
	}
	if (!have) {
		http_error(resp, 401, "session_required", "give the session id in the path or as Authorization: Bearer <id>");
		return -1;
	}
	return 0;
bad:
	http_error(resp, 400, "invalid_session_id", "a session id is 64 hexadecimal characters");
	return -1;
}

static void
not_found(struct http_response *resp)
{
	http_error(resp, 404, "session_not_found", "no such session, or it has expired or been revoked");
}

struct status_arg {
	json_t *collection;
	const char *state;
};

static int
take_status(void *arg, const struct ledger *l, const struct poll_status *st)
{
	struct status_arg *a = arg;

	a->state = poll_state_name(st->state);
	a->collection = server_poll_status_json(st);
	return 0;
}

void
handle_session_get(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	struct session_info info;
	struct status_arg sa = { NULL, "active" };
	uint8_t id[SESSION_ID_BYTES];
	char created[TIME_ISO_LEN], expires[TIME_ISO_LEN];

	if (server_session_id(req, "/enclave/session", id, resp) != 0)
		return;
	if (session_lookup(srv->sessions, id, time_now_ms(), &info) != 0) {
		not_found(resp);
		return;
	}
	poller_view(srv->poller, id, take_status, &sa);
	time_format_iso_ms(created, info.created_ms);
	time_format_iso_ms(expires, info.expires_ms);
	http_json(resp, 200, json_pack("{s:s, s:s, s:s, s:s?, s:b, s:s?, s:s, s:s, s:o?}",
	    "status", sa.state, "exchange", info.exchange, "account_type", info.account_type,
	    "label", info.label[0] != '\0' ? info.label : NULL, "sandbox", info.sandbox,
	    "tier", info.tier[0] != '\0' ? info.tier : NULL,
	    "created_at", created, "expires_at", expires, "collection", sa.collection));
}

void
handle_session_delete(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	uint8_t id[SESSION_ID_BYTES];
	char hash[13];

	if (server_session_id(req, "/enclave/session", id, resp) != 0)
		return;
	log_short_hash(hash, id, sizeof(id));
	poller_remove(srv->poller, id);
	if (session_revoke(srv->sessions, id, time_now_ms()) != 0) {
		not_found(resp);
		return;
	}
	log_event(LOG_INFO, "session_revoked", "{s:s}", "sid", hash);
	server_audit(srv, resp, "session_revoked", AUDIT_HASH("sid", hash), AUDIT_NAME("trigger", "request"));
	http_json(resp, 200, json_pack("{s:s, s:s}", "status", "revoked", "message",
	    "session revoked; its credentials were wiped"));
}

/*
 * POST /enclave/session/{id} (or the id in Authorization), body optional
 * {"ttl": seconds}: the session's holder extends it to expire ttl seconds
 * from now (DEFAULT_SESSION_TTL when absent, within [MIN_SESSION_TTL,
 * MAX_SESSION_TTL] per renewal) without sending the key again; audited.
 */
void
handle_session_renew(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	uint8_t id[SESSION_ID_BYTES];
	char hash[13], expires[TIME_ISO_LEN];
	struct session_info info;
	int64_t ttl_s = srv->cfg->default_session_ttl;
	json_t *body = NULL, *v;
	json_error_t jerr;
	const char *err = NULL, *key;

	if (server_session_id(req, "/enclave/session", id, resp) != 0)
		return;
	if (req->body_len > 0) {
		if (!http_is_json(req)) {
			http_error(resp, 415, "unsupported_media_type", "Content-Type must be application/json");
			return;
		}
		if ((body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
			http_error(resp, 400, "malformed_json", "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
			return;
		}
		if (!json_is_object(body)) {
			http_error(resp, 400, "invalid_request", "the body must be an object {\"ttl\": seconds}");
			goto out;
		}
		json_object_foreach(body, key, v) {
			if (strcmp(key, "ttl") != 0) {
				http_error(resp, 400, "invalid_request", "unknown member '%.40s'", key);
				goto out;
			}
			if (!json_is_integer(v) || json_integer_value(v) < srv->cfg->min_session_ttl ||
			    json_integer_value(v) > srv->cfg->max_session_ttl) {
				http_error(resp, 400, "invalid_ttl", "ttl must be an integer number of seconds in [%lld, %lld]",
				    (long long)srv->cfg->min_session_ttl, (long long)srv->cfg->max_session_ttl);
				goto out;
			}
			ttl_s = json_integer_value(v);
		}
	}
	log_short_hash(hash, id, sizeof(id));
	if (session_renew(srv->sessions, id, time_now_ms(), ttl_s, &info, &err) != 0) {
		if (strcmp(err, "no such session") == 0)
			not_found(resp);
		else
			http_error(resp, 503, "store_unavailable", "the state store failed; the session is unchanged");
		goto out;
	}
	time_format_iso_ms(expires, info.expires_ms);
	log_event(LOG_INFO, "session_renewed", "{s:s, s:I}", "sid", hash, "ttl_s", (json_int_t)ttl_s);
	server_audit(srv, resp, "session_renewed", AUDIT_HASH("sid", hash), AUDIT_INT("ttl_s", ttl_s));
	http_json(resp, 200, json_pack("{s:s, s:s}", "status", "renewed", "expires_at", expires));
out:
	json_decref(body);
}

void
handle_cleanup(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	size_t n;

	if (server_operator_auth(srv, req, "cleanup", resp) != 0)
		return;
	n = session_cleanup(srv->sessions, time_now_ms());
	log_event(LOG_INFO, "sessions_cleaned", "{s:I, s:s}", "count", (json_int_t)n, "trigger", "request");
	server_audit(srv, resp, "admin_action", AUDIT_NAME("action", "cleanup"), AUDIT_INT("count", n));
	http_json(resp, 200, json_pack("{s:I}", "cleaned_sessions", (json_int_t)n));
}

_Static_assert(ENVELOPE_MAX_PLAINTEXT <= SECRET_SCRATCH_BYTES, "a decrypted envelope must fit the scratch buffer");
