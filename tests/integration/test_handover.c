/*
 * Issue #10, identity across upgrades: a new build (the daemon copied with
 * one byte appended: it runs the same, its measurement differs) takes over
 * the enclave's keys only through the audited handover.
 *
 * The old daemon (keygen'd keys, key epoch 1) serves a session and a signed
 * summary; the new build starts with HANDOVER_AWAIT=1 on the same DATA_DIR
 * and audit log, answers 503 awaiting_handover and serves its attestation;
 * the old instance refuses an unapproved measurement and evidence whose
 * binding does not match; the new one refuses a changed package and a
 * package sealed to another instance. `perfagg handover` moves the keys; the
 * old instance then refuses to sign (503 handed_over), to release again, and
 * to start again with its key files. Once it stopped, the new build serves
 * the same session, signed by the same key at key epoch 2; `perfagg verify`
 * accepts the epoch-1 and the epoch-2 documents by following the chain and
 * names each measurement, and refuses an epoch the chain does not cover or
 * a changed chain. The one audit log records both sides and verifies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../unit/exchange/exsim_run.h"
#include "../unit/tmpdir.h"
#include "core/hex.h"
#include "core/prim.h"
#include "harness.h"
#include "harness_exchange.h"
#include "util/file.h"
#include "util/xalloc.h"

static const char *const token_env[] = { "PERFAGG_OPERATOR_TOKEN=" HARNESS_OPERATOR_TOKEN, NULL };

/* Writes j to path. */
static void
save(const char *path, json_t *j)
{
	assert_int_equal(json_dump_file(j, path, JSON_INDENT(1)), 0);
}

static char *
path_in(const char *name)
{
	return xasprintf("%s/%s", tmpdir(), name);
}

/* Copies perfaggd to dir/perfaggd with one byte appended (a "new build"),
 * and returns its measurement (hex). */
static void
new_build(const char *dir, char mhex[65])
{
	char *src = xasprintf("%s/perfaggd", getenv("PERFAGG_BIN_DIR") != NULL ? getenv("PERFAGG_BIN_DIR") : ".");
	char *dst = xasprintf("%s/perfaggd", dir);
	const char *e = NULL;
	uint8_t *buf, h[32];
	size_t len;

	assert_int_equal(mkdir(dir, 0700), 0);
	buf = file_read_all(src, 256u << 20, &len, &e);
	assert_non_null(buf);
	buf = xrealloc(buf, len + 1);
	buf[len++] = 0;
	assert_int_equal(file_write_new(dst, buf, len, 0700, &e), 0);
	prim_sha256(h, buf, len);
	hex_encode(mhex, h, 32);
	free(buf);
	free(src);
	free(dst);
}

/* Starts perfaggd from bin_dir (another build) with env. */
static void
start_from(struct daemon *d, const char *bin_dir, const char *const *env)
{
	char *saved = xstrdup(getenv("PERFAGG_BIN_DIR") != NULL ? getenv("PERFAGG_BIN_DIR") : ".");

	setenv("PERFAGG_BIN_DIR", bin_dir, 1);
	harness_start(d, env);
	setenv("PERFAGG_BIN_DIR", saved, 1);
	free(saved);
}

/* The new instance's attestation for a fresh nonce, as {attestation, nonce}. */
static json_t *
attestation_of(const struct daemon *d)
{
	json_t *att;
	char path[128];

	snprintf(path, sizeof(path), "/attestation/quote?nonce=0a0b0c0d");
	assert_int_equal(harness_http(d, "GET", path, NULL, 0, NULL, NULL, &att), 200);
	return att;
}

static long
post_json(const struct daemon *d, const char *path, json_t *body, json_t **out)
{
	char *s = json_dumps(body, JSON_COMPACT);
	long st = harness_http(d, "POST", path, s, strlen(s), NULL, HARNESS_OPERATOR_TOKEN, out);

	free(s);
	return st;
}

