/*
 * ledger_load and holdings_load (a session checkpoint: a ledger section,
 * then a holdings section) on damaged input. The first byte chooses:
 *   even: the rest is the checkpoint as is;
 *   odd:  a valid built-in checkpoint (a small ledger with pending fees,
 *         parts and round trips, and holdings with flows, funding and a
 *         snapshot) with the rest of the input XORed in at the offset of
 *         bytes 1-2 (into the holdings section only when bit 1 of byte 0
 *         is set) and (byte 0 >> 2) bytes cut off its end, so that even
 *         the replay's pseudo-random inputs reach the consistency checks.
 * A load fails with an error string, or gives an object that saves exactly
 * the bytes it read (the encoding is canonical) and works: it takes fills,
 * flows and conversions, and saves and loads again.
 */
#include <string.h>

#include "core/holdings.h"
#include "core/ledger.h"
#include "core/pack.h"
#include "fuzz.h"

static struct dec
num(const char *s)
{
	struct dec d;
	const char *err;

	fuzz_check(dec_parse(s, strlen(s), &d, &err) == 0);
	return d;
}

static struct fill
mkfill(unsigned i, const char *symbol, enum fill_side side, const char *price, const char *amount,
    const char *fee, const char *fee_cur)
{
	struct fill f;
	const char *err;

	memset(&f, 0, sizeof(f));
	fuzz_check(fill_set_symbol(&f, symbol, strlen(symbol), &err) == 0);
	f.market = strchr(symbol, ':') != NULL ? FILL_FUTURES : FILL_SPOT;
	snprintf(f.id, sizeof(f.id), "f%u", i);
	f.timestamp = 1700000000000LL + (int64_t)i * 7200000LL;
	f.side = side;
	f.price = num(price);
	f.amount = num(amount);
	if (fee != NULL)
		fuzz_check(fill_add_fee(&f, num(fee), fee_cur, &err) == 0);
	return f;
}

/* 1 BNB = 300 USDT, but only for the first day (the rest stays pending). */
static int
rate(void *arg, const char *cur, const char *quote, int64_t day, struct dec *n, struct dec *d)
{
	const int64_t *first_day = arg;

	if (day > *first_day || strcmp(cur, "BNB") != 0)
		return -1;
	*n = num(strcmp(quote, "USDT") == 0 ? "300" : "0.01");
	*d = num("3");
	return 0;
}

static const struct {
	const char *symbol;
	enum fill_side side;
	const char *price, *amount, *fee, *fee_cur;
} FILLS[] = {
	{ "BTC/USDT", FILL_BUY, "100", "2", "0.001", "BNB" },
	{ "BTC/USDT", FILL_BUY, "110", "1", "0.1", "USDT" },
	{ "ETH/BTC", FILL_BUY, "0.05", "3", "0.0001", "BNB" },
	{ "BTC/USDT:USDT", FILL_SELL, "105", "1.5", "0.002", "BNB" },
	{ "BTC/USDT", FILL_SELL, "120", "1.5", "0.002", "BNB" },
	{ "ETH/BTC", FILL_SELL, "0.06", "1", "0.001", "ETH" },
	{ "BTC/USDT:USDT", FILL_BUY, "100", "0.5", "0.001", "KCS" },
	{ "XRP/USDT", FILL_SELL, "0.5", "10", "0.001", "BNB" },
	{ "BTC/USDT", FILL_SELL, "90", "2", "-0.01", "USDT" },
};

/* Fills first .. first + n - 1 of the cycle below (later ones are later). */
static void
apply_fills(struct ledger *l, struct holdings *h, size_t first, size_t n)
{
	for (size_t i = first; i < first + n; i++) {
		size_t k = i % (sizeof(FILLS) / sizeof(FILLS[0]));
		struct fill f = mkfill((unsigned)i, FILLS[k].symbol, FILLS[k].side, FILLS[k].price, FILLS[k].amount,
		    FILLS[k].fee, FILLS[k].fee_cur);
		enum ledger_outcome o;
		const char *err;

		if (l != NULL)
			(void)ledger_apply(l, &f, &o, &err);
		if (h != NULL)
			(void)holdings_fill(h, &f, &err);
	}
}

