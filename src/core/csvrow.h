/*
 * csvrow: the simple comma-separated lines of the dated inputs (daily marks,
 * external flows): one record per line, fields split on commas and trimmed
 * of blanks, no quoting (a '"' is an error), CR before LF ignored, blank
 * lines skipped.
 */
#ifndef PERFAGG_CORE_CSVROW_H
#define PERFAGG_CORE_CSVROW_H

#include <stddef.h>

struct csvrow {
	const char *buf;		/* the caller's text, not owned */
	size_t len, pos;
	size_t line;			/* 1-based line of the last record */
	size_t next_line;
};

struct csvrow_field {
	const char *s;			/* into buf */
	size_t len;
};

/* Starts reading (buf, len), which must outlive r. */
void csvrow_init(struct csvrow *r, const char *buf, size_t len);

/*
 * The next non-blank record's fields into f[0..max-1]. Returns the number of
 * fields, 0 at the end, or -1 with *errstr (more than max fields, a quote, a
 * NUL byte); r->line is then the record's line.
 */
int csvrow_next(struct csvrow *r, struct csvrow_field *f, size_t max, const char **errstr);

/* Whether field f is exactly the text lit. */
int csvrow_is(const struct csvrow_field *f, const char *lit);

#endif
