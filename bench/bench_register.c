/*
 * bench_register: registrations per second against a running perfaggd.
 *
 * Fetches and verifies the attestation, seals N fresh envelopes (outside the
 * timed part: the client's X25519 work is not the server's cost), then posts
 * them over C keep-alive connections with libcurl multi and reports
 * registrations/s and latency percentiles. Every answer must be 201.
 *
 * usage: bench_register URL [N=20000] [CONCURRENCY=64] [SIM_URL EXCHANGE MARKET]
 * With SIM_URL, the credentials are the simulator's accounts of that
 * exchange and market (the first N), so the sessions really poll: that is
 * the 10,000-session load run of bench/exchange_load.sh.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "client/httpc.h"
#include "core/attest_binding.h"
#include "core/attest_verify.h"
#include "core/envelope.h"
#include "core/hex.h"
#include "core/prim.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

struct slot {
	CURL *easy;
	size_t idx;
	double t0;
};

static size_t
discard(char *p, size_t s, size_t n, void *a)
{
	return s * n;
}

int
main(int argc, char **argv)
{
	const char *url = argc > 1 ? argv[1] : NULL;
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000, conc = argc > 3 ? strtoul(argv[3], NULL, 10) : 64;
	struct attest_policy pol = { .allow_dev = true };
	struct attest_claims cl;
	struct httpc_request hr = { .method = "GET" };
	struct httpc_response resp;
	char err[256], *qurl, *surl, **bodies, nhex[65];
	uint8_t nonce[32];
	const char *verr = NULL;
	double *lat, t0, elapsed;
	size_t next = 0, done = 0, ok = 0;
	struct slot *slots;
	struct curl_slist *hdrs = NULL;
	CURLM *multi;
	json_t *sim_accounts = NULL;
	int running;

	if (url == NULL || n == 0 || conc == 0) {
		fprintf(stderr, "usage: bench_register URL [N] [CONCURRENCY]\n");
		return 2;
	}
	prim_random(nonce, sizeof(nonce));
	hex_encode(nhex, nonce, sizeof(nonce));
	qurl = xasprintf("%s/attestation/quote?nonce=%s", url, nhex);
	hr.url = qurl;
	if (httpc_do(&hr, &resp, err, sizeof(err)) != 0 || resp.status != 200 ||
	    attest_verify_document(resp.json, nonce, sizeof(nonce), &pol, &cl, &verr) != 0) {
		fprintf(stderr, "bench_register: attestation failed: %s\n", verr != NULL ? verr : err);
		return 1;
	}
	httpc_response_clear(&resp);

	if (argc > 6) {
		char *aurl = xasprintf("%s/exsim/accounts", argv[4]);
		json_t *all;
		hr.url = aurl;
		hr.timeout_s = 300;
		hr.max_bytes = (size_t)1 << 30;
		if (httpc_do(&hr, &resp, err, sizeof(err)) != 0 || resp.status != 200 || !json_is_array(resp.json)) {
			fprintf(stderr, "bench_register: cannot list the simulator's accounts: %s\n", err);
			return 1;
		}
		all = resp.json;
		sim_accounts = json_array();
		for (size_t i = 0; i < json_array_size(all) && json_array_size(sim_accounts) < n; i++) {
			json_t *a = json_array_get(all, i);
			if (strcmp(json_string_value(json_object_get(a, "exchange")), argv[5]) == 0 &&
			    strcmp(json_string_value(json_object_get(a, "market")), argv[6]) == 0)
				json_array_append(sim_accounts, a);
		}
		httpc_response_clear(&resp);
		free(aurl);
		if (json_array_size(sim_accounts) < n) {
			fprintf(stderr, "bench_register: the simulator has only %zu %s/%s accounts\n",
			    json_array_size(sim_accounts), argv[5], argv[6]);
			return 1;
		}
	}
	fprintf(stderr, "sealing %zu envelopes...\n", n);
	bodies = xcalloc(n, sizeof(*bodies));
	for (size_t i = 0; i < n; i++) {
		struct envelope env = { 0 };
		const char *exch = sim_accounts != NULL ? argv[5] : "binance";
		json_t *md = json_pack("{s:s, s:s, s:I}", "exchange", exch, "label", "bench", "ts",
		    (json_int_t)time_now_ms()), *b, *ptj;
		char pt[1024];
		int len;
		if (sim_accounts != NULL) {
			json_t *a = json_array_get(sim_accounts, i);
			ptj = json_pack("{s:s, s:s, s:O, s:O, s:s}", "userId", "bench", "exchange", exch, "apiKey",
			    json_object_get(a, "api_key"), "secret", json_object_get(a, "secret"), "accountType", argv[6]);
		} else {
			char k[64], sct[64];
			snprintf(k, sizeof(k), "bench-key-%zu", i);
			snprintf(sct, sizeof(sct), "bench-secret-%zu", i);
			ptj = json_pack("{s:s, s:s, s:s, s:s}", "userId", "bench", "exchange", exch, "apiKey", k, "secret", sct);
		}
		len = (int)json_dumpb(ptj, pt, sizeof(pt), JSON_COMPACT);
		json_decref(ptj);
		if (envelope_seal(&env, cl.enclave_pub, md, (const uint8_t *)pt, (size_t)len, &verr) != 0) {
			fprintf(stderr, "seal: %s\n", verr);
			return 1;
		}
		b = envelope_to_json(&env);
		bodies[i] = json_dumps(b, JSON_COMPACT);
		json_decref(b);
		json_decref(md);
		envelope_clear(&env);
	}

	curl_global_init(CURL_GLOBAL_DEFAULT);
	multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	surl = xasprintf("%s/enclave/submit_key", url);
	slots = xcalloc(conc, sizeof(*slots));
	lat = xcalloc(n, sizeof(*lat));
	t0 = bench_now_s();
	for (size_t s = 0; s < conc && next < n; s++) {
		slots[s].easy = curl_easy_init();
		curl_easy_setopt(slots[s].easy, CURLOPT_URL, surl);
		curl_easy_setopt(slots[s].easy, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(slots[s].easy, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(slots[s].easy, CURLOPT_PRIVATE, &slots[s]);
		curl_easy_setopt(slots[s].easy, CURLOPT_POSTFIELDS, bodies[next]);
		slots[s].idx = next++;
		slots[s].t0 = bench_now_s();
		curl_multi_add_handle(multi, slots[s].easy);
	}
	do {
		CURLMsg *m;
		int q;
		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &q)) != NULL) {
			struct slot *sl;
			long code = 0;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			lat[done++] = bench_now_s() - sl->t0;
			if (m->data.result == CURLE_OK && code == 201)
				ok++;
			curl_multi_remove_handle(multi, m->easy_handle);
			if (next < n) {
				curl_easy_setopt(m->easy_handle, CURLOPT_POSTFIELDS, bodies[next]);
				sl->idx = next++;
				sl->t0 = bench_now_s();
				curl_multi_add_handle(multi, m->easy_handle);
				running = 1;
			}
		}
		if (running)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	} while (running || done < n);
	elapsed = bench_now_s() - t0;
	qsort(lat, done, sizeof(*lat), bench_cmp_double);
	printf("registrations: %zu sent, %zu answered 201, %.2f s, %.0f registrations/s, latency p50 %.2f ms "
	    "p99 %.2f ms (concurrency %zu)\n", n, ok, elapsed, (double)ok / elapsed, lat[done / 2] * 1e3,
	    lat[(size_t)((double)done * 0.99)] * 1e3, conc);
	for (size_t s = 0; s < conc; s++)
		curl_easy_cleanup(slots[s].easy);
	curl_multi_cleanup(multi);
	curl_slist_free_all(hdrs);
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
	free(bodies);
	free(slots);
	free(lat);
	free(surl);
	free(qurl);
	json_decref(sim_accounts);
	return ok == n ? 0 : 1;
}
