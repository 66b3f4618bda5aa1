#include "out/publisher.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/prim.h"
#include "enclave/keys.h"
#include "enclave/secret.h"
#include "enclave/session.h"
#include "exchange/poller.h"
#include "out/ingest.h"
#include "out/outbox.h"
#include "store/store.h"
#include "util/bmap.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define MAX_PER_PASS 48
#define PASS_MAX_MS 5000
#define PUBLISHED_LABEL "perfagg/published/v1"
#define PUBLISHED_KEEP_MS (7 * 86400000LL)	/* a progress record outlives its session by this */

/* What has been published for one session. */
struct pstate {
	int64_t until;			/* periods before this are in the outbox */
	uint64_t pass;			/* the last pass that saw the session */
};

struct publisher {
	int64_t interval;
	char *connector_version;
	struct poller *poller;
	struct session_table *sessions;
	struct keys *keys;
	struct outbox *outbox;
	struct store *store;		/* NULL: progress in memory only */
	struct secret *client_key;	/* HMAC key of client ids, derived from the enclave keys (guarded) */
	struct bmap *kept;		/* record key -> int64_t until, progress read from the store at start */

	pthread_mutex_t pass_mu;	/* one pass at a time; states */
	struct bmap *states;
	uint64_t npass;

	pthread_t thread;
	bool started;
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cv;
	bool stopping;
};

/* A payload built under the poller's lock, committed after it. */
struct built {
	char key[INGEST_KEY_HEX + 1];
	char *body;
	int64_t end;
};

struct pass_arg {
	struct publisher *pb;
	const uint8_t *sid;
	const struct session_info *info;
	struct pstate *state;		/* NULL: nothing published yet */
	int64_t cutoff;
	struct built out[MAX_PER_PASS];
	size_t nout;
};

static int64_t
floor_to(int64_t t, int64_t step)
{
	return t - ((t % step) + step) % step;
}

static bool drop_all(void *arg, const uint8_t *key, void *val);

static int
build_one(struct pass_arg *a, const struct ledger *l, int64_t start, int64_t end, const char *kind)
{
	char cid[INGEST_CLIENT_ID_LEN + 1];
	struct ingest_period per = { .client_id = cid, .exchange = a->info->exchange,
		.connector_version = a->pb->connector_version, .start_ms = start, .end_ms = end, .kind = kind };
	const char *err = NULL;
	json_t *doc;

	ingest_client_id(cid, secret_acquire(a->pb->client_key), a->sid, SESSION_ID_BYTES);
	secret_release(a->pb->client_key);
	doc = ingest_build(l, &per, keys_sign, a->pb->keys, keys_id(a->pb->keys), keys_epoch(a->pb->keys), &err);
	if (doc == NULL) {
		log_event(LOG_ERROR, "ingest_build_failed", "{s:s, s:s}", "sid", a->info->id_hash, "error", err);
		return -1;
	}
	snprintf(a->out[a->nout].key, sizeof(a->out[a->nout].key), "%s",
	    json_string_value(json_object_get(doc, "idempotency_key")));
	a->out[a->nout].body = json_dumps(doc, JSON_COMPACT);
	a->out[a->nout].end = end;
	a->nout++;
	json_decref(doc);
	return 0;
}

static int
view(void *arg, const struct ledger *l, const struct poll_status *st)
{
	struct pass_arg *a = arg;
	int64_t iv = a->pb->interval, start;
	struct ledger_bucket b;

	if (!st->backfill_done || st->complete_until_ms <= 0)
		return 0;
	a->cutoff = floor_to(st->complete_until_ms, iv);
	if (a->state == NULL) {
		start = a->cutoff;
		if (ledger_nbuckets(l) > 0) {
			ledger_bucket(l, 0, &b);	/* ordered by hour */
			if (b.hour < start)
				start = b.hour;
		}
		return build_one(a, l, start, a->cutoff, "backfill");
	}
	for (start = a->state->until; start < a->cutoff && a->nout < MAX_PER_PASS; start += iv)
		if (build_one(a, l, start, start + iv, "hourly") != 0)
			return -1;
	return 0;
}

static bool
drop_unseen(void *arg, const uint8_t *key, void *val)
{
	struct pstate *s = val;

	if (s->pass == *(uint64_t *)arg)
		return false;
	free(s);
	return true;
}

