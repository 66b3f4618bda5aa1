/*
 * openapi: docs/openapi.json, embedded in the binary at build time
 * (cmake/embed.cmake): an enclave serves it without reading a file.
 */
#ifndef PERFAGG_SERVER_OPENAPI_H
#define PERFAGG_SERVER_OPENAPI_H

#include <stddef.h>

/* The document's bytes (NUL-terminated) and length (without the NUL). */
extern const unsigned char openapi_json[];
extern const size_t openapi_json_len;

#endif