/* The built-in checkpoint (made once); *ledger_len: its ledger section. */
static struct pack *
reference(size_t *ledger_len)
{
	static struct pack w;
	static size_t llen;
	static int made;
	struct ledger *l;
	struct holdings *h;
	int64_t day = 19675;
	const char *err;

	if (made) {
		*ledger_len = llen;
		return &w;
	}
	made = 1;
	l = ledger_new();
	h = holdings_new();
	apply_fills(l, h, 0, 9);
	(void)ledger_resolve_fees(l, rate, &day, NULL, &err);
	fuzz_check(holdings_flow(h, "d1", 1700000000000LL, "USDT", num("1000"), &err) == 1);
	fuzz_check(holdings_funding(h, "p1", 1700003600000LL, "BTC/USDT:USDT", "USDT", num("-0.5"), &err) == 1);
	holdings_balances_begin(h);
	fuzz_check(holdings_balance(h, "USDT", num("900"), &err) == 0);
	holdings_balances_commit(h, 1700010000000LL);
	apply_fills(NULL, h, 9, 2);
	pack_init(&w);
	ledger_save(l, &w);
	*ledger_len = llen = w.len;
	holdings_save(h, &w);
	ledger_free(l);
	holdings_free(h);
	return &w;
}

/* w holds exactly the nread bytes at read (the encoding is canonical);
 * w is freed and empty again. */
static void
check_canonical(struct pack *w, const uint8_t *read, size_t nread)
{
	fuzz_check(w->len == nread && (nread == 0 || memcmp(w->buf, read, nread) == 0));
	pack_free(w);
}

static void
exercise_ledger(struct ledger *l, const uint8_t *read, size_t nread)
{
	struct pack w;
	struct unpack r;
	const char *err = NULL;
	int64_t day = 19676;

	pack_init(&w);
	ledger_save(l, &w);
	check_canonical(&w, read, nread);
	apply_fills(l, NULL, 9, 9);
	(void)ledger_resolve_fees(l, rate, &day, NULL, &err);
	for (size_t i = 0; i < ledger_nsymbols(l); i++) {
		struct ledger_stats st;
		struct dec u;

		ledger_symbol_stats(l, i, &st);
		(void)ledger_mark(l, st.name, num("101"), &u);
	}
	pack_init(&w);
	ledger_save(l, &w);
	ledger_free(l);
	unpack_init(&r, w.buf, w.len);
	l = ledger_load(&r, &err);
	fuzz_check(l != NULL && unpack_end(&r));
	ledger_free(l);
	pack_free(&w);
}

static void
exercise_holdings(struct holdings *h, const uint8_t *read, size_t nread)
{
	struct pack w;
	struct unpack r;
	const char *err = NULL;
	struct dec out[4];
	int64_t first, last;

	pack_init(&w);
	holdings_save(h, &w);
	check_canonical(&w, read, nread);
	apply_fills(NULL, h, 11, 3);
	(void)holdings_flow(h, "d2", 1700000000000LL, "BTC", num("1"), &err);
	(void)holdings_funding(h, "p2", 1700000000000LL, "BTC/USDT:USDT", "USDT", num("1"), &err);
	if (holdings_span(h, &first, &last) == 0)
		for (size_t i = 0; i < holdings_ncurrencies(h); i++) {
			(void)holdings_daily_balances(h, i, last - 3, 4, out, &err);
			(void)holdings_flows_on(h, i, last, &out[0]);
		}
	pack_init(&w);
	holdings_save(h, &w);
	holdings_free(h);
	unpack_init(&r, w.buf, w.len);
	h = holdings_load(&r, &err);
	fuzz_check(h != NULL && unpack_end(&r));
	holdings_free(h);
	pack_free(&w);
}

/* Loads a ledger, then holdings, from buf (exactly len bytes). */
static void
load_both(const uint8_t *buf, size_t len)
{
	struct unpack r;
	const char *err = NULL;
	struct ledger *l;
	struct holdings *h;
	size_t off;

	unpack_init(&r, buf, len);
	if ((l = ledger_load(&r, &err)) == NULL) {
		fuzz_check(err != NULL && !unpack_ok(&r));
		return;
	}
	off = r.off;
	exercise_ledger(l, buf, off);
	err = NULL;
	if ((h = holdings_load(&r, &err)) == NULL) {
		fuzz_check(err != NULL && !unpack_ok(&r));
		return;
	}
	exercise_holdings(h, buf + off, r.off - off);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct pack *ref;
	uint8_t *buf;
	size_t len, at, llen;

	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		/* a heap copy of exactly the bytes, so ASan sees any overread */
		buf = malloc(size);
		fuzz_check(buf != NULL);
		memcpy(buf, data + 1, size - 1);
		load_both(buf, size - 1);
		free(buf);
		return 0;
	}
	ref = reference(&llen);
	len = ref->len - (size_t)(data[0] >> 2);
	buf = malloc(len + 1);
	fuzz_check(buf != NULL);
	memcpy(buf, ref->buf, len);
	at = size >= 3 ? ((size_t)data[1] << 8 | data[2]) : 0;
	for (size_t i = 3; i < size; i++) {
		if ((data[0] & 2) == 0)
			buf[(at + i - 3) % len] ^= data[i];
		else if (len > llen)
			buf[llen + (at + i - 3) % (len - llen)] ^= data[i];
	}
	load_both(buf, len);
	free(buf);
	return 0;
}