static const char *
error_code(const json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

/* POST /admin/handover to old with att, approving mhex. */
static long
release(const struct daemon *old, json_t *att, const char *mhex, json_t **out)
{
	json_t *body = json_pack("{s:O, s:s, s:s}", "attestation", att, "nonce", json_string_value(json_object_get(att,
	    "nonce")), "approve_measurement", mhex);
	long st = post_json(old, "/admin/handover", body, out);

	json_decref(body);
	return st;
}

static int
run_cli(const char *const *argv, char **out)
{
	char *err = NULL;
	int rc = harness_run(argv, token_env, NULL, out, &err);

	if (rc != 0)
		fprintf(stderr, "%s: %s", argv[1], err);
	free(err);
	return rc;
}

/* Waits until the daemon's /health says "ok" (it started normally). */
static void
wait_started(const struct daemon *d)
{
	for (int i = 0; i < 200; i++) {
		json_t *j = NULL;
		long st = harness_http(d, "GET", "/health", NULL, 0, NULL, NULL, &j);
		bool ok = st == 200 && strcmp(json_string_value(json_object_get(j, "status")), "ok") == 0;
		json_decref(j);
		if (ok)
			return;
		usleep(50000);
	}
	fail_msg("the new instance did not start after the old one stopped");
}

static void
test_handover(void **state)
{
	const char *args[] = { "--seed", "41", "--accounts", "1", "--fills", "200", "--history-days", "3", NULL };
	struct exsim_run sim;
	struct daemon old, neu, other;
	json_t *accounts, *acct = NULL, *a, *j, *att, *pkg, *bad;
	char urls[512], data_env[300], audit_env[300], old_key_env[300], new_key_env[300], other_key_env[300];
	char m_new[65], m_old[65], *out = NULL, *err = NULL, *sid, *old_pem, *old_pub, *bin2, *s1, *a1, *s2, *a2, *h2;
	char *hbad, *audit_path;
	size_t i;

	(void)state;
	exsim_run_start(&sim, args);
	accounts = harness_sim_get(&sim, "/exsim/accounts");
	json_array_foreach(accounts, i, a)
		if (strcmp(json_string_value(json_object_get(a, "exchange")), "binance") == 0 &&
		    strcmp(json_string_value(json_object_get(a, "market")), "spot") == 0)
			acct = a;
	assert_non_null(acct);
	snprintf(urls, sizeof(urls), "EXCHANGE_BASE_URLS=binance=%s,coinbase=%s,kraken=%s,krakenfutures=%s",
	    sim.url, sim.url, sim.url, sim.url);
	old_pem = path_in("old.pem");
	old_pub = path_in("old.pub.pem");
	audit_path = path_in("audit.jsonl");
	{
		const char *kg[] = { "perfaggd", "keygen", old_pem, old_pub, NULL };
		assert_int_equal(harness_run(kg, NULL, NULL, &out, &err), 0);
		free(out);
		free(err);
	}
	snprintf(data_env, sizeof(data_env), "DATA_DIR=%s/data", tmpdir());
	snprintf(audit_env, sizeof(audit_env), "AUDIT_LOG_PATH=%s", audit_path);
	snprintf(old_key_env, sizeof(old_key_env), "ENCLAVE_PRIVATE_KEY_PATH=%s", old_pem);
	snprintf(new_key_env, sizeof(new_key_env), "ENCLAVE_PRIVATE_KEY_PATH=%s/new.pem", tmpdir());
	snprintf(other_key_env, sizeof(other_key_env), "ENCLAVE_PRIVATE_KEY_PATH=%s/other.pem", tmpdir());
	const char *env_old[] = { urls, data_env, audit_env, old_key_env, "RATE_LIMIT_MAX=1000000", NULL };
	const char *env_new[] = { urls, data_env, audit_env, new_key_env, "RATE_LIMIT_MAX=1000000", "HANDOVER_AWAIT=1",
		NULL };

	/* Epoch 1: a session and a signed summary. */
	harness_start(&old, env_old);
	sid = harness_register(&old, acct);
	harness_wait_backfilled(&old, sid, "old instance");
	assert_int_equal(harness_http(&old, "GET", "/enclave/summary", NULL, 0, NULL, sid, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "key_epoch")), 1);
	s1 = path_in("summary1.json");
	save(s1, j);
	json_decref(j);
	assert_int_equal(harness_http(&old, "GET", "/attestation/quote", NULL, 0, NULL, NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "key_epoch")), 1);
	snprintf(m_old, sizeof(m_old), "%s", json_string_value(json_object_get(j, "measurement")));
	a1 = path_in("attestation1.json");
	save(a1, j);
	json_decref(j);

	/* The new build, awaiting its keys. */
	bin2 = path_in("build2");
	new_build(bin2, m_new);
	assert_string_not_equal(m_new, m_old);
	start_from(&neu, bin2, env_new);
	assert_int_equal(harness_http(&neu, "GET", "/enclave/summary", NULL, 0, NULL, sid, &j), 503);
	assert_string_equal(error_code(j), "awaiting_handover");
	json_decref(j);
	assert_int_equal(harness_http(&neu, "GET", "/health", NULL, 0, NULL, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "awaiting_handover");
	json_decref(j);

	/* The old instance refuses: an unapproved measurement; evidence whose
	 * binding does not match (another X25519 key put in); no token. */
	att = attestation_of(&neu);
	assert_string_equal(json_string_value(json_object_get(att, "measurement")), m_new);
	assert_int_equal(release(&old, att, m_old, &j), 403);
	assert_string_equal(error_code(j), "measurement_not_approved");
	json_decref(j);
	bad = json_deep_copy(att);
	{
		json_t *j1 = json_load_file(a1, 0, NULL);
		json_object_set(bad, "enclave_pubkey", json_object_get(j1, "enclave_pubkey"));
		json_decref(j1);
	}
	assert_int_equal(release(&old, bad, m_new, &j), 422);
	assert_string_equal(error_code(j), "attestation_rejected");
	json_decref(j);
	json_decref(bad);
	assert_int_equal(harness_http(&old, "POST", "/admin/handover", "{}", 2, NULL, NULL, &j), 401);
	json_decref(j);

	/* Released to the new instance's attested key (the package is fetched
	 * here first, to try changed and misdirected copies of it). */
	assert_int_equal(release(&old, att, m_new, &pkg), 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(pkg, "statement"), "to_epoch")), 2);
	assert_int_equal(harness_http(&old, "GET", "/enclave/summary", NULL, 0, NULL, sid, &j), 503);
	assert_string_equal(error_code(j), "handed_over");
	json_decref(j);
	/* a second release, to anyone else: refused (the old instance's own
	 * attestation is genuine evidence of another key) */
	{
		json_t *self = attestation_of(&old);
		assert_int_equal(release(&old, self, m_old, &j), 409);
		assert_string_equal(error_code(j), "handed_over");
		json_decref(j);
		json_decref(self);
	}
	/* a changed package */
	bad = json_deep_copy(pkg);
	json_object_set_new(json_object_get(bad, "statement"), "released_at", json_string("2026-01-01T00:00:00.000Z"));
	assert_int_equal(post_json(&neu, "/admin/handover/accept", bad, &j), 422);
	assert_string_equal(error_code(j), "handover_rejected");
	json_decref(j);
	json_decref(bad);
	/* a package for another instance's key */
	{
		const char *env_other[] = { urls, data_env, other_key_env, "HANDOVER_AWAIT=1", NULL };
		start_from(&other, bin2, env_other);
		assert_int_equal(post_json(&other, "/admin/handover/accept", pkg, &j), 422);
		assert_string_equal(error_code(j), "handover_wrong_key");
		json_decref(j);
		assert_int_equal(harness_stop(&other), 0);
	}

	/* The operator's approval through the client: the same package (the
	 * same recipient) is handed to the new instance. */
	{
		const char *argv[] = { "perfagg", "handover", "--from", old.url, "--to", neu.url, "--approve", m_new,
			"--allow-dev", NULL };
		assert_int_equal(run_cli(argv, &out), 0);
		assert_non_null(strstr(out, "key epoch 1 -> 2"));
		free(out);
	}
	/* replayed */
	assert_int_equal(post_json(&neu, "/admin/handover/accept", pkg, &j), 409);
	assert_string_equal(error_code(j), "handover_done");
	json_decref(j);
	assert_int_equal(harness_http(&neu, "GET", "/health", NULL, 0, NULL, NULL, &j), 200);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "handover_accepted");
	json_decref(j);

	/* The old instance stops; the new one starts on the same DATA_DIR with
	 * the keys at epoch 2 and serves the same session. */
	assert_int_equal(harness_stop(&old), 0);
	wait_started(&neu);
	assert_int_equal(harness_http(&neu, "GET", "/enclave/session", NULL, 0, NULL, sid, &j), 200);
	json_decref(j);
	harness_wait_backfilled(&neu, sid, "new instance");
	assert_int_equal(harness_http(&neu, "GET", "/enclave/summary", NULL, 0, NULL, sid, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "key_epoch")), 2);
	{
		json_t *j1 = json_load_file(s1, 0, NULL);
		assert_string_equal(json_string_value(json_object_get(j, "signing_key_id")),
		    json_string_value(json_object_get(j1, "signing_key_id")));
		json_decref(j1);
	}
	s2 = path_in("summary2.json");
	save(s2, j);
	json_decref(j);
	assert_int_equal(harness_http(&neu, "GET", "/attestation/quote", NULL, 0, NULL, NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "key_epoch")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "measurement")), m_new);
	a2 = path_in("attestation2.json");
	save(a2, j);
	json_decref(j);
	assert_int_equal(harness_http(&neu, "GET", "/enclave/handovers", NULL, 0, NULL, NULL, &j), 200);
	assert_int_equal(json_integer_value(json_object_get(j, "key_epoch")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "handovers")), 1);
	h2 = path_in("handovers.json");
	save(h2, j);
	json_object_set_new(json_array_get(json_object_get(j, "handovers"), 0), "to_measurement", json_string(m_old));
	hbad = path_in("handovers-changed.json");
	save(hbad, j);
	json_decref(j);

	/* perfagg verify follows the chain and names each epoch's measurement. */
	{
		char want1[128], want2[128];
		snprintf(want1, sizeof(want1), "key epoch 1: measurement %s", m_old);
		snprintf(want2, sizeof(want2), "key epoch 2: measurement %s", m_new);
		const char *v1[] = { "perfagg", "verify", s1, "--attestation", a1, "--allow-dev", NULL };
		assert_int_equal(run_cli(v1, &out), 0);
		assert_non_null(strstr(out, want1));
		free(out);
		const char *v2[] = { "perfagg", "verify", s2, "--attestation", a2, "--handovers", h2, "--allow-dev", NULL };
		assert_int_equal(run_cli(v2, &out), 0);
		assert_non_null(strstr(out, want2));
		free(out);
		const char *v3[] = { "perfagg", "verify", s1, "--attestation", a2, "--url", neu.url, "--allow-dev", NULL };
		assert_int_equal(run_cli(v3, &out), 0);
		assert_non_null(strstr(out, want1));
		free(out);
		const char *v4[] = { "perfagg", "verify", s2, "--attestation", a1, "--handovers", h2, "--allow-dev", NULL };
		assert_int_equal(run_cli(v4, &out), 0);
		assert_non_null(strstr(out, want2));
		free(out);
		/* without the chain, an epoch-2 document is not covered */
		const char *v5[] = { "perfagg", "verify", s2, "--attestation", a1, "--allow-dev", NULL };
		assert_int_equal(harness_run(v5, NULL, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "key epoch 2"));
		free(out);
		free(err);
		/* a changed chain */
		const char *v6[] = { "perfagg", "verify", s2, "--attestation", a2, "--handovers", hbad, "--allow-dev", NULL };
		assert_int_equal(harness_run(v6, NULL, NULL, &out, &err), 1);
		assert_non_null(strstr(err, "handover chain NOT verified"));
		free(out);
		free(err);
	}

	/* The old key files no longer start a daemon (their epoch is held by
	 * the new measurement). */
	{
		char data2[300], audit2[300], *log;
		snprintf(data2, sizeof(data2), "DATA_DIR=%s/data-old", tmpdir());
		snprintf(audit2, sizeof(audit2), "AUDIT_LOG_PATH=%s/audit-old.jsonl", tmpdir());
		const char *env_again[] = { data2, audit2, old_key_env, NULL };
		assert_int_equal(harness_start_fails(env_again, &log), 2);
		assert_non_null(strstr(log, "only through a handover"));
		free(log);
	}

	/* Both sides in the one audit log, which verifies across the handover. */
	assert_int_equal(harness_stop(&neu), 0);
	{
		const char *e = NULL;
		size_t len;
		char *log = (char *)file_read_all(audit_path, 64u << 20, &len, &e);
		assert_non_null(log);
		assert_non_null(strstr(log, "\"event\":\"handover_released\""));
		assert_non_null(strstr(log, "\"event\":\"handover_accepted\""));
		assert_non_null(strstr(log, "\"event\":\"handover_refused\""));
		free(log);
		const char *av[] = { "perfagg", "audit", "verify", audit_path, "--attestation", a2, "--allow-dev", NULL };
		assert_int_equal(run_cli(av, &out), 0);
		free(out);
	}
	json_decref(att);
	json_decref(pkg);
	json_decref(accounts);
	exsim_run_stop(&sim);
	free(sid);
	free(old_pem);
	free(old_pub);
	free(audit_path);
	free(bin2);
	free(s1);
	free(a1);
	free(s2);
	free(a2);
	free(h2);
	free(hbad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handover),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
