#include "enclave/secret.h"

#include <stdlib.h>
#include <pthread.h>
#include <sodium.h>

#include "util/log.h"
#include "util/xalloc.h"

struct secret {
	pthread_mutex_t mu;
	unsigned users;
	size_t len;
	uint8_t *bytes;	/* sodium_malloc'd */
};

int
secret_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

struct secret *
secret_new(size_t len)
{
	struct secret *s;

	if (len == 0)
		fatalx("secret_new: zero length");
	s = xcalloc(1, sizeof(*s));
	s->bytes = sodium_malloc(len);
	if (s->bytes == NULL)
		fatalx("sodium_malloc(%zu) failed", len);
	sodium_memzero(s->bytes, len);
	s->len = len;
	pthread_mutex_init(&s->mu, NULL);
	if (sodium_mprotect_noaccess(s->bytes) != 0)
		fatalx("sodium_mprotect_noaccess failed");
	return s;
}

void
secret_free(struct secret *s)
{
	if (s == NULL)
		return;
	if (s->users != 0)
		fatalx("secret_free while in use");
	/* sodium_free opens the pages, wipes them and unmaps them. */
	sodium_free(s->bytes);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

size_t
secret_len(const struct secret *s)
{
	return s->len;
}

uint8_t *
secret_acquire(struct secret *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->users++ == 0 && sodium_mprotect_readwrite(s->bytes) != 0)
		fatalx("sodium_mprotect_readwrite failed");
	pthread_mutex_unlock(&s->mu);
	return s->bytes;
}

void
secret_release(struct secret *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->users == 0)
		fatalx("secret_release without acquire");
	if (--s->users == 0 && sodium_mprotect_noaccess(s->bytes) != 0)
		fatalx("sodium_mprotect_noaccess failed");
	pthread_mutex_unlock(&s->mu);
}

void
secret_wipe(struct secret *s)
{
	sodium_memzero(secret_acquire(s), s->len);
	secret_release(s);
}

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void
scratch_destroy(void *p)
{
	secret_free(p);
}

static void
scratch_init(void)
{
	if (pthread_key_create(&scratch_key, scratch_destroy) != 0)
		fatalx("pthread_key_create failed");
}

struct secret *
secret_scratch(void)
{
	struct secret *s;

	pthread_once(&scratch_once, scratch_init);
	s = pthread_getspecific(scratch_key);
	if (s == NULL) {
		s = secret_new(SECRET_SCRATCH_BYTES);
		if (pthread_setspecific(scratch_key, s) != 0)
			fatalx("pthread_setspecific failed");
	}
	return s;
}
