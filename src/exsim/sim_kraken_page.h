/*
 * sim_kraken_page: paging over an account's visible fills of every symbol
 * in one total order, (timestamp, symbol index, fill index), without
 * materializing the history: each symbol's fills are a contiguous index
 * range, ranks are found by binary search on time, pages by a k-way merge.
 * Used by the Kraken spot (newest first, ofs) and Kraken Futures (both
 * directions, continuation token) handlers, which also share the growing
 * text buffer their bodies are printed into.
 */
#ifndef PERFAGG_EXSIM_SIM_KRAKEN_PAGE_H
#define PERFAGG_EXSIM_SIM_KRAKEN_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exsim/exsim.h"

struct skp_pos {
	int64_t ts;
	size_t k;
	uint64_t i;
};

/* Per-symbol index ranges [lo[k], hi[k]) of a filtered view. */
struct skp_view {
	const struct exsim_account *a;
	uint64_t *lo, *hi;
};

/* The view of the fills visible at now_ms; free with skp_view_free(). */
void skp_view_init(struct skp_view *v, const struct exsim_account *a, int64_t now_ms);
void skp_view_free(struct skp_view *v);
/* Narrowing: keep fills after pos (exclusive), at or after ts, at or
 * before pos (inclusive), before ts (exclusive). */
void skp_after(struct skp_view *v, const struct skp_pos *p);
void skp_from_ts(struct skp_view *v, int64_t ts);
void skp_upto(struct skp_view *v, const struct skp_pos *p);
void skp_before_ts(struct skp_view *v, int64_t ts);
uint64_t skp_count(const struct skp_view *v);
/* Writes up to n positions starting at rank (0-based, in the direction
 * asked: desc = newest first) into out; returns how many. */
size_t skp_page(const struct skp_view *v, uint64_t rank, bool desc, struct skp_pos *out, size_t n);
/* A growing response body: skp_printf appends (aborts on OOM); skp_send
 * hands it to rs with status 200. */
struct skp_buf {
	char *p;
	size_t n, cap;
};
void skp_printf(struct skp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void skp_send(struct skp_buf *b, struct exsim_response *rs);

/* Finds the visible fill whose exchange id is id, scanning from the newest
 * (cursors are recent); true with *p if found. */
bool skp_find_id(const struct exsim_account *a, int64_t now_ms, const char *id, struct skp_pos *p);

#endif
