/*
 * timeutil: wall-clock and monotonic time in milliseconds, and ISO 8601 UTC
 * formatting and parsing. Times are int64 milliseconds since the Unix epoch.
 */
#ifndef PERFAGG_UTIL_TIMEUTIL_H
#define PERFAGG_UTIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/* "2024-01-01T10:00:00.000Z" plus NUL. */
#define TIME_ISO_LEN 25

int64_t time_now_ms(void);		/* CLOCK_REALTIME */
int64_t time_mono_ms(void);
int64_t time_mono_ns(void);		/* CLOCK_MONOTONIC, for measuring short work */
struct timespec;
/* The CLOCK_REALTIME instant ms from now, for pthread_cond_timedwait(). */
void time_deadline(struct timespec *out, int64_t ms);		/* CLOCK_MONOTONIC: for intervals and timeouts */

/* Formats ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (always NUL-terminated). */
void time_format_iso_ms(char out[TIME_ISO_LEN], int64_t ms);

/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" (also "+00:00" and a space for the T,
 * and a bare date "YYYY-MM-DD") from (s, len); the whole input must be used.
 * Returns 0 and sets *ms, or -1 on malformed input. */
int time_parse_iso(const char *s, size_t len, int64_t *ms);

/* "YYYY-MM-DD" plus NUL. */
#define TIME_DATE_LEN 11
#define TIME_DAY_MS 86400000LL

/* Parses exactly "YYYY-MM-DD" from (s, len) into days since the epoch.
 * Returns 0, or -1 on anything else (a time of day included). */
int time_parse_date(const char *s, size_t len, int64_t *day);
/* Formats days since the epoch as "YYYY-MM-DD" (years 0..9999). */
void time_format_date(char out[TIME_DATE_LEN], int64_t day);
/* The day (since the epoch, UTC) holding ms. */
int64_t time_day_of_ms(int64_t ms);

/* Days since the epoch for a civil date and back (proleptic Gregorian). */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d);
void time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
