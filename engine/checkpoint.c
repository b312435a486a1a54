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
    f->tmp = NULL;
    f->direct = 0;
    /* a symlink's target (realpath: NULL when there is no file yet) */
    f->target = realpath(path, NULL);
    if (!f->target && !(f->target = strdup(path))) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
    struct stat sb;
    int exists = stat(f->target, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode)) {
        octic_atomic_abort(f);
        return octic_fail(OCTIC_ERR_IO, "%s: cannot write: it is a folder; name a file", path);
    }
    /* a device or a FIFO, or a name under /dev or /proc (/dev/stdout leads to
     * whatever stdout is, a file of the shell's ">>" included): written
     * into, appended to, never replaced */
    if ((exists && !S_ISREG(sb.st_mode)) || strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/proc/", 6) == 0) {
        f->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (f->fd < 0) {
            int e = errno;
            octic_atomic_abort(f);
            return octic_fail(OCTIC_ERR_IO, "%s: cannot open to write: %s", path, strerror(e));
        }
        f->direct = 1;
        return OCTIC_OK;
    }
    size_t n = strlen(f->target);
    f->tmp = malloc(n + sizeof OCTIC_ATOMIC_TMP "XXXXXX");
    if (!f->tmp) {
        octic_atomic_abort(f);
        return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(f->tmp, f->target, n);
    memcpy(f->tmp + n, OCTIC_ATOMIC_TMP "XXXXXX", sizeof OCTIC_ATOMIC_TMP "XXXXXX");
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        int e = errno;
        free(f->tmp);
        f->tmp = NULL;
        octic_atomic_abort(f);
        return octic_fail(OCTIC_ERR_IO, "%s: cannot create a temporary file to write: %s",
                          path, strerror(e));
    }
    /* mkstemp makes the file 0600: a file replaced keeps its mode, a new one
     * is an ordinary 0644 file */
    (void)fchmod(f->fd, exists ? (sb.st_mode & 07777) : 0644);
    return OCTIC_OK;
}

void octic_atomic_abort(octic_atomic_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    if (f->tmp) unlink(f->tmp);
    free(f->tmp);
    f->tmp = NULL;
    free(f->target);
    f->target = NULL;
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
    if (!f->direct && fsync(f->fd) != 0) return write_failed(f, "fsync failed", errno);
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0) return write_failed(f, "close failed", errno);
    if (f->direct) {
        octic_atomic_abort(f); /* frees target; nothing to remove */
        return OCTIC_OK;
    }
    if (rename(f->tmp, f->target) != 0)
        return write_failed(f, "cannot rename the temporary file", errno);
    free(f->tmp);
    f->tmp = NULL;
    sync_parent_dir(f->target);
    free(f->target);
    f->target = NULL;
    return OCTIC_OK;
}

/* --- dispatch ------------------------------------------------------------------ */

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* What a file that is not a checkpoint seems to be, by its first bytes. */
static const char *looks_like(const unsigned char *head, size_t n) {
    if (n >= 3 && memcmp(head, "\xff\xd8\xff", 3) == 0) return " (it is a JPEG image)";
    if (n >= 4 && memcmp(head, "\x89PNG", 4) == 0) return " (it is a PNG image)";
    if (n >= 6 && memcmp(head, "\x93NUMPY", 6) == 0) return " (it is a NumPy .npy array)";
    if (n >= 2 && memcmp(head, "\x1f\x8b", 2) == 0) return " (it is gzip-compressed)";
    if (n >= 2 && head[0] == 0x80 && head[1] <= 5) return " (it is a Python pickle)";
    return "";
}

/* By the first bytes: a zip archive ("PK\3\4", torch.save since PyTorch
 * 1.6) or safetensors (an 8-byte header length, then the JSON header's '{').
 * A file that is neither gets an error that says what was expected, and what
 * the file looks like where that is easy to tell; one named .safetensors
 * that does not look like anything else goes to its reader, whose errors
 * say how it is damaged. */
octic_status octic_checkpoint_load(const char *path, octic_tensor_set *out) {
    octic_tensor_set_init(out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return octic_fail(OCTIC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[16] = {0};
    ssize_t n;
    do {
        n = read(fd, head, sizeof head);
    } while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0) return octic_fail(OCTIC_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    if (n >= 4 && memcmp(head, "PK\x03\x04", 4) == 0) return octic_pth_load(path, out);
    /* (named .safetensors but plainly something else, a JPEG say: said so) */
    if ((n >= 9 && head[8] == '{') || (ends_with(path, ".safetensors") && !*looks_like(head, (size_t)n)))
        return octic_safetensors_load(path, out);
    const char *expected = "expected a PyTorch checkpoint (the zip archive torch.save writes) or a safetensors file";
    if (n == 0) return octic_fail(OCTIC_ERR_FORMAT, "%s: the file is empty: %s", path, expected);
    /* torch.save's legacy format: pickles, the first one PyTorch's magic
     * number 0x1950a86a20f9469cfc6c (protocol 2: PROTO 2, LONG1 of 10 bytes) */
    static const unsigned char legacy[14] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                             0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    if (n >= 14 && memcmp(head, legacy, sizeof legacy) == 0)
        return octic_fail(OCTIC_ERR_UNSUPPORTED,
                          "%s: a PyTorch file in the legacy format (torch.save before PyTorch 1.6, or with "
                          "_use_new_zipfile_serialization=False): %s; load it in PyTorch and save it again "
                          "with torch.save",
                          path, expected);
    const char *looks = looks_like(head, (size_t)n);
    return octic_fail(OCTIC_ERR_FORMAT, "%s: not a checkpoint%s: %s", path, looks, expected);
}
