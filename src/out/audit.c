#include "out/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/audit_chain.h"
#include "core/hex.h"
#include "util/file.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static const char zeros[AUDIT_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* The state file: one line, "<magic> <seq> <line> <hash> <log path hash> <mac>". */
#define STATE_MAGIC "perfagg-audit-state 1"
#define STATE_MAX 512

/* The closed set of fields an entry may carry, each with its one type. */
static const struct {
	const char *name;
	enum audit_kind kind;
} schema[] = {
	{ "sid", AUDIT_K_HASH }, { "user", AUDIT_K_HASH },
	{ "exchange", AUDIT_K_NAME }, { "account_type", AUDIT_K_NAME }, { "reason", AUDIT_K_NAME },
	{ "result", AUDIT_K_NAME }, { "trigger", AUDIT_K_NAME }, { "action", AUDIT_K_NAME },
	{ "endpoint", AUDIT_K_NAME }, { "key_id", AUDIT_K_NAME }, { "attestation", AUDIT_K_NAME },
	{ "version", AUDIT_K_NAME },
	{ "count", AUDIT_K_INT }, { "ttl_s", AUDIT_K_INT }, { "ciphertext_len", AUDIT_K_INT },
	{ "api_key_len", AUDIT_K_INT }, { "secret_len", AUDIT_K_INT }, { "passphrase_len", AUDIT_K_INT },
	{ "status", AUDIT_K_INT }, { "restored", AUDIT_K_INT }, { "unreadable", AUDIT_K_INT },
	{ "refused", AUDIT_K_INT }, { "resumed", AUDIT_K_INT }, { "backfilling", AUDIT_K_INT },
	{ "from_epoch", AUDIT_K_INT }, { "to_epoch", AUDIT_K_INT },
	{ "key_epoch", AUDIT_K_INT }, { "statement", AUDIT_K_JSON },
	{ "sandbox", AUDIT_K_BOOL }, { "hardware_backed", AUDIT_K_BOOL },
	{ "settings", AUDIT_K_JSON },
};

struct audit {
	pthread_mutex_t mu;
	int fd;
	char *path;
	unsigned every;
	signed_sign_fn sign;
	void *sign_arg;
	char *key_id;
	uint64_t key_epoch;
	int64_t seq;			/* the next entry's */
	char prev[AUDIT_HEX_LEN + 1];	/* hash of the last line's bytes */
	char head[AUDIT_HEX_LEN + 1];	/* hash member of the last good entry */
	size_t lines;			/* lines in the file, a partial one included */
	size_t since_checkpoint;
	bool pending_newline;		/* the file ends in a line without its newline */
	/* A broken last line to bridge with a chain_restart before the next entry. */
	bool broken;
	const char *broken_reason;
	char broken_hash[AUDIT_HEX_LEN + 1];
	/* Truncation check (audit.h). cp_* is the last checkpoint written
	 * (under mu); state_seq the one the state file names (sync thread). */
	char *state_path;
	audit_mac_fn mac;
	void *mac_arg;
	int64_t cp_seq, state_seq;
	size_t cp_line;
	char cp_hash[AUDIT_HEX_LEN + 1];
	/* A chain_restart "truncated" is due before the next entry. */
	bool truncated;
	int64_t want_seq, found_seq;
	size_t want_line, found_lines;
	/* Group commit: one sync thread runs fsync whenever someone waits
	 * for an entry that is not on disk yet; one fsync covers every entry
	 * written before it began. Synchronous writers block on done_cv;
	 * asynchronous ones (audit_when_durable) get a callback, so an HTTP
	 * thread never sleeps in fsync and any number of requests share one. */
	pthread_mutex_t sync_mu;
	pthread_cond_t work_cv;		/* the sync thread waits for wanted > synced_seq */
	pthread_cond_t done_cv;		/* waiters wait for synced_seq (or failed_seq) to move */
	pthread_t syncer;
	bool syncer_started, stopping;
	int64_t wanted;			/* the highest seq someone waits for */
	int64_t synced_seq;		/* entries up to this seq are on disk */
	int64_t failed_seq;		/* an fsync covering up to this seq failed */
	struct audit_waiter *waiters;
	size_t nwaiters, capwaiters;
};

