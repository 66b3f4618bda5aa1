#include "out/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/textbuf.h"

#define MAX_LABELS 3
#define MAX_BUCKETS 16

struct buckets {
	size_t n;
	int64_t le_ns[MAX_BUCKETS];
	const char *le[MAX_BUCKETS];
};

/* Request latencies: 100 us (a cached /health) to 10 s. */
static const struct buckets http_buckets = { 15,
	{ 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000, 50000000, 100000000,
	  250000000, 500000000, 1000000000, 2500000000, 10000000000 },
	{ "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
	  "0.25", "0.5", "1", "2.5", "10" } };
/* Exchange round trips: 10 ms to the poller's 30 s timeout. */
static const struct buckets poll_buckets = { 11,
	{ 10000000, 25000000, 50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000,
	  5000000000, 10000000000, 30000000000 },
	{ "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30" } };
/* One signature is tens of microseconds; hardware quotes take milliseconds. */
static const struct buckets crypto_buckets = { 14,
	{ 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 50000000,
	  100000000, 500000000, 1000000000 },
	{ "0.00001", "0.000025", "0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
	  "0.01", "0.05", "0.1", "0.5", "1" } };

struct series {
	uint64_t hash;
	char v[MAX_LABELS][METRICS_LABEL_MAX];
	_Atomic uint64_t value;			/* counter or gauge */
	_Atomic uint64_t sum_ns;		/* histogram */
	_Atomic uint64_t bucket[MAX_BUCKETS + 1];	/* per bucket, not cumulative; last is +Inf */
};

struct family {
	const char *name, *help, *type;
	const char *label[MAX_LABELS];
	size_t nlabels;
	const struct buckets *b;		/* histograms only */
	pthread_mutex_t mu;			/* insertion only; readers scan the published prefix */
	_Atomic size_t n;
	struct series s[METRICS_MAX_SERIES];
};

static struct family http_fam = { "perfagg_http_request_duration_seconds",
	"HTTP request latency by route pattern, method and status code.", "histogram",
	{ "route", "method", "code" }, 3, &http_buckets, PTHREAD_MUTEX_INITIALIZER, 0, { { 0 } } };
static struct family polls_fam = { "perfagg_polls_total",
	"Exchange requests finished, by exchange and the connector's verdict.", "counter",
	{ "exchange", "result" }, 2, NULL, PTHREAD_MUTEX_INITIALIZER, 0, { { 0 } } };
static struct family poll_dur_fam = { "perfagg_poll_duration_seconds",
	"Exchange request round-trip time, by exchange.", "histogram",
	{ "exchange" }, 1, &poll_buckets, PTHREAD_MUTEX_INITIALIZER, 0, { { 0 } } };
static struct family xerr_fam = { "perfagg_exchange_errors_total",
	"Failed exchange requests, by exchange and HTTP status (or transport/timeout).", "counter",
	{ "exchange", "code" }, 2, NULL, PTHREAD_MUTEX_INITIALIZER, 0, { { 0 } } };
static struct family crypto_fam = { "perfagg_crypto_duration_seconds",
	"Latency of enclave cryptographic operations.", "histogram",
	{ "op" }, 1, &crypto_buckets, PTHREAD_MUTEX_INITIALIZER, 0, { { 0 } } };
static struct family sessions_fam = { "perfagg_sessions",
	"Sessions being collected, by collection state.", "gauge",
	{ "state" }, 1, NULL, PTHREAD_MUTEX_INITIALIZER, 0, { { 0 } } };

static struct family outbox_rows_fam = { "perfagg_outbox_rows",
	"Ingest payloads in the outbox, by state (pending, delivered, failed).", "gauge",
	{ "state" }, 1, NULL, PTHREAD_MUTEX_INITIALIZER, 0, { { 0 } } };
static struct family outbox_failed_fam = { "perfagg_outbox_failed",
	"Ingest payloads the backend refused for good, by the HTTP status it answered; "
	"POST /admin/outbox/requeue sends them again.", "gauge",
	{ "status" }, 1, NULL, PTHREAD_MUTEX_INITIALIZER, 0, { { 0 } } };

static _Atomic uint64_t outbox_depth;

static const char *const crypto_ops[METRICS_CRYPTO_NOPS] = { "envelope_open", "sign", "quote" };
static const char *const std_methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" };

int64_t
metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* FNV-1a over the label values as they are stored (truncated). */
static uint64_t
key_hash(const char *const v[], size_t n)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < METRICS_LABEL_MAX - 1 && v[i][k] != '\0'; k++)
			h = (h ^ (uint8_t)v[i][k]) * 1099511628211ULL;
		h = (h ^ 0xff) * 1099511628211ULL;	/* separator: ("ab","c") != ("a","bc") */
	}
	return h;
}

