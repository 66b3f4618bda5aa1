/*
 * handover_pkg: what the two sides of a handover share
 * (handlers_handover.c releases, handover_await.c accepts).
 */
#ifndef PERFAGG_SERVER_HANDOVER_PKG_H
#define PERFAGG_SERVER_HANDOVER_PKG_H

#include <jansson.h>
#include <stdint.h>

struct epoch_state;

/* Hex SHA-256 of JCS(statement): the envelope metadata's statement_sha256,
 * binding the sealed keys to one statement. Returns 0, or -1 with *errstr. */
int handover_pkg_metadata_digest(char out[65], const json_t *statement, const char **errstr);

/* The GET /enclave/handovers document: {key_epoch, signing_key_id,
 * handovers: a copy of st's chain (empty when st is NULL)}. New reference. */
json_t *handover_pkg_chain_json(const struct epoch_state *st, const char *key_id, uint64_t epoch);

#endif
