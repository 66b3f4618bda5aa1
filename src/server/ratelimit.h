/*
 * ratelimit: a fixed-window request counter per client address
 * (RATE_LIMIT_MAX requests per RATE_LIMIT_WINDOW).
 *
 * Addresses are hashed with a random salt before indexing, so a client
 * cannot aim at one bucket. Idle entries are dropped as the table grows, so
 * memory follows the number of recently active clients.
 * THREAD SAFETY: all functions are thread-safe.
 */
#ifndef PERFAGG_SERVER_RATELIMIT_H
#define PERFAGG_SERVER_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

struct ratelimit *ratelimit_new(int64_t max, int64_t window_ms);
void ratelimit_free(struct ratelimit *rl);

/* Counts one request from addr (addr_len bytes) at now_ms. Returns 0 if it is
 * allowed; -1 if over the limit, with *retry_after_s (>= 1) set to when the
 * window ends. */
int ratelimit_take(struct ratelimit *rl, const void *addr, size_t addr_len, int64_t now_ms, int64_t *retry_after_s);

/* Number of client addresses currently tracked (idle ones may linger until
 * the next sweep). */
size_t ratelimit_tracked(struct ratelimit *rl);

#endif
