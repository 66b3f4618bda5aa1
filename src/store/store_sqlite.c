/*
 * store_sqlite: the store (store.h) in one SQLite file.
 *
 * WAL journal, synchronous=NORMAL: a commit is in the WAL before the call
 * returns, so a kill -9 at any moment loses nothing committed; a power loss
 * may lose the last commits (the replay guard then forgets the newest
 * envelopes, which the freshness window still bounds). secure_delete
 * overwrites deleted content, so no expired or removed row is left in free
 * pages. One connection; each operation holds the store's mutex from its
 * statement's first step to reading its result (sqlite3_changes() is the
 * connection's, so another thread's statement must not run in between).
 */
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/xalloc.h"

#define SCHEMA_VERSION 1

struct sqlite_store {
	struct store base;		/* first: a struct store * is a struct sqlite_store * */
	sqlite3 *db;
	pthread_mutex_t mu;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS claims (key BLOB PRIMARY KEY, expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS claims_expiry ON claims (expires_ms);"
    "CREATE TABLE IF NOT EXISTS records (kind INTEGER NOT NULL, key BLOB NOT NULL, expires_ms INTEGER NOT NULL, "
    "value BLOB NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;";

static int
fail_db(sqlite3 *db, const char *what, const char **errstr)
{
	log_event(LOG_ERROR, "store_db_error", "{s:s, s:s}", "op", what, "error", db != NULL ? sqlite3_errmsg(db) :
	    "out of memory");
	*errstr = "the state store failed (see the log)";
	return -1;
}

static int
exec(sqlite3 *db, const char *sql, const char **errstr)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail_db(db, sql, errstr);
}

/* Runs one statement with ?1 = key (when non-NULL), ?2, ?3 = a, b. Returns
 * the first column of its first row (0 for a query without rows), the
 * change count of a write, or -1. Called with s->mu held. */
static long long
run_locked(sqlite3 *db, const char *sql, const uint8_t *key, int64_t a, int64_t b, const char **errstr)
{
	sqlite3_stmt *st = NULL;
	long long r = -1;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fail_db(db, sql, errstr);
		return -1;
	}
	if (key != NULL)
		sqlite3_bind_blob(st, 1, key, STORE_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a);
	sqlite3_bind_int64(st, 3, b);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		r = sqlite3_stmt_readonly(st) ? 0 : sqlite3_changes(db);
	else
		fail_db(db, sql, errstr);
	sqlite3_finalize(st);
	return r;
}

static long long
run(struct sqlite_store *s, const char *sql, const uint8_t *key, int64_t a, int64_t b, const char **errstr)
{
	long long r;

	pthread_mutex_lock(&s->mu);
	r = run_locked(s->db, sql, key, a, b, errstr);
	pthread_mutex_unlock(&s->mu);
	return r;
}

static void
sqlite_close(struct store *base)
{
	struct sqlite_store *s = (struct sqlite_store *)base;

	if (s == NULL)
		return;
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static struct store *
sqlite_open(const char *location, const char **errstr)
{
	struct sqlite_store *s = xcalloc(1, sizeof(*s));
	sqlite3_stmt *st = NULL;
	long long v;

	s->base.ops = &store_sqlite;
	pthread_mutex_init(&s->mu, NULL);
	if (sqlite3_open_v2(location, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	    NULL) != SQLITE_OK) {
		*errstr = "cannot open the state store";
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW || (strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0 &&
	    strcmp(location, ":memory:") != 0)) {
		*errstr = "cannot put the state store in WAL mode";
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (exec(s->db, "PRAGMA synchronous=NORMAL", errstr) != 0 || exec(s->db, "PRAGMA secure_delete=ON", errstr) != 0 ||
	    exec(s->db, schema, errstr) != 0)
		goto fail;
	v = run(s, "SELECT value FROM meta WHERE name = 'schema'", NULL, 0, 0, errstr);
	if (v == 0 && run(s, "INSERT INTO meta (name, value) VALUES ('schema', ?2)", NULL, SCHEMA_VERSION, 0,
	    errstr) != 1)
		goto fail;
	if (v > SCHEMA_VERSION) {
		*errstr = "the state store was written by a newer version";
		goto fail;
	}
	if (v < 0)
		goto fail;
	return &s->base;
fail:
	sqlite3_finalize(st);
	sqlite_close(&s->base);
	return NULL;
}

static int
sqlite_claim(struct store *base, const uint8_t key[STORE_KEY_BYTES], int64_t expires_ms, int64_t now_ms,
    const char **errstr)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	/* one statement: a free key (absent or expired) is taken, a held one
	 * is left alone, and the change count says which */
	long long n = run(s, "INSERT INTO claims (key, expires_ms) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE "
	    "SET expires_ms = excluded.expires_ms WHERE claims.expires_ms <= ?3", key, expires_ms, now_ms, errstr);

	return n < 0 ? -1 : n > 0;
}

static int
sqlite_claimed(struct store *base, const uint8_t key[STORE_KEY_BYTES], int64_t now_ms, const char **errstr)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	long long n = run(s, "SELECT count(*) FROM claims WHERE key = ?1 AND expires_ms > ?2", key, now_ms, 0,
	    errstr);

	return n < 0 ? -1 : n > 0;
}

