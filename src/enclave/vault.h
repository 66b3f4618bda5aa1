/*
 * vault: the store of exchange credentials, in guarded memory.
 *
 * Credentials live in fixed-size slots inside guarded arenas (struct secret:
 * sodium_malloc, PROT_NONE while idle). Arenas rather than one allocation per
 * credential keep the number of memory mappings low with tens of thousands
 * of sessions (each sodium_malloc costs several mappings, and the kernel caps
 * them). Nothing outside this module sees a slot: callers get a handle and
 * use a credential through vault_use(), which opens the arena only for the
 * duration of the callback. Erasing wipes the slot at once.
 * THREAD SAFETY: all functions are thread-safe.
 */
#ifndef PERFAGG_ENCLAVE_VAULT_H
#define PERFAGG_ENCLAVE_VAULT_H

#include <stddef.h>
#include <stdint.h>

#define VAULT_SLOT_BYTES 2048
#define VAULT_ARENA_SLOTS 32

/* A credential as the vault hands it to vault_use() callbacks: every field is
 * NUL-terminated, passphrase_len is 0 when there is none. The pointers are
 * valid only during the callback; copy nothing out of it. */
struct credential {
	const char *api_key;
	size_t api_key_len;
	const char *secret;
	size_t secret_len;
	const char *passphrase;
	size_t passphrase_len;
};

struct vault;

struct vault *vault_new(void);
/* Wipes every credential and frees the vault; NULL is a no-op. */
void vault_free(struct vault *v);

/* Copies c into a free slot and returns its handle in *handle. Returns 0, or
 * -1 with *errstr if the credential does not fit a slot. */
int vault_put(struct vault *v, const struct credential *c, uint32_t *handle, const char **errstr);

/* Calls fn(arg, credential) with the credential under handle opened, and
 * returns what fn returns. An erased or unknown handle is a bug (aborts). */
int vault_use(struct vault *v, uint32_t handle, int (*fn)(void *arg, const struct credential *c), void *arg);

/* Wipes the slot now and frees it for reuse. */
void vault_erase(struct vault *v, uint32_t handle);

/* Number of credentials stored. */
size_t vault_count(struct vault *v);

#endif
