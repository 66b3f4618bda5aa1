/*
 * sim_helpers: starting the built simulator and comparing a connector's
 * output with its ground truth, for the *_sim tests. Include after
 * <cmocka.h>.
 */
#ifndef PERFAGG_TESTS_EXCHANGE_SIM_HELPERS_H
#define PERFAGG_TESTS_EXCHANGE_SIM_HELPERS_H

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fill.h"
#include "exchange/exchange.h"

#include "collect.h"
#include "exchange/xsync.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

struct simproc {
	pid_t pid;
	unsigned port;
	char base[64];
};

/* Starts perfagg-exsim with the extra arguments (NULL-terminated). */
static inline void
sim_start(struct simproc *s, const char *const *args)
{
	const char *bin = getenv("PERFAGG_BIN_DIR");
	char path[512], line[256];
	const char *argv[40];
	int fd[2];
	size_t n = 0;
	FILE *f;

	assert_non_null(bin);
	snprintf(path, sizeof(path), "%s/perfagg-exsim", bin);
	argv[n++] = path;
	argv[n++] = "--port";
	argv[n++] = "0";
	for (size_t i = 0; args[i] != NULL && n < 38; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(pipe(fd), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		/* dies with the test, even when an assertion ends it early */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execv(path, (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(sscanf(line, "{\"event\":\"listening\",\"port\":%u}", &s->port), 1);
	fclose(f);
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u", s->port);
}

static inline void
sim_stop(struct simproc *s)
{
	int st;

	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
}

static size_t
sim_on_body(char *p, size_t sz, size_t n, void *arg)
{
	char **b = arg;
	size_t have = *b != NULL ? strlen(*b) : 0;

	*b = xrealloc(*b, have + sz * n + 1);
	memcpy(*b + have, p, sz * n);
	(*b)[have + sz * n] = '\0';
	return sz * n;
}

/* GET base+path: the body (caller frees). */
static inline char *
sim_get(const struct simproc *s, const char *path)
{
	CURL *c = curl_easy_init();
	char *url = xasprintf("%s%s", s->base, path), *body = NULL;
	long st = 0;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sim_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	assert_int_equal(st, 200);
	curl_easy_cleanup(c);
	free(url);
	return body;
}

/* The first account of exchange/market: api_key and secret copied. */
static inline void
sim_account(const struct simproc *s, const char *exchange, const char *market, char *key, size_t kcap, char *secret,
    size_t scap)
{
	char *body = sim_get(s, "/exsim/accounts");
	json_t *arr = json_loads(body, 0, NULL), *a;
	size_t i;
	bool found = false;

	assert_non_null(arr);
	json_array_foreach(arr, i, a) {
		if (strcmp(json_string_value(json_object_get(a, "exchange")), exchange) == 0 &&
		    strcmp(json_string_value(json_object_get(a, "market")), market) == 0) {
			snprintf(key, kcap, "%s", json_string_value(json_object_get(a, "api_key")));
			snprintf(secret, scap, "%s", json_string_value(json_object_get(a, "secret")));
			found = true;
			break;
		}
	}
	assert_true(found);
	json_decref(arr);
	free(body);
}

/* The first account of exchange/market as a credential: key and secret
 * (the caller's buffers, which it points into) copied from the simulator. */
static inline void
sim_credential(const struct simproc *s, const char *exchange, const char *market, char key[160], char secret[512],
    struct credential *cred)
{
	sim_account(s, exchange, market, key, 160, secret, 512);
	memset(cred, 0, sizeof(*cred));
	cred->api_key = key;
	cred->api_key_len = strlen(key);
	cred->secret = secret;
	cred->secret_len = strlen(secret);
}

static inline bool
fill_same(const struct fill *a, const struct fill *b)
{
	struct dec ca, cb;
	if (strcmp(a->id, b->id) != 0 || strcmp(a->order, b->order) != 0 || a->timestamp != b->timestamp ||
	    strcmp(a->symbol, b->symbol) != 0 || a->side != b->side || dec_cmp(a->price, b->price) != 0 ||
	    dec_cmp(a->amount, b->amount) != 0 || a->role != b->role || a->market != b->market ||
	    a->nfees != b->nfees)
		return false;
	if (fill_cost(a, &ca) == -1 || fill_cost(b, &cb) == -1 || dec_cmp(ca, cb) != 0)
		return false;
	for (size_t i = 0; i < a->nfees; i++)
		if (strcmp(a->fees[i].currency, b->fees[i].currency) != 0 || dec_cmp(a->fees[i].cost, b->fees[i].cost) != 0)
			return false;
	return true;
}

static int
fill_cmp_id(const void *x, const void *y)
{
	return strcmp(((const struct fill *)x)->id, ((const struct fill *)y)->id);
}

/*
 * Compares what was collected with the truth now: no duplicate, every
 * collected fill is in the truth with every field equal, and every truth
 * fill at or before complete_ms was collected. Also the flows.
 */
static inline void
sim_check_truth(const struct simproc *s, const char *key, struct collected *c, int64_t complete_ms)
{
	char *ek = xurl_encode(key, strlen(key)), *path = xasprintf("/exsim/truth?api_key=%s", ek);
	char *body = sim_get(s, path);
	int line;
	const char *err, *field;
	json_t *j = fill_json_loads(body, strlen(body), &line, &err), *o;
	json_t *tf = json_object_get(j, "fills"), *fl = json_object_get(j, "flows");
	struct fill *truth;
	size_t nt = json_array_size(tf), i, ti = 0, matched = 0;

	assert_non_null(j);
	truth = xcalloc(nt + 1, sizeof(*truth));
	json_array_foreach(tf, i, o)
		assert_int_equal(fill_from_json(&truth[i], o, &field, &err), 0);
	qsort(truth, nt, sizeof(*truth), fill_cmp_id);
	qsort(c->fills, c->nfills, sizeof(*c->fills), fill_cmp_id);
	for (i = 0; i < c->nfills; i++) {
		if (i > 0)
			assert_string_not_equal(c->fills[i - 1].id, c->fills[i].id);	/* no duplicate */
		while (ti < nt && strcmp(truth[ti].id, c->fills[i].id) < 0) {
			assert_true(truth[ti].timestamp > complete_ms);	/* a gap otherwise */
			ti++;
		}
		assert_true(ti < nt);
		if (!fill_same(&truth[ti], &c->fills[i]))
			fail_msg("fill %s differs from the truth", c->fills[i].id);
		ti++;
		matched++;
	}
	for (; ti < nt; ti++)
		assert_true(truth[ti].timestamp > complete_ms);
	assert_true(matched > 0);
	/* flows: the same set, amounts exact */
	if (fl != NULL) {
		size_t nflow = 0;
		json_array_foreach(fl, i, o) {
			const char *id = json_string_value(json_object_get(o, "id"));
			struct dec amt;
			bool found = false;
			const json_t *av = json_object_get(o, "amount");
			assert_int_equal(dec_parse(json_string_value(av), json_string_length(av), &amt, &err), 0);
			for (size_t k = 0; k < c->nflows; k++)
				if (strcmp(c->flows[k].id, id) == 0) {
					assert_int_equal(dec_cmp(c->flows[k].amount, amt), 0);
					assert_string_equal(c->flows[k].cur, json_string_value(json_object_get(o, "currency")));
					found = true;
				}
			if (c->nflows > 0)
				assert_true(found);
			nflow++;
		}
		if (c->nflows > 0)
			assert_int_equal(nflow, c->nflows);
	}
	free(truth);
	json_decref(j);
	free(body);
	free(path);
	free(ek);
}

/* Backfill then incremental cycles of ops on the first account of
 * exchange/market, every cycle completing; the fills then equal the truth.
 * Spot sessions also fetch daily prices. */
static inline void
sim_run(const struct exchange_ops *ops, const char *exchange, enum fill_market market, const char *const *args,
    unsigned cycles, bool expect_rate_limit)
{
	struct simproc s;
	char key[160], secret[512];
	struct credential cred = { 0 };
	struct collected col = { 0 };
	struct xsink sink = col_sink(&col);
	struct xconf conf = { .market = market };
	struct xconn c;
	struct xsync_stats st;
	const char *err = NULL;
	int64_t complete = 0;
	unsigned limited = 0;

	sim_start(&s, args);
	sim_credential(&s, exchange, market == FILL_SPOT ? "spot" : market == FILL_MARGIN ? "margin" : "futures", key,
	    secret, &cred);
	conf.base_url = s.base;
	assert_int_equal(xconn_open(&c, ops, &conf, &err), 0);
	for (unsigned i = 0; i < cycles; i++) {
		int64_t begin = time_now_ms();
		if (xsync_cycle(&c, &cred, &sink, 60, &st) != 0)
			fail_msg("cycle %u: %s", i, st.error);
		limited += st.rate_limited;
		complete = begin;
		assert_true(c.validated);
		assert_true(c.backfill_done);
		if (i + 1 < cycles)
			usleep(300000);
	}
	assert_true(col.nperms >= 1);
	assert_true(col.nbalances > 0);
	if (market == FILL_SPOT)
		assert_true(col.nprices > 0);
	sim_check_truth(&s, key, &col, complete);
	if (expect_rate_limit)
		assert_true(limited > 0);
	/* a run with faults configured must have met some */
	for (size_t i = 0; args[i] != NULL; i++)
		if (strncmp(args[i], "--fault-", 8) == 0) {
			char *stats = sim_get(&s, "/exsim/stats");
			json_t *sj = json_loads(stats, 0, NULL);
			assert_true(json_integer_value(json_object_get(sj, "faults")) > 0);
			if (strcmp(args[i], "--fault-overlap") == 0)
				assert_true(json_integer_value(json_object_get(json_object_get(sj, "by_fault"), "overlap")) > 0);
			json_decref(sj);
			free(stats);
		}
	xconn_close(&c);
	sim_stop(&s);
	free(col.fills);
}

#endif
