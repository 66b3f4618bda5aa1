#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "server/config.h"

static const char *const ENV_NAMES[] = {
	"ENCLAVE_HOST", "ENCLAVE_PORT", "ENCLAVE_PRIVATE_KEY_PATH", "ENCLAVE_PUBLIC_KEY_PATH",
	"DEFAULT_SESSION_TTL", "MAX_SESSION_TTL", "MIN_SESSION_TTL", "SESSION_CLEANUP_INTERVAL",
	"RATE_LIMIT_MAX", "RATE_LIMIT_WINDOW", "LOG_LEVEL", "TLS_CERT_PATH", "TLS_KEY_PATH",
	"ALLOW_PLAIN_HTTP", "ATTESTATION_PROVIDER", "ATTESTATION_ROOT", "HTTP_THREADS", "MAX_SESSIONS",
	"MAX_CONNECTIONS", NULL
};

static int
clean_env(void **state)
{
	(void)state;
	for (size_t i = 0; ENV_NAMES[i] != NULL; i++)
		unsetenv(ENV_NAMES[i]);
	return 0;
}

/* config_load with argv given as a NULL-terminated list after argv[0]. */
static int
load(struct config *cfg, char *err, const char *const *args)
{
	char *argv[32] = { (char *)"perfaggd" };
	int argc = 1;

	for (; args != NULL && args[argc - 1] != NULL; argc++)
		argv[argc] = (char *)(uintptr_t)args[argc - 1];
	err[0] = '\0';
	return config_load(cfg, argc, argv, stdout, err, 512);
}

static void
test_defaults(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	assert_int_equal(load(&c, err, NULL), 0);
	assert_string_equal(c.host, "0.0.0.0");
	assert_int_equal(c.port, 3000);
	assert_null(c.private_key_path);
	assert_null(c.public_key_path);
	assert_int_equal(c.default_session_ttl, 86400);
	assert_int_equal(c.max_session_ttl, 604800);
	assert_int_equal(c.min_session_ttl, 300);
	assert_int_equal(c.cleanup_interval_ms, 3600000);
	assert_int_equal(c.rate_limit_max, 100);
	assert_int_equal(c.rate_limit_window_ms, 900000);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_null(c.tls_cert_path);
	assert_null(c.tls_key_path);
	assert_false(c.allow_plain_http);
	assert_string_equal(c.attestation_provider, "dev");
	assert_null(c.attestation_root);
	assert_int_equal(c.http_threads, 2);
	assert_int_equal(c.max_sessions, 100000);
	assert_int_equal(c.max_connections, 1024);
	config_clear(&c);
	config_clear(&c);	/* twice is harmless */
}

static void
test_env_and_flags(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	setenv("ENCLAVE_PORT", "4000", 1);
	setenv("ENCLAVE_HOST", "127.0.0.1", 1);
	setenv("LOG_LEVEL", "debug", 1);
	setenv("ALLOW_PLAIN_HTTP", "yes", 1);
	setenv("RATE_LIMIT_MAX", "7", 1);
	setenv("TLS_CERT_PATH", "/c.pem", 1);
	setenv("TLS_KEY_PATH", "/k.pem", 1);
	assert_int_equal(load(&c, err, NULL), 0);
	assert_int_equal(c.port, 4000);
	assert_string_equal(c.host, "127.0.0.1");
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_true(c.allow_plain_http);
	assert_int_equal(c.rate_limit_max, 7);
	assert_string_equal(c.tls_cert_path, "/c.pem");
	config_clear(&c);

	/* Flags override the environment, in both forms. */
	assert_int_equal(load(&c, err, (const char *const[]){ "--port", "5000", "--host=::1", "--log-level=error",
	    "--allow-plain-http", "0", "--rate-limit-max=9", "--tls-cert-path", "", "--tls-key-path=", NULL }), 0);
	assert_int_equal(c.port, 5000);
	assert_string_equal(c.host, "::1");
	assert_int_equal(c.log_level, LOG_ERROR);
	assert_false(c.allow_plain_http);
	assert_int_equal(c.rate_limit_max, 9);
	assert_null(c.tls_cert_path);	/* empty means unset for an optional path */
	assert_null(c.tls_key_path);
	config_clear(&c);

	/* The last flag wins; a value may contain '='. */
	assert_int_equal(load(&c, err, (const char *const[]){ "--port=1", "--port=2",
	    "--private-key-path=/a=b.pem", NULL }), 0);
	assert_int_equal(c.port, 2);
	assert_string_equal(c.private_key_path, "/a=b.pem");
	config_clear(&c);
}

