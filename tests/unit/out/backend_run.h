/*
 * backend_run: a tiny ingest backend on 127.0.0.1 inside the test process
 * (libmicrohttpd), recording every POST /api/ingest it receives. It behaves
 * like an idempotent backend: the first body of a key is stored; the same
 * key with the same body again is answered 200, with another body 409 (and
 * counted as a conflict). Tests can make it answer another status, or hold
 * requests without answering. Header-only (static functions): each test is
 * its own executable. Include after <cmocka.h>.
 */
#ifndef PERFAGG_TESTS_BACKEND_RUN_H
#define PERFAGG_TESTS_BACKEND_RUN_H

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/xalloc.h"

#define BACKEND_MAX 4096

struct backend_req {
	char key[160];
	char *body;
	size_t len;
	unsigned status;		/* what was answered (0: held, then released or dropped) */
};

struct backend_run {
	struct MHD_Daemon *mhd;
	int port;
	char url[64];
	pthread_mutex_t mu;
	unsigned status;		/* answer for new keys: 200 by default */
	bool hold;			/* hold every request until released */
	bool drop;			/* release held requests without an answer */
	bool stopping;
	unsigned held_now;		/* requests waiting in a hold */
	struct backend_req reqs[BACKEND_MAX];
	size_t nreqs;
	size_t conflicts;
	size_t bad;			/* wrong method, path, headers */
};

struct backend_conn {
	char *buf;
	size_t len;
};

static enum MHD_Result
backend_answer(struct MHD_Connection *c, unsigned status)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret = MHD_queue_response(c, status, r);

	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
backend_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *data, size_t *data_size, void **con_cls)
{
	struct backend_run *b = cls;
	struct backend_conn *bc = *con_cls;
	const char *key, *ct;
	struct backend_req *rq;
	unsigned status;
	size_t i;

	if (bc == NULL) {
		*con_cls = xcalloc(1, sizeof(*bc));
		return MHD_YES;
	}
	if (*data_size > 0) {
		bc->buf = xrealloc(bc->buf, bc->len + *data_size + 1);
		memcpy(bc->buf + bc->len, data, *data_size);
		bc->len += *data_size;
		bc->buf[bc->len] = '\0';
		*data_size = 0;
		return MHD_YES;
	}
	key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	pthread_mutex_lock(&b->mu);
	if (strcmp(method, "POST") != 0 || strcmp(url, "/api/ingest") != 0 || key == NULL || ct == NULL ||
	    strcmp(ct, "application/json") != 0 || b->nreqs == BACKEND_MAX) {
		b->bad++;
		pthread_mutex_unlock(&b->mu);
		return backend_answer(c, 400);
	}
	rq = &b->reqs[b->nreqs++];
	snprintf(rq->key, sizeof(rq->key), "%s", key);
	rq->body = bc->buf != NULL ? bc->buf : xstrdup("");
	rq->len = bc->len;
	bc->buf = NULL;
	while (b->hold && !b->stopping) {
		b->held_now++;
		pthread_mutex_unlock(&b->mu);
		usleep(10000);
		pthread_mutex_lock(&b->mu);
		b->held_now--;
	}
	status = b->status;
	if (status >= 200 && status < 300) {
		/* Idempotent: compare with the first body stored under the key. */
		for (i = 0; i + 1 < b->nreqs; i++) {
			struct backend_req *o = &b->reqs[i];
			if (strcmp(o->key, rq->key) == 0 && o->status >= 200 && o->status < 300) {
				if (o->len != rq->len || memcmp(o->body, rq->body, rq->len) != 0) {
					status = 409;
					b->conflicts++;
				}
				break;
			}
		}
	}
	if (b->stopping || b->drop) {
		pthread_mutex_unlock(&b->mu);
		return MHD_NO;
	}
	rq->status = status;
	pthread_mutex_unlock(&b->mu);
	return backend_answer(c, status);
}

static void
backend_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct backend_conn *bc = *con_cls;

	if (bc != NULL) {
		free(bc->buf);
		free(bc);
		*con_cls = NULL;
	}
}

/* Starts listening on port (0: any free one). Fails the test on error. */
static inline void
backend_start(struct backend_run *b, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	const union MHD_DaemonInfo *info;

	if (b->mhd == NULL && b->port == 0) {
		memset(b, 0, sizeof(*b));
		pthread_mutex_init(&b->mu, NULL);
		b->status = 200;
	}
	b->stopping = false;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port,
	    NULL, NULL, backend_handler, b, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
	    backend_completed, b, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1U, MHD_OPTION_END);
	if (b->mhd == NULL)
		fail_msg("backend: cannot listen on 127.0.0.1:%d", port);
	info = MHD_get_daemon_info(b->mhd, MHD_DAEMON_INFO_BIND_PORT);
	b->port = info->port;
	snprintf(b->url, sizeof(b->url), "http://127.0.0.1:%d", b->port);
}

/* Stops listening (the port is refused until backend_start again); the
 * records stay. */
static inline void
backend_down(struct backend_run *b)
{
	pthread_mutex_lock(&b->mu);
	b->stopping = true;
	pthread_mutex_unlock(&b->mu);
	if (b->mhd != NULL)
		MHD_stop_daemon(b->mhd);
	b->mhd = NULL;
}

/* Stops and frees the records. */
static inline void
backend_stop(struct backend_run *b)
{
	backend_down(b);
	for (size_t i = 0; i < b->nreqs; i++)
		free(b->reqs[i].body);
	pthread_mutex_destroy(&b->mu);
	memset(b, 0, sizeof(*b));
}

static inline void
backend_set(struct backend_run *b, unsigned status, bool hold)
{
	pthread_mutex_lock(&b->mu);
	b->status = status;
	b->hold = hold;
	pthread_mutex_unlock(&b->mu);
}

/* Releases every held request without an answer (its status stays 0), as a
 * client that died would see, then answers status from now on. */
static inline void
backend_drop_held(struct backend_run *b, unsigned status)
{
	pthread_mutex_lock(&b->mu);
	b->drop = true;
	b->hold = false;
	while (b->held_now > 0) {
		pthread_mutex_unlock(&b->mu);
		usleep(10000);
		pthread_mutex_lock(&b->mu);
	}
	b->drop = false;
	b->status = status;
	pthread_mutex_unlock(&b->mu);
}

/* Requests received so far, and how many got status. */
static inline size_t
backend_count(struct backend_run *b, unsigned status)
{
	size_t n = 0;

	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < b->nreqs; i++)
		if (status == 0 || b->reqs[i].status == status)
			n++;
	pthread_mutex_unlock(&b->mu);
	return n;
}

static inline unsigned
backend_held(struct backend_run *b)
{
	unsigned n;

	pthread_mutex_lock(&b->mu);
	n = b->held_now;
	pthread_mutex_unlock(&b->mu);
	return n;
}

#endif
