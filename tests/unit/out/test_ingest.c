#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/fill.h"
#include "core/ledger.h"
#include "core/prim.h"
#include "core/signed.h"
#include "out/ingest.h"

#define H10 1704103200000LL	/* 2024-01-01T10:00:00Z */
#define HOUR 3600000LL

static uint8_t seed[32], pub[32];
static char key_id[SIGNED_KEY_ID_HEX + 1];

static int
sign_cb(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	return prim_ed25519_sign(sig, msg, len, arg);
}

static int
failing_sign(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	return -1;
}

static void
apply(struct ledger *l, const char *json)
{
	const char *field = NULL, *err = NULL;
	enum ledger_outcome out;
	struct fill f;
	int line;
	json_t *o = fill_json_loads(json, strlen(json), &line, &err);

	assert_non_null(o);
	assert_int_equal(fill_from_json(&f, o, &field, &err), 0);
	assert_int_equal(ledger_apply(l, &f, &out, &err), 0);
	assert_int_equal(out, LEDGER_APPLIED);
	json_decref(o);
}

/* Hour 10: BTC/USDT buy 1 @ 100 and sell 0.5 @ 110 (fees 0.1 and 0.05 USDT).
 * Hour 11: BTC/USDT sell 0.5 @ 90; ETH/BTC buy 2 @ 0.05 (fee 0.0001 BTC). */
static struct ledger *
sample(void)
{
	struct ledger *l = ledger_new();

	apply(l, "{\"id\":\"1\",\"datetime\":\"2024-01-01T10:00:10Z\",\"symbol\":\"BTC/USDT\",\"side\":\"buy\","
	    "\"price\":100,\"amount\":1,\"cost\":100,\"fee\":{\"cost\":0.1,\"currency\":\"USDT\"}}");
	apply(l, "{\"id\":\"2\",\"datetime\":\"2024-01-01T10:30:00Z\",\"symbol\":\"BTC/USDT\",\"side\":\"sell\","
	    "\"price\":110,\"amount\":0.5,\"cost\":55,\"fee\":{\"cost\":0.05,\"currency\":\"USDT\"}}");
	apply(l, "{\"id\":\"3\",\"datetime\":\"2024-01-01T11:05:00Z\",\"symbol\":\"ETH/BTC\",\"side\":\"buy\","
	    "\"price\":0.05,\"amount\":2,\"cost\":0.1,\"fee\":{\"cost\":0.0001,\"currency\":\"BTC\"}}");
	apply(l, "{\"id\":\"4\",\"datetime\":\"2024-01-01T11:10:00Z\",\"symbol\":\"BTC/USDT\",\"side\":\"sell\","
	    "\"price\":90,\"amount\":0.5,\"cost\":45}");
	return l;
}

static json_t *
build(const struct ledger *l, int64_t start, int64_t end, const char *kind)
{
	struct ingest_period p = { .client_id = "c-abc", .exchange = "binance", .connector_version = "0.1.0",
		.start_ms = start, .end_ms = end, .kind = kind };
	const char *err = NULL;
	json_t *doc = ingest_build(l, &p, sign_cb, seed, key_id, 1, &err);

	assert_non_null(doc);
	return doc;
}

static const char *
sget(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL)
		fail_msg("%s is not a string", k);
	return s;
}

static int
setup(void **state)
{
	(void)state;
	if (prim_ed25519_keygen(seed, pub) != 0)
		return -1;
	signed_key_id(key_id, pub);
	return 0;
}

static void
test_shape_and_exact_strings(void **state)
{
	struct ledger *l = sample();
	json_t *doc = build(l, H10, H10 + HOUR, "hourly"), *b, *t;
	static const char *const top[] = { "client_id", "exchange", "connector_version", "period_start", "period_end",
		"hourly_buckets", "totals", "fees_unconverted", "metadata", "idempotency_key", "signing_key_id", "key_epoch",
		"signature" };

	(void)state;
	assert_int_equal(json_object_size(doc), sizeof(top) / sizeof(top[0]));
	for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++)
		assert_non_null(json_object_get(doc, top[i]));
	assert_string_equal(sget(doc, "client_id"), "c-abc");
	assert_string_equal(sget(doc, "exchange"), "binance");
	assert_string_equal(sget(doc, "period_start"), "2024-01-01T10:00:00.000Z");
	assert_string_equal(sget(doc, "period_end"), "2024-01-01T11:00:00.000Z");
	assert_string_equal(sget(json_object_get(doc, "metadata"), "kind"), "hourly");

	/* Only the hour that ended in the period: hour 10. */
	assert_int_equal(json_array_size(json_object_get(doc, "hourly_buckets")), 1);
	b = json_array_get(json_object_get(doc, "hourly_buckets"), 0);
	assert_string_equal(sget(b, "t"), "2024-01-01T10:00:00.000Z");
	assert_string_equal(sget(b, "quote"), "USDT");
	assert_int_equal(json_integer_value(json_object_get(b, "trades")), 2);
	/* Exact decimal strings, never JSON numbers. */
	assert_string_equal(sget(b, "volume_base"), "1.5");
	assert_string_equal(sget(b, "volume_quote"), "155");
	assert_string_equal(sget(b, "fees_usd"), "0.15");
	assert_string_equal(sget(b, "realized_pnl"), "4.9");
	/* A percent: 100 * 4.9 / 50.05, not the fraction 0.0979. */
	assert_string_equal(sget(b, "return_pct"), "9.79020979020979021");

	t = json_object_get(doc, "totals");
	assert_int_equal(json_integer_value(json_object_get(t, "trades")), 2);
	assert_string_equal(sget(t, "volume_quote"), "155");
	assert_string_equal(sget(t, "fees_usd"), "0.15");
	json_decref(doc);
	ledger_free(l);
}

