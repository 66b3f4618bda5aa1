/*
 * collection: a session's collected state behind its own lock, and the
 * table readers find it in (its own read-write lock, never the poller's).
 */
#include <stdlib.h>
#include <string.h>

#include "exchange/collection.h"
#include "util/log.h"
#include "util/xalloc.h"

struct collection_table {
	pthread_rwlock_t lock;
	struct bmap *map;	/* sid -> collection (one reference each) */
};

const char *
poll_state_name(enum poll_state s)
{
	switch (s) {
	case POLL_VALIDATING:
		return "validating";
	case POLL_ACTIVE:
		return "active";
	case POLL_INVALID_CREDENTIALS:
		return "invalid_credentials";
	case POLL_REFUSED_PERMISSIONS:
		return "refused_permissions";
	case POLL_FAILED:
		return "failed";
	}
	return "unknown";
}

struct collection *
collection_new(const char *exchange, enum fill_market market)
{
	struct collection *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	c->ledger = ledger_new();
	c->holdings = holdings_new();
	c->exchange = exchange;
	c->market = market;
	c->st.state = POLL_VALIDATING;
	atomic_init(&c->state, POLL_VALIDATING);
	atomic_init(&c->refs, 1);
	return c;
}

void
collection_unref(struct collection *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	ledger_free(c->ledger);
	holdings_free(c->holdings);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
collection_set_state(struct collection *c, enum poll_state s)
{
	c->st.state = s;
	atomic_store(&c->state, (int)s);
}

struct collection_table *
collection_table_new(void)
{
	struct collection_table *t = xcalloc(1, sizeof(*t));

	if (pthread_rwlock_init(&t->lock, NULL) != 0)
		fatalx("collection: rwlock");
	t->map = bmap_new();
	return t;
}

static bool
drop(void *arg, const uint8_t *key, void *val)
{
	(void)arg;
	(void)key;
	collection_unref(val);
	return true;
}

void
collection_table_free(struct collection_table *t)
{
	if (t == NULL)
		return;
	bmap_sweep(t->map, drop, NULL);
	bmap_free(t->map);
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

int
collection_table_put(struct collection_table *t, const uint8_t sid[BMAP_KEY_BYTES], struct collection *c)
{
	int rc;

	pthread_rwlock_wrlock(&t->lock);
	rc = bmap_put(t->map, sid, c);
	if (rc == 0)
		atomic_fetch_add(&c->refs, 1);
	pthread_rwlock_unlock(&t->lock);
	return rc;
}

void
collection_table_del(struct collection_table *t, const uint8_t sid[BMAP_KEY_BYTES])
{
	struct collection *c;

	pthread_rwlock_wrlock(&t->lock);
	c = bmap_del(t->map, sid);
	pthread_rwlock_unlock(&t->lock);
	collection_unref(c);
}

struct collection *
collection_table_get(struct collection_table *t, const uint8_t sid[BMAP_KEY_BYTES])
{
	struct collection *c;

	pthread_rwlock_rdlock(&t->lock);
	c = bmap_get(t->map, sid);
	if (c != NULL)
		atomic_fetch_add(&c->refs, 1);
	pthread_rwlock_unlock(&t->lock);
	return c;
}

struct sids_arg {
	uint8_t (*sids)[BMAP_KEY_BYTES];
	size_t n;
	uint64_t *counts;
};

static bool
visit(void *arg, const uint8_t *key, void *val)
{
	struct sids_arg *a = arg;
	struct collection *c = val;

	if (a->sids != NULL)
		memcpy(a->sids[a->n++], key, BMAP_KEY_BYTES);
	if (a->counts != NULL) {
		int s = atomic_load(&c->state);
		if (s >= 0 && s < POLL_NSTATES)
			a->counts[s]++;
	}
	return false;
}

size_t
collection_table_sids(struct collection_table *t, uint8_t (**sids)[BMAP_KEY_BYTES])
{
	struct sids_arg a = { 0 };

	/* bmap_sweep with a visitor that never removes: a reader's walk */
	pthread_rwlock_rdlock(&t->lock);
	a.sids = xcalloc(bmap_count(t->map) + 1, BMAP_KEY_BYTES);
	bmap_sweep(t->map, visit, &a);
	pthread_rwlock_unlock(&t->lock);
	*sids = a.sids;
	return a.n;
}

void
collection_table_state_counts(struct collection_table *t, uint64_t counts[POLL_NSTATES])
{
	struct sids_arg a = { .counts = counts };

	memset(counts, 0, POLL_NSTATES * sizeof(counts[0]));
	pthread_rwlock_rdlock(&t->lock);
	bmap_sweep(t->map, visit, &a);
	pthread_rwlock_unlock(&t->lock);
}
