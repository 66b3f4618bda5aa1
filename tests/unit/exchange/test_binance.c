/*
 * Binance connector on canned responses: signing known answers
 * (exchanges.md 1.1), Ed25519 round trip, the cycle plan, parsing of the
 * documented response examples as ccxt parses them, and every error mapping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "core/b64.h"
#include "core/prim.h"
#include "exchange/exchange.h"
#include "exchange/sign_binance.h"
#include "util/xalloc.h"

static const char doc_secret[] = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
static const char doc_key[] = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";

static void
kat(const char *query, const char *body, const char *want)
{
	char out[SIGN_BINANCE_HMAC_HEX], *s;
	const char *err = NULL;

	assert_int_equal(sign_binance_hmac(out, doc_secret, strlen(doc_secret), query, strlen(query), body,
	    body != NULL ? strlen(body) : 0), 0);
	assert_string_equal(out, want);
	s = sign_binance(doc_secret, strlen(doc_secret), query, strlen(query), body, body != NULL ? strlen(body) : 0,
	    &err);
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void
test_hmac_vectors(void **state)
{
	(void)state;
	/* rest-api.md "SIGNED Endpoint Examples", HMAC examples 1 and 2 (the
	 * second with the percent-encoded unicode symbol), and the older
	 * query + body example 3. */
	kat("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&"
	    "timestamp=1499827319559", NULL, "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71");
	kat("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT&timeInForce=GTC&"
	    "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559", NULL,
	    "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3");
	kat("symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
	    "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
	    "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77");
}

static void
test_hmac_wrong_secret(void **state)
{
	char out[SIGN_BINANCE_HMAC_HEX];
	const char *q = "symbol=LTCBTC&timestamp=1499827319559";

	(void)state;
	assert_int_equal(sign_binance_hmac(out, "x", 1, q, strlen(q), NULL, 0), 0);
	assert_int_equal(strlen(out), 64);
	assert_string_not_equal(out, "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71");
}

/* Writes seed as a PKCS#8 PEM Ed25519 private key, as Binance users hold it. */
static char *
ed25519_pem(const uint8_t seed[32])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	assert_non_null(pk);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	out = xstrndup(data, (size_t)len);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return out;
}

/* Undoes the URL encoding of base64 ('+', '/', '='). */
static size_t
url_decode(char *s)
{
	char *o = s;

	for (char *p = s; *p != '\0'; p++) {
		if (*p == '%') {
			unsigned v;
			assert_int_equal(sscanf(p + 1, "%2x", &v), 1);
			*o++ = (char)v;
			p += 2;
		} else
			*o++ = *p;
	}
	*o = '\0';
	return (size_t)(o - s);
}

static void
test_ed25519_roundtrip(void **state)
{
	uint8_t seed[32], pub[32], sig[64];
	const char *q = "symbol=BTCUSDT&fromId=0&limit=1000&recvWindow=5000&timestamp=1499827319559", *err = NULL;
	char *pem, *s;
	size_t n;

	(void)state;
	assert_int_equal(prim_ed25519_keygen(seed, pub), 0);
	pem = ed25519_pem(seed);
	s = sign_binance(pem, strlen(pem), q, strlen(q), NULL, 0, &err);
	assert_non_null(s);
	/* URL-encoded: no raw base64 specials survive into the query. */
	assert_null(strpbrk(s, "+/="));
	n = url_decode(s);
	assert_int_equal(b64_decode_exact(sig, sizeof(sig), s, n), 0);
	assert_int_equal(prim_ed25519_verify(sig, (const uint8_t *)q, strlen(q), pub), 0);
	/* A different payload does not verify. */
	assert_int_equal(prim_ed25519_verify(sig, (const uint8_t *)q, strlen(q) - 1, pub), -1);
	free(s);
	/* Deterministic (RFC 8032): signing twice gives the same value. */
	s = sign_binance(pem, strlen(pem), q, strlen(q), NULL, 0, &err);
	assert_non_null(s);
	free(s);
	free(pem);
}

static void
test_pem_errors(void **state)
{
	const char *bad = "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n", *err = NULL;
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem;
	long len;

	(void)state;
	assert_null(sign_binance(bad, strlen(bad), "a=1", 3, NULL, 0, &err));
	assert_non_null(err);
	/* An EC (not Ed25519) key is refused, not misused. */
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &pk), 1);
	assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	pem = xstrndup(data, (size_t)len);
	err = NULL;
	assert_null(sign_binance(pem, strlen(pem), "a=1", 3, NULL, 0, &err));
	assert_string_equal(err, "only HMAC and Ed25519 Binance API keys are supported");
	free(pem);
	BIO_free(bio);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(ctx);
}

/* ------------------------------------------------------------------ the connector on canned responses */

#define MAXFILLS 1100

struct rec {
	struct fill *fills;	/* MAXFILLS */
	size_t nfills;
	char bal[8][16];
	struct dec baltot[8];
	size_t nbal;
	char flow_id[8][40];
	struct dec flow_amt[8];
	int64_t flow_ts[8];
	size_t nflows;
	char price_sym[8][48];
	struct dec price[8];
	int64_t price_day[8];
	size_t nprices;
	int perms;	/* -1 none, else can_trade | can_withdraw << 1 */
	char fund_id[8][40], fund_sym[8][48], fund_cur[8][16];
	struct dec fund_amt[8];
	int64_t fund_ts[8];
	size_t nfunding;
};

static int
on_fill(void *arg, const struct fill *f)
{
	struct rec *r = arg;

	assert_true(r->nfills < MAXFILLS);
	r->fills[r->nfills++] = *f;
	return 0;
}

static int
on_balance(void *arg, const char *cur, struct dec total)
{
	struct rec *r = arg;

	assert_true(r->nbal < 8);
	snprintf(r->bal[r->nbal], 16, "%s", cur);
	r->baltot[r->nbal++] = total;
	return 0;
}

static int
on_flow(void *arg, const char *id, int64_t ts, const char *cur, struct dec amount)
{
	struct rec *r = arg;

	(void)cur;
	assert_true(r->nflows < 8);
	snprintf(r->flow_id[r->nflows], 40, "%s", id);
	r->flow_ts[r->nflows] = ts;
	r->flow_amt[r->nflows++] = amount;
	return 0;
}

static int
on_funding(void *arg, const char *id, int64_t ts, const char *sym, const char *cur, struct dec amount)
{
	struct rec *r = arg;

	if (r->nfunding == 8)	/* the pagination test sends pages of them */
		return 0;
	snprintf(r->fund_id[r->nfunding], 40, "%s", id);
	snprintf(r->fund_sym[r->nfunding], 48, "%s", sym);
	snprintf(r->fund_cur[r->nfunding], 16, "%s", cur);
	r->fund_ts[r->nfunding] = ts;
	r->fund_amt[r->nfunding++] = amount;
	return 0;
}

