/*
 * standalone: a main() for the fuzz drivers without libFuzzer, so any
 * compiler (gcc, with ASan/UBSan) can replay inputs through them:
 *
 *	fuzz_<name>_replay FILE|DIR ...   each file, or each file in each directory
 *	fuzz_<name>_replay                a built-in seed corpus: a few generic
 *	                                  inputs and deterministic pseudo-random ones
 *
 * Exits 0 when every input ran (a crash aborts the process), 1 on an
 * unreadable argument.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "util/file.h"

#define INPUT_MAX (1 << 20)

/* Runs one input from a heap buffer of exactly its size (ASan sees overreads). */
static void
run(const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);

	if (copy == NULL)
		abort();
	memcpy(copy, data, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
}

static int
run_file(const char *path)
{
	const char *err = NULL;
	size_t len;
	uint8_t *buf = file_read_all(path, INPUT_MAX, &len, &err);

	if (buf == NULL) {
		fprintf(stderr, "%s: %s\n", path, err);
		return -1;
	}
	run(buf, len);
	free(buf);
	return 0;
}

static int
run_path(const char *path, size_t *count)
{
	struct dirent **names;
	struct stat st;
	int n, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: cannot stat\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return run_file(path);
	}
	/* Sorted, so a failing input is found at the same place every run. */
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: cannot read directory\n", path);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			size_t plen = strlen(path) + strlen(names[i]->d_name) + 2;
			char *p = malloc(plen);
			snprintf(p, plen, "%s/%s", path, names[i]->d_name);
			if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
				(*count)++;
				rc |= run_file(p);
			}
			free(p);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static void
builtin_corpus(size_t *count)
{
	static const char *const seeds[] = {
		"", "{}", "[]", "null", "0", "-0", "1e400", "\"\"", "\"\\u0000\"", "{\"a\":[1,2,{\"b\":null}]}",
		"AAAA", "AA==", "A===", "1.5", "-0.001", "1e-8", "9999999999999999999999",
		"[{\"symbol\":\"BTC/USDT\",\"side\":\"buy\",\"price\":\"1\",\"amount\":\"1\",\"timestamp\":1}]",
	};
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	uint8_t buf[1024];

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++, (*count)++)
		run((const uint8_t *)seeds[i], strlen(seeds[i]));
	/* Deterministic pseudo-random inputs (xorshift64), some of them
	 * printable so text parsers get past their first byte. */
	for (int i = 0; i < 2000; i++, (*count)++) {
		size_t len = (size_t)(i * 37) % sizeof(buf);
		for (size_t j = 0; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[j] = i % 2 == 0 ? (uint8_t)x : (uint8_t)("{}[]\",:0123456789.eE-+truefalsnul AZaz/="[x % 41]);
		}
		run(buf, len);
	}
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;

	if (argc < 2)
		builtin_corpus(&count);
	for (int i = 1; i < argc; i++)
		rc |= run_path(argv[i], &count);
	fprintf(stderr, "%s: %zu inputs replayed%s\n", argv[0], count, rc != 0 ? " (some unreadable)" : "");
	return rc != 0 ? 1 : 0;
}
