/*
 * exsim_gen: deterministic trading histories and credentials.
 *
 * Nothing about a fill is stored: fill i of symbol k is recomputed from
 * (account seed, k, i) whenever a handler needs it, so an account of a
 * million fills costs a few hundred bytes and any page is computed directly.
 * Times are arithmetic (fill i lies in [first + i*s, first + (i+1)*s)), so
 * the index of a time is a division, never a scan.
 *
 * Round trips: fills come in cycles of 2*cycle fills; the first half opens
 * a position and the second half closes it with the same amounts, so spot
 * inventories never go short and futures positions return to flat (futures
 * cycles open short about half the time).
 *
 * Every per-exchange fact (symbols, fees, id and key formats, held
 * currencies) comes from the account's venue (exsim_venue.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/core_names.h>

#include "core/b64.h"
#include "core/prim.h"
#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define DAY_MS 86400000LL
#define LIVE_HORIZON_MS (365 * DAY_MS)

/* Hash domains: each field of a fill draws from its own stream. */
enum { H_TS = 1, H_PRICE, H_AMOUNT, H_ROLE, H_FEE, H_ORDER, H_ID, H_DIR, H_OID, H_SYM, H_FLOW, H_CRED, H_SIDEQ };

/* splitmix64 finaliser: a fast, well-mixed 64-bit permutation. Not
 * cryptographic; histories only need to look random and be reproducible. */
static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
h3(uint64_t salt, uint64_t domain, uint64_t i)
{
	return mix(mix(salt ^ (domain * 0xd1342543de82ef95ULL)) ^ i);
}

uint64_t
exsim_hash(uint64_t salt, uint64_t domain, uint64_t i)
{
	return h3(salt, domain, i);
}

static uint64_t
pow10u(unsigned n)
{
	uint64_t p = 1;

	while (n-- > 0)
		p *= 10;
	return p;
}

/* units * 10^-decimals as a dec (exact). */
static struct dec
dec_units(int64_t units, unsigned decimals)
{
	struct dec d;

	d.raw = (__int128)units * (__int128)pow10u(DEC_SCALE - decimals);
	return d;
}

static struct dec
dec_const(const char *s)
{
	const char *err;
	struct dec d;

	if (dec_parse(s, strlen(s), &d, &err) == -1)
		fatalx("exsim: bad constant %s", s);
	return d;
}

const char *
exsim_market_name(enum fill_market m)
{
	return m == FILL_SPOT ? "spot" : m == FILL_MARGIN ? "margin" : "futures";
}

/* ---- times ---- */

int64_t
exsim_fill_ts(const struct exsim_account *a, size_t k, uint64_t i)
{
	const struct exsim_symbol *s = &a->symbols[k];

	if (i < s->nhist)
		return s->first_ms + (int64_t)i * s->spacing_ms +
		    (int64_t)(h3(s->salt, H_TS, i) % (uint64_t)s->spacing_ms);
	i -= s->nhist;
	return s->live_first_ms + (int64_t)i * s->live_spacing_ms +
	    (int64_t)(h3(s->salt, H_TS, s->nhist + i) % (uint64_t)s->live_spacing_ms);
}

/* First index in [lo, hi) of a segment with ts >= t, where fill j lies in
 * [base + j*sp, base + (j+1)*sp): the answer is one of two candidates. */
static uint64_t
segment_index(const struct exsim_account *a, size_t k, uint64_t off, uint64_t n, int64_t base, int64_t sp, int64_t t)
{
	uint64_t j;

	if (t <= base)
		return 0;
	j = (uint64_t)((t - base) / sp);	/* fills before j end before base + j*sp <= t */
	if (j >= n)
		return n;
	/* fill j starts at or before t; it is the answer iff its ts >= t */
	if (exsim_fill_ts(a, k, off + j) >= t)
		return j;
	return j + 1;
}

uint64_t
exsim_index_at(const struct exsim_account *a, size_t k, int64_t ts_ms)
{
	const struct exsim_symbol *s = &a->symbols[k];
	uint64_t j;

	j = segment_index(a, k, 0, s->nhist, s->first_ms, s->spacing_ms, ts_ms);
	if (j < s->nhist || s->nfills == s->nhist)
		return j;
	return s->nhist + segment_index(a, k, s->nhist, s->nfills - s->nhist, s->live_first_ms,
	    s->live_spacing_ms, ts_ms);
}

