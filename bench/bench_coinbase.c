/*
 * bench_coinbase: backfill of one Coinbase account through conn_coinbase and
 * xsync against an in-process simulator (HTTP on loopback), fills/s.
 * usage: bench_coinbase [fills per account] (default 1000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange/exchange.h"
#include "exchange/xsync.h"
#include "exsim/exsim.h"
#include "exsim/exsim_venue.h"
#include "util/timeutil.h"

static int
count_fill(void *arg, const struct fill *f)
{
	(void)f;
	(*(uint64_t *)arg)++;
	return 0;
}

int
main(int argc, char **argv)
{
	struct exsim_config cfg;
	struct exsim w;
	struct exsim_http *h;
	struct xconn c;
	struct xconf conf = { .market = FILL_SPOT };
	struct xsync_stats st;
	const char *err = NULL;
	char url[64];
	uint64_t n = 0;
	int64_t t0;

	exsim_config_default(&cfg);
	cfg.accounts_per_exchange = 1;
	cfg.fills_per_account = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	if (exsim_init(&w, &cfg, &err) == -1 || (h = exsim_http_start(&w, 0, 2, &err)) == NULL) {
		fprintf(stderr, "bench_coinbase: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < w.naccounts; i++) {
		const struct exsim_account *a = &w.accounts[i];
		struct credential cr = { a->api_key, strlen(a->api_key), a->secret, strlen(a->secret), "", 0 };
		struct xsink sk = { &n, count_fill, NULL, NULL, NULL, NULL, NULL };

		if (a->venue != exsim_venue_find("coinbase"))
			continue;
		snprintf(url, sizeof(url), "http://127.0.0.1:%u", exsim_http_port(h));
		conf.base_url = url;
		if (xconn_open(&c, &exchange_coinbase, &conf, &err) != 0)
			return 1;
		t0 = time_mono_ms();
		if (xsync_cycle(&c, &cr, &sk, 3, &st) != 0) {
			fprintf(stderr, "bench_coinbase: %s\n", st.error);
			return 1;
		}
		printf("{\"fills\":%llu,\"requests\":%u,\"ms\":%lld,\"fills_per_s\":%.0f}\n", (unsigned long long)n,
		    st.requests, (long long)(time_mono_ms() - t0), (double)n * 1000.0 / (double)(time_mono_ms() - t0 + 1));
		xconn_close(&c);
		break;
	}
	exsim_http_stop(h);
	exsim_free(&w);
	return 0;
}
