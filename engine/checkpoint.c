/* Checkpoint dispatch, and the file plumbing the readers and writers share
 * (fileio.h): read-only mappings and atomic replacement of files. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "fileio.h"

/* --- mapping ----------------------------------------------------------------- */

octic_status octic_file_map(const char *path, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return octic_fail(OCTIC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return octic_fail(OCTIC_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return octic_fail(OCTIC_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return OCTIC_OK;
    }
    /* Read-only: a writable private mapping would be charged as anonymous
     * memory and can be refused for multi-GB checkpoints. Tensors pointing
     * into it (owns_data == 0) must therefore not be written. */
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping stays valid */
    if (p == MAP_FAILED) return octic_fail(OCTIC_ERR_IO, "%s: cannot map: %s", path, strerror(e));
    *buf = p;
    *len = (size_t)sb.st_size;
    return OCTIC_OK;
}

void octic_file_unmap(uint8_t *buf, size_t len) {
    if (buf) munmap(buf, len);
}

/* --- atomic writes --------------------------------------------------------------- */

octic_status octic_atomic_open(octic_atomic_file *f, const char *path) {
    f->fd = -1;
    f->path = path;
    size_t n = strlen(path);
    f->tmp = malloc(n + sizeof ".tmp-XXXXXX");
    if (!f->tmp) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
    memcpy(f->tmp, path, n);
    memcpy(f->tmp + n, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        int e = errno;
        free(f->tmp);
        f->tmp = NULL;
        return octic_fail(OCTIC_ERR_IO, "%s: cannot create a temporary file to write: %s",
                          path, strerror(e));
    }
    /* mkstemp makes the file 0600; a saved checkpoint is an ordinary file. */
    (void)fchmod(f->fd, 0644);
    return OCTIC_OK;
}

void octic_atomic_abort(octic_atomic_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp) unlink(f->tmp);
    free(f->tmp);
    f->tmp = NULL;
}

static octic_status write_failed(octic_atomic_file *f, const char *what, int e) {
    octic_atomic_abort(f);
    return octic_fail(OCTIC_ERR_IO, "%s: %s: %s", f->path, what, strerror(e));
}

octic_status octic_atomic_write(octic_atomic_file *f, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        /* write() returning 0 for a non-empty buffer means no progress:
         * treat it like a full disk rather than looping. */
        if (n <= 0) return write_failed(f, "write failed", n < 0 ? errno : ENOSPC);
        p += n;
        len -= (size_t)n;
    }
    return OCTIC_OK;
}

/* Makes the rename itself durable; best effort (some filesystems refuse). */
static void sync_parent_dir(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

octic_status octic_atomic_commit(octic_atomic_file *f) {
    if (fsync(f->fd) != 0) return write_failed(f, "fsync failed", errno);
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0) return write_failed(f, "close failed", errno);
    if (rename(f->tmp, f->path) != 0)
        return write_failed(f, "cannot rename the temporary file", errno);
    free(f->tmp);
    f->tmp = NULL;
    sync_parent_dir(f->path);
    return OCTIC_OK;
}

/* --- dispatch ------------------------------------------------------------------ */

octic_status octic_checkpoint_load(const char *path, octic_tensor_set *out) {
    octic_tensor_set_init(out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return octic_fail(OCTIC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char magic[4] = {0};
    ssize_t n;
    do {
        n = read(fd, magic, sizeof magic);
    } while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0) return octic_fail(OCTIC_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    if (n == 4 && memcmp(magic, "PK\x03\x04", 4) == 0) return octic_pth_load(path, out);
    return octic_safetensors_load(path, out);
}