uint64_t
exsim_visible(const struct exsim_account *a, size_t k, int64_t now_ms)
{
	if (now_ms == INT64_MAX)
		return a->symbols[k].nfills;
	return exsim_index_at(a, k, now_ms + 1);
}

/* ---- fills ---- */

static void
id_alnum(char *out, size_t n, uint64_t h1, uint64_t h2)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	for (size_t j = 0; j < n; j++) {
		uint64_t *h = j < 10 ? &h1 : &h2;
		out[j] = abc[*h % 36];
		*h /= 36;
	}
}

/* EXSIM_IDS_TXID, Kraken's shape: "TXXXXX-XXXXX-XXXXXX" (prefix 'T' trades, 'O' orders). */
static void
txid(char *out, char prefix, uint64_t h1, uint64_t h2)
{
	char c[16];

	id_alnum(c, 16, h1, h2);
	snprintf(out, FILL_ID_MAX, "%c%.5s-%.5s-%.6s", prefix, c, c + 5, c + 10);
}

static void
uuid4(char *out, size_t size, uint64_t h1, uint64_t h2)
{
	h1 = (h1 & ~0xf000ULL) | 0x4000ULL;			/* version 4 */
	h2 = (h2 & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;	/* variant 10 */
	snprintf(out, size, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(h1 >> 32), (unsigned)((h1 >> 16) & 0xffff),
	    (unsigned)(h1 & 0xffff), (unsigned)(h2 >> 48), (unsigned long long)(h2 & 0xffffffffffffULL));
}

static double
path_value(const struct exsim_symbol *s, int64_t ts)
{
	double x = (double)ts / 1000.0, ph = (double)(s->salt % 1000) / 159.0;

	return s->price0 * exp(0.22 * sin(x / (40.0 * 86400.0) * 6.283185307179586 + ph) +
	    0.07 * sin(x / (3.3 * 86400.0) * 6.283185307179586 + 2 * ph) +
	    0.02 * sin(x / (5.0 * 3600.0) * 6.283185307179586 + 3 * ph));
}

static int64_t
price_ticks(const struct exsim_symbol *s, uint64_t i, int64_t ts)
{
	double p = path_value(s, ts) * (double)pow10u(s->price_decimals);
	int64_t ticks = llround(p), span = llround(p * 0.0005) + 1;

	ticks += (int64_t)(h3(s->salt, H_PRICE, i) % (uint64_t)(2 * span + 1)) - span;
	return ticks < 1 ? 1 : ticks;
}

/* Index of the first fill of the order fill i belongs to: partial fills
 * continue the previous fill's order, never across a half cycle. */
static uint64_t
order_start(const struct exsim_symbol *s, uint64_t i)
{
	while (i % s->cycle != 0 && h3(s->salt, H_ORDER, i) % 3 == 0)
		i--;
	return i;
}

static void
fee_add(struct fill *f, struct dec cost, const char *cur)
{
	const char *err;

	if (fill_add_fee(f, cost, cur, &err) == -1)
		fatalx("exsim: fee: %s", err);
}

static struct dec
round8(struct dec a)
{
	struct dec r;

	if (dec_round(&r, a, 8) == -1)
		fatalx("exsim: round");
	return r;
}

static struct dec
mul(struct dec a, struct dec b)
{
	struct dec r;

	if (dec_mul(&r, a, b) == -1)
		fatalx("exsim: overflow");
	return r;
}

void
exsim_fee_rate(struct fill *f, struct dec of, const char *rate, const char *cur)
{
	fee_add(f, round8(mul(of, dec_const(rate))), cur);
}

void
exsim_fee_units(struct fill *f, int64_t units, unsigned decimals, const char *cur)
{
	fee_add(f, dec_units(units, decimals), cur);
}

static void
fill_fee(const struct exsim_account *a, const struct exsim_symbol *s, uint64_t i, struct fill *f)
{
	unsigned r = (unsigned)(h3(s->salt, H_FEE, i) % 100);
	const struct exsim_venue *v = a->venue;

	if (v->fee != NULL)
		v->fee(a, s, r, f);
	else
		exsim_fee_rate(f, f->cost, f->role == FILL_MAKER ? v->fee_maker : v->fee_taker, s->quote);
}

void
exsim_fill(const struct exsim_account *a, size_t k, uint64_t i, struct fill *f)
{
	const struct exsim_symbol *s = &a->symbols[k];
	uint64_t c2 = 2 * (uint64_t)s->cycle, cyc = i / c2, pos = i % c2, o;
	uint64_t lots;
	const char *err;
	bool opening = pos < s->cycle, shortfirst;

	if (i >= s->nfills)
		fatalx("exsim: fill %llu of %llu", (unsigned long long)i, (unsigned long long)s->nfills);
	memset(f, 0, sizeof(*f));
	if (fill_set_symbol(f, s->unified, strlen(s->unified), &err) == -1)
		fatalx("exsim: symbol %s: %s", s->unified, err);
	f->market = a->market;
	f->timestamp = exsim_fill_ts(a, k, i);
	shortfirst = a->market == FILL_FUTURES && (h3(s->salt, H_DIR, cyc) & 1) != 0;
	f->side = opening != shortfirst ? FILL_BUY : FILL_SELL;
	f->role = h3(s->salt, H_ROLE, i) % 100 < 40 ? FILL_MAKER : FILL_TAKER;
	/* a few fills reported without liquidity (Coinbase UNKNOWN_LIQUIDITY_INDICATOR; charged as taker) */
	if (h3(s->salt, H_ROLE, i) % 100 >= 100 - (uint64_t)a->venue->role_unknown_pct)
		f->role = FILL_ROLE_UNKNOWN;
	/* the closing half mirrors the opening half's amounts */
	lots = s->amount_lo + h3(s->salt, H_AMOUNT, cyc * c2 + pos % s->cycle) % (s->amount_hi - s->amount_lo + 1);
	f->amount = dec_units((int64_t)lots, s->lot_decimals);
	f->price = dec_units(price_ticks(s, i, f->timestamp), s->price_decimals);
	f->cost = mul(f->price, f->amount);	/* exact: at most 5 + 8 fractional digits */
	f->has_cost = true;
	fill_fee(a, s, i, f);
	o = order_start(s, i);
	switch (a->venue->ids) {
	case EXSIM_IDS_SEQUENCE:
		snprintf(f->id, sizeof(f->id), "%llu", (unsigned long long)(s->first_id + i));
		snprintf(f->order, sizeof(f->order), "%llu", (unsigned long long)(s->first_order_id + o));
		break;
	case EXSIM_IDS_TXID:
		txid(f->id, 'T', h3(s->salt, H_ID, i), h3(s->salt, H_ID + 100, i));
		txid(f->order, 'O', h3(s->salt, H_OID, o), h3(s->salt, H_OID + 100, o));
		break;
	case EXSIM_IDS_UUID:
		uuid4(f->id, sizeof(f->id), h3(s->salt, H_ID, i), h3(s->salt, H_ID + 100, i));
		uuid4(f->order, sizeof(f->order), h3(s->salt, H_OID, o), h3(s->salt, H_OID + 100, o));
		break;
	}
}

bool
exsim_side_unknown(const struct exsim_account *a, size_t k, uint64_t i)
{
	return a->venue->side_unknown && a->unknown_side > 0 &&
	    (double)(h3(a->symbols[k].salt, H_SIDEQ, i) % 1000000) < a->unknown_side * 1e6;
}

/* ---- credentials ---- */

/* Deterministic bytes for account a's credential field `what`. */
static void
cred_bytes(uint64_t seed, const char *what, uint8_t *out, size_t n)
{
	uint8_t in[64], h[PRIM_SHA256_BYTES];
	size_t off = 0;
	uint32_t ctr = 0;

	while (off < n) {
		int len = snprintf((char *)in, sizeof(in), "exsim|%016llx|%s|%u", (unsigned long long)seed, what,
		    ctr++);
		prim_sha256(h, in, (size_t)len);
		for (size_t j = 0; j < sizeof(h) && off < n; j++)
			out[off++] = h[j];
	}
}

static void
cred_alnum(uint64_t seed, const char *what, char *out, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t b[128];

	if (n > sizeof(b))
		fatalx("exsim: credential too long");
	cred_bytes(seed, what, b, n);
	for (size_t j = 0; j < n; j++)
		out[j] = abc[b[j] % 62];
	out[n] = '\0';
}

static void
cred_uuid(uint64_t seed, const char *what, char *out, size_t size)
{
	uint8_t b[16];
	uint64_t h1 = 0, h2 = 0;

	cred_bytes(seed, what, b, sizeof(b));
	for (int j = 0; j < 8; j++) {
		h1 = h1 << 8 | b[j];
		h2 = h2 << 8 | b[8 + j];
	}
	uuid4(out, size, h1, h2);
}

/* A SEC1 PEM P-256 key whose scalar comes from the seed. */
static void
ec_pem(uint64_t seed, char *out, size_t size)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BIGNUM *d = BN_new(), *order = BN_new();
	BN_CTX *bnctx = BN_CTX_new();
	EC_POINT *pub = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	uint8_t sk[32], pubbuf[65];
	char *data;
	long len;

	if (g == NULL || d == NULL || order == NULL || bld == NULL || bnctx == NULL ||
	    EC_GROUP_get_order(g, order, bnctx) != 1)
		goto fail;
	cred_bytes(seed, "ec", sk, sizeof(sk));
	/* d in [1, n-1]: reduce mod n-1 and add 1 */
	if (BN_bin2bn(sk, sizeof(sk), d) == NULL || !BN_sub_word(order, 1) || !BN_mod(d, d, order, bnctx) ||
	    !BN_add_word(d, 1))
		goto fail;
	if ((pub = EC_POINT_new(g)) == NULL || EC_POINT_mul(g, pub, d, NULL, NULL, bnctx) != 1 ||
	    EC_POINT_point2oct(g, pub, POINT_CONVERSION_UNCOMPRESSED, pubbuf, sizeof(pubbuf), bnctx) != 65)
		goto fail;
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pubbuf, sizeof(pubbuf)) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto fail;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
		goto fail;
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		goto fail;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || (size_t)len >= size)
		goto fail;
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EC_POINT_free(pub);
	BN_clear_free(d);
	BN_free(order);
	BN_CTX_free(bnctx);
	EC_GROUP_free(g);
	return;
