/*
 * harness: starts the real binaries on 127.0.0.1 and talks to them, for the
 * integration tests. Binaries come from $PERFAGG_BIN_DIR.
 */
#ifndef PERFAGG_TESTS_HARNESS_H
#define PERFAGG_TESTS_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct daemon {
	pid_t pid;
	int port;
	char url[64];
	char log_path[256];
	char audit_path[256];	/* AUDIT_LOG_PATH: a fresh file per daemon unless the test sets one */
};

/* The operator token every daemon gets unless the test sets OPERATOR_TOKEN. */
#define HARNESS_OPERATOR_TOKEN "harness-operator-token-0123456789"

/* Starts perfaggd on a free loopback port with extra "NAME=value" settings
 * (NULL-terminated list, may be NULL) and waits until /health answers.
 * Aborts the test on failure. */
void harness_start(struct daemon *d, const char *const *env);
/* harness_start over HTTPS: the caller's env sets TLS_CERT_PATH and
 * TLS_KEY_PATH; cacert (a PEM file) is trusted for the /health wait, and
 * d->url is https://127.0.0.1:PORT. Aborts the test on failure. */
void harness_start_tls(struct daemon *d, const char *const *env, const char *cacert);

/* Starts perfaggd with env (as harness_start) expecting it to stop during
 * start-up: returns its exit code (-1 if killed by a signal, -2 if it was
 * still running after 10 s and had to be killed), and its output in *log
 * (caller frees). */
int harness_start_fails(const char *const *env, char **log);

/* SIGTERM, wait, and return the exit status (-1 if killed by a signal). */
int harness_stop(struct daemon *d);

/* One HTTP request to the daemon. body may be NULL; content_type NULL means
 * application/json; bearer may be NULL. Returns the status; *json (may be
 * NULL) receives the parsed body (caller decrefs). */
long harness_http(const struct daemon *d, const char *method, const char *path, const char *body,
    size_t body_len, const char *content_type, const char *bearer, json_t **json);

/* harness_http trusting the CA bundle cacert (NULL: the system's), for HTTPS. */
long harness_http_ca(const struct daemon *d, const char *cacert, const char *method, const char *path,
    const char *body, size_t body_len, const char *content_type, const char *bearer, json_t **json);

/* Runs a binary from PERFAGG_BIN_DIR with argv (NULL-terminated, argv[0] the
 * binary name) and extra environment; captures stdout and stderr (caller
 * frees) and returns the exit code (-1 if killed). stdin_data may be NULL. */
int harness_run(const char *const *argv, const char *const *env, const char *stdin_data, char **out, char **err);

/* Counts occurrences of (needle, len) in every mapping of process pid, read
 * through /proc/pid/mem. Returns the count, or -1 if the memory cannot be read. */
long harness_memory_count(pid_t pid, const void *needle, size_t len);

/* The daemon's log (stderr) so far; caller frees. */
char *harness_log(const struct daemon *d);

#endif
