/* fill_json_loads (numbers kept exact) and fill_from_json on each object of
 * the input, as perfagg analyze reads a fills file. */
#include <string.h>

#include "core/fill.h"
#include "fuzz.h"

static void
one(const json_t *o)
{
	struct fill f;
	const char *field = NULL, *err = NULL;

	if (fill_from_json(&f, o, &field, &err) == 0) {
		struct dec cost;
		fuzz_check(f.symbol[sizeof(f.symbol) - 1] == '\0' || strlen(f.symbol) < sizeof(f.symbol));
		(void)fill_cost(&f, &cost);
	} else
		fuzz_check(err != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *err = NULL;
	int line = 0;
	json_t *doc = fill_json_loads((const char *)data, size, &line, &err), *v;
	size_t i;

	if (doc == NULL) {
		fuzz_check(err != NULL);
		return 0;
	}
	if (json_is_array(doc))
		json_array_foreach(doc, i, v)
			one(v);
	else
		one(doc);
	json_decref(doc);
	return 0;
}
