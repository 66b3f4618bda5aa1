#include "exchange/poller.h"

#include <curl/curl.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/holdings.h"
#include "core/pack.h"
#include "core/prim.h"
#include "exchange/checkpoint.h"
#include "exchange/feebook.h"
#include "exchange/pacing.h"
#include "exchange/pricebook.h"
#include "exchange/schedule.h"
#include "exchange/transport.h"
#include "out/metrics.h"
#include "util/bmap.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define LAG_RING 4096

struct job {
	uint8_t sid[SESSION_ID_BYTES];
	char sid_hash[13];
	struct xconn conn;
	struct pacing_set pools;	/* the budgets of the connector's rate pools (p->pacing's) */
	struct schedule_breaker *breaker;	/* the exchange's (p->sched's) */
	bool budget_bound;

	struct collection *coll;	/* ledger, holdings and status, under coll->mu (also p->colls') */
	struct pricebook *book;		/* the poller's, shared */

	/* poller thread only */
	struct schedule_entry due;	/* when its next step is due (p->sched) */
	bool in_cycle, in_flight, cycle_due_recorded, removed, done;
	bool history_done;		/* a cycle completed with the backfill done */
	bool staging;			/* the response being handled delivered balances */
	bool prepaid;			/* its next request's weight is already reserved */
	bool auth_doubted;		/* one XR_AUTH seen: the next decides (exchange.h) */
	bool flushed;			/* this cycle's fills walk is applied (a side step began) */
	unsigned touched;		/* parts (1 << xpart) requested this cycle */
	int64_t cycle_begin_ms;		/* wall clock */
	unsigned step_failures;
	uint64_t cycle_fills;
	uint64_t cycle_requests;
	int64_t checkpoint_mono;	/* when the last checkpoint was taken (or the job began) */
	uint8_t last_req[PRIM_SHA256_BYTES];	/* hash of the last request sent (method, URL, body) */
	bool last_consumed;		/* ... and it was answered XR_OK */
	struct fill *buf;		/* a cycle's fills, for non-ascending connectors */
	size_t nbuf, capbuf;
	struct xreq req;
	struct transfer xfer;		/* req in flight (p->transport) */
};

struct poller {
	struct poller_config cfg;
	struct session_table *sessions;
	pthread_t thread;
	bool started;
	struct transport *transport;	/* transport_wakeup from any thread; the rest poller thread only */

	pthread_mutex_t mu;		/* jobs map, command lists, stop flag, counters */
	struct bmap *jobs;		/* sid -> job */
	/* sid -> the job's collection, for readers (its own lock: readers never
	 * take p->mu). Filed and removed with p->mu held. */
	struct collection_table *colls;
	struct job **incoming;
	size_t nincoming;
	struct job **outgoing;
	size_t noutgoing;
	bool stopping;
	struct poller_counters counters;
	struct pricebook *book;		/* daily closes, shared by every session (own lock) */
	int64_t lag_ring[LAG_RING];
	size_t lag_n;
	int64_t p99_at_ms;		/* /health asks often: the percentile is recomputed once a second */
	int64_t p99_cached;

	/* poller thread only */
	struct schedule *sched;		/* jobs by due time, backoff, breakers */
	struct pacing *pacing;		/* rate pools of every exchange */
};


int
poller_parse_urls(struct poller_config *cfg, const char *spec, const char **errstr)
{
	const char *p = spec;

	cfg->nurls = 0;
	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ','), *eq = strchr(p, '=');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (eq == NULL || eq > p + len || eq == p) {
			*errstr = "expected name=url[,name:market=url...]";
			return -1;
		}
		if (cfg->nurls == POLLER_MAX_URLS || (size_t)(eq - p) >= sizeof(cfg->urls[0].key) ||
		    len - (size_t)(eq - p) - 1 >= sizeof(cfg->urls[0].url) || len - (size_t)(eq - p) - 1 == 0) {
			*errstr = "too many or too long entries";
			return -1;
		}
		snprintf(cfg->urls[cfg->nurls].key, sizeof(cfg->urls[0].key), "%.*s", (int)(eq - p), p);
		snprintf(cfg->urls[cfg->nurls].url, sizeof(cfg->urls[0].url), "%.*s", (int)(len - (size_t)(eq - p) - 1),
		    eq + 1);
		if (strncmp(cfg->urls[cfg->nurls].url, "http://", 7) != 0 &&
		    strncmp(cfg->urls[cfg->nurls].url, "https://", 8) != 0) {
			*errstr = "a base URL must start with http:// or https://";
			return -1;
		}
		cfg->nurls++;
		p = end != NULL ? end + 1 : NULL;
	}
	return 0;
}

static const char *const market_names[] = { "spot", "margin", "futures" };

static const char *
url_override(const struct poller_config *cfg, const char *exchange, enum fill_market m)
{
	char specific[48];

	snprintf(specific, sizeof(specific), "%s:%s", exchange, market_names[m]);
	for (size_t i = 0; i < cfg->nurls; i++)
		if (strcmp(cfg->urls[i].key, specific) == 0)
			return cfg->urls[i].url;
	for (size_t i = 0; i < cfg->nurls; i++)
		if (strcmp(cfg->urls[i].key, exchange) == 0)
			return cfg->urls[i].url;
	return NULL;
}

/* Queues j to take its next step at due_ms (monotonic). */
static void
schedule(struct poller *p, struct job *j, int64_t due_ms)
{
	schedule_at(p->sched, &j->due, due_ms);
}

/* ---- status ---- */

static void
set_error(struct job *j, const char *msg)
{
	pthread_mutex_lock(&j->coll->mu);
	snprintf(j->coll->st.last_error, sizeof(j->coll->st.last_error), "%s", msg);
	pthread_mutex_unlock(&j->coll->mu);
}

