/*
 * transport: libcurl multi transfers with reused easy handles, and the
 * response buffers they fill.
 */
#include "exchange/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/log.h"
#include "util/xalloc.h"

struct transport {
	CURLM *multi;
	int64_t timeout_ms;
	unsigned max_transfers;
	char *ca_bundle;		/* NULL: the system's */
	size_t max_body;
	unsigned in_flight;
	CURL **idle;			/* easy handles to reuse (curl_easy_reset) */
	size_t nidle;
};

struct transport *
transport_new(const struct transport_config *cfg)
{
	struct transport *t = xcalloc(1, sizeof(*t));

	t->timeout_ms = cfg->timeout_ms;
	t->max_transfers = cfg->max_transfers != 0 ? cfg->max_transfers : 512;
	t->ca_bundle = cfg->ca_bundle != NULL ? xstrdup(cfg->ca_bundle) : NULL;
	t->max_body = cfg->max_body != 0 ? cfg->max_body : TRANSPORT_MAX_BODY;
	t->idle = xcalloc(t->max_transfers, sizeof(*t->idle));
	if ((t->multi = curl_multi_init()) == NULL)
		goto fail;
	/* Every transfer started gets a connection at once. A request is
	 * signed when it is started; one left waiting in libcurl's queue for a
	 * connection to its host can reach the exchange after its timestamp
	 * expired (Binance -1021 under a burst). max_transfers is the cap; the
	 * rate budgets pace what each exchange sees. Idle connections are kept
	 * for reuse up to the same number. */
	curl_multi_setopt(t->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)t->max_transfers);
	curl_multi_setopt(t->multi, CURLMOPT_MAXCONNECTS, (long)t->max_transfers);
	return t;
fail:
	transport_free(t);
	return NULL;
}

void
transport_free(struct transport *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->nidle; i++)
		curl_easy_cleanup(t->idle[i]);
	free(t->idle);
	if (t->multi != NULL)
		curl_multi_cleanup(t->multi);
	free(t->ca_bundle);
	free(t);
}

/* Appends (p, n) to the NUL-terminated *buf of *len bytes. */
static void
append(char **buf, size_t *len, const char *p, size_t n)
{
	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static size_t
on_body(char *ptr, size_t s, size_t n, void *arg)
{
	struct transfer *x = arg;
	size_t len = s * n;

	/* Returning less than len fails the transfer (CURLE_WRITE_ERROR). */
	if (x->body_len + len > x->body_cap)
		return 0;
	append(&x->body, &x->body_len, ptr, len);
	return len;
}

static size_t
on_header(char *ptr, size_t s, size_t n, void *arg)
{
	struct transfer *x = arg;
	size_t len = s * n;

	/* Past the cap, header lines are dropped but the transfer goes on:
	 * the body is the answer, and a dropped header is looked up as absent. */
	if (x->rhdrs_len + len <= TRANSPORT_MAX_HEADERS)
		append(&x->rhdrs, &x->rhdrs_len, ptr, len);
	return len;
}

struct curl_slist *
transport_headers(const struct xreq *req)
{
	struct curl_slist *l = NULL, *n;

	for (size_t i = 0; i < req->nheaders; i++) {
		size_t len = strlen(req->headers[i].name) + strlen(req->headers[i].value) + 3;
		char *line = xmalloc(len);
		snprintf(line, len, "%s: %s", req->headers[i].name, req->headers[i].value);
		n = curl_slist_append(l, line);
		OPENSSL_cleanse(line, len);
		free(line);
		if (n == NULL)
			fatalx("transport: out of memory");
		l = n;
	}
	return l;
}

void
transport_headers_free(struct curl_slist *lines)
{
	for (struct curl_slist *p = lines; p != NULL; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(lines);
}

void
transport_start(struct transport *t, struct transfer *x, const struct xreq *req, void *owner)
{
	CURL *c;

	if (x->easy != NULL)
		fatalx("transport: transfer started twice");
	/* A used handle keeps its allocations and its DNS and TLS session
	 * caches; a fresh one per request was a visible share of the poller. */
	if (t->nidle > 0) {
		c = t->idle[--t->nidle];
		curl_easy_reset(c);
	} else if ((c = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	x->hdrs = transport_headers(req);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "perfagg/" PERFAGG_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* TLS verification is never turned off. */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (t->ca_bundle != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_bundle);
	x->easy = c;
	x->owner = owner;
	x->body_cap = t->max_body;
	t->in_flight++;
	curl_multi_add_handle(t->multi, c);
}

void
transport_end(struct transport *t, struct transfer *x)
{
	if (x->easy != NULL) {
		curl_multi_remove_handle(t->multi, x->easy);
		if (t->nidle < t->max_transfers)
			t->idle[t->nidle++] = x->easy;
		else
			curl_easy_cleanup(x->easy);
		t->in_flight--;
	}
	transport_headers_free(x->hdrs);
	free(x->body);
	free(x->rhdrs);
	memset(x, 0, sizeof(*x));
}

unsigned
transport_in_flight(const struct transport *t)
{
	return t->in_flight;
}

void
transport_perform(struct transport *t)
{
	int running;

	curl_multi_perform(t->multi, &running);
}

int
transport_finished(struct transport *t, struct transport_done *out)
{
	CURLMsg *m;
	int q;
	curl_off_t us = 0;

	while ((m = curl_multi_info_read(t->multi, &q)) != NULL) {
		struct transfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		memset(out, 0, sizeof(*out));
		out->x = x;
		out->owner = x->owner;
		out->cc = m->data.result;
		if (out->cc == CURLE_OK)
			curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &out->status);
		curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &us);
		out->total_us = (int64_t)us;
		return 0;
	}
	return -1;
}

void
transport_wait(struct transport *t, int ms)
{
	curl_multi_poll(t->multi, NULL, 0, ms, NULL);
}

void
transport_wakeup(struct transport *t)
{
	curl_multi_wakeup(t->multi);
}

const char *
transport_body(const struct transfer *x, size_t *len)
{
	*len = x->body_len;
	return x->body != NULL ? x->body : "";
}

const char *
transport_header(const struct transfer *x, const char *name, char *out, size_t cap)
{
	return xheaders_find(x->rhdrs, name, out, cap);
}
