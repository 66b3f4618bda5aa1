#include "enclave/session_seal.h"

#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/prim.h"
#include "enclave/secret.h"
#include "util/log.h"
#include "util/xalloc.h"

#define LABEL "perfagg/session/v1"
#define PURPOSE "perfagg/seal/sessions/v1"
#define VERSION 1
#define NSTR 8
#define HEAD (PRIM_GCM_NONCE_BYTES + PRIM_GCM_TAG_BYTES)
#define FIXED (1 + SESSION_ID_BYTES + 8 + 8 + 1)
#define RECORD_MAX 65536		/* far above any credential the envelope admits (16 KiB) */
#define CKPT_LABEL "perfagg/checkpoint/v1"
#define CKPT_PURPOSE "perfagg/seal/checkpoints/v1"
#define CKPT_MAX ((size_t)1 << 30)

struct session_seal {
	struct store *st;
	struct secret *key;		/* the sealing key, guarded */
	struct secret *ckey;		/* the checkpoints' */
};

struct session_seal *
session_seal_new(struct store *st, struct keys *k, const char **errstr)
{
	struct session_seal *ss = xcalloc(1, sizeof(*ss));
	int rc;

	ss->st = st;
	ss->key = secret_new(KEYS_DERIVED_BYTES);
	rc = keys_derive(k, PURPOSE, secret_acquire(ss->key));
	secret_release(ss->key);
	ss->ckey = secret_new(KEYS_DERIVED_BYTES);
	if (rc == 0)
		rc = keys_derive(k, CKPT_PURPOSE, secret_acquire(ss->ckey));
	secret_release(ss->ckey);
	if (rc != 0) {
		*errstr = "cannot derive the sealing key";
		session_seal_free(ss);
		return NULL;
	}
	return ss;
}

void
session_seal_free(struct session_seal *ss)
{
	if (ss == NULL)
		return;
	secret_free(ss->key);
	secret_free(ss->ckey);
	free(ss);
}

/* SHA-256(label || 32 bytes): session ids and record keys are both 32. */
static void
labelled_hash(const char *label, const uint8_t in[32], uint8_t out[STORE_KEY_BYTES])
{
	size_t n = strlen(label);
	uint8_t buf[64];

	if (n > sizeof(buf) - 32)
		fatalx("session_seal: label too long");
	memcpy(buf, label, n);
	memcpy(buf + n, in, 32);
	prim_sha256(out, buf, n + 32);
}

static void
record_key(const uint8_t id[SESSION_ID_BYTES], uint8_t key[STORE_KEY_BYTES])
{
	_Static_assert(SESSION_ID_BYTES == 32, "session ids are 32 bytes");
	labelled_hash(LABEL, id, key);
}

/* A checkpoint's record key follows from its session's record key, so
 * that the checkpoints of sessions no longer in the store are found
 * without opening anything (session_seal_restore). */
static void
ckpt_key(const uint8_t rkey[STORE_KEY_BYTES], uint8_t key[STORE_KEY_BYTES])
{
	uint8_t in[STORE_KEY_BYTES];

	memcpy(in, rkey, sizeof(in));	/* rkey and key may be one buffer */
	labelled_hash(CKPT_LABEL, in, key);
}

static void
aad_of(const uint8_t rkey[STORE_KEY_BYTES], uint8_t aad[sizeof(LABEL) - 1 + STORE_KEY_BYTES])
{
	memcpy(aad, LABEL, sizeof(LABEL) - 1);
	memcpy(aad + sizeof(LABEL) - 1, rkey, STORE_KEY_BYTES);
}

static void
put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t
get_u64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* ---- the keeper ---- */

