#include "enclave/secret.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <pthread.h>
#include <sodium.h>

#include "util/log.h"
#include "util/xalloc.h"

struct secret {
	pthread_mutex_t mu;
	unsigned users;
	bool open;		/* a scratch buffer: never PROT_NONE (secret.h) */
	bool lingering;		/* readable with no user, on the linger list */
	int64_t last_ns;	/* last release, monotonic */
	struct secret *lprev, *lnext;
	size_t len;
	uint8_t *bytes;	/* sodium_malloc'd */
};

/*
 * Lingering (secret_linger_start): the last release leaves the pages open
 * and the closer thread closes them once they were idle for linger_ns. A
 * secret used many times a second (the enclave key during a burst of
 * registrations, a vault arena during a poll) then costs no mprotect per use:
 * each mprotect is a TLB shootdown on every core running one of our threads.
 * Lock order: a secret's mu, then linger_mu; the closer holds linger_mu and
 * only tries a secret's mu.
 */
static pthread_mutex_t linger_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t linger_cv = PTHREAD_COND_INITIALIZER;
static struct secret *linger_head;
static int64_t linger_ns;		/* 0: close at the last release */
static bool closer_running, closer_stop;
static pthread_t closer;

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
linger_unlink(struct secret *s)
{
	if (s->lprev != NULL)
		s->lprev->lnext = s->lnext;
	else
		linger_head = s->lnext;
	if (s->lnext != NULL)
		s->lnext->lprev = s->lprev;
	s->lprev = s->lnext = NULL;
	s->lingering = false;
}

/* Closes every lingering secret idle for at least min_idle_ns (0: all that
 * are not in use). Called with linger_mu held. */
static void
linger_sweep(int64_t min_idle_ns)
{
	int64_t now = mono_ns();
	struct secret *s = linger_head, *next;

	for (; s != NULL; s = next) {
		next = s->lnext;
		if (pthread_mutex_trylock(&s->mu) != 0)
			continue;	/* in use right now: next round */
		if (s->users == 0 && now - s->last_ns >= min_idle_ns) {
			if (sodium_mprotect_noaccess(s->bytes) != 0)
				fatalx("sodium_mprotect_noaccess failed");
			linger_unlink(s);
		} else if (s->users > 0)
			linger_unlink(s);	/* open by its users; the last release relinks it */
		pthread_mutex_unlock(&s->mu);
	}
}

static void *
closer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&linger_mu);
	while (!closer_stop) {
		struct timespec until;
		int64_t t;

		clock_gettime(CLOCK_REALTIME, &until);
		t = (int64_t)until.tv_nsec + linger_ns;
		until.tv_sec += t / 1000000000;
		until.tv_nsec = t % 1000000000;
		pthread_cond_timedwait(&linger_cv, &linger_mu, &until);
		linger_sweep(linger_ns);
	}
	pthread_mutex_unlock(&linger_mu);
	return NULL;
}

int
secret_linger_start(unsigned ms)
{
	int rc = 0;

	pthread_mutex_lock(&linger_mu);
	if (ms > 0 && !closer_running) {
		linger_ns = (int64_t)ms * 1000000;
		closer_stop = false;
		if (pthread_create(&closer, NULL, closer_main, NULL) != 0) {
			linger_ns = 0;
			rc = -1;
		} else {
			pthread_setname_np(closer, "secret-closer");
			closer_running = true;
		}
	}
	pthread_mutex_unlock(&linger_mu);
	return rc;
}

void
secret_linger_stop(void)
{
	pthread_mutex_lock(&linger_mu);
	if (!closer_running) {
		pthread_mutex_unlock(&linger_mu);
		return;
	}
	closer_stop = true;
	linger_ns = 0;
	pthread_cond_signal(&linger_cv);
	pthread_mutex_unlock(&linger_mu);
	pthread_join(closer, NULL);
	pthread_mutex_lock(&linger_mu);
	closer_running = false;
	linger_sweep(0);
	pthread_mutex_unlock(&linger_mu);
}

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
	pthread_mutex_lock(&linger_mu);
	if (s->lingering)
		linger_unlink(s);
	pthread_mutex_unlock(&linger_mu);
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
	if (s->open)
		return s->bytes;	/* one thread's; see secret_scratch() */
	pthread_mutex_lock(&s->mu);
	if (s->users++ == 0 && !s->lingering && sodium_mprotect_readwrite(s->bytes) != 0)
		fatalx("sodium_mprotect_readwrite failed");
	pthread_mutex_unlock(&s->mu);
	return s->bytes;
}

void
secret_release(struct secret *s)
{
	if (s->open)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->users == 0)
		fatalx("secret_release without acquire");
	if (--s->users == 0) {
		pthread_mutex_lock(&linger_mu);
		if (linger_ns > 0) {
			s->last_ns = mono_ns();
			if (!s->lingering) {
				s->lingering = true;
				s->lnext = linger_head;
				if (linger_head != NULL)
					linger_head->lprev = s;
				linger_head = s;
			}
		} else if (s->lingering)
			linger_unlink(s);	/* still open: closed just below */
		pthread_mutex_unlock(&linger_mu);
		if (!s->lingering && sodium_mprotect_noaccess(s->bytes) != 0)
			fatalx("sodium_mprotect_noaccess failed");
	}
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
		if (sodium_mprotect_readwrite(s->bytes) != 0)
			fatalx("sodium_mprotect_readwrite failed");
		s->open = true;
		if (pthread_setspecific(scratch_key, s) != 0)
			fatalx("pthread_setspecific failed");
	}
	return s;
}
