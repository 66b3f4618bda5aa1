/*
 * xsync: runs one poll cycle of a connector synchronously with libcurl easy
 * (for tests and the CLI). The daemon uses the concurrent poller instead.
 * Retries XR_RETRY/XR_CLOCK and waits out XR_RATE_LIMITED, up to max_retries
 * per step; stops at XR_AUTH and XR_FATAL.
 */
#ifndef PERFAGG_EXCHANGE_XSYNC_H
#define PERFAGG_EXCHANGE_XSYNC_H

#include "exchange/exchange.h"

struct xsync_stats {
	unsigned requests, retries, rate_limited;
	unsigned by_part[XPART_COUNT];	/* requests by req->part (retries included) */
	enum xresult last;		/* XR_OK when the cycle completed */
	char error[160];
};

/* Runs begin() and next()/handle() until the cycle completes. Returns 0 when
 * it completed, -1 otherwise (stats->last and stats->error say why). */
int xsync_cycle(struct xconn *c, const struct credential *cred, const struct xsink *sink, unsigned max_retries,
    struct xsync_stats *stats);

#endif
