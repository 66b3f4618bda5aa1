/*
 * session_seal: sessions kept across restarts, sealed in the durable store
 * (store.h, STORE_SESSIONS), so that a restart or a kill -9 keeps every
 * session id working without the trader sending the key again.
 *
 * A session is one record, key SHA-256("perfagg/session/v1" || id), kept
 * until the session expires, holding
 *     nonce (12) || tag (16) || AES-256-GCM(K, nonce,
 *         AAD = "perfagg/session/v1" || record key, plaintext)
 * with K = keys_derive("perfagg/seal/sessions/v1"): the sealing root is the
 * enclave's private key files (dev provider; docs/DURABILITY.md), so only
 * an instance holding them can open a record, and a record cannot be moved
 * to another session's key. The plaintext (built and read in guarded
 * memory only, never in the ordinary heap) is a length-prefixed binary
 * record: version, id, created and expiry times, sandbox flag, then the
 * strings exchange, account type, label, user hash, tier, API key, secret
 * and passphrase. A session revoked, expired or whose key the exchange
 * refused is deleted (the store overwrites deleted bytes).
 *
 * THREAD SAFETY: all functions are thread-safe.
 */
#ifndef PERFAGG_ENCLAVE_SESSION_SEAL_H
#define PERFAGG_ENCLAVE_SESSION_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "enclave/keys.h"
#include "enclave/session.h"
#include "enclave/vault.h"
#include "store/store.h"

struct session_seal;

/* Seals into st (borrowed) under a key derived from k. Returns NULL with
 * *errstr when the key cannot be derived. */
struct session_seal *session_seal_new(struct store *st, struct keys *k, const char **errstr);
/* Wipes the sealing key and frees; NULL is a no-op. */
void session_seal_free(struct session_seal *ss);

/* The keeper for session_table_new (it points at ss). */
struct session_keeper session_seal_keeper(struct session_seal *ss);

/* What a restore found. */
struct session_seal_counts {
	size_t restored;	/* back in the table, credential in the vault */
	size_t unreadable;	/* sealed under other keys, or damaged: left in the store, logged */
	size_t refused;		/* the table refused them (full): left in the store */
	size_t orphans;		/* checkpoints of sessions no longer kept: deleted */
};

/*
 * Puts every kept session not expired at now_ms back into t, its credential
 * into v, and calls restored(arg, id, info) for each (to poll it again)
 * once the store's walk is over. Run it before anything else uses t: the
 * walk holds the store while it takes t's lock, and the keeper's callbacks
 * take them the other way round. Returns 0 with *counts, or -1 with *errstr
 * (the store failed).
 */
int session_seal_restore(struct session_seal *ss, struct session_table *t, struct vault *v, int64_t now_ms,
    void (*restored)(void *arg, const uint8_t id[SESSION_ID_BYTES], const struct session_info *info), void *arg,
    struct session_seal_counts *counts, const char **errstr);

/*
 * Checkpoints (exchange/checkpoint.h): each session's collection state, one
 * record per session, key SHA-256("perfagg/checkpoint/v1" || the session's
 * record key), sealed like the sessions (AES-256-GCM, AAD the label and the
 * key) under keys_derive("perfagg/seal/checkpoints/v1"). A checkpoint is
 * deleted with its session (revocation, expiry, refused key) and at restore
 * when its session record is gone.
 */

/* Seals (buf, len) as session id's checkpoint, replacing the last one.
 * Returns 0, or -1 with *errstr. */
int session_seal_checkpoint_put(struct session_seal *ss, const uint8_t id[SESSION_ID_BYTES], const uint8_t *buf,
    size_t len, const char **errstr);

/* Opens session id's checkpoint: 1 with *buf (malloc'd: the caller frees)
 * and *len, 0 when there is none, -1 with *errstr (the store failed, or the
 * record was sealed under other keys or damaged). */
int session_seal_checkpoint_get(struct session_seal *ss, const uint8_t id[SESSION_ID_BYTES], int64_t now_ms,
    uint8_t **buf, size_t *len, const char **errstr);

#endif
