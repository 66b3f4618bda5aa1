#include "enclave/vault.h"

#include <stdlib.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "enclave/secret.h"
#include "util/log.h"
#include "util/xalloc.h"

/*
 * Slot layout: three fields, each a little-endian u16 length, the bytes and a
 * NUL. The lengths are in the slot too, so nothing about a credential, not
 * even its size, lives outside guarded memory.
 */
#define FIELD_OVERHEAD 3

struct arena {
	struct secret *mem;
	bool used[VAULT_ARENA_SLOTS];
};

struct vault {
	pthread_mutex_t mu;
	struct arena **arenas;
	size_t narenas;
	uint32_t *free_slots;	/* stack of free handles */
	size_t nfree;
	size_t count;
};

struct vault *
vault_new(void)
{
	struct vault *v = xcalloc(1, sizeof(*v));

	pthread_mutex_init(&v->mu, NULL);
	return v;
}

void
vault_free(struct vault *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->narenas; i++) {
		secret_free(v->arenas[i]->mem);
		free(v->arenas[i]);
	}
	free(v->arenas);
	free(v->free_slots);
	pthread_mutex_destroy(&v->mu);
	free(v);
}

static uint8_t *
put_field(uint8_t *p, const char *s, size_t len)
{
	p[0] = (uint8_t)(len & 0xff);
	p[1] = (uint8_t)(len >> 8);
	if (len > 0)
		memcpy(p + 2, s, len);
	p[2 + len] = '\0';
	return p + 2 + len + 1;
}

static const uint8_t *
get_field(const uint8_t *p, const char **s, size_t *len)
{
	*len = (size_t)p[0] | (size_t)p[1] << 8;
	*s = (const char *)p + 2;
	return p + 2 + *len + 1;
}

/* Pops a free slot, growing by one arena when none is left. Called locked. */
static uint32_t
alloc_slot(struct vault *v)
{
	struct arena *a;
	uint32_t base, h;

	if (v->nfree == 0) {
		a = xcalloc(1, sizeof(*a));
		a->mem = secret_new((size_t)VAULT_SLOT_BYTES * VAULT_ARENA_SLOTS);
		v->arenas = xreallocarray(v->arenas, v->narenas + 1, sizeof(*v->arenas));
		v->arenas[v->narenas++] = a;
		v->free_slots = xreallocarray(v->free_slots, v->narenas * VAULT_ARENA_SLOTS, sizeof(uint32_t));
		base = (uint32_t)(v->narenas - 1) * VAULT_ARENA_SLOTS;
		/* Pushed in reverse so the lowest slot is used first. */
		for (uint32_t j = VAULT_ARENA_SLOTS; j-- > 0;)
			v->free_slots[v->nfree++] = base + j;
	}
	h = v->free_slots[--v->nfree];
	v->arenas[h / VAULT_ARENA_SLOTS]->used[h % VAULT_ARENA_SLOTS] = true;
	return h;
}

static struct arena *
arena_of(struct vault *v, uint32_t handle, uint32_t *slot)
{
	size_t i = handle / VAULT_ARENA_SLOTS;

	*slot = handle % VAULT_ARENA_SLOTS;
	if (i >= v->narenas || !v->arenas[i]->used[*slot])
		fatalx("vault: handle %u is not in use", handle);
	return v->arenas[i];
}

int
vault_put(struct vault *v, const struct credential *c, uint32_t *handle, const char **errstr)
{
	size_t need = 3 * FIELD_OVERHEAD + c->api_key_len + c->secret_len + c->passphrase_len;
	struct arena *a;
	uint32_t h, slot;
	uint8_t *base, *p;

	if (need > VAULT_SLOT_BYTES || c->api_key_len > 0xffff || c->secret_len > 0xffff ||
	    c->passphrase_len > 0xffff) {
		*errstr = "credential too large";
		return -1;
	}
	pthread_mutex_lock(&v->mu);
	h = alloc_slot(v);
	a = arena_of(v, h, &slot);
	v->count++;
	pthread_mutex_unlock(&v->mu);

	/* The arena pointer is stable: arenas are only added, never moved or freed. */
	base = secret_acquire(a->mem) + (size_t)slot * VAULT_SLOT_BYTES;
	p = put_field(base, c->api_key, c->api_key_len);
	p = put_field(p, c->secret, c->secret_len);
	put_field(p, c->passphrase, c->passphrase_len);
	secret_release(a->mem);
	*handle = h;
	return 0;
}

int
vault_use(struct vault *v, uint32_t handle, int (*fn)(void *arg, const struct credential *c), void *arg)
{
	struct credential c;
	struct arena *a;
	const uint8_t *p;
	uint32_t slot;
	int rc;

	pthread_mutex_lock(&v->mu);
	a = arena_of(v, handle, &slot);
	pthread_mutex_unlock(&v->mu);
	p = secret_acquire(a->mem) + (size_t)slot * VAULT_SLOT_BYTES;
	p = get_field(p, &c.api_key, &c.api_key_len);
	p = get_field(p, &c.secret, &c.secret_len);
	get_field(p, &c.passphrase, &c.passphrase_len);
	rc = fn(arg, &c);
	secret_release(a->mem);
	return rc;
}

void
vault_erase(struct vault *v, uint32_t handle)
{
	struct arena *a;
	uint32_t slot;

	pthread_mutex_lock(&v->mu);
	a = arena_of(v, handle, &slot);
	OPENSSL_cleanse(secret_acquire(a->mem) + (size_t)slot * VAULT_SLOT_BYTES, VAULT_SLOT_BYTES);
	secret_release(a->mem);
	a->used[slot] = false;
	v->free_slots[v->nfree++] = handle;
	v->count--;
	pthread_mutex_unlock(&v->mu);
}

size_t
vault_count(struct vault *v)
{
	size_t n;

	pthread_mutex_lock(&v->mu);
	n = v->count;
	pthread_mutex_unlock(&v->mu);
	return n;
}
