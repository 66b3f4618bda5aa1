/*
 * The perfagg-exsim binary: start it, read its port line, talk HTTP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/fill.h"
#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"
#include "util/timeutil.h"

#define START "1767225600000"

struct sim {
	pid_t pid;
	int port;
};

static char *
bin_path(void)
{
	const char *dir = getenv("PERFAGG_BIN_DIR");
	char *p;

	assert_non_null(dir);
	assert_true(asprintf(&p, "%s/perfagg-exsim", dir) > 0);
	return p;
}

/* Forks the simulator with argv (argv[0] included); the child's stdout and
 * stderr go to out_fd and err_fd (-1: inherited). */
static pid_t
spawn(const char *const *argv, int out_fd, int err_fd)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char *bin = bin_path(), *v[48];
		size_t n;
		for (n = 0; argv[n] != NULL && n < 47; n++)
			v[n] = strdup(argv[n]);
		v[n] = NULL;
		if (out_fd >= 0)
			dup2(out_fd, 1);
		if (err_fd >= 0)
			dup2(err_fd, 2);
		execv(bin, v);
		_exit(127);
	}
	return pid;
}

/* Starts the simulator with args (NULL-terminated) and reads its port. */
static void
sim_start(struct sim *s, const char *const *args)
{
	const char *argv[40];
	char line[256];
	int fd[2];
	size_t n = 0;
	FILE *fp;
	json_t *o;

	argv[n++] = "perfagg-exsim";
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--start-ms";
	argv[n++] = START;
	argv[n++] = "--threads";
	argv[n++] = "2";
	for (; args != NULL && *args != NULL; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	assert_int_equal(pipe(fd), 0);
	s->pid = spawn(argv, fd[1], -1);
	close(fd[1]);
	fp = fdopen(fd[0], "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	o = json_loads(line, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "event")), "listening");
	s->port = (int)json_integer_value(json_object_get(o, "port"));
	assert_true(s->port > 0 && s->port < 65536);
	json_decref(o);
}

static int
sim_stop_sig(struct sim *s, int sig)
{
	int st;

	kill(s->pid, sig);
	assert_int_equal(waitpid(s->pid, &st, 0), s->pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
sim_stop(struct sim *s)
{
	assert_int_equal(sim_stop_sig(s, SIGTERM), 0);
}

struct resp {
	long status;
	char *body;
	size_t len;
	char retry_after[32];
	int64_t ms;
};

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct resp *r = arg;

	r->body = realloc(r->body, r->len + sz * n + 1);
	memcpy(r->body + r->len, p, sz * n);
	r->len += sz * n;
	r->body[r->len] = '\0';
	return sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct resp *r = arg;

	if (sz * n > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		sscanf(p + 12, " %31[0-9]", r->retry_after);
	return sz * n;
}

static void
get(const struct sim *s, const char *path, struct resp *r)
{
	CURL *c = curl_easy_init();
	char url[4096];
	int64_t t0 = time_mono_ms();

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	r->ms = time_mono_ms() - t0;
	if (r->body == NULL)
		r->body = calloc(1, 1);
}

static json_t *
get_json(const struct sim *s, const char *path, long status)
{
	struct resp r;
	json_t *o;

	get(s, path, &r);
	assert_int_equal(r.status, status);
	o = json_loadb(r.body, r.len, 0, NULL);
	assert_non_null(o);
	free(r.body);
	return o;
}

static char *
truth_path(const char *key)
{
	CURL *c = curl_easy_init();
	char *e = curl_easy_escape(c, key, 0), *p;

	assert_true(asprintf(&p, "/exsim/truth?api_key=%s", e) > 0);
	curl_free(e);
	curl_easy_cleanup(c);
	return p;
}

/* Accounts and ground truth: what perfagg analyze reads, equal to the
 * in-process generator for the same flags. */
static void
test_accounts_truth(void **state)
{
	static const char *const args[] = { "--seed", "7", "--accounts", "1", "--fills", "300", "--history-days",
		"20", NULL };
	struct sim s;
	struct exsim_config cfg;
	struct exsim w;
	const char *err = NULL;
	json_t *accts, *a;
	size_t i;

	(void)state;
	sim_start(&s, args);
	exsim_config_default(&cfg);
	cfg.seed = 7;
	cfg.accounts_per_exchange = 1;
	cfg.fills_per_account = 300;
	cfg.history_ms = 20LL * 86400000LL;
	cfg.start_ms = strtoll(START, NULL, 10);
	assert_int_equal(exsim_init(&w, &cfg, &err), 0);

	accts = get_json(&s, "/exsim/accounts", 200);
	assert_true(json_is_array(accts));
	assert_int_equal(json_array_size(accts), 6);
	json_array_foreach(accts, i, a) {
		const char *key = json_string_value(json_object_get(a, "api_key"));
		char *path = truth_path(key), *want;
		struct resp r;
		json_t *t, *fills, *o;
		int64_t prev_ts = INT64_MIN, t0, t1;
		char prev_id[FILL_ID_MAX] = "";
		size_t j;
		int line;

		assert_string_equal(key, w.accounts[i].api_key);
		assert_string_equal(json_string_value(json_object_get(a, "secret")), w.accounts[i].secret);
		assert_string_equal(json_string_value(json_object_get(a, "exchange")),
		    w.accounts[i].venue->name);
		assert_string_equal(json_string_value(json_object_get(a, "market")),
		    exsim_market_name(w.accounts[i].market));
		assert_true(json_is_boolean(json_object_get(a, "can_trade")));
		assert_true(json_is_boolean(json_object_get(a, "can_withdraw")));
		t0 = time_now_ms();
		get(&s, path, &r);
		t1 = time_now_ms();
		assert_int_equal(r.status, 200);
		/* byte for byte what the generator exports at the server's clock
		 * (funding accrues on a position left open: an 8-hour boundary may
		 * fall during the request), then the daily equity */
		{
			const char *de = strstr(r.body, ",\"daily_equity\":{");
			assert_non_null(de);
			want = exsim_truth_json(&w.accounts[i], t0);
			if ((size_t)(de - r.body) != strlen(want) - 1 || memcmp(r.body, want, strlen(want) - 1) != 0) {
				free(want);
				want = exsim_truth_json(&w.accounts[i], t1);
			}
			assert_int_equal((size_t)(de - r.body), strlen(want) - 1);
			assert_memory_equal(r.body, want, strlen(want) - 1);
		}
		free(want);
		t = fill_json_loads(r.body, r.len, &line, &err);
		assert_non_null(t);
		fills = json_object_get(t, "fills");
		assert_int_equal(json_array_size(fills),
		    (size_t)json_integer_value(json_object_get(a, "nfills")));
		assert_true(json_array_size(fills) > 250);
		json_array_foreach(fills, j, o) {
			struct fill f;
			const char *field = NULL;
			assert_int_equal(fill_from_json(&f, o, &field, &err), 0);
			assert_true(json_is_string(json_object_get(o, "price")));
			assert_true(json_is_string(json_object_get(o, "datetime")));
			assert_true(f.timestamp > prev_ts || (f.timestamp == prev_ts && strcmp(f.id, prev_id) > 0));
			prev_ts = f.timestamp;
			snprintf(prev_id, sizeof(prev_id), "%s", f.id);
		}
		assert_true(json_array_size(json_object_get(t, "flows")) >= 3);
		assert_true(json_object_size(json_object_get(t, "balances")) >= 1);
		json_decref(t);
		free(r.body);
		free(path);
	}
	json_decref(accts);
	exsim_free(&w);
	sim_stop(&s);
}

/* Unknown routes answer 404 with a JSON body; an unknown key too; the
 * query is decoded (Kraken keys hold '+' and '/'). */
static void
test_routes(void **state)
{
	static const char *const args[] = { "--accounts", "2", "--fills", "20", NULL };
	static const char *const paths[] = { "/nope", "/exsim/nope", "/exsim/truth?api_key=x", "/exsim/truth" };
	/* handlers may answer unknown paths of their family their own way: JSON 4xx */
	static const char *const fampaths[] = { "/api/v3/nope", "/0/private/Nope", "/derivatives/api/v3/nope",
		"/api/v3/brokerage/nope" };
	struct sim s;
	json_t *o, *accts, *a;
	struct resp r;
	size_t i;
	bool plus_seen = false;

	(void)state;
	sim_start(&s, args);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		json_decref(get_json(&s, paths[i], 404));
	for (i = 0; i < sizeof(fampaths) / sizeof(fampaths[0]); i++) {
		get(&s, fampaths[i], &r);
		assert_true(r.status >= 400 && r.status < 500);
		o = json_loadb(r.body, r.len, 0, NULL);
		assert_non_null(o);
		json_decref(o);
		free(r.body);
	}
	accts = get_json(&s, "/exsim/accounts", 200);
	json_array_foreach(accts, i, a) {
		const char *key = json_string_value(json_object_get(a, "api_key"));
		char *path = truth_path(key);
		json_decref(get_json(&s, path, 200));
		free(path);
		if (strchr(key, '+') != NULL && !plus_seen) {
			/* an unencoded '+' is a space in a query: not the key */
			char raw[256];
			snprintf(raw, sizeof(raw), "/exsim/truth?api_key=%s", key);
			get(&s, raw, &r);
			assert_int_equal(r.status, 404);
			free(r.body);
			plus_seen = true;
		}
	}
	json_decref(accts);
	assert_true(plus_seen);
	o = get_json(&s, "/exsim/stats", 200);
	assert_true(json_integer_value(json_object_get(o, "requests")) >= 10);
	assert_int_equal(json_integer_value(json_object_get(o, "faults")), 0);
	json_decref(o);
	sim_stop(&s);
}

struct family {
	const char *path;
	unsigned status_429;
	const char *body_5xx, *body_429;
};

static const struct family families[] = {
	{ "/api/v3/myTrades", 429, "\"code\":-1001", "\"code\":-1003" },
	{ "/fapi/v1/userTrades", 429, "\"code\":-1001", "\"code\":-1003" },
	{ "/api/v3/brokerage/orders/historical/fills", 429, "\"error\":\"INTERNAL\"", "\"error\":\"RATE_LIMIT_EXCEEDED\"" },
	{ "/0/private/TradesHistory", 200, "EService:Unavailable", "EAPI:Rate limit exceeded" },
	{ "/derivatives/api/v3/fills", 200, "\"error\":\"unavailable\"", "\"error\":\"apiLimitExceeded\"" },
};
#define NFAM (sizeof(families) / sizeof(families[0]))

static void
test_fault_5xx_429(void **state)
{
	static const char *const a5[] = { "--accounts", "1", "--fills", "10", "--fault-5xx", "1", NULL };
	static const char *const a429[] = { "--accounts", "1", "--fills", "10", "--fault-429", "1", NULL };
	struct sim s;
	struct resp r;
	json_t *o;

	(void)state;
	sim_start(&s, a5);
	for (size_t f = 0; f < NFAM; f++)
		for (int rep = 0; rep < 4; rep++) {
			get(&s, families[f].path, &r);
			assert_true(r.status == 500 || r.status == 502 || r.status == 503);
			assert_non_null(strstr(r.body, families[f].body_5xx));
			o = json_loadb(r.body, r.len, 0, NULL);
			assert_non_null(o);
			json_decref(o);
			free(r.body);
		}
	/* admin routes are never faulted */
	o = get_json(&s, "/exsim/stats", 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "by_fault"), "5xx")), 4 * NFAM);
	json_decref(o);
	sim_stop(&s);

	sim_start(&s, a429);
	for (size_t f = 0; f < NFAM; f++) {
		get(&s, families[f].path, &r);
		assert_int_equal(r.status, families[f].status_429);
		assert_non_null(strstr(r.body, families[f].body_429));
		if (f < 2)
			assert_string_equal(r.retry_after, "1");
		else
			assert_string_equal(r.retry_after, "");
		free(r.body);
	}
	sim_stop(&s);
}

static void
test_fault_body(void **state)
{
	static const char *const atr[] = { "--accounts", "1", "--fills", "10", "--fault-truncate", "1", NULL };
	static const char *const amal[] = { "--accounts", "1", "--fills", "10", "--fault-malformed", "1", NULL };
	static const char *const anone[] = { "--accounts", "1", "--fills", "10", NULL };
	struct sim s;
	struct resp r, full;
	json_t *o;

	(void)state;
	sim_start(&s, anone);
	get(&s, "/api/v3/nope", &full);
	assert_int_equal(full.status, 404);
	sim_stop(&s);

	sim_start(&s, atr);
	for (size_t f = 0; f < NFAM; f++) {
		get(&s, "/api/v3/nope", &r);
		assert_int_equal(r.status, 404);
		assert_true(r.len >= 1 && r.len < full.len);
		assert_memory_equal(r.body, full.body, r.len);
		o = json_loadb(r.body, r.len, 0, NULL);
		assert_null(o);
		free(r.body);
	}
	json_decref(get_json(&s, "/exsim/accounts", 200));
	sim_stop(&s);
	free(full.body);

	sim_start(&s, amal);
	for (size_t f = 0; f < NFAM; f++) {
		get(&s, families[f].path, &r);
		o = json_loadb(r.body, r.len, 0, NULL);
		assert_null(o);
		free(r.body);
	}
	sim_stop(&s);
}

static void
test_fault_timing(void **state)
{
	static const char *const ato[] = { "--accounts", "1", "--fills", "10", "--fault-timeout", "1", "--timeout-ms",
		"300", NULL };
	static const char *const alat[] = { "--accounts", "1", "--fills", "10", "--latency-ms", "150", NULL };
	struct sim s;
	struct resp r;

	(void)state;
	sim_start(&s, ato);
	get(&s, "/0/private/TradesHistory", &r);
	assert_int_equal(r.status, 504);
	assert_true(r.ms >= 300);
	free(r.body);
	get(&s, "/exsim/stats", &r);
	assert_true(r.ms < 300);
	free(r.body);
	sim_stop(&s);

	sim_start(&s, alat);
	get(&s, "/api/v3/nope", &r);
	assert_true(r.ms >= 150);
	free(r.body);
	sim_stop(&s);
}

static int
run(const char *const *args, char **out, char **err)
{
	const char *argv[16];
	int po[2], pe[2], st;
	size_t n = 0;
	pid_t pid;
	FILE *fo, *fe;
	char buf[8192];
	size_t k;

	argv[n++] = "perfagg-exsim";
	for (; *args != NULL; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	pid = spawn(argv, po[1], pe[1]);
	close(po[1]);
	close(pe[1]);
	fo = fdopen(po[0], "r");
	fe = fdopen(pe[0], "r");
	k = fread(buf, 1, sizeof(buf) - 1, fo);
	buf[k] = '\0';
	*out = strdup(buf);
	k = fread(buf, 1, sizeof(buf) - 1, fe);
	buf[k] = '\0';
	*err = strdup(buf);
	fclose(fo);
	fclose(fe);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
test_flags(void **state)
{
	static const char *const bad[][4] = {
		{ "--bogus", NULL }, { "--port", "70000", NULL }, { "--fault-5xx", "1.5", NULL },
		{ "--accounts", "0", NULL }, { "--fills", "x", NULL }, { "--seed", NULL }, { "extra", NULL },
		{ "--fault-429", "-0.1", NULL }, { "--threads", "0", NULL },
	};
	static const char *const help[] = { "--help", NULL };
	char *out, *err, path[] = "/tmp/exsim_accounts_XXXXXX";
	const char *exp[] = { "--accounts", "2", "--fills", "10", "--export-accounts", path, NULL };
	json_t *o;
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(run(bad[i], &out, &err), 2);
		assert_string_equal(out, "");
		/* one line */
		assert_true(strlen(err) > 10);
		assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1);
		free(out);
		free(err);
	}
	assert_int_equal(run(help, &out, &err), 0);
	assert_non_null(strstr(out, "--fault-overlap"));
	free(out);
	free(err);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(run(exp, &out, &err), 0);
	o = json_load_file(path, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_array_size(o), 12);
	json_decref(o);
	unlink(path);
	free(out);
	free(err);
}

static void
test_signals(void **state)
{
	static const char *const args[] = { "--accounts", "1", "--fills", "10", NULL };
	struct sim s;

	(void)state;
	sim_start(&s, args);
	json_decref(get_json(&s, "/exsim/stats", 200));
	assert_int_equal(sim_stop_sig(&s, SIGINT), 0);
	sim_start(&s, args);
	assert_int_equal(sim_stop_sig(&s, SIGTERM), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accounts_truth),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_fault_5xx_429),
		cmocka_unit_test(test_fault_body),
		cmocka_unit_test(test_fault_timing),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_signals),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