static void
set_state(struct job *j, enum poll_state s, const char *msg)
{
	pthread_mutex_lock(&j->coll->mu);
	collection_set_state(j->coll, s);
	if (msg != NULL)
		snprintf(j->coll->st.last_error, sizeof(j->coll->st.last_error), "%s", msg);
	pthread_mutex_unlock(&j->coll->mu);
}

/* ---- the sink: what connectors learn lands here ---- */

static void
apply_fill(struct job *j, const struct fill *f)
{
	enum ledger_outcome oc;
	const char *err = NULL;

	if (ledger_apply(j->coll->ledger, f, &oc, &err) != 0) {
		j->coll->st.rejected++;
		snprintf(j->coll->st.last_error, sizeof(j->coll->st.last_error), "fill %.40s refused by the ledger: %s", f->id, err);
		return;
	}
	if (oc == LEDGER_APPLIED) {
		j->coll->st.fills_applied++;
		j->cycle_fills++;
		/* Once per fill, as the ledger deduplicates: the daily holdings. */
		if (holdings_fill(j->coll->holdings, f, &err) != 0)
			snprintf(j->coll->st.last_error, sizeof(j->coll->st.last_error), "fill %.40s not in the holdings: %s", f->id,
			    err);
	} else if (oc == LEDGER_DUPLICATE)
		j->coll->st.duplicates++;
	else
		j->coll->st.stale++;
}

static int
sink_fill(void *arg, const struct fill *f)
{
	struct job *j = arg;

	if (j->conn.ops->ascending) {
		pthread_mutex_lock(&j->coll->mu);
		apply_fill(j, f);
		pthread_mutex_unlock(&j->coll->mu);
		return 0;
	}
	if (j->nbuf == j->capbuf) {
		j->capbuf = j->capbuf ? j->capbuf * 2 : 256;
		j->buf = xreallocarray(j->buf, j->capbuf, sizeof(*j->buf));
	}
	j->buf[j->nbuf++] = *f;
	return 0;
}

