#include "out/outbox.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/prim.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define KEEP_DELIVERED_MS (7 * 86400000LL)
#define IDLE_WAIT_MS 60000

/* outbox_final_status, for SQL. */
#define FINAL_STATUS_SQL "(400, 401, 403, 413, 422)"

enum row_state { ROW_PENDING = 0, ROW_DELIVERED = 1, ROW_FAILED = 2 };

/* A failed row back to pending, as new but for its created time. */
#define REQUEUE_SQL "UPDATE outbox SET state = 0, attempts = 0, next_attempt_ms = 0, last_status = 0, " \
	"last_error = '', done_ms = 0 WHERE state = 2"

const long outbox_final_status[OUTBOX_NFINAL] = { 400, 401, 403, 413, 422 };

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS outbox ("
    " id INTEGER PRIMARY KEY,"
    " idempotency_key TEXT NOT NULL UNIQUE,"
    " body BLOB NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_ms INTEGER NOT NULL DEFAULT 0,"
    " last_status INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '',"
    " done_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_ms, id);";

struct outbox {
	char *url;			/* backend + /api/ingest, NULL = store only */
	int64_t retry_min, retry_max, timeout;
	char *ca_bundle;

	pthread_mutex_t mu;		/* db, stopping */
	pthread_cond_t cv;
	sqlite3 *db;
	bool stopping;			/* read without mu by the transfer callback: atomic below */
	int stop_flag;
	pthread_t sender;
	bool sender_started;
	uint64_t rng;
	struct outbox_counts tally;	/* under mu: what the table holds */
};

/* One row taken for sending (the sender's copy). */
struct row {
	int64_t id;
	char key[129];
	char *body;
	size_t len;
	int64_t attempts;
};

static int
exec(sqlite3 *db, const char *sql, const char **errstr)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		*errstr = "database statement failed";
		log_event(LOG_ERROR, "outbox_db_error", "{s:s, s:s}", "sql", sql, "error", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

/* A prepared statement, or NULL after logging why. */
static sqlite3_stmt *
prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_event(LOG_ERROR, "outbox_db_error", "{s:s, s:s}", "sql", sql, "error", sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

/* Logs the database's error and sets *errstr. */
static void
db_failed(struct outbox *ob, const char **errstr)
{
	*errstr = "database error";
	log_event(LOG_ERROR, "outbox_db_error", "{s:s}", "error", sqlite3_errmsg(ob->db));
}

/* The single exit of a write: rolls back what was not committed. */
static void
write_end(struct outbox *ob, sqlite3_stmt *st, bool began)
{
	sqlite3_finalize(st);
	if (began)
		sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&ob->mu);
}

static bool
valid_key(const char *key)
{
	size_t n = strlen(key);

	/* It goes into an HTTP header: a conservative alphabet. */
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'z') ||
		    (key[i] >= 'A' && key[i] <= 'Z') || key[i] == '-' || key[i] == '_'))
			return false;
	return true;
}

int
outbox_put(struct outbox *ob, const char *key, const char *body, size_t len, const char **errstr)
{
	sqlite3_stmt *st = NULL;
	json_t *doc;
	json_error_t jerr;
	int rc = -1, step;
	bool began = false;

	if (!valid_key(key)) {
		*errstr = "invalid idempotency key";
		return -1;
	}
	doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc) || !json_is_string(json_object_get(doc, "idempotency_key")) ||
	    strcmp(json_string_value(json_object_get(doc, "idempotency_key")), key) != 0) {
		json_decref(doc);
		*errstr = "payload is not a JSON object carrying this idempotency_key";
		return -1;
	}
	json_decref(doc);

	pthread_mutex_lock(&ob->mu);
	if (exec(ob->db, "BEGIN IMMEDIATE", errstr) != 0)
		goto out;
	began = true;
	if ((st = prepare(ob->db, "SELECT body FROM outbox WHERE idempotency_key = ?")) == NULL)
		goto dberr;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		const void *old = sqlite3_column_blob(st, 0);
		size_t oldlen = (size_t)sqlite3_column_bytes(st, 0);
		if (oldlen == len && (len == 0 || memcmp(old, body, len) == 0))
			rc = 0;		/* the same payload again: nothing to do */
		else {
			*errstr = "idempotency key already holds a different body";
			log_event(LOG_ERROR, "outbox_conflict", "{s:s}", "idempotency_key", key);
		}
		goto out;
	}
	if (step != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = prepare(ob->db, "INSERT INTO outbox (idempotency_key, body, created_ms) VALUES (?, ?, ?)");
	if (st == NULL)
		goto dberr;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 2, body, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, time_now_ms());
	if (sqlite3_step(st) != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	if (exec(ob->db, "COMMIT", errstr) != 0)
		goto out;
	began = false;
	rc = 0;
	ob->tally.pending++;
	pthread_cond_signal(&ob->cv);
	goto out;
dberr:
	db_failed(ob, errstr);
out:
	write_end(ob, st, began);
	return rc;
}

