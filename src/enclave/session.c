#include "enclave/session.h"

#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include "core/hex.h"
#include "core/prim.h"
#include "util/bmap.h"
#include "util/log.h"
#include "util/xalloc.h"

struct session {
	struct session_info info;
	uint32_t vault_handle;
	bool has_credential;
};

struct session_table {
	pthread_mutex_t mu;
	struct bmap *map;	/* raw id -> struct session */
	struct vault *vault;
	struct session_keeper keeper;	/* .put NULL: memory only */
	size_t max;
	/* session_count_active is asked on every /health: a full scan is
	 * cached for a second rather than run per request. */
	int64_t count_at_ms;
	size_t count_cached;
};

struct session_table *
session_table_new(struct vault *v, size_t max_sessions, const struct session_keeper *keeper)
{
	struct session_table *t = xcalloc(1, sizeof(*t));

	pthread_mutex_init(&t->mu, NULL);
	t->map = bmap_new();
	t->vault = v;
	t->max = max_sessions;
	if (keeper != NULL)
		t->keeper = *keeper;
	return t;
}

/* Wipes the credential of s from memory, once. Called locked. */
static bool
wipe_credential(struct session_table *t, struct session *s)
{
	if (!s->has_credential)
		return false;
	vault_erase(t->vault, s->vault_handle);
	s->has_credential = false;
	return true;
}

/* Ends the credential of s: wiped, and the keeper forgets the session.
 * Called locked. */
static void
drop_credential(struct session_table *t, const uint8_t *id, struct session *s)
{
	if (wipe_credential(t, s) && t->keeper.drop != NULL)
		t->keeper.drop(t->keeper.arg, id);
}

struct keep_arg {
	struct session_table *t;
	const uint8_t *id;
	const struct session_info *info;
};

static int
keep_with(void *arg, const struct credential *c)
{
	struct keep_arg *a = arg;

	return a->t->keeper.put(a->t->keeper.arg, a->id, a->info, c);
}

/* Tells the keeper about s (created or renewed). Called locked. */
static int
keep(struct session_table *t, const uint8_t *id, const struct session *s)
{
	struct keep_arg a = { t, id, &s->info };

	if (t->keeper.put == NULL || !s->has_credential)
		return 0;
	return vault_use(t->vault, s->vault_handle, keep_with, &a);
}

/* At shutdown: credentials are wiped from memory, but the sessions do not
 * end (the keeper keeps them). */
static bool
sweep_all(void *arg, const uint8_t *key, void *val)
{
	(void)key;
	wipe_credential(arg, val);
	free(val);
	return true;
}

void
session_table_free(struct session_table *t)
{
	if (t == NULL)
		return;
	bmap_sweep(t->map, sweep_all, t);
	bmap_free(t->map);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void
copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= cap)
		fatalx("session field too long (%zu >= %zu)", n, cap);
	memcpy(dst, src != NULL ? src : "", n + 1);
}

struct sweep_arg {
	struct session_table *t;
	int64_t now_ms;
};

static bool
sweep_expired(void *arg, const uint8_t *key, void *val)
{
	struct sweep_arg *a = arg;
	struct session *s = val;

	if (a->now_ms < s->info.expires_ms)
		return false;
	drop_credential(a->t, key, s);
	free(s);
	return true;
}

