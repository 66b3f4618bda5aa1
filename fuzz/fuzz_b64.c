/* b64_decode of arbitrary text (strict: what decodes re-encodes to the same
 * text), and encode/decode round trips of arbitrary bytes. */
#include <string.h>

#include "core/b64.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap = size, outlen = 0, n2;
	uint8_t *out = malloc(cap + 1), *back = malloc(size + 1);
	char *enc;

	if (b64_decode(out, cap, &outlen, (const char *)data, size) == 0) {
		fuzz_check(outlen <= cap);
		enc = b64_encode(out, outlen);
		/* Canonical decoding: only the one encoding of the bytes is accepted. */
		fuzz_check(strlen(enc) == size && memcmp(enc, data, size) == 0);
		free(enc);
		if (outlen > 0)
			fuzz_check(b64_decode(out, outlen - 1, &n2, (const char *)data, size) == -1);
	}
	enc = b64_encode(data, size);
	fuzz_check(b64_decode(back, size, &n2, enc, strlen(enc)) == 0 && n2 == size);
	fuzz_check(size == 0 || memcmp(back, data, size) == 0);
	fuzz_check(b64_decode_exact(back, size, enc, strlen(enc)) == 0);
	free(enc);
	free(out);
	free(back);
	return 0;
}
