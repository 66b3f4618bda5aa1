/* The route table: every path the daemon serves, in one place. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "enclave/keys.h"
#include "server/ratelimit.h"
#include "server/server.h"
#include "util/log.h"
#include "util/timeutil.h"

typedef void (*handler_fn)(struct server *, const struct http_request *, struct http_response *);

struct route {
	const char *method;
	const char *path;
	bool with_id;		/* path, or path + "/" + one segment */
	bool rate_limited;
	handler_fn fn;
};

static const struct route routes[] = {
	{ "GET", "/health", false, false, handle_health },
	{ "GET", "/attestation/quote", false, true, handle_quote },
	{ "POST", "/enclave/submit_key", false, true, handle_submit_key },
	{ "GET", "/enclave/session", true, true, handle_session_get },
	{ "DELETE", "/enclave/session", true, true, handle_session_delete },
	{ "POST", "/enclave/session", true, true, handle_session_renew },
	{ "POST", "/enclave/cleanup", false, true, handle_cleanup },
	{ "GET", "/enclave/metrics", true, true, handle_metrics },
	{ "GET", "/enclave/summary", true, true, handle_summary },
	{ "GET", "/enclave/audit", false, true, handle_audit_export },
	{ "GET", "/admin/outbox/failed", false, true, handle_outbox_failed },
	{ "POST", "/admin/outbox/requeue", false, true, handle_outbox_requeue },
	{ "POST", "/admin/handover", false, true, handle_handover_release },
	{ "POST", "/admin/handover/accept", false, true, handle_handover_accept },
	{ "GET", "/enclave/handovers", false, true, handle_handovers },
	{ "GET", "/metrics", false, true, handle_prometheus },
	{ "GET", "/openapi.json", false, true, handle_openapi },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* The read-only view of the table, and each with_id route's "{id}" pattern
 * (metrics label it so: a label never carries the id itself). */
static struct server_route public_routes[NROUTES];
static char id_patterns[NROUTES][64];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void
tables_init(void)
{
	for (size_t i = 0; i < NROUTES; i++) {
		public_routes[i] = (struct server_route){ routes[i].method, routes[i].path, routes[i].with_id };
		if (snprintf(id_patterns[i], sizeof(id_patterns[i]), "%s/{id}", routes[i].path) >=
		    (int)sizeof(id_patterns[i]))
			fatalx("route path too long: %s", routes[i].path);
	}
}

const struct server_route *
server_routes(size_t *n)
{
	pthread_once(&tables_once, tables_init);
	*n = NROUTES;
	return public_routes;
}

/* The pattern of the route a request matched: a static string. */
static const char *
route_pattern(const struct route *r, const char *path)
{
	pthread_once(&tables_once, tables_init);
	return path[strlen(r->path)] == '/' ? id_patterns[r - routes] : r->path;
}

static bool
path_matches(const struct route *r, const char *path)
{
	size_t n = strlen(r->path);

	if (strncmp(path, r->path, n) != 0)
		return false;
	if (path[n] == '\0')
		return true;
	return r->with_id && path[n] == '/' && path[n + 1] != '\0' && strchr(path + n + 1, '/') == NULL;
}

void
server_dispatch(void *arg, const struct http_request *req, struct http_response *resp)
{
	struct server *srv = arg;
	const struct route *found = NULL;
	char allow[64] = "";
	bool path_known = false;
	int64_t retry;

	for (size_t i = 0; i < NROUTES; i++) {
		if (!path_matches(&routes[i], req->path))
			continue;
		path_known = true;
		resp->route = route_pattern(&routes[i], req->path);
		if (strcmp(routes[i].method, req->method) == 0) {
			found = &routes[i];
			break;
		}
		if (strlen(allow) + strlen(routes[i].method) + 3 < sizeof(allow)) {
			if (allow[0] != '\0')
				strcat(allow, ", ");
			strcat(allow, routes[i].method);
		}
	}
	if (found == NULL || found->rate_limited) {
		if (ratelimit_take(srv->ratelimit, req->addr, sizeof(req->addr), time_now_ms(), &retry) != 0) {
			resp->retry_after_s = retry;
			http_error(resp, 429, "rate_limited", "too many requests; retry in %lld s", (long long)retry);
			return;
		}
	}
	if (found != NULL) {
		/* After a handover released the keys, nothing is signed or
		 * accepted here any more: the new instance does it. */
		if (keys_retired(srv->keys) && (found->fn == handle_submit_key || found->fn == handle_metrics ||
		    found->fn == handle_summary || found->fn == handle_session_renew)) {
			http_error(resp, 503, "handed_over", "this instance handed its keys over to a new build (key epoch "
			    "%llu); use the new instance", (unsigned long long)keys_epoch(srv->keys) + 1);
			return;
		}
		found->fn(srv, req, resp);
		return;
	}
	if (path_known) {
		memcpy(resp->allow, allow, sizeof(resp->allow));
		http_error(resp, 405, "method_not_allowed", "%s is not allowed on this path", req->method);
		return;
	}
	http_error(resp, 404, "not_found", "no such endpoint");
}
