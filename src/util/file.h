/*
 * file: whole-file reads with a size cap, for configuration, keys and inputs.
 */
#ifndef PERFAGG_UTIL_FILE_H
#define PERFAGG_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads all of path ("-" means standard input) into a fresh buffer of *len
 * bytes plus a NUL that *len does not count. Refuses more than max bytes.
 * Returns the buffer (caller frees with free()), or NULL with *errstr set
 * (a static string; errno-derived detail is lost on purpose: callers name the path).
 */
uint8_t *file_read_all(const char *path, size_t max, size_t *len, const char **errstr);

/* Writes (buf, len) to path atomically (temporary file + rename) with the given
 * mode. Returns 0, or -1 with *errstr set. */
int file_write_atomic(const char *path, const void *buf, size_t len, unsigned mode, const char **errstr);

/* Writes (buf, len) to a new file at path with the given mode, synced. Never
 * replaces anything: an existing path (a symlink included) is an error and is
 * left untouched. On failure nothing is left at path. Returns 0, or -1 with
 * *errstr set. */
#define FILE_EXISTS_ERR "file exists (refusing to overwrite it)"	/* file_write_new's *errstr then */
int file_write_new(const char *path, const void *buf, size_t len, unsigned mode, const char **errstr);

/*
 * Makes dir private to its owner: creates it (0700) if missing, sets it and
 * the directories below it to 0700 and every regular file in them to 0600,
 * logging each mode it changes (data_dir_mode_fixed). Symbolic links inside
 * are not followed. Returns 0, or -1 with *errstr set.
 */
int file_private_dir(const char *dir, const char **errstr);

#endif
