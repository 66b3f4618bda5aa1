/*
 * transport: real HTTP on 127.0.0.1 against a libmicrohttpd server started
 * here. Requests arrive as built (method, URL, headers, body), responses come
 * back with their body and headers, an over-cap body fails its transfer, a
 * refused connection is a transport error, and handles are reused.
 * Nothing here depends on how fast the machine is: transfers get minutes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include <microhttpd.h>

#include "exchange/transport.h"
#include "util/xalloc.h"

#define CAP (1u << 20)		/* the tests' body cap: 1 MiB */
#define SLOW_OK_MS 120000	/* a transfer's timeout: never reached on a sane machine */

/* ---- the server: records what arrived, answers by path ---- */

struct upload {
	char *data;
	size_t len;
};

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char method[16];
	char url[256];
	char test[64];		/* X-Test */
	char key[2048];		/* X-Api-Key */
	char body[256];
	size_t body_len;
	unsigned count;
} seen;

static ssize_t
big_block(void *cls, uint64_t pos, char *buf, size_t max)
{
	uint64_t total = *(uint64_t *)cls;
	size_t n = total - pos < max ? (size_t)(total - pos) : max;

	memset(buf, 'x', n);
	return (ssize_t)n;
}

static enum MHD_Result
on_req(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *up, size_t *uplen, void **ctx)
{
	struct upload *u = *ctx;
	struct MHD_Response *r;
	const char *v;
	char *body;
	enum MHD_Result rc;

	if (u == NULL) {
		*ctx = xcalloc(1, sizeof(*u));
		return MHD_YES;
	}
	if (*uplen > 0) {
		u->data = xrealloc(u->data, u->len + *uplen);
		memcpy(u->data + u->len, up, *uplen);
		u->len += *uplen;
		*uplen = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&seen_mu);
	snprintf(seen.method, sizeof(seen.method), "%s", method);
	snprintf(seen.url, sizeof(seen.url), "%s", url);
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Test");
	snprintf(seen.test, sizeof(seen.test), "%s", v != NULL ? v : "");
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Api-Key");
	snprintf(seen.key, sizeof(seen.key), "%s", v != NULL ? v : "");
	snprintf(seen.body, sizeof(seen.body), "%.*s", (int)u->len, u->data != NULL ? u->data : "");
	seen.body_len = u->len;
	seen.count++;
	pthread_mutex_unlock(&seen_mu);
	if (strcmp(url, "/big") == 0) {
		/* ?n=bytes: a body of that many 'x', generated as sent */
		uint64_t *total = xmalloc(sizeof(*total));

		v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n");
		*total = v != NULL ? strtoull(v, NULL, 10) : 0;
		r = MHD_create_response_from_callback(*total, 64 * 1024, big_block, total, free);
	} else {
		/* the path back, then the method */
		body = xasprintf("%s %s", url, method);
		r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	}
	MHD_add_response_header(r, "X-Reply", "yes, indeed");
	rc = MHD_queue_response(c, strcmp(url, "/missing") == 0 ? 404 : 200, r);
	MHD_destroy_response(r);
	return rc;
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *ctx;

	if (u != NULL) {
		free(u->data);
		free(u);
		*ctx = NULL;
	}
}

struct fixture {
	struct MHD_Daemon *mhd;
	char base[64];
	struct transport *t;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct transport_config tc = { .timeout_ms = SLOW_OK_MS, .max_transfers = 8, .max_body = CAP };

	f->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_req, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
	if (f->mhd == NULL)
		return -1;
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u",
	    (unsigned)MHD_get_daemon_info(f->mhd, MHD_DAEMON_INFO_BIND_PORT)->port);
	if ((f->t = transport_new(&tc)) == NULL)
		return -1;
	memset(&seen, 0, sizeof(seen));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	transport_free(f->t);
	MHD_stop_daemon(f->mhd);
	free(f);
	return 0;
}

/* ---- the client side ---- */

struct result {
	struct transfer x;
	struct xreq req;
	bool done;
	CURLcode cc;
	long status;
	int64_t us;
};

/* Runs until every one of res[0..n) has finished (started by the caller). */
static void
run_all(struct transport *t, struct result *res, size_t n)
{
	struct transport_done d;
	size_t left = n;

	while (left > 0) {
		transport_perform(t);
		while (transport_finished(t, &d) == 0) {
			struct result *r = d.owner;

			assert_true(r >= res && r < res + n);
			assert_ptr_equal(d.x, &r->x);
			assert_false(r->done);
			r->done = true;
			r->cc = d.cc;
			r->status = d.status;
			r->us = d.total_us;
			left--;
		}
		if (left > 0)
			transport_wait(t, 1000);
	}
}