static bool
key_equal(const struct series *s, uint64_t h, const char *const v[], size_t n)
{
	if (s->hash != h)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strncmp(s->v[i], v[i], METRICS_LABEL_MAX - 1) != 0)
			return false;
	return true;
}

static struct series *
scan(struct family *f, size_t from, size_t to, uint64_t h, const char *const v[])
{
	for (size_t i = from; i < to; i++)
		if (key_equal(&f->s[i], h, v, f->nlabels))
			return &f->s[i];
	return NULL;
}

static struct series *
series_get(struct family *f, const char *const v[])
{
	static const char *const overflow[MAX_LABELS] = { "overflow", "overflow", "overflow" };
	uint64_t h = key_hash(v, f->nlabels);
	size_t n = atomic_load_explicit(&f->n, memory_order_acquire);
	struct series *s = scan(f, 0, n, h, v);

	if (s != NULL)
		return s;
	pthread_mutex_lock(&f->mu);
	n = atomic_load_explicit(&f->n, memory_order_relaxed);
	if ((s = scan(f, 0, n, h, v)) != NULL)
		goto out;
	/* The last slot is kept for the overflow series. */
	if (n >= METRICS_MAX_SERIES - 1) {
		h = key_hash(overflow, f->nlabels);
		v = overflow;
		if ((s = scan(f, 0, n, h, v)) != NULL || n >= METRICS_MAX_SERIES)
			goto out;
	}
	s = &f->s[n];
	s->hash = h;
	for (size_t i = 0; i < f->nlabels; i++)
		snprintf(s->v[i], sizeof(s->v[i]), "%s", v[i]);
	atomic_store_explicit(&f->n, n + 1, memory_order_release);
out:
	pthread_mutex_unlock(&f->mu);
	return s;
}

static void
observe(struct family *f, const char *const v[], int64_t ns)
{
	struct series *s = series_get(f, v);
	size_t i = 0;

	if (ns < 0)
		ns = 0;
	while (i < f->b->n && ns > f->b->le_ns[i])
		i++;
	atomic_fetch_add_explicit(&s->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->sum_ns, (uint64_t)ns, memory_order_relaxed);
}

void
metrics_http_observe(const char *route, const char *method, unsigned status, int64_t ns)
{
	const char *v[3] = { route != NULL ? route : "unmatched", "other", NULL };
	char code[4] = "000";

	for (size_t i = 0; method != NULL && i < sizeof(std_methods) / sizeof(std_methods[0]); i++)
		if (strcmp(method, std_methods[i]) == 0) {
			v[1] = std_methods[i];
			break;
		}
	if (status >= 100 && status <= 999) {
		code[0] = (char)('0' + status / 100);
		code[1] = (char)('0' + status / 10 % 10);
		code[2] = (char)('0' + status % 10);
	}
	v[2] = code;
	observe(&http_fam, v, ns);
}

void
metrics_poll_observe(const char *exchange, const char *result, int64_t ns)
{
	const char *v[2] = { exchange, result };

	atomic_fetch_add_explicit(&series_get(&polls_fam, v)->value, 1, memory_order_relaxed);
	observe(&poll_dur_fam, v, ns);
}

void
metrics_exchange_error(const char *exchange, const char *code)
{
	const char *v[2] = { exchange, code };

	atomic_fetch_add_explicit(&series_get(&xerr_fam, v)->value, 1, memory_order_relaxed);
}

void
metrics_crypto_observe(enum metrics_crypto_op op, int64_t ns)
{
	const char *v[1];

	if ((unsigned)op >= METRICS_CRYPTO_NOPS)
		return;
	v[0] = crypto_ops[op];
	observe(&crypto_fam, v, ns);
}

void
metrics_outbox_depth_set(uint64_t n)
{
	atomic_store_explicit(&outbox_depth, n, memory_order_relaxed);
}

static void
gauge_set(struct family *f, const char *label, uint64_t n)
{
	const char *v[1] = { label };

	atomic_store_explicit(&series_get(f, v)->value, n, memory_order_relaxed);
}

void
metrics_sessions_set(const char *state, uint64_t n)
{
	gauge_set(&sessions_fam, state, n);
}

void
metrics_outbox_rows_set(const char *state, uint64_t n)
{
	gauge_set(&outbox_rows_fam, state, n);
}

