#include "server/ratelimit.h"

#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include "core/prim.h"
#include "util/bmap.h"
#include "util/xalloc.h"

struct window {
	int64_t start_ms;
	int64_t count;
};

struct ratelimit {
	pthread_mutex_t mu;
	struct bmap *clients;
	int64_t max, window_ms;
	size_t sweep_at;	/* sweep idle entries when the table reaches this size */
	uint8_t salt[32];
};

struct ratelimit *
ratelimit_new(int64_t max, int64_t window_ms)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	pthread_mutex_init(&rl->mu, NULL);
	rl->clients = bmap_new();
	rl->max = max;
	rl->window_ms = window_ms;
	rl->sweep_at = 1024;
	prim_random(rl->salt, sizeof(rl->salt));
	return rl;
}

static bool
drop_all(void *arg, const uint8_t *key, void *val)
{
	free(val);
	return true;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	bmap_sweep(rl->clients, drop_all, NULL);
	bmap_free(rl->clients);
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

struct idle_arg {
	int64_t now_ms, window_ms;
};

static bool
drop_idle(void *arg, const uint8_t *key, void *val)
{
	struct idle_arg *a = arg;
	struct window *w = val;

	if (a->now_ms - w->start_ms < a->window_ms)
		return false;
	free(w);
	return true;
}

int
ratelimit_take(struct ratelimit *rl, const void *addr, size_t addr_len, int64_t now_ms, int64_t *retry_after_s)
{
	uint8_t buf[32 + 64], key[32];
	struct window *w;
	int rc = 0;

	if (addr_len > 64)
		addr_len = 64;
	memcpy(buf, rl->salt, 32);
	memcpy(buf + 32, addr, addr_len);
	prim_sha256(key, buf, 32 + addr_len);

	pthread_mutex_lock(&rl->mu);
	w = bmap_get(rl->clients, key);
	if (w == NULL) {
		if (bmap_count(rl->clients) >= rl->sweep_at) {
			struct idle_arg a = { now_ms, rl->window_ms };
			bmap_sweep(rl->clients, drop_idle, &a);
			/* Next sweep when the table has doubled from what is live. */
			rl->sweep_at = bmap_count(rl->clients) * 2 > 1024 ? bmap_count(rl->clients) * 2 : 1024;
		}
		w = xcalloc(1, sizeof(*w));
		w->start_ms = now_ms;
		bmap_put(rl->clients, key, w);
	} else if (now_ms - w->start_ms >= rl->window_ms || now_ms < w->start_ms) {
		w->start_ms = now_ms;
		w->count = 0;
	}
	if (w->count >= rl->max) {
		int64_t left = w->start_ms + rl->window_ms - now_ms;
		*retry_after_s = left <= 0 ? 1 : (left + 999) / 1000;
		rc = -1;
	} else
		w->count++;
	pthread_mutex_unlock(&rl->mu);
	return rc;
}

size_t
ratelimit_tracked(struct ratelimit *rl)
{
	size_t n;

	pthread_mutex_lock(&rl->mu);
	n = bmap_count(rl->clients);
	pthread_mutex_unlock(&rl->mu);
	return n;
}
