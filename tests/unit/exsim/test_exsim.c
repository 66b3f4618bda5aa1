/*
 * exsim_dispatch in process: admin routes, reproducible fault decisions,
 * response helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"

static const char *
no_header(const struct exsim_request *r, const char *name)
{
	return NULL;
}

static void
request(struct exsim *w, const char *method, const char *path, const struct exsim_param *p, size_t np,
    struct exsim_response *rs)
{
	struct exsim_request rq = { .method = method, .path = path, .query = "", .body = "", .header = no_header,
		.params = p, .nparams = np, .now_ms = w->start_ms + 1 };

	memset(rs, 0, sizeof(*rs));
	exsim_dispatch(w, &rq, rs);
}

static void
make(struct exsim *w, double p5, double ptr, uint64_t seed)
{
	struct exsim_config cfg;
	const char *err;

	exsim_config_default(&cfg);
	cfg.seed = seed;
	cfg.accounts_per_exchange = 1;
	cfg.fills_per_account = 30;
	cfg.start_ms = 1767225600000LL;
	cfg.faults.p_5xx = p5;
	cfg.faults.p_truncate = ptr;
	assert_int_equal(exsim_init(w, &cfg, &err), 0);
}

static void
test_admin(void **state)
{
	struct exsim w;
	struct exsim_response rs;
	struct exsim_param p = { "api_key", NULL };
	json_t *o;

	(void)state;
	make(&w, 1.0, 1.0, 1);	/* faults never touch admin routes */
	p.value = w.accounts[3].api_key;
	request(&w, "GET", "/exsim/truth", &p, 1, &rs);
	assert_int_equal(rs.status, 200);
	o = json_loadb(rs.body, rs.body_len, 0, NULL);
	assert_non_null(o);
	assert_true(json_array_size(json_object_get(o, "fills")) > 20);
	json_decref(o);
	free(rs.body);
	request(&w, "POST", "/exsim/accounts", NULL, 0, &rs);
	assert_int_equal(rs.status, 405);
	free(rs.body);
	request(&w, "GET", "/exsim/truth", NULL, 0, &rs);
	assert_int_equal(rs.status, 404);
	free(rs.body);
	exsim_free(&w);
}

/* The same seed makes the same fault decisions in the same request order. */
static void
test_fault_sequence(void **state)
{
	struct exsim w1, w2, w3;
	struct exsim_response r1, r2, r3;
	unsigned n5 = 0, differ = 0;

	(void)state;
	make(&w1, 0.5, 0.0, 9);
	make(&w2, 0.5, 0.0, 9);
	make(&w3, 0.5, 0.0, 10);
	for (int i = 0; i < 400; i++) {
		request(&w1, "GET", "/0/private/TradesHistory", NULL, 0, &r1);
		request(&w2, "GET", "/0/private/TradesHistory", NULL, 0, &r2);
		request(&w3, "GET", "/0/private/TradesHistory", NULL, 0, &r3);
		assert_int_equal(r1.status, r2.status);
		assert_string_equal(r1.body, r2.body);
		n5 += r1.status >= 500;
		differ += (r1.status >= 500) != (r3.status >= 500);
		free(r1.body);
		free(r2.body);
		free(r3.body);
	}
	assert_true(n5 > 140 && n5 < 260);
	assert_true(differ > 100);
	assert_int_equal(w1.stats_faults, n5);
	assert_int_equal(w1.stats_requests, 400);
	exsim_free(&w1);
	exsim_free(&w2);
	exsim_free(&w3);
}

static void
test_truncate_inside(void **state)
{
	struct exsim w, w0;
	struct exsim_response rs, r0;
	const char *full;

	(void)state;
	/* whatever the handlers answer, a truncated body is a strict prefix */
	make(&w0, 0.0, 0.0, 3);
	request(&w0, "GET", "/fapi/v1/nope", NULL, 0, &r0);
	full = r0.body;
	make(&w, 0.0, 1.0, 3);
	for (int i = 0; i < 200; i++) {
		request(&w, "GET", "/fapi/v1/nope", NULL, 0, &rs);
		assert_true(rs.body_len >= 1 && rs.body_len < strlen(full));
		assert_memory_equal(rs.body, full, rs.body_len);
		assert_int_equal(strlen(rs.body), rs.body_len);
		free(rs.body);
	}
	/* a path of no exchange family is never faulted */
	request(&w, "GET", "/other", NULL, 0, &rs);
	assert_string_equal(rs.body, "{\"error\":\"not found\"}");
	free(rs.body);
	free(r0.body);
	exsim_free(&w);
	exsim_free(&w0);
}

static void
test_helpers(void **state)
{
	struct exsim_response rs = { 0 };
	struct exsim_param p[] = { { "a", "1" }, { "b", "2" }, { "a", "3" } };
	struct exsim_request rq = { .params = p, .nparams = 3 };

	(void)state;
	exsim_json(&rs, 418, "{\"x\":%d}", 5);
	assert_int_equal(rs.status, 418);
	assert_string_equal(rs.body, "{\"x\":5}");
	assert_int_equal(rs.body_len, 7);
	exsim_body(&rs, 200, strdup("ok"), 2);	/* frees the previous body */
	assert_string_equal(rs.body, "ok");
	exsim_header(&rs, "Retry-After", "%d", 7);
	exsim_header(&rs, "X-MBX-USED-WEIGHT-1M", "%u", 20u);
	assert_int_equal(rs.nheaders, 2);
	assert_string_equal(rs.headers[1].value, "20");
	free(rs.body);
	assert_string_equal(exsim_request_param(&rq, "a"), "1");
	assert_string_equal(exsim_request_param(&rq, "b"), "2");
	assert_null(exsim_request_param(&rq, "c"));
	assert_string_equal(exsim_venue_find("krakenfutures")->name, "krakenfutures");
	assert_null(exsim_venue_find("nope"));
	assert_string_equal(exsim_market_name(FILL_MARGIN), "margin");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_fault_sequence),
		cmocka_unit_test(test_truncate_inside),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
