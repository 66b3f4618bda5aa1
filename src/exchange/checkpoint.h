/*
 * checkpoint: one session's collection state as bytes, so that a restart
 * (or a kill -9) resumes polling from the connector's cursors with the
 * ledger, holdings and status it had, instead of a new backfill.
 *
 * A checkpoint is taken between two cycles only, when the ledger, the
 * holdings and the connector's cursors describe the same fills: any
 * checkpoint is a valid place to resume from, an old one simply makes the
 * next cycle read again what came after it (the ledger and the cursors
 * move together, so nothing is counted twice). Raw fills are never in it
 * (a non-ascending connector's buffer is empty between cycles). The daily
 * closes are not in it either: they are public, shared by the sessions of
 * an exchange, and the connectors fetch them again after a load.
 *
 * Layout (core/pack.h): version, the status (counters, progress, degraded
 * parts, permissions, the time the data is complete until), whether the
 * history is done, then the ledger, the holdings and the connector
 * (ledger_save, holdings_save, xconn_save). The bytes are sealed by their
 * keeper (enclave/session_seal.h) before they reach the store.
 */
#ifndef PERFAGG_EXCHANGE_CHECKPOINT_H
#define PERFAGG_EXCHANGE_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/pack.h"
#include "exchange/collection.h"
#include "exchange/exchange.h"

/* Appends c's state (ledger, holdings, status) and conn's cursors to w.
 * Caller is the only writer of c (the poller thread) or holds c->mu.
 * Returns 0, or -1 with *errstr (the connector cannot save). */
int checkpoint_save(const struct collection *c, const struct xconn *conn, bool history_done, struct pack *w,
    const char **errstr);

/* Loads (buf, len) into c (a fresh collection_new(): its empty ledger and
 * holdings are replaced) and conn (freshly opened for the same exchange
 * and market). Returns 0 with *history_done, or -1 with *errstr: c is as
 * it was, conn may be half loaded (close it and open it again). */
int checkpoint_load(struct collection *c, struct xconn *conn, const void *buf, size_t len, bool *history_done,
    const char **errstr);

#endif
