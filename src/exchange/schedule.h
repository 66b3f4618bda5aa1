/*
 * schedule: when each job is next due, and how long to wait after failures.
 *
 * Due times are a min-heap of entries, each embedded in its owner (the
 * poller's job) and recovered from it with SCHEDULE_OWNER. Retry timing is
 * exponential backoff with full jitter, and a circuit breaker per key (an
 * exchange) stops its requests for a while after a run of failures.
 * Times are monotonic milliseconds.
 *
 * Not thread-safe: the poller thread owns it.
 */
#ifndef PERFAGG_EXCHANGE_SCHEDULE_H
#define PERFAGG_EXCHANGE_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHEDULE_BACKOFF_BASE_MS 1000	/* the first retry's ceiling */
#define SCHEDULE_BACKOFF_MAX_MS 60000
#define SCHEDULE_BREAKER_THRESHOLD 20	/* failures in a row that open a breaker */
#define SCHEDULE_BREAKER_OPEN_MS 30000	/* how long it stays open */
#define SCHEDULE_MAX_BREAKERS 8

/* One queued thing, embedded in its owner. */
struct schedule_entry {
	int64_t due_ms;			/* when it is due; set by schedule_at */
	size_t idx;			/* private: its heap slot, SIZE_MAX when not queued */
};

/* The struct of type whose member is the entry e points to. */
#define SCHEDULE_OWNER(e, type, member) \
	((type *)(void *)((char *)(e) - offsetof(type, member)))

struct schedule;
struct schedule_breaker;

/* An empty schedule, its jitter seeded at random. Never NULL. */
struct schedule *schedule_new(void);
/* Frees s and its breakers, not the entries. NULL is a no-op. */
void schedule_free(struct schedule *s);

/* Marks e as not queued; call once before its first use. */
void schedule_entry_init(struct schedule_entry *e);
/* Makes e due at due_ms: queues it, or moves it if it is queued already. */
void schedule_at(struct schedule *s, struct schedule_entry *e, int64_t due_ms);
/* Takes e out of s; a no-op if e is not queued. */
void schedule_remove(struct schedule *s, struct schedule_entry *e);
/* The entry due first (still queued), or NULL if s is empty. */
struct schedule_entry *schedule_first(const struct schedule *s);

/* How long to wait before retrying after failures failures: uniform in
 * [base/2, base], base = SCHEDULE_BACKOFF_BASE_MS doubled per failure and
 * capped at SCHEDULE_BACKOFF_MAX_MS. */
int64_t schedule_backoff_ms(struct schedule *s, unsigned failures);

/* The breaker of key (an exchange's connector), created closed on first
 * use and owned by s. More than SCHEDULE_MAX_BREAKERS keys is fatal. */
struct schedule_breaker *schedule_breaker(struct schedule *s, const void *key);
/* Until when b stops requests, if it is open at now; else 0. */
int64_t schedule_breaker_open_until(const struct schedule_breaker *b, int64_t now);
/* A request got through: the run of failures is over. */
void schedule_breaker_success(struct schedule_breaker *b);
/* Counts a failure at now. Returns true if it opened b (for
 * SCHEDULE_BREAKER_OPEN_MS), false otherwise. */
bool schedule_breaker_failure(struct schedule_breaker *b, int64_t now);

#endif