/* The index of status in outbox_final_status, or -1 when it may pass. */
static int
final_index(long status)
{
	for (int i = 0; i < OUTBOX_NFINAL; i++)
		if (outbox_final_status[i] == status)
			return i;
	return -1;
}

/* Counts the rows by state (and failed ones by status). Caller holds mu. */
static int
count_rows(struct outbox *ob, struct outbox_counts *out)
{
	sqlite3_stmt *st;
	int rc = -1, step, k;

	memset(out, 0, sizeof(*out));
	st = prepare(ob->db, "SELECT state, last_status, COUNT(*) FROM outbox GROUP BY state, last_status");
	if (st == NULL)
		return -1;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(st, 2);
		switch (sqlite3_column_int(st, 0)) {
		case ROW_PENDING:
			out->pending += n;
			break;
		case ROW_DELIVERED:
			out->delivered += n;
			break;
		case ROW_FAILED:
			out->failed += n;
			if ((k = final_index(sqlite3_column_int64(st, 1))) >= 0)
				out->failed_by_status[k] += n;
			break;
		}
	}
	if (step == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int
outbox_counts(struct outbox *ob, struct outbox_counts *out)
{
	int rc;

	pthread_mutex_lock(&ob->mu);
	rc = count_rows(ob, out);
	pthread_mutex_unlock(&ob->mu);
	return rc;
}

void
outbox_tally(struct outbox *ob, struct outbox_counts *out)
{
	pthread_mutex_lock(&ob->mu);
	*out = ob->tally;
	pthread_mutex_unlock(&ob->mu);
}

json_t *
outbox_failed(struct outbox *ob, size_t limit, bool *more, const char **errstr)
{
	sqlite3_stmt *st;
	json_t *out = json_array();
	char created[TIME_ISO_LEN], failed[TIME_ISO_LEN];
	size_t n = 0;
	int step;

	*more = false;
	pthread_mutex_lock(&ob->mu);
	st = prepare(ob->db, "SELECT idempotency_key, last_status, last_error, attempts, created_ms, done_ms "
	    "FROM outbox WHERE state = 2 ORDER BY id");
	if (st == NULL)
		goto fail;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == limit) {
			*more = true;
			break;
		}
		time_format_iso_ms(created, sqlite3_column_int64(st, 4));
		time_format_iso_ms(failed, sqlite3_column_int64(st, 5));
		json_array_append_new(out, json_pack("{s:s, s:I, s:s, s:I, s:s, s:s}",
		    "idempotency_key", (const char *)sqlite3_column_text(st, 0),
		    "status", (json_int_t)sqlite3_column_int64(st, 1),
		    "error", (const char *)sqlite3_column_text(st, 2),
		    "attempts", (json_int_t)sqlite3_column_int64(st, 3), "created", created, "failed", failed));
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		log_event(LOG_ERROR, "outbox_db_error", "{s:s}", "error", sqlite3_errmsg(ob->db));
		goto fail;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ob->mu);
	return out;
fail:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ob->mu);
	json_decref(out);
	*errstr = "database error";
	return NULL;
}

int64_t
outbox_requeue(struct outbox *ob, const char *const *keys, size_t nkeys, const char **errstr)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	bool began = false;

	pthread_mutex_lock(&ob->mu);
	/* One transaction: a database error re-queues none of the keys. */
	if (exec(ob->db, "BEGIN IMMEDIATE", errstr) != 0)
		goto fail;
	began = true;
	if (keys == NULL) {
		if (exec(ob->db, REQUEUE_SQL, errstr) != 0)
			goto fail;
		n = sqlite3_changes(ob->db);
	} else {
		if ((st = prepare(ob->db, REQUEUE_SQL " AND idempotency_key = ?")) == NULL)
			goto dberr;
		for (size_t i = 0; i < nkeys; i++) {
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, keys[i], -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				goto dberr;
			n += sqlite3_changes(ob->db);
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (exec(ob->db, "COMMIT", errstr) != 0)
		goto fail;
	began = false;
	/* Rare (an operator's request): recounting is simpler than tracking
	 * which statuses the rows had. */
	if (count_rows(ob, &ob->tally) != 0)
		log_event(LOG_ERROR, "outbox_db_error", "{s:s}", "error", "cannot recount the rows");
	if (n > 0)
		pthread_cond_signal(&ob->cv);
	write_end(ob, NULL, false);
	log_event(LOG_INFO, "outbox_requeued", "{s:I, s:b}", "count", (json_int_t)n, "all", keys == NULL);
	return n;
dberr:
	db_failed(ob, errstr);
fail:
	write_end(ob, st, began);
	return -1;
}

int64_t
outbox_depth(struct outbox *ob)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	/* A range of the (state, ...) index: cheap however many rows were delivered. */
	pthread_mutex_lock(&ob->mu);
	st = prepare(ob->db, "SELECT COUNT(*) FROM outbox WHERE state = 0");
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ob->mu);
	return n;
}

