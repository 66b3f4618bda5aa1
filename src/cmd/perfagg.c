/* perfagg: the Perf-Aggregator client. Dispatches to src/client/cli_*.c. */
#include <stdio.h>
#include <string.h>

#include "client/cli.h"

static const struct cli_command commands[] = {
	{ "stats", "risk and performance statistics of a return series", cli_stats },
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
