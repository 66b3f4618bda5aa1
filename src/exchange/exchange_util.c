/* Request building and the connector plumbing every exchange shares. */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exchange/exchange.h"
#include "util/log.h"
#include "util/xalloc.h"

static void
wipe_free(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void
xreq_set(struct xreq *r, const char *method, const char *base, const char *path, const char *query)
{
	xreq_clear(r);
	snprintf(r->method, sizeof(r->method), "%s", method);
	r->url = query != NULL && *query != '\0' ? xasprintf("%s%s?%s", base, path, query) : xasprintf("%s%s", base, path);
	r->weight = 1;
}

void
xreq_header(struct xreq *r, const char *name, const char *value)
{
	if (r->nheaders == XREQ_MAX_HEADERS)
		fatalx("xreq: more than %d headers", XREQ_MAX_HEADERS);
	r->headers[r->nheaders].name = xstrdup(name);
	r->headers[r->nheaders].value = xstrdup(value);
	r->nheaders++;
}

void
xreq_body(struct xreq *r, const char *body, size_t len)
{
	free(r->body);
	r->body = xmalloc(len + 1);
	memcpy(r->body, body, len);
	r->body[len] = '\0';
	r->body_len = len;
}

void
xreq_clear(struct xreq *r)
{
	/* Headers carry the API key and signatures; bodies carry nonces and
	 * signed parameters: wiped, not just freed. */
	wipe_free(r->url);
	for (size_t i = 0; i < r->nheaders; i++) {
		wipe_free(r->headers[i].name);
		wipe_free(r->headers[i].value);
	}
	if (r->body != NULL) {
		OPENSSL_cleanse(r->body, r->body_len);
		free(r->body);
	}
	memset(r, 0, sizeof(*r));
}

char *
xurl_encode(const char *s, size_t len)
{
	static const char hexd[] = "0123456789ABCDEF";
	char *out = xmalloc(3 * len + 1), *p = out;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~')
			*p++ = (char)c;
		else {
			*p++ = '%';
			*p++ = hexd[c >> 4];
			*p++ = hexd[c & 15];
		}
	}
	*p = '\0';
	return out;
}

const char *
xheaders_find(const char *raw, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = raw;

	while (p != NULL && *p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t ll = eol != NULL ? (size_t)(eol - p) : strlen(p);
		if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			size_t vl = ll - nl - 1;
			while (vl > 0 && (*v == ' ' || *v == '\t'))
				v++, vl--;
			while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
				vl--;
			snprintf(out, cap, "%.*s", (int)vl, v);
			return out;
		}
		p = eol != NULL ? eol + 1 : NULL;
	}
	return NULL;
}

void
xoutcome_error(struct xoutcome *out, enum xresult r, const char *fmt, ...)
{
	va_list ap;

	out->result = r;
	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
}

const char *
xpart_name(enum xpart p)
{
	static const char *const names[XPART_COUNT] = { "fills", "balances", "flows", "prices", "permissions" };

	if ((unsigned)p >= XPART_COUNT)
		fatalx("xpart_name: %d", (int)p);
	return names[p];
}

