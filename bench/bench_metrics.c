/*
 * bench_metrics: the cost of one HTTP latency observation (the hot path of
 * every request), from 1 and 2 threads, and of one /metrics render.
 * Usage: bench_metrics [observations per thread=5000000]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "out/metrics.h"

static long per_thread = 5000000;

static void *
run(void *arg)
{
	static const char *const routes[] = { "/health", "/enclave/session/{id}", "/attestation/quote", "/metrics" };

	for (long i = 0; i < per_thread; i++)
		metrics_http_observe(routes[i & 3], "GET", 200, i & 0xfffff);
	return arg;
}

static double
timed(int threads)
{
	pthread_t t[8];
	int64_t t0 = metrics_now_ns();

	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, run, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return (double)(metrics_now_ns() - t0) / (double)per_thread;
}

int
main(int argc, char **argv)
{
	size_t len;
	int64_t t0;
	char *text;

	if (argc > 1)
		per_thread = atol(argv[1]);
	printf("observe, 1 thread: %.1f ns per call\n", timed(1));
	printf("observe, 2 threads: %.1f ns per call per thread\n", timed(2));
	t0 = metrics_now_ns();
	text = metrics_render(1, &len);
	printf("render: %zu bytes in %.1f us\n", len, (double)(metrics_now_ns() - t0) / 1000);
	free(text);
	return 0;
}