/* --- the sender --- */

/* The due row to send next, or 0 with *wait_ms until the earliest one (or
 * IDLE_WAIT_MS). Returns 1 with *r filled, 0, or -1. Caller holds mu. */
static int
next_due(struct outbox *ob, struct row *r, int64_t *wait_ms)
{
	sqlite3_stmt *st;
	int64_t now = time_now_ms(), next;
	int rc = -1, step;

	*wait_ms = IDLE_WAIT_MS;
	st = prepare(ob->db, "SELECT id, idempotency_key, body, attempts, next_attempt_ms FROM outbox "
	    "WHERE state = 0 ORDER BY next_attempt_ms, id LIMIT 1");
	if (st == NULL)
		return -1;
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		rc = 0;
	else if (step == SQLITE_ROW) {
		next = sqlite3_column_int64(st, 4);
		if (next > now) {
			*wait_ms = next - now < IDLE_WAIT_MS ? next - now : IDLE_WAIT_MS;
			rc = 0;
		} else {
			r->id = sqlite3_column_int64(st, 0);
			snprintf(r->key, sizeof(r->key), "%s", (const char *)sqlite3_column_text(st, 1));
			r->len = (size_t)sqlite3_column_bytes(st, 2);
			r->body = xmalloc(r->len + 1);
			if (r->len > 0)
				memcpy(r->body, sqlite3_column_blob(st, 2), r->len);
			r->body[r->len] = '\0';
			r->attempts = sqlite3_column_int64(st, 3);
			rc = 1;
		}
	} else
		log_event(LOG_ERROR, "outbox_db_error", "{s:s}", "error", sqlite3_errmsg(ob->db));
	sqlite3_finalize(st);
	return rc;
}

static int64_t
backoff(struct outbox *ob, int64_t attempts)
{
	int64_t d = ob->retry_min;

	for (int64_t i = 1; i < attempts && d < ob->retry_max; i++)
		d *= 2;
	if (d > ob->retry_max)
		d = ob->retry_max;
	/* xorshift64: jitter needs no cryptographic quality. */
	ob->rng ^= ob->rng << 13;
	ob->rng ^= ob->rng >> 7;
	ob->rng ^= ob->rng << 17;
	return d / 2 + (int64_t)(ob->rng % (uint64_t)(d / 2 + 1));
}

/* Records the outcome of one attempt of a pending row. Caller holds mu. */
static void
record(struct outbox *ob, const struct row *r, enum row_state state, long status, const char *error)
{
	sqlite3_stmt *st;
	int64_t now = time_now_ms(), attempts = r->attempts + 1;

