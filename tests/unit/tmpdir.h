/*
 * tmpdir: a private temporary directory per test program, for tests that
 * write files. Header-only (static functions) because each test is its own
 * executable. Use tmpdir_setup/tmpdir_teardown as cmocka group fixtures.
 */
#ifndef PERFAGG_TESTS_TMPDIR_H
#define PERFAGG_TESTS_TMPDIR_H

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static char tmpdir_path_buf[64];

/* Creates /tmp/perfagg-test-XXXXXX. Returns 0 or -1 (cmocka fixture). */
static inline int
tmpdir_setup(void **state)
{
	(void)state;
	strcpy(tmpdir_path_buf, "/tmp/perfagg-test-XXXXXX");
	return mkdtemp(tmpdir_path_buf) != NULL ? 0 : -1;
}

/* Removes the directory and everything in it. */
static inline int
tmpdir_teardown(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir_path_buf);
	int rc = system(cmd);

	(void)state;
	free(cmd);
	return rc == 0 ? 0 : -1;
}

/* The directory itself. */
static inline const char *
tmpdir(void)
{
	return tmpdir_path_buf;
}

/* A fresh "<dir>/<name>" the caller frees. */
static inline char *
tmpdir_file(const char *name)
{
	return xasprintf("%s/%s", tmpdir_path_buf, name);
}

#endif
