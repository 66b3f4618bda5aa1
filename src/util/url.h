/*
 * url: showing a configured URL without the secrets it may carry.
 *
 * Operators put credentials in URLs (https://user:pass@host/..., or
 * ?token=...): such a URL must never reach a log line, the audit log (which
 * is exported to third parties) or a status page as written.
 */
#ifndef PERFAGG_UTIL_URL_H
#define PERFAGG_UTIL_URL_H

#include <stddef.h>

#define URL_REDACTED "REDACTED"

/*
 * Returns a copy of the URL (s, len) (not NUL-terminated; no NUL inside)
 * with the userinfo ("user:pass@", whole, even with an empty password or no
 * password) and the value of every query or fragment parameter whose name
 * ends in token, key, secret, signature, sig, password, passwd or auth
 * (case-insensitive, after percent-decoding the name) replaced by
 * URL_REDACTED. Scheme, host, port, path and other parameters are kept as
 * they are. Without "scheme://", the URL is read as starting with its
 * authority. Never fails; the caller frees the result.
 */
char *url_redact(const char *s, size_t len);

#endif