static void
test_quotes_not_mixed(void **state)
{
	struct ledger *l = sample();
	json_t *doc = build(l, H10, H10 + 2 * HOUR, "backfill"), *bs, *t, *btc;
	size_t i;

	(void)state;
	bs = json_object_get(doc, "hourly_buckets");
	assert_int_equal(json_array_size(bs), 3);
	for (i = 0; i < 3; i++) {
		json_t *b = json_array_get(bs, i);
		if (strcmp(sget(b, "quote"), "BTC") == 0) {
			/* Not a USD-like quote: fees stay in BTC, named. */
			assert_true(json_is_null(json_object_get(b, "fees_usd")));
			assert_string_equal(sget(b, "fees_quote"), "0.0001");
			/* Nothing closed: no return. */
			assert_true(json_is_null(json_object_get(b, "return_pct")));
		} else if (strcmp(sget(b, "t"), "2024-01-01T11:00:00.000Z") == 0)
			assert_string_equal(sget(b, "return_pct"), "-10.08991008991008991");
	}
	t = json_object_get(doc, "totals");
	assert_int_equal(json_integer_value(json_object_get(t, "trades")), 4);
	assert_string_equal(sget(t, "volume_base"), "4");
	assert_string_equal(sget(t, "volume_quote"), "200");	/* USDT only */
	assert_string_equal(sget(t, "fees_usd"), "0.15");
	btc = json_object_get(json_object_get(t, "by_quote"), "BTC");
	assert_non_null(btc);
	assert_string_equal(sget(btc, "volume_quote"), "0.1");
	assert_string_equal(sget(btc, "fees_quote"), "0.0001");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(t, "by_quote"), "USDT"),
	    "trades")), 3);
	json_decref(doc);

	/* An unfinished hour is in no period yet. */
	doc = build(l, H10 + HOUR, H10 + HOUR + HOUR / 2, "hourly");
	assert_int_equal(json_array_size(json_object_get(doc, "hourly_buckets")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "totals"), "trades")), 0);
	assert_string_equal(sget(json_object_get(doc, "totals"), "fees_usd"), "0");
	json_decref(doc);
	ledger_free(l);
}

static void
test_idempotency_key(void **state)
{
	struct ledger *l = sample();
	json_t *a = build(l, H10, H10 + HOUR, "hourly"), *b = build(l, H10, H10 + HOUR, "hourly"), *c;
	char *sa = json_dumps(a, JSON_COMPACT), *sb = json_dumps(b, JSON_COMPACT);
	char k[INGEST_KEY_HEX + 1];

	(void)state;
	/* Known answer (computed independently with Python's hashlib). */
	ingest_key(k, "c-abc", "binance", H10, H10 + HOUR);
	assert_string_equal(k, "0b88fd98dc871cffae1f4ef3e89ef3096ed5e988adf239d4f78bc39d409a8934");
	assert_string_equal(sget(a, "idempotency_key"), k);
	/* Rebuilt: same key, same bytes (Ed25519 is deterministic). */
	assert_string_equal(sa, sb);
	/* Another period, another key. */
	c = build(l, H10 + HOUR, H10 + 2 * HOUR, "hourly");
	assert_string_not_equal(sget(c, "idempotency_key"), k);
	ingest_key(k, "c-abd", "binance", H10, H10 + HOUR);
	assert_string_not_equal(sget(a, "idempotency_key"), k);
	free(sa);
	free(sb);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	ledger_free(l);
}

static void
test_signature(void **state)
{
	struct ledger *l = sample();
	json_t *doc = build(l, H10, H10 + 2 * HOUR, "backfill"), *c;
	struct ingest_period p = { .client_id = "c-abc", .exchange = "binance", .connector_version = "0.1.0",
		.start_ms = H10, .end_ms = H10 + HOUR, .kind = "hourly" };
	const char *err = NULL;
	char *text;

	(void)state;
	assert_string_equal(sget(doc, "signing_key_id"), key_id);
	assert_int_equal(signed_verify(doc, pub, &err), 0);
	/* Through serialization, as the backend sees it. */
	text = json_dumps(doc, JSON_COMPACT);
	c = json_loads(text, 0, NULL);
	assert_int_equal(signed_verify(c, pub, &err), 0);
	/* One changed amount fails. */
	json_object_set_new(json_array_get(json_object_get(c, "hourly_buckets"), 0), "volume_quote",
	    json_string("155.000001"));
	assert_int_equal(signed_verify(c, pub, &err), -1);
	json_decref(c);
	free(text);
	/* A signer that fails: no payload. */
	assert_null(ingest_build(l, &p, failing_sign, NULL, key_id, 1, &err));
	assert_non_null(err);
	json_decref(doc);
	ledger_free(l);
}

