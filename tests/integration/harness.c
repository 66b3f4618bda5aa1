#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/httpc.h"
#include "util/xalloc.h"

extern char **environ;

static void
die(const char *what)
{
	fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
	abort();
}

static const char *
bin_dir(void)
{
	const char *d = getenv("PERFAGG_BIN_DIR");

	return d != NULL ? d : ".";
}

static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		die("free port");
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* Whether env (NULL-terminated, may be NULL) sets the variable prefix ("NAME="). */
static bool
given_in(const char *const *env, const char *prefix)
{
	for (size_t e = 0; env != NULL && env[e] != NULL; e++)
		if (strncmp(env[e], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

/* environ plus extra, extra winning. Caller frees the array (not the strings). */
static char **
build_env(const char *const *extra)
{
	size_t n = 0, m = 0, k = 0;
	char **env;

	while (environ[n] != NULL)
		n++;
	while (extra != NULL && extra[m] != NULL)
		m++;
	env = xcalloc(n + m + 1, sizeof(*env));
	for (size_t i = 0; i < n; i++) {
		bool overridden = false;
		const char *eq = strchr(environ[i], '=');
		for (size_t j = 0; eq != NULL && j < m; j++)
			if (strncmp(environ[i], extra[j], (size_t)(eq - environ[i]) + 1) == 0)
				overridden = true;
		if (!overridden)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		env[k++] = (char *)(uintptr_t)extra[j];
	return env;
}

/* Forks and execs perfaggd on a free loopback port with env added, its
 * output going to d->log_path. Sets everything in d but url. */
static void
spawn(struct daemon *d, const char *const *env)
{
	/* Every exchange points at a closed local port unless the test says
	 * otherwise: a test never reaches the internet. */
	const char *base[] = { "ENCLAVE_HOST=127.0.0.1", "LOG_LEVEL=debug",
	    "EXCHANGE_BASE_URLS=binance=http://127.0.0.1:9,coinbase=http://127.0.0.1:9,"
	    "kraken=http://127.0.0.1:9,krakenfutures=http://127.0.0.1:9",
	    "OPERATOR_TOKEN=" HARNESS_OPERATOR_TOKEN, NULL, NULL };
	char port_env[32], path[512], audit_env[300], data_env[320];
	const char *all[64];
	char **envp;
	size_t n = 0;
	int fd;

	memset(d, 0, sizeof(*d));
	d->port = free_port();
	snprintf(d->log_path, sizeof(d->log_path), "/tmp/perfaggd-test-%d-%d.log", (int)getpid(), d->port);
	snprintf(port_env, sizeof(port_env), "ENCLAVE_PORT=%d", d->port);
	snprintf(d->audit_path, sizeof(d->audit_path), "/tmp/perfaggd-test-%d-%d.audit.jsonl", (int)getpid(), d->port);
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		if (strncmp(env[i], "AUDIT_LOG_PATH=", 15) == 0)
			snprintf(d->audit_path, sizeof(d->audit_path), "%s", env[i] + 15);
	snprintf(audit_env, sizeof(audit_env), "AUDIT_LOG_PATH=%s", d->audit_path);
	base[sizeof(base) / sizeof(base[0]) - 2] = audit_env;
	/* The test's own settings first: the first of two equal names wins. */
	for (size_t i = 0; env != NULL && env[i] != NULL && n < 60; i++)
		all[n++] = env[i];
	for (size_t i = 0; base[i] != NULL; i++) {
		size_t k = (size_t)(strchr(base[i], '=') - base[i]) + 1;
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)k, base[i]);
		if (!given_in(env, name))
			all[n++] = base[i];
	}
	all[n++] = port_env;
	/* A DATA_DIR of its own, named after its audit log (a restart with the
	 * same log finds the same directory): daemons run in parallel. It lies
	 * in /tmp, which exists, unlike perhaps the log's own directory. */
	{
		uint64_t h = 14695981039346656037ULL;	/* FNV-1a */
		for (const char *c = d->audit_path; *c != '\0'; c++)
			h = (h ^ (unsigned char)*c) * 1099511628211ULL;
		snprintf(data_env, sizeof(data_env), "DATA_DIR=/tmp/perfaggd-test-data-%016llx", (unsigned long long)h);
	}
	if (!given_in(env, "DATA_DIR="))
		all[n++] = data_env;
	all[n] = NULL;
	envp = build_env(all);
	snprintf(path, sizeof(path), "%s/perfaggd", bin_dir());
	d->pid = fork();
	if (d->pid < 0)
		die("fork");
	if (d->pid == 0) {
		char *argv[] = { path, NULL };
		/* The daemon dies with the test, and holds none of the test
		 * runner's pipes: an orphan would keep ctest waiting. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
		execve(path, argv, envp);
		_exit(127);
	}
	free(envp);
}

/* Waits until /health answers over d->url (with cacert for HTTPS). */
static void
wait_ready(struct daemon *d, const char *cacert)
{
	for (int i = 0; i < 200; i++) {
		json_t *j = NULL;
		int st;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			char *log = harness_log(d);
			fprintf(stderr, "harness: perfaggd exited during start-up:\n%s\n", log);
			free(log);
			abort();
		}
		if (harness_http_ca(d, cacert, "GET", "/health", NULL, 0, NULL, NULL, &j) == 200) {
			json_decref(j);
			return;
		}
		json_decref(j);
		usleep(50000);
	}
	fprintf(stderr, "harness: perfaggd did not answer /health in 10 s\n");
	kill(d->pid, SIGKILL);
	abort();
}

void
harness_start(struct daemon *d, const char *const *env)
{
	spawn(d, env);
	snprintf(d->url, sizeof(d->url), "http://127.0.0.1:%d", d->port);
	wait_ready(d, NULL);
}

void
harness_start_tls(struct daemon *d, const char *const *env, const char *cacert)
{
	spawn(d, env);
	snprintf(d->url, sizeof(d->url), "https://127.0.0.1:%d", d->port);
	wait_ready(d, cacert);
}

int
harness_start_fails(const char *const *env, char **log)
{
	struct daemon d;
	int st;

	spawn(&d, env);
	for (int i = 0; i < 200; i++) {
		if (waitpid(d.pid, &st, WNOHANG) == d.pid) {
			*log = harness_log(&d);
			unlink(d.log_path);
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(50000);
	}
	*log = harness_log(&d);
	kill(d.pid, SIGKILL);
	waitpid(d.pid, &st, 0);
	unlink(d.log_path);
	return -2;
}

int
harness_stop(struct daemon *d)
{
	int st = 0;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			unlink(d->log_path);
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(50000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
	return -1;
}

long
harness_http(const struct daemon *d, const char *method, const char *path, const char *body, size_t body_len,
    const char *content_type, const char *bearer, json_t **json)
{
	return harness_http_ca(d, NULL, method, path, body, body_len, content_type, bearer, json);
}

long
harness_http_ca(const struct daemon *d, const char *cacert, const char *method, const char *path,
    const char *body, size_t body_len, const char *content_type, const char *bearer, json_t **json)
{
	struct httpc_request req = { .method = method, .body = body, .body_len = body_len,
	    .content_type = content_type, .bearer = bearer, .timeout_s = 10, .cacert = cacert };
	struct httpc_response resp;
	char err[256], *url = xasprintf("%s%s", d->url, path);
	long status = -1;

	req.url = url;
	if (json != NULL)
		*json = NULL;
	if (httpc_do(&req, &resp, err, sizeof(err)) == 0) {
		status = resp.status;
		if (json != NULL)
			*json = json_incref(resp.json);
		httpc_response_clear(&resp);
	}
	free(url);
	return status;
}

static char *
drain(int fd)
{
	char *buf = xmalloc(1);
	size_t len = 0;
	char tmp[4096];
	ssize_t n;

	while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
		buf = xrealloc(buf, len + (size_t)n + 1);
		memcpy(buf + len, tmp, (size_t)n);
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

int
harness_run(const char *const *argv, const char *const *env, const char *stdin_data, char **out, char **err)
{
	char path[512], outp[64], errp[64];
	char **envp = build_env(env);
	int in[2], ofd, efd, st;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", bin_dir(), argv[0]);
	snprintf(outp, sizeof(outp), "/tmp/perfagg-run-out-XXXXXX");
	snprintf(errp, sizeof(errp), "/tmp/perfagg-run-err-XXXXXX");
	ofd = mkstemp(outp);
	efd = mkstemp(errp);
	if (ofd < 0 || efd < 0 || pipe(in) != 0)
		die("run setup");
	unlink(outp);
	unlink(errp);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(ofd, STDOUT_FILENO);
		dup2(efd, STDERR_FILENO);
		close(in[1]);
		/* No controlling terminal: a prompt must fail, not hang. */
		setsid();
		execve(path, (char *const *)(uintptr_t)argv, envp);
		_exit(127);
	}
	free(envp);
	close(in[0]);
	if (stdin_data != NULL)
		(void)!write(in[1], stdin_data, strlen(stdin_data));
	close(in[1]);
	waitpid(pid, &st, 0);
	lseek(ofd, 0, SEEK_SET);
	lseek(efd, 0, SEEK_SET);
	*out = drain(ofd);
	*err = drain(efd);
	close(ofd);
	close(efd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

long
harness_memory_count(pid_t pid, const void *needle, size_t len)
{
	char path[64], line[512];
	FILE *maps;
	int mem;
	long count = 0;
	size_t cap = 1 << 20;
	char *buf = xmalloc(cap + len);

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem = open(path, O_RDONLY);
	if (maps == NULL || mem < 0) {
		if (maps != NULL)
			fclose(maps);
		if (mem >= 0)
			close(mem);
		free(buf);
		return -1;
	}
	while (fgets(line, sizeof(line), maps) != NULL) {
		unsigned long lo, hi;
		size_t carry = 0;
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || strstr(line, "[vvar]") != NULL ||
		    strstr(line, "[vsyscall]") != NULL)
			continue;
		/* Mappings over 1 GiB are sanitizer reservations (ASan's shadow
		 * and allocator space run to terabytes); nothing of the daemon's
		 * own is that large. The normal build has none, so there the
		 * scan covers the whole address space. */
		if (hi - lo > (1UL << 30))
			continue;
		/* Every mapping, including PROT_NONE ones: /proc/pid/mem reads
		 * them for a tracer, which is exactly what an attacker with a
		 * memory dump would get. */
		for (unsigned long off = lo; off < hi;) {
			size_t want = hi - off < cap ? hi - off : cap;
			ssize_t n = pread(mem, buf + carry, want, (off_t)off);
			if (n <= 0)
				break;
			size_t have = carry + (size_t)n;
			for (size_t i = 0; i + len <= have; i++)
				if (memcmp(buf + i, needle, len) == 0)
					count++;
			/* Keep the tail so a match across chunks is not missed. */
			carry = have >= len - 1 ? len - 1 : have;
			memmove(buf, buf + have - carry, carry);
			off += (size_t)n;
		}
	}
	fclose(maps);
	close(mem);
	free(buf);
	return count;
}

char *
harness_log(const struct daemon *d)
{
	int fd = open(d->log_path, O_RDONLY);
	char *s;

	if (fd < 0)
		return xstrdup("");
	s = drain(fd);
	close(fd);
	return s;
}
