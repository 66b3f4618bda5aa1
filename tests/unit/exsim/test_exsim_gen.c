#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/b64.h"
#include "core/prim.h"
#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"

#define START 1767225600000LL	/* 2026-01-01 */

static void
small_cfg(struct exsim_config *cfg)
{
	exsim_config_default(cfg);
	cfg->seed = 42;
	cfg->accounts_per_exchange = 3;
	cfg->fills_per_account = 400;
	cfg->history_ms = 10LL * 86400000LL;
	cfg->start_ms = START;
	cfg->live_spacing_ms = 60000;
}

static void
world(struct exsim *w, const struct exsim_config *cfg)
{
	const char *err = NULL;

	assert_int_equal(exsim_init(w, cfg, &err), 0);
}

static bool
fill_eq(const struct fill *a, const struct fill *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->order, b->order) == 0 && a->timestamp == b->timestamp &&
	    strcmp(a->symbol, b->symbol) == 0 && a->side == b->side && dec_cmp(a->price, b->price) == 0 &&
	    dec_cmp(a->amount, b->amount) == 0 && dec_cmp(a->cost, b->cost) == 0 && a->nfees == b->nfees &&
	    dec_cmp(a->fees[0].cost, b->fees[0].cost) == 0 &&
	    strcmp(a->fees[0].currency, b->fees[0].currency) == 0 && a->role == b->role && a->market == b->market;
}

static void
test_determinism(void **state)
{
	struct exsim_config cfg, cfg2;
	struct exsim w1, w2, w3;
	struct fill f1, f2;
	size_t same = 0;

	(void)state;
	small_cfg(&cfg);
	world(&w1, &cfg);
	world(&w2, &cfg);
	assert_int_equal(w1.naccounts, 18);	/* 3 per (exchange, market), 6 pairs */
	assert_int_equal(w1.naccounts, w2.naccounts);
	for (size_t i = 0; i < w1.naccounts; i++) {
		const struct exsim_account *a = &w1.accounts[i], *b = &w2.accounts[i];
		char *t1, *t2;
		assert_string_equal(a->api_key, b->api_key);
		assert_string_equal(a->secret, b->secret);
		assert_int_equal(a->nsymbols, b->nsymbols);
		for (size_t k = 0; k < a->nsymbols; k++) {
			assert_int_equal(a->symbols[k].nfills, b->symbols[k].nfills);
			for (uint64_t j = 0; j < 50; j++) {
				exsim_fill(a, k, j, &f1);
				exsim_fill(b, k, j, &f2);
				assert_true(fill_eq(&f1, &f2));
			}
		}
		t1 = exsim_truth_json(a, START + 3600000);
		t2 = exsim_truth_json(b, START + 3600000);
		assert_string_equal(t1, t2);
		free(t1);
		free(t2);
	}
	/* another seed gives another world */
	cfg2 = cfg;
	cfg2.seed = 43;
	world(&w3, &cfg2);
	for (size_t i = 0; i < w1.naccounts; i++)
		same += strcmp(w1.accounts[i].api_key, w3.accounts[i].api_key) == 0;
	assert_int_equal(same, 0);
	exsim_fill(&w1.accounts[0], 0, 0, &f1);
	exsim_fill(&w3.accounts[0], 0, 0, &f2);
	assert_false(fill_eq(&f1, &f2));
	exsim_free(&w1);
	exsim_free(&w2);
	exsim_free(&w3);
}

