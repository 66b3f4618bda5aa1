/* envelope_from_json on whatever jansson makes of the input; a parsed
 * envelope must survive envelope_to_json and opening must fail cleanly. */
#include <jansson.h>
#include <string.h>

#include "core/envelope.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t priv[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };
	struct envelope env, again;
	json_t *doc = json_loadb((const char *)data, size, 0, NULL), *out;
	const char *err = NULL;
	uint8_t pub[32], *pt;

	if (doc == NULL)
		return 0;
	memset(&env, 0, sizeof(env));
	if (envelope_from_json(&env, doc, &err) == 0) {
		out = envelope_to_json(&env);
		fuzz_check(out != NULL);
		memset(&again, 0, sizeof(again));
		err = NULL;
		fuzz_check(envelope_from_json(&again, out, &err) == 0);
		fuzz_check(again.ciphertext_len == env.ciphertext_len);
		fuzz_check(env.ciphertext_len == 0 ||
		    memcmp(again.ciphertext, env.ciphertext, env.ciphertext_len) == 0);
		envelope_clear(&again);
		json_decref(out);
		/* A forged envelope never opens (the tag would have to match). */
		fuzz_check(prim_x25519_public(pub, priv) == 0);
		pt = malloc(env.ciphertext_len + 1);
		fuzz_check(envelope_open(pt, &env, priv, pub) == -1);
		free(pt);
	} else
		fuzz_check(err != NULL);
	envelope_clear(&env);
	json_decref(doc);
	return 0;
}
