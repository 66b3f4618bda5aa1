/*
 * jcs: RFC 8785 JSON Canonicalization Scheme over jansson values.
 *
 * Object members are sorted by the UTF-16 code units of their names, strings
 * are escaped as RFC 8785 section 3.2.2.2 says, numbers are serialized as
 * ECMAScript's Number.prototype.toString does (shortest round-trip form).
 * jansson integers are treated as IEEE doubles, as I-JSON requires: an
 * integer beyond 2^53 that a double cannot hold exactly is refused. NaN and
 * infinities cannot occur in JSON and are refused.
 */
#ifndef PERFAGG_CORE_JCS_H
#define PERFAGG_CORE_JCS_H

#include <jansson.h>
#include <stddef.h>

/* Returns a fresh NUL-terminated canonical UTF-8 string (caller frees with
 * free()) and its length in *len, or NULL with *errstr set. */
char *jcs_canonicalize(const json_t *value, size_t *len, const char **errstr);

/* Formats a double as ECMAScript Number.prototype.toString into out (>= 32
 * bytes). Returns the length, or -1 for NaN/infinity. */
int jcs_format_number(char out[32], double v);

#endif