struct audit_waiter {
	int64_t seq;
	audit_done_fn done;
	void *ctx;
};

static bool
name_ok(const char *s, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > 48)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' || strchr(extra, s[i]) != NULL))
			return false;
	return true;
}

static bool
short_hash_ok(const char *s)
{
	if (strlen(s) != 12)
		return false;
	for (size_t i = 0; i < 12; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Adds the field to entry; a field outside the schema is a bug. */
static void
add_field(json_t *entry, const struct audit_field *f)
{
	size_t k;

	for (k = 0; k < sizeof(schema) / sizeof(schema[0]); k++)
		if (strcmp(schema[k].name, f->name) == 0)
			break;
	if (k == sizeof(schema) / sizeof(schema[0]) || schema[k].kind != f->kind)
		fatalx("audit: field '%s' is not in the schema with this type", f->name);
	switch (f->kind) {
	case AUDIT_K_HASH:
		if (f->s == NULL || !short_hash_ok(f->s))
			fatalx("audit: field '%s' is not a short hash", f->name);
		json_object_set_new(entry, f->name, json_string(f->s));
		break;
	case AUDIT_K_NAME:
		if (f->s == NULL || !name_ok(f->s, "0123456789.:/-"))
			fatalx("audit: field '%s' is not a name", f->name);
		json_object_set_new(entry, f->name, json_string(f->s));
		break;
	case AUDIT_K_INT:
		json_object_set_new(entry, f->name, json_integer(f->i));
		break;
	case AUDIT_K_BOOL:
		json_object_set_new(entry, f->name, json_boolean(f->i != 0));
		break;
	case AUDIT_K_JSON:
		if (!json_is_object(f->j))
			fatalx("audit: field '%s' is not an object", f->name);
		json_object_set_new(entry, f->name, json_deep_copy(f->j));
		break;
	}
}

static json_t *
new_entry(struct audit *a, const char *event)
{
	char ts[TIME_ISO_LEN];

	time_format_iso_ms(ts, time_now_ms());
	return json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)a->seq, "ts", ts, "event", event);
}

/*
 * Seals entry and writes it (after a newline when the file ends in a partial
 * line); the caller then waits for it with sync_upto(). Consumes entry. On success advances the chain; on a
 * partial write records the damage for the next entry to bridge. Called
 * with a->mu held. Returns 0 or -1.
 */
static int
append(struct audit *a, json_t *entry)
{
	const char *e = NULL;
	char *line, *buf;
	size_t len, off = 0, total;
	ssize_t w = 0;
	int rc = -1;

	line = audit_chain_seal(entry, a->broken ? a->broken_hash : a->prev, &len, &e);
	if (line == NULL) {
		json_decref(entry);
		log_event(LOG_ERROR, "audit_write_failed", "{s:s}", "error", e);
		return -1;
	}
	off = a->pending_newline ? 1 : 0;
	total = off + len + 1;
	buf = xmalloc(total);
	buf[0] = '\n';
	memcpy(buf + off, line, len);
	buf[off + len] = '\n';
	do
		w = write(a->fd, buf, total);
	while (w < 0 && errno == EINTR);
	if (w < (ssize_t)total)
		log_event(LOG_ERROR, "audit_write_failed", "{s:s, s:I}", "error", w < 0 ? strerror(errno) :
		    "short write", "written", (json_int_t)(w < 0 ? 0 : w));
	if (w > 0 && (size_t)w >= off)
		a->pending_newline = false;
	if (w >= (ssize_t)(off + len)) {
		/* The whole line is in the file (its newline perhaps not yet):
		 * the chain moves on. */
		if (w == (ssize_t)total)
			rc = 0;	/* on disk once sync_upto() returns */
		a->pending_newline = w < (ssize_t)total;
		audit_chain_line_hash(a->prev, line, len);
		memcpy(a->head, json_string_value(json_object_get(entry, "hash")), sizeof(a->head));
		a->lines += 1;
		a->seq++;
		a->broken = false;
	} else if (w > (ssize_t)off) {
		/* Part of the line is in the file: the next entry terminates
		 * it and restarts the chain after it. A second failure while
		 * bridging leaves two broken lines, which verification reports. */
		if (!a->broken) {
			a->broken = true;
			a->broken_reason = "write_failed";
			a->lines += 1;
		}
		a->pending_newline = true;
		audit_chain_line_hash(a->broken_hash, line, (size_t)w - off);
	}
	free(buf);
	free(line);
	json_decref(entry);
	return rc;
}

