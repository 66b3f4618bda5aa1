/*
 * hex: lower-case hexadecimal encoding; decoding accepts either case.
 */
#ifndef PERFAGG_CORE_HEX_H
#define PERFAGG_CORE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lower-case hex characters and a NUL into out. */
void hex_encode(char *out, const uint8_t *buf, size_t len);
/* Decodes (s, slen) into out (capacity cap); slen must be even. Returns 0 and
 * sets *outlen, or -1 on an odd length, a non-hex character or overflow of cap. */
int hex_decode(uint8_t *out, size_t cap, size_t *outlen, const char *s, size_t slen);
/* Decodes exactly n bytes (slen must be 2n). */
int hex_decode_exact(uint8_t *out, size_t n, const char *s, size_t slen);

#endif
