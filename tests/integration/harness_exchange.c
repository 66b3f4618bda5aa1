#include "harness_exchange.h"

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
#include "util/xalloc.h"

json_t *
harness_sim_get(const struct exsim_run *s, const char *path)
{
	struct httpc_request req = { .method = "GET", .timeout_s = 120 };
	struct httpc_response resp;
	char err[256], *url = xasprintf("%s%s", s->url, path);
	json_t *j = NULL;

	req.url = url;
	if (httpc_do(&req, &resp, err, sizeof(err)) == 0 && resp.status == 200)
		j = json_incref(resp.json);
	if (j == NULL)
		fail_msg("simulator %s: %s", path, err);
	httpc_response_clear(&resp);
	free(url);
	return j;
}

char *
harness_write_tmp(const char *prefix, const char *text)
{
	char *path = xasprintf("/tmp/%s-%d-XXXXXX", prefix, (int)getpid());
	int fd = mkstemp(path);
	size_t n = strlen(text);

	if (fd < 0 || write(fd, text, n) != (ssize_t)n)
		fail_msg("cannot write %s", path);
	close(fd);
	return path;
}

/* Registers the account through `perfagg register`; returns the session id. */
char *
harness_register(const struct daemon *d, json_t *acct)
{
	const char *exchange = json_string_value(json_object_get(acct, "exchange"));
	const char *market = json_string_value(json_object_get(acct, "market"));
	json_t *creds = json_pack("{s:O, s:O}", "apiKey", json_object_get(acct, "api_key"), "secret",
	    json_object_get(acct, "secret"));
	char *text, *file, *out = NULL, *err = NULL, *sid;
	json_t *j;
	int rc;

	if (json_string_length(json_object_get(acct, "passphrase")) > 0)
		json_object_set(creds, "passphrase", json_object_get(acct, "passphrase"));
	text = json_dumps(creds, 0);
	file = harness_write_tmp("perfagg-creds", text);
	{
		const char *argv[] = { "perfagg", "register", "--url", d->url, "--exchange", exchange, "--account-type",
		    market, "--allow-dev", "--credentials-file", file, "--json", NULL };
		rc = harness_run(argv, NULL, NULL, &out, &err);
	}
	unlink(file);
	if (rc != 0)
		fail_msg("register %s/%s: %s", exchange, market, err);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	sid = xstrdup(json_string_value(json_object_get(j, "session_id")));
	json_decref(j);
	json_decref(creds);
	free(text);
	free(file);
	free(out);
	free(err);
	return sid;
}

/* Waits until the session is active and backfilled; returns its collection status. */
void
harness_wait_backfilled(const struct daemon *d, const char *sid, const char *what)
{
	json_t *j = NULL, *c;

	for (int i = 0; i < 1200; i++) {
		json_decref(j);
		assert_int_equal(harness_http(d, "GET", "/enclave/session", NULL, 0, NULL, sid, &j), 200);
		c = json_object_get(j, "collection");
		if (json_is_true(json_object_get(c, "backfill_done")) &&
		    json_object_get(c, "last_success") != NULL && !json_is_null(json_object_get(c, "last_success")))
			break;
		if (strcmp(json_string_value(json_object_get(j, "status")), "invalid_credentials") == 0 ||
		    strcmp(json_string_value(json_object_get(j, "status")), "failed") == 0) {
			char *s = json_dumps(j, 0);
			fail_msg("%s: %s", what, s);
		}
		usleep(100000);
	}
	c = json_object_get(j, "collection");
	if (!json_is_true(json_object_get(c, "backfill_done"))) {
		char *s = json_dumps(j, 0);
		fail_msg("%s: backfill not done in 120 s: %s", what, s);
	}
	assert_string_equal(json_string_value(json_object_get(j, "status")), "active");
	json_decref(j);
}
