#include "exchange/pacing.h"

#include <string.h>

#include <openssl/evp.h>

#include "util/bmap.h"
#include "util/log.h"
#include "util/xalloc.h"

struct pacing {
	bool ip_pools, key_pools;
	struct bmap *budgets;		/* SHA-256(exchange, pool, limits[, key]) -> budget */
};

struct pacing *
pacing_new(bool ip_pools, bool key_pools)
{
	struct pacing *pc = xcalloc(1, sizeof(*pc));

	pc->ip_pools = ip_pools;
	pc->key_pools = key_pools;
	pc->budgets = bmap_new();
	return pc;
}

static bool
drop(void *arg, const uint8_t *key, void *val)
{
	(void)arg;
	(void)key;
	free(val);
	return true;
}

void
pacing_free(struct pacing *pc)
{
	if (pc == NULL)
		return;
	bmap_sweep(pc->budgets, drop, NULL);
	bmap_free(pc->budgets);
	free(pc);
}

static void
pool_id(const char *exchange, const struct xpool *pool, const uint8_t key_hash[32], uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;

	if (md == NULL)
		fatalx("pacing: out of memory");
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, exchange, strlen(exchange) + 1);
	EVP_DigestUpdate(md, pool->name, strlen(pool->name) + 1);
	/* Two sessions of one key that declare different limits (Kraken tiers)
	 * are paced apart rather than by whichever came first. */
	EVP_DigestUpdate(md, &pool->cap, sizeof(pool->cap));
	EVP_DigestUpdate(md, &pool->per_s, sizeof(pool->per_s));
	if (pool->per_key)
		EVP_DigestUpdate(md, key_hash, 32);
	EVP_DigestFinal_ex(md, out, &n);
	EVP_MD_CTX_free(md);
}

void
pacing_bind(struct pacing *pc, const char *exchange, const struct xpool *pools, size_t n,
    const uint8_t key_hash[32], struct pacing_set *out)
{
	uint8_t id[32];

	if (n > XPOOL_MAX)
		fatalx("pacing: %s declares %zu pools", exchange, n);
	memset(out, 0, sizeof(*out));
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		struct budget *b;

		if (pools[i].cap <= 0 || pools[i].per_s <= 0 || (pools[i].per_key ? !pc->key_pools : !pc->ip_pools))
			continue;
		pool_id(exchange, &pools[i], key_hash, id);
		if ((b = bmap_get(pc->budgets, id)) == NULL) {
			b = xcalloc(1, sizeof(*b));
			budget_set(b, pools[i].cap, pools[i].per_s);
			bmap_put(pc->budgets, id, b);
		}
		out->b[i] = b;
	}
}

static struct budget *
pool_of(const struct pacing_set *s, unsigned pool)
{
	if (pool >= XPOOL_MAX || (s->n > 0 && pool >= s->n))
		fatalx("pacing: pool %u of %zu", pool, s->n);
	return s->b[pool];
}

int64_t
pacing_blocked(const struct pacing_set *s, unsigned pool, int64_t now)
{
	return budget_blocked(pool_of(s, pool), now);
}

int64_t
pacing_reserve(const struct pacing_set *s, unsigned pool, double w, int64_t now)
{
	return budget_reserve(pool_of(s, pool), w, now);
}

void
pacing_block(const struct pacing_set *s, unsigned pool, int64_t until)
{
	struct budget *b = pool_of(s, pool);

	if (b != NULL && until > b->blocked_until)
		b->blocked_until = until;
}
