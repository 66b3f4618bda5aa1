#include "core/holdings.h"

#include <stdlib.h>
#include <string.h>

#include "core/pack.h"
#include "util/timeutil.h"
#include "util/xalloc.h"


/* One currency's sparse daily net changes: days ascending, parallel arrays
 * (no padding between a 4-byte day and a 16-byte decimal). */
struct hcur {
	char name[HOLDINGS_NAME_MAX];
	int32_t *days;
	struct dec *net;
	uint32_t n, cap;
	bool has_balance;		/* in the committed snapshot */
	struct dec balance;
	bool staged;
	struct dec staged_total;
};

/* An external flow, or a funding payment (funding: not a flow). */
struct hflow {
	char *id;
	bool funding;
	int32_t day;
	uint32_t cur;
	struct dec amount;
};

/* Funding totals of one position symbol in one currency. */
struct hfund {
	char symbol[HOLDINGS_NAME_MAX];
	uint32_t cur;
	struct dec total;
	uint64_t payments;
};

/* A change timestamped after the snapshot. */
struct hpost {
	int64_t ts;
	uint32_t cur;
	struct dec amount;
};

struct holdings {
	struct hcur *cur;
	size_t ncur, capcur;
	struct hflow *flows;		/* flows and funding, sorted by (funding, id) */
	size_t nflows, capflows;
	struct hfund *fund;		/* first-seen order */
	size_t nfund;
	struct hpost *post;
	size_t npost, cappost;
	bool has_snapshot;
	int64_t snapshot_ms;
	bool has_span;
	int64_t first_day, last_day;
};

struct holdings *
holdings_new(void)
{
	return xcalloc(1, sizeof(struct holdings));
}

void
holdings_free(struct holdings *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->ncur; i++) {
		free(h->cur[i].days);
		free(h->cur[i].net);
	}
	for (size_t i = 0; i < h->nflows; i++)
		free(h->flows[i].id);
	free(h->cur);
	free(h->flows);
	free(h->fund);
	free(h->post);
	free(h);
}

/* Index of currency name, added when absent; -1 when it does not fit. */
static long
cur_index(struct holdings *h, const char *name)
{
	for (size_t i = 0; i < h->ncur; i++)
		if (strcmp(h->cur[i].name, name) == 0)
			return (long)i;
	if (*name == '\0' || strlen(name) >= HOLDINGS_NAME_MAX)
		return -1;
	if (h->ncur == h->capcur) {
		h->capcur = h->capcur ? h->capcur * 2 : 4;
		h->cur = xreallocarray(h->cur, h->capcur, sizeof(*h->cur));
	}
	memset(&h->cur[h->ncur], 0, sizeof(h->cur[0]));
	memcpy(h->cur[h->ncur].name, name, strlen(name) + 1);
	return (long)h->ncur++;
}

