/*
 * perfagg-exsim: the exchange simulator on 127.0.0.1 (see src/exsim/exsim.h).
 * Prints {"event":"listening","port":N} on stdout once it accepts requests.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exsim/exsim.h"
#include "util/file.h"
#include "util/log.h"
#include "util/timeutil.h"

static const char usage[] =
    "usage: perfagg-exsim [options]\n"
    "  --port N               listen on 127.0.0.1:N (0 = ephemeral, default)\n"
    "  --seed N               world seed (default 1)\n"
    "  --accounts N           accounts per exchange and market (default 2)\n"
    "  --fills N              fills per account over its history (default 2000)\n"
    "  --history-days D       history length in days (default 90)\n"
    "  --start-ms MS          history anchor, ms since the epoch (default: now)\n"
    "  --live-spacing-ms MS   accounts keep trading, one fill per MS each (default 0: off)\n"
    "  --strict-limits        enforce the exchanges' per-IP weight limits\n"
    "  --no-ledger-permission Kraken keys lack \"Query Ledger Entries\" (Ledgers: EGeneral:Permission denied)\n"
    "  --fault-5xx P          probability of a 5xx per request (0..1)\n"
    "  --fault-429 P          probability of a rate-limit answer\n"
    "  --fault-timeout P      probability of holding a request past --timeout-ms\n"
    "  --timeout-ms MS        how long a timeout fault holds (default 35000)\n"
    "  --fault-truncate P     probability of a truncated body\n"
    "  --fault-malformed P    probability of an invalid JSON body\n"
    "  --fault-overlap P      probability of a page repeating rows of the previous one\n"
    "  --latency-ms MS        added to every exchange request\n"
    "  --coinbase-unknown-side P  share of Coinbase fills reported with side UNKNOWN_ORDER_SIDE\n"
    "  --clock-offset-s S     the exchanges' clocks run S seconds ahead (< 0: behind) of this machine's\n"
    "  --threads N            server threads (default 4)\n"
    "  --export-accounts FILE write the accounts JSON to FILE and exit\n"
    "  --help                 this text\n";

enum {
	O_PORT = 1, O_SEED, O_ACCOUNTS, O_FILLS, O_HISTORY, O_START, O_LIVE, O_STRICT, O_F5XX, O_F429, O_FTIMEOUT,
	O_TIMEOUT, O_FTRUNC, O_FMAL, O_FOVERLAP, O_LATENCY, O_THREADS, O_EXPORT, O_HELP, O_CLOCK, O_UNKSIDE, O_NOLEDGER
};

static const struct option longopts[] = {
	{ "port", required_argument, NULL, O_PORT },
	{ "seed", required_argument, NULL, O_SEED },
	{ "accounts", required_argument, NULL, O_ACCOUNTS },
	{ "fills", required_argument, NULL, O_FILLS },
	{ "history-days", required_argument, NULL, O_HISTORY },
	{ "start-ms", required_argument, NULL, O_START },
	{ "live-spacing-ms", required_argument, NULL, O_LIVE },
	{ "strict-limits", no_argument, NULL, O_STRICT },
	{ "fault-5xx", required_argument, NULL, O_F5XX },
	{ "fault-429", required_argument, NULL, O_F429 },
	{ "fault-timeout", required_argument, NULL, O_FTIMEOUT },
	{ "timeout-ms", required_argument, NULL, O_TIMEOUT },
	{ "fault-truncate", required_argument, NULL, O_FTRUNC },
	{ "fault-malformed", required_argument, NULL, O_FMAL },
	{ "fault-overlap", required_argument, NULL, O_FOVERLAP },
	{ "latency-ms", required_argument, NULL, O_LATENCY },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "export-accounts", required_argument, NULL, O_EXPORT },
	{ "help", no_argument, NULL, O_HELP },
	{ "clock-offset-s", required_argument, NULL, O_CLOCK },
	{ "coinbase-unknown-side", required_argument, NULL, O_UNKSIDE },
	{ "no-ledger-permission", no_argument, NULL, O_NOLEDGER },
	{ NULL, 0, NULL, 0 },
};

static int
bad(const char *opt, const char *val)
{
	fprintf(stderr, "perfagg-exsim: invalid value for --%s: %s\n", opt, val);
	return 2;
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_prob(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0 && v <= 1.0))
		return -1;
	*out = v;
	return 0;
}

/* The probability an --fault-* option sets. */
static double *
prob_field(struct exsim_faults *f, int opt)
{
	switch (opt) {
	case O_F5XX:
		return &f->p_5xx;
	case O_F429:
		return &f->p_429;
	case O_FTIMEOUT:
		return &f->p_timeout;
	case O_FTRUNC:
		return &f->p_truncate;
	case O_FMAL:
		return &f->p_malformed;
	default:
		return &f->p_overlap;
	}
}

