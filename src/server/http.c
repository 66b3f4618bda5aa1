#include "server/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "out/metrics.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

struct http_server {
	struct MHD_Daemon *mhd;
	http_dispatch_fn dispatch;
	void *arg;
	atomic_uint suspended;		/* connections held back by http_defer() */
};

/* Per-request state across the access-handler calls of one request. */
struct reqctx {
	uint8_t *body;
	size_t len;
	bool too_large;
	int64_t start_ms;
	int64_t start_ns;		/* for the latency histogram */
	/* A deferred answer: built, queued once await() says ready. */
	struct http_server *srv;
	struct MHD_Connection *conn;
	struct MHD_Response *pending;
	unsigned pending_status;
	/* on_ready and on_completed (a connection closed while held back, or
	 * the daemon stopping) race for a held-back request: the second to
	 * come frees it. */
	atomic_int settled;
};

const char *
http_query(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
http_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

bool
http_is_json(const struct http_request *req)
{
	const char *ct = http_header(req, "Content-Type");
	size_t n = strlen("application/json");

	if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

void
http_json(struct http_response *resp, unsigned status, json_t *body)
{
	json_decref(resp->body);
	resp->status = status;
	resp->body = body;
}

void
http_error(struct http_response *resp, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp->code = code;
	http_json(resp, status, json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg));
}

static void
client_address(struct MHD_Connection *c, struct http_request *req)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	memset(req->addr, 0, sizeof(req->addr));
	strcpy(req->addr_str, "unknown");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		req->addr[10] = req->addr[11] = 0xff;
		memcpy(req->addr + 12, &in->sin_addr, 4);
		inet_ntop(AF_INET, &in->sin_addr, req->addr_str, sizeof(req->addr_str));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(req->addr, &in6->sin6_addr, 16);
		inet_ntop(AF_INET6, &in6->sin6_addr, req->addr_str, sizeof(req->addr_str));
	}
}

/* The libmicrohttpd response for resp (takes its body), or NULL. */
static struct MHD_Response *
build_response(struct http_response *resp)
{
	struct MHD_Response *r;
	char *buf = resp->raw;
	size_t len = resp->raw_len;
	char ra[24];

	if (buf == NULL && resp->body != NULL) {
		buf = json_dumps(resp->body, JSON_COMPACT);
		len = buf != NULL ? strlen(buf) : 0;
	}
	resp->raw = NULL;
	r = MHD_create_response_from_buffer(len, buf != NULL ? buf : (char *)"", buf != NULL ?
	    MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(buf);
		return MHD_NO;
	}
	if (len > 0)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type != NULL ?
		    resp->content_type : "application/json");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (resp->retry_after_s > 0) {
		snprintf(ra, sizeof(ra), "%lld", (long long)resp->retry_after_s);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (resp->allow[0] != '\0')
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
	return r;
}

