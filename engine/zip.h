/* Read-only view of a zip archive held in memory (as torch.save writes it).
 *
 * Only what torch.save produces is supported: stored (uncompressed) entries,
 * optionally ZIP64 (end-of-central-directory record/locator and the ZIP64
 * extra field in central and local headers). Deflated entries are listed but
 * reading one is an OCTIC_ERR_UNSUPPORTED error. Nothing is copied: entry
 * data points into the caller's buffer. */
#ifndef OCTIC_ZIP_H
#define OCTIC_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct {
    char *name;             /* NUL-terminated copy */
    uint64_t local_offset;  /* of the local file header */
    uint64_t size;          /* uncompressed */
    uint64_t csize;         /* compressed (== size when stored) */
    int method;             /* 0 stored, 8 deflated, ... */
} octic_zip_entry;

typedef struct {
    const uint8_t *buf;
    size_t len;
    const char *name; /* for messages */
    octic_zip_entry *entries;
    size_t count;
    octic_zip_entry **by_name; /* entries sorted by name, for octic_zip_find */
} octic_zip;

/* Parses the central directory. `name` (the file name) prefixes errors. */
octic_status octic_zip_open(octic_zip *z, const uint8_t *buf, size_t len, const char *name);
void octic_zip_close(octic_zip *z);
/* NULL when absent; the first in directory order if a name repeats. */
const octic_zip_entry *octic_zip_find(const octic_zip *z, const char *entry_name);
/* Points *data at the entry's bytes after checking its local header. */
octic_status octic_zip_data(const octic_zip *z, const octic_zip_entry *e, const uint8_t **data,
                            uint64_t *size);

#endif
