/*
 * Operations end to end: the real perfaggd polling the simulator (with
 * faults injected) and serving real traffic; then GET /metrics must parse as
 * Prometheus text, count that traffic, and carry no session id; GET
 * /openapi.json serves the document.
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
#include "../unit/promtext.h"
#include "client/httpc.h"
#include "harness.h"
#include "server/openapi.h"
#include "util/xalloc.h"

struct fetched {
	char *body;
	size_t len;
	char ctype[128];
	long status;
};

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct fetched *f = arg;

	f->body = xrealloc(f->body, f->len + sz * n + 1);
	memcpy(f->body + f->len, p, sz * n);
	f->len += sz * n;
	f->body[f->len] = '\0';
	return sz * n;
}

static void
fetch(const char *base, const char *path, struct fetched *f)
{
	CURL *c = curl_easy_init();
	char *url = xasprintf("%s%s", base, path);
	char *ct = NULL;

	memset(f, 0, sizeof(*f));
	f->body = xstrdup("");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	if (curl_easy_perform(c) != CURLE_OK)
		fail_msg("GET %s failed", url);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	snprintf(f->ctype, sizeof(f->ctype), "%s", ct != NULL ? ct : "");
	curl_easy_cleanup(c);
	free(url);
}

static json_t *
sim_account(const struct exsim_run *s)
{
	struct httpc_request req = { .method = "GET", .timeout_s = 60 };
	struct httpc_response resp;
	char err[256], *url = xasprintf("%s/exsim/accounts", s->url);
	json_t *acct = NULL, *a;
	size_t i;

	req.url = url;
	if (httpc_do(&req, &resp, err, sizeof(err)) != 0 || resp.status != 200)
		fail_msg("simulator accounts: %s", err);
	json_array_foreach(resp.json, i, a)
		if (acct == NULL && strcmp(json_string_value(json_object_get(a, "exchange")), "binance") == 0)
			acct = json_incref(a);
	assert_non_null(acct);
	httpc_response_clear(&resp);
	free(url);
	return acct;
}

static char *
register_account(const struct daemon *d, json_t *acct)
{
	char path[] = "/tmp/perfagg-ops-creds-XXXXXX", *text, *out = NULL, *err = NULL, *sid;
	json_t *creds = json_pack("{s:O, s:O}", "apiKey", json_object_get(acct, "api_key"), "secret",
	    json_object_get(acct, "secret")), *j;
	int fd = mkstemp(path), rc;

	text = json_dumps(creds, 0);
	assert_true(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	{
		const char *argv[] = { "perfagg", "register", "--url", d->url, "--exchange", "binance", "--account-type",
		    json_string_value(json_object_get(acct, "market")), "--allow-dev", "--credentials-file", path, "--json",
		    NULL };
		rc = harness_run(argv, NULL, NULL, &out, &err);
	}
	unlink(path);
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

static double
sample(const struct promtext *p, const char *name, const char *l1, const char *v1, const char *l2, const char *v2)
{
	double t = 0;
	bool any = false;

	for (size_t i = 0; i < p->n; i++) {
		const char *a, *b;
		if (strcmp(p->s[i].name, name) != 0)
			continue;
		if (l1 != NULL && ((a = promtext_label(&p->s[i], l1)) == NULL || strcmp(a, v1) != 0))
			continue;
		if (l2 != NULL && ((b = promtext_label(&p->s[i], l2)) == NULL || strcmp(b, v2) != 0))
			continue;
		t += p->s[i].value;
		any = true;
	}
	return any ? t : -1;
}

static bool
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void
test_metrics_after_traffic(void **state)
{
	const char *sim_args[] = { "--seed", "21", "--accounts", "1", "--fills", "400", "--fault-5xx", "0.2",
		"--fault-429", "0.1", NULL };
	struct exsim_run s;
	struct daemon d;
	struct fetched f;
	struct promtext p;
	char urls[512], path[160], data_env[96], data_dir[] = "/tmp/perfagg-ops-XXXXXX", *sid;
	json_t *acct, *j = NULL;
	bool done = false;
	double depth = -1;

	(void)state;
	exsim_run_start(&s, sim_args);
	snprintf(urls, sizeof(urls), "EXCHANGE_BASE_URLS=binance=%s", s.url);
	assert_non_null(mkdtemp(data_dir));
	snprintf(data_env, sizeof(data_env), "DATA_DIR=%s", data_dir);
	{
		/* The backend is down (nothing listens on port 1): the backfill's
		 * payload waits in the outbox, and /metrics shows it. */
		const char *env[] = { urls, "API_INTERVAL=1000", "RATE_LIMIT_MAX=100000", "LOG_LEVEL=warn", data_env,
			"AGGREGATOR_BACKEND_URL=http://127.0.0.1:1", "INGEST_INTERVAL=1000", NULL };
		harness_start(&d, env);
	}
	acct = sim_account(&s);
	sid = register_account(&d, acct);
	for (int i = 0; i < 600 && !done; i++) {
		json_decref(j);
		assert_int_equal(harness_http(&d, "GET", "/enclave/session", NULL, 0, NULL, sid, &j), 200);
		done = json_is_true(json_object_get(json_object_get(j, "collection"), "backfill_done"));
		if (!done)
			usleep(100000);
	}
	json_decref(j);
	assert_true(done);
	/* Traffic over every kind of route, with the id in the path too. */
	snprintf(path, sizeof(path), "/enclave/session/%s", sid);
	assert_int_equal(harness_http(&d, "GET", path, NULL, 0, NULL, NULL, NULL), 200);
	snprintf(path, sizeof(path), "/enclave/metrics/%s", sid);
	assert_int_equal(harness_http(&d, "GET", path, NULL, 0, NULL, NULL, NULL), 200);
	assert_int_equal(harness_http(&d, "GET", "/enclave/summary", NULL, 0, NULL, sid, NULL), 200);
	assert_int_equal(harness_http(&d, "GET", "/attestation/quote?nonce=00112233", NULL, 0, NULL, NULL, NULL), 200);
	snprintf(path, sizeof(path), "/no/such/%s", sid);
	assert_int_equal(harness_http(&d, "GET", path, NULL, 0, NULL, NULL, NULL), 404);
	snprintf(path, sizeof(path), "/health/%s", sid);
	assert_int_equal(harness_http(&d, "GET", path, NULL, 0, NULL, NULL, NULL), 404);
	assert_int_equal(harness_http(&d, "PUT", "/health", NULL, 0, NULL, NULL, NULL), 405);
	for (int i = 0; i < 5; i++)
		assert_int_equal(harness_http(&d, "GET", "/health", NULL, 0, NULL, NULL, NULL), 200);

	fetch(d.url, "/metrics", &f);
	assert_int_equal(f.status, 200);
	assert_non_null(strstr(f.ctype, "text/plain"));
	assert_non_null(strstr(f.ctype, "version=0.0.4"));
	if (promtext_parse(&p, f.body, f.len) != 0)
		fail_msg("/metrics does not parse: %s\n%s", p.err, f.body);
	/* The session id appears nowhere, nor does any 64-hex label value. */
	assert_null(strstr(f.body, sid));
	for (size_t i = 0; i < p.n; i++)
		for (size_t k = 0; k < p.s[i].nlabels; k++) {
			const char *v = p.s[i].lvalue[k];
			assert_false(strlen(v) >= 32 && all_hex(v, strlen(v)));
			assert_null(strstr(v, "/no/such"));
		}
	/* It counted the traffic, under route patterns. */
	assert_true(sample(&p, "perfagg_sessions", "state", "active", NULL, NULL) == 1);
	assert_true(sample(&p, "perfagg_polls_total", "exchange", "binance", "result", "ok") > 0);
	assert_true(sample(&p, "perfagg_poll_duration_seconds_count", "exchange", "binance", NULL, NULL) > 0);
	assert_true(sample(&p, "perfagg_exchange_errors_total", "exchange", "binance", NULL, NULL) > 0);
	assert_true(sample(&p, "perfagg_http_request_duration_seconds_count", "route", "/health", "code", "200") >= 5);
	assert_true(sample(&p, "perfagg_http_request_duration_seconds_count", "route", "/health", "code", "405") == 1);
	assert_true(sample(&p, "perfagg_http_request_duration_seconds_count", "route", "/enclave/session/{id}", "code",
	    "200") == 1);
	assert_true(sample(&p, "perfagg_http_request_duration_seconds_count", "route", "/enclave/session", "code",
	    "200") >= 1);
	assert_true(sample(&p, "perfagg_http_request_duration_seconds_count", "route", "/enclave/metrics/{id}", NULL,
	    NULL) == 1);
	assert_true(sample(&p, "perfagg_http_request_duration_seconds_count", "route", "/enclave/submit_key", "code",
	    "201") == 1);
	assert_true(sample(&p, "perfagg_http_request_duration_seconds_count", "route", "unmatched", "code", "404") == 2);
	assert_true(sample(&p, "perfagg_crypto_duration_seconds_count", "op", "envelope_open", NULL, NULL) == 1);
	assert_true(sample(&p, "perfagg_crypto_duration_seconds_count", "op", "quote", NULL, NULL) >= 2);
	assert_true(sample(&p, "perfagg_crypto_duration_seconds_count", "op", "sign", NULL, NULL) >= 2);
	assert_true(sample(&p, "perfagg_outbox_depth", NULL, NULL, NULL, NULL) >= 0);
	assert_true(sample(&p, "perfagg_uptime_seconds", NULL, NULL, NULL, NULL) > 0);
	assert_true(sample(&p, "process_resident_memory_bytes", NULL, NULL, NULL, NULL) > 1e6);
	promtext_free(&p);
	free(f.body);

	/* A second scrape sees the first one counted. */
	fetch(d.url, "/metrics", &f);
	assert_int_equal(promtext_parse(&p, f.body, f.len), 0);
	assert_true(sample(&p, "perfagg_http_request_duration_seconds_count", "route", "/metrics", "code", "200") == 1);
	promtext_free(&p);
	free(f.body);

	/* The outbox's held payloads reach the gauge. */
	for (int i = 0; i < 100 && depth < 1; i++) {
		fetch(d.url, "/metrics", &f);
		assert_int_equal(promtext_parse(&p, f.body, f.len), 0);
		depth = sample(&p, "perfagg_outbox_depth", NULL, NULL, NULL, NULL);
		promtext_free(&p);
		free(f.body);
		if (depth < 1)
			usleep(100000);
	}
	assert_true(depth >= 1);

	fetch(d.url, "/openapi.json", &f);
	assert_int_equal(f.status, 200);
	assert_non_null(strstr(f.ctype, "application/json"));
	assert_int_equal(f.len, openapi_json_len);
	assert_memory_equal(f.body, openapi_json, f.len);
	free(f.body);

	free(sid);
	json_decref(acct);
	assert_int_equal(harness_stop(&d), 0);
	exsim_run_stop(&s);
	{
		char *cmd = xasprintf("rm -rf '%s'", data_dir);
		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
}

/* /metrics is rate-limited like the other public routes (only /health is exempt). */
static void
test_metrics_rate_limited(void **state)
{
	struct daemon d;
	struct fetched f;
	long last = 0;

	(void)state;
	{
		const char *env[] = { "RATE_LIMIT_MAX=3", "LOG_LEVEL=warn", NULL };
		harness_start(&d, env);
	}
	for (int i = 0; i < 5; i++) {
		fetch(d.url, "/metrics", &f);
		last = f.status;
		free(f.body);
	}
	assert_int_equal(last, 429);
	assert_int_equal(harness_stop(&d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_after_traffic),
		cmocka_unit_test(test_metrics_rate_limited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