static int
fill_order(const void *a, const void *b)
{
	const struct fill *x = a, *y = b;

	if (x->timestamp != y->timestamp)
		return x->timestamp < y->timestamp ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Applies a non-ascending connector's buffered fills in (timestamp, id) order. */
static void
flush_buffer(struct job *j)
{
	if (j->nbuf == 0)
		return;
	qsort(j->buf, j->nbuf, sizeof(*j->buf), fill_order);
	pthread_mutex_lock(&j->coll->mu);
	for (size_t i = 0; i < j->nbuf; i++)
		apply_fill(j, &j->buf[i]);
	pthread_mutex_unlock(&j->coll->mu);
	j->nbuf = 0;
	if (j->capbuf > 4096) {
		free(j->buf);
		j->buf = NULL;
		j->capbuf = 0;
	}
}

/* Balances are staged per response: job_done commits them when the
 * response that delivered them was consumed whole (XR_OK), else drops them,
 * so a snapshot is always one complete answer. */
static int
sink_balance(void *arg, const char *currency, struct dec total)
{
	struct job *j = arg;
	const char *err;

	pthread_mutex_lock(&j->coll->mu);
	if (!j->staging) {
		holdings_balances_begin(j->coll->holdings);
		j->staging = true;
	}
	if (holdings_balance(j->coll->holdings, currency, total, &err) != 0)
		snprintf(j->coll->st.last_error, sizeof(j->coll->st.last_error), "balance %.20s: %s", currency, err);
	pthread_mutex_unlock(&j->coll->mu);
	return 0;
}

static int
sink_flow(void *arg, const char *id, int64_t ts_ms, const char *currency, struct dec amount)
{
	struct job *j = arg;
	const char *err;
	int rc;

	pthread_mutex_lock(&j->coll->mu);
	rc = holdings_flow(j->coll->holdings, id, ts_ms, currency, amount, &err);
	if (rc < 0)
		snprintf(j->coll->st.last_error, sizeof(j->coll->st.last_error), "flow %.40s: %s", id != NULL ? id : "", err);
	pthread_mutex_unlock(&j->coll->mu);
	return 0;
}

static int
sink_funding(void *arg, const char *id, int64_t ts_ms, const char *symbol, const char *currency, struct dec amount)
{
	struct job *j = arg;
	const char *err;

	pthread_mutex_lock(&j->coll->mu);
	if (holdings_funding(j->coll->holdings, id, ts_ms, symbol, currency, amount, &err) < 0)
		snprintf(j->coll->st.last_error, sizeof(j->coll->st.last_error), "funding %.40s: %s",
		    id != NULL ? id : "", err);
	pthread_mutex_unlock(&j->coll->mu);
	return 0;
}

static int
sink_price(void *arg, const char *symbol, int64_t day_ms, struct dec close)
{
	struct job *j = arg;
	const char *err;

	/* A bad close is the exchange's: not a reason to stop collecting fills. */
	if (pricebook_put(j->book, j->conn.ops->name, symbol, day_ms, close, &err) != 0)
		log_event(LOG_DEBUG, "price_refused", "{s:s, s:s, s:s}", "exchange", j->conn.ops->name, "symbol",
		    symbol, "error", err);
	return 0;
}

static int
sink_permissions(void *arg, bool can_trade, bool can_withdraw)
{
	struct job *j = arg;

	pthread_mutex_lock(&j->coll->mu);
	j->coll->st.can_trade = can_trade;
	j->coll->st.can_withdraw = can_withdraw;
	j->coll->st.permissions_known = true;
	pthread_mutex_unlock(&j->coll->mu);
	return 0;
}

/* ---- one step ---- */

struct next_arg {
	struct job *j;
	int64_t now_ms;
	const char *err;
	int rc;
	uint8_t budget_key[32];
	bool want_key;
};

static int
call_next(void *arg, const struct credential *cred)
{
	struct next_arg *a = arg;

	if (a->want_key) {
		/* Budgets are per API key: a hash of it, never the key. */
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		unsigned int n = 0;
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		EVP_DigestUpdate(md, a->j->conn.ops->name, strlen(a->j->conn.ops->name));
		EVP_DigestUpdate(md, "\0", 1);
		EVP_DigestUpdate(md, cred->api_key, cred->api_key_len);
		EVP_DigestFinal_ex(md, a->budget_key, &n);
		EVP_MD_CTX_free(md);
	}
	a->rc = a->j->conn.ops->next(&a->j->conn, cred, a->now_ms, &a->j->req, &a->err);
	return 0;
}

/* A cycle's degraded parts become the status's: a part requested this
 * cycle says what this cycle found (possibly complete), a part not
 * requested keeps what an earlier cycle found unless the connector said
 * more. Caller holds j->coll->mu. */
static void
publish_degraded(struct job *j)
{
	for (size_t i = 0; i < XPART_COUNT; i++) {
		if ((j->touched & (1u << i)) != 0 || j->conn.degraded[i][0] != '\0')
			snprintf(j->coll->st.degraded[i], sizeof(j->coll->st.degraded[i]), "%s", j->conn.degraded[i]);
		j->coll->st.caveat[i] = j->conn.caveat[i];
	}
}

/* Takes j's checkpoint (between two cycles: checkpoint.h). The poller
 * thread is the only writer of the collection, so it reads it unlocked. */
static void
take_checkpoint(struct poller *p, struct job *j, int64_t mono)
{
	struct pack w;
	const char *err = NULL;
	int64_t t0 = time_mono_ns();
	int rc;

	int64_t was_ms = j->coll->st.checkpoint_ms;
	uint64_t was_fills = j->coll->st.checkpoint_fills;

	/* the checkpoint says what it holds, itself included */
	pthread_mutex_lock(&j->coll->mu);
	j->coll->st.checkpoint_ms = time_now_ms();
	j->coll->st.checkpoint_fills = j->coll->st.fills_applied;
	pthread_mutex_unlock(&j->coll->mu);
	pack_init(&w);
	rc = checkpoint_save(j->coll, &j->conn, j->history_done, &w, &err);
	if (rc == 0)
		rc = p->cfg.checkpoint(p->cfg.checkpoint_arg, j->sid, w.buf, w.len);
	else
		log_event(LOG_ERROR, "checkpoint_failed", "{s:s, s:s}", "sid", j->sid_hash, "error", err);
	if (rc != 0) {
		pthread_mutex_lock(&j->coll->mu);
		j->coll->st.checkpoint_ms = was_ms;
		j->coll->st.checkpoint_fills = was_fills;
		pthread_mutex_unlock(&j->coll->mu);
	}
	j->checkpoint_mono = mono;
	pthread_mutex_lock(&p->mu);
	if (rc == 0) {
		p->counters.checkpoints++;
		p->counters.checkpoint_bytes = w.len;
	} else
		p->counters.checkpoint_failures++;
	p->counters.checkpoint_ns += time_mono_ns() - t0;
	pthread_mutex_unlock(&p->mu);
	pack_free(&w);
}

static void
job_finish_cycle(struct poller *p, struct job *j, int64_t mono)
{
	const char *err = NULL;
	int64_t iv;
	bool backfill_cycle;

	flush_buffer(j);
	/* Adaptive interval: busier accounts are polled sooner. The cycle that
	 * completes the backfill finds a history, not activity: it keeps the
	 * interval (halving it would send every new session back at once). */
	iv = j->coll->st.interval_ms;
	backfill_cycle = !j->history_done;
	j->history_done = j->conn.backfill_done;
	if (backfill_cycle)
		;
	else if (j->cycle_fills > 0)
		iv /= 2;
	else
		iv += iv / 2;
	if (iv < p->cfg.min_interval_ms)
		iv = p->cfg.min_interval_ms;
	if (iv > p->cfg.max_interval_ms)
		iv = p->cfg.max_interval_ms;
	pthread_mutex_lock(&j->coll->mu);
	j->coll->st.interval_ms = iv;
	j->coll->st.last_success_ms = time_now_ms();
	j->coll->st.complete_until_ms = j->cycle_begin_ms;
	j->coll->st.consecutive_failures = 0;
	j->coll->st.last_error[0] = '\0';
	/* The cycle's closes are in: convert the third-currency fees whose
	 * day now has a final close (fills applied earlier, or this cycle). */
	if (feebook_resolve(j->coll->ledger, j->book, j->conn.ops->name, &err) != 0)
		snprintf(j->coll->st.last_error, sizeof(j->coll->st.last_error), "converting fees: %s", err);
	j->coll->st.backfill_done = j->conn.backfill_done;
	snprintf(j->coll->st.progress, sizeof(j->coll->st.progress), "%s", j->conn.progress);
	publish_degraded(j);
	j->coll->st.cycles++;
	j->coll->st.cycle_requests = j->cycle_requests;
	if (j->cycle_requests > j->coll->st.max_cycle_requests)
		j->coll->st.max_cycle_requests = j->cycle_requests;
	j->coll->st.next_poll_ms = time_now_ms() + iv;
	pthread_mutex_unlock(&j->coll->mu);
	j->in_cycle = false;
	if (p->cfg.checkpoint != NULL && (j->cycle_fills > 0 || backfill_cycle ||
	    mono - j->checkpoint_mono >= p->cfg.checkpoint_every_ms))
		take_checkpoint(p, j, mono);
	j->cycle_fills = 0;
	pthread_mutex_lock(&p->mu);
	p->counters.cycles++;
	pthread_mutex_unlock(&p->mu);
	schedule(p, j, mono + iv);
}

static void job_retire(struct poller *p, struct job *j);

static const char *
resp_header(const struct xresp *r, const char *name)
{
	static __thread char val[256];

	return transport_header(r->hdr_arg, name, val, sizeof(val));
}

/* The request is over: its transfer and the request itself (wiped). */
static void
end_transfer(struct poller *p, struct job *j)
{
	transport_end(p->transport, &j->xfer);
	xreq_clear(&j->req);
	j->in_flight = false;
}

static void
bind_budgets(struct poller *p, struct job *j, const uint8_t key[32])
{
	struct xpool pools[XPOOL_MAX];
	size_t n = j->conn.ops->pools != NULL ? j->conn.ops->pools(&j->conn, pools) : 0;

	j->breaker = schedule_breaker(p->sched, j->conn.ops);
	j->budget_bound = true;
	pacing_bind(p->pacing, j->conn.ops->name, pools, n, key, &j->pools);
}

/* Whether the request about to go out repeats the last one verbatim after
 * it was consumed (a connector that does not advance), and remembers it.
 * Signed requests carry a fresh timestamp or nonce, so this sees the
 * unsigned ones (public market data), where such loops were found. */
static bool
note_request(struct job *j)
{
	uint8_t h[PRIM_SHA256_BYTES];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	bool repeat;

	if (md == NULL)
		fatalx("poller: out of memory");
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, j->req.method, strlen(j->req.method) + 1);
	EVP_DigestUpdate(md, j->req.url, strlen(j->req.url) + 1);
	if (j->req.body != NULL)
		EVP_DigestUpdate(md, j->req.body, j->req.body_len);
	EVP_DigestFinal_ex(md, h, &n);
	EVP_MD_CTX_free(md);
	repeat = j->last_consumed && memcmp(h, j->last_req, sizeof(h)) == 0;
	memcpy(j->last_req, h, sizeof(h));
	j->last_consumed = false;
	if (repeat)
		log_event(LOG_WARN, "poll_repeat", "{s:s, s:s}", "sid", j->sid_hash, "exchange", j->conn.ops->name);
	return repeat;
}

