/*
 * bmap: a hash map from 32-byte keys to pointers.
 *
 * Keys must already be uniformly distributed (random ids, or hashes keyed
 * with a secret salt when the input is attacker-chosen): the bucket index is
 * taken from the key's first bytes, so no hash function runs here. Key
 * comparison is constant time (the keys may be bearer secrets).
 * The map does not own values. NOT thread-safe: callers lock.
 */
#ifndef PERFAGG_UTIL_BMAP_H
#define PERFAGG_UTIL_BMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BMAP_KEY_BYTES 32

struct bmap;

struct bmap *bmap_new(void);
/* Frees the map (not the values); NULL is a no-op. */
void bmap_free(struct bmap *m);

/* Returns the value under key, or NULL. */
void *bmap_get(const struct bmap *m, const uint8_t key[BMAP_KEY_BYTES]);
/* Inserts key -> val (val non-NULL). Returns 0, or -1 if key is present (map unchanged). */
int bmap_put(struct bmap *m, const uint8_t key[BMAP_KEY_BYTES], void *val);
/* Removes key and returns its value, or NULL if absent. */
void *bmap_del(struct bmap *m, const uint8_t key[BMAP_KEY_BYTES]);
size_t bmap_count(const struct bmap *m);

/* Calls fn(arg, key, val) for every entry; when fn returns true the entry is
 * removed (fn then owns val). Returns the number removed. */
size_t bmap_sweep(struct bmap *m, bool (*fn)(void *arg, const uint8_t *key, void *val), void *arg);

#endif
