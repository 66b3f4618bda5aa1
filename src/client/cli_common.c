#include "client/cli.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/series.h"
#include "util/file.h"

int
cli_error(const char *cmd, int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "perfagg %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int
cli_read_series(const char *cmd, const char *path, struct series *s)
{
	const char *errstr = NULL, *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	uint8_t *buf;
	size_t len, lineno;

	if ((buf = file_read_all(path, CLI_SERIES_MAX, &len, &errstr)) == NULL)
		return cli_error(cmd, CLI_USAGE, "%s: %s", name, errstr);
	if (series_parse(s, (const char *)buf, len, &lineno, &errstr) == -1) {
		free(buf);
		return cli_error(cmd, CLI_USAGE, "%s:%zu: %s", name, lineno, errstr);
	}
	free(buf);
	return CLI_OK;
}