/* Takes the next step of job j: a request, or the end of its cycle. */
static void
job_step(struct poller *p, struct job *j, int64_t mono)
{
	struct next_arg a = { .j = j, .now_ms = time_now_ms(), .want_key = !j->budget_bound };
	int64_t wait, lag, open_until;
	bool repeat;
	int rc;

	if (j->breaker != NULL && (open_until = schedule_breaker_open_until(j->breaker, mono)) != 0) {
		schedule(p, j, open_until);
		return;
	}
	if (!j->in_cycle) {
		lag = mono - j->due.due_ms;
		pthread_mutex_lock(&p->mu);
		p->lag_ring[p->lag_n++ % LAG_RING] = lag;
		p->counters.lag_samples++;
		if (lag > p->counters.lag_max_ms)
			p->counters.lag_max_ms = lag;
		pthread_mutex_unlock(&p->mu);
		memset(j->conn.degraded, 0, sizeof(j->conn.degraded));
		j->touched = 0;
		j->flushed = false;
		j->conn.ops->begin(&j->conn, a.now_ms);
		j->cycle_begin_ms = a.now_ms;
		j->in_cycle = true;
		j->cycle_fills = 0;
		j->cycle_requests = 0;
	}
	rc = session_use_credential(p->sessions, j->sid, a.now_ms, call_next, &a);
	if (rc != 0) {
		/* Revoked or expired: the credential is gone, so is the job. */
		xreq_clear(&j->req);
		job_retire(p, j);
		return;
	}
	if (!j->budget_bound)
		bind_budgets(p, j, a.budget_key);
	if (a.rc < 0) {
		xreq_clear(&j->req);
		set_state(j, POLL_FAILED, a.err != NULL ? a.err : "connector error");
		log_event(LOG_WARN, "poll_failed", "{s:s, s:s, s:s}", "sid", j->sid_hash, "exchange",
		    j->conn.ops->name, "error", a.err != NULL ? a.err : "connector error");
		j->done = true;
		return;
	}
	if (a.rc == 0) {
		job_finish_cycle(p, j, mono);
		return;
	}
	/* The fills walk is over once a side step begins: its fills are applied
	 * now, so that no side step can hold them back (exchange.h). */
	if (j->req.part != XPART_FILLS && !j->flushed) {
		flush_buffer(j);
		j->flushed = true;
	}
	j->touched |= 1u << j->req.part;
	/* A request is ready. Under a pause the exchange imposed, come back
	 * after it; otherwise reserve its weight, and if the budget is in debt
	 * come back when the reservation is due (prepaid). Either way the
	 * connector makes the same request again then, freshly signed. */
	if (j->req.pool >= (j->pools.n > 0 ? j->pools.n : 1) || (unsigned)j->req.part >= XPART_COUNT)
		fatalx("poller: %s made a request for pool %u, part %d", j->conn.ops->name, j->req.pool,
		    (int)j->req.part);
	wait = pacing_blocked(&j->pools, j->req.pool, mono);
	if (wait == 0 && !j->prepaid) {
		wait = pacing_reserve(&j->pools, j->req.pool, j->req.weight, mono);
		j->prepaid = wait > 0;
	}
	if (wait > 0) {
		xreq_clear(&j->req);
		schedule(p, j, mono + wait);
		j->in_cycle = true;
		return;
	}
	j->prepaid = false;
	repeat = note_request(j);
	j->cycle_requests++;
	pthread_mutex_lock(&j->coll->mu);
	j->coll->st.requests++;
	if (repeat)
		j->coll->st.repeats++;
	j->coll->st.last_poll_ms = a.now_ms;
	pthread_mutex_unlock(&j->coll->mu);
	pthread_mutex_lock(&p->mu);
	p->counters.requests++;
	pthread_mutex_unlock(&p->mu);
	j->in_flight = true;
	transport_start(p->transport, &j->xfer, &j->req, j);
}

