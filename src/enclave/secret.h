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

/*
 * From now on, the last release leaves a secret's pages open for up to ms
 * more (twice that at worst) and a background thread closes them once idle:
 * a secret in constant use (the enclave key during a burst of registrations,
 * a vault arena during polling) is then not opened and closed, two
 * mprotect calls and TLB shootdowns, per use. The bytes stay mlocked, guarded
 * and out of core dumps; only the PROT_NONE while idle is delayed. ms == 0
 * or never calling this: close at the last release. Returns 0 or -1.
 */
int secret_linger_start(unsigned ms);

/* Stops lingering: closes every open secret no one uses. */
void secret_linger_stop(void);

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
 * keeps a pointer past the release. Unlike other secrets it stays readable
 * while idle: it holds nothing then (wiped), and opening and closing it per
 * request cost two mprotect calls, each a TLB shootdown on every core
 * running one of our threads. It keeps its guard pages, mlock and exclusion
 * from core dumps. */
#define SECRET_SCRATCH_BYTES 16384
struct secret *secret_scratch(void);

/* Zeroes the bytes (s stays allocated). */
void secret_wipe(struct secret *s);

#endif