static void
progress_key(const uint8_t *sid, uint8_t key[STORE_KEY_BYTES])
{
	uint8_t buf[sizeof(PUBLISHED_LABEL) - 1 + SESSION_ID_BYTES];

	memcpy(buf, PUBLISHED_LABEL, sizeof(PUBLISHED_LABEL) - 1);
	memcpy(buf + sizeof(PUBLISHED_LABEL) - 1, sid, SESSION_ID_BYTES);
	prim_sha256(key, buf, sizeof(buf));
}

/* The progress of sid kept from an earlier run, or NULL. */
static struct pstate *
progress_kept(struct publisher *pb, const uint8_t *sid)
{
	uint8_t key[STORE_KEY_BYTES];
	int64_t *until;
	struct pstate *s;

	if (pb->kept == NULL)
		return NULL;
	progress_key(sid, key);
	if ((until = bmap_del(pb->kept, key)) == NULL)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->until = *until;
	free(until);
	bmap_put(pb->states, sid, s);
	return s;
}

/* Keeps how far sid was published (8 bytes, big-endian ms). */
static void
progress_save(struct publisher *pb, const uint8_t *sid, const struct session_info *info, int64_t until)
{
	uint8_t key[STORE_KEY_BYTES], v[8];
	const char *err = NULL;

	if (pb->store == NULL)
		return;
	progress_key(sid, key);
	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)((uint64_t)until >> (56 - 8 * i));
	/* a failure leaves the previous progress: after a restart those
	 * periods are built again, with the same idempotency keys and bytes
	 * (ingest.h), so the backend sees each once */
	if (pb->store->ops->put(pb->store, STORE_PUBLISHED, key, info->expires_ms + PUBLISHED_KEEP_MS, v, sizeof(v),
	    &err) != 0)
		log_event(LOG_ERROR, "ingest_progress_not_kept", "{s:s, s:s}", "sid", info->id_hash, "error", err);
}

static int
load_one(void *arg, const uint8_t key[STORE_KEY_BYTES], int64_t expires_ms, const void *val, size_t len)
{
	struct publisher *pb = arg;
	const uint8_t *p = val;
	int64_t *until;

	(void)expires_ms;
	if (len != 8)
		return 0;
	until = xmalloc(sizeof(*until));
	*until = 0;
	for (int i = 0; i < 8; i++)
		*until = (int64_t)((uint64_t)*until << 8 | p[i]);
	if (bmap_put(pb->kept, key, until) != 0)
		free(until);
	return 0;
}

size_t
publisher_pass(struct publisher *pb, int64_t now_ms)
{
	uint8_t (*sids)[SESSION_ID_BYTES] = NULL;
	size_t n, committed = 0;

	pthread_mutex_lock(&pb->pass_mu);
	pb->npass++;
	n = poller_sessions(pb->poller, &sids);
	for (size_t i = 0; i < n; i++) {
		struct session_info info;
		struct pass_arg a = { .pb = pb, .sid = sids[i], .info = &info };
		struct pstate *s;

		if (session_lookup(pb->sessions, sids[i], now_ms, &info) != 0)
			continue;	/* revoked or expired: its state is dropped below */
		s = bmap_get(pb->states, sids[i]);
		if (s == NULL)
			s = progress_kept(pb, sids[i]);
		if (s != NULL)
			s->pass = pb->npass;
		a.state = s;
		poller_view(pb->poller, sids[i], view, &a);
		/* Commit in order; stop at the first failure so the next pass
		 * retries from there, and nothing is skipped. */
		for (size_t k = 0; k < a.nout; k++) {
			const char *err = NULL;
			if (a.out[k].body != NULL && outbox_put(pb->outbox, a.out[k].key, a.out[k].body,
			    strlen(a.out[k].body), &err) == 0) {
				if (s == NULL) {
					s = xcalloc(1, sizeof(*s));
					s->pass = pb->npass;
					bmap_put(pb->states, sids[i], s);
				}
				s->until = a.out[k].end;
				committed++;
			} else {
				log_event(LOG_ERROR, "ingest_put_failed", "{s:s, s:s}", "sid", info.id_hash, "error",
				    err != NULL ? err : "cannot serialize");
				for (; k < a.nout; k++)
					free(a.out[k].body);
				break;
			}
			free(a.out[k].body);
		}
		if (s != NULL && a.nout > 0)
			progress_save(pb, sids[i], &info, s->until);
	}
	bmap_sweep(pb->states, drop_unseen, &pb->npass);
	pthread_mutex_unlock(&pb->pass_mu);
	free(sids);
	if (committed > 0)
		log_event(LOG_DEBUG, "ingest_committed", "{s:I}", "payloads", (json_int_t)committed);
	return committed;
}