/* The state line without its MAC (what the MAC covers); caller frees. */
static char *
state_body(const struct audit *a, int64_t seq, size_t line, const char *hash)
{
	char ph[AUDIT_HEX_LEN + 1];

	audit_chain_line_hash(ph, a->path, strlen(a->path));
	return xasprintf("%s %lld %zu %s %s", STATE_MAGIC, (long long)seq, line, hash, ph);
}

/* Hex MAC of body into hex. Returns 0 or -1. */
static int
state_mac(const struct audit *a, char hex[AUDIT_HEX_LEN + 1], const char *body)
{
	uint8_t mac[32];

	if (a->mac(a->mac_arg, mac, (const uint8_t *)body, strlen(body)) != 0)
		return -1;
	hex_encode(hex, mac, sizeof(mac));
	return 0;
}

/* Records the checkpoint (seq, line, hash) in the state file (atomically:
 * a crash leaves the old state or the new one). Failures are logged: the
 * log itself is unharmed, only the next start's check is weaker. */
static void
state_write(const struct audit *a, int64_t seq, size_t line, const char *hash)
{
	char *body = state_body(a, seq, line, hash), *text = NULL, hex[AUDIT_HEX_LEN + 1];
	const char *e = "cannot compute the MAC";

	if (state_mac(a, hex, body) == 0) {
		text = xasprintf("%s %s\n", body, hex);
		if (file_write_atomic(a->state_path, text, strlen(text), 0600, &e) == 0)
			e = NULL;
	}
	if (e != NULL)
		log_event(LOG_ERROR, "audit_state_write_failed", "{s:s, s:s}", "path", a->state_path, "error", e);
	free(text);
	free(body);
}

/* Reads the state file into want_seq, want_line and *hash. Returns 1 if it
 * authenticates and names this log, else 0 (logged when there was a file). */
static int
state_read(struct audit *a, char hash[AUDIT_HEX_LEN + 1])
{
	char *buf, *sp, *body = NULL, hex[AUDIT_HEX_LEN + 1], ph[AUDIT_HEX_LEN + 1], fph[AUDIT_HEX_LEN + 1];
	const char *e = NULL, *why = NULL;
	long long seq;
	size_t len, line;
	int rc = 0;

	buf = (char *)file_read_all(a->state_path, STATE_MAX, &len, &e);
	if (buf == NULL) {
		if (strcmp(e, "no such file") != 0)
			why = e;
		goto out;
	}
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	sp = strrchr(buf, ' ');
	why = "malformed";
	if (sp == NULL || strlen(sp + 1) != AUDIT_HEX_LEN)
		goto out;
	*sp = '\0';
	if (sscanf(buf, STATE_MAGIC " %lld %zu %64s %64s", &seq, &line, hash, fph) != 4 || seq < 1 || line < 1 ||
	    strlen(hash) != AUDIT_HEX_LEN)
		goto out;
	/* Rebuilt, not trusted: the MAC must cover exactly what was parsed. */
	body = xasprintf("%s %lld %zu %s %s", STATE_MAGIC, seq, line, hash, fph);
	why = "does not authenticate with this enclave's key";
	if (strcmp(body, buf) != 0 || state_mac(a, hex, body) != 0 ||
	    CRYPTO_memcmp(hex, sp + 1, AUDIT_HEX_LEN) != 0)
		goto out;
	audit_chain_line_hash(ph, a->path, strlen(a->path));
	why = "names another audit log";
	if (strcmp(ph, fph) != 0)
		goto out;
	a->want_seq = seq;
	a->want_line = line;
	why = NULL;
	rc = 1;
out:
	if (why != NULL)
		log_event(LOG_WARN, "audit_state_ignored", "{s:s, s:s}", "path", a->state_path, "reason", why);
	free(body);
	free(buf);
	return rc;
}