static int
on_price(void *arg, const char *sym, int64_t day, struct dec close)
{
	struct rec *r = arg;

	assert_true(r->nprices < 8);
	snprintf(r->price_sym[r->nprices], 48, "%s", sym);
	r->price_day[r->nprices] = day;
	r->price[r->nprices++] = close;
	return 0;
}

static int
on_perms(void *arg, bool t, bool w)
{
	struct rec *r = arg;

	r->perms = (t ? 1 : 0) | (w ? 2 : 0);
	return 0;
}

struct hdrs {
	const char *name[3], *value[3];
};

static const char *
hdr(const struct xresp *r, const char *name)
{
	const struct hdrs *h = r->hdr_arg;

	for (int i = 0; i < 3 && h != NULL && h->name[i] != NULL; i++)
		if (strcasecmp(h->name[i], name) == 0)
			return h->value[i];
	return NULL;
}

struct harness {
	struct xconn c;
	struct credential cred;
	struct xsink sink;
	struct rec rec;
	struct xreq req;
};

static void
h_open(struct harness *h, enum fill_market m)
{
	struct xconf conf = { .market = m, .base_url = "http://sim.test" };
	const char *err = NULL;

	memset(h, 0, sizeof(*h));
	assert_int_equal(xconn_open(&h->c, &exchange_binance, &conf, &err), 0);
	h->cred.api_key = doc_key;
	h->cred.api_key_len = strlen(doc_key);
	h->cred.secret = doc_secret;
	h->cred.secret_len = strlen(doc_secret);
	h->rec.perms = -1;
	h->rec.fills = xcalloc(MAXFILLS, sizeof(*h->rec.fills));
	h->sink = (struct xsink){ &h->rec, on_fill, on_balance, on_flow, on_price, on_perms, on_funding };
	h->c.ops->begin(&h->c, 1700000000000LL);
}

static void
h_close(struct harness *h)
{
	xreq_clear(&h->req);
	xconn_close(&h->c);
	free(h->rec.fills);
}

/* Asks for the next request and checks its URL starts with want (after the base). */
static void
expect(struct harness *h, const char *want)
{
	const char *err = NULL;

	assert_int_equal(h->c.ops->next(&h->c, &h->cred, 1700000000000LL, &h->req, &err), 1);
	if (strncmp(h->req.url + strlen("http://sim.test"), want, strlen(want)) != 0)
		fail_msg("request %s, expected %s", h->req.url, want);
}

static enum xresult
answer(struct harness *h, long status, const char *body, const struct hdrs *hd, struct xoutcome *o)
{
	struct xresp r = { .status = status, .body = body, .body_len = strlen(body), .now_ms = 1700000000000LL,
	    .header = hdr, .hdr_arg = hd };

	h->c.ops->handle(&h->c, &h->req, &r, &h->sink, o);
	return o->result;
}

static void
ok(struct harness *h, const char *want, const char *body)
{
	struct xoutcome o;

	expect(h, want);
	if (answer(h, 200, body, NULL, &o) != XR_OK)
		fail_msg("%s: %d %s", want, o.result, o.error);
}

static const char spot_info[] = "{\"timezone\":\"UTC\",\"serverTime\":1700000000000,\"symbols\":["
    "{\"symbol\":\"BNBBTC\",\"status\":\"TRADING\",\"baseAsset\":\"BNB\",\"quoteAsset\":\"BTC\"},"
    "{\"symbol\":\"LTCUSDT\",\"status\":\"TRADING\",\"baseAsset\":\"LTC\",\"quoteAsset\":\"USDT\"},"
    "{\"symbol\":\"XRPEUR\",\"status\":\"TRADING\",\"baseAsset\":\"XRP\",\"quoteAsset\":\"EUR\"}]}";

static void
assert_dec(struct dec d, const char *want)
{
	char b[DEC_STR_MAX];

	dec_format(b, sizeof(b), d);
	assert_string_equal(b, want);
}

