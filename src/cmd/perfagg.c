/* perfagg: the Perf-Aggregator client. Dispatches to src/client/cli_*.c. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "client/cli.h"
#include "enclave/secret.h"
#include "util/jsonmem.h"

static const struct cli_command commands[] = {
	{ "attest", "fetch and verify the enclave's attestation", cli_attest },
	{ "register", "encrypt an exchange API key to the attested enclave and open a session", cli_register },
	{ "session", "show a session's status", cli_session },
	{ "revoke", "revoke a session (its credentials are wiped)", cli_revoke },
	{ "metrics", "fetch a session's signed per-symbol metrics and verify the signature", cli_metrics },
	{ "summary", "fetch a session's signed totals and statistics and verify the signature", cli_summary },
	{ "verify", "verify a saved signed result offline against an attestation document", cli_verify },
	{ "analyze", "FIFO PnL and volumes from a file of fills", cli_analyze },
	{ "stats", "risk and performance statistics of a return series", cli_stats },
	{ "audit", "verify a perfaggd audit log (perfagg audit verify FILE ...)", cli_audit },
	{ "handover", "approve a new build: move the enclave's keys to it (operator)", cli_handover },
	{ NULL, NULL, NULL },
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: perfagg <command> [options]   (perfagg <command> --help for details)\n\ncommands:\n");
	for (const struct cli_command *c = commands; c->name != NULL; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
}

int
main(int argc, char **argv)
{
	struct rlimit rl = { 0, 0 };

	/* The client holds an API secret while it runs: no core dump of it. */
	setrlimit(RLIMIT_CORE, &rl);
	if (secret_init() != 0) {
		fprintf(stderr, "perfagg: cannot initialise libsodium\n");
		return CLI_FAIL;
	}
	jsonmem_install();
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("perfagg %s\n", PERFAGG_VERSION);
		return CLI_OK;
	}
	for (const struct cli_command *c = commands; c->name != NULL; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "perfagg: unknown command '%s' (perfagg --help lists them)\n", argv[1]);
	return CLI_USAGE;
}
