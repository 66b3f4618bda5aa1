/* metrics: the exposition parses as Prometheus text and counts what was observed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>

#include "../promtext.h"
#include "out/metrics.h"

static void
scrape(struct promtext *p)
{
	size_t len;
	char *text = metrics_render(12.5, &len);

	assert_int_equal(strlen(text), len);
	if (promtext_parse(p, text, len) != 0)
		fail_msg("exposition does not parse: %s\n%s", p->err, text);
	free(text);
}

/* The value of the one sample of name with labels k1=v1[,k2=v2[,k3=v3]] (NULL ends). */
static double
value(const struct promtext *p, const char *name, ...)
{
	va_list ap;
	double found = -1;

	for (size_t i = 0; i < p->n; i++) {
		const char *k, *v, *have;
		bool match = strcmp(p->s[i].name, name) == 0;
		va_start(ap, name);
		while (match && (k = va_arg(ap, const char *)) != NULL) {
			v = va_arg(ap, const char *);
			match = (have = promtext_label(&p->s[i], k)) != NULL && strcmp(have, v) == 0;
		}
		va_end(ap);
		if (match) {
			assert_true(found < 0);	/* exactly one */
			found = p->s[i].value;
		}
	}
	return found;
}

static void
test_http_histogram(void **state)
{
	struct promtext p;
	const char *r = "/enclave/session/{id}";

	(void)state;
	metrics_http_observe(r, "GET", 200, 300000);		/* 0.3 ms */
	metrics_http_observe(r, "GET", 200, 2000000000);	/* 2 s */
	metrics_http_observe(r, "GET", 200, 20000000000);	/* 20 s: +Inf only */
	metrics_http_observe(r, "GET", 404, 1000);
	metrics_http_observe(NULL, "BREW", 404, 1000);
	scrape(&p);
	assert_true(value(&p, "perfagg_http_request_duration_seconds_bucket", "route", r, "code", "200", "le", "0.00025",
	    NULL) == 0);
	assert_true(value(&p, "perfagg_http_request_duration_seconds_bucket", "route", r, "code", "200", "le", "0.0005",
	    NULL) == 1);
	assert_true(value(&p, "perfagg_http_request_duration_seconds_bucket", "route", r, "code", "200", "le", "2.5",
	    NULL) == 2);
	assert_true(value(&p, "perfagg_http_request_duration_seconds_bucket", "route", r, "code", "200", "le", "10",
	    NULL) == 2);
	assert_true(value(&p, "perfagg_http_request_duration_seconds_bucket", "route", r, "code", "200", "le", "+Inf",
	    NULL) == 3);
	assert_true(value(&p, "perfagg_http_request_duration_seconds_count", "route", r, "method", "GET", "code", "200",
	    NULL) == 3);
	assert_true(fabs(value(&p, "perfagg_http_request_duration_seconds_sum", "route", r, "code", "200", NULL) -
	    22.0003) < 1e-9);
	assert_true(value(&p, "perfagg_http_request_duration_seconds_count", "route", r, "code", "404", NULL) == 1);
	/* A method not in the standard list is not echoed; no route is "unmatched". */
	assert_true(value(&p, "perfagg_http_request_duration_seconds_count", "route", "unmatched", "method", "other",
	    "code", "404", NULL) == 1);
	assert_null(strstr(p.s[0].name, "BREW"));
	for (size_t i = 0; i < p.n; i++)
		for (size_t k = 0; k < p.s[i].nlabels; k++)
			assert_null(strstr(p.s[i].lvalue[k], "BREW"));
	assert_true(value(&p, "perfagg_uptime_seconds", NULL) == 12.5);
	promtext_free(&p);
}

static void
test_polls_errors_crypto_gauges(void **state)
{
	struct promtext p;

	(void)state;
	metrics_poll_observe("binance", "ok", 40000000);
	metrics_poll_observe("binance", "ok", 60000000);
	metrics_poll_observe("binance", "retry", 1000000);
	metrics_exchange_error("binance", "503");
	metrics_exchange_error("binance", "503");
	metrics_exchange_error("coinbase", "timeout");
	metrics_crypto_observe(METRICS_CRYPTO_SIGN, 30000);
	metrics_crypto_observe(METRICS_CRYPTO_ENVELOPE_OPEN, 80000);
	metrics_crypto_observe(METRICS_CRYPTO_NOPS, 1);	/* ignored */
	metrics_outbox_depth_set(7);
	metrics_sessions_set("active", 3);
	metrics_sessions_set("failed", 1);
	metrics_sessions_set("active", 2);
	metrics_outbox_rows_set("failed", 4);
	metrics_outbox_failed_set(422, 3);
	metrics_outbox_failed_set(400, 1);
	metrics_outbox_failed_set(422, 2);
	scrape(&p);
	assert_true(value(&p, "perfagg_polls_total", "exchange", "binance", "result", "ok", NULL) == 2);
	assert_true(value(&p, "perfagg_polls_total", "exchange", "binance", "result", "retry", NULL) == 1);
	assert_true(value(&p, "perfagg_poll_duration_seconds_count", "exchange", "binance", NULL) == 3);
	assert_true(value(&p, "perfagg_poll_duration_seconds_bucket", "exchange", "binance", "le", "0.05", NULL) == 2);
	assert_true(value(&p, "perfagg_exchange_errors_total", "exchange", "binance", "code", "503", NULL) == 2);
	assert_true(value(&p, "perfagg_exchange_errors_total", "exchange", "coinbase", "code", "timeout", NULL) == 1);
	assert_true(value(&p, "perfagg_crypto_duration_seconds_count", "op", "sign", NULL) == 1);
	assert_true(value(&p, "perfagg_crypto_duration_seconds_bucket", "op", "envelope_open", "le", "0.00005", NULL) == 0);
	assert_true(value(&p, "perfagg_crypto_duration_seconds_bucket", "op", "envelope_open", "le", "0.0001", NULL) == 1);
	assert_true(value(&p, "perfagg_outbox_depth", NULL) == 7);
	assert_true(value(&p, "perfagg_sessions", "state", "active", NULL) == 2);
	assert_true(value(&p, "perfagg_sessions", "state", "failed", NULL) == 1);
	assert_true(value(&p, "perfagg_outbox_rows", "state", "failed", NULL) == 4);
	assert_true(value(&p, "perfagg_outbox_failed", "status", "422", NULL) == 2);
	assert_true(value(&p, "perfagg_outbox_failed", "status", "400", NULL) == 1);
	assert_true(value(&p, "process_resident_memory_bytes", NULL) > 0);
	assert_true(value(&p, "perfagg_build_info", "version", PERFAGG_VERSION, NULL) == 1);
	promtext_free(&p);
}

