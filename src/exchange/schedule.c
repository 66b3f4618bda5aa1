/*
 * schedule: a binary min-heap of entries by due time, exponential backoff
 * with full jitter, and circuit breakers by key.
 */
#include "exchange/schedule.h"

#include <stdlib.h>

#include "core/prim.h"
#include "util/log.h"
#include "util/xalloc.h"

struct schedule_breaker {
	const void *key;
	unsigned failures;
	int64_t open_until;
};

struct schedule {
	struct schedule_entry **heap;
	size_t n, cap;
	uint64_t rng;
	struct schedule_breaker breakers[SCHEDULE_MAX_BREAKERS];
	size_t nbreakers;
};

struct schedule *
schedule_new(void)
{
	struct schedule *s = xcalloc(1, sizeof(*s));

	prim_random(&s->rng, sizeof(s->rng));
	s->rng |= 1;	/* xorshift never leaves 0 */
	return s;
}

void
schedule_free(struct schedule *s)
{
	if (s == NULL)
		return;
	free(s->heap);
	free(s);
}

/* ---- the heap ---- */

static void
swap(struct schedule *s, size_t a, size_t b)
{
	struct schedule_entry *t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->idx = a;
	s->heap[b]->idx = b;
}

static void
up(struct schedule *s, size_t i)
{
	while (i > 0 && s->heap[(i - 1) / 2]->due_ms > s->heap[i]->due_ms) {
		swap(s, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
down(struct schedule *s, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->n && s->heap[l]->due_ms < s->heap[m]->due_ms)
			m = l;
		if (r < s->n && s->heap[r]->due_ms < s->heap[m]->due_ms)
			m = r;
		if (m == i)
			return;
		swap(s, i, m);
		i = m;
	}
}

/* Whether e is in s: its slot must hold it, as an entry never queued (or
 * zeroed by its owner) may carry any index. */
static bool
queued(const struct schedule *s, const struct schedule_entry *e)
{
	return e->idx < s->n && s->heap[e->idx] == e;
}

void
schedule_entry_init(struct schedule_entry *e)
{
	e->due_ms = 0;
	e->idx = SIZE_MAX;
}

void
schedule_at(struct schedule *s, struct schedule_entry *e, int64_t due_ms)
{
	e->due_ms = due_ms;
	if (queued(s, e)) {
		down(s, e->idx);
		up(s, e->idx);
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->heap = xreallocarray(s->heap, s->cap, sizeof(*s->heap));
	}
	e->idx = s->n;
	s->heap[s->n++] = e;
	up(s, e->idx);
}

void
schedule_remove(struct schedule *s, struct schedule_entry *e)
{
	size_t i = e->idx;

	if (!queued(s, e))
		return;
	swap(s, i, s->n - 1);
	s->n--;
	if (i < s->n) {
		down(s, i);
		up(s, i);
	}
	e->idx = SIZE_MAX;
}

struct schedule_entry *
schedule_first(const struct schedule *s)
{
	return s->n > 0 ? s->heap[0] : NULL;
}

/* ---- retry timing ---- */

static uint64_t
rng_next(struct schedule *s)
{
	/* xorshift64*: jitter only, not security. */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ULL;
}

int64_t
schedule_backoff_ms(struct schedule *s, unsigned failures)
{
	int64_t base = (int64_t)SCHEDULE_BACKOFF_BASE_MS << (failures > 6 ? 6 : failures);

	if (base > SCHEDULE_BACKOFF_MAX_MS)
		base = SCHEDULE_BACKOFF_MAX_MS;
	/* Full jitter: sessions that failed together do not retry together. */
	return base / 2 + (int64_t)(rng_next(s) % (uint64_t)(base / 2 + 1));
}

struct schedule_breaker *
schedule_breaker(struct schedule *s, const void *key)
{
	for (size_t i = 0; i < s->nbreakers; i++)
		if (s->breakers[i].key == key)
			return &s->breakers[i];
	if (s->nbreakers == SCHEDULE_MAX_BREAKERS)
		fatalx("schedule: more than %d breakers", SCHEDULE_MAX_BREAKERS);
	s->breakers[s->nbreakers].key = key;
	return &s->breakers[s->nbreakers++];
}

int64_t
schedule_breaker_open_until(const struct schedule_breaker *b, int64_t now)
{
	return b->open_until > now ? b->open_until : 0;
}

void
schedule_breaker_success(struct schedule_breaker *b)
{
	b->failures = 0;
}

bool
schedule_breaker_failure(struct schedule_breaker *b, int64_t now)
{
	if (++b->failures < SCHEDULE_BREAKER_THRESHOLD)
		return false;
	b->open_until = now + SCHEDULE_BREAKER_OPEN_MS;
	/* Half the run stays counted: an exchange still failing once the
	 * breaker closes opens it again after half as many failures. */
	b->failures = SCHEDULE_BREAKER_THRESHOLD / 2;
	return true;
}
