/*
 * collect: a sink that keeps everything a connector reports, for the
 * exchange tests. Include after <cmocka.h>.
 */
#ifndef PERFAGG_TESTS_EXCHANGE_COLLECT_H
#define PERFAGG_TESTS_EXCHANGE_COLLECT_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/fill.h"
#include "exchange/exchange.h"
#include "util/xalloc.h"

/* What a sink collected. */
struct collected {
	struct fill *fills;
	size_t nfills, cap;
	size_t nbalances, nprices, nperms;
	bool can_trade, can_withdraw;	/* as last reported */
	struct {
		char id[40];
		int64_t ts;
		char cur[FILL_CUR_MAX];
		struct dec amount;
	} flows[64];
	size_t nflows;
	struct {
		char name[FILL_SYMBOL_MAX];	/* a currency or an open position's unified symbol */
		struct dec total;		/* as last reported */
	} bal[32];
	size_t nbal;			/* distinct names reported */
};

static int
col_fill(void *arg, const struct fill *f)
{
	struct collected *c = arg;

	if (c->nfills == c->cap) {
		c->cap = c->cap == 0 ? 1024 : c->cap * 2;
		c->fills = xreallocarray(c->fills, c->cap, sizeof(*c->fills));
	}
	c->fills[c->nfills++] = *f;
	return 0;
}

static int
col_balance(void *arg, const char *cur, struct dec total)
{
	struct collected *c = arg;
	size_t i;

	c->nbalances++;
	for (i = 0; i < c->nbal && strcmp(c->bal[i].name, cur) != 0; i++)
		;
	if (i == c->nbal) {
		assert_true(c->nbal < 32);
		snprintf(c->bal[c->nbal++].name, sizeof(c->bal[0].name), "%s", cur);
	}
	c->bal[i].total = total;
	return 0;
}

/* The last balance reported for name as decimal text, NULL if none. */
static inline const char *
col_balance_of(const struct collected *c, const char *name, char buf[DEC_STR_MAX])
{
	for (size_t i = 0; i < c->nbal; i++)
		if (strcmp(c->bal[i].name, name) == 0) {
			dec_format(buf, DEC_STR_MAX, c->bal[i].total);
			return buf;
		}
	return NULL;
}

static int
col_flow(void *arg, const char *id, int64_t ts, const char *cur, struct dec amount)
{
	struct collected *c = arg;

	assert_true(c->nflows < 64);
	snprintf(c->flows[c->nflows].id, sizeof(c->flows[0].id), "%s", id);
	c->flows[c->nflows].ts = ts;
	snprintf(c->flows[c->nflows].cur, FILL_CUR_MAX, "%s", cur);
	c->flows[c->nflows].amount = amount;
	c->nflows++;
	return 0;
}

static int
col_price(void *arg, const char *symbol, int64_t day, struct dec close)
{
	((struct collected *)arg)->nprices++;
	return 0;
}

static int
col_perms(void *arg, bool t, bool w)
{
	struct collected *c = arg;

	c->nperms++;
	c->can_trade = t;
	c->can_withdraw = w;
	return 0;
}

static inline struct xsink
col_sink(struct collected *c)
{
	struct xsink s = { c, col_fill, col_balance, col_flow, col_price, col_perms, NULL };
	return s;
}

#endif