fail:
	fatalx("exsim: cannot build the EC key");
}

static void
credentials(struct exsim_account *a)
{
	uint8_t b[64];

	switch (a->venue->keys) {
	case EXSIM_KEYS_ALNUM64:
		cred_alnum(a->seed, "key", a->api_key, 64);
		cred_alnum(a->seed, "secret", a->secret, 64);
		break;
	case EXSIM_KEYS_BASE64:
		cred_bytes(a->seed, "key", b, 42);
		b64_encode_to(a->api_key, b, 42);	/* 56 characters */
		cred_bytes(a->seed, "secret", b, 64);
		b64_encode_to(a->secret, b, 64);
		break;
	case EXSIM_KEYS_CDP: {
		char org[40], kid[40];
		cred_uuid(a->seed, "org", org, sizeof(org));
		cred_uuid(a->seed, "kid", kid, sizeof(kid));
		snprintf(a->api_key, sizeof(a->api_key), "organizations/%s/apiKeys/%s", org, kid);
		if (a->index % 2 == 0)
			ec_pem(a->seed, a->secret, sizeof(a->secret));
		else {
			cred_bytes(a->seed, "ed25519", b, 32);
			if (prim_ed25519_public(b + 32, b) == -1)
				fatalx("exsim: ed25519");
			b64_encode_to(a->secret, b, 64);
		}
		break;
	}
	default:
		fatalx("exsim: bad key format");
	}
	OPENSSL_cleanse(b, sizeof(b));
}

