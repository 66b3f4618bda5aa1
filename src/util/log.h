/*
 * log: structured JSON logs on stderr, one line per event.
 *
 * Every line is {"ts":"<ISO 8601 UTC>","level":"...","event":"...", ...fields}.
 * Fields are given as a jansson json_pack() format for an object, so values
 * are escaped by the JSON library, never by hand:
 *
 *	log_event(LOG_INFO, "session_created", "{s:s, s:i}", "sid", sid_hash, "ttl", ttl);
 *
 * NEVER pass a secret, a key, a credential or a full session id: log lengths
 * and short hashes (see log_short_hash()).
 * THREAD SAFETY: every function may be called from any thread; a line is
 * written with one write(2) so lines from threads never interleave.
 */
#ifndef PERFAGG_UTIL_LOG_H
#define PERFAGG_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Parses "debug", "info", "warn", "error"; returns 0, or -1 for anything else. */
int log_level_parse(const char *s, enum log_level *out);
void log_set_level(enum log_level level);
bool log_enabled(enum log_level level);

/* Emits one event. fields is a json_pack() object format, or NULL for none.
 * A format the JSON library rejects is a bug and is logged as such. */
void log_event(enum log_level level, const char *event, const char *fields, ...);

/* Writes the first 6 bytes of SHA-256(buf) as 12 hex characters plus NUL into
 * out: enough to correlate log lines, useless for recovering the input. */
void log_short_hash(char out[13], const void *buf, size_t len);

/* Logs a fatal event and aborts: for broken invariants, never for bad input. */
void fatalx(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
