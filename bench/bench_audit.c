/*
 * bench_audit: entries per second through out/audit (one write + fsync per
 * entry, a signed checkpoint every 100), with 1 and 4 writer threads, and the
 * verification rate of the resulting log.
 *
 *	bench_audit FILE [N]     (FILE is created; put it on the disk to measure)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "core/audit_chain.h"
#include "core/prim.h"
#include "core/signed.h"
#include "out/audit.h"
#include "util/file.h"

static uint8_t seed[32], pub[32];
static int per_thread;

static int
sign_cb(void *arg, uint8_t sig[64], const uint8_t *msg, size_t len)
{
	return prim_ed25519_sign(sig, msg, len, arg);
}

static void *
writer(void *arg)
{
	for (int i = 0; i < per_thread; i++)
		audit_event(arg, "metrics_served", AUDIT_HASH("sid", "0123456789ab"), AUDIT_NAME("endpoint", "metrics"),
		    AUDIT_NAME("exchange", "binance"));
	return NULL;
}

int
main(int argc, char **argv)
{
	char id[SIGNED_KEY_ID_HEX + 1];
	int n = argc > 2 ? atoi(argv[2]) : 2000;
	const char *e = NULL;

	if (argc < 2 || n <= 0 || prim_ed25519_keygen(seed, pub) != 0)
		return 2;
	signed_key_id(id, pub);
	unlink(argv[1]);
	for (int threads = 1; threads <= 4; threads += 3) {
		struct audit_options o = { .path = argv[1], .checkpoint_every = 100, .sign = sign_cb, .sign_arg = seed,
			.key_id = id };
		struct audit *a = audit_open(&o, &e);
		pthread_t t[4];
		double t0;

		if (a == NULL) {
			fprintf(stderr, "bench_audit: %s\n", e);
			return 1;
		}
		per_thread = n / threads;
		t0 = bench_now_s();
		for (int i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, writer, a);
		for (int i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
		printf("%d thread(s): %d entries in %.3f s = %.0f entries/s (fsync each)\n", threads,
		    per_thread * threads, bench_now_s() - t0, per_thread * threads / (bench_now_s() - t0));
		audit_close(a);
	}
	{
		struct audit_chain_report rep;
		size_t len;
		char *buf = (char *)file_read_all(argv[1], 1u << 30, &len, &e);
		const uint8_t (*keys)[32] = (const uint8_t (*)[32])pub;
		double t0 = bench_now_s();
		int rc = audit_chain_verify(buf, len, keys, 1, &rep);
		printf("verify: %zu lines, %zu checkpoints in %.3f s = %.0f lines/s (rc %d)\n", rep.lines,
		    rep.checkpoints, bench_now_s() - t0, rep.lines / (bench_now_s() - t0), rc);
		free(buf);
	}
	return 0;
}