/* ---- accounts ---- */

static void
add_currency(struct exsim_account *a, const char *c)
{
	for (size_t j = 0; j < a->ncurrencies; j++)
		if (strcmp(a->currencies[j], c) == 0)
			return;
	if (a->ncurrencies == sizeof(a->currencies) / sizeof(a->currencies[0]))
		fatalx("exsim: too many currencies");
	snprintf(a->currencies[a->ncurrencies++], FILL_CUR_MAX, "%s", c);
}

static void
add_flow(struct exsim_account *a, size_t cap, const char *prefix, uint64_t h, int64_t ts, const char *cur,
    struct dec amount)
{
	struct exsim_flow *fl;

	if (a->nflows == cap)
		fatalx("exsim: flows");
	fl = &a->flows[a->nflows++];
	snprintf(fl->id, sizeof(fl->id), "%s%016llx", prefix, (unsigned long long)h);
	fl->ts_ms = ts;
	snprintf(fl->currency, sizeof(fl->currency), "%s", cur);
	fl->amount = amount;
}

static int
flow_cmp(const void *x, const void *y)
{
	const struct exsim_flow *a = x, *b = y;

	return a->ts_ms < b->ts_ms ? -1 : a->ts_ms > b->ts_ms ? 1 : strcmp(a->id, b->id);
}