static void
test_spot_cycle(void **state)
{
	struct harness h;
	struct xoutcome o;
	const char *err = NULL;
	const struct fill *f;

	(void)state;
	h_open(&h, FILL_SPOT);
	ok(&h, "/api/v3/time", "{\"serverTime\":1700000001234}");
	assert_int_equal(h.c.clock_offset_ms, 1234);
	ok(&h, "/api/v3/exchangeInfo", spot_info);
	expect(&h, "/api/v3/account?omitZeroBalances=true&recvWindow=10000&timestamp=1700000001234&signature=");
	assert_string_equal(h.req.headers[0].name, "X-MBX-APIKEY");
	assert_string_equal(h.req.headers[0].value, doc_key);
	assert_int_equal(h.req.weight, 20);
	assert_int_equal(answer(&h, 200, "{\"canTrade\":true,\"accountType\":\"SPOT\",\"balances\":["
	    "{\"asset\":\"BTC\",\"free\":\"4723846.89208129\",\"locked\":\"0.00000000\"},"
	    "{\"asset\":\"USDT\",\"free\":\"1.5\",\"locked\":\"2.25\"}]}", NULL, &o), XR_OK);
	assert_int_equal(h.rec.nbal, 2);
	assert_dec(h.rec.baltot[1], "3.75");
	assert_true(h.c.validated);
	ok(&h, "/sapi/v1/account/apiRestrictions", "{\"ipRestrict\":false,\"enableReading\":true,"
	    "\"enableWithdrawals\":false,\"enableSpotAndMarginTrading\":false,\"enableFutures\":false}");
	/* canTrade is the account's; the key is read-only. */
	assert_int_equal(h.rec.perms, 0);
	/* BTC and USDT held: BNBBTC and LTCUSDT are candidates, XRPEUR not. */
	expect(&h, "/api/v3/myTrades?symbol=BNBBTC&fromId=0&limit=1000&recvWindow=10000&timestamp=");
	assert_int_equal(answer(&h, 200, "[{\"symbol\":\"BNBBTC\",\"id\":28457,\"orderId\":100234,\"orderListId\":-1,"
	    "\"price\":\"4.00000100\",\"qty\":\"12.00000000\",\"quoteQty\":\"48.000012\",\"commission\":\"10.10000000\","
	    "\"commissionAsset\":\"BNB\",\"time\":1499865549590,\"isBuyer\":true,\"isMaker\":false,\"isBestMatch\":true}]",
	    NULL, &o), XR_OK);
	assert_int_equal(h.rec.nfills, 1);
	f = &h.rec.fills[0];
	assert_string_equal(f->id, "28457");
	assert_string_equal(f->order, "100234");
	assert_int_equal(f->timestamp, 1499865549590LL);
	assert_string_equal(f->symbol, "BNB/BTC");
	assert_int_equal(f->side, FILL_BUY);
	assert_int_equal(f->role, FILL_TAKER);
	assert_dec(f->price, "4.000001");
	assert_dec(f->amount, "12");
	assert_true(f->has_cost);
	assert_dec(f->cost, "48.000012");
	assert_int_equal(f->nfees, 1);
	assert_dec(f->fees[0].cost, "10.1");
	assert_string_equal(f->fees[0].currency, "BNB");
	assert_int_equal(f->market, FILL_SPOT);
	/* ccxt's LTCUSDT example: sell 0.2 @ 69.63, cost 13.926, fee 0.013926 USDT, taker. */
	expect(&h, "/api/v3/myTrades?symbol=LTCUSDT&fromId=0&limit=1000");
	assert_int_equal(answer(&h, 200, "[{\"symbol\":\"LTCUSDT\",\"id\":309520010,\"orderId\":3303466291,"
	    "\"orderListId\":-1,\"price\":\"69.63000000\",\"qty\":\"0.20000000\",\"quoteQty\":\"13.92600000\","
	    "\"commission\":\"0.01392600\",\"commissionAsset\":\"USDT\",\"time\":1690000000000,\"isBuyer\":false,"
	    "\"isMaker\":false,\"isBestMatch\":true}]", NULL, &o), XR_OK);
	f = &h.rec.fills[1];
	assert_string_equal(f->symbol, "LTC/USDT");
	assert_int_equal(f->side, FILL_SELL);
	assert_dec(f->cost, "13.926");
	assert_dec(f->fees[0].cost, "0.013926");
	expect(&h, "/sapi/v1/capital/deposit/hisrec?startTime=");
	assert_int_equal(answer(&h, 200, "[{\"id\":\"769800519366885376\",\"amount\":\"0.001\",\"coin\":\"BNB\","
	    "\"network\":\"BNB\",\"status\":1,\"insertTime\":1661493146000},{\"id\":\"2\",\"amount\":\"5\",\"coin\":"
	    "\"BNB\",\"status\":0,\"insertTime\":1661493147000}]", NULL, &o), XR_OK);
	/* 90-day windows up to now: 365 days take five. */
	for (int i = 0; i < 4; i++)
		ok(&h, "/sapi/v1/capital/deposit/hisrec?startTime=", "[]");
	expect(&h, "/sapi/v1/capital/withdraw/history?startTime=");
	assert_int_equal(answer(&h, 200, "[{\"id\":\"b6ae22b3aa844210a7041aee7589627c\",\"amount\":\"8.91000000\","
	    "\"transactionFee\":\"0.004\",\"coin\":\"USDT\",\"status\":6,\"applyTime\":\"2019-10-12 11:12:02\"}]",
	    NULL, &o), XR_OK);
	assert_int_equal(h.rec.nflows, 2);	/* the pending deposit is not counted */
	assert_string_equal(h.rec.flow_id[0], "769800519366885376");
	assert_dec(h.rec.flow_amt[1], "-8.914");
	assert_int_equal(h.rec.flow_ts[1], 1570878722000LL);
	for (int i = 0; i < 4; i++)
		ok(&h, "/sapi/v1/capital/withdraw/history?startTime=", "[]");
	/* Daily closes: each traded symbol from its first day, then BTCUSDT. */
	expect(&h, "/api/v3/klines?symbol=BNBBTC&interval=1d&startTime=1499817600000&limit=1000");
	assert_null(h.req.headers[0].name);	/* public: no key, no signature */
	assert_null(strstr(h.req.url, "signature="));
	assert_int_equal(answer(&h, 200, "[[1499817600000,\"0.01634790\",\"0.80000000\",\"0.01575800\",\"0.01577100\","
	    "\"148976.11427815\",1499903999999,\"2434.19055334\",308,\"1756.87402397\",\"28.46694368\",\"0\"]]",
	    NULL, &o), XR_OK);
	assert_string_equal(h.rec.price_sym[0], "BNB/BTC");
	assert_dec(h.rec.price[0], "0.015771");
	/* every symbol's closes from the account's first day (a deposit) */
	ok(&h, "/api/v3/klines?symbol=LTCUSDT&interval=1d&startTime=1499817600000", "[]");
	ok(&h, "/api/v3/klines?symbol=BTCUSDT&interval=1d&startTime=1499817600000", "[]");
	if (h.c.ops->next(&h.c, &h.cred, 1700000000000LL, &h.req, &err) != 0)
		fail_msg("unexpected request %s", h.req.url);
	assert_true(h.c.backfill_done);

	/* Incremental a minute later: the same cursors, trades only (no clock,
	 * exchangeInfo, balances, restrictions or flows: they are fresh). */
	h.c.ops->begin(&h.c, 1700000060000LL);
	expect(&h, "/api/v3/myTrades?symbol=BNBBTC&fromId=28458&limit=1000");
	/* Eleven minutes on: balances again (new symbols come from them), not
	 * the hourly restrictions. */
	xreq_clear(&h.req);
	h.c.ops->begin(&h.c, 1700000660000LL);
	ok(&h, "/api/v3/account", "{\"canTrade\":true,\"balances\":[{\"asset\":\"BTC\",\"free\":\"1\","
	    "\"locked\":\"0\"}]}");
	expect(&h, "/api/v3/myTrades?symbol=BNBBTC&fromId=28458&limit=1000");
	/* An hour on: balances, restrictions, and later the flows. */
	xreq_clear(&h.req);
	h.c.ops->begin(&h.c, 1700003700000LL);
	ok(&h, "/api/v3/account", "{\"canTrade\":true,\"balances\":[{\"asset\":\"BTC\",\"free\":\"1\","
	    "\"locked\":\"0\"}]}");
	ok(&h, "/sapi/v1/account/apiRestrictions", "{\"enableWithdrawals\":true,\"enableSpotAndMarginTrading\":true}");
	assert_int_equal(h.rec.perms, 3);
	expect(&h, "/api/v3/myTrades?symbol=BNBBTC&fromId=28458&limit=1000");
	xreq_clear(&h.req);
	h_close(&h);
}

