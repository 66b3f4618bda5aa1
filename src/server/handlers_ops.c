/* Operations routes: Prometheus metrics and the OpenAPI description. */
#include <string.h>

#include "exchange/poller.h"
#include "out/metrics.h"
#include "out/outbox.h"
#include "server/openapi.h"
#include "server/server.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

void
handle_prometheus(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	uint64_t counts[POLL_NSTATES];
	struct outbox_counts oc;
	int64_t depth;

	/* Sessions by state and the outbox's rows are read now; everything
	 * else is counted as it happens. */
	if (srv->outbox != NULL) {
		if ((depth = outbox_depth(srv->outbox)) >= 0)
			metrics_outbox_depth_set((uint64_t)depth);
		outbox_tally(srv->outbox, &oc);
		metrics_outbox_rows_set("pending", (uint64_t)oc.pending);
		metrics_outbox_rows_set("delivered", (uint64_t)oc.delivered);
		metrics_outbox_rows_set("failed", (uint64_t)oc.failed);
		for (int i = 0; i < OUTBOX_NFINAL; i++)
			metrics_outbox_failed_set(outbox_final_status[i], (uint64_t)oc.failed_by_status[i]);
	}
	poller_state_counts(srv->poller, counts);
	for (int s = 0; s < POLL_NSTATES; s++)
		metrics_sessions_set(poll_state_name((enum poll_state)s), counts[s]);
	resp->status = 200;
	resp->content_type = METRICS_CONTENT_TYPE;
	resp->raw = metrics_render((double)(time_mono_ms() - srv->started_mono_ms) / 1000.0, &resp->raw_len);
}

void
handle_openapi(struct server *srv, const struct http_request *req, struct http_response *resp)
{
	resp->status = 200;
	resp->raw = xstrndup((const char *)openapi_json, openapi_json_len);
	resp->raw_len = openapi_json_len;
}
