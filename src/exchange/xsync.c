#include "exchange/xsync.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "exchange/transport.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

struct rbuf {
	char *body;
	size_t len;
	char *hdrs;	/* "name: value\n" lines */
	size_t hlen;
};

static size_t
on_body(char *p, size_t s, size_t n, void *arg)
{
	struct rbuf *b = arg;

	b->body = xrealloc(b->body, b->len + s * n + 1);
	memcpy(b->body + b->len, p, s * n);
	b->len += s * n;
	b->body[b->len] = '\0';
	return s * n;
}

static size_t
on_header(char *p, size_t s, size_t n, void *arg)
{
	struct rbuf *b = arg;

	b->hdrs = xrealloc(b->hdrs, b->hlen + s * n + 1);
	memcpy(b->hdrs + b->hlen, p, s * n);
	b->hlen += s * n;
	b->hdrs[b->hlen] = '\0';
	return s * n;
}

static const char *
find_header(const struct xresp *r, const char *name)
{
	static __thread char val[256];

	return xheaders_find(((const struct rbuf *)r->hdr_arg)->hdrs, name, val, sizeof(val));
}

static void
perform(const struct xreq *q, struct rbuf *b, long *status)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = transport_headers(q);

	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	if (q->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)q->body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "perfagg/" PERFAGG_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	*status = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	transport_headers_free(h);
	curl_easy_cleanup(c);
}

int
xsync_cycle(struct xconn *c, const struct credential *cred, const struct xsink *sink, unsigned max_retries,
    struct xsync_stats *st)
{
	struct xreq q;
	const char *err = NULL;
	unsigned tries = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	memset(&q, 0, sizeof(q));
	c->ops->begin(c, time_now_ms());
	for (;;) {
		struct rbuf b = { 0 };
		struct xresp r = { 0 };
		struct xoutcome o = { 0 };

		rc = c->ops->next(c, cred, time_now_ms(), &q, &err);
		if (rc == 0)
			break;
		if (rc < 0) {
			st->last = XR_FATAL;
			snprintf(st->error, sizeof(st->error), "%s", err != NULL ? err : "connector error");
			xreq_clear(&q);
			return -1;
		}
		perform(&q, &b, &r.status);
		st->requests++;
		if ((unsigned)q.part < XPART_COUNT)
			st->by_part[q.part]++;
		r.body = b.body != NULL ? b.body : "";
		r.body_len = b.len;
		r.now_ms = time_now_ms();
		r.header = find_header;
		r.hdr_arg = &b;
		c->ops->handle(c, &q, &r, sink, &o);
		free(b.body);
		free(b.hdrs);
		xreq_clear(&q);
		st->last = o.result;
		snprintf(st->error, sizeof(st->error), "%s", o.error);
		switch (o.result) {
		case XR_OK:
			tries = 0;
			continue;
		case XR_AUTH:
		case XR_FATAL:
			return -1;
		case XR_RATE_LIMITED:
			st->rate_limited++;
			usleep((useconds_t)((o.retry_after_ms > 0 ? (o.retry_after_ms > 5000 ? 5000 : o.retry_after_ms) : 200) * 1000));
			break;
		case XR_RETRY:
		case XR_CLOCK:
			usleep(20000);
			break;
		}
		/* The connector repeats the same step on the next next(). */
		if (++tries > max_retries)
			return -1;
		st->retries++;
	}
	st->last = XR_OK;
	st->error[0] = '\0';
	return 0;
}