int
session_create(struct session_table *t, const struct session_params *p, uint32_t vault_handle,
    int64_t now_ms, uint8_t id[SESSION_ID_BYTES], struct session_info *info, const char **errstr)
{
	struct session *s = xcalloc(1, sizeof(*s));

	copy_str(s->info.exchange, sizeof(s->info.exchange), p->exchange);
	copy_str(s->info.account_type, sizeof(s->info.account_type), p->account_type);
	copy_str(s->info.label, sizeof(s->info.label), p->label);
	log_short_hash(s->info.user_hash, p->user_id, strlen(p->user_id));
	s->info.sandbox = p->sandbox;
	copy_str(s->info.tier, sizeof(s->info.tier), p->tier);
	s->info.created_ms = now_ms;
	s->info.expires_ms = now_ms + p->ttl_s * 1000;
	s->info.status = SESSION_ACTIVE;
	s->vault_handle = vault_handle;
	s->has_credential = true;

	pthread_mutex_lock(&t->mu);
	if (bmap_count(t->map) >= t->max) {
		/* Expired sessions stay in the map until a cleanup: they must
		 * not hold a place that a live one could take. */
		struct sweep_arg a = { t, now_ms };
		bmap_sweep(t->map, sweep_expired, &a);
		t->count_at_ms = 0;
	}
	if (bmap_count(t->map) >= t->max) {
		pthread_mutex_unlock(&t->mu);
		free(s);
		*errstr = "session capacity reached";
		return -1;
	}
	/* 256 random bits never collide in practice; the loop makes it certain. */
	do {
		prim_random(id, SESSION_ID_BYTES);
	} while (bmap_get(t->map, id) != NULL);
	log_short_hash(s->info.id_hash, id, SESSION_ID_BYTES);
	if (keep(t, id, s) != 0) {
		pthread_mutex_unlock(&t->mu);
		free(s);
		*errstr = "the state store failed";
		return -1;
	}
	bmap_put(t->map, id, s);
	t->count_at_ms = 0;
	*info = s->info;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

int
session_restore(struct session_table *t, const uint8_t id[SESSION_ID_BYTES], const struct session_info *info,
    uint32_t vault_handle, int64_t now_ms)
{
	struct session *s;
	int rc = -1;

	pthread_mutex_lock(&t->mu);
	if (now_ms < info->expires_ms && bmap_get(t->map, id) == NULL && bmap_count(t->map) < t->max) {
		s = xcalloc(1, sizeof(*s));
		s->info = *info;
		s->info.status = SESSION_ACTIVE;
		log_short_hash(s->info.id_hash, id, SESSION_ID_BYTES);
		s->vault_handle = vault_handle;
		s->has_credential = true;
		bmap_put(t->map, id, s);
		t->count_at_ms = 0;
		rc = 0;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

/* Finds a live session, expiring it (credential erased) if its time is up.
 * Called locked. */
static struct session *
find_live(struct session_table *t, const uint8_t *id, int64_t now_ms)
{
	struct session *s = bmap_get(t->map, id);

	if (s == NULL)
		return NULL;
	if (now_ms >= s->info.expires_ms) {
		s->info.status = SESSION_EXPIRED;
		drop_credential(t, id, s);
		return NULL;
	}
	return s;
}

int
session_renew(struct session_table *t, const uint8_t id[SESSION_ID_BYTES], int64_t now_ms, int64_t ttl_s,
    struct session_info *info, const char **errstr)
{
	struct session *s;
	int64_t was;
	int rc = -1;

	pthread_mutex_lock(&t->mu);
	s = find_live(t, id, now_ms);
	if (s == NULL) {
		*errstr = "no such session";
		goto out;
	}
	was = s->info.expires_ms;
	s->info.expires_ms = now_ms + ttl_s * 1000;
	if (keep(t, id, s) != 0) {
		s->info.expires_ms = was;
		*errstr = "the state store failed";
		goto out;
	}
	t->count_at_ms = 0;
	*info = s->info;
	rc = 0;
out:
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int
session_lookup(struct session_table *t, const uint8_t id[SESSION_ID_BYTES], int64_t now_ms,
    struct session_info *info)
{
	struct session *s;

	pthread_mutex_lock(&t->mu);
	s = find_live(t, id, now_ms);
	if (s != NULL)
		*info = s->info;
	pthread_mutex_unlock(&t->mu);
	return s != NULL ? 0 : -1;
}

int
session_use_credential(struct session_table *t, const uint8_t id[SESSION_ID_BYTES], int64_t now_ms,
    int (*fn)(void *arg, const struct credential *c), void *arg)
{
	struct session *s;
	int rc = -1;

	/* Held across fn so a concurrent revoke cannot erase the slot mid-use. */
	pthread_mutex_lock(&t->mu);
	s = find_live(t, id, now_ms);
	if (s != NULL && s->has_credential)
		rc = vault_use(t->vault, s->vault_handle, fn, arg);
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int
session_revoke(struct session_table *t, const uint8_t id[SESSION_ID_BYTES], int64_t now_ms)
{
	struct session *s;
	int rc;

	pthread_mutex_lock(&t->mu);
	s = bmap_del(t->map, id);
	t->count_at_ms = 0;
	rc = s != NULL && now_ms < s->info.expires_ms ? 0 : -1;
	if (s != NULL) {
		drop_credential(t, id, s);
		free(s);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

void
session_revoke_credential(struct session_table *t, const uint8_t id[SESSION_ID_BYTES])
{
	struct session *s;

	pthread_mutex_lock(&t->mu);
	s = bmap_get(t->map, id);
	if (s != NULL)
		drop_credential(t, id, s);
	pthread_mutex_unlock(&t->mu);
}

size_t
session_cleanup(struct session_table *t, int64_t now_ms)
{
	struct sweep_arg a = { t, now_ms };
	size_t n;

	pthread_mutex_lock(&t->mu);
	n = bmap_sweep(t->map, sweep_expired, &a);
	t->count_at_ms = 0;
	pthread_mutex_unlock(&t->mu);
	return n;
}

struct count_arg {
	int64_t now_ms;
	size_t n;
};

static bool
count_live(void *arg, const uint8_t *key, void *val)
{
	struct count_arg *a = arg;

	if (a->now_ms < ((struct session *)val)->info.expires_ms)
		a->n++;
	return false;
}

size_t
session_count_active(struct session_table *t, int64_t now_ms)
{
	struct count_arg a = { now_ms, 0 };

	pthread_mutex_lock(&t->mu);
	if (t->count_at_ms == 0 || now_ms < t->count_at_ms || now_ms - t->count_at_ms >= 1000) {
		bmap_sweep(t->map, count_live, &a);
		t->count_cached = a.n;
		t->count_at_ms = now_ms;
	}
	a.n = t->count_cached;
	pthread_mutex_unlock(&t->mu);
	return a.n;
}

int
session_id_parse(uint8_t id[SESSION_ID_BYTES], const char *s, size_t len)
{
	if (len != SESSION_ID_HEX_LEN)
		return -1;
	return hex_decode_exact(id, SESSION_ID_BYTES, s, len);
}
