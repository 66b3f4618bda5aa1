/* perfaggd: the Perf-Aggregator enclave service. */
#include <stdio.h>

int
main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("perfaggd %s\n", PERFAGG_VERSION);
	return 0;
}