int
main(int argc, char **argv)
{
	struct exsim_config cfg;
	struct exsim w;
	struct exsim_http *h;
	const char *err = NULL, *export = NULL;
	sigset_t set;
	uint64_t v;
	int c, sig;

	exsim_config_default(&cfg);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_PORT:
			if (parse_u64(optarg, 65535, &v) == -1)
				return bad("port", optarg);
			cfg.port = (uint16_t)v;
			break;
		case O_SEED:
			if (parse_u64(optarg, UINT64_MAX, &v) == -1)
				return bad("seed", optarg);
			cfg.seed = v;
			break;
		case O_ACCOUNTS:
			if (parse_u64(optarg, 100000, &v) == -1 || v == 0)
				return bad("accounts", optarg);
			cfg.accounts_per_exchange = (size_t)v;
			break;
		case O_FILLS:
			if (parse_u64(optarg, 1000000000ULL, &v) == -1 || v == 0)
				return bad("fills", optarg);
			cfg.fills_per_account = v;
			break;
		case O_HISTORY:
			if (parse_u64(optarg, 3650, &v) == -1 || v == 0)
				return bad("history-days", optarg);
			cfg.history_ms = (int64_t)v * 86400000LL;
			break;
		case O_START:
			if (parse_u64(optarg, 4102444800000ULL, &v) == -1 || v == 0)
				return bad("start-ms", optarg);
			cfg.start_ms = (int64_t)v;
			break;
		case O_LIVE:
			if (parse_u64(optarg, 86400000ULL * 365, &v) == -1)
				return bad("live-spacing-ms", optarg);
			cfg.live_spacing_ms = (int64_t)v;
			break;
		case O_STRICT:
			cfg.strict_limits = true;
			break;
		case O_NOLEDGER:
			cfg.no_ledger_permission = true;
			break;
		case O_F5XX:
		case O_F429:
		case O_FTIMEOUT:
		case O_FTRUNC:
		case O_FMAL:
		case O_FOVERLAP:
			if (parse_prob(optarg, prob_field(&cfg.faults, c)) == -1)
				return bad(longopts[c - 1].name, optarg);
			break;
		case O_TIMEOUT:
			if (parse_u64(optarg, 3600000, &v) == -1)
				return bad("timeout-ms", optarg);
			cfg.faults.timeout_ms = (int64_t)v;
			break;
		case O_LATENCY:
			if (parse_u64(optarg, 600000, &v) == -1)
				return bad("latency-ms", optarg);
			cfg.faults.latency_ms = (int64_t)v;
			break;
		case O_UNKSIDE:
			if (parse_prob(optarg, &cfg.coinbase_unknown_side) == -1)
				return bad("coinbase-unknown-side", optarg);
			break;
		case O_CLOCK: {
			char *end;
			long long off = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || off < -86400 || off > 86400)
				return bad("clock-offset-s", optarg);
			cfg.faults.clock_offset_ms = off * 1000;
			break;
		}
		case O_THREADS:
			if (parse_u64(optarg, 256, &v) == -1 || v == 0)
				return bad("threads", optarg);
			cfg.threads = (unsigned)v;
			break;
		case O_EXPORT:
			export = optarg;
			break;
		case O_HELP:
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr, "perfagg-exsim: unknown or incomplete option %s (see --help)\n",
			    optind > 0 && optind <= argc ? argv[optind - 1] : "?");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "perfagg-exsim: unexpected argument %s (see --help)\n", argv[optind]);
		return 2;
	}
	if (exsim_init(&w, &cfg, &err) == -1) {
		fprintf(stderr, "perfagg-exsim: %s\n", err);
		return 2;
	}
	if (export != NULL) {
		char *s = exsim_accounts_json(&w, time_now_ms());
		int rc = file_write_atomic(export, s, strlen(s), 0600, &err);
		free(s);
		exsim_free(&w);
		if (rc == -1) {
			fprintf(stderr, "perfagg-exsim: %s: %s\n", export, err);
			return 1;
		}
		return 0;
	}
	/* Block the stop signals before any thread starts, then wait for them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((h = exsim_http_start(&w, cfg.port, cfg.threads, &err)) == NULL) {
		fprintf(stderr, "perfagg-exsim: %s\n", err);
		exsim_free(&w);
		return 1;
	}
	printf("{\"event\":\"listening\",\"port\":%u}\n", (unsigned)exsim_http_port(h));
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	exsim_http_stop(h);
	exsim_free(&w);
	return 0;
}
