/*
 * dev_evidence: the evidence of the "dev" attestation provider, which is NOT
 * hardware-backed: it proves nothing against a hostile host and exists only to
 * exercise the attestation plumbing end to end. Verifiers refuse it unless
 * explicitly told otherwise (attest_policy.allow_dev).
 *
 * Wire format (221 bytes, integers big-endian):
 *   off  size
 *     0   19  magic "PERFAGG-DEV-NOT-HW\0" (with the NUL)
 *    19    2  version = 1
 *    21   64  report_data (the attest_binding)
 *    85   32  measurement (SHA-256 of the running executable)
 *   117    8  timestamp_ms (Unix milliseconds)
 *   125   32  signing_pub (Ed25519 public key)
 *   157   64  Ed25519 signature by signing_pub over bytes [0, 157)
 *
 * Encoding and parsing live here so that the provider (enclave/attest_dev.c)
 * and the verifier (core/attest_verify.c) cannot drift apart.
 */
#ifndef PERFAGG_CORE_DEV_EVIDENCE_H
#define PERFAGG_CORE_DEV_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#define DEV_EVIDENCE_MAGIC "PERFAGG-DEV-NOT-HW"	/* on the wire with its NUL */
#define DEV_EVIDENCE_MAGIC_BYTES sizeof(DEV_EVIDENCE_MAGIC)	/* 19 */
#define DEV_EVIDENCE_VERSION 1
#define DEV_EVIDENCE_SIGNED_BYTES (DEV_EVIDENCE_MAGIC_BYTES + 2 + 64 + 32 + 8 + 32)	/* 157 */
#define DEV_EVIDENCE_BYTES (DEV_EVIDENCE_SIGNED_BYTES + 64)	/* 221 */

struct dev_evidence {
	uint16_t version;
	uint8_t report_data[64];
	uint8_t measurement[32];
	uint64_t timestamp_ms;
	uint8_t signing_pub[32];
	uint8_t signature[64];
};

/* Writes the signed prefix (bytes [0, 157): magic .. signing_pub) of ev into
 * out. ev->version is written as is; producers set DEV_EVIDENCE_VERSION. */
void dev_evidence_encode_signed(uint8_t out[DEV_EVIDENCE_SIGNED_BYTES], const struct dev_evidence *ev);

/* Writes the whole 221-byte encoding (prefix and ev->signature) into out. */
void dev_evidence_encode(uint8_t out[DEV_EVIDENCE_BYTES], const struct dev_evidence *ev);

/* Parses (buf, len) into *ev: exactly DEV_EVIDENCE_BYTES, the magic, version
 * DEV_EVIDENCE_VERSION. Does not check the signature. Returns 0, or -1 with
 * *errstr set (a static string). */
int dev_evidence_parse(struct dev_evidence *ev, const uint8_t *buf, size_t len, const char **errstr);

/* Verifies ev->signature with ev->signing_pub over the re-encoded prefix.
 * Returns 0, or -1 with *errstr set. */
int dev_evidence_verify(const struct dev_evidence *ev, const char **errstr);

#endif
