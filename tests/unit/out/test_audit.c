/*
 * out/audit (the writer) and core/audit_chain (the verifier): a chain built
 * by the writer verifies, and each kind of tampering is caught at the right
 * line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/audit_chain.h"
#include "core/prim.h"
#include "core/signed.h"
#include "out/audit.h"
#include "util/file.h"
#include "util/xalloc.h"
#include "../tmpdir.h"

static uint8_t seed[32], pub[32], seed2[32], pub2[32];
static char key_id[SIGNED_KEY_ID_HEX + 1], key_id2[SIGNED_KEY_ID_HEX + 1];
static int file_no;

static int
sign_cb(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	return prim_ed25519_sign(sig, msg, len, arg);
}

static char *
fresh_path(void)
{
	char name[32];

	snprintf(name, sizeof(name), "audit-%d.jsonl", file_no++);
	return tmpdir_file(name);
}

static struct audit *
open_log(const char *path, unsigned every, int which)
{
	struct audit_options o = { .path = path, .checkpoint_every = every, .sign = sign_cb,
		.sign_arg = which == 1 ? seed : seed2, .key_id = which == 1 ? key_id : key_id2 };
	const char *e = NULL;
	struct audit *a = audit_open(&o, &e);

	if (a == NULL)
		fail_msg("audit_open: %s", e);
	return a;
}

static char *
slurp(const char *path, size_t *len)
{
	const char *e = NULL;
	char *s = (char *)file_read_all(path, 64u << 20, len, &e);

	if (s == NULL)
		fail_msg("%s: %s", path, e);
	return s;
}

/* Writes n ordinary entries. */
static void
fill(struct audit *a, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(audit_event(a, "metrics_served", AUDIT_HASH("sid", "0123456789ab"),
		    AUDIT_NAME("endpoint", "metrics"), AUDIT_INT("count", i), AUDIT_BOOL("sandbox", i % 2)), 0);
}

/* A log of 10 entries + checkpoints every 4 + the closing one (13 lines):
 * checkpoints are lines 5, 10 and 13. */
static char *
build(size_t *len)
{
	char *path = fresh_path(), *buf;
	struct audit *a = open_log(path, 4, 1);

	fill(a, 10);
	audit_close(a);
	buf = slurp(path, len);
	free(path);
	return buf;
}

static int
verify(const char *buf, size_t len, struct audit_chain_report *rep)
{
	uint8_t keys[2][32];

	memcpy(keys[0], pub, 32);
	memcpy(keys[1], pub2, 32);
	return audit_chain_verify(buf, len, (const uint8_t (*)[32])keys, 2, rep);
}

