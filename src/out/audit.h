/*
 * audit: the daemon's append-only, hash-chained audit log (the line format
 * and its verification are core/audit_chain.h).
 *
 * The file is opened with O_APPEND and locked (flock) against a second
 * writer; each entry is one write(2) of one line followed by fsync(2) before
 * audit_log returns, so an entry that was reported written survives a crash.
 * On open, the last line is read to continue the chain. A broken last line
 * (a partial write after a crash, or a line that does not check) is reported
 * on the log, kept as it is, and followed by a "chain_restart" entry naming
 * it: nothing is ever overwritten. A failed write leaves the same state and is
 * handled the same way by the next entry.
 *
 * Every checkpoint_every entries, and at audit_close, a "checkpoint" entry
 * signed with the enclave's Ed25519 key covers the head of the chain.
 *
 * Truncation: once a checkpoint is on disk, its seq, line number and hash
 * are written to a state file (o->state_path), authenticated with a MAC only
 * the enclave can compute. audit_open checks that the log still holds that
 * checkpoint at that line; if not (the tail was cut off, or the log was cut
 * and written again), it logs audit_truncated and the next entry is preceded
 * by a chain_restart with reason "truncated" saying what was expected and
 * what was found. A state file that does not authenticate (another key, as
 * with keys generated at each start) or names another log is logged and
 * ignored: the position cannot be checked then.
 *
 * A secret cannot be written: fields are a closed, typed set (the table in
 * audit.c). Strings are either short hashes (log_short_hash: 12 hex digits)
 * or names from the code ([a-z0-9_.:/-], at most 48 characters: exchange,
 * reason, result, ...); anything else is a bug and aborts (fatalx). Only the
 * "settings" field (configuration at start-up, built by the daemon from its
 * own settings with secrets left out) takes a JSON object.
 *
 * Events written by the daemon: config, credential_submitted,
 * submit_key_rejected, session_created, session_revoked, sessions_expired,
 * credential_used, metrics_served, admin_action, admin_denied; and by this
 * module: checkpoint, chain_restart.
 * THREAD SAFETY: every function may be called from any thread.
 */
#ifndef PERFAGG_OUT_AUDIT_H
#define PERFAGG_OUT_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/signed.h"

enum audit_kind { AUDIT_K_HASH, AUDIT_K_NAME, AUDIT_K_INT, AUDIT_K_BOOL, AUDIT_K_JSON };

struct audit_field {
	const char *name;
	enum audit_kind kind;
	const char *s;		/* HASH, NAME */
	int64_t i;		/* INT, BOOL */
	const json_t *j;	/* JSON (only "settings"); not owned */
};

#define AUDIT_HASH(n, v) { .name = (n), .kind = AUDIT_K_HASH, .s = (v) }
#define AUDIT_NAME(n, v) { .name = (n), .kind = AUDIT_K_NAME, .s = (v) }
#define AUDIT_INT(n, v) { .name = (n), .kind = AUDIT_K_INT, .i = (int64_t)(v) }
#define AUDIT_BOOL(n, v) { .name = (n), .kind = AUDIT_K_BOOL, .i = (v) ? 1 : 0 }
#define AUDIT_JSON(n, v) { .name = (n), .kind = AUDIT_K_JSON, .j = (v) }

/* audit_log with the fields given inline: audit_event(a, "x", AUDIT_INT("count", 3)). */
#define audit_event(a, ev, ...) audit_log((a), (ev), (const struct audit_field[]){ __VA_ARGS__ }, \
	sizeof((const struct audit_field[]){ __VA_ARGS__ }) / sizeof(struct audit_field))

/* A MAC over (msg, len) with a key only the enclave holds (enclave/keys.h:
 * keys_state_mac). Returns 0 or -1. */
typedef int (*audit_mac_fn)(void *arg, uint8_t mac[32], const uint8_t *msg, size_t len);

struct audit_options {
	const char *path;
	unsigned checkpoint_every;	/* 0: only at close */
	signed_sign_fn sign;		/* NULL: no checkpoints */
	void *sign_arg;
	const char *key_id;		/* the signing key's id (core/signed.h) */
	uint64_t key_epoch;		/* its key epoch (core/signed.h); 0 means 1 */
	/* The state file remembering the last signed checkpoint's position
	 * (seq, line, hash), MACed with mac; NULL: no truncation check. */
	const char *state_path;
	audit_mac_fn mac;
	void *mac_arg;
};

struct audit;

/*
 * Opens (creating, mode 0600; and its directory, mode 0700, if missing) the
 * log at o->path and continues its chain. Strings in o are copied; sign_arg
 * must outlive the audit. Returns NULL with *errstr if the file cannot be
 * opened, read or locked, or the chain cannot be continued.
 */
struct audit *audit_open(const struct audit_options *o, const char **errstr);

/* Writes a final checkpoint (if entries followed the last one), closes and
 * frees. NULL is a no-op. */
void audit_close(struct audit *a);

/* Appends one entry with event (a [a-z_]+ name) and n fields, durably.
 * Returns 0, or -1 if the write failed (logged). a == NULL: no-op, 0. */
int audit_log(struct audit *a, const char *event, const struct audit_field *f, size_t n);

/* Called once entries up to a seq are on disk: rc 0, or -1 if the fsync
 * covering them failed. Runs on the audit's sync thread: do little. */
typedef void (*audit_done_fn)(void *ctx, int rc);

/*
 * audit_log without waiting for the disk: the entry is written (and the
 * chain advanced) when this returns, and *seq is set to the seq that must be
 * durable for it (-1 when a == NULL). Pair with audit_when_durable() before
 * acknowledging anything the entry records. Returns 0 or -1 (logged).
 */
int audit_log_nowait(struct audit *a, const char *event, const struct audit_field *f, size_t n, int64_t *seq);

/* audit_log_nowait with the fields given inline. */
#define audit_event_nowait(a, seqp, ev, ...) audit_log_nowait((a), (ev), \
	(const struct audit_field[]){ __VA_ARGS__ }, \
	sizeof((const struct audit_field[]){ __VA_ARGS__ }) / sizeof(struct audit_field), (seqp))

/*
 * Arranges for done(ctx, rc) to be called once every entry up to seq is on
 * disk. Returns 1 if they already are (done is not called; also for
 * a == NULL or seq < 0), else 0: done will be called exactly once, at the
 * latest from audit_close(). done == NULL: only start an fsync soon, for an
 * entry nobody waits for.
 */
int audit_when_durable(struct audit *a, int64_t seq, audit_done_fn done, void *ctx);

/* Appends a signed checkpoint now. Returns 0 or -1. */
int audit_checkpoint(struct audit *a);

/* The whole log as written so far (caller frees), read under the writer's
 * lock so it ends at a line boundary. NULL with *errstr if it exceeds max or
 * cannot be read. */
char *audit_read(struct audit *a, size_t max, size_t *len, const char **errstr);

/* Counters, for tests and /health: the next seq and the lines in the file. */
int64_t audit_next_seq(struct audit *a);

#endif
