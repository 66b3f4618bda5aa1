/*
 * replay: remembers every envelope ephemeral key that opened successfully,
 * so a captured envelope cannot be submitted twice.
 *
 * Keys are attacker-chosen, so they are hashed with a random per-process salt
 * before indexing (no hash flooding). Entries are kept for the life of the
 * process: 32 bytes of key material plus overhead per registration.
 * THREAD SAFETY: all functions are thread-safe.
 */
#ifndef PERFAGG_ENCLAVE_REPLAY_H
#define PERFAGG_ENCLAVE_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

struct replay;

struct replay *replay_new(void);
void replay_free(struct replay *r);

/* True if pub was recorded. */
bool replay_seen(struct replay *r, const uint8_t pub[32]);
/* Records pub; returns 0, or -1 if it was already recorded (a replay that
 * raced the first submission). */
int replay_record(struct replay *r, const uint8_t pub[32]);

#endif
