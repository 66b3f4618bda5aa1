/*
 * audit_chain: the format of the audit log (one JSON entry per line) and its
 * verification. Shared by the writer (out/audit.h) and `perfagg audit verify`.
 *
 * Every line is the RFC 8785 (JCS) form of one object:
 *
 *   seq    1, 2, 3, ... with no gap
 *   ts     ISO 8601 UTC time of writing
 *   event  what happened ([a-z_]+)
 *   ...    the event's fields (out/audit.h: a closed, typed set)
 *   prev   hex SHA-256 of the previous line's exact bytes (without its
 *          newline); 64 zeros on the first line
 *   hash   hex SHA-256 of JCS(this entry without "hash")
 *
 * Two events have a meaning here:
 *   checkpoint     head_seq = seq - 1 and head_hash = the previous entry's
 *                  hash, plus signing_key_id and signature (core/signed.h,
 *                  over JCS of the entry without "signature" and "hash").
 *   chain_restart  written by the writer when it finds a broken last line (a
 *                  partial write after a crash): broken_line names that line,
 *                  prev is the SHA-256 of its bytes, after_hash the SHA-256
 *                  of the last good line before it (zeros if none), and seq
 *                  continues from that good line. The broken line is kept.
 *                  With reason "truncated" (the log lost its tail, see
 *                  out/audit.h) it also carries expected_seq, expected_line,
 *                  found_seq and found_lines, and broken_line is 0 when the
 *                  cut left no broken line (prev then chains as usual).
 * Pure code: no I/O.
 */
#ifndef PERFAGG_CORE_AUDIT_CHAIN_H
#define PERFAGG_CORE_AUDIT_CHAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_HEX_LEN 64		/* a SHA-256 in hex */
#define AUDIT_LINE_MAX 16384		/* longest line, without its newline */

/* Hex SHA-256 of (line, len): what the next entry's prev holds. */
void audit_chain_line_hash(char out[AUDIT_HEX_LEN + 1], const char *line, size_t len);

/*
 * Seals entry (an object holding seq, ts, event and fields, not prev or hash):
 * sets prev, then hash, and returns the line to write (JCS, no newline; the
 * caller frees) with its length in *len. NULL with *errstr if the entry
 * cannot be canonicalized or the line would exceed AUDIT_LINE_MAX.
 */
char *audit_chain_seal(json_t *entry, const char prev[AUDIT_HEX_LEN + 1], size_t *len, const char **errstr);

/*
 * Parses one line (without newline) and checks it on its own: a JSON object,
 * canonical (the line is its own JCS form), with seq, ts, event, prev and
 * hash well formed and hash correct. Returns the entry (new reference), or
 * NULL with *errstr.
 */
json_t *audit_chain_parse(const char *line, size_t len, const char **errstr);

/* The outcome of audit_chain_verify. */
struct audit_chain_report {
	size_t lines;			/* lines examined */
	size_t entries;			/* valid entries */
	size_t checkpoints;		/* verified checkpoints */
	size_t restarts;		/* accepted chain_restart entries */
	size_t first_restart_line;	/* line of the first broken line bridged, 0 = none */
	size_t after_checkpoint;	/* entries after the last checkpoint (not covered by a signature) */
	/* chain_restart entries with reason "truncated": the writer found the
	 * log no longer held the last checkpoint it had written. The first one: */
	size_t truncations;
	size_t truncation_line;		/* its line */
	int64_t truncation_expected_seq;	/* the checkpoint the writer expected */
	int64_t truncation_found_seq;	/* the last entry it found */
	int64_t last_seq;
	char head[AUDIT_HEX_LEN + 1];	/* hash of the last entry */
	size_t bad_line;		/* 1-based line of the first error, 0 = none */
	char error[192];		/* what is wrong with bad_line */
};

/*
 * Verifies a whole log (buf, len): every line's own checks, the prev chain,
 * seq continuity, chain restarts, and every checkpoint's signature against
 * the Ed25519 keys given (the one whose key id the checkpoint names must be
 * among them). An empty log is an error. Returns 0, or -1 with rep->bad_line
 * and rep->error set. rep is always filled.
 */
int audit_chain_verify(const char *buf, size_t len, const uint8_t (*keys)[32], size_t nkeys,
    struct audit_chain_report *rep);

#endif