static void
test_pagination_overlap(void **state)
{
	struct harness h;
	struct xoutcome o;
	char *page;
	size_t len = 0, cap = 1000 * 300;

	(void)state;
	h_open(&h, FILL_SPOT);
	ok(&h, "/api/v3/time", "{\"serverTime\":1700000000000}");
	ok(&h, "/api/v3/exchangeInfo", spot_info);
	ok(&h, "/api/v3/account", "{\"canTrade\":true,\"balances\":[{\"asset\":\"BNB\",\"free\":\"1\",\"locked\":\"0\"}]}");
	ok(&h, "/sapi/v1/account/apiRestrictions", "{\"enableWithdrawals\":false,\"enableSpotAndMarginTrading\":true}");
	/* A full page of ids 100..1099, then a page that starts 3 ids early (the overlap fault). */
	page = xmalloc(cap);
	page[len++] = '[';
	for (int i = 0; i < 1000; i++)
		len += (size_t)snprintf(page + len, cap - len, "%s{\"symbol\":\"BNBBTC\",\"id\":%d,\"orderId\":1,"
		    "\"price\":\"1\",\"qty\":\"1\",\"quoteQty\":\"1\",\"commission\":\"0\",\"commissionAsset\":\"BNB\","
		    "\"time\":%d,\"isBuyer\":true,\"isMaker\":true}", i > 0 ? "," : "", 100 + i, 1000 + i);
	snprintf(page + len, cap - len, "]");
	expect(&h, "/api/v3/myTrades?symbol=BNBBTC&fromId=0&limit=1000");
	assert_int_equal(answer(&h, 200, page, NULL, &o), XR_OK);
	assert_int_equal(h.c.ops->next(&h.c, &h.cred, 1700000000000LL, &h.req, &(const char *){ NULL }), 1);
	assert_non_null(strstr(h.req.url, "symbol=BNBBTC&fromId=1100&"));
	h.rec.nfills = 0;
	assert_int_equal(answer(&h, 200, "[{\"symbol\":\"BNBBTC\",\"id\":1097,\"orderId\":1,\"price\":\"1\",\"qty\":\"1\","
	    "\"quoteQty\":\"1\",\"commission\":\"0\",\"commissionAsset\":\"BNB\",\"time\":1997,\"isBuyer\":true,"
	    "\"isMaker\":true},{\"symbol\":\"BNBBTC\",\"id\":1100,\"orderId\":1,\"price\":\"1\",\"qty\":\"1\","
	    "\"quoteQty\":\"1\",\"commission\":\"0\",\"commissionAsset\":\"BNB\",\"time\":2000,\"isBuyer\":true,"
	    "\"isMaker\":true}]", NULL, &o), XR_OK);
	assert_int_equal(h.rec.nfills, 1);
	assert_string_equal(h.rec.fills[0].id, "1100");
	assert_int_equal(h.rec.fills[0].role, FILL_MAKER);
	/* A short page ends the symbol. */
	expect(&h, "/sapi/v1/capital/deposit/hisrec");
	free(page);
	h_close(&h);
}

static void
test_futures_and_margin_rows(void **state)
{
	struct harness h;
	struct xoutcome o;
	const struct fill *f;

	(void)state;
	h_open(&h, FILL_FUTURES);
	ok(&h, "/fapi/v1/time", "{\"serverTime\":1700000000000}");
	ok(&h, "/fapi/v1/exchangeInfo", "{\"symbols\":[{\"symbol\":\"BTCUSDT\",\"baseAsset\":\"BTC\",\"quoteAsset\":"
	    "\"USDT\",\"marginAsset\":\"USDT\",\"contractType\":\"PERPETUAL\"},{\"symbol\":\"ETHUSDT_240628\","
	    "\"baseAsset\":\"ETH\",\"quoteAsset\":\"USDT\",\"marginAsset\":\"USDT\"},{\"symbol\":\"LTCBUSD\","
	    "\"baseAsset\":\"LTC\",\"quoteAsset\":\"BUSD\",\"marginAsset\":\"BUSD\"}]}");
	expect(&h, "/fapi/v2/account?recvWindow=10000&timestamp=");
	assert_int_equal(h.req.weight, 5);
	/* The real shape (/fapi/v2/account): cash = walletBalance +
	 * unrealizedProfit - notional of the positions settled in the asset. */
	assert_int_equal(answer(&h, 200, "{\"canTrade\":true,\"assets\":[{\"asset\":\"USDT\",\"walletBalance\":"
	    "\"23.72469206\",\"unrealizedProfit\":\"0.00000000\",\"marginBalance\":\"23.72469206\"},{\"asset\":"
	    "\"BUSD\",\"walletBalance\":\"103.12345678\",\"unrealizedProfit\":\"-1.50000000\",\"marginBalance\":"
	    "\"101.62345678\"}],\"positions\":[{\"symbol\":\"LTCBUSD\",\"initialMargin\":\"0\",\"unrealizedProfit\":"
	    "\"-1.50000000\",\"leverage\":\"10\",\"isolated\":false,\"entryPrice\":\"70.0\",\"positionSide\":"
	    "\"BOTH\",\"positionAmt\":\"-1.5\",\"notional\":\"-106.5\",\"updateTime\":0},{\"symbol\":\"BTCUSDT\","
	    "\"unrealizedProfit\":\"0.00000000\",\"positionAmt\":\"0.000\",\"notional\":\"0\",\"positionSide\":"
	    "\"BOTH\"}]}", NULL, &o), XR_OK);
	/* USDT as is; BUSD: 103.12345678 - 1.5 + 106.5; the short as -1.5 of its symbol */
	assert_int_equal(h.rec.nbal, 3);
	assert_string_equal(h.rec.bal[0], "USDT");
	assert_dec(h.rec.baltot[0], "23.72469206");
	assert_string_equal(h.rec.bal[1], "BUSD");
	assert_dec(h.rec.baltot[1], "208.12345678");
	assert_string_equal(h.rec.bal[2], "LTC/BUSD:BUSD");
	assert_dec(h.rec.baltot[2], "-1.5");
	ok(&h, "/sapi/v1/account/apiRestrictions", "{\"enableWithdrawals\":true,\"enableFutures\":true,"
	    "\"enableSpotAndMarginTrading\":false}");
	assert_int_equal(h.rec.perms, 3);
	expect(&h, "/fapi/v1/income?startTime=");
	assert_int_equal(answer(&h, 200, "[{\"symbol\":\"\",\"incomeType\":\"TRANSFER\",\"income\":\"100\",\"asset\":"
	    "\"USDT\",\"time\":1690000000000,\"tranId\":9689322392,\"tradeId\":\"\"}]", NULL, &o), XR_OK);
	assert_int_equal(h.rec.nflows, 1);
	assert_string_equal(h.rec.flow_id[0], "9689322392");
	/* Candidates: the open position first, then the USDT symbols. */
	ok(&h, "/fapi/v1/userTrades?symbol=LTCBUSD&fromId=0", "[]");
	expect(&h, "/fapi/v1/userTrades?symbol=BTCUSDT&fromId=0&limit=1000");
	assert_int_equal(h.req.weight, 5);
	assert_int_equal(answer(&h, 200, "[{\"buyer\":false,\"commission\":\"-0.07819010\",\"commissionAsset\":\"USDT\","
	    "\"id\":698759,\"maker\":false,\"orderId\":25851813,\"price\":\"7819.01\",\"qty\":\"0.002\",\"quoteQty\":"
	    "\"15.63802\",\"realizedPnl\":\"-0.91539999\",\"side\":\"SELL\",\"positionSide\":\"SHORT\",\"symbol\":"
	    "\"BTCUSDT\",\"time\":1569514978020,\"marginAsset\":\"USDT\"}]", NULL, &o), XR_OK);
	f = &h.rec.fills[0];
	assert_string_equal(f->symbol, "BTC/USDT:USDT");
	assert_int_equal(f->side, FILL_SELL);
	assert_int_equal(f->role, FILL_TAKER);
	assert_dec(f->cost, "15.63802");
	assert_dec(f->fees[0].cost, "-0.0781901");
	assert_int_equal(f->market, FILL_FUTURES);
	expect(&h, "/fapi/v1/userTrades?symbol=ETHUSDT_240628&fromId=0");
	h_close(&h);

	h_open(&h, FILL_MARGIN);
	ok(&h, "/api/v3/time", "{\"serverTime\":1700000000000}");
	ok(&h, "/api/v3/exchangeInfo", spot_info);
	ok(&h, "/api/v3/account", "{\"canTrade\":true,\"balances\":[]}");
	ok(&h, "/sapi/v1/margin/account", "{\"userAssets\":[{\"asset\":\"BNB\",\"borrowed\":\"0\",\"free\":\"1\","
	    "\"interest\":\"0\",\"locked\":\"0\",\"netAsset\":\"1\"},{\"asset\":\"USDT\",\"borrowed\":\"5\",\"free\":"
	    "\"0\",\"interest\":\"0\",\"locked\":\"0\",\"netAsset\":\"-5\"}]}");
	/* net of debt: the borrowed USDT is a negative balance */
	assert_int_equal(h.rec.nbal, 2);
	assert_string_equal(h.rec.bal[1], "USDT");
	assert_dec(h.rec.baltot[1], "-5");
	ok(&h, "/sapi/v1/account/apiRestrictions", "{\"enableWithdrawals\":false,\"enableSpotAndMarginTrading\":true}");
	assert_int_equal(h.rec.perms, 1);
	expect(&h, "/sapi/v1/margin/myTrades?symbol=BNBBTC&fromId=0&limit=1000");
	assert_int_equal(h.req.weight, 10);
	assert_int_equal(answer(&h, 200, "[{\"commission\":\"0.00006000\",\"commissionAsset\":\"BTC\",\"id\":34,"
	    "\"isBestMatch\":true,\"isBuyer\":false,\"isMaker\":false,\"orderId\":39324,\"price\":\"0.02000000\","
	    "\"qty\":\"3.00000000\",\"symbol\":\"BNBBTC\",\"isIsolated\":false,\"time\":1561973357171}]", NULL, &o),
	    XR_OK);
	f = &h.rec.fills[0];
	assert_string_equal(f->symbol, "BNB/BTC");
	assert_int_equal(f->side, FILL_SELL);
	assert_dec(f->cost, "0.06");	/* no quoteQty: price * qty */
	assert_int_equal(f->market, FILL_MARGIN);
	/* The borrowed USDT makes LTCUSDT a candidate. */
	expect(&h, "/sapi/v1/margin/myTrades?symbol=LTCUSDT&fromId=0");
	h_close(&h);
}