/*
 * The sync thread: fsyncs while anyone waits for an entry not yet on disk,
 * then wakes the synchronous waiters and calls the asynchronous ones (outside
 * sync_mu: their callbacks resume HTTP connections). An entry covered by a
 * failed fsync reports -1 to whoever waited for it; later entries try again.
 */
static void *
sync_main(void *arg)
{
	struct audit *a = arg;
	struct audit_waiter *ready = NULL;
	size_t cap = 0;

	pthread_mutex_lock(&a->sync_mu);
	for (;;) {
		int64_t target, cp_seq;
		size_t nready = 0, keep = 0, cp_line;
		char cp_hash[AUDIT_HEX_LEN + 1];
		int r;

		while (!a->stopping && a->wanted <= a->synced_seq)
			pthread_cond_wait(&a->work_cv, &a->sync_mu);
		if (a->wanted <= a->synced_seq && a->stopping)
			break;
		pthread_mutex_unlock(&a->sync_mu);
		pthread_mutex_lock(&a->mu);
		target = a->seq - 1;	/* everything written so far */
		cp_seq = a->cp_seq;
		cp_line = a->cp_line;
		memcpy(cp_hash, a->cp_hash, sizeof(cp_hash));
		pthread_mutex_unlock(&a->mu);
		r = fsync(a->fd);
		if (r != 0)
			log_event(LOG_ERROR, "audit_write_failed", "{s:s}", "error", strerror(errno));
		/* Only a checkpoint on disk may be named: a state file ahead of
		 * the log would report a truncation after any crash. */
		if (r == 0 && cp_seq > a->state_seq && a->state_path != NULL) {
			state_write(a, cp_seq, cp_line, cp_hash);
			a->state_seq = cp_seq;
		}
		pthread_mutex_lock(&a->sync_mu);
		if (r == 0 && target > a->synced_seq)
			a->synced_seq = target;
		if (r != 0) {
			a->failed_seq = target;
			if (a->wanted <= target)
				a->wanted = a->synced_seq;	/* nobody waits any more: they all failed */
		}
		for (size_t i = 0; i < a->nwaiters; i++) {
			if (a->waiters[i].seq <= target) {
				if (nready == cap) {
					cap = cap ? cap * 2 : 64;
					ready = xreallocarray(ready, cap, sizeof(*ready));
				}
				ready[nready] = a->waiters[i];
				ready[nready++].seq = r == 0 ? 0 : -1;	/* reused as the result */
			} else
				a->waiters[keep++] = a->waiters[i];
		}
		a->nwaiters = keep;
		pthread_cond_broadcast(&a->done_cv);
		pthread_mutex_unlock(&a->sync_mu);
		for (size_t i = 0; i < nready; i++)
			ready[i].done(ready[i].ctx, (int)ready[i].seq);
		pthread_mutex_lock(&a->sync_mu);
	}
	pthread_mutex_unlock(&a->sync_mu);
	free(ready);
	return NULL;
}

