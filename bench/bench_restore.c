/*
 * bench_restore: sealed sessions (session_seal.h) on real files, the way
 * perfaggd keeps them (issue #10's "time from start to serving 10,000
 * restored sessions" and "store size per session").
 *
 *	bench_restore [N=10000] [--keep DIR] [--checkpoint FILLS]
 *
 *  1. Sealing: key files written as `perfaggd keygen` writes them
 *     (keys_generate + keys_save) and loaded back (keys_load), the store
 *     DATA_DIR/state.sqlite3, a session table with the sealing keeper; N
 *     sessions created through vault_put + session_create with a 64-char
 *     API key and secret each (every one a committed store write, as
 *     POST /enclave/submit_key does). Reports sessions/s, the latency of one
 *     creation, and the store's size per session once the WAL is
 *     checkpointed (db + wal, the empty store's size subtracted).
 *  2. Restore: everything closed as at shutdown, then what server_start
 *     does again, timed step by step: load the keys, open the store, a new
 *     vault and table, session_seal_restore. Every session must come back,
 *     one credential is compared byte for byte.
 *
 * With --checkpoint FILLS every session also gets a checkpoint
 * (exchange/checkpoint.h) as the poller takes them: one real collection
 * with FILLS Binance spot fills applied (ledger and holdings; 7 symbols,
 * one fill a minute, a quarter of them paying their fee in BNB) and a
 * Binance spot connector, saved once and sealed under every session's
 * key (session_seal_checkpoint_put), so that the restore and the daemon's
 * start open and load a checkpoint per session.
 *
 * The files live in a fresh temporary directory, removed at the end. With
 * --keep DIR (DIR must not exist) they are left in DIR: DIR/enclave.key,
 * DIR/enclave.pub (ENCLAVE_PRIVATE_KEY_PATH / _PUBLIC_) and DIR/data
 * (DATA_DIR), and one session id is printed ("session_id HEX") so that
 * bench/restore_load.sh can time the daemon's start to its first answer.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "core/hex.h"
#include "core/prim.h"
#include "enclave/keys.h"
#include "enclave/secret.h"
#include "enclave/session.h"
#include "enclave/session_seal.h"
#include "enclave/vault.h"
#include "exchange/checkpoint.h"
#include "exchange/collection.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define CRED_LEN 64			/* hex characters of the API key and of the secret */
#define TTL_S (7 * 86400)		/* MAX_SESSION_TTL's default */
#define LINGER_MS 50			/* SECRET_LINGER_MS's default, as perfaggd runs */

struct paths {
	char *dir, *priv, *pub, *data, *db, *wal, *shm;
};

static long long
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

static long long
store_bytes(const struct paths *p)
{
	return file_size(p->db) + file_size(p->wal);
}

/*
 * Moves the WAL into the database and truncates it, through a connection of
 * our own: the store has no such operation (the daemon leaves it to
 * SQLite's automatic checkpoints), and without it the size would depend on
 * where the last automatic checkpoint fell.
 */
static void
checkpoint(const struct paths *p)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(p->db, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
		fatalx("checkpoint %s: %s", p->db, sqlite3_errmsg(db));
	sqlite3_close(db);
}

static void
restored_one(void *arg, const uint8_t id[SESSION_ID_BYTES], const struct session_info *info)
{
	(*(size_t *)arg)++;
}

struct sealed_sum {
	size_t n;
	size_t bytes;
};

static int
sum_record(void *arg, const uint8_t key[STORE_KEY_BYTES], int64_t expires_ms, const void *val, size_t len)
{
	struct sealed_sum *s = arg;

	s->n++;
	s->bytes += len;
	return 0;
}

static int
same_key(void *arg, const struct credential *c)
{
	const char *want = arg;

	return c->api_key_len == CRED_LEN && memcmp(c->api_key, want, CRED_LEN) == 0 ? 0 : -1;
}

/* Opens the store at p->db and what seals into it, as server_start does. */
static void
open_all(const struct paths *p, struct keys *k, size_t cap, struct store **st, struct session_seal **ss,
    struct vault **v, struct session_table **t)
{
	struct session_keeper kp;
	const char *e = NULL;

	if ((*st = store_sqlite.open(p->db, &e)) == NULL || (*ss = session_seal_new(*st, k, &e)) == NULL)
		fatalx("open %s: %s", p->db, e);
	kp = session_seal_keeper(*ss);
	*v = vault_new();
	*t = session_table_new(*v, cap, &kp);
}

