#include "core/attest_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/attest_binding.h"
#include "core/b64.h"
#include "core/dev_evidence.h"
#include "core/hex.h"
#include "core/sgx_quote.h"
#include "util/xalloc.h"

/* The largest evidence any type may carry. */
#define EVIDENCE_MAX SGX_QUOTE_MAX_BYTES

/* The document's fields, decoded. */
struct doc {
	const char *type;
	bool hardware_backed;
	uint8_t enclave_pub[32];
	uint8_t signing_pub[32];
	uint8_t measurement[32];
	uint8_t report_data[64];
	uint8_t nonce[ATTEST_NONCE_MAX];
	size_t nonce_len;
	uint8_t tls_spki_sha256[32];
	uint8_t *evidence;		/* owned */
	size_t evidence_len;
};

static const char *
str_field(const json_t *doc, const char *key, size_t *len)
{
	json_t *v = json_object_get(doc, key);

	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

/* Decodes doc[key] as exactly n bytes of hex (b64 false) or base64. */
static int
bytes_field(const json_t *doc, const char *key, bool b64, uint8_t *out, size_t n)
{
	size_t len;
	const char *s = str_field(doc, key, &len);

	if (s == NULL)
		return -1;
	return b64 ? b64_decode_exact(out, n, s, len) : hex_decode_exact(out, n, s, len);
}

static int
doc_decode(struct doc *d, const json_t *doc, const char **errstr)
{
	json_t *v;
	const char *s;
	size_t len;

	if (!json_is_object(doc)) {
		*errstr = "attestation document is not a JSON object";
		return -1;
	}
	if ((d->type = str_field(doc, "attestation_type", &len)) == NULL || strlen(d->type) != len) {
		*errstr = "attestation_type is missing or not a string";
		return -1;
	}
	if (!json_is_boolean(v = json_object_get(doc, "hardware_backed"))) {
		*errstr = "hardware_backed is missing or not a boolean";
		return -1;
	}
	d->hardware_backed = json_is_true(v);
	if (bytes_field(doc, "enclave_pubkey", true, d->enclave_pub, 32) == -1) {
		*errstr = "enclave_pubkey is not base64 of 32 bytes";
		return -1;
	}
	if (bytes_field(doc, "signing_pubkey", true, d->signing_pub, 32) == -1) {
		*errstr = "signing_pubkey is not base64 of 32 bytes";
		return -1;
	}
	if (bytes_field(doc, "measurement", false, d->measurement, 32) == -1) {
		*errstr = "measurement is not hex of 32 bytes";
		return -1;
	}
	if (bytes_field(doc, "report_data", false, d->report_data, 64) == -1) {
		*errstr = "report_data is not hex of 64 bytes";
		return -1;
	}
	if ((s = str_field(doc, "nonce", &len)) == NULL ||
	    hex_decode(d->nonce, sizeof(d->nonce), &d->nonce_len, s, len) == -1) {
		*errstr = "nonce is not hex of at most 32 bytes";
		return -1;
	}
	if (json_is_null(v = json_object_get(doc, "tls_spki_sha256")))
		memset(d->tls_spki_sha256, 0, 32);
	else if (bytes_field(doc, "tls_spki_sha256", false, d->tls_spki_sha256, 32) == -1) {
		*errstr = "tls_spki_sha256 is neither null nor hex of 32 bytes";
		return -1;
	}
	d->evidence = xmalloc(EVIDENCE_MAX);
	if ((s = str_field(doc, "quote", &len)) == NULL ||
	    b64_decode(d->evidence, EVIDENCE_MAX, &d->evidence_len, s, len) == -1) {
		*errstr = "quote is not base64 of at most 8 KiB";
		return -1;
	}
	return 0;
}

static int
verify_dev(const struct doc *d, const struct attest_policy *policy, struct attest_claims *c,
    const char **errstr)
{
	struct dev_evidence ev;

	if (!policy->allow_dev) {
		*errstr = "dev attestation is NOT hardware-backed and the policy does not allow it";
		return -1;
	}
	if (d->hardware_backed) {
		*errstr = "hardware_backed is true but dev attestation is not hardware-backed";
		return -1;
	}
	if (dev_evidence_parse(&ev, d->evidence, d->evidence_len, errstr) == -1)
		return -1;
	if (memcmp(ev.report_data, d->report_data, 64) != 0) {
		*errstr = "dev evidence report_data differs from the document's report_data";
		return -1;
	}
	if (memcmp(ev.measurement, d->measurement, 32) != 0) {
		*errstr = "dev evidence measurement differs from the document's measurement";
		return -1;
	}
	if (memcmp(ev.signing_pub, d->signing_pub, 32) != 0) {
		*errstr = "dev evidence signing key differs from the document's signing_pubkey";
		return -1;
	}
	if (dev_evidence_verify(&ev, errstr) == -1)
		return -1;
	memcpy(c->measurement, d->measurement, 32);
	c->hardware_backed = false;
	c->debug = false;
	c->timestamp_ms = ev.timestamp_ms;
	return 0;
}

static int
verify_sgx(const struct doc *d, const json_t *doc, const struct attest_policy *policy,
    struct attest_claims *c, const char **errstr)
{
	struct sgx_quote q;
	uint8_t mrenclave[32];

	if (!d->hardware_backed) {
		*errstr = "hardware_backed is false but sgx_dcap attestation is hardware-backed";
		return -1;
	}
	if (sgx_quote_parse(&q, d->evidence, d->evidence_len, errstr) == -1 ||
	    sgx_quote_verify(&q, policy->verify_time, errstr) == -1)
		return -1;	/* errstr names the quote defect */
	if (memcmp(q.report.report_data, d->report_data, 64) != 0) {
		*errstr = "SGX quote report_data is not the binding of the document's keys and nonce";
		return -1;
	}
	if (q.report.debug && !policy->allow_debug) {
		*errstr = "SGX enclave runs in DEBUG mode (its memory is readable by the host)";
		return -1;
	}
	if (json_object_get(doc, "mrenclave") != NULL) {
		if (bytes_field(doc, "mrenclave", false, mrenclave, 32) == -1) {
			*errstr = "mrenclave is not hex of 32 bytes";
			return -1;
		}
		if (memcmp(mrenclave, q.report.mr_enclave, 32) != 0) {
			*errstr = "mrenclave differs from the quote's MRENCLAVE";
			return -1;
		}
	}
	memcpy(c->measurement, q.report.mr_enclave, 32);
	memcpy(c->mr_signer, q.report.mr_signer, 32);
	c->isv_prod_id = q.report.isv_prod_id;
	c->isv_svn = q.report.isv_svn;
	c->hardware_backed = true;
	c->debug = q.report.debug;
	return 0;
}

int
attest_verify_document(const json_t *doc, const uint8_t *nonce, size_t nonce_len,
    const struct attest_policy *policy, struct attest_claims *out, const char **errstr)
{
	struct doc d;
	struct attest_claims c;
	uint8_t binding[ATTEST_BINDING_BYTES];
	int rc = -1;

	memset(&d, 0, sizeof(d));
	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	if (nonce_len > ATTEST_NONCE_MAX || (nonce == NULL && nonce_len != 0)) {
		*errstr = "caller's nonce is longer than 32 bytes";
		goto out;
	}
	if (doc_decode(&d, doc, errstr) == -1)
		goto out;
	if (d.nonce_len != nonce_len || (nonce_len > 0 && memcmp(d.nonce, nonce, nonce_len) != 0)) {
		*errstr = "document nonce differs from the nonce we sent (replayed or stale document)";
		goto out;
	}
	attest_binding(binding, d.enclave_pub, d.signing_pub, d.tls_spki_sha256, nonce, nonce_len);
	if (memcmp(binding, d.report_data, sizeof(binding)) != 0) {
		*errstr = "report_data is not the binding of enclave_pubkey, signing_pubkey, tls_spki_sha256 and nonce";
		goto out;
	}
	if (strcmp(d.type, "dev") == 0) {
		if (verify_dev(&d, policy, &c, errstr) == -1)
			goto out;
	} else if (strcmp(d.type, "sgx_dcap") == 0) {
		if (verify_sgx(&d, doc, policy, &c, errstr) == -1)
			goto out;
	} else {
		*errstr = "unknown attestation_type";
		goto out;
	}
	if (policy->expect_measurement != NULL &&
	    memcmp(policy->expect_measurement, c.measurement, 32) != 0) {
		*errstr = "measurement differs from the expected (pinned) measurement";
		goto out;
	}
	snprintf(c.attestation_type, sizeof(c.attestation_type), "%s", d.type);
	memcpy(c.enclave_pub, d.enclave_pub, 32);
	memcpy(c.signing_pub, d.signing_pub, 32);
	memcpy(c.report_data, d.report_data, 64);
	*out = c;
	rc = 0;
out:
	free(d.evidence);
	return rc;
}