static void
credential_hook(struct poller *p, const struct job *j, const char *result)
{
	if (p->cfg.on_credential != NULL)
		p->cfg.on_credential(p->cfg.on_credential_arg, j->sid_hash, j->conn.ops->name, result);
}

static const char *
xresult_name(enum xresult r)
{
	switch (r) {
	case XR_OK:
		return "ok";
	case XR_RETRY:
		return "retry";
	case XR_RATE_LIMITED:
		return "rate_limited";
	case XR_CLOCK:
		return "clock";
	case XR_AUTH:
		return "auth";
	case XR_FATAL:
		return "fatal";
	}
	return "unknown";
}

/* /metrics: the request, and on failure its HTTP status or transport class
 * (never the exchange's message, which is unbounded text). */
static void
observe_poll(const struct job *j, CURLcode cc, long status, enum xresult result, int64_t ns)
{
	char code[16];

	metrics_poll_observe(j->conn.ops->name, xresult_name(result), ns);
	if (result == XR_OK)
		return;
	if (cc == CURLE_OPERATION_TIMEDOUT)
		snprintf(code, sizeof(code), "timeout");
	else if (cc != CURLE_OK || status < 100 || status > 599)
		snprintf(code, sizeof(code), "transport");
	else
		snprintf(code, sizeof(code), "%ld", status);
	metrics_exchange_error(j->conn.ops->name, code);
}

