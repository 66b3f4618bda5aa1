#include "core/audit_chain.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "core/jcs.h"
#include "core/prim.h"
#include "core/signed.h"

static const char zeros[AUDIT_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

void
audit_chain_line_hash(char out[AUDIT_HEX_LEN + 1], const char *line, size_t len)
{
	uint8_t h[PRIM_SHA256_BYTES];

	prim_sha256(h, line, len);
	hex_encode(out, h, sizeof(h));
}

/* Hex SHA-256 of JCS(entry without "hash"). Returns 0 or -1 with *errstr. */
static int
entry_hash(char out[AUDIT_HEX_LEN + 1], const json_t *entry, const char **errstr)
{
	json_t *copy = json_copy((json_t *)(uintptr_t)entry);	/* shallow: members are only read */
	char *c;
	size_t len;

	json_object_del(copy, "hash");
	c = jcs_canonicalize(copy, &len, errstr);
	json_decref(copy);
	if (c == NULL)
		return -1;
	audit_chain_line_hash(out, c, len);
	free(c);
	return 0;
}

char *
audit_chain_seal(json_t *entry, const char prev[AUDIT_HEX_LEN + 1], size_t *len, const char **errstr)
{
	char hash[AUDIT_HEX_LEN + 1], *line;

	json_object_set_new(entry, "prev", json_string(prev));
	json_object_del(entry, "hash");
	if (entry_hash(hash, entry, errstr) != 0)
		return NULL;
	json_object_set_new(entry, "hash", json_string(hash));
	if ((line = jcs_canonicalize(entry, len, errstr)) == NULL)
		return NULL;
	if (*len > AUDIT_LINE_MAX) {
		free(line);
		*errstr = "audit entry longer than AUDIT_LINE_MAX";
		return NULL;
	}
	return line;
}

static bool
is_hex64(const json_t *v)
{
	const char *s;

	if (!json_is_string(v) || json_string_length(v) != AUDIT_HEX_LEN)
		return false;
	s = json_string_value(v);
	for (size_t i = 0; i < AUDIT_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool
is_event_name(const json_t *v)
{
	const char *s;
	size_t n;

	if (!json_is_string(v) || (n = json_string_length(v)) == 0 || n > 48)
		return false;
	s = json_string_value(v);
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return false;
	return true;
}

json_t *
audit_chain_parse(const char *line, size_t len, const char **errstr)
{
	json_t *e = NULL, *seq;
	json_error_t jerr;
	char hash[AUDIT_HEX_LEN + 1], *canon = NULL;
	size_t clen;

	if (len > AUDIT_LINE_MAX) {
		*errstr = "line too long";
		goto fail;
	}
	if (len == 0) {
		*errstr = "empty line";
		goto fail;
	}
	if ((e = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		*errstr = "not JSON (a partial or damaged line)";
		goto fail;
	}
	if (!json_is_object(e)) {
		*errstr = "not a JSON object";
		goto fail;
	}
	seq = json_object_get(e, "seq");
	if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
		*errstr = "seq missing or not a positive integer";
		goto fail;
	}
	if (!json_is_string(json_object_get(e, "ts"))) {
		*errstr = "ts missing";
		goto fail;
	}
	if (!is_event_name(json_object_get(e, "event"))) {
		*errstr = "event missing or malformed";
		goto fail;
	}
	if (!is_hex64(json_object_get(e, "prev")) || !is_hex64(json_object_get(e, "hash"))) {
		*errstr = "prev or hash missing or not 64 lower-case hex digits";
		goto fail;
	}
	/* The exact bytes matter (the next line's prev covers them): a line
	 * that is not its own canonical form was not written by the writer. */
	if ((canon = jcs_canonicalize(e, &clen, errstr)) == NULL)
		goto fail;
	if (clen != len || memcmp(canon, line, len) != 0) {
		*errstr = "not in canonical (RFC 8785) form";
		goto fail;
	}
	if (entry_hash(hash, e, errstr) != 0)
		goto fail;
	if (strcmp(hash, json_string_value(json_object_get(e, "hash"))) != 0) {
		*errstr = "hash does not match the entry's content";
		goto fail;
	}
	free(canon);
	return e;
fail:
	free(canon);
	json_decref(e);
	return NULL;
}

static int
report_bad(struct audit_chain_report *rep, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
report_bad(struct audit_chain_report *rep, size_t line, const char *fmt, ...)
{
	va_list ap;

	rep->bad_line = line;
	va_start(ap, fmt);
	vsnprintf(rep->error, sizeof(rep->error), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *
str(const json_t *e, const char *name)
{
	const char *s = json_string_value(json_object_get(e, name));

	return s != NULL ? s : "";
}

/* Checks a checkpoint's head and signature. Returns 0, or -1 with the report set. */
static int
check_checkpoint(const json_t *e, size_t lineno, const char *prev_entry_hash, const uint8_t (*keys)[32],
    size_t nkeys, struct audit_chain_report *rep)
{
	const json_t *hs = json_object_get(e, "head_seq");
	const char *kid = str(e, "signing_key_id"), *err = NULL;
	char id[SIGNED_KEY_ID_HEX + 1];
	json_t *copy;
	size_t k;
	int rc;

	if (!json_is_integer(hs) || json_integer_value(hs) != json_integer_value(json_object_get(e, "seq")) - 1)
		return report_bad(rep, lineno, "checkpoint head_seq is not the previous entry's seq");
	if (strcmp(str(e, "head_hash"), prev_entry_hash) != 0)
		return report_bad(rep, lineno, "checkpoint head_hash is not the previous entry's hash");
	for (k = 0; k < nkeys; k++) {
		signed_key_id(id, keys[k]);
		if (strcmp(id, kid) == 0)
			break;
	}
	if (k == nkeys)
		return report_bad(rep, lineno, "checkpoint signed by key id '%.20s', not one of the keys given", kid);
	copy = json_copy((json_t *)(uintptr_t)e);
	json_object_del(copy, "hash");
	rc = signed_verify(copy, keys[k], &err);
	json_decref(copy);
	if (rc != 0)
		return report_bad(rep, lineno, "checkpoint signature: %s", err);
	return 0;
}

/* Checks that e (line lineno) is the chain_restart that bridges the broken
 * line before it. Returns 0, or -1 with the report set. */
static int
check_restart(const json_t *e, size_t lineno, size_t broken, const char *after, int64_t want_seq,
    struct audit_chain_report *rep)
{
	const json_t *bl = json_object_get(e, "broken_line");

	if (!json_is_integer(bl) || json_integer_value(bl) != (json_int_t)broken)
		return report_bad(rep, lineno, "chain_restart names line %lld, not the broken line %zu",
		    json_is_integer(bl) ? (long long)json_integer_value(bl) : -1LL, broken);
	if (strcmp(str(e, "after_hash"), after) != 0)
		return report_bad(rep, lineno, "chain_restart after_hash is not the hash of line %zu", broken - 1);
	if (json_integer_value(json_object_get(e, "seq")) != want_seq)
		return report_bad(rep, lineno, "chain_restart seq %lld, expected %lld",
		    (long long)json_integer_value(json_object_get(e, "seq")), (long long)want_seq);
	return 0;
}

int
audit_chain_verify(const char *buf, size_t len, const uint8_t (*keys)[32], size_t nkeys,
    struct audit_chain_report *rep)
{
	char expect_prev[AUDIT_HEX_LEN + 1], entry_hash_prev[AUDIT_HEX_LEN + 1], good[AUDIT_HEX_LEN + 1];
	const char *p = buf, *end = buf + len, *err = NULL, *broken_err = "";
	size_t lineno = 0, broken = 0;
	int64_t want_seq = 1;
	json_t *e = NULL;

	memset(rep, 0, sizeof(*rep));
	memcpy(expect_prev, zeros, sizeof(zeros));
	memcpy(entry_hash_prev, zeros, sizeof(zeros));
	if (len == 0)
		return report_bad(rep, 1, "the log is empty");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *event;

		lineno++;
		rep->lines = lineno;
		e = nl != NULL ? audit_chain_parse(p, n, &err) : NULL;
		if (nl == NULL && e == NULL)
			err = "partial last line (no newline): truncated or damaged";
		if (e == NULL) {
			/* A broken line is acceptable only if the next line is
			 * the chain_restart naming it: remember it and look. */
			if (broken != 0)
				return report_bad(rep, broken, "%s (not followed by a chain_restart)", broken_err);
			if (nl == NULL)
				return report_bad(rep, lineno, "%s", err);
			broken = lineno;
			broken_err = err;
			memcpy(good, expect_prev, sizeof(good));
			audit_chain_line_hash(expect_prev, p, n);
			p = nl + 1;
			continue;
		}
		event = str(e, "event");
		if (broken != 0) {
			if (strcmp(event, "chain_restart") != 0) {
				report_bad(rep, broken, "%s (not followed by a chain_restart)", broken_err);
				goto fail;
			}
			if (check_restart(e, lineno, broken, good, want_seq, rep) != 0)
				goto fail;
			rep->restarts++;
			if (rep->first_restart_line == 0)
				rep->first_restart_line = broken;
			broken = 0;
		} else if (strcmp(event, "chain_restart") == 0 && (strcmp(str(e, "reason"), "truncated") != 0 ||
			json_integer_value(json_object_get(e, "broken_line")) != 0 ||
			strcmp(str(e, "after_hash"), expect_prev) != 0)) {
			report_bad(rep, lineno, "chain_restart without a broken line before it");
			goto fail;
		}
		if (strcmp(event, "chain_restart") == 0 && strcmp(str(e, "reason"), "truncated") == 0 &&
			rep->truncations++ == 0) {
			rep->truncation_line = lineno;
			rep->truncation_expected_seq = json_integer_value(json_object_get(e, "expected_seq"));
			rep->truncation_found_seq = json_integer_value(json_object_get(e, "found_seq"));
		}
		if (strcmp(str(e, "prev"), expect_prev) != 0) {
			report_bad(rep, lineno, "prev is not the hash of line %zu: a line was removed, inserted, "
			    "reordered or edited", lineno - 1);
			goto fail;
		}
		if (json_integer_value(json_object_get(e, "seq")) != want_seq) {
			report_bad(rep, lineno, "seq %lld, expected %lld", (long long)json_integer_value(
			    json_object_get(e, "seq")), (long long)want_seq);
			goto fail;
		}
		if (strcmp(event, "checkpoint") == 0) {
			if (check_checkpoint(e, lineno, entry_hash_prev, keys, nkeys, rep) != 0)
				goto fail;
			rep->checkpoints++;
			rep->after_checkpoint = 0;
		} else
			rep->after_checkpoint++;
		rep->entries++;
		want_seq++;
		rep->last_seq = json_integer_value(json_object_get(e, "seq"));
		memcpy(entry_hash_prev, str(e, "hash"), sizeof(entry_hash_prev));
		audit_chain_line_hash(expect_prev, p, n);
		json_decref(e);
		e = NULL;
		p = nl + 1;
	}
	if (broken != 0)
		return report_bad(rep, broken, "%s (not followed by a chain_restart)", broken_err);
	memcpy(rep->head, entry_hash_prev, sizeof(rep->head));
	return 0;
fail:
	json_decref(e);
	return -1;
}
