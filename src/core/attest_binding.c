#include "core/attest_binding.h"

#include <string.h>

#include "core/prim.h"
#include "util/log.h"

#define LABEL_BYTES sizeof(ATTEST_BINDING_LABEL)	/* includes the NUL */

void
attest_binding(uint8_t out[ATTEST_BINDING_BYTES], const uint8_t x25519_pub[32],
    const uint8_t ed25519_pub[32], const uint8_t tls_spki_sha256[32], const uint8_t *nonce, size_t nonce_len)
{
	uint8_t buf[LABEL_BYTES + 32 + 32 + 32 + 1 + ATTEST_NONCE_MAX];
	size_t n = 0;

	if (nonce_len > ATTEST_NONCE_MAX || (nonce == NULL && nonce_len != 0))
		fatalx("attest_binding: bad nonce (%zu bytes)", nonce_len);
	memcpy(buf + n, ATTEST_BINDING_LABEL, LABEL_BYTES);
	n += LABEL_BYTES;
	memcpy(buf + n, x25519_pub, 32);
	n += 32;
	memcpy(buf + n, ed25519_pub, 32);
	n += 32;
	memcpy(buf + n, tls_spki_sha256, 32);
	n += 32;
	buf[n++] = (uint8_t)nonce_len;
	if (nonce_len > 0)
		memcpy(buf + n, nonce, nonce_len);
	n += nonce_len;
	prim_sha512(out, buf, n);
}
