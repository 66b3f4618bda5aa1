/*
 * pack: a compact, versionable binary encoding for state that is saved and
 * read back by this program only (checkpoints of ledgers, holdings and
 * connector cursors sealed in the durable store). Not a wire format: the
 * reader trusts nothing, but the layout is whatever the writer's module says.
 *
 * Writer: integers big-endian at fixed width, a dec as its 128-bit raw value,
 * a string as u32 length + bytes (no NUL). The buffer grows on the heap and
 * pack_free() wipes it (checkpoints describe a trader's positions).
 *
 * Reader: every read checks the remaining length; the first failure makes
 * the reader bad (sticky), and every later read returns zero values, so a
 * module reads its whole layout and checks unpack_ok()/unpack_end() once.
 * Counts of repeated items are read with unpack_count(), which refuses a
 * count the remaining bytes cannot hold, so a damaged length never drives a
 * huge allocation.
 */
#ifndef PERFAGG_CORE_PACK_H
#define PERFAGG_CORE_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dec.h"

struct pack {
	uint8_t *buf;			/* owned; NULL while empty */
	size_t len, cap;
};

/* An empty writer (or memset 0). */
void pack_init(struct pack *w);
/* Wipes and frees the buffer; the writer is empty again. */
void pack_free(struct pack *w);

void pack_u8(struct pack *w, uint8_t v);
void pack_bool(struct pack *w, bool v);
void pack_u32(struct pack *w, uint32_t v);
void pack_u64(struct pack *w, uint64_t v);
void pack_i64(struct pack *w, int64_t v);
void pack_dec(struct pack *w, struct dec v);
/* u32 length, then the bytes. */
void pack_bytes(struct pack *w, const void *p, size_t n);
/* A NUL-terminated string, as pack_bytes without the NUL. */
void pack_str(struct pack *w, const char *s);

struct unpack {
	const uint8_t *p;		/* borrowed */
	size_t len, off;
	bool bad;
};

/* Reads (buf, len), borrowed for the reader's life. */
void unpack_init(struct unpack *r, const void *buf, size_t len);

uint8_t unpack_u8(struct unpack *r);
/* A byte that must be 0 or 1 (else the reader goes bad). */
bool unpack_bool(struct unpack *r);
uint32_t unpack_u32(struct unpack *r);
uint64_t unpack_u64(struct unpack *r);
int64_t unpack_i64(struct unpack *r);
struct dec unpack_dec(struct unpack *r);
/* A string into out (cap bytes with its NUL). Goes bad (out = "") when it
 * does not fit or holds a NUL. */
void unpack_str(struct unpack *r, char *out, size_t cap);
/* Bytes into out, which must be exactly n long (else bad). */
void unpack_fixed(struct unpack *r, void *out, size_t n);
/* A u32 count of items of at least min_item bytes each; goes bad (and
 * returns 0) when it exceeds max or what is left could hold. */
size_t unpack_count(struct unpack *r, size_t min_item, size_t max);
/* Makes the reader bad (a module found an invalid value). */
void unpack_fail(struct unpack *r);

/* True while no read has failed. */
bool unpack_ok(const struct unpack *r);
/* True when no read has failed and every byte was read (no trailing bytes). */
bool unpack_end(const struct unpack *r);

#endif
