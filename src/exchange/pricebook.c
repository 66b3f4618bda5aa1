#include "exchange/pricebook.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/fill.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define KEY_MAX (16 + FILL_SYMBOL_MAX)

struct series {
	char key[KEY_MAX];		/* "exchange\nsymbol" */
	int32_t *days;
	struct dec *close;
	bool *final;
	size_t n, cap;
};

struct pricebook {
	pthread_mutex_t mu;
	struct series *s;		/* sorted by key */
	size_t n, cap;
};

struct pricebook *
pricebook_new(void)
{
	struct pricebook *b = xcalloc(1, sizeof(*b));

	pthread_mutex_init(&b->mu, NULL);
	return b;
}

void
pricebook_free(struct pricebook *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->s[i].days);
		free(b->s[i].close);
		free(b->s[i].final);
	}
	free(b->s);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

static int
make_key(char *key, const char *exchange, const char *symbol)
{
	size_t le = strlen(exchange), ls = strlen(symbol);

	if (le + ls + 2 > KEY_MAX)
		return -1;
	memcpy(key, exchange, le);
	key[le] = '\n';
	memcpy(key + le + 1, symbol, ls + 1);
	return 0;
}

/* Index of key in b->s, or where it goes (*found false). Locked. */
static size_t
find(const struct pricebook *b, const char *key, bool *found)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(b->s[mid].key, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* Index of the first day >= day in s. */
static size_t
day_pos(const struct series *s, int32_t day)
{
	size_t lo = 0, hi = s->n;

	if (s->n == 0 || s->days[s->n - 1] < day)
		return s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->days[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
pricebook_put(struct pricebook *b, const char *exchange, const char *symbol, int64_t day_ms, struct dec close,
    const char **errstr)
{
	return pricebook_put_at(b, exchange, symbol, day_ms, close, time_now_ms(), errstr);
}

int
pricebook_put_at(struct pricebook *b, const char *exchange, const char *symbol, int64_t day_ms,
    struct dec close, int64_t seen_ms, const char **errstr)
{
	char key[KEY_MAX];
	int64_t d = time_day_of_ms(day_ms);
	struct series *s;
	size_t i, j;
	bool found, final;

	if (make_key(key, exchange, symbol) != 0) {
		*errstr = "exchange or symbol name too long";
		return -1;
	}
	if (dec_sign(close) <= 0 || d < INT32_MIN || d > INT32_MAX) {
		*errstr = "a close must be positive, on a day in range";
		return -1;
	}
	pthread_mutex_lock(&b->mu);
	i = find(b, key, &found);
	if (!found) {
		if (b->n == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 16;
			b->s = xreallocarray(b->s, b->cap, sizeof(*b->s));
		}
		memmove(&b->s[i + 1], &b->s[i], (b->n - i) * sizeof(*b->s));
		memset(&b->s[i], 0, sizeof(b->s[i]));
		memcpy(b->s[i].key, key, sizeof(key));
		b->n++;
	}
	s = &b->s[i];
	j = day_pos(s, (int32_t)d);
	final = seen_ms >= (d + 1) * TIME_DAY_MS + PRICEBOOK_FINAL_AFTER_MS;
	if (j < s->n && s->days[j] == (int32_t)d) {
		/* the running day's close moves; once final, a close stays final */
		s->close[j] = close;
		s->final[j] = s->final[j] || final;
	} else {
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap + s->cap / 2 + 1 : 32;
			s->days = xreallocarray(s->days, s->cap, sizeof(*s->days));
			s->close = xreallocarray(s->close, s->cap, sizeof(*s->close));
			s->final = xreallocarray(s->final, s->cap, sizeof(*s->final));
		}
		memmove(&s->days[j + 1], &s->days[j], (s->n - j) * sizeof(*s->days));
		memmove(&s->close[j + 1], &s->close[j], (s->n - j) * sizeof(*s->close));
		memmove(&s->final[j + 1], &s->final[j], (s->n - j) * sizeof(*s->final));
		s->days[j] = (int32_t)d;
		s->close[j] = close;
		s->final[j] = final;
		s->n++;
	}
	pthread_mutex_unlock(&b->mu);
	return 0;
}

int
pricebook_close(struct pricebook *b, const char *exchange, const char *symbol, int64_t day, struct dec *close)
{
	char key[KEY_MAX];
	const struct series *s;
	size_t i, j;
	bool found;
	int rc = -1;

	if (make_key(key, exchange, symbol) != 0)
		return -1;
	if (day > INT32_MAX)
		day = INT32_MAX;
	if (day < INT32_MIN)
		return -1;
	pthread_mutex_lock(&b->mu);
	i = find(b, key, &found);
	if (found) {
		s = &b->s[i];
		/* the last close on or before day */
		j = day_pos(s, (int32_t)day);
		if (j < s->n && s->days[j] == (int32_t)day) {
			*close = s->close[j];
			rc = 0;
		} else if (j > 0) {
			*close = s->close[j - 1];
			rc = 0;
		}
	}
	pthread_mutex_unlock(&b->mu);
	return rc;
}

int
pricebook_close_final(struct pricebook *b, const char *exchange, const char *symbol, int64_t day,
    struct dec *close)
{
	char key[KEY_MAX];
	const struct series *s;
	size_t i, j;
	bool found;
	int rc = -1;

	if (make_key(key, exchange, symbol) != 0 || day < INT32_MIN || day > INT32_MAX)
		return -1;
	pthread_mutex_lock(&b->mu);
	i = find(b, key, &found);
	if (found) {
		s = &b->s[i];
		j = day_pos(s, (int32_t)day);
		if (j < s->n && s->days[j] == (int32_t)day && s->final[j]) {
			*close = s->close[j];
			rc = 0;
		}
	}
	pthread_mutex_unlock(&b->mu);
	return rc;
}

void
pricebook_size(struct pricebook *b, size_t *series, size_t *closes)
{
	pthread_mutex_lock(&b->mu);
	*series = b->n;
	*closes = 0;
	for (size_t i = 0; i < b->n; i++)
		*closes += b->s[i].n;
	pthread_mutex_unlock(&b->mu);
}
