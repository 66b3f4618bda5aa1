/*
 * bench_exsim: requests per second through the simulator's core (HTTP glue,
 * parameter decoding, fault draws under the world lock, dispatch) on a
 * handler-free exchange path, with keep-alive clients. The target is 10,000
 * sessions polled once a minute, about 170 requests/s.
 *
 *	bench_exsim [seconds] [client threads] [server threads]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "exsim/exsim.h"
#include "util/timeutil.h"

struct client {
	pthread_t t;
	uint16_t port;
	int64_t until_ms;
	unsigned long ok, bad;
};

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	return sz * n;
}

static void *
client_run(void *arg)
{
	struct client *c = arg;
	CURL *h = curl_easy_init();
	char url[160];
	long status;

	/* a Binance-family path with a query, as a connector sends */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v3/echo?symbol=BTCUSDT&fromId=0&limit=1000"
	    "&timestamp=1767225600000&recvWindow=5000&signature=00", (unsigned)c->port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	while (time_mono_ms() < c->until_ms) {
		if (curl_easy_perform(h) == CURLE_OK && curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) ==
		    CURLE_OK && status == 404)
			c->ok++;
		else
			c->bad++;
	}
	curl_easy_cleanup(h);
	return NULL;
}

int
main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 5, nc = argc > 2 ? atoi(argv[2]) : 2;
	unsigned st = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
	struct exsim_config cfg;
	struct exsim w;
	struct exsim_http *h;
	struct client *cl;
	const char *err = NULL;
	unsigned long ok = 0, bad = 0;
	int64_t t0, t1;

	if (secs < 1 || nc < 1 || nc > 64 || st < 1) {
		fprintf(stderr, "usage: bench_exsim [seconds] [client threads] [server threads]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	exsim_config_default(&cfg);
	cfg.accounts_per_exchange = 1000;	/* 6000 accounts: a realistic key map */
	cfg.threads = st;
	if (exsim_init(&w, &cfg, &err) == -1 || (h = exsim_http_start(&w, 0, st, &err)) == NULL) {
		fprintf(stderr, "bench_exsim: %s\n", err);
		return 1;
	}
	cl = calloc((size_t)nc, sizeof(*cl));
	t0 = time_mono_ms();
	for (int i = 0; i < nc; i++) {
		cl[i].port = exsim_http_port(h);
		cl[i].until_ms = t0 + secs * 1000LL;
		pthread_create(&cl[i].t, NULL, client_run, &cl[i]);
	}
	for (int i = 0; i < nc; i++) {
		pthread_join(cl[i].t, NULL);
		ok += cl[i].ok;
		bad += cl[i].bad;
	}
	t1 = time_mono_ms();
	printf("{\"bench\":\"exsim_echo\",\"seconds\":%.2f,\"clients\":%d,\"server_threads\":%u,\"requests\":%lu,"
	    "\"errors\":%lu,\"requests_per_s\":%.0f,\"target_per_s\":170}\n", (double)(t1 - t0) / 1000.0, nc, st,
	    ok, bad, (double)ok * 1000.0 / (double)(t1 - t0));
	free(cl);
	exsim_http_stop(h);
	exsim_free(&w);
	curl_global_cleanup();
	return bad == 0 ? 0 : 1;
}