static int
keeper_put(void *arg, const uint8_t id[SESSION_ID_BYTES], const struct session_info *info,
    const struct credential *cred)
{
	struct session_seal *ss = arg;
	const char *str[NSTR] = { info->exchange, info->account_type, info->label, info->user_hash, info->tier,
		cred->api_key, cred->secret, cred->passphrase != NULL ? cred->passphrase : "" };
	size_t len[NSTR] = { strlen(info->exchange), strlen(info->account_type), strlen(info->label),
		strlen(info->user_hash), strlen(info->tier), cred->api_key_len, cred->secret_len, cred->passphrase_len };
	size_t n = FIXED, off;
	uint8_t rkey[STORE_KEY_BYTES], aad[sizeof(LABEL) - 1 + STORE_KEY_BYTES], *pt, *blob;
	struct secret *buf;
	const char *err = NULL;
	int rc = -1;

	for (int i = 0; i < NSTR; i++)
		n += 4 + len[i];
	if (n > RECORD_MAX)
		fatalx("session_seal: a session record of %zu bytes", n);
	buf = secret_new(n);
	pt = secret_acquire(buf);
	pt[0] = VERSION;
	memcpy(pt + 1, id, SESSION_ID_BYTES);
	put_u64(pt + 1 + SESSION_ID_BYTES, (uint64_t)info->created_ms);
	put_u64(pt + 1 + SESSION_ID_BYTES + 8, (uint64_t)info->expires_ms);
	pt[1 + SESSION_ID_BYTES + 16] = info->sandbox;
	off = FIXED;
	for (int i = 0; i < NSTR; i++) {
		pt[off] = (uint8_t)(len[i] >> 24);
		pt[off + 1] = (uint8_t)(len[i] >> 16);
		pt[off + 2] = (uint8_t)(len[i] >> 8);
		pt[off + 3] = (uint8_t)len[i];
		memcpy(pt + off + 4, str[i], len[i]);
		off += 4 + len[i];
	}
	record_key(id, rkey);
	aad_of(rkey, aad);
	blob = xmalloc(HEAD + n);
	prim_random(blob, PRIM_GCM_NONCE_BYTES);
	if (prim_aes256gcm_seal(blob + HEAD, blob + PRIM_GCM_NONCE_BYTES, pt, n, aad, sizeof(aad), blob,
	    secret_acquire(ss->key)) == 0)
		rc = ss->st->ops->put(ss->st, STORE_SESSIONS, rkey, info->expires_ms, blob, HEAD + n, &err);
	secret_release(ss->key);
	secret_release(buf);
	secret_free(buf);
	free(blob);
	if (rc != 0)
		log_event(LOG_ERROR, "session_seal_failed", "{s:s, s:s}", "sid", info->id_hash, "error",
		    err != NULL ? err : "sealing failed");
	return rc;
}

static void
keeper_drop(void *arg, const uint8_t id[SESSION_ID_BYTES])
{
	struct session_seal *ss = arg;
	uint8_t rkey[STORE_KEY_BYTES];
	const char *err = NULL;

	record_key(id, rkey);
	/* a failed delete leaves a record that expires with the session and is
	 * swept then; the credential is already gone from memory */
	if (ss->st->ops->del(ss->st, STORE_SESSIONS, rkey, &err) < 0)
		log_event(LOG_ERROR, "session_unseal_delete_failed", "{s:s}", "error", err);
	/* its checkpoint goes too (else the next start finds it an orphan) */
	ckpt_key(rkey, rkey);
	if (ss->st->ops->del(ss->st, STORE_CHECKPOINTS, rkey, &err) < 0)
		log_event(LOG_ERROR, "checkpoint_delete_failed", "{s:s}", "error", err);
}

/* ---- checkpoints ---- */

static void
ckpt_aad(const uint8_t key[STORE_KEY_BYTES], uint8_t aad[sizeof(CKPT_LABEL) - 1 + STORE_KEY_BYTES])
{
	memcpy(aad, CKPT_LABEL, sizeof(CKPT_LABEL) - 1);
	memcpy(aad + sizeof(CKPT_LABEL) - 1, key, STORE_KEY_BYTES);
}

int
session_seal_checkpoint_put(struct session_seal *ss, const uint8_t id[SESSION_ID_BYTES], const uint8_t *buf,
    size_t len, const char **errstr)
{
	uint8_t key[STORE_KEY_BYTES], aad[sizeof(CKPT_LABEL) - 1 + STORE_KEY_BYTES], *blob;
	int rc;

	if (len > CKPT_MAX) {
		*errstr = "a checkpoint too large to keep";
		return -1;
	}
	record_key(id, key);
	ckpt_key(key, key);
	ckpt_aad(key, aad);
	blob = xmalloc(HEAD + len);
	prim_random(blob, PRIM_GCM_NONCE_BYTES);
	rc = prim_aes256gcm_seal(blob + HEAD, blob + PRIM_GCM_NONCE_BYTES, buf, len, aad, sizeof(aad), blob,
	    secret_acquire(ss->ckey));
	secret_release(ss->ckey);
	if (rc != 0)
		*errstr = "sealing a checkpoint failed";
	else
		rc = ss->st->ops->put(ss->st, STORE_CHECKPOINTS, key, 0, blob, HEAD + len, errstr);
	free(blob);
	return rc;
}