static enum MHD_Result
send_response(struct MHD_Connection *c, struct http_response *resp)
{
	struct MHD_Response *r = build_response(resp);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	ret = MHD_queue_response(c, resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

void
http_defer(struct http_response *resp, http_await_fn await, void *arg, int64_t token)
{
	resp->await = await;
	resp->await_arg = arg;
	resp->await_token = token;
}

/* await()'s callback, on any thread: libmicrohttpd calls on_access again for
 * the resumed connection, which queues the held response. */
static void
on_ready(void *ctx, int rc)
{
	struct reqctx *r = ctx;
	struct http_server *s = r->srv;

	if (rc != 0)
		log_event(LOG_ERROR, "http_deferred_failed", "{s:i}", "status", (int)r->pending_status);
	if (atomic_exchange(&r->settled, 1) != 0) {
		/* The connection is gone already (and perhaps the daemon). */
		MHD_destroy_response(r->pending);
		free(r->body);
		free(r);
		return;
	}
	MHD_resume_connection(r->conn);
	atomic_fetch_sub(&s->suspended, 1);
}

static void
access_log(const struct http_request *req, const struct http_response *resp, int64_t start_ms)
{
	enum log_level lvl = resp->status >= 500 ? LOG_ERROR : resp->status >= 400 ? LOG_INFO : LOG_DEBUG;

	if (!log_enabled(lvl))
		return;
	/* The path may carry a session id: log the route shape, never the id. */
	log_event(lvl, "http_request", "{s:s, s:s, s:i, s:s, s:s?, s:I}", "method", req->method,
	    "path", strncmp(req->path, "/enclave/session/", 17) == 0 ? "/enclave/session/:id" : req->path,
	    "status", (int)resp->status, "client", req->addr_str, "code", resp->code,
	    "ms", (json_int_t)(time_mono_ms() - start_ms));
}

static enum MHD_Result
respond(struct http_server *s, struct MHD_Connection *c, const char *url, const char *method,
    struct reqctx *rc, unsigned forced_status)
{
	struct http_request req = { .method = method, .path = url, .conn = c };
	struct http_response resp = { .status = 500 };
	enum MHD_Result ret;

	client_address(c, &req);
	if (forced_status == 413)
		http_error(&resp, 413, "payload_too_large", "request body exceeds %d bytes", HTTP_MAX_BODY);
	else {
		req.body = rc->body != NULL ? rc->body : (const uint8_t *)"";
		req.body_len = rc->len;
		s->dispatch(s->arg, &req, &resp);
	}
	access_log(&req, &resp, rc->start_ms);
	metrics_http_observe(resp.route, method, resp.status, metrics_now_ns() - rc->start_ns);
	if (resp.await != NULL && (rc->pending = build_response(&resp)) != NULL) {
		rc->srv = s;
		rc->conn = c;
		rc->pending_status = resp.status;
		MHD_suspend_connection(c);
		atomic_fetch_add(&s->suspended, 1);
		if (resp.await(resp.await_arg, resp.await_token, on_ready, rc) != 0)
			on_ready(rc, 0);
		ret = MHD_YES;
	} else
		ret = send_response(c, &resp);
	json_decref(resp.body);
	free(resp.raw);
	return ret;
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct reqctx *rc = *con_cls;

	if (rc != NULL && rc->pending != NULL) {
		/* Resumed after http_defer(): what was held back is now durable. */
		struct MHD_Response *r = rc->pending;
		enum MHD_Result ret;

		rc->pending = NULL;
		ret = MHD_queue_response(c, rc->pending_status, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (rc == NULL) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		rc = xcalloc(1, sizeof(*rc));
		rc->start_ms = time_mono_ms();
		rc->start_ns = metrics_now_ns();
		*con_cls = rc;
		/* Refuse a declared oversize body before reading any of it. */
		if (cl != NULL && strtoull(cl, NULL, 10) > HTTP_MAX_BODY) {
			rc->too_large = true;
			return respond(s, c, url, method, rc, 413);
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (rc->too_large)
			return MHD_YES;
		if (rc->len + n > HTTP_MAX_BODY) {
			free(rc->body);
			rc->body = NULL;
			rc->len = 0;
			rc->too_large = true;
			return respond(s, c, url, method, rc, 413);
		}
		rc->body = xrealloc(rc->body, rc->len + n + 1);
		memcpy(rc->body + rc->len, upload_data, n);
		rc->len += n;
		rc->body[rc->len] = '\0';
		return MHD_YES;
	}
	if (rc->too_large)
		return MHD_YES;	/* 413 already queued */
	return respond(s, c, url, method, rc, 0);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct reqctx *rc = *con_cls;

	if (rc != NULL) {
		*con_cls = NULL;
		if (rc->pending != NULL && atomic_exchange(&rc->settled, 1) == 0)
			return;	/* still held back: on_ready frees it */
		if (rc->pending != NULL)
			MHD_destroy_response(rc->pending);
		free(rc->body);
		free(rc);
		*con_cls = NULL;
	}
}

/* fmt is libmicrohttpd's own printf format (declared so, for clang). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_event(LOG_WARN, "http_server", "{s:s}", "message", msg);
}

struct http_server *
http_server_start(const struct http_options *opt, const char **errstr)
{
	struct http_server *s = xcalloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	    MHD_ALLOW_SUSPEND_RESUME;
	socklen_t sl;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, opt->host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)opt->port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, opt->host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)opt->port);
		sl = sizeof(struct sockaddr_in6);
		flags |= MHD_USE_IPv6;
	} else {
		*errstr = "ENCLAVE_HOST is not an IPv4 or IPv6 address";
		free(s);
		return NULL;
	}
	(void)sl;
	if (opt->tls_cert_pem != NULL) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			*errstr = "libmicrohttpd was built without TLS";
			free(s);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	s->dispatch = opt->dispatch;
	s->arg = opt->arg;
	if (opt->tls_cert_pem != NULL)
		s->mhd = MHD_start_daemon(flags, (uint16_t)opt->port, NULL, NULL, on_access, s,
		    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
		    MHD_OPTION_SOCK_ADDR, &ss,
		    MHD_OPTION_THREAD_POOL_SIZE, opt->threads,
		    MHD_OPTION_CONNECTION_LIMIT, opt->max_connections,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		    MHD_OPTION_HTTPS_MEM_CERT, opt->tls_cert_pem,
		    MHD_OPTION_HTTPS_MEM_KEY, opt->tls_key_pem,
		    /* TLS 1.3 preferred, 1.2 accepted, nothing older. */
		    MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
		    MHD_OPTION_END);
	else
		s->mhd = MHD_start_daemon(flags, (uint16_t)opt->port, NULL, NULL, on_access, s,
		    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
		    MHD_OPTION_SOCK_ADDR, &ss,
		    MHD_OPTION_THREAD_POOL_SIZE, opt->threads,
		    MHD_OPTION_CONNECTION_LIMIT, opt->max_connections,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		    MHD_OPTION_END);
	if (s->mhd == NULL) {
		*errstr = "cannot listen (address in use, or bad TLS certificate/key)";
		free(s);
		return NULL;
	}
	return s;
}

void
http_server_stop(struct http_server *s)
{
	if (s == NULL)
		return;
	/* A held-back response is released by its await(), an fsync away:
	 * waiting lets those answers go out. One still held back after that
	 * (or suspended meanwhile) is closed by the daemon and freed by its
	 * callback (reqctx.settled). */
	for (int i = 0; i < 10000 && atomic_load(&s->suspended) > 0; i++)
		usleep(1000);
	MHD_stop_daemon(s->mhd);
	free(s);
}
