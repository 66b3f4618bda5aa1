/*
 * The dev attestation provider: self-signed evidence that is NOT
 * hardware-backed (format in core/dev_evidence.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/dev_evidence.h"
#include "enclave/attest.h"
#include "util/xalloc.h"

static int
dev_probe(const char *root, const char **errstr)
{
	return 0;	/* needs no device */
}

static int
dev_get_evidence(const struct attest_ctx *ctx, const uint8_t binding[ATTEST_BINDING_BYTES],
    struct attest_evidence *out, const char **errstr)
{
	struct dev_evidence ev;
	uint8_t *blob;

	memset(out, 0, sizeof(*out));
	memset(&ev, 0, sizeof(ev));
	ev.version = DEV_EVIDENCE_VERSION;
	memcpy(ev.report_data, binding, ATTEST_BINDING_BYTES);
	memcpy(ev.measurement, ctx->measurement, sizeof(ev.measurement));
	ev.timestamp_ms = (uint64_t)ctx->now_ms;
	memcpy(ev.signing_pub, ctx->signing_pub, sizeof(ev.signing_pub));
	blob = xmalloc(DEV_EVIDENCE_BYTES);
	dev_evidence_encode_signed(blob, &ev);
	if (ctx->sign(ctx->sign_arg, blob + DEV_EVIDENCE_SIGNED_BYTES, blob, DEV_EVIDENCE_SIGNED_BYTES) != 0) {
		free(blob);
		*errstr = "dev evidence: signing failed";
		return -1;
	}
	out->blob = blob;
	out->blob_len = DEV_EVIDENCE_BYTES;
	return 0;
}

const struct attest_provider attest_provider_dev = {
	.name = "dev",
	.attestation_type = "dev",
	.hardware_backed = false,
	.default_root = "",
	.probe = dev_probe,
	.get_evidence = dev_get_evidence,
};
