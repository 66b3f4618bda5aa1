#include "util/bmap.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct entry {
	struct entry *next;
	void *val;
	uint8_t key[BMAP_KEY_BYTES];
};

struct bmap {
	struct entry **buckets;
	size_t mask;	/* bucket count - 1, a power of two minus one */
	size_t count;
};

static size_t
index_of(const struct bmap *m, const uint8_t *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & m->mask;
}

struct bmap *
bmap_new(void)
{
	struct bmap *m = xcalloc(1, sizeof(*m));

	m->mask = 63;
	m->buckets = xcalloc(m->mask + 1, sizeof(*m->buckets));
	return m;
}

void
bmap_free(struct bmap *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i <= m->mask; i++) {
		struct entry *e = m->buckets[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static struct entry **
find(const struct bmap *m, const uint8_t *key)
{
	struct entry **pp = &m->buckets[index_of(m, key)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if (CRYPTO_memcmp((*pp)->key, key, BMAP_KEY_BYTES) == 0)
			return pp;
	return NULL;
}

void *
bmap_get(const struct bmap *m, const uint8_t key[BMAP_KEY_BYTES])
{
	struct entry **pp = find(m, key);

	return pp != NULL ? (*pp)->val : NULL;
}

static void
grow(struct bmap *m)
{
	size_t oldn = m->mask + 1;
	struct entry **old = m->buckets;

	m->mask = oldn * 2 - 1;
	m->buckets = xcalloc(m->mask + 1, sizeof(*m->buckets));
	for (size_t i = 0; i < oldn; i++) {
		struct entry *e = old[i], *next;
		for (; e != NULL; e = next) {
			size_t j = index_of(m, e->key);
			next = e->next;
			e->next = m->buckets[j];
			m->buckets[j] = e;
		}
	}
	free(old);
}

int
bmap_put(struct bmap *m, const uint8_t key[BMAP_KEY_BYTES], void *val)
{
	struct entry *e;
	size_t i;

	if (find(m, key) != NULL)
		return -1;
	if (m->count >= m->mask + 1)
		grow(m);
	e = xmalloc(sizeof(*e));
	memcpy(e->key, key, BMAP_KEY_BYTES);
	e->val = val;
	i = index_of(m, key);
	e->next = m->buckets[i];
	m->buckets[i] = e;
	m->count++;
	return 0;
}

void *
bmap_del(struct bmap *m, const uint8_t key[BMAP_KEY_BYTES])
{
	struct entry **pp = find(m, key), *e;
	void *val;

	if (pp == NULL)
		return NULL;
	e = *pp;
	*pp = e->next;
	val = e->val;
	OPENSSL_cleanse(e->key, sizeof(e->key));
	free(e);
	m->count--;
	return val;
}

size_t
bmap_count(const struct bmap *m)
{
	return m->count;
}

size_t
bmap_sweep(struct bmap *m, bool (*fn)(void *arg, const uint8_t *key, void *val), void *arg)
{
	size_t removed = 0;

	for (size_t i = 0; i <= m->mask; i++) {
		struct entry **pp = &m->buckets[i];
		while (*pp != NULL) {
			struct entry *e = *pp;
			if (fn(arg, e->key, e->val)) {
				*pp = e->next;
				OPENSSL_cleanse(e->key, sizeof(e->key));
				free(e);
				m->count--;
				removed++;
			} else
				pp = &e->next;
		}
	}
	return removed;
}
