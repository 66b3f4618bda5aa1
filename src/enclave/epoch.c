#include "enclave/epoch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/handover.h"
#include "core/hex.h"
#include "util/file.h"
#include "util/xalloc.h"

#define EPOCH_FILE_MAX (4u << 20)

char *
epoch_path(const char *private_key_path)
{
	return xasprintf("%s%s", private_key_path, EPOCH_FILE_SUFFIX);
}

struct epoch_state *
epoch_state_new(const uint8_t *measurement)
{
	struct epoch_state *st = xcalloc(1, sizeof(*st));
	char hex[65];

	st->epoch = 1;
	if (measurement != NULL) {
		hex_encode(hex, measurement, 32);
		memcpy(st->measurement, measurement, 32);
		st->have_measurement = true;
	}
	st->doc = json_pack("{s:i, s:i, s:o, s:[]}", "version", 1, "key_epoch", 1, "genesis_measurement",
	    measurement != NULL ? json_string(hex) : json_null(), "handovers");
	return st;
}

void
epoch_state_free(struct epoch_state *st)
{
	if (st == NULL)
		return;
	json_decref(st->doc);
	free(st);
}

struct epoch_state *
epoch_from_json(const json_t *doc, const uint8_t pub[32], const char **errstr)
{
	struct epoch_state *st = NULL;
	const json_t *v = json_object_get(doc, "version"), *g = json_object_get(doc, "genesis_measurement");
	const json_t *chain = json_object_get(doc, "handovers"), *ke = json_object_get(doc, "key_epoch");
	uint8_t m[32];
	int rc;

	if (!json_is_object(doc) || json_object_size(doc) != 4 || !json_is_integer(v) || json_integer_value(v) != 1) {
		*errstr = "not a version 1 key-epoch document";
		return NULL;
	}
	if (handover_chain_verify(chain, pub, errstr) != 0)
		return NULL;
	if (!json_is_integer(ke) || (uint64_t)json_integer_value(ke) != json_array_size(chain) + 1) {
		*errstr = "key_epoch is not 1 + the number of handovers";
		return NULL;
	}
	st = xcalloc(1, sizeof(*st));
	st->epoch = (uint64_t)json_integer_value(ke);
	if (!json_is_null(g)) {
		if (!json_is_string(g) || hex_decode_exact(m, 32, json_string_value(g), json_string_length(g)) != 0) {
			*errstr = "genesis_measurement is neither null nor hex of 32 bytes";
			free(st);
			return NULL;
		}
		if (json_array_size(chain) > 0 && handover_measurement_at(chain, 1, st->measurement, errstr) == 0 &&
		    memcmp(st->measurement, m, 32) != 0) {
			*errstr = "genesis_measurement is not the first handover's from_measurement";
			free(st);
			return NULL;
		}
		memcpy(st->measurement, m, 32);
		st->have_measurement = true;
	}
	rc = handover_measurement_at(chain, st->epoch, m, errstr);
	if (rc < 0) {
		free(st);
		return NULL;
	}
	if (rc == 0) {
		memcpy(st->measurement, m, 32);
		st->have_measurement = true;
	}
	st->doc = json_deep_copy(doc);
	return st;
}

struct epoch_state *
epoch_load(const char *private_key_path, const uint8_t pub[32], const char **errstr)
{
	char *path = epoch_path(private_key_path);
	struct epoch_state *st = NULL;
	struct stat sb;
	json_error_t je;
	uint8_t *buf;
	size_t len;
	json_t *doc;

	if (stat(path, &sb) != 0 && errno == ENOENT) {
		free(path);
		return epoch_state_new(NULL);
	}
	buf = file_read_all(path, EPOCH_FILE_MAX, &len, errstr);
	free(path);
	if (buf == NULL)
		return NULL;
	doc = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (doc == NULL) {
		*errstr = "the key-epoch file is not JSON";
		return NULL;
	}
	st = epoch_from_json(doc, pub, errstr);
	json_decref(doc);
	return st;
}

int
epoch_save(const struct epoch_state *st, const char *private_key_path, bool create, const char **errstr)
{
	char *path = epoch_path(private_key_path), *s = json_dumps(st->doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	int rc;

	rc = create ? file_write_new(path, s, strlen(s), 0600, errstr) :
	    file_write_atomic(path, s, strlen(s), 0600, errstr);
	free(s);
	free(path);
	return rc;
}

struct epoch_state *
epoch_advance(const struct epoch_state *st, const json_t *statement, const uint8_t to_measurement[32])
{
	struct epoch_state *n = xcalloc(1, sizeof(*n));

	n->doc = json_deep_copy(st->doc);
	json_array_append(json_object_get(n->doc, "handovers"), (json_t *)(uintptr_t)statement);
	n->epoch = st->epoch + 1;
	json_object_set_new(n->doc, "key_epoch", json_integer((json_int_t)n->epoch));
	memcpy(n->measurement, to_measurement, 32);
	n->have_measurement = true;
	return n;
}
