/*
 * bench_sgx_quote: time to parse and verify the sample SGX DCAP v3 quote
 * (PCK chain, QE report signature, quote signature).
 * Usage: bench_sgx_quote <path to sgx_quote_v3.bin> [iterations]
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/sgx_quote.h"
#include "util/file.h"
#include "util/timeutil.h"

int
main(int argc, char **argv)
{
	struct sgx_quote q;
	const char *err = NULL;
	size_t len;
	uint8_t *buf;
	int n = argc > 2 ? atoi(argv[2]) : 200;
	int64_t t0;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: bench_sgx_quote quote.bin [iterations]\n");
		return 2;
	}
	if ((buf = file_read_all(argv[1], SGX_QUOTE_MAX_BYTES, &len, &err)) == NULL) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	t0 = time_mono_ms();
	for (int i = 0; i < n; i++) {
		if (sgx_quote_parse(&q, buf, len, &err) == -1 ||
		    sgx_quote_verify(&q, 1751328000, &err) == -1) {
			fprintf(stderr, "verify: %s\n", err);
			return 1;
		}
	}
	printf("sgx_quote parse+verify: %d iterations, %.3f ms each\n", n,
	    (double)(time_mono_ms() - t0) / n);
	free(buf);
	return 0;
}
