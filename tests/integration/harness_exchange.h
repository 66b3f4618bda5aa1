/*
 * harness_exchange: the integration tests' steps against the exchange
 * simulator (tests/unit/exchange/exsim_run.h) and perfaggd: fetch a
 * simulator route, register an account with `perfagg register`, wait for its
 * backfill. Each fails the test (cmocka) on error.
 */
#ifndef PERFAGG_TESTS_HARNESS_EXCHANGE_H
#define PERFAGG_TESTS_HARNESS_EXCHANGE_H

#include <jansson.h>

#include "harness.h"

struct exsim_run;

/* GET path from the simulator; the parsed body (caller decrefs). */
json_t *harness_sim_get(const struct exsim_run *s, const char *path);
/* Writes text to a new /tmp file named after prefix; the path (caller frees, unlinks). */
char *harness_write_tmp(const char *prefix, const char *text);
/* Registers the simulator account acct through `perfagg register`; the session id (caller frees). */
char *harness_register(const struct daemon *d, json_t *acct);
/* Waits (up to 120 s) until the session is active and backfilled. */
void harness_wait_backfilled(const struct daemon *d, const char *sid, const char *what);

#endif
