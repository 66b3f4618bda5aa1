/*
 * handover: the statements of the key-epoch chain (docs/DURABILITY.md,
 * "Identity across upgrades"; docs/PROTOCOL.md section 9).
 *
 * The enclave's key pairs outlive a build: a new measurement takes them over
 * only through an audited handover, which the releasing instance records in
 * a statement it signs with the (shared) Ed25519 key, under its own epoch:
 *
 *   { "type": "perfagg/handover/v1",
 *     "from_epoch": N, "to_epoch": N + 1,
 *     "from_measurement": hex 32, "to_measurement": hex 32,
 *     "to_x25519": base64 32 (the new instance's attested transport key),
 *     "to_attestation_type": "dev" | "sgx_dcap",
 *     "released_at": ISO 8601 UTC,
 *     "signing_key_id", "key_epoch" (= N), "signature" (core/signed.h) }
 *
 * The chain is the JSON array of every statement so far, in order: statement
 * i (0-based) hands epoch i + 1 to epoch i + 2, and its from_measurement is
 * the previous statement's to_measurement. A measurement is "the one vouched
 * for by the instance's evidence" (dev: SHA-256 of the executable; SGX:
 * MRENCLAVE), as core/attest_verify.h reports it.
 * Pure code: no I/O.
 */
#ifndef PERFAGG_CORE_HANDOVER_H
#define PERFAGG_CORE_HANDOVER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define HANDOVER_TYPE "perfagg/handover/v1"
#define HANDOVER_EPOCH_MAX ((uint64_t)1 << 52)

struct handover_claim {
	uint64_t from_epoch;
	uint64_t to_epoch;
	uint8_t from_measurement[32];
	uint8_t to_measurement[32];
	uint8_t to_x25519[32];
	char to_attestation_type[16];
	char released_at[32];
};

/* The unsigned statement of c (new reference); the caller signs it with
 * signed_sign(..., key_epoch = c->from_epoch). NULL if c is inconsistent
 * (to_epoch != from_epoch + 1, epoch 0, names too long). */
json_t *handover_statement_new(const struct handover_claim *c);

/* Verifies one signed statement with the Ed25519 key pub: exactly the members
 * above, strictly typed, to_epoch = from_epoch + 1, key_epoch = from_epoch,
 * the signature. Fills *c (may be NULL). Returns 0, or -1 with *errstr. */
int handover_statement_verify(const json_t *st, const uint8_t pub[32], struct handover_claim *c,
    const char **errstr);

/* Verifies a chain (an array, possibly empty) with pub: every statement,
 * consecutive epochs from 1, measurements continuous. Returns 0, or -1 with
 * *errstr naming the statement's index in a static buffer-free message. */
int handover_chain_verify(const json_t *chain, const uint8_t pub[32], const char **errstr);

/* The measurement in force at epoch (>= 1) under a VERIFIED chain: epoch 1 is
 * the first statement's from_measurement, epoch k > 1 statement k-2's
 * to_measurement. Returns 0 with out set; 1 when the chain is empty and
 * epoch is 1 (the chain does not name it: the attestation does); -1 with
 * *errstr when epoch is beyond the chain (len + 1) or 0. */
int handover_measurement_at(const json_t *chain, uint64_t epoch, uint8_t out[32], const char **errstr);

#endif
