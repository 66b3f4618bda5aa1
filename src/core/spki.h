/*
 * spki: the fingerprint the attestation binds to the TLS endpoint,
 * tls_spki_sha256 = SHA-256 of the certificate's DER SubjectPublicKeyInfo.
 * The daemon computes it from its certificate file, the client from the
 * certificate of the connection it used; both must agree.
 */
#ifndef PERFAGG_CORE_SPKI_H
#define PERFAGG_CORE_SPKI_H

#include <stddef.h>
#include <stdint.h>

/* Hashes the SubjectPublicKeyInfo of the first certificate in the PEM text
 * (pem, len). Returns 0, or -1 if there is no parsable certificate. */
int spki_sha256_of_pem(uint8_t out[32], const char *pem, size_t len);

#endif
