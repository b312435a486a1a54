/* Status codes and the last error message of the engine.
 *
 * Engine functions never exit the process: they return an octic_status and,
 * on failure, leave a one-line message (naming the file, the tensor, what was
 * expected and what was found) in a thread-local buffer read by
 * octic_last_error(). */
#ifndef OCTIC_ERROR_H
#define OCTIC_ERROR_H

typedef enum {
    OCTIC_OK = 0,
    OCTIC_ERR_IO,          /* open/read/write/mmap failed */
    OCTIC_ERR_FORMAT,      /* the file is not what it claims to be, or is truncated */
    OCTIC_ERR_UNSUPPORTED, /* well-formed, but something we do not handle (dtype, layout) */
    OCTIC_ERR_MISSING,     /* a required tensor or key is absent */
    OCTIC_ERR_SHAPE,       /* a tensor has the wrong shape */
    OCTIC_ERR_ARG,         /* a caller passed something impossible (image size, block index) */
    OCTIC_ERR_NOMEM,
} octic_status;

/* Sets the message (printf-style) and returns `status`, so callers can write
 * `return octic_fail(OCTIC_ERR_FORMAT, "%s: truncated", path);` */
octic_status octic_fail(octic_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with "<prefix>: " (for adding a file name
 * at an outer level). Returns `status`. */
octic_status octic_fail_prefix(octic_status status, const char *prefix);

const char *octic_last_error(void);
const char *octic_status_name(octic_status status);

#endif
