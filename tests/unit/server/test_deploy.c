/*
 * The deployment files keep their safety properties: the Gramine manifest
 * has no insecure__ option and no debug enclave, attests with DCAP and
 * encrypts its data mount; the systemd unit keeps its hardening; the
 * Dockerfile is multi-stage, runs as non-root and bakes in no secret.
 * (Docker, Gramine and systemd cannot run here; their files are read.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/file.h"
#include "util/xalloc.h"

static char *
read_deploy(const char *rel)
{
	const char *src = getenv("PERFAGG_SOURCE_DIR"), *err = NULL;
	char *path, *text;
	size_t len;

	assert_non_null(src);
	path = xasprintf("%s/deploy/%s", src, rel);
	text = (char *)file_read_all(path, 1 << 20, &len, &err);
	if (text == NULL)
		fail_msg("%s: %s", path, err);
	text = xrealloc(text, len + 1);
	text[len] = '\0';
	free(path);
	return text;
}

/* The text without comments and without blanks, line by line ("a = b # c" -> "a=b"). */
static char *
squeeze(const char *text)
{
	char *out = xmalloc(strlen(text) + 1), *o = out;
	bool comment = false, quoted = false;

	for (const char *c = text; *c != '\0'; c++) {
		if (*c == '\n') {
			comment = quoted = false;
			*o++ = '\n';
			continue;
		}
		if (*c == '"')
			quoted = !quoted;
		if (*c == '#' && !quoted)
			comment = true;
		if (comment || *c == ' ' || *c == '\t')
			continue;
		*o++ = *c;
	}
	*o = '\0';
	return out;
}

/* Returns NULL if the manifest is acceptable, else what is wrong. */
static const char *
manifest_problem(const char *text)
{
	static const char *const required[] = { "libos.entrypoint=", "sgx.debug=false\n",
		"sgx.remote_attestation=\"dcap\"\n", "type=\"encrypted\"", "sgx.trusted_files=[", "sgx.enclave_size=",
		"sgx.max_threads=", "sys.disallow_subprocesses=true\n" };
	char *sq = squeeze(text), *allowed;
	const char *problem = NULL;

	/* Anywhere, comments included: the string has no business in the file. */
	if (strstr(text, "insecure__") != NULL)
		problem = "an insecure__ option";
	else if (strstr(sq, "sgx.debug=true") != NULL)
		problem = "sgx.debug = true";
	for (size_t i = 0; problem == NULL && i < sizeof(required) / sizeof(required[0]); i++)
		if (strstr(sq, required[i]) == NULL)
			problem = required[i];
	/* Files read without integrity must not be code or configuration. */
	if (problem == NULL && (allowed = strstr(sq, "sgx.allowed_files=[")) != NULL) {
		char *end = strchr(allowed, ']');
		if (end != NULL)
			*end = '\0';
		if (strstr(allowed, ".so") != NULL || strstr(allowed, "/bin/") != NULL || strstr(allowed, "lib") != NULL ||
		    strstr(allowed, "perfagg") != NULL)
			problem = "code or configuration in sgx.allowed_files";
	}
	free(sq);
	return problem;
}

static void
test_manifest(void **state)
{
	char *m = read_deploy("gramine/perfaggd.manifest.template");
	const char *problem = manifest_problem(m);

	(void)state;
	if (problem != NULL)
		fail_msg("deploy/gramine/perfaggd.manifest.template: %s", problem);
	free(m);
}

/* The check fails on what it must refuse. */
static void
test_manifest_check_can_fail(void **state)
{
	static const char *const bad_lines[] = {
		"loader.insecure__use_cmdline_argv = true\n",
		"sgx.insecure__allow_memfaults_without_exinfo = true\n",
		"sgx.debug = true\n",
		"sgx.debug=true\n",
		"sgx.debug   =   true   # for a quick test\n",
		"sgx.allowed_files = [ \"file:/usr/lib/x86_64-linux-gnu/libcurl.so.4\" ]\n",
	};
	char *m = read_deploy("gramine/perfaggd.manifest.template");

	(void)state;
	for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
		char *bad = xasprintf("%s%s", bad_lines[i], m);
		if (manifest_problem(bad) == NULL)
			fail_msg("accepted: %s", bad_lines[i]);
		free(bad);
	}
	{
		/* Without DCAP, or without the encrypted mount. */
		char *bad = xstrdup(m), *p = strstr(bad, "\"dcap\"");
		assert_non_null(p);
		memcpy(p, "\"none\"", 6);
		assert_non_null(manifest_problem(bad));
		free(bad);
		bad = xstrdup(m);
		p = strstr(bad, "\"encrypted\"");
		assert_non_null(p);
		memcpy(p, "\"chroot\"   ", 11);
		assert_non_null(manifest_problem(bad));
		free(bad);
	}
	free(m);
}

static void
test_systemd_unit(void **state)
{
	static const char *const required[] = { "\nDynamicUser=yes\n", "\nNoNewPrivileges=yes\n",
		"\nProtectSystem=strict\n", "\nPrivateTmp=yes\n", "\nMemoryDenyWriteExecute=yes\n", "\nLimitCORE=0\n",
		"\nStateDirectory=perfagg\n", "\nEnvironmentFile=", "\nExecStart=/usr/local/bin/perfaggd\n",
		"\nCapabilityBoundingSet=\n" };
	char *u = read_deploy("perfaggd.service");

	(void)state;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (strstr(u, required[i]) == NULL)
			fail_msg("deploy/perfaggd.service lacks %s", required[i] + 1);
	assert_null(strstr(u, "\nUser=root"));
	free(u);
}

static void
test_dockerfile(void **state)
{
	char *d = read_deploy("Dockerfile"), *line, *save = NULL;
	size_t from = 0;
	bool user = false, expose = false, entry = false;

	(void)state;
	for (line = strtok_r(d, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "FROM ", 5) == 0) {
			from++;
			user = false;	/* USER applies to the stage it is in: the last one counts */
			assert_non_null(strstr(line, "debian:12"));
		}
		if (strncmp(line, "USER ", 5) == 0)
			user = strncmp(line + 5, "root", 4) != 0 && strncmp(line + 5, "0", 1) != 0;
		expose |= strcmp(line, "EXPOSE 3000") == 0;
		entry |= strncmp(line, "ENTRYPOINT ", 11) == 0 && strstr(line, "perfaggd") != NULL;
		/* No secret baked into an image layer. */
		if (strncmp(line, "COPY ", 5) == 0 || strncmp(line, "ADD ", 4) == 0)
			assert_true(strstr(line, ".pem") == NULL && strstr(line, ".key") == NULL && strstr(line, ".env") == NULL);
		if (strncmp(line, "ENV ", 4) == 0 || strncmp(line, "ARG ", 4) == 0 || strncmp(line, "    ", 4) == 0)
			assert_true(strstr(line, "SECRET") == NULL && strstr(line, "TOKEN") == NULL &&
			    strstr(line, "PASSWORD") == NULL && strstr(line, "API_KEY") == NULL && strstr(line, "KEY_PATH") == NULL);
	}
	assert_true(from >= 2);
	assert_true(user);
	assert_true(expose);
	assert_true(entry);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_manifest_check_can_fail),
		cmocka_unit_test(test_systemd_unit),
		cmocka_unit_test(test_dockerfile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
