/* numpy .npy arrays, float32 only.
 *
 * Format: "\x93NUMPY", major, minor, header length (2 bytes in version 1.0,
 * 4 in 2.0/3.0, little-endian), then a Python dict literal such as
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and a newline, then the raw data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fileio.h"

#define EXPECTED "expected float32 ('<f4'), little-endian, C order"

typedef struct {
    const char *s;
    size_t n, pos;
} lit;

typedef struct {
    char descr[64]; /* the dtype as written, for messages */
    int have_descr, have_fortran, have_shape;
    int fortran;
    int ndim;
    int64_t shape[OCTIC_MAX_DIMS];
} npy_header;

static void skip_ws(lit *l) {
    while (l->pos < l->n && (l->s[l->pos] == ' ' || l->s[l->pos] == '\t' ||
                             l->s[l->pos] == '\n' || l->s[l->pos] == '\r'))
        l->pos++;
}

static int peek(lit *l) { return l->pos < l->n ? (unsigned char)l->s[l->pos] : -1; }

/* A quoted Python string without escapes (numpy never writes any here). */
static int parse_str(lit *l, char *out, size_t cap) {
    int q = peek(l);
    if (q != '\'' && q != '"') return 0;
    size_t start = ++l->pos;
    while (l->pos < l->n && l->s[l->pos] != q) l->pos++;
    if (l->pos >= l->n) return 0;
    size_t len = l->pos - start;
    l->pos++;
    if (len >= cap) len = cap - 1;
    memcpy(out, l->s + start, len);
    out[len] = '\0';
    return 1;
}

/* Any other value (a structured dtype's list, say): skipped to its end,
 * keeping its text for messages. */
static int skip_value(lit *l, char *out, size_t cap) {
    size_t start = l->pos;
    int depth = 0;
    while (l->pos < l->n) {
        char ch = l->s[l->pos];
        if (ch == '\'' || ch == '"') {
            char tmp[2];
            if (!parse_str(l, tmp, sizeof tmp)) return 0;
            continue;
        }
        if (depth == 0 && (ch == ',' || ch == '}')) break;
        if (ch == '(' || ch == '[' || ch == '{') depth++;
        if (ch == ')' || ch == ']' || ch == '}') depth--;
        if (depth < 0) return 0;
        l->pos++;
    }
    if (depth != 0 || l->pos >= l->n) return 0;
    size_t len = l->pos - start;
    while (len && (l->s[start + len - 1] == ' ')) len--;
    if (out) {
        if (len >= cap) len = cap - 1;
        memcpy(out, l->s + start, len);
        out[len] = '\0';
    }
    return 1;
}

static int parse_shape(lit *l, npy_header *h) {
    if (peek(l) != '(') return 0;
    l->pos++;
    h->ndim = 0;
    for (;;) {
        skip_ws(l);
        if (peek(l) == ')') { l->pos++; return 1; }
        if (!(peek(l) >= '0' && peek(l) <= '9')) return 0;
        int64_t v = 0;
        while (peek(l) >= '0' && peek(l) <= '9') {
            if (v > (INT64_MAX - 9) / 10) return 0;
            v = v * 10 + (peek(l) - '0');
            l->pos++;
        }
        if (h->ndim == OCTIC_MAX_DIMS) return -1;
        h->shape[h->ndim++] = v;
        skip_ws(l);
        if (peek(l) == ',') l->pos++;
        else if (peek(l) != ')') return 0;
    }
}

static octic_status malformed(const char *name, const char *text, size_t n, const char *what) {
    return octic_fail(OCTIC_ERR_FORMAT, "%s: malformed .npy header (%s): %.*s", name, what,
                      (int)(n < 120 ? n : 120), text);
}

static octic_status parse_dict(const char *name, const char *text, size_t n, npy_header *h) {
    lit l = {text, n, 0};
    skip_ws(&l);
    if (peek(&l) != '{') return malformed(name, text, n, "expected a dict");
    l.pos++;
    for (;;) {
        skip_ws(&l);
        if (peek(&l) == '}') break;
        char key[32];
        if (!parse_str(&l, key, sizeof key)) return malformed(name, text, n, "expected a key");
        skip_ws(&l);
        if (peek(&l) != ':') return malformed(name, text, n, "expected ':'");
        l.pos++;
        skip_ws(&l);
        int ok;
        if (strcmp(key, "descr") == 0) {
            ok = parse_str(&l, h->descr, sizeof h->descr) ||
                 skip_value(&l, h->descr, sizeof h->descr);
            h->have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            ok = 1;
            if (l.n - l.pos >= 4 && memcmp(l.s + l.pos, "True", 4) == 0) {
                h->fortran = 1;
                l.pos += 4;
            } else if (l.n - l.pos >= 5 && memcmp(l.s + l.pos, "False", 5) == 0) {
                l.pos += 5;
            } else {
                ok = 0;
            }
            h->have_fortran = 1;
        } else if (strcmp(key, "shape") == 0) {
            ok = parse_shape(&l, h);
            if (ok < 0)
                return octic_fail(OCTIC_ERR_UNSUPPORTED,
                                  "%s: array has more than %d dimensions", name, OCTIC_MAX_DIMS);
            h->have_shape = 1;
        } else {
            ok = skip_value(&l, NULL, 0);
        }
        if (!ok) return malformed(name, text, n, "bad value");
        skip_ws(&l);
        if (peek(&l) == ',') { l.pos++; continue; }
        if (peek(&l) == '}') break;
        return malformed(name, text, n, "expected ',' or '}'");
    }
    if (!h->have_descr || !h->have_fortran || !h->have_shape)
        return malformed(name, text, n, "needs 'descr', 'fortran_order' and 'shape'");
    return OCTIC_OK;
}