/* A currency's starting capital: enough for any open round trip (plus the
 * market's held capital of its held currency). */
static struct dec
capital(const struct exsim_account *a, const struct exsim_venue_market *m, const char *cur)
{
	struct dec need = DEC_ZERO, t;

	if (m->held != NULL && strcmp(cur, m->held) == 0)
		need = dec_from_int(m->held_capital);
	for (size_t k = 0; k < a->nsymbols; k++) {
		const struct exsim_symbol *s = &a->symbols[k];
		/* cycle * max lots of base, or twice its quote value at the top of the path */
		struct dec base = dec_units((int64_t)(s->amount_hi * s->cycle), s->lot_decimals);
		if (a->market != FILL_FUTURES && strcmp(cur, s->base) == 0)
			t = mul(base, dec_from_int(2));
		else if (strcmp(cur, s->quote) == 0)
			t = round8(mul(base, dec_units(llround(s->price0 * 3 * 1e5), 5)));
		else
			continue;
		if (dec_add(&need, need, t) == -1)
			fatalx("exsim: overflow");
	}
	/* round up to a whole number */
	if (dec_round(&t, need, 0) == -1 || dec_add(&t, t, dec_one()) == -1)
		fatalx("exsim: overflow");
	return t;
}

static void
make_flows(struct exsim_account *a, const struct exsim_venue_market *m, int64_t t0, int64_t start_ms)
{
	size_t cap = a->ncurrencies + 4, nextra;
	uint64_t h = h3(a->seed, H_FLOW, 0);
	int64_t span = start_ms - t0;

	a->flows = xcalloc(cap, sizeof(*a->flows));
	for (size_t j = 0; j < a->ncurrencies; j++)
		add_flow(a, cap, "D", h3(a->seed, H_FLOW, 100 + j), t0 - DAY_MS + (int64_t)j * 60000,
		    a->currencies[j], capital(a, m, a->currencies[j]));
	/* then a few top-ups and withdrawals of the first quote currency */
	nextra = 2 + h % 3;
	for (size_t j = 0; j < nextra; j++) {
		uint64_t hj = h3(a->seed, H_FLOW, 200 + j);
		const char *cur = a->symbols[0].quote;
		struct dec cap0 = capital(a, m, cur), amt;
		int64_t ts = t0 + (int64_t)(hj % (uint64_t)(span > 1 ? span : 1));
		/* between 1% and 20% of the starting capital, whole units */
		int64_t pct = 1 + (int64_t)((hj >> 20) % 20);
		if (dec_muldiv(&amt, cap0, dec_from_int(pct), dec_from_int(100)) == -1 ||
		    dec_round(&amt, amt, 0) == -1)
			fatalx("exsim: overflow");
		if (dec_is_zero(amt))
			amt = dec_one();
		if ((hj >> 40) % 2 == 1 && j > 0) {
			if (dec_neg(&amt, amt) == -1)
				fatalx("exsim: overflow");
			add_flow(a, cap, "W", hj, ts, cur, amt);
		} else
			add_flow(a, cap, "D", hj, ts, cur, amt);
	}
	qsort(a->flows, a->nflows, sizeof(*a->flows), flow_cmp);
}

