/*
 * cli: the subcommands of the `perfagg` client. Each takes the arguments
 * after its name (argv[0] is the subcommand name), prints its result on
 * stdout, one clear error line on stderr, and returns the process exit code:
 * 0 success, 1 failure of the operation (verification failed, server said no),
 * 2 usage or input error.
 */
#ifndef PERFAGG_CLIENT_CLI_H
#define PERFAGG_CLIENT_CLI_H

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int cli_attest(int argc, char **argv);
int cli_register(int argc, char **argv);
int cli_session(int argc, char **argv);
int cli_revoke(int argc, char **argv);
int cli_analyze(int argc, char **argv);
int cli_stats(int argc, char **argv);
int cli_metrics(int argc, char **argv);
int cli_summary(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_handover(int argc, char **argv);

struct series;

/* Largest return-series file read. */
#define CLI_SERIES_MAX (256u << 20)

/* Reads the return series file path ("-" for stdin) into s (core/series.h).
 * Returns CLI_OK, or CLI_USAGE after printing an error naming the line. */
int cli_read_series(const char *cmd, const char *path, struct series *s);

/* Prints "perfagg <cmd>: <message>" on stderr and returns code. */
int cli_error(const char *cmd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
