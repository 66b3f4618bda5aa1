/*
 * hex: written here because OpenSSL's OPENSSL_buf2hexstr emits upper case
 * and OPENSSL_hexstr2buf needs a NUL-terminated string; parsers in this
 * project take (buf, len).
 */
#include <stdint.h>

#include "core/hex.h"

void
hex_encode(char *out, const uint8_t *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(uint8_t *out, size_t cap, size_t *outlen, const char *s, size_t slen)
{
	size_t i;
	int hi, lo;

	if (slen % 2 != 0 || slen / 2 > cap)
		return -1;
	for (i = 0; i < slen / 2; i++) {
		hi = hex_value((unsigned char)s[2 * i]);
		lo = hex_value((unsigned char)s[2 * i + 1]);
		if (hi == -1 || lo == -1)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = slen / 2;
	return 0;
}

int
hex_decode_exact(uint8_t *out, size_t n, const char *s, size_t slen)
{
	size_t got;

	if (slen != 2 * n)
		return -1;
	return hex_decode(out, n, &got, s, slen);
}