/* Waits until every entry up to seq is on disk. Called without a->mu.
 * Returns 0, or -1 if the fsync covering it failed. */
static int
sync_upto(struct audit *a, int64_t seq)
{
	int rc = 0;

	pthread_mutex_lock(&a->sync_mu);
	if (seq > a->wanted) {
		a->wanted = seq;
		pthread_cond_signal(&a->work_cv);
	}
	while (a->synced_seq < seq) {
		if (a->failed_seq >= seq) {
			rc = -1;
			break;
		}
		pthread_cond_wait(&a->done_cv, &a->sync_mu);
	}
	pthread_mutex_unlock(&a->sync_mu);
	return rc;
}

int
audit_when_durable(struct audit *a, int64_t seq, audit_done_fn done, void *ctx)
{
	int rc = 0;

	if (a == NULL || seq < 0)
		return 1;
	pthread_mutex_lock(&a->sync_mu);
	if (a->synced_seq >= seq)
		rc = 1;
	else if (done == NULL) {
		if (seq > a->wanted) {
			a->wanted = seq;
			pthread_cond_signal(&a->work_cv);
		}
	} else {
		if (a->nwaiters == a->capwaiters) {
			a->capwaiters = a->capwaiters ? a->capwaiters * 2 : 64;
			a->waiters = xreallocarray(a->waiters, a->capwaiters, sizeof(*a->waiters));
		}
		a->waiters[a->nwaiters++] = (struct audit_waiter){ .seq = seq, .done = done, .ctx = ctx };
		if (seq > a->wanted) {
			a->wanted = seq;
			pthread_cond_signal(&a->work_cv);
		}
	}
	pthread_mutex_unlock(&a->sync_mu);
	return rc;
}

/* Writes the chain_restart for a broken last line. Called with a->mu held. */
static int
restart(struct audit *a)
{
	json_t *entry = new_entry(a, "chain_restart");
	size_t broken_line = a->broken ? a->lines : 0;	/* 0: a truncation at a line boundary */
	const char *reason = a->truncated ? "truncated" : a->broken_reason;

	json_object_set_new(entry, "broken_line", json_integer((json_int_t)broken_line));
	json_object_set_new(entry, "after_hash", json_string(a->prev));
	json_object_set_new(entry, "reason", json_string(reason));
	if (a->truncated) {
		json_object_set_new(entry, "expected_seq", json_integer((json_int_t)a->want_seq));
		json_object_set_new(entry, "expected_line", json_integer((json_int_t)a->want_line));
		json_object_set_new(entry, "found_seq", json_integer((json_int_t)a->found_seq));
		json_object_set_new(entry, "found_lines", json_integer((json_int_t)a->found_lines));
	}
	log_event(LOG_WARN, "audit_chain_restart", "{s:I, s:s}", "broken_line", (json_int_t)broken_line,
	    "reason", reason);
	if (append(a, entry) != 0)
		return -1;
	a->truncated = false;
	a->since_checkpoint++;
	return 0;
}

static int
checkpoint_locked(struct audit *a, const char *trigger)
{
	json_t *entry;
	const char *e = NULL;

	if (a->sign == NULL)
		return 0;
	if ((a->broken || a->truncated) && restart(a) != 0)
		return -1;
	entry = new_entry(a, "checkpoint");
	json_object_set_new(entry, "trigger", json_string(trigger));
	json_object_set_new(entry, "head_seq", json_integer((json_int_t)(a->seq - 1)));
	json_object_set_new(entry, "head_hash", json_string(a->head));
	/* prev is inside the signed bytes: set it before signing (seal sets
	 * the same value again). */
	json_object_set_new(entry, "prev", json_string(a->prev));
	if (signed_sign(entry, a->sign, a->sign_arg, a->key_id, a->key_epoch, &e) != 0) {
		log_event(LOG_ERROR, "audit_write_failed", "{s:s}", "error", e);
		json_decref(entry);
		return -1;
	}
	if (append(a, entry) != 0)
		return -1;
	a->since_checkpoint = 0;
	a->cp_seq = a->seq - 1;
	a->cp_line = a->lines;
	memcpy(a->cp_hash, a->head, sizeof(a->cp_hash));
	return 0;
}