void
xconn_degrade(struct xconn *c, enum xpart part, const char *fmt, ...)
{
	va_list ap;

	if ((unsigned)part >= XPART_COUNT)
		fatalx("xconn_degrade: part %d", (int)part);
	if (c->degraded[part][0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->degraded[part], sizeof(c->degraded[part]), fmt, ap);
	va_end(ap);
	/* An empty reason would read as "complete". */
	if (c->degraded[part][0] == '\0')
		snprintf(c->degraded[part], sizeof(c->degraded[part]), "incomplete");
}

int
xconn_open(struct xconn *c, const struct exchange_ops *ops, const struct xconf *conf, const char **errstr)
{
	const char *base;

	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->conf = *conf;
	c->conf.base_url = NULL;	/* not retained: copied below */
	base = conf->base_url != NULL ? conf->base_url :
	    conf->sandbox ? ops->sandbox_url[conf->market] : ops->prod_url[conf->market];
	if (base == NULL) {
		*errstr = conf->sandbox ? "the exchange has no sandbox for this account type" :
		    "the exchange does not offer this account type";
		return -1;
	}
	if (strlen(base) >= sizeof(c->base_url)) {
		*errstr = "base URL too long";
		return -1;
	}
	memcpy(c->base_url, base, strlen(base) + 1);
	/* A trailing slash would double up with every path. */
	for (size_t n = strlen(c->base_url); n > 0 && c->base_url[n - 1] == '/'; n--)
		c->base_url[n - 1] = '\0';
	return ops->open(c, errstr);
}

void
xconn_close(struct xconn *c)
{
	if (c->ops != NULL && c->ops->close != NULL)
		c->ops->close(c);
	c->priv = NULL;
}

/* ------------------------------------------------------------------ checkpoints */

/* The layout of xconn_save(); a connector changing its own part's layout
 * bumps it too, so that an old checkpoint is refused (a full backfill)
 * rather than misread. */
#define XCKPT_VERSION 1
/* A clock further off than this is a damaged checkpoint, not a clock. */
#define XCKPT_CLOCK_MAX (366 * 86400000LL)

void
xunpack_name(struct unpack *r, char *out, size_t cap)
{
	unpack_str(r, out, cap);
	if (out[0] == '\0')
		unpack_fail(r);
}

int64_t
xunpack_range(struct unpack *r, int64_t lo, int64_t hi)
{
	int64_t v = unpack_i64(r);

	if (v < lo || v > hi) {
		unpack_fail(r);
		return 0;
	}
	return v;
}

int64_t
xunpack_day(struct unpack *r, int64_t none)
{
	int64_t v = unpack_i64(r);

	if (v == none)
		return v;
	if (v < 0 || v > XCKPT_TS_MAX || v % 86400000LL != 0) {
		unpack_fail(r);
		return none;
	}
	return v;
}

int
xconn_save(const struct xconn *c, struct pack *w)
{
	size_t len = w->len;

	if (c->ops->save == NULL)
		return -1;
	pack_u8(w, XCKPT_VERSION);
	pack_str(w, c->ops->name);
	pack_u8(w, (uint8_t)c->conf.market);
	pack_bool(w, c->validated);
	pack_bool(w, c->backfill_done);
	pack_i64(w, c->clock_offset_ms);
	pack_u64(w, c->nonce);
	if (c->ops->save(c, w) == -1) {
		w->len = len;
		return -1;
	}
	return 0;
}

/* Puts c back as xconn_open() left it (after a refused checkpoint). */
static void
xconn_reopen(struct xconn *c)
{
	const struct exchange_ops *ops = c->ops;
	struct xconf conf = c->conf;
	char base[XCONN_URL_MAX];
	const char *err = NULL;

	memcpy(base, c->base_url, sizeof(base));
	conf.base_url = base;
	xconn_close(c);
	/* It opened with this conf a moment ago. */
	if (xconn_open(c, ops, &conf, &err) == -1)
		fatalx("xconn_load: reopening %s: %s", ops->name, err);
}

int
xconn_load(struct xconn *c, struct unpack *r, const char **errstr)
{
	char name[32];
	uint8_t version, market;
	bool validated, backfill_done;
	int64_t clock;
	uint64_t nonce;

	if (c->ops->load == NULL) {
		*errstr = "this connector has no checkpoints";
		return -1;
	}
	version = unpack_u8(r);
	unpack_str(r, name, sizeof(name));
	market = unpack_u8(r);
	validated = unpack_bool(r);
	backfill_done = unpack_bool(r);
	clock = unpack_i64(r);
	nonce = unpack_u64(r);
	if (!unpack_ok(r)) {
		*errstr = "checkpoint truncated";
		return -1;
	}
	if (version != XCKPT_VERSION) {
		*errstr = "checkpoint of another version";
		return -1;
	}
	if (strcmp(name, c->ops->name) != 0 || market != (uint8_t)c->conf.market) {
		*errstr = "checkpoint of another exchange or account type";
		return -1;
	}
	if (clock < -XCKPT_CLOCK_MAX || clock > XCKPT_CLOCK_MAX) {
		*errstr = "checkpoint: clock offset out of range";
		return -1;
	}
	c->validated = validated;
	c->backfill_done = backfill_done;
	c->clock_offset_ms = clock;
	c->nonce = nonce;
	*errstr = NULL;
	if (c->ops->load(c, r, errstr) == -1 || !unpack_end(r)) {
		if (*errstr == NULL)
			*errstr = unpack_ok(r) ? "checkpoint: trailing bytes" : "checkpoint truncated or damaged";
		xconn_reopen(c);
		return -1;
	}
	return 0;
}
