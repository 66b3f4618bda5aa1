#include "core/csvrow.h"

#include <string.h>

void
csvrow_init(struct csvrow *r, const char *buf, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->len = len;
	r->next_line = 1;
}

static void
trim(struct csvrow_field *f)
{
	while (f->len > 0 && (f->s[0] == ' ' || f->s[0] == '\t')) {
		f->s++;
		f->len--;
	}
	while (f->len > 0 && (f->s[f->len - 1] == ' ' || f->s[f->len - 1] == '\t' ||
	    f->s[f->len - 1] == '\r'))
		f->len--;
}

int
csvrow_next(struct csvrow *r, struct csvrow_field *f, size_t max, const char **errstr)
{
	const char *p, *nl, *c;
	struct csvrow_field whole;
	size_t n;

	for (;;) {
		if (r->pos >= r->len)
			return 0;
		p = r->buf + r->pos;
		nl = memchr(p, '\n', r->len - r->pos);
		whole.s = p;
		whole.len = nl != NULL ? (size_t)(nl - p) : r->len - r->pos;
		r->pos += whole.len + (nl != NULL);
		r->line = r->next_line++;
		if (memchr(whole.s, '\0', whole.len) != NULL) {
			*errstr = "NUL byte";
			return -1;
		}
		if (memchr(whole.s, '"', whole.len) != NULL) {
			*errstr = "quotes are not supported";
			return -1;
		}
		trim(&whole);
		if (whole.len > 0)
			break;
	}
	for (n = 0;; n++) {
		if (n == max) {
			*errstr = "too many fields";
			return -1;
		}
		c = memchr(whole.s, ',', whole.len);
		f[n].s = whole.s;
		f[n].len = c != NULL ? (size_t)(c - whole.s) : whole.len;
		trim(&f[n]);
		if (c == NULL)
			break;
		whole.len -= (size_t)(c - whole.s) + 1;
		whole.s = c + 1;
	}
	return (int)n + 1;
}

int
csvrow_is(const struct csvrow_field *f, const char *lit)
{
	return strlen(lit) == f->len && memcmp(f->s, lit, f->len) == 0;
}