static void
test_times(void **state)
{
	struct exsim_config cfg;
	struct exsim w;
	struct fill f;

	(void)state;
	small_cfg(&cfg);
	world(&w, &cfg);
	for (size_t i = 0; i < w.naccounts; i++) {
		const struct exsim_account *a = &w.accounts[i];
		assert_true(a->nsymbols >= 2 && a->nsymbols <= 6);
		for (size_t k = 0; k < a->nsymbols; k++) {
			const struct exsim_symbol *s = &a->symbols[k];
			int64_t prev = INT64_MIN;
			assert_true(s->nfills > s->nhist);
			assert_true(s->first_ms >= START - cfg.history_ms);
			/* all history before the start, the first live fill at or after it */
			assert_true(exsim_fill_ts(a, k, s->nhist - 1) < START);
			assert_true(exsim_fill_ts(a, k, s->nhist) >= START);
			for (uint64_t j = 0; j < s->nhist + 200; j++) {
				int64_t t = exsim_fill_ts(a, k, j);
				assert_true(t > prev);
				prev = t;
				if (j % 37 == 0) {
					exsim_fill(a, k, j, &f);
					assert_int_equal(f.timestamp, t);
				}
			}
		}
	}
	exsim_free(&w);
}

/* The arithmetic index agrees with a scan, at every fill time and its
 * neighbours, in history and live segments. */
static void
test_index_vs_scan(void **state)
{
	struct exsim_config cfg;
	struct exsim w;

	(void)state;
	small_cfg(&cfg);
	cfg.fills_per_account = 60;
	cfg.accounts_per_exchange = 1;
	world(&w, &cfg);
	for (size_t i = 0; i < w.naccounts; i++) {
		const struct exsim_account *a = &w.accounts[i];
		for (size_t k = 0; k < a->nsymbols; k++) {
			const struct exsim_symbol *s = &a->symbols[k];
			uint64_t n = s->nhist + 30;
			int64_t *ts = malloc(n * sizeof(*ts));
			for (uint64_t j = 0; j < n; j++)
				ts[j] = exsim_fill_ts(a, k, j);
			for (uint64_t j = 0; j < n - 1; j++)
				for (int64_t d = -1; d <= 1; d++) {
					int64_t t = ts[j] + d;
					uint64_t first = 0, vis = 0;
					while (first < n && ts[first] < t)
						first++;
					for (uint64_t m = 0; m < n; m++)
						vis += ts[m] <= t;
					assert_int_equal(exsim_index_at(a, k, t), first);
					assert_int_equal(exsim_visible(a, k, t), vis);
				}
			assert_int_equal(exsim_index_at(a, k, INT64_MIN / 2), 0);
			assert_int_equal(exsim_visible(a, k, s->first_ms - 1), 0);
			assert_int_equal(exsim_index_at(a, k, INT64_MAX / 2), s->nfills);
			assert_int_equal(exsim_visible(a, k, INT64_MAX), s->nfills);
			assert_int_equal(exsim_visible(a, k, START - 1), s->nhist);
			free(ts);
		}
	}
	exsim_free(&w);
}

static unsigned
decimals(struct dec d)
{
	char b[DEC_STR_MAX];
	const char *p;

	dec_format(b, sizeof(b), d);
	p = strchr(b, '.');
	return p == NULL ? 0 : (unsigned)strlen(p + 1);
}