/* Every bad value is refused with a message naming the setting. */
static void
test_bad_env_values(void **state)
{
	static const char *const bad[][2] = {
		{ "ENCLAVE_PORT", "0" }, { "ENCLAVE_PORT", "65536" }, { "ENCLAVE_PORT", "abc" },
		{ "ENCLAVE_PORT", "" }, { "ENCLAVE_PORT", "80x" }, { "ENCLAVE_PORT", " 80" },
		{ "ENCLAVE_PORT", "+80" }, { "ENCLAVE_PORT", "99999999999999999999999" },
		{ "ENCLAVE_HOST", "" },
		{ "DEFAULT_SESSION_TTL", "0" }, { "DEFAULT_SESSION_TTL", "-5" },
		{ "MAX_SESSION_TTL", "31708801" }, { "MIN_SESSION_TTL", "zero" },
		{ "SESSION_CLEANUP_INTERVAL", "99" }, { "RATE_LIMIT_MAX", "0" },
		{ "RATE_LIMIT_WINDOW", "999" }, { "LOG_LEVEL", "loud" }, { "LOG_LEVEL", "" },
		{ "ALLOW_PLAIN_HTTP", "maybe" }, { "ATTESTATION_PROVIDER", "" },
		{ "HTTP_THREADS", "0" }, { "HTTP_THREADS", "257" }, { "MAX_SESSIONS", "0" },
		{ "MAX_CONNECTIONS", "100001" },
	};
	struct config c;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clean_env(NULL);
		setenv(bad[i][0], bad[i][1], 1);
		if (load(&c, err, NULL) != -1)
			fail_msg("%s='%s' accepted", bad[i][0], bad[i][1]);
		if (strstr(err, bad[i][0]) == NULL)
			fail_msg("%s='%s': message does not name it: %s", bad[i][0], bad[i][1], err);
		assert_null(strchr(err, '\n'));	/* one line */
		config_clear(&c);
	}
	clean_env(NULL);
}

static void
test_bad_flags(void **state)
{
	const char *const *const bad[] = {
		(const char *const[]){ "--port", "0", NULL },
		(const char *const[]){ "--port=", NULL },
		(const char *const[]){ "--port", NULL },	/* no value */
		(const char *const[]){ "--log-level=verbose", NULL },
		(const char *const[]){ "--host=", NULL },
		(const char *const[]){ "--max-sessions=1e3", NULL },
	};
	static const char *const names[] = { "port", "port", "port", "log-level", "host", "max-sessions" };
	struct config c;
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load(&c, err, bad[i]), -1);
		if (strstr(err, names[i]) == NULL)
			fail_msg("%s: message does not name it: %s", bad[i][0], err);
		config_clear(&c);
	}
	assert_int_equal(load(&c, err, (const char *const[]){ "--nope=1", NULL }), -1);
	assert_non_null(strstr(err, "--nope"));
	config_clear(&c);
	assert_int_equal(load(&c, err, (const char *const[]){ "port", "80", NULL }), -1);
	assert_non_null(strstr(err, "unexpected argument"));
	config_clear(&c);
	/* A bad value in the environment is refused even if a flag is fine. */
	setenv("HTTP_THREADS", "x", 1);
	assert_int_equal(load(&c, err, (const char *const[]){ "--http-threads=4", NULL }), -1);
	assert_non_null(strstr(err, "HTTP_THREADS"));
	config_clear(&c);
	clean_env(NULL);
}

