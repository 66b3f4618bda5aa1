#include "enclave/replay.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/prim.h"
#include "util/bmap.h"
#include "util/xalloc.h"

struct replay {
	pthread_mutex_t mu;
	struct bmap *seen;
	uint8_t salt[32];
};

/* A non-NULL marker: the map stores presence only. */
static int present;

struct replay *
replay_new(void)
{
	struct replay *r = xcalloc(1, sizeof(*r));

	pthread_mutex_init(&r->mu, NULL);
	r->seen = bmap_new();
	prim_random(r->salt, sizeof(r->salt));
	return r;
}

void
replay_free(struct replay *r)
{
	if (r == NULL)
		return;
	bmap_free(r->seen);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void
key_of(const struct replay *r, const uint8_t pub[32], uint8_t key[32])
{
	uint8_t buf[64];

	memcpy(buf, r->salt, 32);
	memcpy(buf + 32, pub, 32);
	prim_sha256(key, buf, sizeof(buf));
}

bool
replay_seen(struct replay *r, const uint8_t pub[32])
{
	uint8_t key[32];
	bool seen;

	key_of(r, pub, key);
	pthread_mutex_lock(&r->mu);
	seen = bmap_get(r->seen, key) != NULL;
	pthread_mutex_unlock(&r->mu);
	return seen;
}

int
replay_record(struct replay *r, const uint8_t pub[32])
{
	uint8_t key[32];
	int rc;

	key_of(r, pub, key);
	pthread_mutex_lock(&r->mu);
	rc = bmap_put(r->seen, key, &present);
	pthread_mutex_unlock(&r->mu);
	return rc;
}