/* Shutdown, in server_stop's order. */
static void
close_all(struct store *st, struct session_seal *ss, struct vault *v, struct session_table *t)
{
	session_table_free(t);
	session_seal_free(ss);
	store_sqlite.close(st);
	vault_free(v);
}

static void
remove_all(const struct paths *p)
{
	const char *files[] = { p->db, p->wal, p->shm, p->priv, p->pub };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (unlink(files[i]) != 0 && errno != ENOENT)
			fprintf(stderr, "bench_restore: cannot remove %s: %s\n", files[i], strerror(errno));
	if (rmdir(p->data) != 0 || rmdir(p->dir) != 0)
		fprintf(stderr, "bench_restore: cannot remove %s: %s\n", p->dir, strerror(errno));
}

/* One checkpoint of a Binance spot session with nfills fills (see above). */
static void
build_checkpoint(size_t nfills, struct pack *w)
{
	static const char *const syms[] = { "BTC/USDT", "ETH/USDT", "BNB/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT",
		"DOGE/USDT" };
	struct collection *c = collection_new("binance", FILL_SPOT);
	struct xconf conf = { .market = FILL_SPOT, .base_url = "http://127.0.0.1:9" };
	struct xconn conn;
	const char *e = NULL;
	int64_t t0 = time_now_ms() - (int64_t)nfills * 60000;

	for (size_t i = 0; i < nfills; i++) {
		struct fill f = { 0 };
		struct dec fee;
		enum ledger_outcome oc;
		const char *sym = syms[i % 7];
		char num[32];

		snprintf(f.id, sizeof(f.id), "%zu", i + 1);
		f.timestamp = t0 + (int64_t)i * 60000;
		if (fill_set_symbol(&f, sym, strlen(sym), &e) != 0)
			fatalx("fill: %s", e);
		f.side = (i / 7) % 2 == 0 ? FILL_BUY : FILL_SELL;
		snprintf(num, sizeof(num), "%zu.%02zu", 100 + i % 50, i % 100);
		if (dec_parse(num, strlen(num), &f.price, &e) != 0 ||
		    dec_parse("0.5", 3, &f.amount, &e) != 0)
			fatalx("fill: %s", e);
		f.market = FILL_SPOT;
		if (dec_parse(i % 4 == 0 ? "0.001" : "0.05", i % 4 == 0 ? 5 : 4, &fee, &e) != 0 ||
		    fill_add_fee(&f, fee, i % 4 == 0 ? "BNB" : "USDT", &e) != 0)
			fatalx("fill: %s", e);
		if (ledger_apply(c->ledger, &f, &oc, &e) != 0 || holdings_fill(c->holdings, &f, &e) != 0)
			fatalx("fill %zu: %s", i, e);
	}
	c->st.interval_ms = 60000;
	c->st.backfill_done = true;
	c->st.fills_applied = nfills;
	collection_set_state(c, POLL_ACTIVE);
	if (xconn_open(&conn, exchange_find("binance"), &conf, &e) != 0)
		fatalx("connector: %s", e);
	conn.validated = conn.backfill_done = true;
	if (checkpoint_save(c, &conn, true, w, &e) != 0)
		fatalx("checkpoint: %s", e);
	/* it must load as the daemon will load it */
	{
		struct collection *c2 = collection_new("binance", FILL_SPOT);
		struct xconn conn2;
		bool hd;
		if (xconn_open(&conn2, exchange_find("binance"), &conf, &e) != 0 ||
		    checkpoint_load(c2, &conn2, w->buf, w->len, &hd, &e) != 0)
			fatalx("checkpoint does not load: %s", e);
		xconn_close(&conn2);
		collection_unref(c2);
	}
	xconn_close(&conn);
	collection_unref(c);
}