/* Performs one request on r and waits for it; the caller ends it. */
static void
run_one(struct transport *t, struct result *r)
{
	transport_start(t, &r->x, &r->req, r);
	assert_int_equal(transport_in_flight(t), 1);
	run_all(t, r, 1);
}

static void
done_with(struct transport *t, struct result *r)
{
	transport_end(t, &r->x);
	xreq_clear(&r->req);
}

static void
test_get(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 };
	const char *body;
	char val[64];
	size_t len;

	xreq_set(&r.req, "GET", f->base, "/fills", "from=3&limit=10");
	xreq_header(&r.req, "X-Test", "hello");
	run_one(f->t, &r);
	assert_int_equal(r.cc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_true(r.us >= 0);
	body = transport_body(&r.x, &len);
	assert_string_equal(body, "/fills GET");
	assert_int_equal(len, strlen("/fills GET"));
	/* header lookup is case-insensitive and trims the value */
	assert_non_null(transport_header(&r.x, "x-reply", val, sizeof(val)));
	assert_string_equal(val, "yes, indeed");
	assert_null(transport_header(&r.x, "X-Absent", val, sizeof(val)));
	pthread_mutex_lock(&seen_mu);
	assert_string_equal(seen.method, "GET");
	assert_string_equal(seen.url, "/fills");
	assert_string_equal(seen.test, "hello");
	assert_int_equal(seen.body_len, 0);
	pthread_mutex_unlock(&seen_mu);
	done_with(f->t, &r);
	assert_int_equal(transport_in_flight(f->t), 0);
}

static void
test_post(void **state)
{
	struct fixture *f = *state;
	static const char payload[] = "symbol=BTCUSDT&timestamp=1700000000000&signature=abc";
	struct result r = { 0 };
	size_t len;

	xreq_set(&r.req, "POST", f->base, "/orders", NULL);
	xreq_header(&r.req, "X-Api-Key", "k3y-value");
	xreq_header(&r.req, "X-Test", "posted");
	xreq_body(&r.req, payload, strlen(payload));
	run_one(f->t, &r);
	assert_int_equal(r.cc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(transport_body(&r.x, &len), "/orders POST");
	pthread_mutex_lock(&seen_mu);
	assert_string_equal(seen.method, "POST");
	assert_string_equal(seen.url, "/orders");
	assert_string_equal(seen.key, "k3y-value");
	assert_string_equal(seen.test, "posted");
	assert_int_equal(seen.body_len, strlen(payload));
	assert_string_equal(seen.body, payload);
	pthread_mutex_unlock(&seen_mu);
	done_with(f->t, &r);
}

/* A header longer than any fixed line buffer (a Coinbase JWT is ~700
 * bytes; 1,500 here) arrives whole. */
static void
test_long_header(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 };
	char v[1501];

	memset(v, 'j', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	xreq_set(&r.req, "GET", f->base, "/fills", NULL);
	xreq_header(&r.req, "X-Api-Key", v);
	run_one(f->t, &r);
	assert_int_equal(r.cc, CURLE_OK);
	pthread_mutex_lock(&seen_mu);
	assert_string_equal(seen.key, v);
	pthread_mutex_unlock(&seen_mu);
	done_with(f->t, &r);
}

/* An HTTP error is a finished transfer with its status, not a transport error. */
static void
test_http_status(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 };
	size_t len;

	xreq_set(&r.req, "GET", f->base, "/missing", NULL);
	run_one(f->t, &r);
	assert_int_equal(r.cc, CURLE_OK);
	assert_int_equal(r.status, 404);
	assert_string_equal(transport_body(&r.x, &len), "/missing GET");
	done_with(f->t, &r);
}

/* A body of the cap is kept whole; one byte more fails the transfer. */
static void
test_body_cap(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 };
	char q[32];
	const char *body;
	size_t len;

	snprintf(q, sizeof(q), "n=%u", CAP);
	xreq_set(&r.req, "GET", f->base, "/big", q);
	run_one(f->t, &r);
	assert_int_equal(r.cc, CURLE_OK);
	assert_int_equal(r.status, 200);
	body = transport_body(&r.x, &len);
	assert_int_equal(len, CAP);
	assert_int_equal(body[0], 'x');
	assert_int_equal(body[CAP - 1], 'x');
	assert_int_equal(body[CAP], '\0');
	done_with(f->t, &r);

	memset(&r, 0, sizeof(r));
	snprintf(q, sizeof(q), "n=%u", CAP + 1);
	xreq_set(&r.req, "GET", f->base, "/big", q);
	run_one(f->t, &r);
	assert_int_equal(r.cc, CURLE_WRITE_ERROR);
	assert_int_equal(r.status, 0);
	body = transport_body(&r.x, &len);
	assert_true(len <= CAP);
	done_with(f->t, &r);
	assert_int_equal(transport_in_flight(f->t), 0);
}

