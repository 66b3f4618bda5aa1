/* The route table: every path the daemon serves, in one place. */
#include <string.h>

#include "server/ratelimit.h"
#include "server/server.h"
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
	{ "POST", "/enclave/cleanup", false, true, handle_cleanup },
	{ "GET", "/enclave/metrics", true, true, handle_metrics },
	{ "GET", "/enclave/summary", true, true, handle_summary },
	{ "GET", "/enclave/audit", false, true, handle_audit_export },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

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
