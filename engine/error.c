#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

octic_status octic_fail(octic_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

octic_status octic_fail_prefix(octic_status status, const char *prefix) {
    /* the message is cut at the buffer's size, keeping the prefix whole */
    char tmp[sizeof last_error];
    memcpy(tmp, last_error, sizeof tmp);
    size_t n = (size_t)snprintf(last_error, sizeof last_error, "%s: ", prefix);
    if (n < sizeof last_error) memcpy(last_error + n, tmp, sizeof last_error - n - 1);
    last_error[sizeof last_error - 1] = 0;
    return status;
}

const char *octic_last_error(void) { return last_error; }

const char *octic_status_name(octic_status status) {
    switch (status) {
    case OCTIC_OK: return "ok";
    case OCTIC_ERR_IO: return "i/o error";
    case OCTIC_ERR_FORMAT: return "bad format";
    case OCTIC_ERR_UNSUPPORTED: return "unsupported";
    case OCTIC_ERR_MISSING: return "missing";
    case OCTIC_ERR_SHAPE: return "wrong shape";
    case OCTIC_ERR_ARG: return "bad argument";
    case OCTIC_ERR_NOMEM: return "out of memory";
    }
    return "unknown";
}
