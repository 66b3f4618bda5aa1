/*
 * Integration: what perfaggd leaves on disk and in its output. Credentials
 * inside configured URLs reach neither its log nor its audit log; DATA_DIR
 * ends 0700 with every file in it 0600, whoever created them and whatever
 * the umask it was started with. A log cut short while the daemon was down
 * is reported at the next start and by `perfagg audit verify`, which also
 * refuses a log no signature covers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"
#include "util/file.h"
#include "util/xalloc.h"

static char *
slurp(const char *path)
{
	const char *e = NULL;
	size_t n;
	char *s = (char *)file_read_all(path, 64u << 20, &n, &e);

	if (s == NULL)
		fail_msg("%s: %s", path, e);
	return s;
}

static void
rm_rf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* Every entry of dir (one level down too) is 0600 (files) or 0700 (directories). */
static void
assert_private(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;

	assert_non_null(d);
	assert_int_equal(stat(dir, &st), 0);
	if ((st.st_mode & 07777) != 0700)
		fail_msg("%s: mode %04o", dir, (unsigned)(st.st_mode & 07777));
	while ((de = readdir(d)) != NULL) {
		char *p;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		assert_int_equal(lstat(p, &st), 0);
		if (S_ISDIR(st.st_mode))
			assert_private(p);
		else if (S_ISREG(st.st_mode) && (st.st_mode & 07777) != 0600)
			fail_msg("%s: mode %04o", p, (unsigned)(st.st_mode & 07777));
		free(p);
	}
	closedir(d);
}