octic_status octic_npy_load_memory(const uint8_t *buf, size_t len, const char *name,
                                   octic_array *out) {
    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: not a .npy file: no \\x93NUMPY magic", name);
    int major = buf[6];
    size_t hlen, start;
    if (major == 1) {
        hlen = buf[8] | ((size_t)buf[9] << 8);
        start = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return octic_fail(OCTIC_ERR_FORMAT, "%s: truncated .npy header", name);
        hlen = buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) | ((size_t)buf[11] << 24);
        start = 12;
    } else {
        return octic_fail(OCTIC_ERR_UNSUPPORTED,
                          "%s: .npy format version %d.%d: expected 1.0, 2.0 or 3.0", name, major,
                          buf[7]);
    }
    if (hlen > len - start)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: truncated .npy header: %zu bytes announced, %zu in the file", name,
                          hlen, len - start);
    npy_header h = {0};
    octic_status st = parse_dict(name, (const char *)buf + start, hlen, &h);
    if (st) return st;
    if (strcmp(h.descr, "<f4") != 0)
        return octic_fail(OCTIC_ERR_UNSUPPORTED, "%s: dtype '%s' is not supported: " EXPECTED,
                          name, h.descr);
    if (h.fortran)
        return octic_fail(OCTIC_ERR_UNSUPPORTED,
                          "%s: fortran_order True is not supported: " EXPECTED, name);
    int64_t numel = 1;
    for (int i = 0; i < h.ndim; i++)
        if (__builtin_mul_overflow(numel, h.shape[i], &numel) || numel > INT64_MAX / 4)
            return octic_fail(OCTIC_ERR_FORMAT, "%s: shape overflows", name);
    size_t have = len - start - hlen;
    char shape[160];
    if ((uint64_t)numel * 4 > have)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: truncated: shape %s of float32 needs %lld bytes of data, found %zu",
                          name, octic_shape_str(shape, sizeof shape, h.shape, h.ndim),
                          (long long)numel * 4, have);
    out->data = malloc((size_t)(numel ? numel : 1) * sizeof(float));
    if (!out->data) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", name);
    memcpy(out->data, buf + start + hlen, (size_t)numel * sizeof(float));
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof h.shape);
    return OCTIC_OK;
}

octic_status octic_npy_load(const char *path, octic_array *out) {
    memset(out, 0, sizeof *out);
    uint8_t *buf;
    size_t len;
    octic_status st = octic_file_map(path, &buf, &len);
    if (st) return st;
    st = octic_npy_load_memory(buf, len, path, out);
    octic_file_unmap(buf, len);
    return st;
}

octic_status octic_npy_save(const char *path, const float *data, int ndim, const int64_t *shape) {
    if (ndim < 0 || ndim > OCTIC_MAX_DIMS)
        return octic_fail(OCTIC_ERR_ARG, "%s: %d dimensions: at most %d supported", path, ndim,
                          OCTIC_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) return octic_fail(OCTIC_ERR_ARG, "%s: negative dimension", path);
    /* Version 1.0 header, padded so the data starts 64-byte aligned, as
     * numpy itself writes it. */
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; i++)
        n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%lld%s", (long long)shape[i],
                      ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
    n += snprintf(hdr + n, sizeof hdr - (size_t)n, "), }");
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    uint8_t head[10 + sizeof hdr];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    size_t hlen = padded - 10;
    head[8] = (uint8_t)(hlen & 0xff);
    head[9] = (uint8_t)(hlen >> 8);
    memcpy(head + 10, hdr, (size_t)n);
    memset(head + 10 + n, ' ', padded - total);
    head[padded - 1] = '\n';
    size_t bytes = (size_t)octic_numel(shape, ndim) * sizeof(float);
    if (bytes && !data) return octic_fail(OCTIC_ERR_ARG, "%s: no data", path);
    octic_atomic_file f;
    octic_status st = octic_atomic_open(&f, path);
    if (!st) st = octic_atomic_write(&f, head, padded);
    if (!st && bytes) st = octic_atomic_write(&f, data, bytes);
    if (!st) st = octic_atomic_commit(&f);
    return st;
}

void octic_array_free(octic_array *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}
