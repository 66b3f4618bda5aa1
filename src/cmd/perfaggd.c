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
#include <unistd.h>

#include "out/audit.h"

#include "enclave/epoch.h"
#include "enclave/keys.h"
#include "enclave/measure.h"
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
	struct epoch_state *ep = NULL;
	uint8_t m[32];
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
	/* Key epoch 1, held by this executable's measurement (enclave/epoch.h). */
	if (measure_file(m, NULL, &err) != 0 || (ep = epoch_state_new(m)) == NULL ||
	    epoch_save(ep, argv[2], true, &err) != 0) {
		fprintf(stderr, "perfaggd keygen: %s%s: %s\n", argv[2], EPOCH_FILE_SUFFIX,
		    err != NULL ? err : "cannot record the key epoch");
		unlink(argv[2]);
		unlink(argv[3]);
		epoch_state_free(ep);
		keys_free(k);
		return 1;
	}
	epoch_state_free(ep);
	printf("wrote %s (private, mode 0600), %s and %s%s (key epoch 1); signing key id %s\n", argv[2], argv[3],
	    argv[2], EPOCH_FILE_SUFFIX, keys_id(k));
	keys_free(k);
	return 0;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	struct server srv;
	json_t *handed = NULL;
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
	if (cfg.handover_await) {
		/* A new build: its keys come from the running instance. */
		rc = handover_await(&cfg, &sigs, &handed, err, sizeof(err));
		if (rc != 0) {
			if (rc < 0)
				fprintf(stderr, "perfaggd: %s\n", err);
			secret_linger_stop();
			config_clear(&cfg);
			return rc < 0 ? 2 : 0;
		}
	}
	if (server_start(&srv, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "perfaggd: %s\n", err);
		json_decref(handed);
		secret_linger_stop();
		config_clear(&cfg);
		return 2;
	}
	if (handed != NULL) {
		const json_t *f = json_object_get(handed, "from_epoch"), *t = json_object_get(handed, "to_epoch");
		audit_event(srv.audit, "handover_accepted", AUDIT_INT("from_epoch", json_integer_value(f)),
		    AUDIT_INT("to_epoch", json_integer_value(t)), AUDIT_JSON("statement", handed));
		json_decref(handed);
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
