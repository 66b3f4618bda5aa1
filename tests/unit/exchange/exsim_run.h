/*
 * exsim_run: starts the built simulator ($PERFAGG_BIN_DIR/perfagg-exsim) on
 * an ephemeral 127.0.0.1 port for a connector test, and fetches its admin
 * routes. Header-only (static functions): each test is its own executable.
 * Include after <cmocka.h>.
 */
#ifndef PERFAGG_TESTS_EXSIM_RUN_H
#define PERFAGG_TESTS_EXSIM_RUN_H

#include <curl/curl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "util/xalloc.h"

struct exsim_run {
	pid_t pid;
	int port;
	char url[64];
};

/* Starts the simulator with the extra arguments (NULL-terminated) and waits
 * for its "listening" line. Fails the test on error. */
static inline void
exsim_run_start(struct exsim_run *s, const char *const *args)
{
	const char *dir = getenv("PERFAGG_BIN_DIR");
	char *bin = xasprintf("%s/perfagg-exsim", dir ? dir : ".");
	char *argv[48] = { bin, xstrdup("--port"), xstrdup("0") };
	size_t n = 3;
	int fd[2];
	char line[256];
	FILE *f;

	for (; args != NULL && *args != NULL && n < 47; args++)
		argv[n++] = xstrdup(*args);
	argv[n] = NULL;
	if (pipe(fd) != 0)
		fail_msg("pipe");
	if ((s->pid = fork()) == 0) {
		/* dies with the test, even when a failed assertion skips the
		 * stop: an orphan would hold ctest's output pipe open */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execv(bin, argv);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL || sscanf(line, "{\"event\":\"listening\",\"port\":%d", &s->port) != 1)
		fail_msg("perfagg-exsim did not start (%s)", bin);
	fclose(f);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
}

static inline void
exsim_run_stop(struct exsim_run *s)
{
	int st;

	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, &st, 0);
		s->pid = 0;
	}
}

struct exsim_run_buf {
	char *p;
	size_t len;
};

static inline size_t
exsim_run_write(char *p, size_t sz, size_t n, void *arg)
{
	struct exsim_run_buf *b = arg;

	b->p = xrealloc(b->p, b->len + sz * n + 1);
	memcpy(b->p + b->len, p, sz * n);
	b->len += sz * n;
	b->p[b->len] = '\0';
	return sz * n;
}

/* GET url + path with an optional header line; returns the status and the
 * body in *body (caller frees). */
static inline long
exsim_run_get(const struct exsim_run *s, const char *path, const char *header, char **body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = header != NULL ? curl_slist_append(NULL, header) : NULL;
	struct exsim_run_buf b = { xstrdup(""), 0 };
	char *url = xasprintf("%s%s", s->url, path);
	long status = 0;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, exsim_run_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
	*body = b.p;
	return status;
}

/* GET path as JSON (numbers kept exact as strings by the caller's loader
 * when needed: here plain jansson). Fails the test unless 200. */
static inline json_t *
exsim_run_json(const struct exsim_run *s, const char *path)
{
	char *body;
	long st = exsim_run_get(s, path, NULL, &body);
	json_t *j = json_loads(body, 0, NULL);

	if (st != 200 || j == NULL)
		fail_msg("GET %s: %ld %.200s", path, st, body);
	free(body);
	return j;
}

#endif
