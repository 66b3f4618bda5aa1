#include "core/dev_evidence.h"

#include <string.h>

#include "core/prim.h"

/* Field offsets, in the order of the header's table. */
#define OFF_VERSION DEV_EVIDENCE_MAGIC_BYTES
#define OFF_REPORT_DATA (OFF_VERSION + 2)
#define OFF_MEASUREMENT (OFF_REPORT_DATA + 64)
#define OFF_TIMESTAMP (OFF_MEASUREMENT + 32)
#define OFF_SIGNING_PUB (OFF_TIMESTAMP + 8)
#define OFF_SIGNATURE (OFF_SIGNING_PUB + 32)

_Static_assert(OFF_SIGNATURE == DEV_EVIDENCE_SIGNED_BYTES, "dev evidence layout");
_Static_assert(DEV_EVIDENCE_BYTES == 221, "dev evidence size");

void
dev_evidence_encode_signed(uint8_t out[DEV_EVIDENCE_SIGNED_BYTES], const struct dev_evidence *ev)
{
	memcpy(out, DEV_EVIDENCE_MAGIC, DEV_EVIDENCE_MAGIC_BYTES);
	out[OFF_VERSION] = (uint8_t)(ev->version >> 8);
	out[OFF_VERSION + 1] = (uint8_t)ev->version;
	memcpy(out + OFF_REPORT_DATA, ev->report_data, 64);
	memcpy(out + OFF_MEASUREMENT, ev->measurement, 32);
	for (int i = 0; i < 8; i++)
		out[OFF_TIMESTAMP + i] = (uint8_t)(ev->timestamp_ms >> (56 - 8 * i));
	memcpy(out + OFF_SIGNING_PUB, ev->signing_pub, 32);
}

void
dev_evidence_encode(uint8_t out[DEV_EVIDENCE_BYTES], const struct dev_evidence *ev)
{
	dev_evidence_encode_signed(out, ev);
	memcpy(out + OFF_SIGNATURE, ev->signature, 64);
}

int
dev_evidence_parse(struct dev_evidence *ev, const uint8_t *buf, size_t len, const char **errstr)
{
	memset(ev, 0, sizeof(*ev));
	if (len != DEV_EVIDENCE_BYTES) {
		*errstr = "dev evidence has the wrong length (want 221 bytes)";
		return -1;
	}
	if (memcmp(buf, DEV_EVIDENCE_MAGIC, DEV_EVIDENCE_MAGIC_BYTES) != 0) {
		*errstr = "dev evidence magic is not PERFAGG-DEV-NOT-HW";
		return -1;
	}
	ev->version = (uint16_t)(buf[OFF_VERSION] << 8 | buf[OFF_VERSION + 1]);
	if (ev->version != DEV_EVIDENCE_VERSION) {
		*errstr = "dev evidence version is not 1";
		return -1;
	}
	memcpy(ev->report_data, buf + OFF_REPORT_DATA, 64);
	memcpy(ev->measurement, buf + OFF_MEASUREMENT, 32);
	for (int i = 0; i < 8; i++)
		ev->timestamp_ms = ev->timestamp_ms << 8 | buf[OFF_TIMESTAMP + i];
	memcpy(ev->signing_pub, buf + OFF_SIGNING_PUB, 32);
	memcpy(ev->signature, buf + OFF_SIGNATURE, 64);
	return 0;
}

int
dev_evidence_verify(const struct dev_evidence *ev, const char **errstr)
{
	uint8_t msg[DEV_EVIDENCE_SIGNED_BYTES];

	/* Re-encoding is exact (fixed-size fields only), so the bytes verified
	 * are the bytes that were parsed. */
	dev_evidence_encode_signed(msg, ev);
	if (prim_ed25519_verify(ev->signature, msg, sizeof(msg), ev->signing_pub) != 0) {
		*errstr = "dev evidence signature does not verify with its signing key";
		return -1;
	}
	return 0;
}
