#include "out/ingest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static const char *const usd_like[] = { "USD", "USDT", "USDC" };

bool
ingest_usd_like(const char *quote)
{
	for (size_t i = 0; i < sizeof(usd_like) / sizeof(usd_like[0]); i++)
		if (strcmp(quote, usd_like[i]) == 0)
			return true;
	return false;
}

void
ingest_client_id(char out[INGEST_CLIENT_ID_LEN + 1], const uint8_t key[32], const uint8_t *sid, size_t sidlen)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (HMAC(EVP_sha256(), key, 32, sid, sidlen, mac, &maclen) == NULL || maclen < 16)
		fatalx("ingest_client_id: HMAC-SHA-256 failed");
	memcpy(out, "c-", 2);
	hex_encode(out + 2, mac, 16);
}

void
ingest_key(char out[INGEST_KEY_HEX + 1], const char *client_id, const char *exchange, int64_t start_ms,
    int64_t end_ms)
{
	char ps[TIME_ISO_LEN], pe[TIME_ISO_LEN];
	const char *parts[] = { "perfagg-ingest-v1", client_id, exchange, ps, pe };
	uint8_t md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	time_format_iso_ms(ps, start_ms);
	time_format_iso_ms(pe, end_ms);
	/* NUL after each part: no part contains one, so the split is unambiguous. */
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		fatalx("ingest_key: SHA-256 unavailable");
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]) + 1) != 1)
			fatalx("ingest_key: SHA-256 failed");
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		fatalx("ingest_key: SHA-256 failed");
	EVP_MD_CTX_free(ctx);
	hex_encode(out, md, 32);
}

static json_t *
jdec(struct dec d)
{
	char s[DEC_STR_MAX];

	dec_format(s, sizeof(s), d);
	return json_string(s);
}

static json_t *
jtime(int64_t ms)
{
	char s[TIME_ISO_LEN];

	time_format_iso_ms(s, ms);
	return json_string(s);
}

/* Running sums of one quote currency, or of the USD-like ones. */
struct sums {
	uint64_t trades;
	struct dec volume_base, volume_quote, fees;
};

static int
sums_add(struct sums *s, const struct ledger_bucket *b)
{
	s->trades += b->trades;
	if (dec_add(&s->volume_base, s->volume_base, b->volume_base) != 0 ||
	    dec_add(&s->volume_quote, s->volume_quote, b->volume_quote) != 0 ||
	    dec_add(&s->fees, s->fees, b->fees_quote) != 0)
		return -1;
	return 0;
}

static json_t *
bucket_json(const struct ledger_bucket *b, const char **errstr)
{
	struct dec pct;
	json_t *o, *ret = json_null();

	if (!dec_is_zero(b->closed_basis)) {
		if (dec_muldiv(&pct, b->realized_pnl, dec_from_int(100), b->closed_basis) != 0) {
			*errstr = "return_pct overflows";
			return NULL;
		}
		ret = jdec(pct);
	}
	o = json_object();
	json_object_set_new(o, "t", jtime(b->hour));
	json_object_set_new(o, "quote", json_string(b->quote));
	json_object_set_new(o, "return_pct", ret);
	json_object_set_new(o, "trades", json_integer((json_int_t)b->trades));
	json_object_set_new(o, "volume_base", jdec(b->volume_base));
	json_object_set_new(o, "volume_quote", jdec(b->volume_quote));
	json_object_set_new(o, "fees_quote", jdec(b->fees_quote));
	json_object_set_new(o, "fees_usd", ingest_usd_like(b->quote) ? jdec(b->fees_quote) : json_null());
	json_object_set_new(o, "realized_pnl", jdec(b->realized_pnl));
	return o;
}

static int64_t
hour_of(int64_t ms)
{
	return ms - ((ms % INGEST_HOUR_MS) + INGEST_HOUR_MS) % INGEST_HOUR_MS;
}

/* The (currency, quote) pairs whose pending fills reach into the hours
 * period p carries (those that ended in (start, end]). */
static json_t *
unconverted_json(const struct ledger *l, const struct ingest_period *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ledger_nconversions(l); i++) {
		struct ledger_conversion c;
		ledger_conversion(l, i, &c);
		if (c.pending_fills == 0 || hour_of(c.pending_last) + INGEST_HOUR_MS <= p->start_ms ||
		    hour_of(c.pending_first) + INGEST_HOUR_MS > p->end_ms)
			continue;
		json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:o}", "currency", c.currency, "quote", c.quote,
		    "pending_first", jtime(c.pending_first), "pending_last", jtime(c.pending_last)));
	}
	return a;
}

