/* File plumbing shared by the checkpoint readers and writers (internal).
 * Implemented in checkpoint.c. */
#ifndef OCTIC_FILEIO_H
#define OCTIC_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Maps `path` read-only. An empty file gives *buf = NULL, *len = 0 (mmap
 * cannot map zero bytes); octic_file_unmap accepts that too. */
octic_status octic_file_map(const char *path, uint8_t **buf, size_t *len);
void octic_file_unmap(uint8_t *buf, size_t len);

/* Atomic replacement of a file: everything is written to
 * "<path>.tmp-XXXXXX" in the same directory, which is fsync'ed and renamed
 * over `path` on commit. Any failure removes the temporary file, so `path`
 * is either the old file or the complete new one, with the old one's mode.
 * A symlink to a file is followed (the file is replaced, the link stays); a
 * device, a FIFO or any name under /dev or /proc (/dev/null, /dev/stdout)
 * is written straight into (appended to), as there is no file to replace. */
/* What the temporary files' names add to the path (then six random
 * characters): what a killed writer leaves is found by it. */
#define OCTIC_ATOMIC_TMP ".tmp-"

typedef struct {
    int fd;
    char *tmp;
    const char *path; /* as given: the messages name it */
    char *target;     /* the file replaced or written (path, symlinks followed) */
    int direct;       /* written straight into target (not a regular file) */
} octic_atomic_file;

octic_status octic_atomic_open(octic_atomic_file *f, const char *path);
/* Writes all of buf (retrying short writes); on failure aborts the file. */
octic_status octic_atomic_write(octic_atomic_file *f, const void *buf, size_t len);
/* fsync, close, rename; on failure aborts the file. */
octic_status octic_atomic_commit(octic_atomic_file *f);
/* Closes and removes the temporary file (safe to call after a failure). */
void octic_atomic_abort(octic_atomic_file *f);

#endif
