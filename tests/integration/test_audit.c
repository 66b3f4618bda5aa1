/*
 * Integration: the audit trail of a real perfaggd. A session is registered
 * with `perfagg register` against the exchange simulator, collected, read,
 * revoked and cleaned up; the log verifies with `perfagg audit verify` and the
 * attestation document; a one-byte edit fails naming the line; no secret of
 * the credential appears; a restart continues the chain and a broken tail is
 * bridged by a chain_restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../unit/exchange/exsim_run.h"
#include "client/httpc.h"
#include "core/envelope.h"
#include "core/prim.h"
#include "harness.h"
#include "util/timeutil.h"
#include "util/file.h"
#include "util/xalloc.h"

#define LOG_MAX (64u << 20)

static char *
slurp(const char *path, size_t *len)
{
	const char *e = NULL;
	size_t n;
	char *s = (char *)file_read_all(path, LOG_MAX, &n, &e);

	if (s == NULL)
		fail_msg("%s: %s", path, e);
	if (len != NULL)
		*len = n;
	return s;
}

static void
spill(const char *path, const char *buf, size_t len)
{
	const char *e = NULL;

	if (file_write_atomic(path, buf, len, 0600, &e) != 0)
		fail_msg("%s: %s", path, e);
}

static json_t *
sim_accounts(const struct exsim_run *s)
{
	struct httpc_request req = { .method = "GET", .timeout_s = 60 };
	struct httpc_response resp;
	char err[256], *url = xasprintf("%s/exsim/accounts", s->url);
	json_t *j = NULL;

	req.url = url;
	if (httpc_do(&req, &resp, err, sizeof(err)) == 0 && resp.status == 200)
		j = json_incref(resp.json);
	if (j == NULL)
		fail_msg("simulator accounts: %s", err);
	httpc_response_clear(&resp);
	free(url);
	return j;
}

/* Saves the daemon's (nonce-less) attestation document to path. */
static void
save_quote(const struct daemon *d, const char *path)
{
	json_t *j = NULL;
	char *s;

	assert_int_equal(harness_http(d, "GET", "/attestation/quote", NULL, 0, NULL, NULL, &j), 200);
	s = json_dumps(j, JSON_COMPACT);
	spill(path, s, strlen(s));
	free(s);
	json_decref(j);
}

/* Runs perfagg audit verify with the attestation documents (NULL-terminated);
 * returns the exit code, output in *out and *err. */
static int
verify(const char *log, const char *const *quotes, char **out, char **err)
{
	const char *argv[16] = { "perfagg", "audit", "verify", log, "--allow-dev" };
	size_t n = 5;

	for (; *quotes != NULL && n < 14; quotes++) {
		argv[n++] = "--attestation";
		argv[n++] = *quotes;
	}
	argv[n] = NULL;
	return harness_run(argv, NULL, NULL, out, err);
}

static void
expect_verified(const char *log, const char *const *quotes)
{
	char *out, *err;
	int rc = verify(log, quotes, &out, &err);

	if (rc != 0)
		fail_msg("audit verify %s: %s", log, err);
	assert_non_null(strstr(out, "audit log verified"));
	free(out);
	free(err);
}

/* Registers the account; returns the session id (caller frees). */
static char *
register_account(const struct daemon *d, json_t *acct, const char *credfile)
{
	json_t *creds = json_pack("{s:O, s:O}", "apiKey", json_object_get(acct, "api_key"), "secret",
	    json_object_get(acct, "secret"));
	char *text = json_dumps(creds, 0), *out, *err, *sid;
	const char *argv[] = { "perfagg", "register", "--url", d->url, "--exchange", "binance", "--account-type",
	    json_string_value(json_object_get(acct, "market")), "--allow-dev", "--credentials-file", credfile,
	    "--user-id", "audit-user-7", "--json", NULL };
	json_t *j;
	int rc;

	spill(credfile, text, strlen(text));
	rc = harness_run(argv, NULL, NULL, &out, &err);
	unlink(credfile);
	if (rc != 0)
		fail_msg("register: %s", err);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	sid = xstrdup(json_string_value(json_object_get(j, "session_id")));
	json_decref(j);
	json_decref(creds);
	free(text);
	free(out);
	free(err);
	return sid;
}

