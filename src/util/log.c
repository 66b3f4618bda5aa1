#include "util/log.h"

#include <jansson.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/timeutil.h"

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	return -1;
}

void
log_set_level(enum log_level level)
{
	min_level = level;
}

bool
log_enabled(enum log_level level)
{
	return level >= min_level;
}

static void
emit(json_t *line)
{
	char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t n;

	if (s == NULL)
		return;
	n = strlen(s);
	s[n] = '\n';	/* json_dumps's NUL becomes the newline; one write(2) per line */
	(void)!write(STDERR_FILENO, s, n + 1);
	free(s);
}

static json_t *
header(const char *level, const char *event)
{
	char ts[TIME_ISO_LEN];

	time_format_iso_ms(ts, time_now_ms());
	return json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level, "event", event);
}

void
log_event(enum log_level level, const char *event, const char *fields, ...)
{
	json_t *line, *extra = NULL;
	json_error_t err;
	va_list ap;

	if (!log_enabled(level))
		return;
	line = header(level_names[level], event);
	if (line == NULL)
		return;
	if (fields != NULL) {
		va_start(ap, fields);
		extra = json_vpack_ex(&err, 0, fields, ap);
		va_end(ap);
		if (extra == NULL)
			json_object_set_new(line, "log_format_error", json_string(err.text));
		else
			json_object_update(line, extra);
	}
	emit(line);
	json_decref(extra);
	json_decref(line);
}

void
log_short_hash(char out[13], const void *buf, size_t len)
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(buf, len, md);
	for (int i = 0; i < 6; i++) {
		out[2 * i] = hexd[md[i] >> 4];
		out[2 * i + 1] = hexd[md[i] & 15];
	}
	out[12] = '\0';
}

void
fatalx(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *line;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line = header("fatal", "fatal");
	if (line != NULL) {
		json_object_set_new(line, "message", json_string(msg));
		emit(line);
	}
	abort();
}
