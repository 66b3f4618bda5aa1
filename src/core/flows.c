#include "core/flows.h"

#include <stdlib.h>

#include "core/csvrow.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

struct flows *
flows_parse(const char *buf, size_t len, size_t *line, const char **errstr)
{
	struct flows *fl = xcalloc(1, sizeof(*fl));
	struct csvrow r;
	struct csvrow_field f[2];
	size_t cap = 0;
	int n, first = 1;

	csvrow_init(&r, buf, len);
	while ((n = csvrow_next(&r, f, 2, errstr)) > 0) {
		if (first && n == 2 && csvrow_is(&f[0], "date") && csvrow_is(&f[1], "amount")) {
			first = 0;
			continue;
		}
		first = 0;
		if (n != 2) {
			*errstr = "expected date,amount";
			goto fail;
		}
		if (fl->n == cap) {
			cap = cap ? 2 * cap : 16;
			fl->v = xreallocarray(fl->v, cap, sizeof(*fl->v));
		}
		if (time_parse_date(f[0].s, f[0].len, &fl->v[fl->n].day) == -1) {
			*errstr = "date: expected YYYY-MM-DD";
			goto fail;
		}
		if (dec_parse(f[1].s, f[1].len, &fl->v[fl->n].amount, errstr) == -1)
			goto fail;
		fl->n++;
	}
	if (n == 0)
		return fl;
fail:
	*line = r.line;
	flows_free(fl);
	return NULL;
}

void
flows_free(struct flows *f)
{
	if (f == NULL)
		return;
	free(f->v);
	free(f);
}