/* Binance's documented /fapi/v1/income example (a TRANSFER and a
 * COMMISSION row), with a FUNDING_FEE row of the same documented shape:
 * the transfer is a flow, the funding a payment of its position's unified
 * symbol in its asset, and every symbol named a candidate. Then the
 * pagination of full pages: rows sharing the last millisecond (every
 * position's funding is booked at one instant) are read again from it; a
 * page all in one millisecond moves on past it. */
static void
test_futures_funding_income(void **state)
{
	struct harness h;
	struct xoutcome o;
	char *page;
	size_t n, cap = 1000 * 220;

	(void)state;
	h_open(&h, FILL_FUTURES);
	ok(&h, "/fapi/v1/time", "{\"serverTime\":1700000000000}");
	ok(&h, "/fapi/v1/exchangeInfo", "{\"symbols\":[{\"symbol\":\"BTCUSDT\",\"baseAsset\":\"BTC\",\"quoteAsset\":"
	    "\"USDT\",\"marginAsset\":\"USDT\",\"contractType\":\"PERPETUAL\"},{\"symbol\":\"ETHUSDT\",\"baseAsset\":"
	    "\"ETH\",\"quoteAsset\":\"USDT\",\"marginAsset\":\"USDT\",\"contractType\":\"PERPETUAL\"}]}");
	ok(&h, "/fapi/v2/account", "{\"canTrade\":true,\"assets\":[],\"positions\":[]}");
	ok(&h, "/sapi/v1/account/apiRestrictions", "{\"enableWithdrawals\":false,\"enableFutures\":true}");
	expect(&h, "/fapi/v1/income?startTime=");
	assert_int_equal(answer(&h, 200, "[{\"symbol\":\"\",\"incomeType\":\"TRANSFER\",\"income\":\"-0.37500000\","
	    "\"asset\":\"USDT\",\"info\":\"TRANSFER\",\"time\":1570608000000,\"tranId\":9689322392,\"tradeId\":\"\"},"
	    "{\"symbol\":\"BTCUSDT\",\"incomeType\":\"COMMISSION\",\"income\":\"-0.01000000\",\"asset\":\"USDT\","
	    "\"info\":\"COMMISSION\",\"time\":1570636800000,\"tranId\":9689322392,\"tradeId\":\"2059192\"},"
	    "{\"symbol\":\"ETHUSDT\",\"incomeType\":\"FUNDING_FEE\",\"income\":\"-0.00151200\",\"asset\":\"USDT\","
	    "\"info\":\"FUNDING_FEE\",\"time\":1570665600000,\"tranId\":9689322393,\"tradeId\":\"\"}]", NULL, &o),
	    XR_OK);
	assert_int_equal(h.rec.nflows, 1);
	assert_string_equal(h.rec.flow_id[0], "9689322392");
	assert_dec(h.rec.flow_amt[0], "-0.375");
	assert_int_equal(h.rec.nfunding, 1);
	assert_string_equal(h.rec.fund_id[0], "9689322393");
	assert_string_equal(h.rec.fund_sym[0], "ETH/USDT:USDT");
	assert_string_equal(h.rec.fund_cur[0], "USDT");
	assert_int_equal(h.rec.fund_ts[0], 1570665600000LL);
	assert_dec(h.rec.fund_amt[0], "-0.001512");
	/* both named symbols are walked */
	ok(&h, "/fapi/v1/userTrades?symbol=BTCUSDT&fromId=0", "[]");
	ok(&h, "/fapi/v1/userTrades?symbol=ETHUSDT&fromId=0", "[]");
	h_close(&h);

	/* A full page whose last two rows share a millisecond. */
	page = xmalloc(cap);
	h_open(&h, FILL_FUTURES);
	ok(&h, "/fapi/v1/time", "{\"serverTime\":1700000000000}");
	ok(&h, "/fapi/v1/exchangeInfo", "{\"symbols\":[]}");
	ok(&h, "/fapi/v2/account", "{\"canTrade\":true,\"assets\":[],\"positions\":[]}");
	ok(&h, "/sapi/v1/account/apiRestrictions", "{\"enableWithdrawals\":false,\"enableFutures\":true}");
	for (int round = 0; round < 2; round++) {
		n = (size_t)snprintf(page, cap, "[");
		for (int i = 0; i < 1000; i++) {
			/* round 0: 1000 funding times, the last shared; round 1: one time */
			long long t = round == 0 ? 1680000000000LL + (long long)(i < 999 ? i : 998) * 28800000LL :
			    1690000000000LL;
			n += (size_t)snprintf(page + n, cap - n, "%s{\"symbol\":\"S%d\",\"incomeType\":\"FUNDING_FEE\","
			    "\"income\":\"0.1\",\"asset\":\"USDT\",\"info\":\"FUNDING_FEE\",\"time\":%lld,\"tranId\":%d,"
			    "\"tradeId\":\"\"}", i ? "," : "", i % 2, t, round * 1000 + i);
		}
		snprintf(page + n, cap - n, "]");
		expect(&h, "/fapi/v1/income?startTime=");
		assert_int_equal(answer(&h, 200, page, NULL, &o), XR_OK);
		expect(&h, round == 0 ? "/fapi/v1/income?startTime=1708742400000&" :
		    "/fapi/v1/income?startTime=1690000000001&");
		if (round == 0) {
			/* the repeated millisecond: same ids, and the cycle goes on */
			assert_int_equal(answer(&h, 200, "[]", NULL, &o), XR_OK);
			h_close(&h);
			h_open(&h, FILL_FUTURES);
			ok(&h, "/fapi/v1/time", "{\"serverTime\":1700000000000}");
			ok(&h, "/fapi/v1/exchangeInfo", "{\"symbols\":[]}");
			ok(&h, "/fapi/v2/account", "{\"canTrade\":true,\"assets\":[],\"positions\":[]}");
			ok(&h, "/sapi/v1/account/apiRestrictions", "{\"enableWithdrawals\":false,\"enableFutures\":true}");
		}
	}
	free(page);
	h_close(&h);
}

