/*
 * sgx_quote: parser and verifier for Intel SGX DCAP quotes, version 3, with an
 * ECDSA P-256 attestation key and certification data type 5 (PEM PCK chain).
 *
 * Layout (little-endian; reference/tee.md B.5):
 *   0    u16 version (3) | u16 att_key_type (2) | u32 att_key_data_0 (tee_type in v4)
 *   8    u16 qe_svn | u16 pce_svn | 16 qe_vendor_id | 20 user_data
 *   48   384-byte report body (see struct sgx_report_body)
 *   432  u32 signature_data_len, then exactly that many bytes:
 *        64 ECDSA sig (r||s BE) | 64 attest_pub_key (x||y) | 384 QE report body
 *        | 64 QE report sig | u16 qe_auth_len + qe_auth data
 *        | u16 cert type (5) | u32 cert size | cert data (PEM: PCK leaf, PCK CA, root)
 *
 * sgx_quote_verify() checks, with OpenSSL 3:
 *   1. header: version 3, ECDSA P-256 key type, Intel QE vendor id;
 *   2. the PCK chain: leaf -> PCK CA -> the pinned Intel SGX Root CA
 *      (core/sgx_root_ca.h), at a given time;
 *   3. the QE report signature with the PCK leaf key;
 *   4. QE report_data[0:32] == SHA-256(attest_pub_key || qe_auth_data), [32:64] zero;
 *   5. the quote signature with attest_pub_key over bytes [0, 432).
 *
 * OUT OF SCOPE (the caller must know this): no CRL/revocation check of the PCK
 * chain, no QE identity check (QE MRSIGNER, isvprodid, TCB) and no platform TCB
 * evaluation against Intel collateral (TCB info: UpToDate/OutOfDate/...,
 * advisories). A quote that passes here proves that genuine SGX hardware with a
 * valid Intel PCK produced it; it does not prove the platform is patched. Use
 * Intel QVL or dcap-qvl with collateral for that.
 * Policy (MRENCLAVE pinning, DEBUG refusal, report_data binding) is the
 * caller's: see core/attest_verify.h.
 *
 * TDX quotes (version 4, tee_type 0x81) and SGX v4 quotes are recognised and
 * refused with "not an SGX v3 quote".
 */
#ifndef PERFAGG_CORE_SGX_QUOTE_H
#define PERFAGG_CORE_SGX_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SGX_QUOTE_HEADER_BYTES 48
#define SGX_REPORT_BODY_BYTES 384
#define SGX_QUOTE_SIGNED_BYTES (SGX_QUOTE_HEADER_BYTES + SGX_REPORT_BODY_BYTES)	/* 432 */
#define SGX_QUOTE_MAX_BYTES 8192	/* Gramine's SGX_QUOTE_MAX_SIZE */
#define SGX_ATTR_DEBUG 0x02	/* attributes.flags bit 1 */

/* An SGX REPORT body (the enclave's, or the Quoting Enclave's). */
struct sgx_report_body {
	uint8_t cpu_svn[16];
	uint32_t misc_select;
	uint8_t attributes[16];		/* flags (u64 LE) || xfrm (u64 LE) */
	uint8_t mr_enclave[32];
	uint8_t mr_signer[32];
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint8_t report_data[64];
	bool debug;			/* attributes.flags & SGX_ATTR_DEBUG */
};

/*
 * A parsed quote. The pointer members (raw, qe_report_raw, qe_auth, cert) point
 * INTO the buffer given to sgx_quote_parse(), which must outlive the struct.
 * Nothing is allocated: there is no sgx_quote_free().
 */
struct sgx_quote {
	const uint8_t *raw;		/* the whole quote */
	size_t raw_len;
	uint16_t version;
	uint16_t att_key_type;
	uint32_t att_key_data_0;
	uint16_t qe_svn;
	uint16_t pce_svn;
	uint8_t qe_vendor_id[16];
	uint8_t user_data[20];
	struct sgx_report_body report;
	uint8_t signature[64];		/* r || s, big-endian */
	uint8_t attest_pub_key[64];	/* P-256 point x || y, big-endian */
	struct sgx_report_body qe_report;
	const uint8_t *qe_report_raw;	/* SGX_REPORT_BODY_BYTES */
	uint8_t qe_report_sig[64];
	const uint8_t *qe_auth;
	size_t qe_auth_len;
	uint16_t cert_type;
	const uint8_t *cert;		/* PEM chain, leaf first */
	size_t cert_len;
};

/*
 * Parses (buf, len) into *q: every length is checked, signature_data_len must
 * end exactly at len and its parts must fill it exactly, the certification data
 * type must be 5. Does not verify anything cryptographic. Returns 0, or -1 with
 * *errstr set (a static string).
 */
int sgx_quote_parse(struct sgx_quote *q, const uint8_t *buf, size_t len, const char **errstr);

/*
 * Verifies a parsed quote (steps 1-5 above). verify_time is the time at which
 * the certificates must be valid, in Unix seconds; 0 means now. Returns 0, or
 * -1 with *errstr naming the failed check.
 */
int sgx_quote_verify(const struct sgx_quote *q, int64_t verify_time, const char **errstr);

#endif
