/*
 * perfaggd: the Perf-Aggregator enclave service (the whole service: there is
 * no separate "main service" outside the enclave).
 */
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "enclave/keys.h"
#include "enclave/secret.h"
#include "server/config.h"
#include "server/server.h"
#include "util/jsonmem.h"
#include "util/log.h"

/* No core dump, no ptrace attach by the same user: a dump would carry
 * every secret in the process. */
static int
harden(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -1;
	return 0;
}

static int
keygen(int argc, char **argv)
{
	struct keys *k;
	const char *err = NULL;

	if (argc != 4) {
		fprintf(stderr, "usage: perfaggd keygen PRIVATE.pem PUBLIC.pem\n");
		return 2;
	}
	k = keys_generate();
	if (k == NULL || keys_save(k, argv[2], argv[3], &err) != 0) {
		fprintf(stderr, "perfaggd keygen: %s, %s: %s\n", argv[2], argv[3],
		    err != NULL ? err : "key generation failed");
		keys_free(k);
		return 1;
	}
	printf("wrote %s (private, mode 0600) and %s; signing key id %s\n", argv[2], argv[3], keys_id(k));
	keys_free(k);
	return 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct server srv;
	char err[512];
	sigset_t sigs;
	int sig = 0, rc;

	if (harden() != 0) {
		fprintf(stderr, "perfaggd: cannot disable core dumps\n");
		return 1;
	}
	if (secret_init() != 0) {
		fprintf(stderr, "perfaggd: cannot initialise libsodium\n");
		return 1;
	}
	jsonmem_install();
	/* OpenSSL keeps private key material it holds in its secure heap
	 * (mlocked, wiped on free). */
	CRYPTO_secure_malloc_init(1 << 17, 32);

	if (argc > 1 && strcmp(argv[1], "keygen") == 0)
		return keygen(argc, argv);
	/* Everything the daemon creates (audit log, outbox database and its
	 * -wal/-shm, state files) is its own alone, whatever the caller's umask. */
	umask(077);
	rc = config_load(&cfg, argc, argv, stdout, err, sizeof(err));
	if (rc != 0) {
		/* config_load owns strings even when it stops early. */
		config_clear(&cfg);
		if (rc == 1)
			return 0;
		fprintf(stderr, "perfaggd: %s\n", err);
		return 2;
	}
	log_set_level(cfg.log_level);

	/* Every thread inherits this mask; the main thread alone takes the
	 * signals, synchronously, so shutdown runs in ordinary code. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (secret_linger_start((unsigned)cfg.secret_linger_ms) != 0) {
		fprintf(stderr, "perfaggd: cannot start the secret closer thread\n");
		config_clear(&cfg);
		return 1;
	}
	if (server_start(&srv, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "perfaggd: %s\n", err);
		secret_linger_stop();
		config_clear(&cfg);
		return 2;
	}
	do {
		sigwait(&sigs, &sig);
	} while (sig == SIGHUP);
	log_event(LOG_INFO, "stopping", "{s:s}", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
	server_stop(&srv);
	secret_linger_stop();
	config_clear(&cfg);
	log_event(LOG_INFO, "stopped", NULL);
	return 0;
}
