/* sgx_quote_parse on arbitrary bytes; a parsed quote goes through the
 * verifier too (which must refuse or accept without crashing). */
#include <string.h>

#include "core/sgx_quote.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sgx_quote q;
	const char *err = NULL;
	uint8_t *copy = malloc(size > 0 ? size : 1);

	/* An exact-size heap copy, so ASan sees any read past the end. */
	memcpy(copy, data, size);
	if (sgx_quote_parse(&q, copy, size, &err) == 0) {
		err = NULL;
		if (sgx_quote_verify(&q, 1700000000, &err) != 0)
			fuzz_check(err != NULL);
	} else
		fuzz_check(err != NULL);
	free(copy);
	return 0;
}
