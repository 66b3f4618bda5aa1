/*
 * b64: standard base64 (RFC 4648 section 4, with padding), strict.
 *
 * Decoding rejects anything but the canonical encoding: characters outside
 * the alphabet, whitespace, missing or extra padding, and non-zero unused
 * bits. Pure code, no allocation except in b64_encode.
 */
#ifndef PERFAGG_CORE_B64_H
#define PERFAGG_CORE_B64_H

#include <stddef.h>
#include <stdint.h>

/* Encoded length of n bytes, excluding the NUL. */
#define B64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/* Encodes (buf, len) into out, which must hold B64_ENCODED_LEN(len)+1 bytes; NUL-terminates. */
void b64_encode_to(char *out, const uint8_t *buf, size_t len);
/* Encodes into a fresh string the caller frees with free(). */
char *b64_encode(const uint8_t *buf, size_t len);

/* Decodes (s, slen) into out (capacity cap). Returns 0 and sets *outlen, or -1
 * if the input is not canonical base64 or does not fit in cap. */
int b64_decode(uint8_t *out, size_t cap, size_t *outlen, const char *s, size_t slen);

/* Decodes exactly n bytes: -1 unless the input decodes to exactly n bytes. */
int b64_decode_exact(uint8_t *out, size_t n, const char *s, size_t slen);

#endif