/* A transfer finished: hand the response to the connector and act on its verdict. */
static void
job_done(struct poller *p, struct job *j, const struct transport_done *d, int64_t mono)
{
	struct xresp r = { 0 };
	struct xoutcome o = { 0 };
	struct xsink sink = { .arg = j, .fill = sink_fill, .balance = sink_balance, .flow = sink_flow,
		.funding = sink_funding, .price = sink_price, .permissions = sink_permissions };
	bool was_validated = j->conn.validated;
	CURLcode cc = d->cc;
	/* What the request was, once end_transfer has wiped it. */
	struct xreq meta = { .weight = j->req.weight, .pool = j->req.pool, .part = j->req.part, .tag = j->req.tag };

	r.status = d->status;
	r.body = transport_body(&j->xfer, &r.body_len);
	r.now_ms = time_now_ms();
	r.header = resp_header;
	r.hdr_arg = &j->xfer;
	j->conn.ops->handle(&j->conn, &j->req, &r, &sink, &o);
	if (j->staging) {
		pthread_mutex_lock(&j->coll->mu);
		if (o.result == XR_OK)
			holdings_balances_commit(j->coll->holdings, r.now_ms);
		else
			holdings_balances_abort(j->coll->holdings);
		j->staging = false;
		pthread_mutex_unlock(&j->coll->mu);
	}
	end_transfer(p, j);
	observe_poll(j, cc, r.status, o.result, d->total_us * 1000);

	if (p->cfg.require_read_only && j->coll->st.permissions_known && (j->coll->st.can_trade || j->coll->st.can_withdraw)) {
		set_state(j, POLL_REFUSED_PERMISSIONS, "the key can trade or withdraw, and read-only keys are required "
		    "(PERFAGG_REQUIRE_READ_ONLY=1)");
		session_revoke_credential(p->sessions, j->sid);
		log_event(LOG_WARN, "key_refused", "{s:s, s:s, s:b, s:b}", "sid", j->sid_hash, "exchange",
		    j->conn.ops->name, "can_trade", j->coll->st.can_trade, "can_withdraw", j->coll->st.can_withdraw);
		credential_hook(p, j, "refused_permissions");
		j->done = true;
		return;
	}
	if (!was_validated && j->conn.validated) {
		set_state(j, POLL_ACTIVE, NULL);
		log_event(LOG_INFO, "credential_validated", "{s:s, s:s}", "sid", j->sid_hash, "exchange", j->conn.ops->name);
		credential_hook(p, j, "validated");
	}
	j->last_consumed = o.result == XR_OK;
	switch (o.result) {
	case XR_OK:
		j->step_failures = 0;
		j->auth_doubted = false;
		schedule_breaker_success(j->breaker);
		/* backfill_done is published with the end of the cycle, once every
		 * fill it walked is applied, never before. */
		pthread_mutex_lock(&j->coll->mu);
		snprintf(j->coll->st.progress, sizeof(j->coll->st.progress), "%s", j->conn.progress);
		pthread_mutex_unlock(&j->coll->mu);
		/* a long backfill is checkpointed as it goes where the
		 * connector's cursors move with what it emits, which is applied
		 * at once (exchange.h) */
		if (p->cfg.checkpoint != NULL && !j->history_done &&
		    j->conn.ops->ascending && j->conn.validated && mono - j->checkpoint_mono >= p->cfg.checkpoint_backfill_ms)
			take_checkpoint(p, j, mono);
		schedule(p, j, mono);
		return;
	case XR_AUTH:
		if (!j->auth_doubted) {
			/* One refusal is not proof: a clock the exchange disagrees
			 * with, a key not yet propagated, a proxy's 401. Resync and
			 * ask once more. */
			j->auth_doubted = true;
			if (j->conn.ops->resync != NULL)
				j->conn.ops->resync(&j->conn);
			set_error(j, o.error);
			log_event(LOG_INFO, "credential_doubted", "{s:s, s:s, s:s}", "sid", j->sid_hash, "exchange",
			    j->conn.ops->name, "error", o.error);
			schedule(p, j, mono + schedule_backoff_ms(p->sched, 0));
			return;
		}
		set_state(j, POLL_INVALID_CREDENTIALS, o.error);
		session_revoke_credential(p->sessions, j->sid);
		log_event(LOG_WARN, "credential_refused", "{s:s, s:s, s:s}", "sid", j->sid_hash, "exchange",
		    j->conn.ops->name, "error", o.error);
		credential_hook(p, j, "invalid_credentials");
		j->done = true;
		return;
	case XR_FATAL:
		set_state(j, POLL_FAILED, o.error);
		log_event(LOG_WARN, "poll_failed", "{s:s, s:s, s:s}", "sid", j->sid_hash, "exchange",
		    j->conn.ops->name, "error", o.error);
		j->done = true;
		return;
	case XR_RATE_LIMITED: {
		int64_t wait = o.retry_after_ms > 0 ? o.retry_after_ms : schedule_backoff_ms(p->sched, j->step_failures);
		/* The pause applies to everyone sharing the limit. */
		pacing_block(&j->pools, meta.pool, mono + wait);
		set_error(j, o.error[0] != '\0' ? o.error : "rate limited by the exchange");
		schedule(p, j, mono + wait);
		return;
	}
	case XR_CLOCK:
	case XR_RETRY:
		break;
	}
	/* Transient: retry the same step with backoff; past max_retries the
	 * failure shows in the status and the pace slows, but the step is
	 * never skipped (skipping would lose fills). */
	j->step_failures++;
	pthread_mutex_lock(&p->mu);
	p->counters.failures++;
	pthread_mutex_unlock(&p->mu);
	log_event(LOG_INFO, "poll_retry", "{s:s, s:s, s:i, s:i, s:s}", "sid", j->sid_hash, "exchange",
	    j->conn.ops->name, "http_status", (int)r.status, "attempt", (int)j->step_failures,
	    "error", o.error[0] != '\0' ? o.error : r.status == 0 ? curl_easy_strerror(cc) : "transient error");
	if (o.result == XR_RETRY && schedule_breaker_failure(j->breaker, mono))
		log_event(LOG_WARN, "circuit_open", "{s:s, s:i}", "exchange", j->conn.ops->name, "ms",
		    SCHEDULE_BREAKER_OPEN_MS);
	pthread_mutex_lock(&j->coll->mu);
	snprintf(j->coll->st.last_error, sizeof(j->coll->st.last_error), "%s",
	    o.error[0] != '\0' ? o.error : r.status == 0 ? "transport error" : "transient error");
	if (j->step_failures > p->cfg.max_retries)
		j->coll->st.consecutive_failures++;
	pthread_mutex_unlock(&j->coll->mu);
	if (j->step_failures > p->cfg.max_retries && meta.part != XPART_FILLS && j->conn.ops->skip != NULL) {
		/* A side step is given up for this cycle, and says so; the fills
		 * it would have valued are already applied. */
		xconn_degrade(&j->conn, meta.part, "%s unavailable: %s (gave up after %u attempts)",
		    xpart_name(meta.part), o.error[0] != '\0' ? o.error : r.status == 0 ? "transport error" :
		    "transient error", j->step_failures);
		j->conn.ops->skip(&j->conn, &meta);
		log_event(LOG_WARN, "poll_skip", "{s:s, s:s, s:s}", "sid", j->sid_hash, "exchange", j->conn.ops->name,
		    "part", xpart_name(meta.part));
		j->step_failures = 0;
		schedule(p, j, mono);
		return;
	}
	if (o.result == XR_CLOCK && j->step_failures <= p->cfg.max_retries)
		schedule(p, j, mono);
	else
		schedule(p, j, mono + schedule_backoff_ms(p->sched, j->step_failures > p->cfg.max_retries ?
		    j->step_failures + 2 : j->step_failures));
}

static void
job_free(struct poller *p, struct job *j)
{
	if (j->in_flight)
		end_transfer(p, j);
	xreq_clear(&j->req);
	xconn_close(&j->conn);
	collection_unref(j->coll);
	free(j->buf);
	OPENSSL_cleanse(j->sid, sizeof(j->sid));
	free(j);
}

/* The session is gone (revoked or expired): drop the job. Poller thread. */
static void
job_retire(struct poller *p, struct job *j)
{
	bool queued;

	pthread_mutex_lock(&p->mu);
	queued = j->removed;	/* poller_remove got there first: it is in outgoing */
	if (!queued) {
		bmap_del(p->jobs, j->sid);
		collection_table_del(p->colls, j->sid);
		j->removed = true;
		p->counters.jobs--;
	}
	pthread_mutex_unlock(&p->mu);
	schedule_remove(p->sched, &j->due);
	if (queued)
		j->done = true;	/* take_commands frees it */
	else
		job_free(p, j);
}

static void
take_commands(struct poller *p, int64_t mono)
{
	struct job **in, **out;
	size_t nin, nout;

	pthread_mutex_lock(&p->mu);
	in = p->incoming;
	nin = p->nincoming;
	out = p->outgoing;
	nout = p->noutgoing;
	p->incoming = p->outgoing = NULL;
	p->nincoming = p->noutgoing = 0;
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < nin; i++)
		schedule(p, in[i], mono);
	for (size_t i = 0; i < nout; i++) {
		schedule_remove(p->sched, &out[i]->due);
		job_free(p, out[i]);
	}
	free(in);
	free(out);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* p99 of the last LAG_RING cycle-start lags. Called locked. */
