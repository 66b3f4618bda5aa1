/*
 * replay: the guard against a captured credential envelope submitted again.
 *
 * An envelope carries its client's time (metadata.ts, in the AAD, so the
 * host cannot change it) and is accepted only within the window of the
 * service's clock (replay_fresh). Its ephemeral key is then claimed in the
 * store until the envelope would no longer be fresh, ts + window: a replay
 * inside the window finds the claim, one after it fails the freshness
 * check, and claims survive restarts because the store does.
 *
 * Keys are stored as SHA-256("perfagg/replay/v1" || ephemeral_pub).
 * THREAD SAFETY: all functions are thread-safe (the store is).
 */
#ifndef PERFAGG_ENCLAVE_REPLAY_H
#define PERFAGG_ENCLAVE_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct replay;

/* A guard keeping its claims in st (borrowed: it must outlive the guard)
 * for window_ms (> 0). */
struct replay *replay_new(struct store *st, int64_t window_ms);
/* NULL is a no-op. */
void replay_free(struct replay *r);

/* The window, ms. */
int64_t replay_window_ms(const struct replay *r);
/* Whether a client time ts_ms is within the window of now_ms, either way. */
bool replay_fresh(const struct replay *r, int64_t ts_ms, int64_t now_ms);

/* Whether pub is claimed at now_ms: 1 yes, 0 no, -1 with *errstr (store). */
int replay_seen(struct replay *r, const uint8_t pub[32], int64_t now_ms, const char **errstr);
/* Claims pub of an envelope of client time ts_ms until it stops being fresh:
 * 1 when claimed now, 0 when already claimed (a replay, or one racing the
 * first submission), -1 with *errstr (store). Expired claims are swept now
 * and then. */
int replay_claim(struct replay *r, const uint8_t pub[32], int64_t ts_ms, int64_t now_ms, const char **errstr);

#endif