int
audit_log_nowait(struct audit *a, const char *event, const struct audit_field *f, size_t n, int64_t *seq)
{
	json_t *entry;
	int rc;

	*seq = -1;
	if (a == NULL)
		return 0;
	if (!name_ok(event, "") || strcmp(event, "checkpoint") == 0 || strcmp(event, "chain_restart") == 0)
		fatalx("audit: bad event name '%s'", event);
	pthread_mutex_lock(&a->mu);
	if ((a->broken || a->truncated) && restart(a) != 0) {
		pthread_mutex_unlock(&a->mu);
		return -1;
	}
	entry = new_entry(a, event);
	for (size_t i = 0; i < n; i++)
		add_field(entry, &f[i]);
	rc = append(a, entry);
	if (rc == 0) {
		a->since_checkpoint++;
		if (a->every > 0 && a->since_checkpoint >= a->every)
			rc = checkpoint_locked(a, "interval");
	}
	*seq = a->seq - 1;
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int
audit_log(struct audit *a, const char *event, const struct audit_field *f, size_t n)
{
	int64_t mine;

	if (audit_log_nowait(a, event, f, n, &mine) != 0)
		return -1;
	return a == NULL ? 0 : sync_upto(a, mine);
}

int
audit_checkpoint(struct audit *a)
{
	int rc;

	int64_t mine;

	pthread_mutex_lock(&a->mu);
	rc = checkpoint_locked(a, "request");
	mine = a->seq - 1;
	pthread_mutex_unlock(&a->mu);
	return rc == 0 ? sync_upto(a, mine) : rc;
}

/* Reads [off, off + len) of the file into a fresh buffer. Returns it or NULL. */
static char *
read_range(int fd, off_t off, size_t len)
{
	char *buf = xmalloc(len + 1);
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	return buf;
}

/* Parses the line [start, end) of the file; NULL if it does not check. */
static json_t *
parse_at(int fd, off_t start, off_t end, char hash[AUDIT_HEX_LEN + 1])
{
	size_t len = (size_t)(end - start);
	const char *e = NULL;
	json_t *entry = NULL;
	char *line;

	if (len > AUDIT_LINE_MAX)
		return NULL;
	if ((line = read_range(fd, start, len)) == NULL)
		return NULL;
	audit_chain_line_hash(hash, line, len);
	entry = audit_chain_parse(line, len, &e);
	free(line);
	return entry;
}

/* Takes over the chain's state from the last line (or two) of the file, and
 * notes where line a->want_line (if not 0) lies in *want_start, *want_end. */
static int
resume(struct audit *a, off_t *want_start, off_t *want_end, const char **errstr)
{
	off_t nls[3] = { -1, -1, -1 }, size = 0, last_start, prev_start;
	char buf[65536], h[AUDIT_HEX_LEN + 1];
	bool partial;
	json_t *e;
	ssize_t r;

	for (;;) {
		r = read(a->fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*errstr = "cannot read the audit log";
			return -1;
		}
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] == '\n') {
				nls[0] = nls[1];
				nls[1] = nls[2];
				nls[2] = size + i;
				a->lines++;
				if (a->lines == a->want_line) {
					*want_start = nls[1] + 1;
					*want_end = nls[2];
				}
			}
		size += r;
	}
	a->seq = 1;
	memcpy(a->prev, zeros, sizeof(zeros));
	memcpy(a->head, zeros, sizeof(zeros));
	if (size == 0)
		return 0;
	/* A last line without its newline is terminated by the next write;
	 * if its content checks, the crash only cost the newline. */
	partial = nls[2] != size - 1;
	a->pending_newline = partial;
	if (partial)
		a->lines++;
	last_start = partial ? nls[2] + 1 : nls[1] + 1;
	prev_start = partial ? nls[1] + 1 : nls[0] + 1;
	e = parse_at(a->fd, last_start, partial ? size : nls[2], h);
	if (e != NULL) {
		a->seq = json_integer_value(json_object_get(e, "seq")) + 1;
		memcpy(a->prev, h, sizeof(a->prev));
		memcpy(a->head, json_string_value(json_object_get(e, "hash")), sizeof(a->head));
		json_decref(e);
		return 0;
	}
	/* The last line is broken: continue after the line before it (if that
	 * one checks; otherwise the chain visibly restarts from nothing). */
	a->broken = true;
	a->broken_reason = partial ? "partial_line" : "invalid_line";
	memcpy(a->broken_hash, h, sizeof(h));
	if (last_start > 0) {
		char ph[AUDIT_HEX_LEN + 1];
		e = parse_at(a->fd, prev_start, last_start - 1, ph);
		if (e != NULL) {
			a->seq = json_integer_value(json_object_get(e, "seq")) + 1;
			memcpy(a->prev, ph, sizeof(a->prev));
			memcpy(a->head, json_string_value(json_object_get(e, "hash")), sizeof(a->head));
			json_decref(e);
		}
	}
	log_event(LOG_WARN, "audit_broken_tail", "{s:s, s:I, s:s}", "path", a->path, "line", (json_int_t)a->lines,
	    "reason", a->broken_reason);
	return 0;
}