void
exsim_account_generate(struct exsim_account *a, const struct exsim_config *cfg, int64_t start_ms, size_t index,
    const struct exsim_venue *v, const struct exsim_venue_market *m, size_t ordinal, size_t count)
{
	const struct exsim_symdef *defs = m->symbols;
	enum fill_market market = m->market;
	size_t ndefs = m->nsymbols, nsym, off;
	uint64_t weights[8], wsum = 0, h;
	int64_t t0 = start_ms;

	memset(a, 0, sizeof(*a));
	a->index = index;
	a->venue = v;
	a->market = market;
	a->seed = mix(cfg->seed ^ mix(0x5eed0000ULL + index));
	a->world_seed = cfg->seed;
	credentials(a);
	a->can_withdraw = ordinal == count - 1;
	a->can_trade = a->can_withdraw || ordinal % 5 == 3;
	a->unknown_side = cfg->coinbase_unknown_side;

	h = h3(a->seed, H_SYM, 0);
	nsym = 2 + h % 5;
	if (nsym > ndefs)
		nsym = ndefs;
	off = (size_t)((h >> 8) % ndefs);
	a->symbols = xcalloc(nsym, sizeof(*a->symbols));
	a->nsymbols = nsym;
	for (size_t k = 0; k < nsym; k++) {
		weights[k] = 1 + h3(a->seed, H_SYM, 10 + k) % 4;
		wsum += weights[k];
	}
	for (size_t k = 0; k < nsym; k++) {
		const struct exsim_symdef *d = &defs[(off + k) % ndefs];
		struct exsim_symbol *s = &a->symbols[k];
		uint64_t n = cfg->fills_per_account * weights[k] / wsum;

		snprintf(s->unified, sizeof(s->unified), "%s", d->unified);
		snprintf(s->native, sizeof(s->native), "%s", d->native);
		snprintf(s->base, sizeof(s->base), "%s", d->base);
		snprintf(s->quote, sizeof(s->quote), "%s", d->quote);
		snprintf(s->native_base, sizeof(s->native_base), "%s", d->nbase);
		snprintf(s->native_quote, sizeof(s->native_quote), "%s", d->nquote);
		s->salt = h3(a->seed, H_SYM, 100 + k);
		s->nhist = n < 1 ? 1 : n;
		s->spacing_ms = cfg->history_ms / (int64_t)s->nhist;
		if (s->spacing_ms < 1)
			s->spacing_ms = 1;
		s->first_ms = start_ms - (int64_t)s->nhist * s->spacing_ms;
		s->live_first_ms = start_ms;
		s->nfills = s->nhist;
		if (cfg->live_spacing_ms > 0) {
			s->live_spacing_ms = cfg->live_spacing_ms * (int64_t)nsym;
			s->nfills += (uint64_t)(LIVE_HORIZON_MS / s->live_spacing_ms) + 1;
		} else
			s->live_spacing_ms = 1;
		s->price_decimals = d->pdec;
		s->lot_decimals = d->ldec;
		s->price0 = d->price0 * (0.9 + (double)(s->salt % 200) / 1000.0);
		s->amount_lo = (uint64_t)llround(d->amt_lo * (double)pow10u(d->ldec));
		s->amount_hi = (uint64_t)llround(d->amt_hi * (double)pow10u(d->ldec));
		s->cycle = 1 + (unsigned)(h3(a->seed, H_SYM, 200 + k) % 6);
		/* Binance ids: per symbol, large and account-specific */
		s->first_id = d->id0 + h3(a->seed, H_SYM, 300 + k) % 100000000ULL;
		s->first_order_id = 4 * d->id0 + h3(a->seed, H_SYM, 400 + k) % 100000000ULL;
		if (s->first_ms < t0)
			t0 = s->first_ms;
		if (market != FILL_FUTURES)
			add_currency(a, s->base);
		add_currency(a, s->quote);
	}
	if (m->held != NULL)
		add_currency(a, m->held);
	make_flows(a, m, t0, start_ms);
	a->bcache = exsim_bcache_new(a);
}

void
exsim_account_clear(struct exsim_account *a)
{
	exsim_bcache_free(a->bcache);
	free(a->symbols);
	free(a->flows);
	OPENSSL_cleanse(a->secret, sizeof(a->secret));
	memset(a, 0, sizeof(*a));
}