/* Label values are escaped as the format says, and read back unchanged. */
static void
test_escaping(void **state)
{
	struct promtext p;

	(void)state;
	metrics_exchange_error("we\"ird\\ex\nchange", "500");
	scrape(&p);
	assert_true(value(&p, "perfagg_exchange_errors_total", "exchange", "we\"ird\\ex\nchange", NULL) == 1);
	promtext_free(&p);
}

/* Label sets are bounded: the excess is counted under "overflow". */
static void
test_overflow(void **state)
{
	struct promtext p;
	char code[16];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < METRICS_MAX_SERIES + 100; i++) {
		snprintf(code, sizeof(code), "c%d", i);
		metrics_sessions_set(code, 1);
	}
	scrape(&p);
	for (size_t i = 0; i < p.n; i++)
		n += strcmp(p.s[i].name, "perfagg_sessions") == 0;
	assert_int_equal(n, METRICS_MAX_SERIES);
	assert_true(value(&p, "perfagg_sessions", "state", "overflow", NULL) == 1);
	promtext_free(&p);
}

static void *
hammer(void *arg)
{
	for (int i = 0; i < 100000; i++)
		metrics_http_observe("/hammer", "POST", 201, i % 3 == 0 ? 200000 : 20000000);
	return arg;
}

/* No observation is lost across threads; +Inf and _count stay equal. */
static void
test_concurrent(void **state)
{
	pthread_t t[4];
	struct promtext p;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	scrape(&p);
	assert_true(value(&p, "perfagg_http_request_duration_seconds_count", "route", "/hammer", NULL) == 400000);
	assert_true(value(&p, "perfagg_http_request_duration_seconds_bucket", "route", "/hammer", "le", "0.00025", NULL) ==
	    4 * 33334);
	promtext_free(&p);
}

/* The test's parser is strict: each of these must be refused. */
static void
test_parser_rejects(void **state)
{
	static const char *const good =
	    "# HELP h A histogram.\n# TYPE h histogram\n"
	    "h_bucket{a=\"x\",le=\"0.1\"} 1\nh_bucket{a=\"x\",le=\"+Inf\"} 2\nh_sum{a=\"x\"} 0.5\nh_count{a=\"x\"} 2\n"
	    "# TYPE c counter\nc{b=\"q\\\"\\\\\\n\"} 1e3\nc 7 1700000000000\n";
	static const char *const bad[] = {
		"# TYPE c counter\nc 1",				/* no final newline */
		"# TYPE c counter\n9c 1\n",				/* metric name */
		"# TYPE c counter\nc{1a=\"x\"} 1\n",			/* label name */
		"# TYPE c counter\nc{__a=\"x\"} 1\n",			/* reserved label name */
		"# TYPE c counter\nc{a=\"x\\t\"} 1\n",			/* escape */
		"# TYPE c counter\nc{a=\"x} 1\n",			/* unterminated value */
		"# TYPE c counter\nc{a=\"x\",a=\"y\"} 1\n",		/* repeated label */
		"# TYPE c counter\nc 1\nc 2\n",				/* duplicate series */
		"# TYPE c counter\nc one\n",				/* value */
		"# TYPE c counter\nc 0x10\n",				/* value */
		"# TYPE c counter\nc\n",				/* no value */
		"# TYPE c counter\nc 1 12a\n",				/* timestamp */
		"# TYPE c counter\n# TYPE c gauge\nc 1\n",		/* second TYPE */
		"# HELP c x\n# HELP c y\nc 1\n",			/* second HELP */
		"c 1\n# TYPE c counter\n",				/* TYPE after samples */
		"# TYPE c bogus\nc 1\n",				/* type */
		"# TYPE c counter\nc{a=\"1\"} 1\n# TYPE d gauge\nd 1\nc{a=\"2\"} 1\n",	/* two groups */
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",	/* no +Inf */
		"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",	/* count != +Inf */
		"# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",
		"# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
		"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",			/* no _sum */
		"# TYPE h histogram\nh 1\n",						/* bare sample */
		"# TYPE c counter\nc{le=\"1\"} 1\n",					/* le outside */
	};
	struct promtext p;

	(void)state;
	if (promtext_parse(&p, good, strlen(good)) != 0)
		fail_msg("good document refused: %s", p.err);
	assert_true(value(&p, "c", "b", "q\"\\\n", NULL) == 1000);
	promtext_free(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (promtext_parse(&p, bad[i], strlen(bad[i])) == 0)
			fail_msg("bad document %zu accepted:\n%s", i, bad[i]);
		promtext_free(&p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parser_rejects),
		cmocka_unit_test(test_http_histogram),
		cmocka_unit_test(test_polls_errors_crypto_gauges),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
