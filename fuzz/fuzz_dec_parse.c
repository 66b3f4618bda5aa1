/* dec_parse on arbitrary text; what parses formats to text that parses back
 * to the same value, and that text is a fixed point. */
#include <string.h>

#include "core/dec.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dec a, b;
	const char *err = NULL;
	char buf[128], buf2[128];
	size_t n, n2;
	char *copy = malloc(size > 0 ? size : 1);

	/* Not NUL-terminated, exact size: the parser must honour len. */
	memcpy(copy, data, size);
	if (dec_parse(copy, size, &a, &err) == 0) {
		n = dec_format(buf, sizeof(buf), a);
		fuzz_check(n > 0 && n < sizeof(buf) && strlen(buf) == n);
		fuzz_check(dec_parse(buf, n, &b, &err) == 0);
		fuzz_check(dec_cmp(a, b) == 0);
		n2 = dec_format(buf2, sizeof(buf2), b);
		fuzz_check(n2 == n && memcmp(buf, buf2, n) == 0);
	} else
		fuzz_check(err != NULL);
	free(copy);
	return 0;
}
