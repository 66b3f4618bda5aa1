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
