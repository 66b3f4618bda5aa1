#include "core/fill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"
#include "util/xalloc.h"

enum key {
	K_ID, K_ORDER, K_TIMESTAMP, K_DATETIME, K_SYMBOL, K_SIDE, K_PRICE, K_AMOUNT,
	K_COST, K_ROLE, K_MARKET, K_FEE_COST, K_FEE_CURRENCY, K_FEES, K_FTX_MARKET, K_NONE
};

static const struct {
	const char *name;
	enum key key;
} keys[] = {
	{ "id", K_ID }, { "order", K_ORDER }, { "timestamp", K_TIMESTAMP },
	{ "datetime", K_DATETIME }, { "symbol", K_SYMBOL }, { "side", K_SIDE },
	{ "price", K_PRICE }, { "amount", K_AMOUNT }, { "cost", K_COST },
	{ "takerOrMaker", K_ROLE }, { "marketType", K_MARKET },
	{ "fee.cost", K_FEE_COST }, { "fee_cost", K_FEE_COST },
	{ "fee.currency", K_FEE_CURRENCY }, { "fee_currency", K_FEE_CURRENCY },
	{ "fees", K_FEES },
	/* FTX's fills export (docs/ANALYTICS.md section 5): Time is ISO 8601
	 * with microseconds, Market an FTX market name, Total the quote
	 * amount; Order Type and TWAP are ignored. */
	{ "ID", K_ID }, { "Order ID", K_ORDER }, { "Time", K_DATETIME }, { "Market", K_FTX_MARKET },
	{ "Side", K_SIDE }, { "Size", K_AMOUNT }, { "Price", K_PRICE }, { "Total", K_COST },
	{ "Fee", K_FEE_COST }, { "Fee Currency", K_FEE_CURRENCY }, { "Liquidity", K_ROLE },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* A fill under construction: what was seen, and the single fee. */
struct build {
	struct fill *f;
	unsigned seen;			/* bit per enum key */
	int64_t datetime;
	struct dec fee_cost;
	char fee_currency[FILL_CUR_MAX];
	bool fees_array;		/* a non-empty fees[] was given */
	char ftx_market[FILL_SYMBOL_MAX];	/* an FTX market name, settled in build_finish */
};

static int json_fees(struct build *b, const json_t *arr, const char **errstr);

static enum key
key_of(const char *name, size_t len, const char **canon)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == len && memcmp(keys[i].name, name, len) == 0) {
			*canon = keys[i].name;
			return keys[i].key;
		}
	return K_NONE;
}