static int64_t
lag_p99(struct poller *p)
{
	size_t n = p->lag_n < LAG_RING ? p->lag_n : LAG_RING;
	int64_t *v, r;

	if (n == 0)
		return 0;
	v = xmalloc(n * sizeof(*v));
	memcpy(v, p->lag_ring, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_i64);
	r = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	free(v);
	return r;
}

static void *
poller_main(void *arg)
{
	struct poller *p = arg;

	for (;;) {
		int64_t mono = time_mono_ms(), wait;
		struct schedule_entry *e;
		struct transport_done d;
		bool stop;

		pthread_mutex_lock(&p->mu);
		stop = p->stopping;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
		take_commands(p, mono);
		while ((e = schedule_first(p->sched)) != NULL && e->due_ms <= mono &&
		    transport_in_flight(p->transport) < p->cfg.max_transfers) {
			struct job *j = SCHEDULE_OWNER(e, struct job, due);
			schedule_remove(p->sched, e);
			if (j->done)
				continue;	/* stopped for good: kept only so readers see its status */
			job_step(p, j, mono);
		}
		transport_perform(p->transport);
		while (transport_finished(p->transport, &d) == 0)
			job_done(p, d.owner, &d, time_mono_ms());
		wait = 1000;
		if ((e = schedule_first(p->sched)) != NULL && transport_in_flight(p->transport) < p->cfg.max_transfers)
			wait = e->due_ms - time_mono_ms();
		if (wait > 1000)
			wait = 1000;
		if (wait > 0)
			transport_wait(p->transport, (int)wait);
	}
	return NULL;
}

struct poller *
poller_start(const struct poller_config *cfg, struct session_table *sessions, const char **errstr)
{
	struct poller *p = xcalloc(1, sizeof(*p));
	struct transport_config tc = { 0 };

	p->cfg = *cfg;
	if (p->cfg.max_transfers == 0)
		p->cfg.max_transfers = 512;
	if (p->cfg.checkpoint_every_ms <= 0)
		p->cfg.checkpoint_every_ms = 300000;
	if (p->cfg.checkpoint_backfill_ms <= 0)
		p->cfg.checkpoint_backfill_ms = 10000;
	p->sessions = sessions;
	pthread_mutex_init(&p->mu, NULL);
	p->jobs = bmap_new();
	p->colls = collection_table_new();
	p->pacing = pacing_new(cfg->ip_budgets, cfg->key_budgets);
	p->book = pricebook_new();
	p->sched = schedule_new();
	tc.timeout_ms = p->cfg.timeout_ms;
	tc.max_transfers = p->cfg.max_transfers;
	tc.ca_bundle = p->cfg.ca_bundle;
	if ((p->transport = transport_new(&tc)) == NULL) {
		*errstr = "cannot initialise libcurl";
		goto fail;
	}
	if (pthread_create(&p->thread, NULL, poller_main, p) != 0) {
		*errstr = "cannot start the poller thread";
		goto fail;
	}
	pthread_setname_np(p->thread, "poller");	/* top, perf and gdb show who is busy */
	p->started = true;
	return p;
fail:
	poller_stop(p);
	return NULL;
}

static bool
drop_job(void *arg, const uint8_t *key, void *val)
{
	job_free(arg, val);
	return true;
}

void
poller_stop(struct poller *p)
{
	if (p == NULL)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->mu);
		p->stopping = true;
		pthread_mutex_unlock(&p->mu);
		transport_wakeup(p->transport);
		pthread_join(p->thread, NULL);
	}
	/* Jobs still only in the command lists are also in the map. */
	for (size_t i = 0; i < p->noutgoing; i++)
		job_free(p, p->outgoing[i]);
	free(p->outgoing);
	free(p->incoming);
	bmap_sweep(p->jobs, drop_job, p);
	bmap_free(p->jobs);
	collection_table_free(p->colls);
	pacing_free(p->pacing);
	schedule_free(p->sched);
	pricebook_free(p->book);
	transport_free(p->transport);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

int
poller_add(struct poller *p, const uint8_t sid[SESSION_ID_BYTES], const struct session_info *info,
    const char **errstr)
{
	return poller_add_ops(p, sid, info, exchange_find(info->exchange), errstr);
}

/* Adds a job for sid, resumed from (ckpt, len) when ckpt is not NULL.
 * Returns 0, 1 (the checkpoint could not be used: started afresh, *errstr
 * says why) or -1 with *errstr. */
