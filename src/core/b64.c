/*
 * b64: strict standard base64 on top of OpenSSL's EVP_EncodeBlock and
 * EVP_DecodeBlock. OpenSSL decodes leniently (it skips surrounding
 * whitespace, accepts non-zero unused bits and keeps padding bytes in its
 * output), so the strictness lives here: the input is validated first and
 * only then handed to OpenSSL.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/b64.h"
#include "util/log.h"
#include "util/xalloc.h"

void
b64_encode_to(char *out, const uint8_t *buf, size_t len)
{
	/* EVP_EncodeBlock takes an int: encode whole 3-byte groups in chunks. */
	const size_t chunk = (INT_MAX / 4 / 3) * 3;

	for (;;) {
		size_t n = len > chunk ? chunk : len;

		if (EVP_EncodeBlock((unsigned char *)out, buf, (int)n) != (int)B64_ENCODED_LEN(n))
			fatalx("b64_encode_to: EVP_EncodeBlock failed");
		out += B64_ENCODED_LEN(n);
		buf += n;
		len -= n;
		if (len == 0)
			break;
	}
	*out = '\0';
}

char *
b64_encode(const uint8_t *buf, size_t len)
{
	char *out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 2)
		fatalx("b64_encode: length overflow");
	out = xmalloc(B64_ENCODED_LEN(len) + 1);
	b64_encode_to(out, buf, len);
	return out;
}

/* Value of an alphabet character, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Checks that (s, slen) is canonical base64 and returns the number of
 * padding characters (0..2), or -1.
 */
static int
b64_check(const char *s, size_t slen)
{
	size_t i, body;
	int pad = 0, last;

	if (slen % 4 != 0)
		return -1;
	if (slen == 0)
		return 0;
	if (s[slen - 1] == '=')
		pad = s[slen - 2] == '=' ? 2 : 1;
	body = slen - (size_t)pad;
	for (i = 0; i < body; i++)
		if (b64_value((unsigned char)s[i]) == -1)
			return -1;
	/* The unused low bits of the last character before padding must be zero. */
	last = b64_value((unsigned char)s[body - 1]);
	if ((pad == 1 && (last & 0x03) != 0) || (pad == 2 && (last & 0x0f) != 0))
		return -1;
	return pad;
}

int
b64_decode(uint8_t *out, size_t cap, size_t *outlen, const char *s, size_t slen)
{
	unsigned char last[3];
	size_t n, head;
	int pad;

	if ((pad = b64_check(s, slen)) == -1)
		return -1;
	n = slen / 4 * 3 - (size_t)pad;
	if (n > cap || slen > INT_MAX)
		return -1;
	if (slen == 0) {
		*outlen = 0;
		return 0;
	}
	/*
	 * EVP_DecodeBlock writes 3 bytes per group, padding included, so the
	 * last group goes through a local buffer and out never receives more
	 * than n bytes.
	 */
	head = slen - 4;
	if (head > 0 && EVP_DecodeBlock(out, (const unsigned char *)s, (int)head) != (int)(head / 4 * 3))
		return -1;
	if (EVP_DecodeBlock(last, (const unsigned char *)s + head, 4) != 3)
		return -1;
	memcpy(out + head / 4 * 3, last, 3 - (size_t)pad);
	*outlen = n;
	return 0;
}

int
b64_decode_exact(uint8_t *out, size_t n, const char *s, size_t slen)
{
	size_t got;

	/* Check the length first: out must not receive a partial longer value. */
	if (slen != B64_ENCODED_LEN(n))
		return -1;
	if (b64_decode(out, n, &got, s, slen) == -1 || got != n)
		return -1;
	return 0;
}