int
session_seal_checkpoint_get(struct session_seal *ss, const uint8_t id[SESSION_ID_BYTES], int64_t now_ms,
    uint8_t **out, size_t *out_len, const char **errstr)
{
	uint8_t key[STORE_KEY_BYTES], aad[sizeof(CKPT_LABEL) - 1 + STORE_KEY_BYTES], *pt;
	void *blob = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	record_key(id, key);
	ckpt_key(key, key);
	rc = ss->st->ops->get(ss->st, STORE_CHECKPOINTS, key, now_ms, &blob, &len, errstr);
	if (rc != 1)
		return rc;
	if (len < HEAD) {
		free(blob);
		*errstr = "a damaged checkpoint record";
		return -1;
	}
	ckpt_aad(key, aad);
	pt = xmalloc(len - HEAD > 0 ? len - HEAD : 1);
	rc = prim_aes256gcm_open(pt, (const uint8_t *)blob + HEAD, len - HEAD, (const uint8_t *)blob + PRIM_GCM_NONCE_BYTES,
	    aad, sizeof(aad), blob, secret_acquire(ss->ckey));
	secret_release(ss->ckey);
	free(blob);
	if (rc != 0) {
		free(pt);
		*errstr = "a checkpoint sealed under other keys, or damaged";
		return -1;
	}
	*out = pt;
	*out_len = len - HEAD;
	return 1;
}

struct session_keeper
session_seal_keeper(struct session_seal *ss)
{
	return (struct session_keeper){ .arg = ss, .put = keeper_put, .drop = keeper_drop };
}

/* ---- restore ---- */

struct restore_arg {
	struct session_seal *ss;
	struct session_table *t;
	struct vault *v;
	int64_t now_ms;
	void (*restored)(void *arg, const uint8_t id[SESSION_ID_BYTES], const struct session_info *info);
	void *arg;
	struct session_seal_counts *counts;
	struct secret *buf;		/* RECORD_MAX bytes, guarded */
	uint8_t (*ckeys)[STORE_KEY_BYTES];	/* the checkpoint keys of every session record seen */
	size_t nckeys, capckeys;
	uint8_t (*orphans)[STORE_KEY_BYTES];
	size_t norphans, caporphans;
	/* the sessions restored, told to restored() once the store's walk is
	 * over (it may call the store: a session it cannot poll is ended) */
	struct restored_one {
		uint8_t id[SESSION_ID_BYTES];
		struct session_info info;
	} *done;
	size_t ndone, capdone;
};

/* Reads the n-byte plaintext pt of record rkey into id, info and cred
 * (pointing into pt). Returns 0, or -1 if it is not a record this code
 * wrote for that key. */
static int
parse(const uint8_t *pt, size_t n, const uint8_t rkey[STORE_KEY_BYTES], uint8_t id[SESSION_ID_BYTES],
    struct session_info *info, struct credential *cred)
{
	char *dst[5] = { info->exchange, info->account_type, info->label, info->user_hash, info->tier };
	size_t cap[5] = { sizeof(info->exchange), sizeof(info->account_type), sizeof(info->label),
		sizeof(info->user_hash), sizeof(info->tier) };
	const char *s[NSTR];
	size_t len[NSTR], off = FIXED;
	uint8_t check[STORE_KEY_BYTES];

	if (n < FIXED || pt[0] != VERSION || pt[1 + SESSION_ID_BYTES + 16] > 1)
		return -1;
	memcpy(id, pt + 1, SESSION_ID_BYTES);
	record_key(id, check);
	if (memcmp(check, rkey, STORE_KEY_BYTES) != 0)
		return -1;
	memset(info, 0, sizeof(*info));
	info->created_ms = (int64_t)get_u64(pt + 1 + SESSION_ID_BYTES);
	info->expires_ms = (int64_t)get_u64(pt + 1 + SESSION_ID_BYTES + 8);
	info->sandbox = pt[1 + SESSION_ID_BYTES + 16] == 1;
	for (int i = 0; i < NSTR; i++) {
		if (n - off < 4)
			return -1;
		len[i] = (size_t)pt[off] << 24 | (size_t)pt[off + 1] << 16 | (size_t)pt[off + 2] << 8 | pt[off + 3];
		off += 4;
		if (n - off < len[i])
			return -1;
		s[i] = (const char *)pt + off;
		off += len[i];
	}
	if (off != n)
		return -1;	/* trailing bytes */
	for (int i = 0; i < 5; i++) {
		if (len[i] >= cap[i] || memchr(s[i], '\0', len[i]) != NULL)
			return -1;
		memcpy(dst[i], s[i], len[i]);
		dst[i][len[i]] = '\0';
	}
	/* the vault takes lengths; the NULs it needs are its own */
	*cred = (struct credential){ .api_key = s[5], .api_key_len = len[5], .secret = s[6], .secret_len = len[6],
		.passphrase = len[7] > 0 ? s[7] : NULL, .passphrase_len = len[7] };
	return 0;
}

