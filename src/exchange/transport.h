/*
 * transport: the poller's HTTP transfers, many at once on one libcurl multi
 * handle. A request (exchange.h, struct xreq) goes out as it is, over
 * http or https only, TLS always verified; the response's body and header
 * lines are kept for the caller until it ends the transfer. Easy handles are
 * kept idle and reused (their connection, DNS and TLS session caches too).
 *
 * THREAD SAFETY: transport_wakeup may be called from any thread; every other
 * function from the thread that owns the transport only.
 */
#ifndef PERFAGG_EXCHANGE_TRANSPORT_H
#define PERFAGG_EXCHANGE_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "exchange/exchange.h"

#define TRANSPORT_MAX_BODY (64u << 20)		/* a 64 MiB page is not a page */
#define TRANSPORT_MAX_HEADERS 65536		/* header bytes kept; more are dropped */

struct transport_config {
	int64_t timeout_ms;		/* per transfer, connection included */
	unsigned max_transfers;		/* in flight at once: connections and idle handles kept */
	const char *ca_bundle;		/* NULL: the system's (copied) */
	size_t max_body;		/* 0: TRANSPORT_MAX_BODY; a longer body fails the transfer */
};

/* One transfer, embedded in its owner. Zeroed before first use; the fields
 * are the transport's. */
struct transfer {
	CURL *easy;			/* NULL when not started */
	struct curl_slist *hdrs;	/* the request's header lines */
	void *owner;
	size_t body_cap;
	char *body;
	size_t body_len;
	char *rhdrs;			/* response header lines as received, NUL-terminated */
	size_t rhdrs_len;
};

/* A finished transfer, as transport_finished reports it. */
struct transport_done {
	struct transfer *x;
	void *owner;			/* as given to transport_start */
	CURLcode cc;			/* CURLE_OK, or why the transfer failed */
	long status;			/* HTTP status; 0 unless cc is CURLE_OK */
	int64_t total_us;		/* the transfer's total time */
};

struct transport;

/* A transport for cfg (max_transfers 0 is taken as 512). Returns NULL if
 * libcurl cannot be set up. */
struct transport *transport_new(const struct transport_config *cfg);
/* Frees t and its idle handles. Every transfer must have been ended first.
 * NULL is a no-op. */
void transport_free(struct transport *t);

/*
 * Starts req on x for owner (returned with x once finished). x must not be
 * started. req is read now except its body, which libcurl sends from where
 * it is: req must stay unchanged until transport_end(x). Header lines
 * carry API keys and signatures: the buffer they are formatted in is wiped.
 */
void transport_start(struct transport *t, struct transfer *x, const struct xreq *req, void *owner);
/* Ends x, finished or not: its handle goes idle for reuse, its buffers are
 * freed and x is zeroed for its next start. A no-op on an x not started. */
void transport_end(struct transport *t, struct transfer *x);
/* The number of transfers started and not yet ended. */
unsigned transport_in_flight(const struct transport *t);

/* Moves every transfer on as far as it goes without waiting. */
void transport_perform(struct transport *t);
/* Takes the next transfer found finished by transport_perform into *out.
 * Returns 0, or -1 if there is none. The transfer stays started (its body
 * and headers readable) until the caller ends it. */
int transport_finished(struct transport *t, struct transport_done *out);
/* Waits up to ms for activity on any transfer or transport_wakeup. */
void transport_wait(struct transport *t, int ms);
/* Makes a transport_wait under way, or the next one, return at once. */
void transport_wakeup(struct transport *t);

/* The header lines of req for CURLOPT_HTTPHEADER ("Name: value"; NULL
 * when it has none). They carry API keys and signatures: free them with
 * transport_headers_free, which wipes every line (so is the buffer each is
 * formatted in). Aborts when out of memory. */
struct curl_slist *transport_headers(const struct xreq *req);
/* Wipes and frees lines from transport_headers. NULL is a no-op. */
void transport_headers_free(struct curl_slist *lines);

/* The response body so far, NUL-terminated ("" if none); its length in *len. */
const char *transport_body(const struct transfer *x, size_t *len);
/* Looks up response header name (case-insensitive), copying its value into
 * out (cap bytes). Returns out, or NULL if absent. */
const char *transport_header(const struct transfer *x, const char *name, char *out, size_t cap);

#endif