static bool
isdigit_c(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

static int
copy_text(char *dst, size_t size, const char *s, size_t len, const char **errstr)
{
	if (len >= size) {
		*errstr = "too long";
		return -1;
	}
	if (memchr(s, '\0', len) != NULL) {
		*errstr = "contains NUL";
		return -1;
	}
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

static int
currency_ok(const char *s, size_t len, const char **errstr)
{
	if (len == 0) {
		*errstr = "empty currency";
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == ' ' || (unsigned char)s[i] < 0x20) {
			*errstr = "bad currency code";
			return -1;
		}
	return 0;
}

static int
parse_ms(const char *s, size_t len, int64_t *out, const char **errstr)
{
	size_t i = 0;
	int neg = 0;
	int64_t v = 0;

	if (len > 0 && s[0] == '-')
		neg = i = 1;
	if (i == len || len - i > 17)
		goto bad;
	for (; i < len; i++) {
		if (!isdigit_c(s[i]))
			goto bad;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return 0;
bad:
	*errstr = "not an integer millisecond timestamp";
	return -1;
}

int
fill_set_symbol(struct fill *f, const char *s, size_t len, const char **errstr)
{
	const char *slash = memchr(s, '/', len), *colon;
	size_t qlen;

	if (copy_text(f->symbol, sizeof(f->symbol), s, len, errstr) == -1)
		return -1;
	if (slash == NULL) {
		*errstr = "not BASE/QUOTE";
		return -1;
	}
	colon = memchr(slash, ':', len - (size_t)(slash - s));
	qlen = (size_t)((colon != NULL ? colon : s + len) - (slash + 1));
	if (currency_ok(s, (size_t)(slash - s), errstr) == -1 ||
	    currency_ok(slash + 1, qlen, errstr) == -1 ||
	    copy_text(f->base, sizeof(f->base), s, (size_t)(slash - s), errstr) == -1 ||
	    copy_text(f->quote, sizeof(f->quote), slash + 1, qlen, errstr) == -1)
		return -1;
	return 0;
}

int
fill_add_fee(struct fill *f, struct dec cost, const char *currency, const char **errstr)
{
	size_t i, len = strlen(currency);

	if (currency_ok(currency, len, errstr) == -1)
		return -1;
	for (i = 0; i < f->nfees; i++)
		if (strcmp(f->fees[i].currency, currency) == 0) {
			if (dec_add(&f->fees[i].cost, f->fees[i].cost, cost) == -1) {
				*errstr = "fee sum out of range";
				return -1;
			}
			return 0;
		}
	if (f->nfees == FILL_FEES_MAX) {
		*errstr = "too many fee currencies";
		return -1;
	}
	if (copy_text(f->fees[i].currency, sizeof(f->fees[i].currency), currency, len, errstr) == -1)
		return -1;
	f->fees[i].cost = cost;
	f->nfees++;
	return 0;
}

int
fill_cost(const struct fill *f, struct dec *out)
{
	if (f->has_cost) {
		*out = f->cost;
		return 0;
	}
	return dec_mul(out, f->price, f->amount);
}

/* Applies one field given as text (v, len); len == 0 means absent. */
/* A CSV fees cell: ccxt's fees[] as JSON text, numbers kept exact. */
static int
csv_fees(struct build *b, const char *v, size_t len, const char **errstr)
{
	json_t *arr;
	int line, rc;

	if (len == 0)
		return 0;
	if ((arr = fill_json_loads(v, len, &line, errstr)) == NULL)
		return -1;
	rc = json_fees(b, arr, errstr);
	json_decref(arr);
	return rc;
}

static int
set_field(struct build *b, enum key k, const char *v, size_t len, const char **errstr)
{
	struct fill *f = b->f;
	struct dec d;

	if (len == 0)
		return 0;
	switch (k) {
	case K_ID:
		return copy_text(f->id, sizeof(f->id), v, len, errstr);
	case K_ORDER:
		return copy_text(f->order, sizeof(f->order), v, len, errstr);
	case K_TIMESTAMP:
		return parse_ms(v, len, &f->timestamp, errstr);
	case K_DATETIME:
		if (time_parse_iso(v, len, &b->datetime) == -1) {
			*errstr = "not an ISO 8601 UTC time";
			return -1;
		}
		return 0;
	case K_SYMBOL:
		return fill_set_symbol(f, v, len, errstr);
	case K_SIDE:
		if (is_eq(v, len, "buy"))
			f->side = FILL_BUY;
		else if (is_eq(v, len, "sell"))
			f->side = FILL_SELL;
		else {
			*errstr = "not buy or sell";
			return -1;
		}
		return 0;
	case K_ROLE:
		if (is_eq(v, len, "taker"))
			f->role = FILL_TAKER;
		else if (is_eq(v, len, "maker"))
			f->role = FILL_MAKER;
		else {
			*errstr = "not taker or maker";
			return -1;
		}
		return 0;
	case K_MARKET:
		if (is_eq(v, len, "spot"))
			f->market = FILL_SPOT;
		else if (is_eq(v, len, "margin"))
			f->market = FILL_MARGIN;
		else if (is_eq(v, len, "futures") || is_eq(v, len, "future") || is_eq(v, len, "swap"))
			f->market = FILL_FUTURES;
		else {
			*errstr = "not spot, margin or futures";
			return -1;
		}
		return 0;
	case K_FEES:
		return csv_fees(b, v, len, errstr);
	case K_FTX_MARKET:
		return copy_text(b->ftx_market, sizeof(b->ftx_market), v, len, errstr);
	case K_FEE_CURRENCY:
		if (currency_ok(v, len, errstr) == -1)
			return -1;
		return copy_text(b->fee_currency, sizeof(b->fee_currency), v, len, errstr);
	case K_PRICE:
	case K_AMOUNT:
	case K_COST:
	case K_FEE_COST:
		if (dec_parse(v, len, &d, errstr) == -1)
			return -1;
		if (k == K_AMOUNT && dec_sign(d) <= 0) {
			*errstr = "must be positive";
			return -1;
		}
		if ((k == K_PRICE || k == K_COST) && dec_sign(d) < 0) {
			*errstr = "must not be negative";
			return -1;
		}
		if (k == K_PRICE)
			f->price = d;
		else if (k == K_AMOUNT)
			f->amount = d;
		else if (k == K_COST) {
			f->cost = d;
			f->has_cost = true;
		} else
			b->fee_cost = d;
		return 0;
	case K_NONE:
		break;
	}
	return 0;
}

static int
build_field(struct build *b, enum key k, const char *v, size_t len, const char **errstr)
{
	if (set_field(b, k, v, len, errstr) == -1)
		return -1;
	if (len > 0)
		b->seen |= 1u << k;
	return 0;
}

static void
build_init(struct build *b, struct fill *f)
{
	memset(f, 0, sizeof(*f));
	memset(b, 0, sizeof(*b));
	b->f = f;
}

/*
 * The unified symbol of an FTX market name, as ccxt named FTX markets:
 * "BTC/USD" (spot) as it is; "BTC-PERP" -> "BTC/USD:USD"; a dated future
 * "BTC-0325" -> "BTC/USD:USD-YYMMDD", its year the first on or after the
 * fill's day (an expired contract does not trade). FTX's USD-settled
 * futures were all linear in USD. Other contracts (MOVE, PRESIDENT, ...)
 * are refused by name.
 */
static int
ftx_symbol(struct build *b, const char **errstr)
{
	const char *m = b->ftx_market, *dash = strchr(m, '-');
	char sym[FILL_SYMBOL_MAX];
	size_t blen;
	int n;

	if (b->seen & (1u << K_SYMBOL)) {
		*errstr = "both symbol and Market given";
		return -1;
	}
	if (strchr(m, '/') != NULL)
		return fill_set_symbol(b->f, m, strlen(m), errstr);
	blen = dash != NULL ? (size_t)(dash - m) : 0;
	if (blen == 0 || blen >= FILL_CUR_MAX) {
		*errstr = "not an FTX market name";
		return -1;
	}
	if (strcmp(dash + 1, "PERP") == 0)
		n = snprintf(sym, sizeof(sym), "%.*s/USD:USD", (int)blen, m);
	else if (strlen(dash + 1) == 4 && isdigit_c(dash[1]) && isdigit_c(dash[2]) && isdigit_c(dash[3]) &&
	    isdigit_c(dash[4])) {
		unsigned mo = (unsigned)((dash[1] - '0') * 10 + (dash[2] - '0'));
		unsigned d = (unsigned)((dash[3] - '0') * 10 + (dash[4] - '0'));
		int64_t day = time_day_of_ms(b->f->timestamp), y;
		char ymd[TIME_DATE_LEN];

		if (mo < 1 || mo > 12 || d < 1 || d > 31) {
			*errstr = "not an FTX expiry (MMDD)";
			return -1;
		}
		time_format_date(ymd, day);
		y = (ymd[0] - '0') * 1000 + (ymd[1] - '0') * 100 + (ymd[2] - '0') * 10 + (ymd[3] - '0');
		if (time_days_from_civil(y, mo, d) < day)
			y++;
		n = snprintf(sym, sizeof(sym), "%.*s/USD:USD-%02d%02u%02u", (int)blen, m, (int)(y % 100), mo, d);
	} else {
		*errstr = "FTX contract not supported (only spot, -PERP and dated -MMDD futures)";
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof(sym)) {
		*errstr = "FTX market name too long";
		return -1;
	}
	if (fill_set_symbol(b->f, sym, (size_t)n, errstr) == -1)
		return -1;
	b->seen |= 1u << K_SYMBOL;
	return 0;
}

/* Checks required fields and settles the defaults and the single fee. */
static int
build_finish(struct build *b, const char **field, const char **errstr)
{
	static const enum key need[] = { K_SYMBOL, K_SIDE, K_PRICE, K_AMOUNT };
	struct fill *f = b->f;

	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!(b->seen & (1u << need[i]))) {
			if (need[i] == K_SYMBOL && (b->seen & (1u << K_FTX_MARKET)))
				continue;	/* settled below, once the time is known */
			for (size_t j = 0; j < NKEYS && *field == NULL; j++)
				if (keys[j].key == need[i])
					*field = keys[j].name;
			*errstr = "missing";
			return -1;
		}
	if (!(b->seen & (1u << K_TIMESTAMP))) {
		if (!(b->seen & (1u << K_DATETIME))) {
			*field = "timestamp";
			*errstr = "missing (and no datetime)";
			return -1;
		}
		f->timestamp = b->datetime;
	}
	if ((b->seen & (1u << K_FTX_MARKET)) && ftx_symbol(b, errstr) == -1) {
		*field = "Market";
		return -1;
	}
	if (!(b->seen & (1u << K_MARKET)))
		f->market = strchr(f->symbol, ':') != NULL ? FILL_FUTURES : FILL_SPOT;
	if (!b->fees_array && (b->seen & (1u << K_FEE_COST))) {
		if (!(b->seen & (1u << K_FEE_CURRENCY))) {
			if (!dec_is_zero(b->fee_cost)) {
				*field = "fee.currency";
				*errstr = "missing for a non-zero fee";
				return -1;
			}
		} else if (fill_add_fee(f, b->fee_cost, b->fee_currency, errstr) == -1) {
			*field = "fee";
			return -1;
		}
	}
	return 0;
}

/* ---- JSON ---- */

/* Length of a JSON number token at s (RFC 8259 grammar), or 0 if none. */
static size_t
json_number_len(const char *s, size_t len)
{
	size_t i = 0, d;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else {
		for (d = i; i < len && isdigit_c(s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	if (i < len && s[i] == '.') {
		for (d = ++i; i < len && isdigit_c(s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < len && isdigit_c(s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	return i;
}

json_t *
fill_json_loads(const char *buf, size_t len, int *line, const char **errstr)
{
	/* each number grows by 2 and is at least 1 byte plus a separator */
	char *out = xreallocarray(NULL, len + 1, 3);
	size_t n = 0, i, tok;
	bool in_str = false, esc = false;
	json_error_t jerr;
	json_t *j;

	for (i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == '"')
			in_str = true;
		else if ((c == '-' || isdigit_c(c)) && (tok = json_number_len(buf + i, len - i)) > 0) {
			out[n++] = '"';
			memcpy(out + n, buf + i, tok);
			n += tok;
			out[n++] = '"';
			i += tok - 1;
			continue;
		}
		out[n++] = c;
	}
	j = json_loadb(out, n, JSON_REJECT_DUPLICATES, &jerr);
	free(out);
	if (j == NULL) {
		*line = jerr.line;
		*errstr = "malformed JSON";
	}
	return j;
}

/* The text of a JSON scalar: strings as is, integers printed; absent/null -> len 0. */
static int
json_text(const json_t *v, char tmp[32], const char **s, size_t *len, const char **errstr)
{
	if (v == NULL || json_is_null(v)) {
		*s = "";
		*len = 0;
	} else if (json_is_string(v)) {
		*s = json_string_value(v);
		*len = json_string_length(v);
		if (*len == 0) {
			*errstr = "empty string";
			return -1;
		}
	} else if (json_is_integer(v)) {
		*len = (size_t)snprintf(tmp, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*s = tmp;
	} else if (json_is_real(v)) {
		*errstr = "inexact JSON real (give the number as text)";
		return -1;
	} else {
		*errstr = "not a string or number";
		return -1;
	}
	return 0;
}

static int
json_field(struct build *b, enum key k, const json_t *v, const char **errstr)
{
	char tmp[32];
	const char *s;
	size_t len;

	if (json_text(v, tmp, &s, &len, errstr) == -1)
		return -1;
	return build_field(b, k, s, len, errstr);
}

static int
json_fees(struct build *b, const json_t *arr, const char **errstr)
{
	size_t i;
	const json_t *e;
	char tmp[32], cur[FILL_CUR_MAX];
	const char *s;
	size_t len;
	struct dec d;

	if (!json_is_array(arr)) {
		*errstr = "not an array";
		return -1;
	}
	json_array_foreach(arr, i, e) {
		if (!json_is_object(e)) {
			*errstr = "element is not an object";
			return -1;
		}
		if (json_text(json_object_get(e, "cost"), tmp, &s, &len, errstr) == -1)
			return -1;
		if (len == 0)
			continue;
		if (dec_parse(s, len, &d, errstr) == -1)
			return -1;
		if (json_text(json_object_get(e, "currency"), tmp, &s, &len, errstr) == -1)
			return -1;
		if (len == 0) {
			if (dec_is_zero(d))
				continue;
			*errstr = "currency missing for a non-zero fee";
			return -1;
		}
		if (copy_text(cur, sizeof(cur), s, len, errstr) == -1 ||
		    fill_add_fee(b->f, d, cur, errstr) == -1)
			return -1;
		b->fees_array = true;
	}
	return 0;
}

int
fill_from_json(struct fill *f, const json_t *o, const char **field, const char **errstr)
{
	struct build b;
	const json_t *fee;

	build_init(&b, f);
	*field = NULL;
	if (!json_is_object(o)) {
		*errstr = "fill is not a JSON object";
		return -1;
	}
	for (size_t i = 0; i < NKEYS; i++) {
		if (keys[i].key == K_FEE_COST || keys[i].key == K_FEE_CURRENCY || keys[i].key == K_FEES)
			continue;
		if (json_field(&b, keys[i].key, json_object_get(o, keys[i].name), errstr) == -1) {
			*field = keys[i].name;
			return -1;
		}
	}
	if ((fee = json_object_get(o, "fees")) != NULL && !json_is_null(fee) &&
	    json_fees(&b, fee, errstr) == -1) {
		*field = "fees";
		return -1;
	}
	if ((fee = json_object_get(o, "fee")) != NULL && !json_is_null(fee)) {
		if (!json_is_object(fee)) {
			*field = "fee";
			*errstr = "not an object";
			return -1;
		}
		if (json_field(&b, K_FEE_COST, json_object_get(fee, "cost"), errstr) == -1) {
			*field = "fee.cost";
			return -1;
		}
		if (json_field(&b, K_FEE_CURRENCY, json_object_get(fee, "currency"), errstr) == -1) {
			*field = "fee.currency";
			return -1;
		}
	}
	return build_finish(&b, field, errstr);
}

/* ---- CSV ---- */

#define CSV_MAX_COLS 64

struct fill_csv {
	const char *buf;
	size_t len, pos;
	size_t line, row_line;
	char *scratch;			/* unescaped cells of the current row */
	size_t ncols;
	enum key col[CSV_MAX_COLS];
	const char *colname[CSV_MAX_COLS];
	const char *cell[CSV_MAX_COLS];
	size_t cell_len[CSV_MAX_COLS];
};

/*
 * Reads one record into c->cell/cell_len. Returns the number of cells,
 * 0 at the end of input, or -1 with *errstr. Blank lines are skipped.
 */
static int
csv_record(struct fill_csv *c, const char **errstr)
{
	size_t n = 0, out = 0;

	while (c->pos < c->len && (c->buf[c->pos] == '\n' || c->buf[c->pos] == '\r')) {
		if (c->buf[c->pos] == '\n')
			c->line++;
		c->pos++;
	}
	if (c->pos >= c->len)
		return 0;
	c->row_line = c->line;
	for (;;) {
		size_t start = out;
		if (n == CSV_MAX_COLS) {
			*errstr = "too many columns";
			return -1;
		}
		if (c->pos < c->len && c->buf[c->pos] == '"') {
			for (c->pos++;; c->pos++) {
				if (c->pos >= c->len) {
					*errstr = "unterminated quoted field";
					return -1;
				}
				if (c->buf[c->pos] == '"') {
					if (c->pos + 1 < c->len && c->buf[c->pos + 1] == '"')
						c->pos++;
					else {
						c->pos++;
						break;
					}
				} else if (c->buf[c->pos] == '\n')
					c->line++;
				c->scratch[out++] = c->buf[c->pos];
			}
			if (c->pos < c->len && c->buf[c->pos] != ',' && c->buf[c->pos] != '\n' &&
			    c->buf[c->pos] != '\r') {
				*errstr = "text after a quoted field";
				return -1;
			}
		} else {
			while (c->pos < c->len && c->buf[c->pos] != ',' && c->buf[c->pos] != '\n' &&
			    c->buf[c->pos] != '\r') {
				if (c->buf[c->pos] == '"') {
					*errstr = "quote inside an unquoted field";
					return -1;
				}
				c->scratch[out++] = c->buf[c->pos++];
			}
		}
		c->cell[n] = c->scratch + start;
		c->cell_len[n++] = out - start;
		if (c->pos >= c->len)
			break;
		if (c->buf[c->pos] == ',') {
			c->pos++;
			continue;
		}
		if (c->buf[c->pos] == '\r')
			c->pos++;
		if (c->pos < c->len && c->buf[c->pos] == '\n') {
			c->pos++;
			c->line++;
		} else if (c->pos < c->len) {
			*errstr = "bare carriage return";
			return -1;
		}
		break;
	}
	return (int)n;
}

struct fill_csv *
fill_csv_new(const char *buf, size_t len, const char **errstr)
{
	struct fill_csv *c = xcalloc(1, sizeof(*c));
	int n;

	c->buf = buf;
	c->len = len;
	c->line = 1;
	c->scratch = xmalloc(len + 1);
	if ((n = csv_record(c, errstr)) <= 0) {
		if (n == 0)
			*errstr = "no header";
		goto fail;
	}
	c->ncols = (size_t)n;
	for (size_t i = 0; i < c->ncols; i++) {
		c->col[i] = key_of(c->cell[i], c->cell_len[i], &c->colname[i]);
		for (size_t j = 0; j < i && c->col[i] != K_NONE; j++)
			if (c->col[j] == c->col[i]) {
				*errstr = "duplicate column";
				goto fail;
			}
	}
	return c;
fail:
	fill_csv_free(c);
	return NULL;
}

int
fill_csv_next(struct fill_csv *c, struct fill *f, const char **field, const char **errstr)
{
	struct build b;
	int n;

	*field = NULL;
	if ((n = csv_record(c, errstr)) <= 0)
		return n;
	if ((size_t)n != c->ncols) {
		*errstr = "wrong number of cells for the header";
		return -1;
	}
	build_init(&b, f);
	for (size_t i = 0; i < c->ncols; i++) {
		if (c->col[i] == K_NONE)
			continue;
		if (build_field(&b, c->col[i], c->cell[i], c->cell_len[i], errstr) == -1) {
			*field = c->colname[i];
			return -1;
		}
	}
	return build_finish(&b, field, errstr) == -1 ? -1 : 1;
}

size_t
fill_csv_line(const struct fill_csv *c)
{
	return c->row_line;
}

void
fill_csv_free(struct fill_csv *c)
{
	if (c == NULL)
		return;
	free(c->scratch);
	free(c);
}
