/*
 * metrics: the process's Prometheus counters, gauges and histograms, and
 * their text exposition (format 0.0.4) for GET /metrics.
 *
 * One registry per process, like every Prometheus client: the HTTP layer,
 * the poller, the key holder and the outbox report into it without sharing
 * a handle. Every observe/set function is thread-safe and cheap (atomic
 * counters, fixed buckets; a lock only the first time a label set is seen).
 *
 * LABELS: every string passed as a label value must come from the program
 * (a route table pattern, a connector's name, a state name), never from
 * request input; label sets are bounded: beyond METRICS_MAX_SERIES per
 * family further label sets are counted under the value "overflow".
 */
#ifndef PERFAGG_OUT_METRICS_H
#define PERFAGG_OUT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAX_SERIES 256
#define METRICS_LABEL_MAX 64

enum metrics_crypto_op {
	METRICS_CRYPTO_ENVELOPE_OPEN,
	METRICS_CRYPTO_SIGN,
	METRICS_CRYPTO_QUOTE,
	METRICS_CRYPTO_NOPS
};

/* CLOCK_MONOTONIC in nanoseconds: the start and end of every observed span. */
int64_t metrics_now_ns(void);

/* One HTTP request: route is the route table's pattern ("/enclave/session/{id}")
 * or NULL for a request that matched none ("unmatched"); method is the
 * request's method, reported as itself only if it is one of the standard
 * methods, else "other"; status the response's status. */
void metrics_http_observe(const char *route, const char *method, unsigned status, int64_t ns);

/* One exchange request finished: exchange is the connector's name, result
 * its verdict ("ok", "retry", "rate_limited", "clock", "auth", "fatal"). */
void metrics_poll_observe(const char *exchange, const char *result, int64_t ns);
/* One failed exchange request: code is the HTTP status ("429") or
 * "transport"/"timeout" when no answer came. */
void metrics_exchange_error(const char *exchange, const char *code);

void metrics_crypto_observe(enum metrics_crypto_op op, int64_t ns);

/* Gauges the owner sets: payloads waiting in the outbox (0 until one
 * reports), and the number of sessions in a state (state: poll_state_name()). */
void metrics_outbox_depth_set(uint64_t n);
void metrics_sessions_set(const char *state, uint64_t n);
/* Outbox rows in a state ("pending", "delivered", "failed"), and failed rows
 * by the HTTP status that failed them (one of the outbox's final statuses:
 * a bounded set). Absent until the outbox reports. */
void metrics_outbox_rows_set(const char *state, uint64_t n);
void metrics_outbox_failed_set(long status, uint64_t n);

/* The exposition of every metric, with process_* basics and uptime_s.
 * Returns a NUL-terminated string the caller frees; *len excludes the NUL. */
char *metrics_render(double uptime_s, size_t *len);

/* Content-Type of metrics_render()'s output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
