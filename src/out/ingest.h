/*
 * ingest: the body of POST {AGGREGATOR_BACKEND_URL}/api/ingest (the seeds'
 * ingestion contract, shared/reference/original.md section 6), built from a
 * session's ledger. Pure code: no I/O, no clock; the caller signs through a
 * callback.
 *
 * Shape (member order as written):
 *	{"client_id": str, "exchange": str, "connector_version": str,
 *	 "period_start": ISO, "period_end": ISO,
 *	 "hourly_buckets": [{"t": ISO, "quote": str, "return_pct": dec|null,
 *	     "trades": int, "volume_base": dec, "volume_quote": dec,
 *	     "fees_quote": dec, "fees_usd": dec|null, "realized_pnl": dec}],
 *	 "totals": {"trades": int, "volume_base": dec, "volume_quote": dec,
 *	     "fees_usd": dec, "by_quote": {QUOTE: {"trades", "volume_base",
 *	     "volume_quote", "fees_quote"}}},
 *	 "fees_unconverted": [{"currency": str, "quote": str,
 *	     "pending_first": ISO, "pending_last": ISO}],
 *	 "metadata": {"kind": "hourly"|"backfill", "units": "..."},
 *	 "idempotency_key": hex, "signing_key_id": hex, "signature": base64}
 *
 * Decisions, where the seeds were wrong or vague:
 * - Numbers: every amount is an exact decimal as a JSON STRING (dec_format),
 *   never a JSON number (the seeds sent 1.2999999999999998). Counts are JSON
 *   integers, times ISO 8601 UTC strings with milliseconds.
 * - return_pct is a PERCENT (the seeds' CLI sent a fraction): 100 *
 *   realized_pnl / closed_basis of the positions closed in that hour,
 *   rounded half to even to 18 places; null when nothing closed (basis 0).
 * - One bucket per (UTC hour, quote currency): the ledger never converts
 *   between quote currencies, so an hour with BTC/USDT and ETH/BTC fills has
 *   two buckets, each naming its quote.
 * - fees_usd: the fees in the quote currency (fees_quote, ledger.h) when the
 *   quote is USD-like (USD, USDT, USDC, taken at par); null otherwise, the
 *   amount then being in fees_quote with the quote named.
 * - totals: trades and volume_base over every bucket (volume_base is a plain
 *   sum of base quantities, as the ledger's totals are); volume_quote and
 *   fees_usd over the USD-like buckets only, so no currencies are mixed;
 *   by_quote has the exact sums for every quote currency.
 * - Which buckets: a payload for the period [period_start, period_end)
 *   carries the buckets of the hours that ENDED in (period_start,
 *   period_end]: an hourly period aligned to the hour carries exactly its
 *   hour, a backfill period every hour completed so far, and consecutive
 *   periods never carry an hour twice nor an unfinished hour.
 * - Third-currency fees (BNB on a BTC/USDT fill) count in fees_quote and
 *   realized_pnl once converted at their day's close (ledger.h), which is
 *   final only after the UTC day ends; until then they count in neither. An
 *   hour is published when it ends all the same (holding today's hours
 *   until tomorrow would make the hourly feed daily), and its document
 *   lists, in fees_unconverted, every (currency, quote) whose pending fills
 *   (first to last, over the account) reach into the hours it carries: its
 *   figures leave those fees out, and say so. Empty when none.
 * - client_id is pseudonymous (ingest_client_id): never the session id.
 * - idempotency_key (ingest_key) depends only on (client_id, exchange,
 *   period_start, period_end), so a rebuilt payload has the same key, and,
 *   Ed25519 being deterministic, the same bytes.
 * - Signed with core/signed.h: signing_key_id and signature cover the whole
 *   payload (RFC 8785 form) without the signature.
 */
#ifndef PERFAGG_OUT_INGEST_H
#define PERFAGG_OUT_INGEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ledger.h"
#include "core/signed.h"

#define INGEST_KEY_HEX 64		/* idempotency key: hex SHA-256 */
#define INGEST_CLIENT_ID_LEN 34		/* "c-" + 32 hex */
#define INGEST_HOUR_MS 3600000LL

/* What one payload is about. Strings are not retained. */
struct ingest_period {
	const char *client_id;
	const char *exchange;
	const char *connector_version;
	int64_t start_ms;		/* period_start, inclusive */
	int64_t end_ms;			/* period_end, exclusive; >= start_ms */
	const char *kind;		/* "hourly" or "backfill" */
};

/* True for the quote currencies counted as USD at par: USD, USDT, USDC. */
bool ingest_usd_like(const char *quote);

/* The pseudonymous client id of a session: "c-" + hex of the first 16 bytes
 * of HMAC-SHA-256(key, sid). key (32 bytes) is the caller's secret. */
void ingest_client_id(char out[INGEST_CLIENT_ID_LEN + 1], const uint8_t key[32], const uint8_t *sid, size_t sidlen);

/* The idempotency key: hex SHA-256 of "perfagg-ingest-v1", client_id,
 * exchange, period_start and period_end (ISO), each followed by a NUL. */
void ingest_key(char out[INGEST_KEY_HEX + 1], const char *client_id, const char *exchange, int64_t start_ms,
    int64_t end_ms);

/*
 * Builds and signs the payload of period p from ledger l (only read).
 * sign/sign_arg/key_id/key_epoch as signed_sign(). Returns a new reference (caller
 * json_decref()s), or NULL with *errstr (overflow, signing failure).
 */
json_t *ingest_build(const struct ledger *l, const struct ingest_period *p, signed_sign_fn sign, void *sign_arg,
    const char *key_id, uint64_t key_epoch, const char **errstr);

#endif