/* Whether the log still holds the checkpoint the state file names (want_*)
 * at [start, end); if not, arms the chain_restart "truncated". */
static void
check_state(struct audit *a, const char *want_hash, off_t start, off_t end)
{
	char h[AUDIT_HEX_LEN + 1];
	json_t *e = start >= 0 ? parse_at(a->fd, start, end, h) : NULL;
	bool ok = e != NULL && strcmp(json_string_value(json_object_get(e, "event")), "checkpoint") == 0 &&
	    json_integer_value(json_object_get(e, "seq")) == a->want_seq &&
	    strcmp(json_string_value(json_object_get(e, "hash")), want_hash) == 0;

	json_decref(e);
	a->state_seq = a->want_seq;
	if (ok)
		return;
	a->truncated = true;
	a->found_seq = a->seq - 1;
	a->found_lines = a->lines;
	log_event(LOG_WARN, "audit_truncated", "{s:s, s:I, s:I, s:I, s:I}", "path", a->path,
	    "expected_seq", (json_int_t)a->want_seq, "expected_line", (json_int_t)a->want_line,
	    "found_seq", (json_int_t)a->found_seq, "found_lines", (json_int_t)a->found_lines);
}

/* Creates the log's directory (one level) when it is missing. */
static void
make_dir(const char *path)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			log_event(LOG_WARN, "audit_mkdir_failed", "{s:s, s:s}", "dir", dir, "error", strerror(errno));
	}
	free(dir);
}