int
main(int argc, char **argv)
{
	struct paths p;
	const char *keep = NULL, *e = NULL;
	char tmpl[] = "/tmp/bench_restore.XXXXXX", *keys_hex, id_hex[SESSION_ID_HEX_LEN + 1];
	size_t n = 10000, back = 0, ckpt_fills = 0;
	struct pack ckpt;
	double ckpt_s = 0;
	struct keys *k;
	struct store *st;
	struct session_seal *ss;
	struct vault *v;
	struct session_table *t;
	struct session_seal_counts counts;
	struct sealed_sum sum = { 0, 0 };
	struct session_info info;
	uint8_t first_id[SESSION_ID_BYTES], id[SESSION_ID_BYTES], *rnd;
	double *lat, t0, seal_s, load_s, open_s, restore_s;
	long long empty_bytes, live_bytes, sealed_bytes;
	long rss_sealed;
	int64_t now;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc)
			keep = argv[++i];
		else if (strcmp(argv[i], "--checkpoint") == 0 && i + 1 < argc)
			ckpt_fills = strtoul(argv[++i], NULL, 10);
		else if ((n = strtoul(argv[i], NULL, 10)) == 0) {
			fprintf(stderr, "usage: bench_restore [N=10000] [--keep DIR] [--checkpoint FILLS]\n");
			return 2;
		}
	}
	if (secret_init() != 0)
		fatalx("cannot initialise libsodium");
	/* as perfaggd runs: files its own, OpenSSL's secure heap for the keys,
	 * lingering secrets */
	umask(077);
	CRYPTO_secure_malloc_init(1 << 17, 32);
	if (secret_linger_start(LINGER_MS) != 0)
		fatalx("cannot start the secret linger thread");
	log_set_level(LOG_WARN);

	if (keep != NULL) {
		if (mkdir(keep, 0700) != 0)
			fatalx("--keep %s: %s", keep, strerror(errno));
		p.dir = xstrdup(keep);
	} else if (mkdtemp(tmpl) == NULL)
		fatalx("mkdtemp: %s", strerror(errno));
	else
		p.dir = xstrdup(tmpl);
	p.priv = xasprintf("%s/enclave.key", p.dir);
	p.pub = xasprintf("%s/enclave.pub", p.dir);
	p.data = xasprintf("%s/data", p.dir);
	p.db = xasprintf("%s/state.sqlite3", p.data);
	p.wal = xasprintf("%s-wal", p.db);
	p.shm = xasprintf("%s-shm", p.db);
	if (mkdir(p.data, 0700) != 0)
		fatalx("mkdir %s: %s", p.data, strerror(errno));

	/* the key files of `perfaggd keygen`, then loaded as the daemon loads them */
	k = keys_generate();
	if (k == NULL || keys_save(k, p.priv, p.pub, &e) != 0)
		fatalx("keygen: %s", e != NULL ? e : "key generation failed");
	keys_free(k);
	if ((k = keys_load(p.priv, p.pub, &e)) == NULL)
		fatalx("keys_load: %s", e);

	/* credentials made before the clock starts: the trader's, not ours */
	rnd = xmalloc(n * CRED_LEN);
	prim_random(rnd, n * CRED_LEN);
	keys_hex = xmalloc(n * (2 * CRED_LEN + 2));
	for (size_t i = 0; i < n; i++) {
		char *key = keys_hex + i * (2 * CRED_LEN + 2);
		hex_encode(key, rnd + i * CRED_LEN, CRED_LEN / 2);
		hex_encode(key + CRED_LEN + 1, rnd + i * CRED_LEN + CRED_LEN / 2, CRED_LEN / 2);
	}
	free(rnd);

	/* 1. sealing */
	open_all(&p, k, n, &st, &ss, &v, &t);
	checkpoint(&p);
	empty_bytes = store_bytes(&p);
	lat = xcalloc(n, sizeof(*lat));
	pack_init(&ckpt);
	if (ckpt_fills > 0)
		build_checkpoint(ckpt_fills, &ckpt);
	now = time_now_ms();
	t0 = bench_now_s();
	for (size_t i = 0; i < n; i++) {
		char *key = keys_hex + i * (2 * CRED_LEN + 2), *secret = key + CRED_LEN + 1;
		struct credential c = { .api_key = key, .api_key_len = CRED_LEN, .secret = secret,
			.secret_len = CRED_LEN };
		struct session_params sp = { .exchange = "binance", .account_type = "spot", .label = "bench",
			.user_id = "bench-user", .ttl_s = TTL_S };
		uint32_t h;
		double s0 = bench_now_s();
		if (vault_put(v, &c, &h, &e) != 0 || session_create(t, &sp, h, now, id, &info, &e) != 0)
			fatalx("session %zu: %s", i, e);
		lat[i] = bench_now_s() - s0;
		if (ckpt.len > 0) {
			s0 = bench_now_s();
			if (session_seal_checkpoint_put(ss, id, ckpt.buf, ckpt.len, &e) != 0)
				fatalx("checkpoint %zu: %s", i, e);
			ckpt_s += bench_now_s() - s0;
		}
		if (i == 0)
			memcpy(first_id, id, SESSION_ID_BYTES);
	}
	seal_s = bench_now_s() - t0 - ckpt_s;
	if (ckpt.len > 0)
		printf("checkpoints: %zu of %zu bytes (%zu fills) sealed in %.2f s, %.0f /s\n", n, ckpt.len, ckpt_fills,
		    ckpt_s, (double)n / ckpt_s);
	rss_sealed = bench_maxrss_kib();
	live_bytes = store_bytes(&p);
	if (st->ops->each(st, STORE_SESSIONS, time_now_ms(), sum_record, &sum, &e) != 0 || sum.n != n)
		fatalx("the store holds %zu sessions of %zu: %s", sum.n, n, e != NULL ? e : "");
	checkpoint(&p);
	sealed_bytes = store_bytes(&p);
	qsort(lat, n, sizeof(*lat), bench_cmp_double);
	printf("sealing: %zu sessions in %.2f s, %.0f sessions/s, one creation p50 %.3f ms p99 %.3f ms\n", n, seal_s,
	    (double)n / seal_s, lat[n / 2] * 1e3, lat[(size_t)((double)n * 0.99)] * 1e3);
	printf("store: %lld bytes live (db + wal), %lld after a checkpoint (%lld empty): %.0f bytes per session "
	    "(sealed record %.0f bytes)\n", live_bytes, sealed_bytes, empty_bytes,
	    (double)(sealed_bytes - empty_bytes) / (double)n, (double)sum.bytes / (double)n);

	/* 2. shutdown, then start again */
	close_all(st, ss, v, t);
	keys_free(k);
	t0 = bench_now_s();
	if ((k = keys_load(p.priv, p.pub, &e)) == NULL)
		fatalx("keys_load: %s", e);
	load_s = bench_now_s() - t0;
	t0 = bench_now_s();
	open_all(&p, k, n, &st, &ss, &v, &t);
	open_s = bench_now_s() - t0;
	t0 = bench_now_s();
	if (session_seal_restore(ss, t, v, time_now_ms(), restored_one, &back, &counts, &e) != 0)
		fatalx("restore: %s", e);
	restore_s = bench_now_s() - t0;
	if (counts.restored != n || back != n || counts.unreadable != 0 || counts.refused != 0 ||
	    session_count_active(t, time_now_ms()) != n)
		fatalx("restored %zu of %zu (unreadable %zu, refused %zu)", counts.restored, n, counts.unreadable,
		    counts.refused);
	if (session_lookup(t, first_id, time_now_ms(), &info) != 0 ||
	    session_use_credential(t, first_id, time_now_ms(), same_key, keys_hex) != 0)
		fatalx("the first session came back without its credential");
	printf("restore: %zu sessions in %.3f s (%.0f sessions/s); keys_load %.1f ms, store open %.1f ms; "
	    "peak RSS %.1f MiB (%.1f MiB after sealing)\n", counts.restored, restore_s, (double)n / restore_s,
	    load_s * 1e3, open_s * 1e3, (double)bench_maxrss_kib() / 1024, (double)rss_sealed / 1024);

	printf("\n| step | sessions | time | rate | target |\n|---|---|---|---|---|\n");
	printf("| seal (create, committed) | %zu | %.2f s | %.0f /s | |\n", n, seal_s, (double)n / seal_s);
	printf("| restore (keys + open + session_seal_restore) | %zu | %.3f s | %.0f /s | <= 5 s for 10,000 |\n",
	    counts.restored, load_s + open_s + restore_s, (double)n / (load_s + open_s + restore_s));
	printf("| store after checkpoint | %zu | %lld bytes | %.0f bytes/session | |\n\n", n, sealed_bytes,
	    (double)(sealed_bytes - empty_bytes) / (double)n);

	close_all(st, ss, v, t);
	keys_free(k);
	secret_linger_stop();
	if (keep != NULL) {
		hex_encode(id_hex, first_id, SESSION_ID_BYTES);
		printf("kept: ENCLAVE_PRIVATE_KEY_PATH=%s ENCLAVE_PUBLIC_KEY_PATH=%s DATA_DIR=%s\nsession_id %s\n", p.priv,
		    p.pub, p.data, id_hex);
	} else
		remove_all(&p);
	pack_free(&ckpt);
	OPENSSL_cleanse(keys_hex, n * (2 * CRED_LEN + 2));
	free(keys_hex);
	free(lat);
	free(p.dir);
	free(p.priv);
	free(p.pub);
	free(p.data);
	free(p.db);
	free(p.wal);
	free(p.shm);
	return 0;
}
