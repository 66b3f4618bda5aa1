/*
 * http: the request/response model handlers see, over libmicrohttpd.
 *
 * Handlers get a complete request (body already read and size-checked) and
 * fill a response; every error body is {"error":{"code","message"}} built by
 * http_error(). Nothing here knows the routes.
 */
#ifndef PERFAGG_SERVER_HTTP_H
#define PERFAGG_SERVER_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_BODY (64 * 1024)

struct MHD_Connection;

struct http_request {
	const char *method;
	const char *path;		/* without the query string */
	const uint8_t *body;		/* NUL-terminated for convenience; body_len excludes it */
	size_t body_len;
	struct MHD_Connection *conn;
	uint8_t addr[16];		/* client address (IPv4 mapped into IPv6 form) */
	char addr_str[48];
};

/*
 * Something a response must wait for: calls ready(ctx, rc) later, from any
 * thread, and returns 0; or returns 1 if it is ready already (ready is not
 * called). An rc != 0 is logged; the response is sent all the same.
 */
typedef int (*http_await_fn)(void *arg, int64_t token, void (*ready)(void *ctx, int rc), void *ctx);

struct http_response {
	unsigned status;
	json_t *body;			/* owned; NULL for an empty body */
	char *raw;			/* alternative to body: pre-serialized JSON, owned */
	size_t raw_len;
	int64_t retry_after_s;		/* > 0: a Retry-After header */
	char allow[64];			/* non-empty: an Allow header (405) */
	const char *code;		/* error code, for the access log */
	const char *route;		/* route pattern for metrics (static, from the route table); NULL: none */
	const char *content_type;	/* static; NULL: application/json */
	/*
	 * Set by http_defer(): the response is held back, without blocking the
	 * HTTP thread, until await() reports that what it acknowledges is
	 * durable (the audit log entry recording it).
	 */
	http_await_fn await;
	void *await_arg;
	int64_t await_token;
};

/* A query-string argument or header value, NULL if absent. Valid for the request. */
const char *http_query(const struct http_request *req, const char *name);
const char *http_header(const struct http_request *req, const char *name);

/* True if the Content-Type is application/json (parameters such as charset=utf-8 allowed). */
bool http_is_json(const struct http_request *req);

/* Sets a JSON response (takes the reference to body). */
void http_json(struct http_response *resp, unsigned status, json_t *body);
/* Sets a {"error":{"code","message"}} response; message is printf-formatted. */
void http_error(struct http_response *resp, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Holds resp back until await(arg, token, ...) says ready (see struct
 * http_response). A later call replaces an earlier one (tokens only grow). */
void http_defer(struct http_response *resp, http_await_fn await, void *arg, int64_t token);

/* The route dispatcher the server calls for every complete request. */
typedef void (*http_dispatch_fn)(void *arg, const struct http_request *req, struct http_response *resp);

struct http_server;

struct http_options {
	const char *host;
	unsigned port;
	unsigned threads;
	unsigned max_connections;
	const char *tls_cert_pem;	/* NULL: plain HTTP */
	const char *tls_key_pem;
	http_dispatch_fn dispatch;
	void *arg;
};

/* Starts listening. Returns the server, or NULL with *errstr. */
struct http_server *http_server_start(const struct http_options *opt, const char **errstr);
/* Stops accepting, finishes in-flight requests, frees; NULL is a no-op. */
void http_server_stop(struct http_server *s);

#endif
