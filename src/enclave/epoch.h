/*
 * epoch: the key-epoch file kept next to the enclave's key files,
 * ENCLAVE_PRIVATE_KEY_PATH + ".epochs.json" (mode 0600, written atomically):
 *
 *   { "version": 1,
 *     "key_epoch": N,                    the epoch of the keys in these files
 *     "genesis_measurement": hex | null, the measurement that made the keys
 *                                        (perfaggd keygen), null if unknown
 *     "handovers": [ statement, ... ] }  core/handover.h, N - 1 of them
 *
 * key_epoch is always 1 + the number of statements. "The measurement in
 * force" is the last statement's to_measurement, else genesis_measurement:
 * a daemon whose own measurement differs refuses to start with these keys
 * (a new build takes them over only through a handover). A missing file
 * means epoch 1 with no measurement recorded (key files made before epochs).
 * Ownership: struct epoch_state owns its JSON; epoch_state_free() frees it.
 */
#ifndef PERFAGG_ENCLAVE_EPOCH_H
#define PERFAGG_ENCLAVE_EPOCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define EPOCH_FILE_SUFFIX ".epochs.json"

struct epoch_state {
	json_t *doc;			/* the file's object, as above */
	uint64_t epoch;
	bool have_measurement;		/* the measurement in force is known */
	uint8_t measurement[32];
};

/* The epoch file's path for a private key path; caller frees. */
char *epoch_path(const char *private_key_path);

/* A new state at epoch 1 (measurement may be NULL: unknown). */
struct epoch_state *epoch_state_new(const uint8_t *measurement);

/* Loads and checks the file of private_key_path against the Ed25519 key pub
 * (every statement verifies, consecutive epochs). A missing file gives
 * epoch 1, measurement unknown. Returns the state, or NULL with *errstr. */
struct epoch_state *epoch_load(const char *private_key_path, const uint8_t pub[32], const char **errstr);

/* Parses and checks doc (not owned; copied) as a file's contents. Returns
 * the state or NULL with *errstr. */
struct epoch_state *epoch_from_json(const json_t *doc, const uint8_t pub[32], const char **errstr);

/* Writes st as the file of private_key_path: a new file when create (never
 * overwriting), else atomically replacing it. Returns 0, or -1 with *errstr. */
int epoch_save(const struct epoch_state *st, const char *private_key_path, bool create, const char **errstr);

/* A copy of st with the signed statement st->epoch -> st->epoch + 1 appended
 * (not checked here: callers verify). Returns the new state. */
struct epoch_state *epoch_advance(const struct epoch_state *st, const json_t *statement,
    const uint8_t to_measurement[32]);

void epoch_state_free(struct epoch_state *st);

#endif
