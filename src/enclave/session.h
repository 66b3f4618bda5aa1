/*
 * session: temporary sessions created from a submitted credential.
 *
 * A session id is 256 random bits; it is the bearer secret that lets its
 * holder read the session's results, so it is compared in constant time, and
 * only a short hash of it (session_info.id_hash) may be logged. Credentials
 * stay in the vault under the session's handle and are wiped the moment the
 * session is revoked, found expired, or removed by cleanup.
 * THREAD SAFETY: all functions are thread-safe.
 */
#ifndef PERFAGG_ENCLAVE_SESSION_H
#define PERFAGG_ENCLAVE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enclave/vault.h"

#define SESSION_ID_BYTES 32
#define SESSION_ID_HEX_LEN 64
#define SESSION_LABEL_MAX 100
#define SESSION_EXCHANGE_MAX 23
#define SESSION_TIER_MAX 15

enum session_status {
	SESSION_ACTIVE,
	SESSION_EXPIRED,
};

/* What a session is, copied out of the table (holds no credential). */
struct session_info {
	char id_hash[13];	/* log_short_hash of the id */
	char exchange[SESSION_EXCHANGE_MAX + 1];
	char account_type[8];	/* spot, futures, margin */
	char label[SESSION_LABEL_MAX + 1];	/* "" when none */
	char user_hash[13];	/* log_short_hash of the userId */
	bool sandbox;
	char tier[SESSION_TIER_MAX + 1];	/* the account's rate tier at the exchange; "" = default */
	int64_t created_ms;
	int64_t expires_ms;
	enum session_status status;
};

/* What a new session is made of. Strings are copied; none may exceed the
 * sizes above (checked by the caller: exceeding them is a bug). */
struct session_params {
	const char *exchange;
	const char *account_type;
	const char *label;	/* may be NULL */
	const char *user_id;
	bool sandbox;
	const char *tier;	/* may be NULL (the exchange's default) */
	int64_t ttl_s;
};

struct session_table;

/*
 * What keeps sessions across restarts (session_seal.h). The table calls it
 * at each change with its lock held (it must not call the table back):
 * put when a session is created or renewed, with its credential (valid
 * during the call); drop when one is revoked, expires, or loses its
 * credential (a key the exchange refused: such a session does not outlive
 * the process). put returning -1 undoes the change.
 */
struct session_keeper {
	void *arg;
	int (*put)(void *arg, const uint8_t id[SESSION_ID_BYTES], const struct session_info *info,
	    const struct credential *cred);
	void (*drop)(void *arg, const uint8_t id[SESSION_ID_BYTES]);
};

/* The table uses v (not owned) for credentials; max_sessions caps it;
 * keeper (may be NULL: memory only; copied) makes it durable. */
struct session_table *session_table_new(struct vault *v, size_t max_sessions, const struct session_keeper *keeper);
/* Erases every credential and frees the table; NULL is a no-op. */
void session_table_free(struct session_table *t);

/* Creates a session owning the credential under vault_handle (which it erases
 * when the session ends). Writes the new id and its info. Returns 0, or -1
 * with *errstr when the table is full (the handle then stays the caller's). */
int session_create(struct session_table *t, const struct session_params *p, uint32_t vault_handle,
    int64_t now_ms, uint8_t id[SESSION_ID_BYTES], struct session_info *info, const char **errstr);

/* Puts back a session kept across a restart: id and info as they were,
 * owning the credential under vault_handle. Returns 0, or -1 when the id
 * is taken, it has expired at now_ms, or the table is full (the handle then
 * stays the caller's). The keeper is not told (it has the session). */
int session_restore(struct session_table *t, const uint8_t id[SESSION_ID_BYTES], const struct session_info *info,
    uint32_t vault_handle, int64_t now_ms);

/* Extends a live session to expire at now_ms + ttl_s (the caller bounds
 * ttl_s), keeping it durable. Returns 0 with *info, or -1 with *errstr
 * (no such live session, or the keeper failed: nothing changed). */
int session_renew(struct session_table *t, const uint8_t id[SESSION_ID_BYTES], int64_t now_ms, int64_t ttl_s,
    struct session_info *info, const char **errstr);

/* Looks an active session up. Returns 0 and fills *info; -1 if there is no
 * such session or it has expired (its credential is then erased at once). */
int session_lookup(struct session_table *t, const uint8_t id[SESSION_ID_BYTES], int64_t now_ms,
    struct session_info *info);

/* Runs fn with the credential of an active session. Returns fn's result, or
 * -1 if the session does not exist or has expired. */
int session_use_credential(struct session_table *t, const uint8_t id[SESSION_ID_BYTES], int64_t now_ms,
    int (*fn)(void *arg, const struct credential *c), void *arg);

/* Revokes: erases the credential and removes the session. Returns 0, or -1
 * if there is no such session (an expired one is still removed, and -1). */
int session_revoke(struct session_table *t, const uint8_t id[SESSION_ID_BYTES], int64_t now_ms);

/* Erases the credential of a session but keeps the session (its results stay
 * readable): for a key the exchange refused. No-op if there is none. */
void session_revoke_credential(struct session_table *t, const uint8_t id[SESSION_ID_BYTES]);

/* Removes every expired session (erasing credentials). Returns how many. */
size_t session_cleanup(struct session_table *t, int64_t now_ms);

/* Number of sessions that have not expired at now_ms. */
size_t session_count_active(struct session_table *t, int64_t now_ms);

/* Parses a 64-character lower- or upper-case hex id from (s, len). Returns 0 or -1. */
int session_id_parse(uint8_t id[SESSION_ID_BYTES], const char *s, size_t len);

#endif