static int
add_job(struct poller *p, const uint8_t sid[SESSION_ID_BYTES], const struct session_info *info,
    const struct exchange_ops *ops, const void *ckpt, size_t len, const char **errstr)
{
	struct xconf conf = { 0 };
	struct job *j;
	bool wake;
	int m, rc = 0;

	if (ops == NULL) {
		*errstr = "no connector for this exchange";
		return -1;
	}
	for (m = 0; m < 3 && strcmp(market_names[m], info->account_type) != 0; m++)
		;
	if (m == 3) {
		*errstr = "unknown account type";
		return -1;
	}
	conf.market = (enum fill_market)m;
	conf.sandbox = info->sandbox;
	if (info->tier[0] != '\0' && exchange_tier(ops, info->tier, &conf.tier, errstr) != 0)
		return -1;
	conf.base_url = url_override(&p->cfg, ops->name, conf.market);
	j = xcalloc(1, sizeof(*j));
	if (xconn_open(&j->conn, ops, &conf, errstr) != 0) {
		free(j);
		return -1;
	}
	memcpy(j->sid, sid, SESSION_ID_BYTES);
	memcpy(j->sid_hash, info->id_hash, sizeof(j->sid_hash));
	j->coll = collection_new(ops->name, conf.market);
	j->book = p->book;
	j->coll->st.interval_ms = p->cfg.interval_ms;
	memcpy(j->coll->st.caveat, j->conn.caveat, sizeof(j->coll->st.caveat));
	if (ckpt != NULL && checkpoint_load(j->coll, &j->conn, ckpt, len, &j->history_done, errstr) != 0) {
		/* a connector half loaded cannot be trusted: open it afresh */
		const char *e2 = NULL;

		xconn_close(&j->conn);
		if (xconn_open(&j->conn, ops, &conf, &e2) != 0)
			fatalx("poller: %s reopened: %s", ops->name, e2);
		rc = 1;
	}
	j->checkpoint_mono = time_mono_ms();
	schedule_entry_init(&j->due);
	pthread_mutex_lock(&p->mu);
	if (bmap_put(p->jobs, sid, j) != 0) {
		pthread_mutex_unlock(&p->mu);
		xconn_close(&j->conn);
		collection_unref(j->coll);
		free(j);
		*errstr = "session already polled";
		return -1;
	}
	/* p->mu is held: the table's lock nests inside it, never the reverse */
	if (collection_table_put(p->colls, sid, j->coll) != 0)
		fatalx("poller: collection of a new job already filed");
	/* Only the first command since the poller last took them wakes it:
	 * it takes them all at once (a burst of registrations is one wakeup). */
	wake = p->nincoming == 0 && p->noutgoing == 0;
	if ((p->nincoming & (p->nincoming - 1)) == 0)	/* 0, 1, 2, 4, ...: grow */
		p->incoming = xreallocarray(p->incoming, p->nincoming ? p->nincoming * 2 : 1, sizeof(*p->incoming));
	p->incoming[p->nincoming++] = j;
	p->counters.jobs++;
	pthread_mutex_unlock(&p->mu);
	if (wake)
		transport_wakeup(p->transport);
	return rc;
}

int
poller_add_ops(struct poller *p, const uint8_t sid[SESSION_ID_BYTES], const struct session_info *info,
    const struct exchange_ops *ops, const char **errstr)
{
	return add_job(p, sid, info, ops, NULL, 0, errstr);
}

int
poller_add_resumed(struct poller *p, const uint8_t sid[SESSION_ID_BYTES], const struct session_info *info,
    const void *ckpt, size_t len, const char **errstr)
{
	return add_job(p, sid, info, exchange_find(info->exchange), ckpt, len, errstr);
}

void
poller_remove(struct poller *p, const uint8_t sid[SESSION_ID_BYTES])
{
	struct job *j;

	pthread_mutex_lock(&p->mu);
	j = bmap_del(p->jobs, sid);
	if (j != NULL) {
		collection_table_del(p->colls, sid);
		j->removed = true;
		p->counters.jobs--;
		/* A job not yet taken from incoming is dropped from there. */
		for (size_t i = 0; i < p->nincoming; i++)
			if (p->incoming[i] == j) {
				p->incoming[i] = p->incoming[--p->nincoming];
				break;
			}
		p->outgoing = xreallocarray(p->outgoing, p->noutgoing + 1, sizeof(*p->outgoing));
		p->outgoing[p->noutgoing++] = j;
	}
	pthread_mutex_unlock(&p->mu);
	if (j != NULL)
		transport_wakeup(p->transport);
}

struct view_adapter {
	int (*fn)(void *arg, const struct ledger *l, const struct poll_status *st);
	void *arg;
};

static int
view_adapt(void *arg, const struct poller_account *a)
{
	const struct view_adapter *v = arg;

	return v->fn(v->arg, a->ledger, a->status);
}

int
poller_view(struct poller *p, const uint8_t sid[SESSION_ID_BYTES],
    int (*fn)(void *arg, const struct ledger *l, const struct poll_status *st), void *arg)
{
	struct view_adapter v = { fn, arg };

	return poller_view_account(p, sid, view_adapt, &v);
}

int
poller_view_account(struct poller *p, const uint8_t sid[SESSION_ID_BYTES],
    int (*fn)(void *arg, const struct poller_account *a), void *arg)
{
	struct poller_account a;
	struct collection *c = collection_table_get(p->colls, sid);
	int rc;

	if (c == NULL)
		return -1;
	pthread_mutex_lock(&c->mu);
	a = (struct poller_account){ .ledger = c->ledger, .holdings = c->holdings, .status = &c->st,
		.prices = p->book, .exchange = c->exchange, .market = c->market };
	rc = fn(arg, &a);
	pthread_mutex_unlock(&c->mu);
	collection_unref(c);
	return rc;
}

size_t
poller_sessions(struct poller *p, uint8_t (**sids)[SESSION_ID_BYTES])
{
	return collection_table_sids(p->colls, sids);
}

void
poller_state_counts(struct poller *p, uint64_t counts[POLL_NSTATES])
{
	collection_table_state_counts(p->colls, counts);
}
void
poller_counters(struct poller *p, struct poller_counters *out)
{
	int64_t now = time_mono_ms();

	pthread_mutex_lock(&p->mu);
	*out = p->counters;
	if (p->p99_at_ms == 0 || now - p->p99_at_ms >= 1000) {
		p->p99_cached = lag_p99(p);
		p->p99_at_ms = now;
	}
	out->lag_p99_ms = p->p99_cached;
	pthread_mutex_unlock(&p->mu);
}
