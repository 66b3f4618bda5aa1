/*
 * exsim_http: libmicrohttpd glue for the simulator. Keeps the raw query and
 * body (exchanges sign the exact bytes sent) and decodes parameters once.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exsim/exsim.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define MAX_BODY (1 << 20)
#define MAX_PARAMS 64

struct exsim_http {
	struct MHD_Daemon *mhd;
	struct exsim *w;
	uint16_t port;
};

struct reqctx {
	char *uri;			/* as sent, query included */
	char *body;
	size_t len;
	bool too_large, started;
	struct MHD_Connection *conn;
	char *pbuf;			/* decoded parameter storage */
	struct exsim_param params[MAX_PARAMS];
	size_t nparams;
};

static const char *
req_header(const struct exsim_request *r, const char *name)
{
	const struct reqctx *rc = r->ctx;

	return MHD_lookup_connection_value(rc->conn, MHD_HEADER_KIND, name);
}

/* Splits an application/x-www-form-urlencoded string (copied into dst) into
 * decoded name/value pairs. */
static void
parse_form(struct reqctx *rc, char *dst, const char *src, size_t len)
{
	char *p, *end, *amp, *eq;

	memcpy(dst, src, len);
	dst[len] = '\0';
	for (p = dst, end = dst + len; p < end && rc->nparams < MAX_PARAMS; p = amp + 1) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = end;
		*amp = '\0';
		if (*p != '\0') {
			for (char *q = p; *q != '\0'; q++)
				if (*q == '+')
					*q = ' ';
			if ((eq = strchr(p, '=')) != NULL)
				*eq = '\0';
			MHD_http_unescape(p);
			if (eq != NULL)
				MHD_http_unescape(eq + 1);
			rc->params[rc->nparams].name = p;
			rc->params[rc->nparams].value = eq != NULL ? eq + 1 : "";
			rc->nparams++;
		}
	}
}

static bool
is_form(struct MHD_Connection *c)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen("application/x-www-form-urlencoded");

	return ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", n) == 0;
}

static enum MHD_Result
respond(struct exsim_http *h, struct MHD_Connection *c, const char *url, const char *method, struct reqctx *rc)
{
	struct exsim_request rq = { 0 };
	struct exsim_response rs = { 0 };
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *q = strchr(rc->uri, '?');
	size_t qlen = q != NULL ? strlen(q + 1) : 0;
	bool form = rc->len > 0 && is_form(c);

	rq.method = method;
	rq.path = url;
	rq.query = q != NULL ? q + 1 : "";
	rq.body = rc->body != NULL ? rc->body : "";
	rq.body_len = rc->len;
	rq.header = req_header;
	rq.param = exsim_request_param;
	rq.ctx = rc;
	rq.now_ms = time_now_ms();
	rc->conn = c;
	rc->pbuf = xmalloc(qlen + 1 + (form ? rc->len : 0) + 1);
	parse_form(rc, rc->pbuf, rq.query, qlen);
	if (form)
		parse_form(rc, rc->pbuf + qlen + 1, rc->body, rc->len);
	rq.params = rc->params;
	rq.nparams = rc->nparams;

	if (rc->too_large)
		exsim_json(&rs, 413, "{\"error\":\"body too large\"}");
	else
		exsim_dispatch(h->w, &rq, &rs);
	if (rs.status == 0)
		fatalx("exsim: handler for %s set no status", url);
	r = MHD_create_response_from_buffer(rs.body_len, rs.body != NULL ? rs.body : (char *)"",
	    rs.body != NULL ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(rs.body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	    rs.content_type != NULL ? rs.content_type : "application/json");
	for (size_t j = 0; j < rs.nheaders; j++)
		MHD_add_response_header(r, rs.headers[j].name, rs.headers[j].value);
	ret = MHD_queue_response(c, rs.status, r);
	MHD_destroy_response(r);
	return ret;
}

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct reqctx *rc = xcalloc(1, sizeof(*rc));

	rc->uri = xstrdup(uri);
	return rc;
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct reqctx *rc = *con_cls;
	size_t n = *upload_data_size;

	if (rc == NULL)
		return MHD_NO;	/* the URI callback always sets it */
	if (!rc->started) {
		/* the first call has the headers only */
		rc->started = true;
		return MHD_YES;
	}
	if (n != 0) {
		*upload_data_size = 0;
		if (rc->too_large || rc->len + n > MAX_BODY) {
			rc->too_large = true;
			return MHD_YES;
		}
		rc->body = xrealloc(rc->body, rc->len + n + 1);
		memcpy(rc->body + rc->len, upload_data, n);
		rc->len += n;
		rc->body[rc->len] = '\0';
		return MHD_YES;
	}
	return respond(cls, c, url, method, rc);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct reqctx *rc = *con_cls;

	if (rc == NULL)
		return;
	free(rc->uri);
	free(rc->body);
	free(rc->pbuf);
	free(rc);
	*con_cls = NULL;
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_event(LOG_WARN, "exsim_http", "{s:s}", "message", msg);
}

struct exsim_http *
exsim_http_start(struct exsim *w, uint16_t port, unsigned threads, const char **errstr)
{
	struct exsim_http *h = xcalloc(1, sizeof(*h));
	struct sockaddr_in sin;
	const union MHD_DaemonInfo *di;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h->w = w;
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, port, NULL,
	    NULL, on_access, h,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
	    MHD_OPTION_SOCK_ADDR, &sin,
	    MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)20000,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		*errstr = "cannot listen on 127.0.0.1 (port in use?)";
		free(h);
		return NULL;
	}
	di = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di != NULL ? di->port : port;
	return h;
}

uint16_t
exsim_http_port(const struct exsim_http *h)
{
	return h->port;
}

void
exsim_http_stop(struct exsim_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}