static void
wait_active(const struct daemon *d, const char *sid)
{
	json_t *j = NULL;

	for (int i = 0; i < 600; i++) {
		json_decref(j);
		assert_int_equal(harness_http(d, "GET", "/enclave/session", NULL, 0, NULL, sid, &j), 200);
		if (strcmp(json_string_value(json_object_get(j, "status")), "active") == 0)
			break;
		usleep(100000);
	}
	assert_string_equal(json_string_value(json_object_get(j, "status")), "active");
	json_decref(j);
}

/* A well-formed envelope sealed to a key that is not the enclave's. */
static char *
undecryptable_body(void)
{
	uint8_t priv[32], pub[32];
	struct envelope env = { 0 };
	json_t *md = json_pack("{s:s, s:I}", "exchange", "binance", "ts", (json_int_t)time_now_ms()), *body;
	const char *e = NULL, *pt = "{\"userId\":\"x\",\"exchange\":\"binance\",\"apiKey\":\"a\",\"secret\":\"b\"}";
	char *s;

	assert_int_equal(prim_x25519_keygen(priv, pub), 0);
	assert_int_equal(envelope_seal(&env, pub, md, (const uint8_t *)pt, strlen(pt), &e), 0);
	body = envelope_to_json(&env);
	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	json_decref(md);
	envelope_clear(&env);
	return s;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
test_audit_trail(void **state)
{
	const char *sim_args[] = { "--seed", "21", "--accounts", "1", "--fills", "200", NULL };
	struct exsim_run s;
	struct daemon d;
	char urls[512], dir[] = "/tmp/perfagg-audit-XXXXXX", *log_path, *q1, *q2, *q3, *copy, *credfile, *buf, *out,
	    *err, *sid, *body, path[128];
	json_t *accounts, *acct = NULL, *j;
	size_t len;
	int rc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	log_path = xasprintf("%s/data/audit.jsonl", dir);	/* the directory is created by the daemon */
	q1 = xasprintf("%s/quote1.json", dir);
	q2 = xasprintf("%s/quote2.json", dir);
	q3 = xasprintf("%s/quote3.json", dir);
	const char *run1[] = { q1, NULL }, *run12[] = { q1, q2, NULL }, *run123[] = { q1, q2, q3, NULL },
	    *run23[] = { q2, q3, NULL };
	copy = xasprintf("%s/copy.jsonl", dir);
	credfile = xasprintf("%s/creds.json", dir);

	exsim_run_start(&s, sim_args);
	accounts = sim_accounts(&s);
	for (size_t i = 0; i < json_array_size(accounts); i++) {
		json_t *a = json_array_get(accounts, i);
		if (strcmp(json_string_value(json_object_get(a, "exchange")), "binance") == 0 &&
		    strcmp(json_string_value(json_object_get(a, "market")), "spot") == 0)
			acct = a;
	}
	assert_non_null(acct);
	snprintf(urls, sizeof(urls), "EXCHANGE_BASE_URLS=binance=%s", s.url);
	char audit_env[300];
	snprintf(audit_env, sizeof(audit_env), "AUDIT_LOG_PATH=%s", log_path);
	const char *env[] = { urls, audit_env, "AUDIT_CHECKPOINT_EVERY=4", "API_INTERVAL=1000", NULL };

	harness_start(&d, env);
	save_quote(&d, q1);
	sid = register_account(&d, acct, credfile);
	wait_active(&d, sid);
	assert_int_equal(harness_http(&d, "GET", "/enclave/metrics", NULL, 0, NULL, sid, &j), 200);
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", "/enclave/summary", NULL, 0, NULL, sid, &j), 200);
	json_decref(j);
	body = undecryptable_body();
	assert_int_equal(harness_http(&d, "POST", "/enclave/submit_key", body, strlen(body), NULL, NULL, &j), 422);
	json_decref(j);
	free(body);
	snprintf(path, sizeof(path), "/enclave/session/%s", sid);
	assert_int_equal(harness_http(&d, "DELETE", path, NULL, 0, NULL, NULL, &j), 200);
	json_decref(j);
	/* Administrative routes: no token, a wrong one, the right one. */
	assert_int_equal(harness_http(&d, "POST", "/enclave/cleanup", NULL, 0, NULL, NULL, &j), 401);
	json_decref(j);
	assert_int_equal(harness_http(&d, "POST", "/enclave/cleanup", NULL, 0, NULL, "not-the-operator-token", &j), 401);
	json_decref(j);
	assert_int_equal(harness_http(&d, "POST", "/enclave/cleanup", NULL, 0, NULL, HARNESS_OPERATOR_TOKEN, &j), 200);
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", "/enclave/audit", NULL, 0, NULL, "wrong-token-wrong-token", &j), 401);
	json_decref(j);
	{
		/* The export is the file as written so far (it is not JSON: harness_http gives no body). */
		struct httpc_request req = { .method = "GET", .bearer = HARNESS_OPERATOR_TOKEN };
		struct httpc_response resp;
		char e[256], *url = xasprintf("%s/enclave/audit", d.url);
		req.url = url;
		assert_int_equal(httpc_do(&req, &resp, e, sizeof(e)), 0);
		assert_int_equal(resp.status, 200);
		buf = slurp(log_path, &len);
		assert_true(resp.body_len > 0 && resp.body_len <= len);
		assert_memory_equal(resp.body, buf, resp.body_len);
		assert_int_equal(resp.body[resp.body_len - 1], '\n');
		assert_non_null(strstr(resp.body, "\"action\":\"audit_export\""));
		free(buf);
		httpc_response_clear(&resp);
		free(url);
	}
	assert_int_equal(harness_stop(&d), 0);

	buf = slurp(log_path, &len);
	/* Every event of the run is there, once where it happened once. */
	assert_int_equal(count(buf, "\"event\":\"config\""), 1);
	assert_int_equal(count(buf, "\"event\":\"credential_submitted\""), 1);
	assert_int_equal(count(buf, "\"event\":\"session_created\""), 1);
	assert_int_equal(count(buf, "\"event\":\"credential_used\""), 1);
	assert_non_null(strstr(buf, "\"result\":\"validated\""));
	assert_int_equal(count(buf, "\"event\":\"metrics_served\""), 2);
	assert_int_equal(count(buf, "\"event\":\"submit_key_rejected\""), 1);
	assert_int_equal(count(buf, "\"event\":\"session_revoked\""), 1);
	assert_int_equal(count(buf, "\"event\":\"admin_denied\""), 3);
	assert_int_equal(count(buf, "\"action\":\"cleanup\",\"count\":0,\"event\":\"admin_action\""), 1);
	assert_non_null(strstr(buf, "\"trigger\":\"shutdown\""));
	assert_true(count(buf, "\"event\":\"checkpoint\"") >= 3);
	assert_non_null(strstr(buf, "\"OPERATOR_TOKEN\":\"set\""));
	/* No secret: not the credential, not the session id, not the user id, not the token. */
	assert_null(strstr(buf, json_string_value(json_object_get(acct, "api_key"))));
	assert_null(strstr(buf, json_string_value(json_object_get(acct, "secret"))));
	assert_null(strstr(buf, sid));
	assert_null(strstr(buf, "audit-user-7"));
	assert_null(strstr(buf, HARNESS_OPERATOR_TOKEN));
	expect_verified(log_path, run1);

	/* One changed byte in line 3 (a digit of its timestamp): line 3 is named. */
	{
		char *l3 = buf;
		for (int i = 0; i < 2; i++)
			l3 = strchr(l3, '\n') + 1;
		char *ts = strstr(l3, "\"ts\":\"") + 6 + 3;	/* the year's last digit */
		*ts = *ts == '9' ? '8' : (char)(*ts + 1);
		spill(copy, buf, len);
		rc = verify(copy, run1, &out, &err);
		assert_int_equal(rc, 1);
		assert_non_null(strstr(err, "copy.jsonl:3: NOT verified"));
		free(out);
		free(err);
	}
	free(buf);

	/* A restart continues the chain; the new run signs with its own key. */
	harness_start(&d, env);
	save_quote(&d, q2);
	assert_int_equal(harness_http(&d, "POST", "/enclave/cleanup", NULL, 0, NULL, HARNESS_OPERATOR_TOKEN, &j), 200);
	json_decref(j);
	assert_int_equal(harness_stop(&d), 0);
	expect_verified(log_path, run12);
	rc = verify(log_path, run1, &out, &err);	/* the second run's key is needed */
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "not one of the keys given"));
	free(out);
	free(err);

	/* A partial last line (a crash mid-write) is kept, reported and bridged. */
	buf = slurp(log_path, &len);
	buf = xrealloc(buf, len + 32);
	memcpy(buf + len, "{\"action\":\"clea", 15);
	spill(log_path, buf, len + 15);
	free(buf);
	rc = verify(log_path, run12, &out, &err);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "partial last line"));
	free(out);
	free(err);
	harness_start(&d, env);
	save_quote(&d, q3);
	assert_int_equal(harness_stop(&d), 0);
	buf = slurp(log_path, &len);
	assert_non_null(strstr(buf, "{\"action\":\"clea\n"));
	assert_int_equal(count(buf, "\"event\":\"chain_restart\""), 1);
	free(buf);
	rc = verify(log_path, run123, &out, &err);
	if (rc != 0)
		fail_msg("after the restart: %s", err);
	assert_non_null(strstr(out, "chain restarts  1"));
	free(out);
	free(err);
	/* Without the first run's key, its first checkpoint is the failure. */
	rc = verify(log_path, run23, &out, &err);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "not one of the keys given"));
	free(out);
	free(err);

	json_decref(accounts);
	exsim_run_stop(&s);
	free(sid);
	free(log_path);
	free(q1);
	free(q2);
	free(q3);
	free(copy);
	free(credfile);
	{
		char *cmd = xasprintf("rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
}

/* Without OPERATOR_TOKEN the administrative routes are closed; a short token is refused. */
static void
test_operator_token_policy(void **state)
{
	const char *unset[] = { "OPERATOR_TOKEN=", NULL }, *shorter[] = { "OPERATOR_TOKEN=short", NULL };
	struct daemon d;
	json_t *j;
	char *log;

	(void)state;
	harness_start(&d, unset);
	assert_int_equal(harness_http(&d, "POST", "/enclave/cleanup", NULL, 0, NULL, HARNESS_OPERATOR_TOKEN, &j), 403);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
	    "operator_token_unset");
	json_decref(j);
	assert_int_equal(harness_http(&d, "GET", "/enclave/audit", NULL, 0, NULL, NULL, &j), 403);
	json_decref(j);
	assert_int_equal(harness_stop(&d), 0);
	log = slurp(d.audit_path, NULL);
	assert_int_equal(count(log, "\"reason\":\"no_token_set\""), 2);
	assert_non_null(strstr(log, "\"OPERATOR_TOKEN\":null"));
	free(log);
	unlink(d.audit_path);
	assert_int_equal(harness_start_fails(shorter, &log), 2);
	assert_non_null(strstr(log, "OPERATOR_TOKEN"));
	free(log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit_trail),
		cmocka_unit_test(test_operator_token_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