/* Runs the spot cycle up to the first trades request. */
static void
to_trades(struct harness *h)
{
	h_open(h, FILL_SPOT);
	ok(h, "/api/v3/time", "{\"serverTime\":1700000000000}");
	ok(h, "/api/v3/exchangeInfo", spot_info);
	ok(h, "/api/v3/account", "{\"canTrade\":true,\"balances\":[{\"asset\":\"BNB\",\"free\":\"1\",\"locked\":\"0\"}]}");
	ok(h, "/sapi/v1/account/apiRestrictions", "{\"enableWithdrawals\":false,\"enableSpotAndMarginTrading\":true}");
	expect(h, "/api/v3/myTrades?symbol=BNBBTC");
}

static void
test_error_mapping(void **state)
{
	static const struct {
		long status;
		const char *body;
		struct hdrs h;
		enum xresult want;
		int64_t retry_after;
		const char *in_error;
	} cases[] = {
		{ 429, "{\"code\":-1003,\"msg\":\"Too much request weight used\"}", { { "Retry-After" }, { "7" } },
		    XR_RATE_LIMITED, 7000, "-1003" },
		{ 418, "{\"code\":-1003,\"msg\":\"Way too much request weight used; IP banned until 1.\"}",
		    { { "Retry-After" }, { "120" } }, XR_RATE_LIMITED, 120000, "418" },
		{ 400, "{\"code\":-1003,\"msg\":\"x\"}", { { NULL }, { NULL } }, XR_RATE_LIMITED, 0, "-1003" },
		{ 403, "", { { NULL }, { NULL } }, XR_RATE_LIMITED, 0, "403" },
		{ 400, "{\"code\":-1021,\"msg\":\"Timestamp for this request is outside of the recvWindow.\"}",
		    { { NULL }, { NULL } }, XR_CLOCK, 0, "-1021" },
		{ 400, "{\"code\":-1022,\"msg\":\"Signature for this request is not valid.\"}", { { NULL }, { NULL } },
		    XR_AUTH, 0, "-1022" },
		{ 401, "{\"code\":-2014,\"msg\":\"API-key format invalid.\"}", { { NULL }, { NULL } }, XR_AUTH, 0,
		    "-2014" },
		{ 401, "{\"code\":-2015,\"msg\":\"Invalid API-key, IP, or permissions for action.\"}",
		    { { NULL }, { NULL } }, XR_AUTH, 0, "Invalid API-key, IP, or permissions for action." },
		{ 401, "{\"code\":-1002,\"msg\":\"You are not authorized to execute this request.\"}",
		    { { NULL }, { NULL } }, XR_AUTH, 0, "-1002" },
		{ 500, "{\"code\":-1001,\"msg\":\"Internal error\"}", { { NULL }, { NULL } }, XR_RETRY, 0, "500" },
		{ 503, "<html>", { { NULL }, { NULL } }, XR_RETRY, 0, "503" },
		{ 0, "", { { NULL }, { NULL } }, XR_RETRY, 0, "transport" },
		{ 200, "[{\"symbol\":\"BNBBTC\",\"id\":1", { { NULL }, { NULL } }, XR_RETRY, 0, "malformed" },
		{ 200, "<html><body><h1>502 Bad Gateway</h1></body></html>{\"", { { NULL }, { NULL } }, XR_RETRY, 0,
		    "malformed" },
		{ 200, "{\"not\":\"an array\"}", { { NULL }, { NULL } }, XR_RETRY, 0, "not an array" },
		{ 200, "[{\"symbol\":\"BNBBTC\",\"id\":1,\"orderId\":1,\"price\":\"x\",\"qty\":\"1\"}]", { { NULL }, { NULL } },
		    XR_RETRY, 0, "malformed trade row" },
		{ 400, "{\"code\":-1127,\"msg\":\"More than 24 hours between startTime and endTime.\"}",
		    { { NULL }, { NULL } }, XR_FATAL, 0, "-1127" },
	};
	struct harness h;
	struct xoutcome o;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		to_trades(&h);
		if (answer(&h, cases[i].status, cases[i].body, &cases[i].h, &o) != cases[i].want)
			fail_msg("case %zu: result %d, want %d (%s)", i, o.result, cases[i].want, o.error);
		assert_int_equal(o.retry_after_ms, cases[i].retry_after);
		if (strstr(o.error, cases[i].in_error) == NULL)
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, o.error, cases[i].in_error);
		assert_int_equal(h.rec.nfills, 0);
		/* Anything but OK, AUTH and FATAL repeats the step (after a resync for -1021). */
		if (cases[i].want == XR_CLOCK) {
			expect(&h, "/api/v3/time");
			assert_int_equal(answer(&h, 200, "{\"serverTime\":1700000010000}", NULL, &o), XR_OK);
			assert_int_equal(h.c.clock_offset_ms, 10000);
			expect(&h, "/api/v3/myTrades?symbol=BNBBTC&fromId=0");
			assert_non_null(strstr(h.req.url, "timestamp=1700000010000"));
		} else if (cases[i].want != XR_AUTH && cases[i].want != XR_FATAL)
			expect(&h, "/api/v3/myTrades?symbol=BNBBTC&fromId=0");
		h_close(&h);
	}
}

