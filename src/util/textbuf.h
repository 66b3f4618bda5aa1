/*
 * textbuf: a growing, always NUL-terminated text buffer for building
 * reports with printf-style appends. Allocation aborts on OOM (xalloc).
 */
#ifndef PERFAGG_UTIL_TEXTBUF_H
#define PERFAGG_UTIL_TEXTBUF_H

#include <stddef.h>

struct textbuf {
	char *buf;			/* NUL-terminated; owned */
	size_t len, cap;
};

/* Starts an empty text (t->buf = ""). */
void textbuf_init(struct textbuf *t);

/* Appends the formatted text. */
void textbuf_printf(struct textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Hands the buffer to the caller (who frees it) and leaves t empty. */
char *textbuf_take(struct textbuf *t);

#endif