static long
sqlite_sweep(struct store *base, int64_t now_ms, const char **errstr)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	long long a = run(s, "DELETE FROM claims WHERE expires_ms <= ?2", NULL, now_ms, 0, errstr);
	long long b = a < 0 ? -1 : run(s, "DELETE FROM records WHERE expires_ms > 0 AND expires_ms <= ?2", NULL,
	    now_ms, 0, errstr);

	/* as in sqlite_del: no copy of a dropped record left in the WAL */
	if (b > 0 && exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", errstr) != 0)
		return -1;
	return b < 0 ? -1 : (long)(a + b);
}

static int
sqlite_put(struct store *base, enum store_kind kind, const uint8_t key[STORE_KEY_BYTES], int64_t expires_ms,
    const void *val, size_t len, const char **errstr)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	static const char sql[] = "INSERT OR REPLACE INTO records (kind, key, expires_ms, value) VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *st = NULL;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	if (len > INT32_MAX) {
		*errstr = "a record too large for the state store";
		goto out;
	}
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fail_db(s->db, sql, errstr);
		goto out;
	}
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_blob(st, 2, key, STORE_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, expires_ms);
	sqlite3_bind_blob(st, 4, len > 0 ? val : "", (int)len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		fail_db(s->db, sql, errstr);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sqlite_get(struct store *base, enum store_kind kind, const uint8_t key[STORE_KEY_BYTES], int64_t now_ms, void **val,
    size_t *len, const char **errstr)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	static const char sql[] = "SELECT value FROM records WHERE kind = ?1 AND key = ?2 AND "
	    "(expires_ms = 0 OR expires_ms > ?3)";
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	*val = NULL;
	*len = 0;
	pthread_mutex_lock(&s->mu);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fail_db(s->db, sql, errstr);
		goto out;
	}
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_blob(st, 2, key, STORE_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now_ms);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
	if (step != SQLITE_ROW) {
		fail_db(s->db, sql, errstr);
		goto out;
	}
	*len = (size_t)sqlite3_column_bytes(st, 0);
	*val = xmalloc(*len > 0 ? *len : 1);
	if (*len > 0)
		memcpy(*val, sqlite3_column_blob(st, 0), *len);
	rc = 1;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

static int
sqlite_del(struct store *base, enum store_kind kind, const uint8_t key[STORE_KEY_BYTES], const char **errstr)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	long long n = run(s, "DELETE FROM records WHERE key = ?1 AND kind = ?2", key, (int64_t)kind, 0, errstr);

	/* secure_delete overwrote the record in the database's pages, but the
	 * WAL still holds the frames that wrote it: fold the WAL back and
	 * truncate it, so that no sealed copy outlives the delete */
	if (n > 0 && exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", errstr) != 0)
		return -1;
	return n < 0 ? -1 : n > 0;
}

static int
sqlite_each(struct store *base, enum store_kind kind, int64_t now_ms, store_each_fn *fn, void *arg,
    const char **errstr)
{
	struct sqlite_store *s = (struct sqlite_store *)base;
	static const char sql[] = "SELECT key, expires_ms, value FROM records WHERE kind = ?1 AND "
	    "(expires_ms = 0 OR expires_ms > ?2) ORDER BY key";
	sqlite3_stmt *st = NULL;
	int rc = -1, step;

	pthread_mutex_lock(&s->mu);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fail_db(s->db, sql, errstr);
		goto out;
	}
	sqlite3_bind_int(st, 1, (int)kind);
	sqlite3_bind_int64(st, 2, now_ms);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != STORE_KEY_BYTES)
			continue;	/* not a row this code wrote */
		if (fn(arg, sqlite3_column_blob(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_blob(st, 2),
		    (size_t)sqlite3_column_bytes(st, 2)) != 0)
			break;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		fail_db(s->db, sql, errstr);
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

const struct store_ops store_sqlite = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.claim = sqlite_claim,
	.claimed = sqlite_claimed,
	.sweep = sqlite_sweep,
	.put = sqlite_put,
	.get = sqlite_get,
	.del = sqlite_del,
	.each = sqlite_each,
};
