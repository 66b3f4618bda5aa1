/*
 * Integration: what perfaggd leaves on disk and in its output. Credentials
 * inside configured URLs reach neither its log nor its audit log; DATA_DIR
 * ends 0700 with every file in it 0600, whoever created them and whatever
 * the umask it was started with.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls_redacted_and_data_dir_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
