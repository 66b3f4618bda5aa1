#include "core/handover.h"

#include <stdio.h>
#include <string.h>

#include "core/b64.h"
#include "core/hex.h"
#include "core/signed.h"

static const char *const members[] = { "type", "from_epoch", "to_epoch", "from_measurement", "to_measurement",
	"to_x25519", "to_attestation_type", "released_at", "signing_key_id", "key_epoch", "signature" };

#define NMEMBERS (sizeof(members) / sizeof(members[0]))

json_t *
handover_statement_new(const struct handover_claim *c)
{
	char fm[65], tm[65], x[B64_ENCODED_LEN(32) + 1];

	if (c->from_epoch < 1 || c->from_epoch >= HANDOVER_EPOCH_MAX || c->to_epoch != c->from_epoch + 1 ||
	    c->to_attestation_type[0] == '\0' || c->released_at[0] == '\0')
		return NULL;
	hex_encode(fm, c->from_measurement, 32);
	hex_encode(tm, c->to_measurement, 32);
	b64_encode_to(x, c->to_x25519, 32);
	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s}", "type", HANDOVER_TYPE,
	    "from_epoch", (json_int_t)c->from_epoch, "to_epoch", (json_int_t)c->to_epoch,
	    "from_measurement", fm, "to_measurement", tm, "to_x25519", x,
	    "to_attestation_type", c->to_attestation_type, "released_at", c->released_at);
}

static int
epoch_member(const json_t *st, const char *name, uint64_t *out)
{
	const json_t *v = json_object_get(st, name);

	if (!json_is_integer(v) || json_integer_value(v) < 1 || (uint64_t)json_integer_value(v) > HANDOVER_EPOCH_MAX)
		return -1;
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
string_member(const json_t *st, const char *name, char *out, size_t cap)
{
	const json_t *v = json_object_get(st, name);

	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int
handover_statement_verify(const json_t *st, const uint8_t pub[32], struct handover_claim *out,
    const char **errstr)
{
	struct handover_claim c;
	const json_t *v;
	const char *k;
	uint64_t key_epoch;
	size_t n = 0;

	memset(&c, 0, sizeof(c));
	if (!json_is_object(st)) {
		*errstr = "a handover statement is a JSON object";
		return -1;
	}
	json_object_foreach((json_t *)(uintptr_t)st, k, v) {
		size_t i;
		for (i = 0; i < NMEMBERS && strcmp(members[i], k) != 0; i++)
			;
		if (i == NMEMBERS) {
			*errstr = "handover statement: unknown member";
			return -1;
		}
		n++;
	}
	if (n != NMEMBERS) {
		*errstr = "handover statement: a member is missing";
		return -1;
	}
	v = json_object_get(st, "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), HANDOVER_TYPE) != 0) {
		*errstr = "handover statement: type is not " HANDOVER_TYPE;
		return -1;
	}
	if (epoch_member(st, "from_epoch", &c.from_epoch) != 0 || epoch_member(st, "to_epoch", &c.to_epoch) != 0 ||
	    c.to_epoch != c.from_epoch + 1) {
		*errstr = "handover statement: from_epoch and to_epoch are not consecutive epochs";
		return -1;
	}
	if (epoch_member(st, "key_epoch", &key_epoch) != 0 || key_epoch != c.from_epoch) {
		*errstr = "handover statement: not signed under its from_epoch";
		return -1;
	}
	if ((v = json_object_get(st, "from_measurement")) == NULL || !json_is_string(v) ||
	    hex_decode_exact(c.from_measurement, 32, json_string_value(v), json_string_length(v)) != 0 ||
	    (v = json_object_get(st, "to_measurement")) == NULL || !json_is_string(v) ||
	    hex_decode_exact(c.to_measurement, 32, json_string_value(v), json_string_length(v)) != 0) {
		*errstr = "handover statement: a measurement is not hex of 32 bytes";
		return -1;
	}
	if ((v = json_object_get(st, "to_x25519")) == NULL || !json_is_string(v) ||
	    b64_decode_exact(c.to_x25519, 32, json_string_value(v), json_string_length(v)) != 0) {
		*errstr = "handover statement: to_x25519 is not base64 of 32 bytes";
		return -1;
	}
	if (string_member(st, "to_attestation_type", c.to_attestation_type, sizeof(c.to_attestation_type)) != 0 ||
	    string_member(st, "released_at", c.released_at, sizeof(c.released_at)) != 0) {
		*errstr = "handover statement: to_attestation_type or released_at is not a short string";
		return -1;
	}
	if (signed_verify(st, pub, errstr) != 0)
		return -1;
	if (out != NULL)
		*out = c;
	return 0;
}

int
handover_chain_verify(const json_t *chain, const uint8_t pub[32], const char **errstr)
{
	static _Thread_local char msg[192];
	struct handover_claim c, prev;
	const char *e = NULL;
	size_t i;
	json_t *st;

	if (!json_is_array(chain)) {
		*errstr = "the handover chain is not a JSON array";
		return -1;
	}
	json_array_foreach((json_t *)(uintptr_t)chain, i, st) {
		if (handover_statement_verify(st, pub, &c, &e) != 0) {
			snprintf(msg, sizeof(msg), "handover %zu: %s", i, e);
			*errstr = msg;
			return -1;
		}
		if (c.from_epoch != (uint64_t)i + 1) {
			snprintf(msg, sizeof(msg), "handover %zu: hands over epoch %llu where epoch %zu was expected "
			    "(a gap or a reordering in the chain)", i, (unsigned long long)c.from_epoch, i + 1);
			*errstr = msg;
			return -1;
		}
		if (i > 0 && memcmp(prev.to_measurement, c.from_measurement, 32) != 0) {
			snprintf(msg, sizeof(msg), "handover %zu: from_measurement is not the measurement epoch %zu was "
			    "handed to", i, i + 1);
			*errstr = msg;
			return -1;
		}
		prev = c;
	}
	return 0;
}

int
handover_measurement_at(const json_t *chain, uint64_t epoch, uint8_t out[32], const char **errstr)
{
	size_t n = json_array_size(chain);
	const json_t *st, *v;

	if (epoch < 1 || epoch > (uint64_t)n + 1) {
		*errstr = "the key epoch is not covered by the handover chain";
		return -1;
	}
	if (n == 0)
		return 1;
	if (epoch == 1) {
		st = json_array_get(chain, 0);
		v = json_object_get(st, "from_measurement");
	} else {
		st = json_array_get(chain, (size_t)(epoch - 2));
		v = json_object_get(st, "to_measurement");
	}
	if (!json_is_string(v) || hex_decode_exact(out, 32, json_string_value(v), json_string_length(v)) != 0) {
		*errstr = "the handover chain is not verified";
		return -1;
	}
	return 0;
}