/* Lines of buf as an array (each without its newline); returns the count. */
static size_t
split(char *buf, char **lines, size_t max)
{
	size_t n = 0;

	for (char *p = buf; *p != '\0' && n < max; n++) {
		char *nl = strchr(p, '\n');
		lines[n] = p;
		if (nl == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

static char *
join(char **lines, size_t n, size_t *len)
{
	size_t total = 0, off = 0;
	char *out;

	for (size_t i = 0; i < n; i++)
		total += strlen(lines[i]) + 1;
	out = xmalloc(total + 1);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);
		memcpy(out + off, lines[i], l);
		out[off + l] = '\n';
		off += l + 1;
	}
	out[off] = '\0';
	*len = off;
	return out;
}

static void
expect_bad(const char *buf, size_t len, size_t line, const char *what)
{
	struct audit_chain_report rep;

	assert_int_equal(verify(buf, len, &rep), -1);
	if (rep.bad_line != line || strstr(rep.error, what) == NULL)
		fail_msg("expected line %zu (%s), got line %zu: %s", line, what, rep.bad_line, rep.error);
}

static void
test_chain_builds_and_verifies(void **state)
{
	struct audit_chain_report rep;
	char *buf, *lines[64];
	size_t len;

	(void)state;
	buf = build(&len);
	assert_int_equal(verify(buf, len, &rep), 0);
	assert_int_equal(rep.lines, 13);
	assert_int_equal(rep.entries, 13);
	assert_int_equal(rep.checkpoints, 3);	/* after 4, after 8, at close */
	assert_int_equal(rep.last_seq, 13);
	assert_int_equal(rep.after_checkpoint, 0);
	assert_int_equal(rep.restarts, 0);
	assert_int_equal(split(buf, lines, 64), 13);
	assert_non_null(strstr(lines[0], "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\""));
	assert_non_null(strstr(lines[4], "\"event\":\"checkpoint\""));
	assert_non_null(strstr(lines[4], "\"head_seq\":4"));
	assert_non_null(strstr(lines[12], "\"trigger\":\"shutdown\""));
	/* Each line's prev is the hash of the line before. */
	for (size_t i = 1; i < 13; i++) {
		char h[AUDIT_HEX_LEN + 1], want[80];
		audit_chain_line_hash(h, lines[i - 1], strlen(lines[i - 1]));
		snprintf(want, sizeof(want), "\"prev\":\"%s\"", h);
		assert_non_null(strstr(lines[i], want));
	}
	free(buf);
	/* An empty log proves nothing. */
	assert_int_equal(verify("", 0, &rep), -1);
	/* The key is needed: no key, or only another one. */
	buf = build(&len);
	assert_int_equal(audit_chain_verify(buf, len, NULL, 0, &rep), -1);
	assert_int_equal(rep.bad_line, 5);
	assert_non_null(strstr(rep.error, "not one of the keys given"));
	free(buf);
}

static void
test_removed_line(void **state)
{
	char *buf, *lines[64], *out;
	size_t len, n;

	(void)state;
	buf = build(&len);
	n = split(buf, lines, 64);
	memmove(&lines[5], &lines[6], (n - 6) * sizeof(*lines));	/* drop line 6 */
	out = join(lines, n - 1, &len);
	expect_bad(out, len, 6, "prev is not the hash of line 5");
	free(out);
	free(buf);
	/* The first line removed: line 1 no longer starts the chain. */
	buf = build(&len);
	n = split(buf, lines, 64);
	out = join(lines + 1, n - 1, &len);
	expect_bad(out, len, 1, "prev");
	free(out);
	free(buf);
}

static void
test_edited_field(void **state)
{
	char *buf, *lines[64], *out, *p;
	size_t len, n;

	(void)state;
	buf = build(&len);
	n = split(buf, lines, 64);
	p = strstr(lines[2], "\"count\":2");
	assert_non_null(p);
	p[8] = '7';
	out = join(lines, n, &len);
	expect_bad(out, len, 3, "hash does not match");
	free(out);
	/* An edit that also recomputes the line's hash breaks the next line's prev. */
	{
		json_t *e = json_loads(lines[2], 0, NULL);
		const char *err = NULL;
		char *line;
		size_t l;
		json_object_del(e, "hash");
		json_object_del(e, "prev");
		char prev[AUDIT_HEX_LEN + 1];
		audit_chain_line_hash(prev, lines[1], strlen(lines[1]));
		line = audit_chain_seal(e, prev, &l, &err);
		assert_non_null(line);
		lines[2] = line;
		out = join(lines, n, &len);
		expect_bad(out, len, 4, "prev is not the hash of line 3");
		free(out);
		free(line);
		json_decref(e);
	}
	free(buf);
	/* Whitespace is an edit too (the bytes are what is chained). */
	buf = build(&len);
	n = split(buf, lines, 64);
	char *spaced = xasprintf("%s ", lines[12]);
	lines[12] = spaced;
	out = join(lines, n, &len);
	expect_bad(out, len, 13, "canonical");
	free(out);
	free(spaced);
	free(buf);
}

/* Re-seals every line from `from` on, as a forger without the key would. */
static void
rechain(char **lines, size_t n, size_t from, char **owned)
{
	for (size_t i = from; i < n; i++) {
		json_t *e = json_loads(lines[i], 0, NULL);
		char prev[AUDIT_HEX_LEN + 1];
		const char *err = NULL;
		size_t l;

		json_object_set_new(e, "seq", json_integer((json_int_t)i + 1));
		audit_chain_line_hash(prev, lines[i - 1], strlen(lines[i - 1]));
		owned[i] = audit_chain_seal(e, prev, &l, &err);
		assert_non_null(owned[i]);
		lines[i] = owned[i];
		json_decref(e);
	}
}

static void
test_reordered_pair(void **state)
{
	char *buf, *lines[64] = { 0 }, *out, *t, *owned[64] = { 0 };
	size_t len, n;

	(void)state;
	buf = build(&len);
	n = split(buf, lines, 64);
	t = lines[6];
	lines[6] = lines[7];
	lines[7] = t;
	out = join(lines, n, &len);
	expect_bad(out, len, 7, "prev");
	free(out);
	/* A forger who re-seals everything after the swap is stopped by the
	 * next checkpoint (line 10 covers lines 1-9). */
	rechain(lines, n, 6, owned);
	out = join(lines, n, &len);
	expect_bad(out, len, 10, "checkpoint");
	free(out);
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	free(buf);
}

static void
test_truncated_tail(void **state)
{
	char *buf;
	size_t len;

	(void)state;
	buf = build(&len);
	expect_bad(buf, len - 20, 13, "partial last line");
	/* Cut exactly at a newline: a shorter, valid log whose tail is not
	 * covered by a checkpoint any more - the report says how much. */
	{
		struct audit_chain_report rep;
		char *lines[64], *copy = xstrdup(buf), *out;
		size_t n = split(copy, lines, 64), l;
		out = join(lines, n - 2, &l);
		assert_int_equal(verify(out, l, &rep), 0);
		assert_int_equal(rep.after_checkpoint, 1);
		free(out);
		free(copy);
	}
	free(buf);
}

static void
test_forged_checkpoint(void **state)
{
	char *buf, *lines[64] = { 0 }, *out, *owned[64] = { 0 };
	size_t len, n;

	(void)state;
	/* A changed signature. */
	buf = build(&len);
	n = split(buf, lines, 64);
	char *sig = strstr(lines[9], "\"signature\":\"") + 13;
	sig[0] = sig[0] == 'A' ? 'B' : 'A';
	rechain(lines, n, 9, owned);
	out = join(lines, n, &len);
	expect_bad(out, len, 10, "checkpoint signature");
	free(out);
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	free(buf);

	/* A checkpoint signed with a key the verifier was not given. */
	{
		uint8_t s3[32], p3[32];
		char id3[SIGNED_KEY_ID_HEX + 1];
		json_t *e;
		const char *err = NULL;
		char prev[AUDIT_HEX_LEN + 1];
		size_t l;

		memset(owned, 0, sizeof(owned));
		buf = build(&len);
		n = split(buf, lines, 64);
		assert_int_equal(prim_ed25519_keygen(s3, p3), 0);
		signed_key_id(id3, p3);
		e = json_loads(lines[4], 0, NULL);
		json_object_del(e, "hash");
		json_object_del(e, "signature");
		assert_int_equal(signed_sign(e, sign_cb, s3, id3, 1, &err), 0);
		audit_chain_line_hash(prev, lines[3], strlen(lines[3]));
		owned[4] = audit_chain_seal(e, prev, &l, &err);
		lines[4] = owned[4];
		json_decref(e);
		rechain(lines, n, 5, owned);
		out = join(lines, n, &len);
		expect_bad(out, len, 5, "not one of the keys given");
		free(out);
		for (size_t i = 0; i < n; i++)
			free(owned[i]);
		free(buf);

		/* A properly signed checkpoint whose head is not the chain's. */
		memset(owned, 0, sizeof(owned));
		buf = build(&len);
		n = split(buf, lines, 64);
		e = json_loads(lines[9], 0, NULL);
		json_object_set_new(e, "head_hash", json_string(
		    "1111111111111111111111111111111111111111111111111111111111111111"));
		json_object_del(e, "hash");
		assert_int_equal(signed_sign(e, sign_cb, seed, key_id, 1, &err), 0);
		audit_chain_line_hash(prev, lines[8], strlen(lines[8]));
		owned[9] = audit_chain_seal(e, prev, &l, &err);
		lines[9] = owned[9];
		json_decref(e);
		rechain(lines, n, 10, owned);
		out = join(lines, n, &len);
		expect_bad(out, len, 10, "head_hash");
		free(out);
		for (size_t i = 0; i < n; i++)
			free(owned[i]);
		free(buf);
	}
}

static void
test_restart_continues_chain(void **state)
{
	struct audit_chain_report rep;
	char *path = fresh_path(), *buf;
	struct audit *a;
	size_t len;

	(void)state;
	a = open_log(path, 0, 1);
	fill(a, 3);
	assert_int_equal(audit_next_seq(a), 4);
	audit_close(a);			/* + checkpoint: seq 4 */
	a = open_log(path, 0, 2);	/* a new run, a new key */
	assert_int_equal(audit_next_seq(a), 5);
	fill(a, 2);
	audit_close(a);
	buf = slurp(path, &len);
	assert_int_equal(verify(buf, len, &rep), 0);
	assert_int_equal(rep.entries, 7);	/* 3 + checkpoint, 2 + checkpoint */
	assert_int_equal(rep.checkpoints, 2);
	assert_int_equal(rep.restarts, 0);
	free(buf);
	/* Two writers on one file: the second is refused. */
	a = open_log(path, 0, 1);
	{
		struct audit_options o = { .path = path };
		const char *e = NULL;
		assert_null(audit_open(&o, &e));
		assert_non_null(strstr(e, "in use"));
	}
	audit_close(a);			/* nothing written: no checkpoint */
	buf = slurp(path, &len);
	assert_int_equal(verify(buf, len, &rep), 0);
	assert_int_equal(rep.entries, 7);
	free(buf);
	free(path);
}

static void
test_broken_tail_restarts(void **state)
{
	struct audit_chain_report rep;
	char *path = fresh_path(), *buf, *lines[64];
	struct audit *a;
	size_t len, n;

	(void)state;
	a = open_log(path, 0, 1);
	fill(a, 3);
	audit_close(a);
	buf = slurp(path, &len);
	/* A crash mid-write: half of a line. */
	{
		const char *e = NULL;
		char *b = xmalloc(len + 40);
		memcpy(b, buf, len);
		memcpy(b + len, "{\"count\":3,\"endpoi", 18);
		assert_int_equal(file_write_atomic(path, b, len + 18, 0600, &e), 0);
		free(b);
	}
	free(buf);
	a = open_log(path, 0, 1);
	assert_int_equal(audit_next_seq(a), 5);
	fill(a, 1);
	audit_close(a);
	buf = slurp(path, &len);
	assert_int_equal(verify(buf, len, &rep), 0);
	assert_int_equal(rep.restarts, 1);
	assert_int_equal(rep.first_restart_line, 5);
	assert_int_equal(rep.entries, 7);	/* 4 + restart + 1 + checkpoint */
	assert_int_equal(rep.lines, 8);
	n = split(buf, lines, 64);
	assert_int_equal(n, 8);
	assert_string_equal(lines[4], "{\"count\":3,\"endpoi");	/* kept as it was */
	assert_non_null(strstr(lines[5], "\"event\":\"chain_restart\""));
	assert_non_null(strstr(lines[5], "\"broken_line\":5"));
	assert_non_null(strstr(lines[5], "\"seq\":5"));
	free(buf);

	/* The restart must be intact and name the broken line (else the
	 * broken line is the first error), and must follow one. */
	buf = slurp(path, &len);
	n = split(buf, lines, 64);
	char *orig = lines[5], *other = xstrdup(lines[5]), *p = strstr(other, "\"broken_line\":5");
	p[14] = '4';
	lines[5] = other;
	{
		char *out = join(lines, n, &len);
		expect_bad(out, len, 5, "not followed by a chain_restart");
		free(out);
	}
	free(other);
	lines[5] = orig;	/* restore, then drop the broken line */
	{
		char *l[64];
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (i != 4)
				l[k++] = lines[i];
		char *out = join(l, k, &len);
		expect_bad(out, len, 5, "chain_restart without a broken line");
		free(out);
	}
	free(buf);
	/* A broken line without a restart after it is the error. */
	buf = slurp(path, &len);
	n = split(buf, lines, 64);
	{
		char *l[64];
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (i != 5)
				l[k++] = lines[i];
		char *out = join(l, k, &len);
		expect_bad(out, len, 5, "not followed by a chain_restart");
		free(out);
	}
	free(buf);
	free(path);
}

/* A crash that lost only the newline: the entry is whole, nothing restarts. */
static void
test_lost_newline_only(void **state)
{
	struct audit_chain_report rep;
	char *path = fresh_path(), *buf;
	struct audit *a;
	const char *e = NULL;
	size_t len;

	(void)state;
	a = open_log(path, 0, 1);
	fill(a, 2);
	audit_close(a);
	buf = slurp(path, &len);
	assert_int_equal(file_write_atomic(path, buf, len - 1, 0600, &e), 0);
	free(buf);
	buf = slurp(path, &len);
	assert_int_equal(verify(buf, len, &rep), -1);	/* as it is: a partial last line */
	assert_int_equal(rep.bad_line, 3);
	free(buf);
	a = open_log(path, 0, 1);
	assert_int_equal(audit_next_seq(a), 4);
	fill(a, 1);
	audit_close(a);
	buf = slurp(path, &len);
	assert_int_equal(verify(buf, len, &rep), 0);
	assert_int_equal(rep.restarts, 0);
	assert_int_equal(rep.entries, 5);
	free(buf);
	free(path);
}

struct worker {
	struct audit *a;
	int n;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < w->n; i++)
		if (audit_event(w->a, "session_revoked", AUDIT_HASH("sid", "abcdefabcdef"),
		    AUDIT_NAME("trigger", "request")) != 0)
			return (void *)1;
	return NULL;
}