static void
test_unknown_symbol_and_weight(void **state)
{
	struct harness h;
	struct xoutcome o;
	struct hdrs hd = { { "X-MBX-USED-WEIGHT-1M" }, { "1234" } };

	(void)state;
	to_trades(&h);
	/* -1121: the symbol is dropped, the cycle goes on. */
	assert_int_equal(answer(&h, 400, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", &hd, &o), XR_OK);
	assert_int_equal(o.used_weight, 1234);
	expect(&h, "/sapi/v1/capital/deposit/hisrec");
	h_close(&h);
}

/* The request just made is charged weight against pool and serves part. */
static void
charged(const struct harness *h, unsigned pool, unsigned weight, enum xpart part)
{
	if (h->req.pool != pool || h->req.weight != weight || h->req.part != part)
		fail_msg("%s: pool %u weight %u part %d, want %u %u %d", h->req.url, h->req.pool, h->req.weight,
		    (int)h->req.part, pool, weight, (int)part);
}

/* Binance's per-IP pools are per API family, and every request is charged
 * its documented weight against its family's pool. */
static void
test_pools_and_weights(void **state)
{
	struct xpool pools[XPOOL_MAX];
	struct harness h;
	size_t n;

	(void)state;
	h_open(&h, FILL_MARGIN);
	n = h.c.ops->pools(&h.c, pools);
	assert_int_equal(n, 4);
	/* Binance's windows are fixed: what a bucket lets through in any
	 * window (cap + window x rate) stays within the limit, and holds the
	 * heaviest request. */
	assert_string_equal(pools[0].name, "api");
	assert_true(pools[0].cap + 60 * pools[0].per_s <= 6000 && pools[0].per_s >= 85 && !pools[0].per_key);
	assert_string_equal(pools[1].name, "sapi");
	assert_true(pools[1].cap + 60 * pools[1].per_s <= 12000 && pools[1].per_s >= 170);
	assert_string_equal(pools[2].name, "fapi");
	assert_true(pools[2].cap + 60 * pools[2].per_s <= 2400 && pools[2].per_s >= 34 && pools[2].cap >= 30);
	/* withdraw history: 18,000 of a per-second 180,000 */
	assert_true(pools[3].cap >= 18000 && pools[3].cap + pools[3].per_s <= 180000);
	/* A margin session: its /api calls on the api pool, /sapi on sapi. */
	expect(&h, "/api/v3/time");
	charged(&h, 0, 1, XPART_FILLS);
	ok(&h, "/api/v3/time", "{\"serverTime\":1700000000000}");
	expect(&h, "/api/v3/exchangeInfo");
	charged(&h, 0, 20, XPART_FILLS);
	ok(&h, "/api/v3/exchangeInfo", spot_info);
	expect(&h, "/api/v3/account");
	charged(&h, 0, 20, XPART_FILLS);
	ok(&h, "/api/v3/account", "{\"canTrade\":true,\"balances\":[]}");
	expect(&h, "/sapi/v1/margin/account");
	charged(&h, 1, 10, XPART_FILLS);
	ok(&h, "/sapi/v1/margin/account", "{\"userAssets\":[{\"asset\":\"BNB\",\"borrowed\":\"0\",\"free\":\"1\","
	    "\"interest\":\"0\",\"locked\":\"0\",\"netAsset\":\"1\"}]}");
	expect(&h, "/sapi/v1/account/apiRestrictions");
	charged(&h, 1, 1, XPART_PERMISSIONS);
	ok(&h, "/sapi/v1/account/apiRestrictions", "{\"enableWithdrawals\":false,\"enableSpotAndMarginTrading\":true}");
	expect(&h, "/sapi/v1/margin/myTrades?symbol=BNBBTC");
	charged(&h, 1, 10, XPART_FILLS);
	ok(&h, "/sapi/v1/margin/myTrades?symbol=BNBBTC", "[]");
	expect(&h, "/sapi/v1/capital/deposit/hisrec");
	charged(&h, 1, 1, XPART_FLOWS);
	for (int i = 0; i < 5; i++)
		ok(&h, "/sapi/v1/capital/deposit/hisrec", "[]");
	expect(&h, "/sapi/v1/capital/withdraw/history");
	charged(&h, 3, 18000, XPART_FLOWS);
	h_close(&h);

	/* USD-M: klines of limit 1000 weigh 5, on the fapi pool. */
	h_open(&h, FILL_FUTURES);
	expect(&h, "/fapi/v1/time");
	charged(&h, 2, 1, XPART_FILLS);
	ok(&h, "/fapi/v1/time", "{\"serverTime\":1700000000000}");
	expect(&h, "/fapi/v1/exchangeInfo");
	charged(&h, 2, 1, XPART_FILLS);
	ok(&h, "/fapi/v1/exchangeInfo", "{\"symbols\":[{\"symbol\":\"BTCUSDT\",\"baseAsset\":\"BTC\",\"quoteAsset\":"
	    "\"USDT\",\"marginAsset\":\"USDT\"}]}");
	expect(&h, "/fapi/v2/account");
	charged(&h, 2, 5, XPART_FILLS);
	ok(&h, "/fapi/v2/account", "{\"canTrade\":true,\"assets\":[],\"positions\":[]}");
	/* A futures session's /sapi call is on the sapi pool. */
	expect(&h, "/sapi/v1/account/apiRestrictions");
	charged(&h, 1, 1, XPART_PERMISSIONS);
	ok(&h, "/sapi/v1/account/apiRestrictions", "{\"enableWithdrawals\":false,\"enableFutures\":false}");
	expect(&h, "/fapi/v1/income");
	charged(&h, 2, 30, XPART_FILLS);
	ok(&h, "/fapi/v1/income", "[{\"symbol\":\"BTCUSDT\",\"incomeType\":\"COMMISSION\",\"income\":\"-0.01\","
	    "\"asset\":\"USDT\",\"time\":1690000000000,\"tranId\":1,\"tradeId\":\"2\"}]");
	expect(&h, "/fapi/v1/userTrades?symbol=BTCUSDT");
	charged(&h, 2, 5, XPART_FILLS);
	ok(&h, "/fapi/v1/userTrades?symbol=BTCUSDT", "[{\"buyer\":false,\"commission\":\"0.1\",\"commissionAsset\":"
	    "\"USDT\",\"id\":1,\"maker\":false,\"orderId\":2,\"price\":\"100\",\"qty\":\"1\",\"quoteQty\":\"100\","
	    "\"realizedPnl\":\"0\",\"side\":\"BUY\",\"positionSide\":\"BOTH\",\"symbol\":\"BTCUSDT\",\"time\":"
	    "1690000000000}]");
	expect(&h, "/fapi/v1/klines?symbol=BTCUSDT&interval=1d&startTime=1689984000000&limit=1000");
	charged(&h, 2, 5, XPART_PRICES);
	h_close(&h);
}

/* A side step the key may not take is degraded, not XR_AUTH, and the cycle
 * goes on past it; a side step the poller gives up (ops->skip) likewise;
 * ops->resync asks the server's time, then the same step again. */
static void
test_side_steps(void **state)
{
	static const char refused[] = "{\"code\":-2015,\"msg\":\"Invalid API-key, IP, or permissions for action.\"}";
	struct harness h;
	struct xoutcome o;

	(void)state;
	h_open(&h, FILL_SPOT);
	ok(&h, "/api/v3/time", "{\"serverTime\":1700000000000}");
	ok(&h, "/api/v3/exchangeInfo", spot_info);
	ok(&h, "/api/v3/account", "{\"canTrade\":true,\"balances\":[{\"asset\":\"BNB\",\"free\":\"1\",\"locked\":\"0\"}]}");
	/* restrictions refused: permissions degraded, unknown */
	expect(&h, "/sapi/v1/account/apiRestrictions");
	assert_int_equal(answer(&h, 401, refused, NULL, &o), XR_OK);
	assert_non_null(strstr(h.c.degraded[XPART_PERMISSIONS], "-2015"));
	assert_int_equal(h.rec.perms, -1);
	/* the fills walk is untouched */
	expect(&h, "/api/v3/myTrades?symbol=BNBBTC&fromId=0");
	/* ... and a resync in its middle: time, then the same page again */
	h.c.ops->resync(&h.c);
	xreq_clear(&h.req);
	ok(&h, "/api/v3/time", "{\"serverTime\":1700000005000}");
	expect(&h, "/api/v3/myTrades?symbol=BNBBTC&fromId=0");
	assert_non_null(strstr(h.req.url, "timestamp=1700000005000"));
	assert_int_equal(answer(&h, 200, "[{\"symbol\":\"BNBBTC\",\"id\":7,\"orderId\":1,\"price\":\"1\",\"qty\":\"1\","
	    "\"quoteQty\":\"1\",\"commission\":\"0\",\"commissionAsset\":\"BNB\",\"time\":1690000000000,\"isBuyer\":true,"
	    "\"isMaker\":true}]", NULL, &o), XR_OK);
	assert_int_equal(h.rec.nfills, 1);
	/* deposits refused: degraded, and the next request is the withdrawals', not the same deposits window */
	expect(&h, "/sapi/v1/capital/deposit/hisrec");
	assert_int_equal(answer(&h, 401, refused, NULL, &o), XR_OK);
	assert_non_null(strstr(h.c.degraded[XPART_FLOWS], "deposits and withdrawals unavailable"));
	assert_non_null(strstr(h.c.degraded[XPART_FLOWS], "-2015"));
	expect(&h, "/sapi/v1/capital/withdraw/history");
	assert_int_equal(answer(&h, 401, refused, NULL, &o), XR_OK);
	/* closes: the poller gives up BNBBTC's after its retries; BTCUSDT's come next */
	expect(&h, "/api/v3/klines?symbol=BNBBTC");
	assert_int_equal(answer(&h, 503, "<html>", NULL, &o), XR_RETRY);
	assert_int_equal(h.req.part, XPART_PRICES);
	(h.c.ops->skip)(&h.c, &h.req);	/* parenthesised: cmocka has a skip() macro */
	expect(&h, "/api/v3/klines?symbol=BTCUSDT");
	/* an unknown series: degraded, and done */
	assert_int_equal(answer(&h, 400, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}", NULL, &o), XR_OK);
	assert_non_null(strstr(h.c.degraded[XPART_PRICES], "BTCUSDT"));
	assert_int_equal(h.c.ops->next(&h.c, &h.cred, 1700000000000LL, &h.req, &(const char *){ NULL }), 0);
	assert_true(h.c.backfill_done);
	assert_int_equal(h.rec.nfills, 1);
	h_close(&h);
}

static void
test_open(void **state)
{
	struct xconn c;
	struct xconf conf = { .market = FILL_MARGIN, .sandbox = true };
	const char *err = NULL;

	(void)state;
	/* Cross margin has no testnet. */
	assert_int_equal(xconn_open(&c, &exchange_binance, &conf, &err), -1);
	assert_non_null(err);
	conf.market = FILL_FUTURES;
	assert_int_equal(xconn_open(&c, &exchange_binance, &conf, &err), 0);
	assert_string_equal(c.base_url, "https://testnet.binancefuture.com");
	xconn_close(&c);
	conf.sandbox = false;
	assert_int_equal(xconn_open(&c, &exchange_binance, &conf, &err), 0);
	assert_string_equal(c.base_url, "https://fapi.binance.com");
	xconn_close(&c);
	assert_ptr_equal(exchange_find("binance"), &exchange_binance);
	assert_null(exchange_find("binanc"));
	assert_true(exchange_binance.ascending);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_vectors),
		cmocka_unit_test(test_hmac_wrong_secret),
		cmocka_unit_test(test_ed25519_roundtrip),
		cmocka_unit_test(test_pem_errors),
		cmocka_unit_test(test_spot_cycle),
		cmocka_unit_test(test_pagination_overlap),
		cmocka_unit_test(test_futures_and_margin_rows),
		cmocka_unit_test(test_futures_funding_income),
		cmocka_unit_test(test_error_mapping),
		cmocka_unit_test(test_unknown_symbol_and_weight),
		cmocka_unit_test(test_pools_and_weights),
		cmocka_unit_test(test_side_steps),
		cmocka_unit_test(test_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
