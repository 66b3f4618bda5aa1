/*
 * xalloc: allocation that cannot fail. Out of memory is not bad input, it is an
 * unrecoverable state, so these abort (OpenBSD x* convention) and callers never
 * juggle NULL from malloc. Memory for secrets does not come from here: see
 * enclave/secret.h.
 */
#ifndef PERFAGG_UTIL_XALLOC_H
#define PERFAGG_UTIL_XALLOC_H

#include <stddef.h>

/* Each returns memory the caller frees with free(); none returns NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows an array to nmemb elements of size bytes, checking the product for overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