/* A bound socket that does not listen: connecting to it is refused. */
static void
test_refused(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	struct result r = { 0 };
	char base[64];
	size_t len;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	xreq_set(&r.req, "GET", base, "/fills", NULL);
	run_one(f->t, &r);
	assert_int_not_equal(r.cc, CURLE_OK);
	assert_int_equal(r.status, 0);
	assert_string_equal(transport_body(&r.x, &len), "");
	assert_int_equal(len, 0);
	done_with(f->t, &r);
	close(fd);
}

/* Only http and https are spoken. */
static void
test_other_protocols_refused(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 };

	xreq_set(&r.req, "GET", "file:///etc", "/passwd", NULL);
	run_one(f->t, &r);
	assert_int_equal(r.cc, CURLE_UNSUPPORTED_PROTOCOL);
	done_with(f->t, &r);
}

/*
 * Sequential transfers reuse the idle handle, reset: a GET after a POST
 * carries none of the POST's headers or body. Many in a row all work.
 */
static void
test_handles_reused(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 };
	CURL *first;
	char path[32], want[48];
	size_t len;

	xreq_set(&r.req, "POST", f->base, "/a", NULL);
	xreq_header(&r.req, "X-Test", "first");
	xreq_body(&r.req, "a=1", 3);
	run_one(f->t, &r);
	assert_int_equal(r.status, 200);
	first = r.x.easy;
	done_with(f->t, &r);
	assert_null(r.x.easy);

	memset(&r, 0, sizeof(r));
	xreq_set(&r.req, "GET", f->base, "/b", NULL);
	run_one(f->t, &r);
	assert_ptr_equal(r.x.easy, first);
	assert_int_equal(r.status, 200);
	pthread_mutex_lock(&seen_mu);
	assert_string_equal(seen.method, "GET");
	assert_string_equal(seen.test, "");
	assert_int_equal(seen.body_len, 0);
	pthread_mutex_unlock(&seen_mu);
	done_with(f->t, &r);

	for (int i = 0; i < 200; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(path, sizeof(path), "/n/%d", i);
		xreq_set(&r.req, i % 2 ? "POST" : "GET", f->base, path, NULL);
		if (i % 2)
			xreq_body(&r.req, "x", 1);
		run_one(f->t, &r);
		assert_int_equal(r.cc, CURLE_OK);
		assert_int_equal(r.status, 200);
		assert_ptr_equal(r.x.easy, first);
		snprintf(want, sizeof(want), "%s %s", path, i % 2 ? "POST" : "GET");
		assert_string_equal(transport_body(&r.x, &len), want);
		done_with(f->t, &r);
	}
}

/* More transfers at once than max_transfers (8): all finish, each with its
 * own response; the handles beyond the idle pool's size are freed. */
static void
test_concurrent(void **state)
{
	struct fixture *f = *state;
	struct result *res = xcalloc(20, sizeof(*res));
	char path[32], want[48];
	size_t len;

	for (int i = 0; i < 20; i++) {
		snprintf(path, sizeof(path), "/c/%d", i);
		xreq_set(&res[i].req, "GET", f->base, path, NULL);
		transport_start(f->t, &res[i].x, &res[i].req, &res[i]);
	}
	assert_int_equal(transport_in_flight(f->t), 20);
	run_all(f->t, res, 20);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(res[i].cc, CURLE_OK);
		assert_int_equal(res[i].status, 200);
		snprintf(want, sizeof(want), "/c/%d GET", i);
		assert_string_equal(transport_body(&res[i].x, &len), want);
		done_with(f->t, &res[i]);
	}
	assert_int_equal(transport_in_flight(f->t), 0);
	free(res);
}

/* Ending a transfer before it finished is allowed (a removed session). */
static void
test_end_unfinished(void **state)
{
	struct fixture *f = *state;
	struct result r = { 0 };

	xreq_set(&r.req, "GET", f->base, "/gone", NULL);
	transport_start(f->t, &r.x, &r.req, &r);
	transport_perform(f->t);
	done_with(f->t, &r);
	assert_int_equal(transport_in_flight(f->t), 0);
	/* and a transfer never started ends as a no-op */
	done_with(f->t, &r);
	assert_int_equal(transport_in_flight(f->t), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_protocols_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handles_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_unfinished, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
