#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "util/log.h"

static void
test_level_parse(void **state)
{
	enum log_level l = LOG_ERROR;

	(void)state;
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_DEBUG);
	assert_int_equal(log_level_parse("info", &l), 0);
	assert_int_equal(l, LOG_INFO);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_WARN);
	assert_int_equal(log_level_parse("warning", &l), 0);
	assert_int_equal(l, LOG_WARN);
	assert_int_equal(log_level_parse("error", &l), 0);
	assert_int_equal(l, LOG_ERROR);
	l = LOG_INFO;
	assert_int_equal(log_level_parse("", &l), -1);
	assert_int_equal(log_level_parse("INFO", &l), -1);
	assert_int_equal(log_level_parse("info ", &l), -1);
	assert_int_equal(log_level_parse("fatal", &l), -1);
	assert_int_equal(log_level_parse("deb", &l), -1);
	assert_int_equal(l, LOG_INFO);	/* untouched on failure */
}

static void
test_enabled(void **state)
{
	(void)state;
	log_set_level(LOG_WARN);
	assert_false(log_enabled(LOG_DEBUG));
	assert_false(log_enabled(LOG_INFO));
	assert_true(log_enabled(LOG_WARN));
	assert_true(log_enabled(LOG_ERROR));
	log_set_level(LOG_DEBUG);
	assert_true(log_enabled(LOG_DEBUG));
	log_set_level(LOG_INFO);
}

/* Known answers: the first 6 bytes of SHA-256 (FIPS 180-2 "abc", and the
 * empty string). */
static void
test_short_hash(void **state)
{
	char out[13];

	(void)state;
	memset(out, 'x', sizeof(out));
	log_short_hash(out, "abc", 3);
	assert_string_equal(out, "ba7816bf8f01");
	log_short_hash(out, "", 0);
	assert_string_equal(out, "e3b0c44298fc");
	log_short_hash(out, "session", 7);
	assert_string_equal(out, "3f3af1ecebbd");
}

/* Runs log_event with stderr redirected to a file; returns what was written. */
static char *
capture(enum log_level level, const char *event, int with_fields)
{
	char path[] = "/tmp/perfagg-test-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	char *buf = calloc(1, 4096);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	unlink(path);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	if (with_fields == 1)
		log_event(level, event, "{s:s, s:i}", "who", "a\"b\n", "n", 7);
	else if (with_fields == 2)
		log_event(level, event, "{s:s", "broken", "format");	/* a bug, reported in the line */
	else
		log_event(level, event, NULL);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, 4095, 0);
	close(fd);
	assert_true(n >= 0);
	return buf;
}

static void
test_event_line(void **state)
{
	json_t *j;
	char *s;
	size_t len;

	(void)state;
	log_set_level(LOG_INFO);
	s = capture(LOG_INFO, "something", 1);
	len = strlen(s);
	assert_true(len > 1);
	assert_int_equal(s[len - 1], '\n');	/* exactly one line */
	assert_ptr_equal(strchr(s, '\n'), s + len - 1);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
	assert_string_equal(json_string_value(json_object_get(j, "event")), "something");
	assert_string_equal(json_string_value(json_object_get(j, "who")), "a\"b\n");	/* escaped by jansson */
	assert_int_equal(json_integer_value(json_object_get(j, "n")), 7);
	assert_int_equal(strlen(json_string_value(json_object_get(j, "ts"))), 24);
	json_decref(j);
	free(s);

	s = capture(LOG_DEBUG, "hidden", 1);	/* below the level: nothing */
	assert_string_equal(s, "");
	free(s);

	s = capture(LOG_ERROR, "bad_format", 2);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "bad_format");
	assert_true(json_is_string(json_object_get(j, "log_format_error")));
	json_decref(j);
	free(s);

	s = capture(LOG_WARN, "plain", 0);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
	assert_int_equal(json_object_size(j), 3);
	json_decref(j);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_enabled),
		cmocka_unit_test(test_short_hash),
		cmocka_unit_test(test_event_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
