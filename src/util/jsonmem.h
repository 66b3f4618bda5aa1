/*
 * jsonmem: makes jansson wipe every block it frees.
 *
 * Decrypted credentials are parsed with jansson, which copies strings into
 * its own heap blocks. Wiping on free means no copy of a secret survives the
 * json_decref() of the document that held it. Call jsonmem_install() once at
 * start-up, before any jansson call, in every binary that parses secrets.
 */
#ifndef PERFAGG_UTIL_JSONMEM_H
#define PERFAGG_UTIL_JSONMEM_H

void jsonmem_install(void);

#endif