json_t *
ingest_build(const struct ledger *l, const struct ingest_period *p, signed_sign_fn sign, void *sign_arg,
    const char *key_id, uint64_t key_epoch, const char **errstr)
{
	json_t *doc = NULL, *buckets = json_array(), *by_quote, *totals;
	struct sums all = { 0 }, usd = { 0 }, *perq;
	const char **quotes;
	size_t nq = 0;
	char key[INGEST_KEY_HEX + 1];

	if (p->end_ms < p->start_ms)
		fatalx("ingest_build: period ends before it starts");
	/* Few quote currencies: a linear search is enough. */
	perq = xcalloc(ledger_nquotes(l) + 1, sizeof(*perq));
	quotes = xcalloc(ledger_nquotes(l) + 1, sizeof(*quotes));
	for (size_t i = 0; i < ledger_nbuckets(l); i++) {
		struct ledger_bucket b;
		json_t *bj;
		size_t q;

		ledger_bucket(l, i, &b);
		/* The hours that ended in (start, end]: see ingest.h. */
		if (b.hour + INGEST_HOUR_MS <= p->start_ms || b.hour + INGEST_HOUR_MS > p->end_ms)
			continue;
		if ((bj = bucket_json(&b, errstr)) == NULL)
			goto fail;
		json_array_append_new(buckets, bj);
		for (q = 0; q < nq && strcmp(quotes[q], b.quote) != 0; q++)
			;
		if (q == nq) {
			if (nq == ledger_nquotes(l))
				fatalx("ingest_build: a bucket's quote is not among the ledger's");
			quotes[nq++] = b.quote;
		}
		if (sums_add(&all, &b) != 0 || sums_add(&perq[q], &b) != 0 ||
		    (ingest_usd_like(b.quote) && sums_add(&usd, &b) != 0)) {
			*errstr = "sums overflow";
			goto fail;
		}
	}
	by_quote = json_object();
	for (size_t q = 0; q < nq; q++)
		json_object_set_new(by_quote, quotes[q], json_pack("{s:I, s:o, s:o, s:o}", "trades",
		    (json_int_t)perq[q].trades, "volume_base", jdec(perq[q].volume_base), "volume_quote",
		    jdec(perq[q].volume_quote), "fees_quote", jdec(perq[q].fees)));
	totals = json_object();
	json_object_set_new(totals, "trades", json_integer((json_int_t)all.trades));
	json_object_set_new(totals, "volume_base", jdec(all.volume_base));
	json_object_set_new(totals, "volume_quote", jdec(usd.volume_quote));
	json_object_set_new(totals, "fees_usd", jdec(usd.fees));
	json_object_set_new(totals, "by_quote", by_quote);

	doc = json_object();
	json_object_set_new(doc, "client_id", json_string(p->client_id));
	json_object_set_new(doc, "exchange", json_string(p->exchange));
	json_object_set_new(doc, "connector_version", json_string(p->connector_version));
	json_object_set_new(doc, "period_start", jtime(p->start_ms));
	json_object_set_new(doc, "period_end", jtime(p->end_ms));
	json_object_set_new(doc, "hourly_buckets", buckets);
	buckets = NULL;
	json_object_set_new(doc, "totals", totals);
	json_object_set_new(doc, "fees_unconverted", unconverted_json(l, p));
	json_object_set_new(doc, "metadata", json_pack("{s:s, s:s}", "kind", p->kind, "units",
	    "amounts are exact decimal strings; return_pct is a percent; fees_usd counts USD, USDT and USDC at par; "
	    "fees and realized PnL leave out the third-currency fees listed in fees_unconverted"));
	ingest_key(key, p->client_id, p->exchange, p->start_ms, p->end_ms);
	json_object_set_new(doc, "idempotency_key", json_string(key));
	if (signed_sign(doc, sign, sign_arg, key_id, key_epoch, errstr) != 0)
		goto fail;
	free(perq);
	free(quotes);
	return doc;
fail:
	json_decref(doc);
	json_decref(buckets);
	free(perq);
	free(quotes);
	return NULL;
}
