/*
 * The Gramine SGX DCAP provider, through Gramine's /dev/attestation pseudo
 * files (Gramine Documentation/attestation.rst, "Low-level").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sgx_quote.h"
#include "enclave/attest.h"
#include "util/file.h"
#include "util/xalloc.h"

#define GRAMINE_ROOT "/dev/attestation"

static int
gramine_probe(const char *root, const char **errstr)
{
	char *path = xasprintf("%s/attestation_type", root ? root : GRAMINE_ROOT);
	size_t len;
	uint8_t *type;
	int rc = -1;

	if ((type = file_read_all(path, 64, &len, errstr)) == NULL) {
		*errstr = "gramine: cannot read attestation_type (not running under Gramine SGX?)";
		goto out;
	}
	/* Gramine returns the bare word; a newline is tolerated for hand-made trees. */
	if (len > 0 && type[len - 1] == '\n')
		len--;
	if (len != 4 || memcmp(type, "dcap", 4) != 0) {
		*errstr = "gramine: attestation_type is not \"dcap\" (set sgx.remote_attestation = \"dcap\")";
		goto out;
	}
	rc = 0;
out:
	free(type);
	free(path);
	return rc;
}

/* Writes the whole buffer to an existing file: user_report_data is a pseudo
 * file that must not be created or truncated. */
static int
write_existing(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return close(fd);
}

static int
gramine_get_evidence(const struct attest_ctx *ctx, const uint8_t binding[ATTEST_BINDING_BYTES],
    struct attest_evidence *out, const char **errstr)
{
	const char *root = ctx->root ? ctx->root : GRAMINE_ROOT;
	char *urd = xasprintf("%s/user_report_data", root);
	char *qpath = xasprintf("%s/quote", root);
	struct sgx_quote q;
	uint8_t *quote = NULL;
	size_t len;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (gramine_probe(root, errstr) == -1)
		goto out;
	/* Order matters: Gramine quotes whatever user_report_data holds when
	 * the quote file is read. */
	if (write_existing(urd, binding, ATTEST_BINDING_BYTES) == -1) {
		*errstr = "gramine: cannot write user_report_data";
		goto out;
	}
	if ((quote = file_read_all(qpath, SGX_QUOTE_MAX_BYTES, &len, errstr)) == NULL) {
		*errstr = "gramine: cannot read quote (or larger than 8 KiB)";
		goto out;
	}
	if (sgx_quote_parse(&q, quote, len, errstr) == -1)
		goto out;	/* errstr from the parser names the defect */
	if (memcmp(q.report.report_data, binding, ATTEST_BINDING_BYTES) != 0) {
		*errstr = "gramine: quote report_data does not carry our binding";
		goto out;
	}
	out->blob = quote;
	out->blob_len = len;
	quote = NULL;
	rc = 0;
out:
	free(quote);
	free(qpath);
	free(urd);
	return rc;
}

const struct attest_provider attest_provider_gramine = {
	.name = "gramine",
	.attestation_type = "sgx_dcap",
	.hardware_backed = true,
	.default_root = GRAMINE_ROOT,
	.probe = gramine_probe,
	.get_evidence = gramine_get_evidence,
};
