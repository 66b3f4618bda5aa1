/*
 * secret: the one container for secret bytes (enclave private keys,
 * decrypted envelopes, exchange credentials).
 *
 * Backed by sodium_malloc (guard pages on both sides, canary, mlock, never in
 * a core dump once the process is non-dumpable) and kept PROT_NONE while no
 * one uses it. Access is reference counted so threads may use one secret at
 * once: the first acquire opens the pages, the last release closes them.
 * secret_free() wipes before releasing. Never memcpy secret bytes to memory
 * that is not a struct secret, and wipe any stack copy before returning.
 * THREAD SAFETY: acquire/release are thread-safe; free is not (the owner
 * frees once no one else can reach it).
 */
#ifndef PERFAGG_ENCLAVE_SECRET_H
#define PERFAGG_ENCLAVE_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct secret;

/* Initialises libsodium; call once before any secret_new(). Returns 0 or -1. */
int secret_init(void);

/* Allocates len (>0) zeroed bytes, closed. Aborts if guarded memory cannot be
 * had: running on with secrets in ordinary memory is never right. */
struct secret *secret_new(size_t len);

/* Wipes and releases s; NULL is a no-op. */
void secret_free(struct secret *s);

size_t secret_len(const struct secret *s);

/* Opens s for reading and writing and returns its bytes; pair every call
 * with secret_release(). The pointer is valid until that release. */
uint8_t *secret_acquire(struct secret *s);
void secret_release(struct secret *s);

/* A guarded buffer of SECRET_SCRATCH_BYTES private to the calling thread,
 * for secrets that live only while one request is handled (a decrypted
 * envelope). Made on the thread's first call, freed when the thread exits:
 * a fresh sodium_malloc per request costs more than the request's crypto.
 * The caller acquires it, WIPES what it wrote before releasing, and never
 * keeps a pointer past the release. */
#define SECRET_SCRATCH_BYTES 16384
struct secret *secret_scratch(void);

/* Zeroes the bytes (s stays allocated). */
void secret_wipe(struct secret *s);

#endif