static int
restore_one(void *arg, const uint8_t rkey[STORE_KEY_BYTES], int64_t expires_ms, const void *val, size_t len)
{
	struct restore_arg *a = arg;
	uint8_t aad[sizeof(LABEL) - 1 + STORE_KEY_BYTES], id[SESSION_ID_BYTES], *pt;
	const uint8_t *blob = val;
	struct session_info info;
	struct credential cred;
	uint32_t handle;
	const char *err = NULL;
	int rc;

	(void)expires_ms;
	if (a->nckeys == a->capckeys) {
		a->capckeys = a->capckeys ? 2 * a->capckeys : 64;
		a->ckeys = xreallocarray(a->ckeys, a->capckeys, sizeof(*a->ckeys));
	}
	ckpt_key(rkey, a->ckeys[a->nckeys++]);
	if (len < HEAD || len - HEAD > RECORD_MAX) {
		a->counts->unreadable++;
		return 0;
	}
	aad_of(rkey, aad);
	pt = secret_acquire(a->buf);
	rc = prim_aes256gcm_open(pt, blob + HEAD, len - HEAD, blob + PRIM_GCM_NONCE_BYTES, aad, sizeof(aad), blob,
	    secret_acquire(a->ss->key));
	secret_release(a->ss->key);
	if (rc != 0 || parse(pt, len - HEAD, rkey, id, &info, &cred) != 0) {
		a->counts->unreadable++;
		goto out;
	}
	log_short_hash(info.id_hash, id, SESSION_ID_BYTES);
	if (vault_put(a->v, &cred, &handle, &err) != 0) {
		a->counts->unreadable++;
		goto out;
	}
	if (session_restore(a->t, id, &info, handle, a->now_ms) != 0) {
		vault_erase(a->v, handle);
		a->counts->refused++;
		goto out;
	}
	a->counts->restored++;
	if (a->ndone == a->capdone) {
		a->capdone = a->capdone ? 2 * a->capdone : 64;
		a->done = xreallocarray(a->done, a->capdone, sizeof(*a->done));
	}
	memcpy(a->done[a->ndone].id, id, SESSION_ID_BYTES);
	a->done[a->ndone++].info = info;
out:
	OPENSSL_cleanse(pt, len - HEAD);
	secret_release(a->buf);
	return 0;
}

static int
cmp_key(const void *x, const void *y)
{
	return memcmp(x, y, STORE_KEY_BYTES);
}

/* A checkpoint whose session record is gone (it expired while the daemon
 * was down and the sweep took it) is collected for deletion. */
static int
orphan_one(void *arg, const uint8_t key[STORE_KEY_BYTES], int64_t expires_ms, const void *val, size_t len)
{
	struct restore_arg *a = arg;

	(void)expires_ms;
	(void)val;
	(void)len;
	if (a->nckeys > 0 && bsearch(key, a->ckeys, a->nckeys, STORE_KEY_BYTES, cmp_key) != NULL)
		return 0;
	if (a->norphans == a->caporphans) {
		a->caporphans = a->caporphans ? 2 * a->caporphans : 16;
		a->orphans = xreallocarray(a->orphans, a->caporphans, sizeof(*a->orphans));
	}
	memcpy(a->orphans[a->norphans++], key, STORE_KEY_BYTES);
	return 0;
}

int
session_seal_restore(struct session_seal *ss, struct session_table *t, struct vault *v, int64_t now_ms,
    void (*restored)(void *arg, const uint8_t id[SESSION_ID_BYTES], const struct session_info *info), void *arg,
    struct session_seal_counts *counts, const char **errstr)
{
	struct restore_arg a = { .ss = ss, .t = t, .v = v, .now_ms = now_ms, .restored = restored, .arg = arg,
		.counts = counts, .buf = secret_new(RECORD_MAX) };
	int rc;

	memset(counts, 0, sizeof(*counts));
	rc = ss->st->ops->each(ss->st, STORE_SESSIONS, now_ms, restore_one, &a, errstr);
	secret_free(a.buf);
	if (rc == 0) {
		if (a.nckeys > 0)
			qsort(a.ckeys, a.nckeys, STORE_KEY_BYTES, cmp_key);
		rc = ss->st->ops->each(ss->st, STORE_CHECKPOINTS, now_ms, orphan_one, &a, errstr);
		for (size_t i = 0; rc == 0 && i < a.norphans; i++)
			if (ss->st->ops->del(ss->st, STORE_CHECKPOINTS, a.orphans[i], errstr) < 0)
				rc = -1;
		counts->orphans = a.norphans;
	}
	free(a.ckeys);
	free(a.orphans);
	for (size_t i = 0; i < a.ndone; i++)
		if (restored != NULL)
			restored(arg, a.done[i].id, &a.done[i].info);
	OPENSSL_cleanse(a.done, a.ndone * sizeof(*a.done));	/* session ids: bearer secrets */
	free(a.done);
	if (counts->unreadable > 0)
		log_event(LOG_WARN, "sessions_unreadable", "{s:I, s:s}", "count", (json_int_t)counts->unreadable, "why",
		    "sealed under other keys, or damaged: left in the store");
	return rc;
}