static void
test_cross_checks(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	assert_int_equal(load(&c, err, (const char *const[]){ "--min-session-ttl=1000", "--max-session-ttl=999",
	    "--default-session-ttl=999", NULL }), -1);
	assert_non_null(strstr(err, "MIN_SESSION_TTL"));
	config_clear(&c);
	assert_int_equal(load(&c, err, (const char *const[]){ "--default-session-ttl=100", NULL }), -1);
	assert_non_null(strstr(err, "DEFAULT_SESSION_TTL"));
	config_clear(&c);
	assert_int_equal(load(&c, err, (const char *const[]){ "--default-session-ttl=604801", NULL }), -1);
	assert_non_null(strstr(err, "DEFAULT_SESSION_TTL"));
	config_clear(&c);
	/* Bounds are inclusive. */
	assert_int_equal(load(&c, err, (const char *const[]){ "--default-session-ttl=300", "--min-session-ttl=300",
	    "--max-session-ttl=300", NULL }), 0);
	config_clear(&c);

	assert_int_equal(load(&c, err, (const char *const[]){ "--tls-cert-path=/c.pem", NULL }), -1);
	assert_non_null(strstr(err, "TLS_KEY_PATH"));
	config_clear(&c);
	assert_int_equal(load(&c, err, (const char *const[]){ "--tls-key-path=/k.pem", NULL }), -1);
	assert_non_null(strstr(err, "TLS_CERT_PATH"));
	config_clear(&c);
	assert_int_equal(load(&c, err, (const char *const[]){ "--public-key-path=/p.pem", NULL }), -1);
	assert_non_null(strstr(err, "ENCLAVE_PUBLIC_KEY_PATH"));
	config_clear(&c);
}

static void
test_help(void **state)
{
	char *buf = NULL, err[512];
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	char *argv[] = { (char *)"perfaggd", (char *)"--port=1", (char *)"--help", NULL };
	struct config c;

	(void)state;
	assert_non_null(out);
	assert_int_equal(config_load(&c, 3, argv, out, err, sizeof(err)), 1);
	fclose(out);
	for (size_t i = 0; ENV_NAMES[i] != NULL; i++)
		if (strstr(buf, ENV_NAMES[i]) == NULL)
			fail_msg("--help does not list %s", ENV_NAMES[i]);
	assert_non_null(strstr(buf, "--rate-limit-window"));
	assert_non_null(strstr(buf, "keygen"));
	free(buf);
	config_clear(&c);
}

/* URLs are shown (audit "config" entry) without the credentials they carry. */
static void
test_public_json_redacts_urls(void **state)
{
	struct config cfg;
	char err[256], *dump;
	json_t *j;

	(void)state;
	setenv("AGGREGATOR_BACKEND_URL", "https://ingest:pw-backend@backend.example/base?token=tok-backend", 1);
	setenv("EXCHANGE_BASE_URLS", "binance=http://u:pw-binance@127.0.0.1:9/?x=1,kraken=http://127.0.0.1:9/"
	    "?apikey=k-kraken", 1);
	setenv("OPERATOR_TOKEN", "operator-token-0123456789", 1);
	assert_int_equal(config_load(&cfg, 0, NULL, stdout, err, sizeof(err)), 0);
	/* The daemon itself still uses them as given. */
	assert_string_equal(cfg.backend_url, "https://ingest:pw-backend@backend.example/base?token=tok-backend");
	j = config_public_json(&cfg);
	assert_string_equal(json_string_value(json_object_get(j, "AGGREGATOR_BACKEND_URL")),
	    "https://REDACTED@backend.example/base?token=REDACTED");
	assert_string_equal(json_string_value(json_object_get(j, "EXCHANGE_BASE_URLS")),
	    "binance=http://REDACTED@127.0.0.1:9/?x=1,kraken=http://127.0.0.1:9/?apikey=REDACTED");
	assert_string_equal(json_string_value(json_object_get(j, "OPERATOR_TOKEN")), "set");
	dump = json_dumps(j, JSON_COMPACT);
	assert_null(strstr(dump, "pw-"));
	assert_null(strstr(dump, "tok-backend"));
	assert_null(strstr(dump, "k-kraken"));
	free(dump);
	json_decref(j);
	config_clear(&cfg);
	unsetenv("AGGREGATOR_BACKEND_URL");
	unsetenv("EXCHANGE_BASE_URLS");
	unsetenv("OPERATOR_TOKEN");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, clean_env),
		cmocka_unit_test_setup(test_env_and_flags, clean_env),
		cmocka_unit_test_setup(test_bad_env_values, clean_env),
		cmocka_unit_test_setup(test_bad_flags, clean_env),
		cmocka_unit_test_setup(test_cross_checks, clean_env),
		cmocka_unit_test_setup(test_help, clean_env),
		cmocka_unit_test_setup(test_public_json_redacts_urls, clean_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