static void
test_client_id(void **state)
{
	uint8_t k1[32], k2[32], sid[32];
	char a[INGEST_CLIENT_ID_LEN + 1], b[INGEST_CLIENT_ID_LEN + 1];

	(void)state;
	memset(k1, 1, sizeof(k1));
	memset(k2, 3, sizeof(k2));
	memset(sid, 2, sizeof(sid));
	/* Known answer: HMAC-SHA-256(0x01 * 32, 0x02 * 32), first 16 bytes. */
	ingest_client_id(a, k1, sid, sizeof(sid));
	assert_string_equal(a, "c-7321406e0c880fd92597898beb393af2");
	ingest_client_id(b, k1, sid, sizeof(sid));
	assert_string_equal(a, b);
	ingest_client_id(b, k2, sid, sizeof(sid));
	assert_string_not_equal(a, b);
	/* Never the id itself (0202...). */
	assert_null(strstr(a, "0202"));
	assert_true(ingest_usd_like("USDT") && ingest_usd_like("USD") && ingest_usd_like("USDC"));
	assert_false(ingest_usd_like("BTC") || ingest_usd_like("EUR") || ingest_usd_like("usdt"));
}

/* 1 BNB = 300 USDT, any day. */
static int
bnb_rate(void *arg, const char *currency, const char *quote, int64_t day, struct dec *num, struct dec *den)
{
	(void)arg;
	(void)day;
	if (strcmp(currency, "BNB") != 0 || strcmp(quote, "USDT") != 0)
		return -1;
	*num = dec_from_int(300);
	*den = dec_from_int(1);
	return 0;
}

/*
 * A fee paid in BNB on a BTC/USDT fill at 12:20 counts in nothing until its
 * rate is known: a document carrying 12:00 lists it in fees_unconverted
 * (and says its figures leave it out), one that does not lists nothing.
 * Once converted, nothing is listed and the fee is in fees_quote.
 */
static void
test_unconverted_fees_said(void **state)
{
	struct ledger *l = sample();
	json_t *doc, *u;
	size_t n = 0;
	char b[DEC_STR_MAX];

	(void)state;
	apply(l, "{\"id\":\"5\",\"datetime\":\"2024-01-01T12:20:00Z\",\"symbol\":\"BTC/USDT\",\"side\":\"buy\","
	    "\"price\":100,\"amount\":1,\"cost\":100,\"fee\":{\"cost\":0.01,\"currency\":\"BNB\"}}");
	assert_int_equal(ledger_fees_pending(l), 1);
	doc = build(l, H10 + 2 * HOUR, H10 + 3 * HOUR, "hourly");
	u = json_object_get(doc, "fees_unconverted");
	assert_int_equal(json_array_size(u), 1);
	assert_string_equal(sget(json_array_get(u, 0), "currency"), "BNB");
	assert_string_equal(sget(json_array_get(u, 0), "quote"), "USDT");
	assert_string_equal(sget(json_array_get(u, 0), "pending_first"), "2024-01-01T12:20:00.000Z");
	assert_string_equal(sget(json_array_get(u, 0), "pending_last"), "2024-01-01T12:20:00.000Z");
	assert_non_null(strstr(sget(json_object_get(doc, "metadata"), "units"), "fees_unconverted"));
	json_decref(doc);
	/* a period that does not carry 12:00 lists nothing */
	doc = build(l, H10, H10 + 2 * HOUR, "hourly");
	assert_int_equal(json_array_size(json_object_get(doc, "fees_unconverted")), 0);
	json_decref(doc);
	/* the backfill document carrying every hour lists it too */
	doc = build(l, H10 - HOUR, H10 + 3 * HOUR, "backfill");
	assert_int_equal(json_array_size(json_object_get(doc, "fees_unconverted")), 1);
	json_decref(doc);
	/* converted: nothing listed, the fee in fees_quote */
	assert_int_equal(ledger_resolve_fees(l, bnb_rate, NULL, &n, &(const char *){ NULL }), 0);
	assert_int_equal(n, 1);
	doc = build(l, H10 + 2 * HOUR, H10 + 3 * HOUR, "hourly");
	assert_int_equal(json_array_size(json_object_get(doc, "fees_unconverted")), 0);
	dec_format(b, sizeof(b), dec_from_int(3));
	assert_string_equal(sget(json_array_get(json_object_get(doc, "hourly_buckets"), 0), "fees_quote"), b);
	json_decref(doc);
	ledger_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape_and_exact_strings),
		cmocka_unit_test(test_quotes_not_mixed),
		cmocka_unit_test(test_idempotency_key),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_client_id),
		cmocka_unit_test(test_unconverted_fees_said),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