	st = prepare(ob->db, "UPDATE outbox SET state = ?, attempts = ?, next_attempt_ms = ?, last_status = ?, "
	    "last_error = ?, done_ms = ? WHERE id = ?");
	if (st == NULL)
		return;
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int64(st, 2, attempts);
	sqlite3_bind_int64(st, 3, state == ROW_PENDING ? now + backoff(ob, attempts) : 0);
	sqlite3_bind_int64(st, 4, status);
	sqlite3_bind_text(st, 5, error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, state == ROW_PENDING ? 0 : now);
	sqlite3_bind_int64(st, 7, r->id);
	if (sqlite3_step(st) != SQLITE_DONE)
		log_event(LOG_ERROR, "outbox_db_error", "{s:s}", "error", sqlite3_errmsg(ob->db));
	else if (state != ROW_PENDING) {
		ob->tally.pending--;
		if (state == ROW_DELIVERED)
			ob->tally.delivered++;
		else {
			ob->tally.failed++;
			ob->tally.failed_by_status[final_index(status)]++;
		}
	}
	sqlite3_finalize(st);
	if (state == ROW_DELIVERED)
		log_event(LOG_INFO, "ingest_delivered", "{s:s, s:I, s:i}", "idempotency_key", r->key,
		    "attempts", (json_int_t)attempts, "status", (int)status);
	else if (state == ROW_FAILED)
		log_event(LOG_ERROR, "ingest_rejected", "{s:s, s:i, s:s}", "idempotency_key", r->key, "status",
		    (int)status, "error", error);
	else if (attempts == 1 || attempts % 10 == 0)
		log_event(LOG_WARN, "ingest_retry", "{s:s, s:I, s:i, s:s}", "idempotency_key", r->key,
		    "attempts", (json_int_t)attempts, "status", (int)status, "error", error);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

static int
abort_on_stop(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct outbox *ob = arg;

	return __atomic_load_n(&ob->stop_flag, __ATOMIC_ACQUIRE);
}

/* One POST. Returns the HTTP status, or 0 with err set when no answer came. */
static long
post(struct outbox *ob, CURL *easy, const struct row *r, char *err, size_t errlen)
{
	struct curl_slist *h = NULL;
	char *hk = xasprintf("Idempotency-Key: %s", r->key);
	char ebuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode cc;

	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, hk);
	h = curl_slist_append(h, "Expect:");
	curl_easy_reset(easy);
	curl_easy_setopt(easy, CURLOPT_URL, ob->url);
	curl_easy_setopt(easy, CURLOPT_POST, 1L);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)ob->timeout);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(ob->timeout < 10000 ? ob->timeout : 10000));
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
	curl_easy_setopt(easy, CURLOPT_XFERINFODATA, ob);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	if (ob->ca_bundle != NULL)
		curl_easy_setopt(easy, CURLOPT_CAINFO, ob->ca_bundle);
	cc = curl_easy_perform(easy);
	if (cc == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%s", ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cc));
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	free(hk);
	return status;
}

static void *
sender_main(void *arg)
{
	struct outbox *ob = arg;
	CURL *easy = curl_easy_init();
	struct timespec until;

	if (easy == NULL)
		fatalx("outbox: curl_easy_init failed");
	pthread_mutex_lock(&ob->mu);
	while (!ob->stopping) {
		struct row r = { 0 };
		int64_t wait_ms;
		int got = next_due(ob, &r, &wait_ms);
		char err[CURL_ERROR_SIZE + 32] = "";
		long status;

		if (got <= 0) {
			if (got < 0)
				wait_ms = 1000;
			time_deadline(&until, wait_ms);
			if (!ob->stopping)
				pthread_cond_timedwait(&ob->cv, &ob->mu, &until);
			continue;
		}
		pthread_mutex_unlock(&ob->mu);
		status = post(ob, easy, &r, err, sizeof(err));
		pthread_mutex_lock(&ob->mu);
		if (ob->stopping && status == 0) {
			free(r.body);	/* aborted by the stop: still pending, not an attempt */
			break;
		}
		if (status >= 200 && status < 300)
			record(ob, &r, ROW_DELIVERED, status, "");
		else {
			if (status != 0)
				snprintf(err, sizeof(err), "HTTP %ld", status);
			/* Only the contract's refusals are final: a 404 or 409
			 * from a backend being deployed or still committing
			 * an earlier attempt passes, and a dropped payload is
			 * a signed hour lost. */
			record(ob, &r, final_index(status) >= 0 ? ROW_FAILED : ROW_PENDING, status, err);
		}
		free(r.body);
	}
	pthread_mutex_unlock(&ob->mu);
	curl_easy_cleanup(easy);
	return NULL;
}

/*
 * Makes path (created if missing, unless only_existing) 0600. SQLite creates
 * the -wal and -shm files with the mode of the database file, so a 0600
 * database before the open is enough for new ones; existing ones (an older
 * build's, or another user's umask) are fixed here too. The umask is not
 * touched: it is the whole process's. Returns 0, or -1 with *errstr.
 */
