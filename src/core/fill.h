/*
 * fill: one executed trade, as ccxt defines a unified trade, and its parsers.
 *
 * Field names are ccxt's: id, order, timestamp (ms since the epoch; when it
 * is absent, datetime in ISO 8601 UTC is used), symbol ("BASE/QUOTE", or
 * ccxt's contract form "BASE/QUOTE:SETTLE"), side ("buy"|"sell"), price,
 * amount, cost, fee {cost, currency}, fees [{cost, currency}, ...],
 * takerOrMaker ("taker"|"maker"), plus marketType ("spot"|"margin"|
 * "futures"; "future" and "swap" mean futures), which ccxt keeps on the
 * market rather than the trade. Without marketType a contract symbol (with
 * ':') is futures and any other is spot. Unknown fields (info, type, ...)
 * are ignored; null is the same as absent.
 *
 * Decisions:
 * - amount must be > 0, price >= 0, cost >= 0 when present. cost is the
 *   exchange's quote quantity and wins over price*amount (fill_cost()).
 * - Fees: when fees[] is present and non-empty it is used and fee is ignored
 *   (ccxt derives fee from fees[], so using both would count twice);
 *   otherwise fee. A fee whose cost is null is no fee. A non-zero fee needs
 *   a currency. Fees in the same currency are summed. Fees may be negative
 *   (maker rebates).
 * - Exactness of JSON numbers: jansson turns reals into doubles, which loses
 *   digits. fill_json_loads() therefore rewrites every number token of the
 *   JSON text as a string before jansson sees it, so every number reaches
 *   dec_parse() as the exact text the exchange sent. fill_from_json() takes
 *   strings and integers and refuses JSON reals (an object built elsewhere
 *   with json_real() has already lost its exact value).
 * - CSV: RFC 4180 (comma separator, "..." quoting with "" for a quote,
 *   quoted fields may span lines, CRLF or LF), a header row of the field
 *   names above; one fee is given as fee_cost and fee_currency (or
 *   fee.cost and fee.currency), several as a "fees" column holding ccxt's
 *   fees[] as JSON text (CSV-quoted: "[{""cost"":""0.1"",""currency"":
 *   ""BNB""}]"), whose numbers are read exactly like those of a JSON
 *   input; a non-empty fees cell wins over fee_cost as fees[] does in
 *   JSON. An empty cell is absent. Blank lines are skipped.
 */
#ifndef PERFAGG_CORE_FILL_H
#define PERFAGG_CORE_FILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/dec.h"

#define FILL_ID_MAX 96		/* id and order, with the NUL */
#define FILL_SYMBOL_MAX 48	/* with the NUL */
#define FILL_CUR_MAX 16		/* a currency code, with the NUL */
#define FILL_FEES_MAX 4

enum fill_side { FILL_BUY, FILL_SELL };
enum fill_market { FILL_SPOT, FILL_MARGIN, FILL_FUTURES };
enum fill_role { FILL_ROLE_UNKNOWN, FILL_TAKER, FILL_MAKER };

struct fill_fee {
	struct dec cost;			/* may be negative (rebate) */
	char currency[FILL_CUR_MAX];
};

struct fill {
	char id[FILL_ID_MAX];			/* "" when the exchange gave none */
	char order[FILL_ID_MAX];		/* "" when absent */
	int64_t timestamp;			/* ms since the epoch, UTC */
	char symbol[FILL_SYMBOL_MAX];		/* as given */
	char base[FILL_CUR_MAX];		/* parsed from symbol */
	char quote[FILL_CUR_MAX];
	enum fill_side side;
	struct dec price;
	struct dec amount;			/* base quantity, > 0 */
	struct dec cost;			/* quote quantity, if has_cost */
	bool has_cost;
	struct fill_fee fees[FILL_FEES_MAX];	/* distinct currencies */
	size_t nfees;
	enum fill_role role;
	enum fill_market market;
};

/* Sets f->symbol, f->base and f->quote from "BASE/QUOTE[:SETTLE]" (s, len).
 * Returns 0, or -1 with *errstr set. */
int fill_set_symbol(struct fill *f, const char *s, size_t len, const char **errstr);

/* Adds cost in currency to f's fees (summed with a fee already in that
 * currency). Returns 0, or -1 with *errstr set (too many currencies,
 * overflow, bad currency). */
int fill_add_fee(struct fill *f, struct dec cost, const char *currency, const char **errstr);

/* The quote quantity: f->cost when present, otherwise price*amount rounded
 * half-even to 18 places. Returns 0, or -1 on overflow. */
int fill_cost(const struct fill *f, struct dec *out);

/*
 * Parses JSON text (buf, len) with every number kept as its exact text (a
 * JSON string). Returns a new reference (caller json_decref()s), or NULL with
 * *errstr (static) and *line (1-based) set.
 */
json_t *fill_json_loads(const char *buf, size_t len, int *line, const char **errstr);

/*
 * Fills *f from the ccxt trade object o (not retained). Returns 0, or -1 with
 * *field (the static field name, e.g. "amount" or "fee.cost") and *errstr set.
 */
int fill_from_json(struct fill *f, const json_t *o, const char **field, const char **errstr);

/*
 * CSV reader over the caller's buffer (buf, len), which must outlive it.
 * fill_csv_new() reads the header; NULL with *errstr on a bad header.
 * fill_csv_next() parses the next row into *f: returns 1, 0 at the end, or
 * -1 with *field (NULL when the row itself is malformed) and *errstr set.
 * fill_csv_line() is the 1-based line where the last row (or header) began.
 */
struct fill_csv;
struct fill_csv *fill_csv_new(const char *buf, size_t len, const char **errstr);
int fill_csv_next(struct fill_csv *c, struct fill *f, const char **field, const char **errstr);
size_t fill_csv_line(const struct fill_csv *c);
void fill_csv_free(struct fill_csv *c);

#endif
