/*
 * sgx_root_ca: the pinned Intel SGX Root CA certificate (DER), trust anchor of
 * every DCAP PCK chain. Source: Phala-Network/dcap-qvl src/TrustedRootCA.der
 * (copy in shared/tee-test-vectors/intel_sgx_root_ca.der), which is Intel's
 * public root from https://certificates.trustedservices.intel.com/.
 *   subject  CN=Intel SGX Root CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US
 *   validity 2018-05-21 .. 2049-12-31
 *   SHA-256  44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3
 */
#ifndef PERFAGG_CORE_SGX_ROOT_CA_H
#define PERFAGG_CORE_SGX_ROOT_CA_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 of sgx_root_ca_der: checked by sgx_quote_verify() and the tests. */
extern const uint8_t sgx_root_ca_sha256[32];
extern const uint8_t sgx_root_ca_der[];
extern const size_t sgx_root_ca_der_len;

#endif
