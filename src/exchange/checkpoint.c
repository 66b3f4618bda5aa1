#include "exchange/checkpoint.h"

#include <string.h>

#include "core/holdings.h"
#include "core/ledger.h"

#define VERSION 1

static void
save_status(const struct poll_status *st, bool history_done, struct pack *w)
{
	pack_u8(w, (uint8_t)st->state);
	pack_bool(w, st->backfill_done);
	pack_bool(w, history_done);
	pack_str(w, st->progress);
	pack_i64(w, st->last_success_ms);
	pack_i64(w, st->complete_until_ms);
	pack_i64(w, st->interval_ms);
	pack_u64(w, st->requests);
	pack_u64(w, st->fills_applied);
	pack_u64(w, st->duplicates);
	pack_u64(w, st->stale);
	pack_u64(w, st->rejected);
	pack_u64(w, st->cycles);
	pack_u64(w, st->cycle_requests);
	pack_u64(w, st->max_cycle_requests);
	pack_u64(w, st->repeats);
	pack_i64(w, st->checkpoint_ms);
	pack_u64(w, st->checkpoint_fills);
	pack_bool(w, st->permissions_known);
	pack_bool(w, st->can_trade);
	pack_bool(w, st->can_withdraw);
	for (size_t i = 0; i < XPART_COUNT; i++)
		pack_str(w, st->degraded[i]);
}

/* Reads the status into st (caveats, errors and schedule stay the fresh
 * collection's: they are the running instance's). */
static void
load_status(struct unpack *r, struct poll_status *st, bool *history_done)
{
	uint8_t state = unpack_u8(r);

	/* only sessions still polled are checkpointed */
	if (state != POLL_VALIDATING && state != POLL_ACTIVE)
		unpack_fail(r);
	st->state = (enum poll_state)state;
	st->backfill_done = unpack_bool(r);
	*history_done = unpack_bool(r);
	unpack_str(r, st->progress, sizeof(st->progress));
	st->last_success_ms = unpack_i64(r);
	st->complete_until_ms = unpack_i64(r);
	st->interval_ms = unpack_i64(r);
	st->requests = unpack_u64(r);
	st->fills_applied = unpack_u64(r);
	st->duplicates = unpack_u64(r);
	st->stale = unpack_u64(r);
	st->rejected = unpack_u64(r);
	st->cycles = unpack_u64(r);
	st->cycle_requests = unpack_u64(r);
	st->max_cycle_requests = unpack_u64(r);
	st->repeats = unpack_u64(r);
	st->checkpoint_ms = unpack_i64(r);
	st->checkpoint_fills = unpack_u64(r);
	st->permissions_known = unpack_bool(r);
	st->can_trade = unpack_bool(r);
	st->can_withdraw = unpack_bool(r);
	for (size_t i = 0; i < XPART_COUNT; i++)
		unpack_str(r, st->degraded[i], sizeof(st->degraded[i]));
	if (st->interval_ms <= 0)
		unpack_fail(r);
}

int
checkpoint_save(const struct collection *c, const struct xconn *conn, bool history_done, struct pack *w,
    const char **errstr)
{
	pack_u8(w, VERSION);
	save_status(&c->st, history_done, w);
	ledger_save(c->ledger, w);
	holdings_save(c->holdings, w);
	if (xconn_save(conn, w) != 0) {
		*errstr = "the connector cannot save its cursors";
		return -1;
	}
	return 0;
}

int
checkpoint_load(struct collection *c, struct xconn *conn, const void *buf, size_t len, bool *history_done,
    const char **errstr)
{
	struct unpack r;
	struct poll_status st;
	struct ledger *l = NULL;
	struct holdings *h = NULL;
	bool hd = false;

	unpack_init(&r, buf, len);
	if (unpack_u8(&r) != VERSION) {
		*errstr = "a checkpoint of another version";
		return -1;
	}
	st = c->st;
	load_status(&r, &st, &hd);
	if (!unpack_ok(&r)) {
		*errstr = "a damaged checkpoint status";
		return -1;
	}
	if ((l = ledger_load(&r, errstr)) == NULL)
		goto fail;
	if ((h = holdings_load(&r, errstr)) == NULL)
		goto fail;
	/* the connector last: it is the one part that cannot be undone, so
	 * everything before it has been checked */
	if (xconn_load(conn, &r, errstr) != 0)
		goto fail;
	if (!unpack_end(&r)) {
		*errstr = "trailing bytes after a checkpoint";
		goto fail;
	}
	ledger_free(c->ledger);
	holdings_free(c->holdings);
	c->ledger = l;
	c->holdings = h;
	c->st = st;
	collection_set_state(c, st.state);
	*history_done = hd;
	return 0;
fail:
	ledger_free(l);
	holdings_free(h);
	return -1;
}