/* Position of day in c (or where it goes). */
static uint32_t
day_pos(const struct hcur *c, int32_t day)
{
	uint32_t lo = 0, hi = c->n;

	/* Fills mostly come in ascending order: try the end first. */
	if (c->n == 0 || c->days[c->n - 1] < day)
		return c->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (c->days[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Checks that adding v to c's day entry fits (without changing anything). */
static int
net_check(const struct hcur *c, int32_t day, struct dec v)
{
	uint32_t i = day_pos(c, day);
	struct dec t;

	if (i < c->n && c->days[i] == day)
		return dec_add(&t, c->net[i], v);
	return 0;
}

static void
net_add(struct hcur *c, int32_t day, struct dec v)
{
	uint32_t i = day_pos(c, day);

	if (i < c->n && c->days[i] == day) {
		(void)dec_add(&c->net[i], c->net[i], v);	/* checked by net_check */
		return;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap + c->cap / 2 + 1 : 8;
		c->days = xreallocarray(c->days, c->cap, sizeof(*c->days));
		c->net = xreallocarray(c->net, c->cap, sizeof(*c->net));
	}
	memmove(&c->days[i + 1], &c->days[i], (c->n - i) * sizeof(*c->days));
	memmove(&c->net[i + 1], &c->net[i], (c->n - i) * sizeof(*c->net));
	c->days[i] = day;
	c->net[i] = v;
	c->n++;
}

static void
post_add(struct holdings *h, int64_t ts, uint32_t cur, struct dec v)
{
	if (!h->has_snapshot || ts <= h->snapshot_ms)
		return;
	if (h->npost == h->cappost) {
		h->cappost = h->cappost ? h->cappost * 2 : 8;
		h->post = xreallocarray(h->post, h->cappost, sizeof(*h->post));
	}
	h->post[h->npost++] = (struct hpost){ ts, cur, v };
}

static void
span_add(struct holdings *h, int64_t day)
{
	if (!h->has_span || day < h->first_day)
		h->first_day = day;
	if (!h->has_span || day > h->last_day)
		h->last_day = day;
	h->has_span = true;
}

/* The changes of one fill: at most 2 legs + FILL_FEES_MAX fees. */
struct leg {
	const char *name;
	struct dec v;
};

static int
fill_legs(const struct fill *f, struct leg *legs, size_t *n, char *settle, const char **errstr)
{
	struct dec cost, neg_amount, neg_cost;
	const char *colon = strchr(f->symbol, ':');
	bool buy = f->side == FILL_BUY;

	*n = 0;
	if (fill_cost(f, &cost) != 0 || dec_neg(&neg_cost, cost) != 0 || dec_neg(&neg_amount, f->amount) != 0) {
		*errstr = "overflow in a fill's cost";
		return -1;
	}
	if (f->market == FILL_FUTURES || colon != NULL) {
		/* "BTC/USDT:USDT" or "BTC/USDT:USDT-240628": settle after ':' */
		const char *s = colon != NULL ? colon + 1 : f->quote, *dash = strchr(s, '-');
		size_t len = dash != NULL ? (size_t)(dash - s) : strlen(s);
		if (len == 0 || len >= FILL_CUR_MAX) {
			*errstr = "futures symbol without a settle currency";
			return -1;
		}
		memcpy(settle, s, len);
		settle[len] = '\0';
		legs[(*n)++] = (struct leg){ f->symbol, buy ? f->amount : neg_amount };
		legs[(*n)++] = (struct leg){ settle, buy ? neg_cost : cost };
	} else {
		legs[(*n)++] = (struct leg){ f->base, buy ? f->amount : neg_amount };
		legs[(*n)++] = (struct leg){ f->quote, buy ? neg_cost : cost };
	}
	for (size_t i = 0; i < f->nfees; i++) {
		struct dec fee;
		if (dec_neg(&fee, f->fees[i].cost) != 0) {
			*errstr = "overflow in a fee";
			return -1;
		}
		legs[(*n)++] = (struct leg){ f->fees[i].currency, fee };
	}
	return 0;
}

/* Applies legs on day at ts, all or nothing. */
static int
apply_legs(struct holdings *h, const struct leg *legs, size_t n, int64_t ts, const char **errstr)
{
	int32_t day;
	long idx[2 + FILL_FEES_MAX];
	int64_t d = time_day_of_ms(ts);

	if (d < INT32_MIN || d > INT32_MAX) {
		*errstr = "timestamp out of range";
		return -1;
	}
	day = (int32_t)d;
	for (size_t i = 0; i < n; i++)
		if ((idx[i] = cur_index(h, legs[i].name)) < 0) {
			*errstr = "currency name too long";
			return -1;
		}
	/* Two legs in one currency (a fee in base) must fit together. */
	for (size_t i = 0; i < n; i++) {
		struct dec sum = legs[i].v;
		for (size_t j = 0; j < n; j++)
			if (j != i && idx[j] == idx[i] && dec_add(&sum, sum, legs[j].v) != 0) {
				*errstr = "overflow in daily holdings";
				return -1;
			}
		if (net_check(&h->cur[idx[i]], day, sum) != 0) {
			*errstr = "overflow in daily holdings";
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		net_add(&h->cur[idx[i]], day, legs[i].v);
		post_add(h, ts, (uint32_t)idx[i], legs[i].v);
	}
	span_add(h, day);
	return 0;
}

int
holdings_fill(struct holdings *h, const struct fill *f, const char **errstr)
{
	struct leg legs[2 + FILL_FEES_MAX];
	char settle[FILL_CUR_MAX];
	size_t n;

	if (fill_legs(f, legs, &n, settle, errstr) != 0)
		return -1;
	return apply_legs(h, legs, n, f->timestamp, errstr);
}

/* Where (funding, id) is in h->flows, or goes: true when it is there. */
static bool
event_find(const struct holdings *h, bool funding, const char *id, size_t *pos)
{
	size_t lo = 0, hi = h->nflows;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct hflow *e = &h->flows[mid];
		int c = funding != e->funding ? (funding ? 1 : -1) : strcmp(id, e->id);
		if (c == 0) {
			*pos = mid;
			return true;
		}
		if (c > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return false;
}

/* Applies an external flow or a funding payment once per (kind, id):
 * 1 applied, 0 seen already, -1 with *errstr. */
static int
event_add(struct holdings *h, bool funding, const char *id, int64_t ts_ms, const char *currency, struct dec amount,
    const char **errstr)
{
	struct leg leg = { currency, amount };
	size_t pos;
	long ci;

	if (id == NULL || currency == NULL) {
		*errstr = "flow or funding without an id or currency";
		return -1;
	}
	if (event_find(h, funding, id, &pos))
		return 0;
	if (apply_legs(h, &leg, 1, ts_ms, errstr) != 0)
		return -1;
	ci = cur_index(h, currency);
	if (h->nflows == h->capflows) {
		h->capflows = h->capflows ? h->capflows * 2 : 8;
		h->flows = xreallocarray(h->flows, h->capflows, sizeof(*h->flows));
	}
	memmove(&h->flows[pos + 1], &h->flows[pos], (h->nflows - pos) * sizeof(*h->flows));
	h->flows[pos] = (struct hflow){ xstrdup(id), funding, (int32_t)time_day_of_ms(ts_ms), (uint32_t)ci, amount };
	h->nflows++;
	return 1;
}

int
holdings_flow(struct holdings *h, const char *id, int64_t ts_ms, const char *currency, struct dec amount,
    const char **errstr)
{
	return event_add(h, false, id, ts_ms, currency, amount, errstr);
}

int
holdings_funding(struct holdings *h, const char *id, int64_t ts_ms, const char *symbol, const char *currency,
    struct dec amount, const char **errstr)
{
	struct hfund *f = NULL;
	struct dec total;
	long ci;
	size_t pos;
	int rc;

	if (symbol == NULL || *symbol == '\0' || strlen(symbol) >= HOLDINGS_NAME_MAX) {
		*errstr = "funding without a symbol, or its name too long";
		return -1;
	}
	if (id != NULL && event_find(h, true, id, &pos))
		return 0;
	if (currency == NULL || (ci = cur_index(h, currency)) < 0) {
		*errstr = "currency name too long";
		return -1;
	}
	for (size_t i = 0; i < h->nfund && f == NULL; i++)
		if (h->fund[i].cur == (uint32_t)ci && strcmp(h->fund[i].symbol, symbol) == 0)
			f = &h->fund[i];
	if (dec_add(&total, f != NULL ? f->total : DEC_ZERO, amount) != 0) {
		*errstr = "overflow in funding";
		return -1;
	}
	if ((rc = event_add(h, true, id, ts_ms, currency, amount, errstr)) != 1)
		return rc;
	if (f == NULL) {
		h->fund = xreallocarray(h->fund, h->nfund + 1, sizeof(*h->fund));
		f = &h->fund[h->nfund++];
		memset(f, 0, sizeof(*f));
		memcpy(f->symbol, symbol, strlen(symbol) + 1);
		f->cur = (uint32_t)ci;
	}
	f->total = total;
	f->payments++;
	return 1;
}

size_t
holdings_nfunding(const struct holdings *h)
{
	return h->nfund;
}

int
holdings_funding_total(const struct holdings *h, size_t i, const char **symbol, const char **currency,
    struct dec *total, uint64_t *payments)
{
	if (i >= h->nfund)
		return -1;
	*symbol = h->fund[i].symbol;
	*currency = h->cur[h->fund[i].cur].name;
	*total = h->fund[i].total;
	*payments = h->fund[i].payments;
	return 0;
}

void
holdings_balances_begin(struct holdings *h)
{
	for (size_t i = 0; i < h->ncur; i++)
		h->cur[i].staged = false;
}

int
holdings_balance(struct holdings *h, const char *currency, struct dec total, const char **errstr)
{
	long i = cur_index(h, currency);

	if (i < 0) {
		*errstr = "currency name too long";
		return -1;
	}
	h->cur[i].staged = true;
	h->cur[i].staged_total = total;
	return 0;
}

void
holdings_balances_commit(struct holdings *h, int64_t at_ms)
{
	size_t k = 0;

	for (size_t i = 0; i < h->ncur; i++) {
		h->cur[i].has_balance = h->cur[i].staged;
		h->cur[i].balance = h->cur[i].staged ? h->cur[i].staged_total : DEC_ZERO;
		h->cur[i].staged = false;
	}
	h->has_snapshot = true;
	h->snapshot_ms = at_ms;
	/* What the new snapshot includes leaves the log. */
	for (size_t i = 0; i < h->npost; i++)
		if (h->post[i].ts > at_ms)
			h->post[k++] = h->post[i];
	h->npost = k;
	if (k == 0) {
		free(h->post);
		h->post = NULL;
		h->cappost = 0;
	}
}

void
holdings_balances_abort(struct holdings *h)
{
	holdings_balances_begin(h);
}

bool
holdings_has_balances(const struct holdings *h, int64_t *at_ms)
{
	if (h->has_snapshot && at_ms != NULL)
		*at_ms = h->snapshot_ms;
	return h->has_snapshot;
}

size_t
holdings_ncurrencies(const struct holdings *h)
{
	return h->ncur;
}

const char *
holdings_currency(const struct holdings *h, size_t i)
{
	return i < h->ncur ? h->cur[i].name : NULL;
}

int
holdings_span(const struct holdings *h, int64_t *first_day, int64_t *last_day)
{
	if (!h->has_span)
		return -1;
	*first_day = h->first_day;
	*last_day = h->last_day;
	return 0;
}

int
holdings_daily_balances(const struct holdings *h, size_t i, int64_t first_day, size_t ndays, struct dec *out,
    const char **errstr)
{
	const struct hcur *c;
	int64_t last_day = first_day + (int64_t)ndays - 1;
	struct dec b;
	size_t k;
	long j;

	if (!h->has_snapshot || i >= h->ncur || ndays == 0) {
		*errstr = !h->has_snapshot ? "no balance snapshot" : "bad arguments";
		return -1;
	}
	c = &h->cur[i];
	if (last_day < time_day_of_ms(h->snapshot_ms) || (c->n > 0 && c->days[c->n - 1] > last_day)) {
		*errstr = "activity after the last day";
		return -1;
	}
	b = c->balance;
	for (k = 0; k < h->npost; k++)
		if (h->post[k].cur == i && dec_add(&b, b, h->post[k].amount) != 0)
			goto overflow;
	/* Backwards: the end of day d is the end of d + 1 minus d + 1's change. */
	j = (long)c->n - 1;
	for (int64_t d = last_day; d >= first_day; d--) {
		out[d - first_day] = b;
		for (; j >= 0 && c->days[j] >= d; j--)
			if (c->days[j] == d && dec_sub(&b, b, c->net[j]) != 0)
				goto overflow;
	}
	return 0;
overflow:
	*errstr = "overflow reconstructing balances";
	return -1;
}

int
holdings_flows_on(const struct holdings *h, size_t i, int64_t day, struct dec *out)
{
	*out = DEC_ZERO;
	for (size_t k = 0; k < h->nflows; k++)
		if (!h->flows[k].funding && h->flows[k].cur == i && h->flows[k].day == day &&
		    dec_add(out, *out, h->flows[k].amount) != 0)
			return -1;
	return 0;
}

size_t
holdings_bytes(const struct holdings *h)
{
	size_t n = sizeof(*h) + h->capcur * sizeof(*h->cur) + h->capflows * sizeof(*h->flows) +
	    h->cappost * sizeof(*h->post) + h->nfund * sizeof(*h->fund);

	for (size_t i = 0; i < h->ncur; i++)
		n += h->cur[i].cap * (sizeof(int32_t) + sizeof(struct dec));
	for (size_t i = 0; i < h->nflows; i++)
		n += strlen(h->flows[i].id) + 1;
	return n;
}

/* ---- checkpoints ---- */

#define HCK_VERSION 1
/* Least bytes of one saved item, so unpack_count() bounds a count by the
 * bytes left. */
#define HCK_CUR_MIN (4 + 1 + 4)
#define HCK_DAY_MIN (4 + 16)
#define HCK_FLOW_MIN (4 + 1 + 4 + 4 + 16)
#define HCK_FUND_MIN (4 + 4 + 16 + 8)
#define HCK_POST_MIN (8 + 4 + 16)

void
holdings_save(const struct holdings *h, struct pack *w)
{
	pack_u8(w, HCK_VERSION);
	pack_u32(w, (uint32_t)h->ncur);
	for (size_t i = 0; i < h->ncur; i++) {
		const struct hcur *c = &h->cur[i];

		/* staged balances are not state between snapshots */
		pack_str(w, c->name);
		pack_bool(w, c->has_balance);
		if (c->has_balance)
			pack_dec(w, c->balance);
		pack_u32(w, c->n);
		for (uint32_t k = 0; k < c->n; k++) {
			pack_u32(w, (uint32_t)c->days[k]);
			pack_dec(w, c->net[k]);
		}
	}
	pack_u32(w, (uint32_t)h->nflows);
	for (size_t i = 0; i < h->nflows; i++) {
		const struct hflow *e = &h->flows[i];

		pack_str(w, e->id);
		pack_bool(w, e->funding);
		pack_u32(w, (uint32_t)e->day);
		pack_u32(w, e->cur);
		pack_dec(w, e->amount);
	}
	pack_u32(w, (uint32_t)h->nfund);
	for (size_t i = 0; i < h->nfund; i++) {
		pack_str(w, h->fund[i].symbol);
		pack_u32(w, h->fund[i].cur);
		pack_dec(w, h->fund[i].total);
		pack_u64(w, h->fund[i].payments);
	}
	pack_bool(w, h->has_snapshot);
	pack_i64(w, h->snapshot_ms);
	pack_u32(w, (uint32_t)h->npost);
	for (size_t i = 0; i < h->npost; i++) {
		pack_i64(w, h->post[i].ts);
		pack_u32(w, h->post[i].cur);
		pack_dec(w, h->post[i].amount);
	}
	pack_bool(w, h->has_span);
	pack_i64(w, h->first_day);
	pack_i64(w, h->last_day);
}

/* A flow id of any length: its saved length is looked at first, so the
 * buffer is sized by the bytes that are actually there. */
static char *
load_id(struct unpack *r)
{
	struct unpack peek = *r;
	uint32_t n = unpack_u32(&peek);
	char *id;

	if (!unpack_ok(&peek) || n > peek.len - peek.off) {
		unpack_fail(r);
		return NULL;
	}
	id = xmalloc((size_t)n + 1);
	unpack_str(r, id, (size_t)n + 1);
	return id;
}

/* The loaded state against what the code relies on: indices in range,
 * days and flows sorted (both are binary searched), names unique. */
static const char *
check_holdings(const struct holdings *h)
{
	for (size_t i = 0; i < h->ncur; i++) {
		const struct hcur *c = &h->cur[i];

		if (c->name[0] == '\0' || (c->has_balance && !h->has_snapshot))
			return "holdings checkpoint: inconsistent currency";
		for (size_t j = 0; j < i; j++)
			if (strcmp(h->cur[j].name, c->name) == 0)
				return "holdings checkpoint: inconsistent currency";
		for (uint32_t k = 1; k < c->n; k++)
			if (c->days[k - 1] >= c->days[k])
				return "holdings checkpoint: inconsistent daily changes";
	}
	for (size_t i = 0; i < h->nflows; i++) {
		const struct hflow *e = &h->flows[i], *p = &h->flows[i - (i > 0)];

		if (e->cur >= h->ncur || (i > 0 && (p->funding != e->funding ? p->funding :
		    strcmp(p->id, e->id) >= 0)))
			return "holdings checkpoint: inconsistent flows";
	}
	for (size_t i = 0; i < h->nfund; i++) {
		const struct hfund *f = &h->fund[i];

		if (f->cur >= h->ncur || f->symbol[0] == '\0')
			return "holdings checkpoint: inconsistent funding";
		for (size_t j = 0; j < i; j++)
			if (h->fund[j].cur == f->cur && strcmp(h->fund[j].symbol, f->symbol) == 0)
				return "holdings checkpoint: inconsistent funding";
	}
	/* the log holds what came after the snapshot, and only then */
	if (h->npost > 0 && !h->has_snapshot)
		return "holdings checkpoint: inconsistent snapshot";
	for (size_t i = 0; i < h->npost; i++)
		if (h->post[i].cur >= h->ncur || h->post[i].ts <= h->snapshot_ms)
			return "holdings checkpoint: inconsistent snapshot";
	/* every fill, flow or payment adds a day entry where it adds to the
	 * span, and neither ever shrinks: the span is the entries' range */
	{
		bool any = false;
		int64_t lo = 0, hi = 0;

		for (size_t i = 0; i < h->ncur; i++) {
			const struct hcur *c = &h->cur[i];

			if (c->n == 0)
				continue;
			if (!any || c->days[0] < lo)
				lo = c->days[0];
			if (!any || c->days[c->n - 1] > hi)
				hi = c->days[c->n - 1];
			any = true;
		}
		if (any != h->has_span || (any && (h->first_day != lo || h->last_day != hi)))
			return "holdings checkpoint: inconsistent span";
	}
	return NULL;
}

struct holdings *
holdings_load(struct unpack *r, const char **errstr)
{
	struct holdings *h = holdings_new();
	const char *err;
	size_t n;

	*errstr = "holdings checkpoint: truncated or malformed";
	if (unpack_u8(r) != HCK_VERSION) {
		if (unpack_ok(r))
			*errstr = "holdings checkpoint: unknown version";
		goto fail;
	}
	/* arrays are sized and counted before they are read, so whatever fails,
	 * holdings_free() frees exactly what is there */
	if ((n = unpack_count(r, HCK_CUR_MIN, UINT32_MAX)) > 0) {
		h->cur = xcalloc(n, sizeof(*h->cur));
		h->ncur = h->capcur = n;
	}
	for (size_t i = 0; i < n; i++) {
		struct hcur *c = &h->cur[i];
		size_t nd;

		unpack_str(r, c->name, sizeof(c->name));
		if ((c->has_balance = unpack_bool(r)))
			c->balance = unpack_dec(r);
		if ((nd = unpack_count(r, HCK_DAY_MIN, UINT32_MAX / 2)) > 0) {
			c->days = xcalloc(nd, sizeof(*c->days));
			c->net = xcalloc(nd, sizeof(*c->net));
			c->n = c->cap = (uint32_t)nd;
		}
		for (size_t k = 0; k < nd; k++) {
			c->days[k] = (int32_t)unpack_u32(r);
			c->net[k] = unpack_dec(r);
		}
	}
	if ((n = unpack_count(r, HCK_FLOW_MIN, UINT32_MAX)) > 0) {
		h->flows = xcalloc(n, sizeof(*h->flows));
		h->nflows = h->capflows = n;
	}
	for (size_t i = 0; i < n && unpack_ok(r); i++) {
		struct hflow *e = &h->flows[i];

		e->id = load_id(r);
		e->funding = unpack_bool(r);
		e->day = (int32_t)unpack_u32(r);
		e->cur = unpack_u32(r);
		e->amount = unpack_dec(r);
	}
	if ((n = unpack_count(r, HCK_FUND_MIN, UINT32_MAX)) > 0) {
		h->fund = xcalloc(n, sizeof(*h->fund));
		h->nfund = n;
	}
	for (size_t i = 0; i < n; i++) {
		unpack_str(r, h->fund[i].symbol, sizeof(h->fund[i].symbol));
		h->fund[i].cur = unpack_u32(r);
		h->fund[i].total = unpack_dec(r);
		h->fund[i].payments = unpack_u64(r);
	}
	h->has_snapshot = unpack_bool(r);
	h->snapshot_ms = unpack_i64(r);
	if ((n = unpack_count(r, HCK_POST_MIN, UINT32_MAX)) > 0) {
		h->post = xcalloc(n, sizeof(*h->post));
		h->npost = h->cappost = n;
	}
	for (size_t i = 0; i < n; i++) {
		h->post[i].ts = unpack_i64(r);
		h->post[i].cur = unpack_u32(r);
		h->post[i].amount = unpack_dec(r);
	}
	h->has_span = unpack_bool(r);
	h->first_day = unpack_i64(r);
	h->last_day = unpack_i64(r);
	if (!unpack_ok(r))
		goto fail;
	if ((err = check_holdings(h)) != NULL) {
		*errstr = err;
		goto fail;
	}
	return h;
fail:
	unpack_fail(r);
	holdings_free(h);
	return NULL;
}
