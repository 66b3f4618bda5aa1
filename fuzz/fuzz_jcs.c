/* jcs_canonicalize on any JSON value; its output must parse and be its own
 * canonical form (canonicalization is idempotent). The output is re-read
 * with every number as a double, as RFC 8785 reads it: read as a jansson
 * integer, "300000000000000100" (the canonical form of the double
 * 300000000000000128) is refused by design (docs/PROTOCOL.md: integers must
 * be exact in a double). */
#include <jansson.h>
#include <string.h>

#include "core/jcs.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL), *back;
	const char *err = NULL;
	char *c1, *c2;
	size_t n1, n2;

	if (doc == NULL)
		return 0;
	c1 = jcs_canonicalize(doc, &n1, &err);
	if (c1 == NULL) {
		fuzz_check(err != NULL);
		json_decref(doc);
		return 0;
	}
	fuzz_check(strlen(c1) <= n1 && c1[n1] == '\0');
	back = json_loadb(c1, n1, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, NULL);
	fuzz_check(back != NULL);
	c2 = jcs_canonicalize(back, &n2, &err);
	fuzz_check(c2 != NULL);
	fuzz_check(n1 == n2 && memcmp(c1, c2, n1) == 0);
	free(c1);
	free(c2);
	json_decref(back);
	json_decref(doc);
	return 0;
}
