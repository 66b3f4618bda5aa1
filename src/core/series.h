/*
 * series: a return series read from text, as `perfagg stats` and `perfagg
 * analyze --benchmark` accept it, and the pairing of a series with a
 * benchmark for beta and alpha.
 *
 * Format: one simple return per line, or CSV "date,return" lines (the date
 * as time_parse_iso() accepts it, strictly increasing). Blank lines,
 * surrounding blanks and CR before LF are ignored. The first non-blank line
 * is a header, and skipped, when it starts with a letter and its last field
 * is not a number ("date,return", "return"). A file is either all dated or
 * all undated. Numbers are finite decimals (no hex, inf, nan).
 *
 * Pairing: when both series are dated, the pairs are the dates present in
 * both (an inner join: what empyrical computes on date-indexed pandas
 * Series); otherwise the two must have the same length and pair by position.
 */
#ifndef PERFAGG_CORE_SERIES_H
#define PERFAGG_CORE_SERIES_H

#include <stddef.h>
#include <stdint.h>

struct series {
	double	*v;
	int64_t	*ms;		/* dates (ms at the day's start for a bare date) */
	size_t	 n;
	size_t	 cap;
	int	 dated;		/* -1 not yet known (empty), 0 no, 1 yes */
};

/* An empty series (dated -1). */
void series_init(struct series *s);
/* Frees the arrays and empties s (s itself is the caller's). */
void series_clear(struct series *s);
/* Appends (v, ms); the caller keeps ms increasing when dated. */
void series_push(struct series *s, double v, int64_t ms);

/*
 * Parses the text (buf, len) into s (initialized here). Returns 0, or -1
 * with *lineno (1-based) and *errstr (static) set and s empty.
 */
int series_parse(struct series *s, const char *buf, size_t len, size_t *lineno, const char **errstr);

/* A finite decimal number of (s, len), nothing else. Returns 0 or -1. */
int series_parse_number(const char *s, size_t len, double *out);

/*
 * Pairs r with the benchmark b (see above) into two new arrays *pr and *pb
 * of *np values (the caller frees both). Returns 0, or -1 with *errstr when
 * undated series differ in length.
 */
int series_pair(const struct series *r, const struct series *b, double **pr, double **pb, size_t *np,
    const char **errstr);

#endif