static int
private_file(const char *path, bool only_existing, const char **errstr)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (only_existing ? 0 : O_CREAT), 0600);

	if (fd < 0 && only_existing && errno == ENOENT)
		return 0;
	if (fd < 0 || fchmod(fd, 0600) != 0) {
		*errstr = "cannot make the outbox files private (0600)";
		log_event(LOG_ERROR, "outbox_file_mode", "{s:s, s:s}", "path", path, "error", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
private_files(const char *path, const char **errstr)
{
	char *wal = xasprintf("%s-wal", path), *shm = xasprintf("%s-shm", path);
	int rc = -1;

	if (private_file(path, false, errstr) == 0 && private_file(wal, true, errstr) == 0 &&
	    private_file(shm, true, errstr) == 0)
		rc = 0;
	free(wal);
	free(shm);
	return rc;
}

static int
open_db(struct outbox *ob, const char *dir, const char **errstr)
{
	char *path = xasprintf("%s/%s", dir, OUTBOX_FILE);
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		*errstr = "cannot create the data directory";
		goto out;
	}
	if (private_files(path, errstr) != 0)
		goto out;
	if (sqlite3_open_v2(path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	    NULL) != SQLITE_OK) {
		*errstr = "cannot open the outbox database";
		goto out;
	}
	sqlite3_busy_timeout(ob->db, 5000);
	/* WAL keeps readers off the writer's back; FULL syncs the WAL on
	 * every commit, so a committed payload survives power loss too. */
	if ((st = prepare(ob->db, "PRAGMA journal_mode=WAL")) == NULL || sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		*errstr = "cannot put the outbox database in WAL mode";
		goto out;
	}
	if (exec(ob->db, "PRAGMA synchronous=FULL", errstr) != 0 || exec(ob->db, schema, errstr) != 0)
		goto out;
	sqlite3_finalize(st);
	st = prepare(ob->db, "DELETE FROM outbox WHERE state = 1 AND done_ms < ?");
	if (st == NULL) {
		*errstr = "database error";
		goto out;
	}
	sqlite3_bind_int64(st, 1, time_now_ms() - KEEP_DELIVERED_MS);
	if (sqlite3_step(st) != SQLITE_DONE) {
		*errstr = "database error";
		goto out;
	}
	/* Rows left waiting by the previous run are due now; rows an older
	 * build failed for an answer that may pass (a 404, a 409) are sent
	 * again. */
	if (exec(ob->db, "UPDATE outbox SET next_attempt_ms = 0 WHERE state = 0", errstr) != 0 ||
	    exec(ob->db, REQUEUE_SQL " AND last_status NOT IN " FINAL_STATUS_SQL, errstr) != 0)
		goto out;
	if (sqlite3_changes(ob->db) > 0)
		log_event(LOG_WARN, "outbox_requeued", "{s:i, s:s}", "count", sqlite3_changes(ob->db), "reason",
		    "failed by an older build for an answer that may pass");
	if (count_rows(ob, &ob->tally) != 0) {
		*errstr = "database error";
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	free(path);
	return rc;
}

struct outbox *
outbox_open(const struct outbox_config *cfg, const char **errstr)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));

	ob->retry_min = cfg->retry_min_ms > 0 ? cfg->retry_min_ms : 1000;
	ob->retry_max = cfg->retry_max_ms > 0 ? cfg->retry_max_ms : 300000;
	if (ob->retry_max < ob->retry_min)
		ob->retry_max = ob->retry_min;
	ob->timeout = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
	ob->ca_bundle = cfg->ca_bundle != NULL ? xstrdup(cfg->ca_bundle) : NULL;
	if (cfg->backend_url != NULL) {
		size_t n = strlen(cfg->backend_url);
		/* "http://host/" and "http://host" name the same base. */
		ob->url = xasprintf("%.*s/api/ingest", (int)(n > 0 && cfg->backend_url[n - 1] == '/' ? n - 1 : n),
		    cfg->backend_url);
	}
	prim_random(&ob->rng, sizeof(ob->rng));
	ob->rng |= 1;
	pthread_mutex_init(&ob->mu, NULL);
	pthread_cond_init(&ob->cv, NULL);
	if (open_db(ob, cfg->data_dir, errstr) != 0)
		goto fail;
	if (ob->url != NULL) {
		if (pthread_create(&ob->sender, NULL, sender_main, ob) != 0) {
			*errstr = "cannot start the outbox sender";
			goto fail;
		}
		pthread_setname_np(ob->sender, "outbox");	/* top, perf and gdb show who is busy */
		ob->sender_started = true;
	}
	return ob;
fail:
	outbox_free(ob);
	return NULL;
}

void
outbox_free(struct outbox *ob)
{
	if (ob == NULL)
		return;
	if (ob->sender_started) {
		pthread_mutex_lock(&ob->mu);
		ob->stopping = true;
		__atomic_store_n(&ob->stop_flag, 1, __ATOMIC_RELEASE);
		pthread_cond_signal(&ob->cv);
		pthread_mutex_unlock(&ob->mu);
		pthread_join(ob->sender, NULL);
	}
	sqlite3_close(ob->db);
	pthread_mutex_destroy(&ob->mu);
	pthread_cond_destroy(&ob->cv);
	free(ob->url);
	free(ob->ca_bundle);
	free(ob);
}
