/*
 * fuzz: the libFuzzer entry point every driver defines. Built with clang
 * -fsanitize=fuzzer for real fuzzing, or linked with standalone.c to replay
 * a corpus under the ordinary (gcc, ASan) build.
 * A driver returns 0 and aborts (fuzz_check) on a broken invariant.
 */
#ifndef PERFAGG_FUZZ_H
#define PERFAGG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: abort so the fuzzer records the input. */
#define fuzz_check(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#endif