static bool
is_uuid(const char *s)
{
	if (strlen(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' || s[14] != '4')
		return false;
	for (int j = 0; j < 36; j++)
		if (s[j] != '-' && strchr("0123456789abcdef", s[j]) == NULL)
			return false;
	return true;
}

static bool
is_txid(const char *s, char prefix)
{
	if (strlen(s) != 19 || s[0] != prefix || s[6] != '-' || s[12] != '-')
		return false;
	for (int j = 1; j < 19; j++)
		if (j != 6 && j != 12 && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", s[j]) == NULL)
			return false;
	return true;
}

/* Every fill is internally exact and in its exchange's shape; the variety
 * the connectors must handle is present. */
static void
test_fill_values(void **state)
{
	struct exsim_config cfg;
	struct exsim w;
	struct fill f, prev;
	size_t base_fee = 0, bnb_fee = 0, rebate = 0, shorts = 0, partial = 0, maker = 0, n = 0;

	(void)state;
	small_cfg(&cfg);
	cfg.fills_per_account = 3000;
	world(&w, &cfg);
	for (size_t i = 0; i < w.naccounts; i++) {
		const struct exsim_account *a = &w.accounts[i];
		for (size_t k = 0; k < a->nsymbols; k++) {
			const struct exsim_symbol *s = &a->symbols[k];
			struct dec pos = DEC_ZERO;
			for (uint64_t j = 0; j < s->nhist; j++) {
				struct dec c;
				exsim_fill(a, k, j, &f);
				n++;
				assert_int_equal(dec_mul(&c, f.price, f.amount), 0);
				assert_int_equal(dec_cmp(c, f.cost), 0);
				assert_true(f.has_cost);
				assert_true(dec_sign(f.price) > 0 && dec_sign(f.amount) > 0);
				assert_true(decimals(f.price) <= s->price_decimals);
				assert_true(decimals(f.amount) <= s->lot_decimals);
				assert_int_equal(f.nfees, 1);
				assert_true(decimals(f.fees[0].cost) <= 8);
				assert_string_equal(f.symbol, s->unified);
				assert_int_equal(f.market, a->market);
				base_fee += strcmp(f.fees[0].currency, f.base) == 0 && strcmp(f.base, "BNB") != 0;
				bnb_fee += strcmp(f.fees[0].currency, "BNB") == 0 && strcmp(f.base, "BNB") != 0;
				rebate += dec_sign(f.fees[0].cost) < 0;
				maker += f.role == FILL_MAKER;
				if (dec_sign(f.fees[0].cost) < 0)
					assert_true(a->venue == exsim_venue_find("binance") && a->market == FILL_FUTURES &&
					    f.role == FILL_MAKER);
				if (strcmp(f.fees[0].currency, f.base) == 0 && strcmp(f.base, "BNB") != 0)
					assert_true(a->venue == exsim_venue_find("binance") && f.side == FILL_BUY);
				if (a->venue != exsim_venue_find("binance"))
					assert_string_equal(f.fees[0].currency, f.quote);
				/* positions: spot never short; futures sometimes */
				if (f.side == FILL_BUY)
					assert_int_equal(dec_add(&pos, pos, f.amount), 0);
				else
					assert_int_equal(dec_sub(&pos, pos, f.amount), 0);
				if (a->market != FILL_FUTURES)
					assert_true(dec_sign(pos) >= 0);
				else
					shorts += dec_sign(pos) < 0;
				if (a->venue == exsim_venue_find("binance")) {
					assert_int_equal(strtoull(f.id, NULL, 10), s->first_id + j);
					assert_true(strtoull(f.order, NULL, 10) > 0);
				} else if (a->venue == exsim_venue_find("kraken")) {
					assert_true(is_txid(f.id, 'T'));
					assert_true(is_txid(f.order, 'O'));
				} else {
					assert_true(is_uuid(f.id));
					assert_true(is_uuid(f.order));
					break;
				}
				if (j > 0 && strcmp(f.order, prev.order) == 0) {
					partial++;
					assert_int_equal(f.side, prev.side);
				}
				prev = f;
			}
		}
	}
	assert_true(base_fee > 0);
	assert_true(bnb_fee > 0);
	assert_true(rebate > 0);
	assert_true(shorts > 0);
	assert_true(partial > n / 20);
	assert_true(maker > n / 5 && maker < n * 3 / 5);
	exsim_free(&w);
}

static void
test_fee_rates(void **state)
{
	struct exsim_config cfg;
	struct exsim w;
	struct fill f;

	(void)state;
	small_cfg(&cfg);
	world(&w, &cfg);
	for (size_t i = 0; i < w.naccounts; i++) {
		const struct exsim_account *a = &w.accounts[i];
		const char *rate = NULL;
		struct dec r, want;
		const char *err;
		if (a->venue == exsim_venue_find("coinbase"))
			rate = "0.006";
		else if (a->venue == exsim_venue_find("kraken"))
			rate = "0.0026";
		else if (a->venue == exsim_venue_find("krakenfutures"))
			rate = "0.0005";
		if (rate == NULL)
			continue;
		assert_int_equal(dec_parse(rate, strlen(rate), &r, &err), 0);
		for (uint64_t j = 0; j < 100; j++) {
			exsim_fill(a, 0, j, &f);
			if (f.role != FILL_TAKER)
				continue;
			assert_int_equal(dec_mul(&want, f.cost, r), 0);
			assert_int_equal(dec_round(&want, want, 8), 0);
			assert_int_equal(dec_cmp(want, f.fees[0].cost), 0);
		}
	}
	exsim_free(&w);
}

static bool
all_in(const char *s, const char *set)
{
	for (; *s != '\0'; s++)
		if (strchr(set, *s) == NULL)
			return false;
	return true;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static void
test_credentials(void **state)
{
	struct exsim_config cfg;
	struct exsim w;
	size_t withdraw[8] = { 0 }, nv, trade = 0, ro = 0, ec = 0, ed = 0;
	uint8_t b[80];

	(void)state;
	small_cfg(&cfg);
	world(&w, &cfg);
	for (size_t i = 0; i < w.naccounts; i++) {
		const struct exsim_account *a = &w.accounts[i];
		const struct exsim_venue *next;
		for (nv = 0; exsim_venue_at(nv) != a->venue; nv++)
			;
		withdraw[nv] += a->can_withdraw;
		next = exsim_venue_at(nv + 1) != NULL ? exsim_venue_at(nv + 1) : exsim_venue_at(0);
		trade += a->can_trade;
		ro += !a->can_trade && !a->can_withdraw;
		assert_ptr_equal(exsim_account_by_key(&w, a->venue, a->api_key), a);
		assert_ptr_equal(exsim_account_any(&w, a->api_key), a);
		assert_null(exsim_account_by_key(&w, next, a->api_key));
		assert_string_equal(a->passphrase, "");
		if (a->venue == exsim_venue_find("binance")) {
			assert_int_equal(strlen(a->api_key), 64);
			assert_int_equal(strlen(a->secret), 64);
			assert_true(all_in(a->api_key, ALNUM) && all_in(a->secret, ALNUM));
		} else if (a->venue == exsim_venue_find("kraken") || a->venue == exsim_venue_find("krakenfutures")) {
			assert_int_equal(strlen(a->api_key), 56);
			assert_int_equal(b64_decode_exact(b, 64, a->secret, strlen(a->secret)), 0);
		} else if (a->venue == exsim_venue_find("coinbase")) {
			char org[37], kid[37];
			assert_int_equal(sscanf(a->api_key, "organizations/%36[0-9a-f-]/apiKeys/%36[0-9a-f-]", org, kid), 2);
			assert_true(is_uuid(org) && is_uuid(kid));
			assert_int_equal(strlen(a->api_key), strlen("organizations//apiKeys/") + 72);
			if (strncmp(a->secret, "-----BEGIN EC PRIVATE KEY-----\n", 31) == 0) {
				BIO *bio = BIO_new_mem_buf(a->secret, -1);
				EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
				char group[32];
				size_t gl;
				assert_non_null(pk);
				assert_true(EVP_PKEY_is_a(pk, "EC"));
				assert_int_equal(EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group), &gl), 1);
				assert_string_equal(group, "prime256v1");
				EVP_PKEY_free(pk);
				BIO_free(bio);
				ec++;
			} else {
				uint8_t pub[32];
				assert_int_equal(b64_decode_exact(b, 64, a->secret, strlen(a->secret)), 0);
				assert_int_equal(prim_ed25519_public(pub, b), 0);
				assert_memory_equal(pub, b + 32, 32);
				ed++;
			}
		} else
			fail();
	}
	for (nv = 0; exsim_venue_at(nv) != NULL; nv++)
		assert_int_equal(withdraw[nv], 1);
	assert_int_equal(nv, 4);
	assert_true(trade >= 4);
	assert_true(ro > w.naccounts / 2);
	assert_true(ec > 0 && ed > 0);
	assert_null(exsim_account_any(&w, "nope"));
	assert_null(exsim_account_by_key(&w, exsim_venue_find("binance"), NULL));
	assert_null(exsim_account_by_key(&w, NULL, w.accounts[0].api_key));
	exsim_free(&w);
}

static size_t
cur_at(char (*cur)[FILL_CUR_MAX], size_t n, const char *c)
{
	for (size_t j = 0; j < n; j++)
		if (strcmp(cur[j], c) == 0)
			return j;
	fail_msg("currency %s missing", c);
	return 0;
}

/* Adds to *acc the funding of symbol k booked up to at, from a naive walk:
 * at every 8-hour time, the position is the signed sum of the fills at or
 * before it and the mark their last price; income = -position x mark x
 * rate, to 8 places. Returns how many rows there were. */
static size_t
naive_funding(const struct exsim_account *a, size_t k, int64_t at, struct dec *acc)
{
	struct dec pos = DEC_ZERO, mark = DEC_ZERO, x;
	struct exsim_funding row;
	struct fill f;
	uint64_t j = 0;
	size_t rows = 0;

	for (int64_t t = 0; t <= at; t += EXSIM_FUNDING_PERIOD_MS) {
		if (j == 0 && a->symbols[k].nfills > 0 && t < exsim_fill_ts(a, k, 0) - EXSIM_FUNDING_PERIOD_MS) {
			t = exsim_fill_ts(a, k, 0) / EXSIM_FUNDING_PERIOD_MS * EXSIM_FUNDING_PERIOD_MS -
			    EXSIM_FUNDING_PERIOD_MS;
			continue;
		}
		for (; j < a->symbols[k].nfills && exsim_fill_ts(a, k, j) <= t; j++) {
			exsim_fill(a, k, j, &f);
			assert_int_equal(f.side == FILL_BUY ? dec_add(&pos, pos, f.amount) : dec_sub(&pos, pos, f.amount), 0);
			mark = f.price;
		}
		assert_int_equal(exsim_funding_at(a, k, t, &row), !dec_is_zero(pos));
		if (dec_is_zero(pos))
			continue;
		assert_true(dec_to_double(row.rate) >= -0.0003 && dec_to_double(row.rate) <= 0.0003);
		assert_int_equal(dec_mul(&x, pos, mark), 0);
		assert_int_equal(dec_mul(&x, x, row.rate), 0);
		assert_int_equal(dec_neg(&x, x), 0);
		assert_int_equal(dec_round(&x, x, 8), 0);
		assert_int_equal(dec_cmp(x, row.income), 0);
		assert_int_equal(dec_add(acc, *acc, x), 0);
		rows++;
	}
	return rows;
}

/* Balances equal flows plus a naive sum over every visible fill, at times
 * that move forwards and back (the cache's two paths). */
static void
test_balances(void **state)
{
	static const int64_t at[] = { START - 5LL * 86400000LL, START, START + 7200000, START - 86400000LL,
		START + 7200000 };
	struct exsim_config cfg;
	struct exsim w;
	struct fill f;

	(void)state;
	small_cfg(&cfg);
	world(&w, &cfg);
	for (size_t i = 0; i < w.naccounts; i++) {
		const struct exsim_account *a = &w.accounts[i];
		for (size_t t = 0; t < sizeof(at) / sizeof(at[0]); t++) {
			char cur[8][FILL_CUR_MAX];
			struct dec got[8], want[8];
			size_t n = exsim_balances(a, at[t], cur, got, 8);
			assert_int_equal(n, a->ncurrencies);
			memset(want, 0, sizeof(want));
			for (size_t j = 0; j < a->nflows; j++)
				if (a->flows[j].ts_ms <= at[t]) {
					size_t c = cur_at(cur, n, a->flows[j].currency);
					assert_int_equal(dec_add(&want[c], want[c], a->flows[j].amount), 0);
				}
			for (size_t k = 0; k < a->nsymbols; k++)
				for (uint64_t j = 0; j < a->symbols[k].nfills; j++) {
					size_t q;
					exsim_fill(a, k, j, &f);
					if (f.timestamp > at[t])
						break;
					q = cur_at(cur, n, f.quote);
					if (f.side == FILL_BUY)
						assert_int_equal(dec_sub(&want[q], want[q], f.cost), 0);
					else
						assert_int_equal(dec_add(&want[q], want[q], f.cost), 0);
					if (a->market != FILL_FUTURES) {
						size_t b = cur_at(cur, n, f.base);
						if (f.side == FILL_BUY)
							assert_int_equal(dec_add(&want[b], want[b], f.amount), 0);
						else
							assert_int_equal(dec_sub(&want[b], want[b], f.amount), 0);
					}
					q = cur_at(cur, n, f.fees[0].currency);
					assert_int_equal(dec_sub(&want[q], want[q], f.fees[0].cost), 0);
				}
			for (size_t k = 0; exsim_has_funding(a) && k < a->nsymbols; k++)
				naive_funding(a, k, at[t], &want[cur_at(cur, n, a->symbols[k].quote)]);
			for (size_t j = 0; j < n; j++)
				assert_int_equal(dec_cmp(got[j], want[j]), 0);
		}
		/* deposits and withdrawals exist and are ordered */
		assert_true(a->nflows >= a->ncurrencies + 2);
		for (size_t j = 1; j < a->nflows; j++)
			assert_true(a->flows[j - 1].ts_ms <= a->flows[j].ts_ms);
	}
	exsim_free(&w);
}

static long
rss_kb(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;

	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%ld %ld", &size, &res), 2);
	fclose(fp);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A million fills cost no memory: nothing per fill is stored. */
static void
test_million_no_memory(void **state)
{
	struct exsim_config cfg;
	struct exsim w;
	struct fill f;
	uint64_t total = 0;
	long before, after;
	const struct exsim_account *a;

	(void)state;
	exsim_config_default(&cfg);
	cfg.accounts_per_exchange = 1;
	cfg.fills_per_account = 1000000;
	cfg.start_ms = START;
	before = rss_kb();
	world(&w, &cfg);
	a = &w.accounts[0];
	for (size_t k = 0; k < a->nsymbols; k++) {
		const struct exsim_symbol *s = &a->symbols[k];
		total += exsim_visible(a, k, START);
		/* the last fill and a lookup deep in the history are direct */
		exsim_fill(a, k, s->nhist - 1, &f);
		assert_int_equal(exsim_index_at(a, k, f.timestamp), s->nhist - 1);
		exsim_fill(a, k, s->nhist / 2, &f);
		assert_int_equal(exsim_index_at(a, k, f.timestamp), s->nhist / 2);
	}
	after = rss_kb();
	assert_true(total > 990000 && total <= 1000000);
	/* six accounts of a million fills each: well under a megabyte */
	assert_true(after - before < 1024);
	exsim_free(&w);
}

static void
test_bad_config(void **state)
{
	struct exsim_config cfg;
	struct exsim w;
	const char *err = NULL;

	(void)state;
	exsim_config_default(&cfg);
	cfg.faults.p_5xx = 1.5;
	assert_int_equal(exsim_init(&w, &cfg, &err), -1);
	assert_non_null(err);
	exsim_config_default(&cfg);
	cfg.accounts_per_exchange = 0;
	err = NULL;
	assert_int_equal(exsim_init(&w, &cfg, &err), -1);
	assert_non_null(err);
	exsim_config_default(&cfg);
	cfg.threads = 0;
	assert_int_equal(exsim_init(&w, &cfg, &err), -1);
	exsim_free(&w);	/* on a failed init: a no-op */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_index_vs_scan),
		cmocka_unit_test(test_fill_values),
		cmocka_unit_test(test_fee_rates),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_balances),
		cmocka_unit_test(test_million_no_memory),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
