/*
 * testvec: helpers shared by unit tests to load data files.
 * Header-only (static functions) because each test is its own executable.
 * Include it after <cmocka.h>.
 */
#ifndef PERFAGG_TESTS_TESTVEC_H
#define PERFAGG_TESTS_TESTVEC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/file.h"
#include "util/xalloc.h"

/* Reads <shared>/<rel> (up to 1 MiB) into a fresh buffer the caller frees;
 * aborts the test program when the file is missing. <shared> is
 * $PERFAGG_SHARED_DIR, or else the first "shared" directory found next to an
 * ancestor of $PERFAGG_SOURCE_DIR: a git worktree under .wt/ sits deeper than
 * the main checkout, so ../shared from it does not exist. */
static inline uint8_t *
testvec_shared(const char *rel, size_t *len)
{
	const char *dir = getenv("PERFAGG_SHARED_DIR"), *src = getenv("PERFAGG_SOURCE_DIR");
	const char *err = NULL;
	char *path = xasprintf("%s/%s", dir ? dir : "../shared", rel);
	char *base = src ? xstrdup(src) : NULL, *up;
	uint8_t *buf;

	for (int i = 0; i < 4 && base != NULL && access(path, R_OK) != 0; i++) {
		free(path);
		path = xasprintf("%s/../shared/%s", base, rel);
		up = xasprintf("%s/..", base);
		free(base);
		base = up;
	}
	if ((buf = file_read_all(path, 1 << 20, len, &err)) == NULL) {
		fprintf(stderr, "testvec: %s: %s\n", path, err);
		abort();
	}
	free(path);
	free(base);
	return buf;
}

/* Returns a malloc'd copy of exactly len bytes (no slack, so ASan catches any
 * read past the end). */
static inline uint8_t *
testvec_dup(const uint8_t *buf, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p == NULL)
		abort();
	if (len)
		memcpy(p, buf, len);
	return p;
}

/* Asserts that (got, len) equals the bytes the hex string spells (decoded
 * with OpenSSL, independently of core/hex). */
static inline void
testvec_assert_hex(const uint8_t *got, size_t len, const char *hex)
{
	long n = 0;
	unsigned char *want = OPENSSL_hexstr2buf(hex, &n);

	assert_non_null(want);
	assert_int_equal((size_t)n, len);
	assert_memory_equal(got, want, len);
	OPENSSL_free(want);
}

#endif
