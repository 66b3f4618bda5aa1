#include "util/jsonmem.h"

#include <jansson.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <stdlib.h>

#include "util/log.h"

static void *
wiping_malloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL)
		fatalx("jansson allocation of %zu bytes failed", n);
	return p;
}

static void
wiping_free(void *p)
{
	if (p == NULL)
		return;
	/* The usable size covers every byte jansson could have written. */
	OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

void
jsonmem_install(void)
{
	json_set_alloc_funcs(wiping_malloc, wiping_free);
}