static void *
timer_main(void *arg)
{
	struct publisher *pb = arg;
	int64_t step = pb->interval < PASS_MAX_MS ? pb->interval : PASS_MAX_MS;
	struct timespec until;

	pthread_mutex_lock(&pb->stop_mu);
	while (!pb->stopping) {
		time_deadline(&until, step);
		if (pthread_cond_timedwait(&pb->stop_cv, &pb->stop_mu, &until) == ETIMEDOUT && !pb->stopping) {
			pthread_mutex_unlock(&pb->stop_mu);
			publisher_pass(pb, time_now_ms());
			pthread_mutex_lock(&pb->stop_mu);
		}
	}
	pthread_mutex_unlock(&pb->stop_mu);
	return NULL;
}

struct publisher *
publisher_start(const struct publisher_config *cfg, struct poller *p, struct session_table *sessions,
    struct keys *keys, struct outbox *ob, const char **errstr)
{
	struct publisher *pb = xcalloc(1, sizeof(*pb));
	int rc;

	if (cfg->interval_ms <= 0)
		fatalx("publisher_start: interval must be positive");
	pb->interval = cfg->interval_ms;
	pb->connector_version = xstrdup(cfg->connector_version);
	pb->poller = p;
	pb->sessions = sessions;
	pb->keys = keys;
	pb->outbox = ob;
	pb->store = cfg->store;
	pb->client_key = secret_new(KEYS_DERIVED_BYTES);
	rc = keys_derive(keys, "perfagg/ingest/client-id/v1", secret_acquire(pb->client_key));
	secret_release(pb->client_key);
	if (rc != 0) {
		*errstr = "cannot derive the client id key";
		secret_free(pb->client_key);
		free(pb->connector_version);
		free(pb);
		return NULL;
	}
	pb->states = bmap_new();
	if (pb->store != NULL) {
		pb->kept = bmap_new();
		if (pb->store->ops->each(pb->store, STORE_PUBLISHED, time_now_ms(), load_one, pb, errstr) != 0) {
			bmap_sweep(pb->kept, drop_all, NULL);
			bmap_free(pb->kept);
			bmap_free(pb->states);
			secret_free(pb->client_key);
			free(pb->connector_version);
			free(pb);
			return NULL;
		}
	}
	pthread_mutex_init(&pb->pass_mu, NULL);
	pthread_mutex_init(&pb->stop_mu, NULL);
	pthread_cond_init(&pb->stop_cv, NULL);
	if (pthread_create(&pb->thread, NULL, timer_main, pb) != 0) {
		*errstr = "cannot start the ingest timer";
		publisher_stop(pb);
		return NULL;
	}
	pthread_setname_np(pb->thread, "publisher");	/* top, perf and gdb show who is busy */
	pb->started = true;
	return pb;
}

static bool
drop_all(void *arg, const uint8_t *key, void *val)
{
	free(val);
	return true;
}

void
publisher_stop(struct publisher *pb)
{
	if (pb == NULL)
		return;
	if (pb->started) {
		pthread_mutex_lock(&pb->stop_mu);
		pb->stopping = true;
		pthread_cond_signal(&pb->stop_cv);
		pthread_mutex_unlock(&pb->stop_mu);
		pthread_join(pb->thread, NULL);
	}
	bmap_sweep(pb->states, drop_all, NULL);
	bmap_free(pb->states);
	if (pb->kept != NULL) {
		bmap_sweep(pb->kept, drop_all, NULL);
		bmap_free(pb->kept);
	}
	secret_free(pb->client_key);
	pthread_mutex_destroy(&pb->pass_mu);
	pthread_mutex_destroy(&pb->stop_mu);
	pthread_cond_destroy(&pb->stop_cv);
	free(pb->connector_version);
	free(pb);
}