void
metrics_outbox_failed_set(long status, uint64_t n)
{
	char code[24];

	snprintf(code, sizeof(code), "%ld", status);
	gauge_set(&outbox_failed_fam, code, n);
}

/* Label values are program strings, but escape them anyway as the format says. */
static void
put_escaped(struct textbuf *t, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			textbuf_printf(t, "\\\\");
		else if (*s == '"')
			textbuf_printf(t, "\\\"");
		else if (*s == '\n')
			textbuf_printf(t, "\\n");
		else
			textbuf_printf(t, "%c", *s);
	}
}

/* {a="x",b="y"[,le="..."]} or nothing when there are no labels. */
static void
put_labels(struct textbuf *t, const struct family *f, const struct series *s, const char *le)
{
	if (f->nlabels == 0 && le == NULL)
		return;
	textbuf_printf(t, "{");
	for (size_t i = 0; i < f->nlabels; i++) {
		textbuf_printf(t, "%s%s=\"", i > 0 ? "," : "", f->label[i]);
		put_escaped(t, s->v[i]);
		textbuf_printf(t, "\"");
	}
	if (le != NULL)
		textbuf_printf(t, "%sle=\"%s\"", f->nlabels > 0 ? "," : "", le);
	textbuf_printf(t, "}");
}

static void
render_family(struct textbuf *t, struct family *f)
{
	size_t n = atomic_load_explicit(&f->n, memory_order_acquire);

	textbuf_printf(t, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
	for (size_t i = 0; i < n; i++) {
		struct series *s = &f->s[i];
		uint64_t cum = 0;

		if (f->b == NULL) {
			textbuf_printf(t, "%s", f->name);
			put_labels(t, f, s, NULL);
			textbuf_printf(t, " %llu\n", (unsigned long long)atomic_load(&s->value));
			continue;
		}
		/* The count is the sum of the buckets read here, so +Inf and
		 * _count agree even while requests are being observed. */
		for (size_t k = 0; k <= f->b->n; k++) {
			cum += atomic_load_explicit(&s->bucket[k], memory_order_relaxed);
			textbuf_printf(t, "%s_bucket", f->name);
			put_labels(t, f, s, k < f->b->n ? f->b->le[k] : "+Inf");
			textbuf_printf(t, " %llu\n", (unsigned long long)cum);
		}
		textbuf_printf(t, "%s_sum", f->name);
		put_labels(t, f, s, NULL);
		textbuf_printf(t, " %.9f\n", (double)atomic_load(&s->sum_ns) / 1e9);
		textbuf_printf(t, "%s_count", f->name);
		put_labels(t, f, s, NULL);
		textbuf_printf(t, " %llu\n", (unsigned long long)cum);
	}
}

static void
gauge(struct textbuf *t, const char *name, const char *help, const char *fmt, double v)
{
	textbuf_printf(t, "# HELP %s %s\n# TYPE %s gauge\n%s ", name, help, name, name);
	if (strcmp(fmt, "int") == 0)
		textbuf_printf(t, "%.0f\n", v);
	else
		textbuf_printf(t, "%.3f\n", v);
}

/* Resident set size from /proc; -1 where there is none (some enclave runtimes). */
static double
resident_bytes(void)
{
	unsigned long long size, rss;
	FILE *fp = fopen("/proc/self/statm", "r");
	int ok;

	if (fp == NULL)
		return -1;
	ok = fscanf(fp, "%llu %llu", &size, &rss) == 2;
	fclose(fp);
	return ok ? (double)rss * (double)sysconf(_SC_PAGESIZE) : -1;
}

char *
metrics_render(double uptime_s, size_t *len)
{
	struct family *fams[] = { &sessions_fam, &polls_fam, &poll_dur_fam, &xerr_fam, &http_fam, &crypto_fam,
		&outbox_rows_fam, &outbox_failed_fam };
	struct textbuf t;
	double rss = resident_bytes();

	textbuf_init(&t);
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
		render_family(&t, fams[i]);
	gauge(&t, "perfagg_outbox_depth", "Ingest payloads committed and not yet delivered.", "int",
	    (double)atomic_load(&outbox_depth));
	gauge(&t, "perfagg_uptime_seconds", "Seconds since the service started.", "frac", uptime_s);
	textbuf_printf(&t, "# HELP perfagg_build_info The running version.\n# TYPE perfagg_build_info gauge\n"
	    "perfagg_build_info{version=\"%s\"} 1\n", PERFAGG_VERSION);
	if (rss >= 0)
		gauge(&t, "process_resident_memory_bytes", "Resident memory size in bytes.", "int", rss);
	*len = t.len;
	return textbuf_take(&t);
}
