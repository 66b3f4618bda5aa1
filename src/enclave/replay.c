#include "enclave/replay.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/prim.h"
#include "util/log.h"
#include "util/xalloc.h"

#define LABEL "perfagg/replay/v1"
#define SWEEP_EVERY 1024		/* claims between sweeps of the expired ones */

struct replay {
	struct store *st;
	int64_t window_ms;
	atomic_uint claims;
};

struct replay *
replay_new(struct store *st, int64_t window_ms)
{
	struct replay *r = xcalloc(1, sizeof(*r));

	if (st == NULL || window_ms <= 0)
		fatalx("replay_new: no store or no window");
	r->st = st;
	r->window_ms = window_ms;
	atomic_init(&r->claims, 0);
	return r;
}

void
replay_free(struct replay *r)
{
	free(r);
}

int64_t
replay_window_ms(const struct replay *r)
{
	return r->window_ms;
}

bool
replay_fresh(const struct replay *r, int64_t ts_ms, int64_t now_ms)
{
	return ts_ms >= now_ms - r->window_ms && ts_ms <= now_ms + r->window_ms;
}

static void
key_of(const uint8_t pub[32], uint8_t key[STORE_KEY_BYTES])
{
	uint8_t buf[sizeof(LABEL) - 1 + 32];

	memcpy(buf, LABEL, sizeof(LABEL) - 1);
	memcpy(buf + sizeof(LABEL) - 1, pub, 32);
	prim_sha256(key, buf, sizeof(buf));
}

int
replay_seen(struct replay *r, const uint8_t pub[32], int64_t now_ms, const char **errstr)
{
	uint8_t key[STORE_KEY_BYTES];

	key_of(pub, key);
	return r->st->ops->claimed(r->st, key, now_ms, errstr);
}

int
replay_claim(struct replay *r, const uint8_t pub[32], int64_t ts_ms, int64_t now_ms, const char **errstr)
{
	uint8_t key[STORE_KEY_BYTES];
	const char *e = NULL;

	key_of(pub, key);
	/* held while the envelope is fresh: until ts + window, inclusive */
	if (atomic_fetch_add(&r->claims, 1) % SWEEP_EVERY == SWEEP_EVERY - 1 &&
	    r->st->ops->sweep(r->st, now_ms, &e) < 0)
		log_event(LOG_WARN, "replay_sweep_failed", "{s:s}", "error", e);
	return r->st->ops->claim(r->st, key, ts_ms + r->window_ms + 1, now_ms, errstr);
}
