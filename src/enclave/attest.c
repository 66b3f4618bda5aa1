#include "enclave/attest.h"

#include <stdlib.h>
#include <string.h>

static const struct attest_provider *const providers[] = {
	&attest_provider_dev,
	&attest_provider_gramine,
};

void
attest_evidence_clear(struct attest_evidence *ev)
{
	if (ev == NULL)
		return;
	free(ev->blob);
	ev->blob = NULL;
	ev->blob_len = 0;
}

const struct attest_provider *
attest_provider_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
		if (strcmp(providers[i]->name, name) == 0)
			return providers[i];
	}
	return NULL;
}