struct audit *
audit_open(const struct audit_options *o, const char **errstr)
{
	struct audit *a = xcalloc(1, sizeof(*a));
	char want_hash[AUDIT_HEX_LEN + 1];
	off_t want_start = -1, want_end = -1;
	bool have_state = false;
	struct stat st;

	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->sync_mu, NULL);
	pthread_cond_init(&a->work_cv, NULL);
	pthread_cond_init(&a->done_cv, NULL);
	a->path = xstrdup(o->path);
	a->every = o->checkpoint_every;
	a->sign = o->sign;
	a->sign_arg = o->sign_arg;
	a->key_id = xstrdup(o->key_id != NULL ? o->key_id : "");
	a->key_epoch = o->key_epoch != 0 ? o->key_epoch : 1;
	if (o->state_path != NULL && o->mac != NULL) {
		a->state_path = xstrdup(o->state_path);
		a->mac = o->mac;
		a->mac_arg = o->mac_arg;
	}
	make_dir(o->path);
	a->fd = open(o->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		*errstr = "cannot open or create the audit log";
		goto fail;
	}
	/* An existing log keeps its mode through open(): one created by an
	 * older version, or copied by hand, may be readable by others. */
	if (fstat(a->fd, &st) == 0 && (st.st_mode & 077) != 0) {
		if (fchmod(a->fd, 0600) != 0) {
			*errstr = "cannot set the audit log's mode to 0600";
			goto fail;
		}
		char was[8];
		snprintf(was, sizeof(was), "%04o", (unsigned)(st.st_mode & 07777));
		log_event(LOG_WARN, "audit_mode_fixed", "{s:s, s:s, s:s}", "path", a->path, "was", was, "now", "0600");
	}
	if (flock(a->fd, LOCK_EX | LOCK_NB) != 0) {
		*errstr = errno == EWOULDBLOCK ? "the audit log is in use by another process" :
		    "cannot lock the audit log";
		goto fail;
	}
	if (a->state_path != NULL)
		have_state = state_read(a, want_hash) == 1;
	if (resume(a, &want_start, &want_end, errstr) != 0)
		goto fail;
	if (have_state)
		check_state(a, want_hash, want_start, want_end);
	if (fsync(a->fd) != 0) {
		*errstr = "cannot sync the audit log";
		goto fail;
	}
	a->synced_seq = a->seq - 1;	/* what resume() found, or wrote, is on disk */
	a->wanted = a->synced_seq;
	a->failed_seq = -1;
	if (pthread_create(&a->syncer, NULL, sync_main, a) != 0) {
		*errstr = "cannot start the audit sync thread";
		goto fail;
	}
	pthread_setname_np(a->syncer, "audit-sync");	/* top, perf and gdb show who is busy */
	a->syncer_started = true;
	return a;
fail:
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	free(a->path);
	free(a->key_id);
	free(a->state_path);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->sync_mu);
	pthread_cond_destroy(&a->work_cv);
	pthread_cond_destroy(&a->done_cv);
	free(a);
	return NULL;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	if (a->since_checkpoint > 0 || a->broken || a->truncated)
		checkpoint_locked(a, "shutdown");
	pthread_mutex_unlock(&a->mu);
	/* Everything written, the shutdown checkpoint included, reaches the
	 * disk before the sync thread ends; pending callbacks are called. */
	pthread_mutex_lock(&a->sync_mu);
	a->wanted = a->seq - 1;
	a->stopping = true;
	pthread_cond_signal(&a->work_cv);
	pthread_mutex_unlock(&a->sync_mu);
	pthread_join(a->syncer, NULL);
	close(a->fd);
	free(a->waiters);
	free(a->path);
	free(a->key_id);
	free(a->state_path);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->sync_mu);
	pthread_cond_destroy(&a->work_cv);
	pthread_cond_destroy(&a->done_cv);
	free(a);
}

char *
audit_read(struct audit *a, size_t max, size_t *len, const char **errstr)
{
	struct stat st;
	char *buf = NULL;

	pthread_mutex_lock(&a->mu);
	if (fstat(a->fd, &st) != 0) {
		*errstr = "cannot stat the audit log";
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		*errstr = "the audit log is too large to export at once";
		goto out;
	}
	*len = (size_t)st.st_size;
	if ((buf = read_range(a->fd, 0, *len)) == NULL)
		*errstr = "cannot read the audit log";
	else
		buf[*len] = '\0';
out:
	pthread_mutex_unlock(&a->mu);
	return buf;
}

int64_t
audit_next_seq(struct audit *a)
{
	int64_t s;

	pthread_mutex_lock(&a->mu);
	s = a->seq;
	pthread_mutex_unlock(&a->mu);
	return s;
}
