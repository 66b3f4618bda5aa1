#include "util/textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/xalloc.h"

void
textbuf_init(struct textbuf *t)
{
	t->cap = 256;
	t->len = 0;
	t->buf = xmalloc(t->cap);
	t->buf[0] = '\0';
}

void
textbuf_printf(struct textbuf *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = 2 * t->cap + (size_t)(n > 0 ? n : 0);
		t->buf = xrealloc(t->buf, t->cap);
	}
	t->len += (size_t)n;
}

char *
textbuf_take(struct textbuf *t)
{
	char *s = t->buf;

	t->buf = NULL;
	t->len = t->cap = 0;
	return s;
}
