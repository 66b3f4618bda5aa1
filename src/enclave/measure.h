/*
 * measure: the self-measurement reported as `measurement`: SHA-256 of the
 * running executable's file (/proc/self/exe).
 */
#ifndef PERFAGG_ENCLAVE_MEASURE_H
#define PERFAGG_ENCLAVE_MEASURE_H

#include <stdint.h>

/* Hashes path (NULL: /proc/self/exe) into out. Returns 0, or -1 with *errstr. */
int measure_file(uint8_t out[32], const char *path, const char **errstr);

#endif