static void
test_concurrent_writers(void **state)
{
	struct audit_chain_report rep;
	char *path = fresh_path(), *buf;
	struct audit *a = open_log(path, 50, 1);
	struct worker w = { a, 100 };
	pthread_t t[4];
	size_t len;
	void *r;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_null(r);
	}
	audit_close(a);
	buf = slurp(path, &len);
	assert_int_equal(verify(buf, len, &rep), 0);
	assert_int_equal(rep.entries, 400 + 8);	/* 8 checkpoints: every 50 */
	assert_int_equal(rep.last_seq, 408);
	free(buf);
	free(path);
}

struct done_rec {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int calls, rc;
};

static void
on_durable(void *ctx, int rc)
{
	struct done_rec *d = ctx;

	pthread_mutex_lock(&d->mu);
	d->calls++;
	d->rc = rc;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/* Asynchronous durability: the entry is in the file at once, the callback
 * comes (exactly once) after the fsync, and an entry already on disk needs
 * no callback. */
static void
test_when_durable(void **state)
{
	char *path = fresh_path(), *buf;
	struct audit *a = open_log(path, 0, 1);
	struct done_rec d = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .rc = 7 };
	int64_t seq = -2, seq2 = -2;
	size_t len;

	(void)state;
	assert_int_equal(audit_event_nowait(a, &seq, "session_revoked", AUDIT_HASH("sid", "abcdefabcdef"),
	    AUDIT_NAME("trigger", "request")), 0);
	assert_true(seq >= 1);
	buf = slurp(path, &len);
	assert_non_null(strstr(buf, "session_revoked"));	/* written before it is durable */
	free(buf);
	if (audit_when_durable(a, seq, on_durable, &d) == 0) {
		pthread_mutex_lock(&d.mu);
		while (d.calls == 0)
			pthread_cond_wait(&d.cv, &d.mu);
		pthread_mutex_unlock(&d.mu);
		assert_int_equal(d.rc, 0);
	}
	/* Now durable: answered at once, no callback. */
	assert_int_equal(audit_when_durable(a, seq, on_durable, &d), 1);
	/* An entry nobody waits for still reaches the disk (done == NULL). */
	assert_int_equal(audit_event_nowait(a, &seq2, "session_revoked", AUDIT_HASH("sid", "abcdefabcdef"),
	    AUDIT_NAME("trigger", "request")), 0);
	assert_int_equal(seq2, seq + 1);
	assert_int_equal(audit_when_durable(a, seq2, NULL, NULL), 0);
	/* A waiter left at close is called by close. */
	assert_int_equal(audit_event_nowait(a, &seq2, "session_revoked", AUDIT_HASH("sid", "abcdefabcdef"),
	    AUDIT_NAME("trigger", "request")), 0);
	d.calls = 0;
	if (audit_when_durable(a, seq2, on_durable, &d) == 0) {
		audit_close(a);
		assert_int_equal(d.calls, 1);
		assert_int_equal(d.rc, 0);
	} else
		audit_close(a);
	assert_int_equal(audit_when_durable(NULL, 5, on_durable, &d), 1);
	free(path);
}

static void
test_no_audit_is_noop(void **state)
{
	(void)state;
	assert_int_equal(audit_event(NULL, "config", AUDIT_INT("count", 1)), 0);
	audit_close(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_builds_and_verifies),
		cmocka_unit_test(test_removed_line),
		cmocka_unit_test(test_edited_field),
		cmocka_unit_test(test_reordered_pair),
		cmocka_unit_test(test_truncated_tail),
		cmocka_unit_test(test_forged_checkpoint),
		cmocka_unit_test(test_restart_continues_chain),
		cmocka_unit_test(test_broken_tail_restarts),
		cmocka_unit_test(test_lost_newline_only),
		cmocka_unit_test(test_concurrent_writers),
		cmocka_unit_test(test_no_audit_is_noop),
		cmocka_unit_test(test_when_durable),
	};

	if (prim_ed25519_keygen(seed, pub) != 0 || prim_ed25519_keygen(seed2, pub2) != 0)
		return 1;
	signed_key_id(key_id, pub);
	signed_key_id(key_id2, pub2);
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
