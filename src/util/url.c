#include "util/url.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "util/textbuf.h"

/* Parameter names that carry a secret, matched as a suffix of the lower-case,
 * percent-decoded name: "api_key", "apiKey", "X-Api-Key", "access_token",
 * "client_secret" all match. Over-matching ("monkey") only hides a value. */
static const char *const secret_suffixes[] = { "token", "key", "secret", "signature", "sig", "password",
	"passwd", "auth" };

#define NAME_MAX_DECODED 128

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Whether the parameter name (s, len) names a secret. */
static bool
secret_name(const char *s, size_t len)
{
	char name[NAME_MAX_DECODED];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (n == sizeof(name))
			return true;	/* a name this long is not ours to judge: hide its value */
		name[n++] = (char)tolower(c);
	}
	for (size_t k = 0; k < sizeof(secret_suffixes) / sizeof(secret_suffixes[0]); k++) {
		size_t sl = strlen(secret_suffixes[k]);
		if (n >= sl && memcmp(name + n - sl, secret_suffixes[k], sl) == 0)
			return true;
	}
	return false;
}

/* Appends the parameters (s, len) ("a=1&b=2", also split on ';'), with the
 * values of secret ones replaced. */
static void
redact_params(struct textbuf *t, const char *s, size_t len)
{
	size_t i = 0;

	while (i <= len) {
		size_t end = i, eq;
		while (end < len && s[end] != '&' && s[end] != ';')
			end++;
		for (eq = i; eq < end && s[eq] != '='; eq++)
			;
		if (eq < end && secret_name(s + i, eq - i))
			textbuf_printf(t, "%.*s=%s", (int)(eq - i), s + i, URL_REDACTED);
		else
			textbuf_printf(t, "%.*s", (int)(end - i), s + i);
		if (end < len)
			textbuf_printf(t, "%c", s[end]);
		i = end + 1;
	}
}

char *
url_redact(const char *s, size_t len)
{
	struct textbuf t;
	const char *auth, *at = NULL, *end = s + len, *p, *q;

	textbuf_init(&t);
	/* The authority follows "scheme://"; a "://" after the first '/', '?'
	 * or '#' belongs to the path or the query, not to a scheme. */
	auth = s;
	for (p = s; p + 2 < end && *p != '/' && *p != '?' && *p != '#'; p++)
		if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
			auth = p + 3;
			break;
		}
	/* The userinfo ends at the authority's last '@': a password may hold
	 * a raw '@', the host never does; an '@' in the path is not userinfo. */
	for (p = auth; p < end && *p != '/' && *p != '?' && *p != '#'; p++)
		if (*p == '@')
			at = p;
	if (at != NULL)
		textbuf_printf(&t, "%.*s%s%.*s", (int)(auth - s), s, URL_REDACTED, (int)(p - at), at);
	else
		textbuf_printf(&t, "%.*s", (int)(p - s), s);
	/* The path as it is, then the query and the fragment parameter by parameter. */
	for (q = p; q < end && *q != '?' && *q != '#'; q++)
		;
	textbuf_printf(&t, "%.*s", (int)(q - p), p);
	while (q < end) {
		const char *stop = q + 1;
		while (stop < end && *stop != '#')
			stop++;
		textbuf_printf(&t, "%c", *q);
		redact_params(&t, q + 1, (size_t)(stop - q - 1));
		q = stop;
	}
	return textbuf_take(&t);
}