static void
write_mode(const char *path, mode_t mode)
{
	const char *e = NULL;

	assert_int_equal(file_write_atomic(path, "{}\n", 3, 0600, &e), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_urls_redacted_and_data_dir_private(void **state)
{
	static const char *const secrets[] = { "backuser", "pw-backend-s3cr3t", "tok-backend-s3cr3t",
		"exuser", "pw-exchange-s3cr3t", "key-exchange-s3cr3t" };
	char dir[] = "/tmp/perfagg-hygiene-XXXXXX", *data, *sub, *audit, *log, *buf, *p;
	char data_env[300], audit_env[300];
	struct daemon d;
	struct stat st;
	mode_t old;

	(void)state;
	assert_non_null(mkdtemp(dir));
	data = xasprintf("%s/data", dir);
	sub = xasprintf("%s/data/old", dir);
	audit = xasprintf("%s/data/audit.jsonl", dir);
	/* A DATA_DIR an operator made by hand, open to everyone, with files in it. */
	assert_int_equal(mkdir(data, 0755), 0);
	assert_int_equal(chmod(data, 0755), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(chmod(sub, 0755), 0);
	p = xasprintf("%s/notes.json", data);
	write_mode(p, 0644);
	free(p);
	p = xasprintf("%s/older.json", sub);
	write_mode(p, 0666);
	free(p);
	snprintf(data_env, sizeof(data_env), "DATA_DIR=%s", data);
	snprintf(audit_env, sizeof(audit_env), "AUDIT_LOG_PATH=%s", audit);
	const char *env[] = { data_env, audit_env,
	    "AGGREGATOR_BACKEND_URL=http://backuser:pw-backend-s3cr3t@127.0.0.1:9/base?token=tok-backend-s3cr3t&v=1",
	    "EXCHANGE_BASE_URLS=binance=http://exuser:pw-exchange-s3cr3t@127.0.0.1:9/,"
	    "kraken=http://127.0.0.1:9/?api_key=key-exchange-s3cr3t",
	    "INGEST_INTERVAL=1000", NULL };

	old = umask(022);	/* the daemon sets its own */
	harness_start(&d, env);
	umask(old);
	/* Files the daemon created (audit log, outbox database, its -wal and -shm). */
	p = xasprintf("%s/outbox.sqlite3", data);
	assert_int_equal(stat(p, &st), 0);
	free(p);
	assert_private(data);
	log = harness_log(&d);	/* harness_stop removes it */
	assert_int_equal(harness_stop(&d), 0);
	assert_private(data);

	buf = slurp(audit);
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		if (strstr(log, secrets[i]) != NULL)
			fail_msg("'%s' in the daemon's log", secrets[i]);
		if (strstr(buf, secrets[i]) != NULL)
			fail_msg("'%s' in the audit log", secrets[i]);
	}
	/* The URLs are recorded, without their credentials. */
	assert_non_null(strstr(buf, "\"AGGREGATOR_BACKEND_URL\":\"http://REDACTED@127.0.0.1:9/base?token=REDACTED&v=1\""));
	assert_non_null(strstr(buf, "binance=http://REDACTED@127.0.0.1:9/,kraken=http://127.0.0.1:9/?api_key=REDACTED"));
	/* What was tightened is logged. */
	assert_non_null(strstr(log, "\"event\":\"data_dir_mode_fixed\""));
	assert_non_null(strstr(log, "\"name\":\"notes.json\""));
	free(log);
	free(buf);
	rm_rf(dir);
	free(data);
	free(sub);
	free(audit);
}

/* Saves the daemon's attestation document (its signing key) to path. */
static void
save_quote(const struct daemon *d, const char *path)
{
	const char *e = NULL;
	json_t *j = NULL;
	char *s;

	assert_int_equal(harness_http(d, "GET", "/attestation/quote", NULL, 0, NULL, NULL, &j), 200);
	s = json_dumps(j, JSON_COMPACT);
	assert_int_equal(file_write_atomic(path, s, strlen(s), 0600, &e), 0);
	free(s);
	json_decref(j);
}

/* perfagg audit verify log --allow-dev --attestation quote: the exit code, stdout and stderr. */
static int
verify(const char *log, const char *quote, char **out, char **err)
{
	const char *argv[] = { "perfagg", "audit", "verify", log, "--allow-dev", "--attestation", quote, NULL };

	return harness_run(argv, NULL, NULL, out, err);
}

/* Starts the daemon, makes n audited requests, and stops it; returns its log. */
static char *
run_daemon(const char *const *env, int n, const char *quote)
{
	struct daemon d;
	json_t *j;
	char *log;

	harness_start(&d, env);
	if (quote != NULL)
		save_quote(&d, quote);
	for (int i = 0; i < n; i++) {
		assert_int_equal(harness_http(&d, "POST", "/enclave/cleanup", NULL, 0, NULL, HARNESS_OPERATOR_TOKEN,
		    &j), 200);
		json_decref(j);
	}
	log = harness_log(&d);
	assert_int_equal(harness_stop(&d), 0);
	return log;
}

/* The first n lines of the file at path; the rest is cut off. */
static void
keep_lines(const char *path, int n)
{
	char *buf = slurp(path), *p = buf;
	const char *e = NULL;

	for (int i = 0; i < n; i++)
		p = strchr(p, '\n') + 1;
	assert_int_equal(file_write_atomic(path, buf, (size_t)(p - buf), 0600, &e), 0);
	free(buf);
}

static void
test_truncated_tail_reported(void **state)
{
	char dir[] = "/tmp/perfagg-trunc-XXXXXX", *priv, *pub, *audit, *quote, *log, *out, *err, *buf, *copy;
	char priv_env[200], pub_env[200], data_env[200], audit_env[200];
	int rc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	priv = xasprintf("%s/priv.pem", dir);
	pub = xasprintf("%s/pub.pem", dir);
	audit = xasprintf("%s/audit.jsonl", dir);
	quote = xasprintf("%s/quote.json", dir);
	copy = xasprintf("%s/unsigned.jsonl", dir);
	const char *kg[] = { "perfaggd", "keygen", priv, pub, NULL };
	assert_int_equal(harness_run(kg, NULL, NULL, &out, &err), 0);
	free(out);
	free(err);
	snprintf(priv_env, sizeof(priv_env), "ENCLAVE_PRIVATE_KEY_PATH=%s", priv);
	snprintf(pub_env, sizeof(pub_env), "ENCLAVE_PUBLIC_KEY_PATH=%s", pub);
	snprintf(data_env, sizeof(data_env), "DATA_DIR=%s/data", dir);
	snprintf(audit_env, sizeof(audit_env), "AUDIT_LOG_PATH=%s", audit);
	const char *env[] = { priv_env, pub_env, data_env, audit_env, "AUDIT_CHECKPOINT_EVERY=3", NULL };

	/* Two runs with the same key: the second finds the first's last
	 * checkpoint where it was, and the whole log verifies. */
	free(run_daemon(env, 10, quote));
	log = run_daemon(env, 2, NULL);
	assert_null(strstr(log, "audit_truncated"));
	free(log);
	rc = verify(audit, quote, &out, &err);
	if (rc != 0)
		fail_msg("verify: %s", err);
	assert_non_null(strstr(out, "audit log verified"));
	free(out);
	free(err);

	/* A chain that checks but that no signature covers is not verified:
	 * line 1 alone (the config entry). */
	buf = slurp(audit);
	{
		const char *e = NULL;
		assert_int_equal(file_write_atomic(copy, buf, (size_t)(strchr(buf, '\n') + 1 - buf), 0600, &e), 0);
	}
	free(buf);
	rc = verify(copy, quote, &out, &err);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "NOT verified: no signed checkpoint"));
	assert_null(strstr(out, "verified"));
	free(out);
	free(err);

	/* The tail cut at a line boundary, while the daemon is down: the
	 * next start says so, in its log and in the audit log. */
	keep_lines(audit, 7);
	rc = verify(audit, quote, &out, &err);	/* a clean prefix: nothing to see without the daemon */
	assert_int_equal(rc, 0);
	free(out);
	free(err);
	log = run_daemon(env, 1, NULL);
	assert_non_null(strstr(log, "\"event\":\"audit_truncated\""));
	free(log);
	buf = slurp(audit);
	assert_non_null(strstr(buf, "\"reason\":\"truncated\""));
	assert_non_null(strstr(buf, "\"found_lines\":7,\"found_seq\":7"));
	free(buf);
	rc = verify(audit, quote, &out, &err);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "NOT verified: TRUNCATED"));
	assert_non_null(strstr(err, "the log ended at seq 7"));
	assert_null(strstr(out, "verified"));
	free(out);
	free(err);

	/* Cut inside a line too: the restart bridges the partial line and
	 * still says the log was truncated. */
	{
		char *b = slurp(audit);
		const char *e = NULL;
		char *third = strchr(strchr(b, '\n') + 1, '\n') + 1;
		assert_int_equal(file_write_atomic(audit, b, (size_t)(third - b) + 10, 0600, &e), 0);
		free(b);
	}
	free(run_daemon(env, 0, NULL));
	rc = verify(audit, quote, &out, &err);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "NOT verified: TRUNCATED"));
	free(out);
	free(err);

	rm_rf(dir);
	free(priv);
	free(pub);
	free(audit);
	free(quote);
	free(copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls_redacted_and_data_dir_private),
		cmocka_unit_test(test_truncated_tail_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
