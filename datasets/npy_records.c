/* Structured and string .npy arrays (see npy_records.h).
 *
 * The header is a Python dict literal, for example
 *   {'descr': [('actual_index', '<u4'), ('class_index', '<u4'),
 *              ('class_id', '<U9'), ('class_name', '<U62')],
 *    'fortran_order': False, 'shape': (1281167,), }
 * of which this reads exactly the subset numpy writes for such arrays. */
#include "npy_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

typedef struct {
    const char *s;
    size_t n, pos;
    const char *name; /* the file, for messages */
} lit;

static void skip_ws(lit *l) {
    while (l->pos < l->n && (l->s[l->pos] == ' ' || l->s[l->pos] == '\t' || l->s[l->pos] == '\n' ||
                             l->s[l->pos] == '\r'))
        l->pos++;
}

static int peek(const lit *l) { return l->pos < l->n ? (unsigned char)l->s[l->pos] : -1; }

static int expect(lit *l, char ch) {
    skip_ws(l);
    if (peek(l) != ch) return 0;
    l->pos++;
    return 1;
}

/* A quoted string without escapes (numpy writes none in these headers). */
static int parse_str(lit *l, char *out, size_t cap) {
    skip_ws(l);
    int q = peek(l);
    if (q != '\'' && q != '"') return 0;
    size_t start = ++l->pos;
    while (l->pos < l->n && l->s[l->pos] != q) {
        if (l->s[l->pos] == '\\') return 0;
        l->pos++;
    }
    if (l->pos >= l->n) return 0;
    size_t len = l->pos - start;
    l->pos++;
    if (len >= cap) return 0;
    memcpy(out, l->s + start, len);
    out[len] = '\0';
    return 1;
}

static octic_status malformed(const lit *l, const char *what) {
    return octic_fail(OCTIC_ERR_FORMAT, "%s: malformed .npy header (%s) at byte %zu of: %.*s", l->name,
                      what, l->pos, (int)(l->n < 160 ? l->n : 160), l->s);
}

/* '<u4', '|u1', '<U9' ... into a field; 0 if not one we read. */
static octic_status parse_dtype(const lit *l, const char *text, octic_npyrec_field *f) {
    char order = text[0];
    char kind = text[0] ? text[1] : 0;
    const char *digits = text[0] && text[1] ? text + 2 : "";
    if (!*digits && !(kind == 'U' && *digits == '\0'))
        return octic_fail(OCTIC_ERR_UNSUPPORTED, "%s: dtype '%s' is not supported", l->name, text);
    long size = 0;
    for (const char *p = digits; *p; p++) {
        if (*p < '0' || *p > '9' || size > 100000000)
            return octic_fail(OCTIC_ERR_UNSUPPORTED, "%s: dtype '%s' is not supported", l->name, text);
        size = size * 10 + (*p - '0');
    }
    if (kind == 'U') {
        /* "<U" without digits is numpy's zero-width string. */
        if (order != '<')
            return octic_fail(OCTIC_ERR_UNSUPPORTED,
                              "%s: dtype '%s': expected little-endian UTF-32 strings ('<U<n>')", l->name,
                              text);
        f->kind = 'U';
        f->size = (int)size;
        return OCTIC_OK;
    }
    if ((kind == 'u' || kind == 'i') &&
        ((size == 1 && (order == '|' || order == '<')) || ((size == 4 || size == 8) && order == '<'))) {
        f->kind = kind;
        f->size = (int)size;
        return OCTIC_OK;
    }
    return octic_fail(OCTIC_ERR_UNSUPPORTED,
                      "%s: dtype '%s' is not supported: expected little-endian integers ('<u4', '<i8', "
                      "...) or UTF-32 strings ('<U<n>')",
                      l->name, text);
}

/* [('name', 'dtype'), ...] */
static octic_status parse_fields(lit *l, octic_npyrec *r) {
    if (!expect(l, '[')) return malformed(l, "expected a list of fields");
    r->structured = 1;
    for (;;) {
        skip_ws(l);
        if (peek(l) == ']') {
            l->pos++;
            break;
        }
        if (r->nfields == OCTIC_NPYREC_MAX_FIELDS)
            return octic_fail(OCTIC_ERR_UNSUPPORTED, "%s: more than %d fields", l->name,
                              OCTIC_NPYREC_MAX_FIELDS);
        octic_npyrec_field *f = &r->fields[r->nfields];
        char dtype[32];
        if (!expect(l, '(')) return malformed(l, "expected a (name, dtype) tuple");
        if (!parse_str(l, f->name, sizeof f->name)) return malformed(l, "expected a field name");
        if (!expect(l, ',')) return malformed(l, "expected ','");
        skip_ws(l);
        if (peek(l) == '[' || peek(l) == '(')
            return octic_fail(OCTIC_ERR_UNSUPPORTED, "%s: field '%s' is itself structured: not supported",
                              l->name, f->name);
        if (!parse_str(l, dtype, sizeof dtype)) return malformed(l, "expected a dtype string");
        skip_ws(l);
        if (peek(l) == ',') {
            l->pos++;
            skip_ws(l);
            if (peek(l) != ')')
                return octic_fail(OCTIC_ERR_UNSUPPORTED, "%s: field '%s' has a sub-array shape: not supported",
                                  l->name, f->name);
        }
        if (!expect(l, ')')) return malformed(l, "expected ')'");
        octic_status st = parse_dtype(l, dtype, f);
        if (st) return st;
        for (int j = 0; j < r->nfields; j++)
            if (strcmp(r->fields[j].name, f->name) == 0) return malformed(l, "a field name repeats");
        r->nfields++;
        skip_ws(l);
        if (peek(l) == ',') l->pos++;
        else if (peek(l) != ']') return malformed(l, "expected ',' or ']'");
    }
    if (r->nfields == 0) return malformed(l, "no fields");
    return OCTIC_OK;
}

static octic_status parse_header(lit *l, octic_npyrec *r, int *fortran, int *ndim, uint64_t *count) {
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    if (!expect(l, '{')) return malformed(l, "expected a dict");
    for (;;) {
        skip_ws(l);
        if (peek(l) == '}') break;
        char key[32];
        if (!parse_str(l, key, sizeof key)) return malformed(l, "expected a key");
        if (!expect(l, ':')) return malformed(l, "expected ':'");
        skip_ws(l);
        octic_status st;
        if (strcmp(key, "descr") == 0 && !have_descr) {
            have_descr = 1;
            if (peek(l) == '[') {
                st = parse_fields(l, r);
            } else {
                char dtype[32];
                if (!parse_str(l, dtype, sizeof dtype)) return malformed(l, "expected a dtype");
                r->nfields = 1;
                st = parse_dtype(l, dtype, &r->fields[0]);
            }
            if (st) return st;
        } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
            have_fortran = 1;
            if (l->n - l->pos >= 4 && memcmp(l->s + l->pos, "True", 4) == 0) {
                *fortran = 1;
                l->pos += 4;
            } else if (l->n - l->pos >= 5 && memcmp(l->s + l->pos, "False", 5) == 0) {
                l->pos += 5;
            } else {
                return malformed(l, "fortran_order must be True or False");
            }
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            have_shape = 1;
            if (!expect(l, '(')) return malformed(l, "expected a shape tuple");
            *ndim = 0;
            *count = 1;
            for (;;) {
                skip_ws(l);
                if (peek(l) == ')') {
                    l->pos++;
                    break;
                }
                if (!(peek(l) >= '0' && peek(l) <= '9')) return malformed(l, "expected a dimension");
                uint64_t v = 0;
                while (peek(l) >= '0' && peek(l) <= '9') {
                    if (v > (UINT64_MAX - 9) / 10) return malformed(l, "dimension overflows");
                    v = v * 10 + (uint64_t)(peek(l) - '0');
                    l->pos++;
                }
                if (v && *count > UINT64_MAX / v) return malformed(l, "shape overflows");
                *count *= v;
                (*ndim)++;
                skip_ws(l);
                if (peek(l) == ',') l->pos++;
                else if (peek(l) != ')') return malformed(l, "expected ',' or ')'");
            }
        } else {
            return malformed(l, "unexpected or repeated key");
        }
        skip_ws(l);
        if (peek(l) == ',') {
            l->pos++;
            continue;
        }
        if (peek(l) == '}') break;
        return malformed(l, "expected ',' or '}'");
    }
    if (!have_descr || !have_fortran || !have_shape)
        return malformed(l, "needs 'descr', 'fortran_order' and 'shape'");
    return OCTIC_OK;
}

size_t octic_npyrec_pack(octic_npyrec_field *fields, int nfields) {
    size_t off = 0;
    for (int i = 0; i < nfields; i++) {
        fields[i].offset = off;
        off += fields[i].kind == 'U' ? (size_t)fields[i].size * 4 : (size_t)fields[i].size;
    }
    return off;
}

octic_status octic_npyrec_parse(const uint8_t *buf, size_t len, const char *name, octic_npyrec *out) {
    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: not a .npy file: no \\x93NUMPY magic", name);
    size_t hlen, start;
    if (buf[6] == 1) {
        hlen = buf[8] | ((size_t)buf[9] << 8);
        start = 10;
    } else if (buf[6] == 2 || buf[6] == 3) {
        if (len < 12) return octic_fail(OCTIC_ERR_FORMAT, "%s: truncated .npy header", name);
        hlen = buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) | ((size_t)buf[11] << 24);
        start = 12;
    } else {
        return octic_fail(OCTIC_ERR_UNSUPPORTED, "%s: .npy format version %d.%d: expected 1.0, 2.0 or 3.0",
                          name, buf[6], buf[7]);
    }
    if (hlen > len - start)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: truncated .npy header: %zu bytes announced, %zu in the file",
                          name, hlen, len - start);
    lit l = {(const char *)buf + start, hlen, 0, name};
    int fortran = 0, ndim = 0;
    uint64_t count = 0;
    octic_status st = parse_header(&l, out, &fortran, &ndim, &count);
    if (st) {
        memset(out, 0, sizeof *out);
        return st;
    }
    if (ndim != 1) {
        memset(out, 0, sizeof *out);
        return octic_fail(OCTIC_ERR_SHAPE, "%s: a %d-dimensional array: expected one dimension (a list of records)",
                          name, ndim);
    }
    (void)fortran; /* one dimension: both orders are the same bytes */
    out->itemsize = octic_npyrec_pack(out->fields, out->nfields);
    size_t have = len - start - hlen;
    if (out->itemsize && count > have / out->itemsize) {
        size_t itemsize = out->itemsize;
        memset(out, 0, sizeof *out);
        return octic_fail(OCTIC_ERR_FORMAT, "%s: truncated: %llu records of %zu bytes announced, %zu bytes of data",
                          name, (unsigned long long)count, itemsize, have);
    }
    if (out->itemsize == 0 && count > ((uint64_t)1 << 24)) {
        memset(out, 0, sizeof *out);
        return octic_fail(OCTIC_ERR_FORMAT, "%s: %llu records of 0 bytes: at most %d of them make sense", name,
                          (unsigned long long)count, 1 << 24);
    }
    out->count = (size_t)count;
    out->data = buf + start + hlen;
    return OCTIC_OK;
}

octic_status octic_npyrec_load(const char *path, octic_npyrec *out) {
    memset(out, 0, sizeof *out);
    uint8_t *map;
    size_t len;
    octic_status st = octic_file_map(path, &map, &len);
    if (st) return st;
    /* A private copy, so the record set does not depend on the file staying
     * as it is (these files are small: 1.28 M entries are ~100 MB at most). */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        octic_file_unmap(map, len);
        return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
    }
    if (len) memcpy(copy, map, len);
    octic_file_unmap(map, len);
    st = octic_npyrec_parse(copy, len, path, out);
    if (st) {
        free(copy);
        return st;
    }
    out->owned = copy;
    out->owned_len = len;
    return OCTIC_OK;
}

void octic_npyrec_free(octic_npyrec *r) {
    if (!r) return;
    free(r->owned);
    memset(r, 0, sizeof *r);
}

int octic_npyrec_find(const octic_npyrec *r, const char *name) {
    for (int i = 0; i < r->nfields; i++)
        if (strcmp(r->fields[i].name, name) == 0) return i;
    return -1;
}

uint64_t octic_npyrec_uint(const octic_npyrec *r, size_t i, int f) {
    const octic_npyrec_field *fd = &r->fields[f];
    const uint8_t *p = r->data + i * r->itemsize + fd->offset;
    uint64_t v = 0;
    for (int b = fd->size - 1; b >= 0; b--) v = (v << 8) | p[b];
    if (fd->kind == 'i' && fd->size < 8 && (p[fd->size - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * fd->size);
    return v;
}

octic_status octic_npyrec_string(const octic_npyrec *r, size_t i, int f, char *out, size_t cap) {
    const octic_npyrec_field *fd = &r->fields[f];
    const uint8_t *p = r->data + i * r->itemsize + fd->offset;
    size_t n = 0;
    for (int k = 0; k < fd->size; k++) {
        uint32_t c = (uint32_t)p[4 * k] | (uint32_t)p[4 * k + 1] << 8 | (uint32_t)p[4 * k + 2] << 16 |
                     (uint32_t)p[4 * k + 3] << 24;
        if (c == 0) break;
        if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return octic_fail(OCTIC_ERR_FORMAT, "record %zu, field '%s': U+%X is not a Unicode code point", i,
                              fd->name, c);
        uint8_t enc[4];
        size_t m;
        if (c < 0x80) {
            enc[0] = (uint8_t)c;
            m = 1;
        } else if (c < 0x800) {
            enc[0] = (uint8_t)(0xC0 | c >> 6);
            enc[1] = (uint8_t)(0x80 | (c & 0x3F));
            m = 2;
        } else if (c < 0x10000) {
            enc[0] = (uint8_t)(0xE0 | c >> 12);
            enc[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
            enc[2] = (uint8_t)(0x80 | (c & 0x3F));
            m = 3;
        } else {
            enc[0] = (uint8_t)(0xF0 | c >> 18);
            enc[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
            enc[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
            enc[3] = (uint8_t)(0x80 | (c & 0x3F));
            m = 4;
        }
        if (n + m >= cap)
            return octic_fail(OCTIC_ERR_ARG, "record %zu, field '%s': string longer than %zu bytes", i, fd->name,
                              cap);
        memcpy(out + n, enc, m);
        n += m;
    }
    if (cap) out[n] = '\0';
    return OCTIC_OK;
}

/* Decodes one UTF-8 sequence at s; returns its length (0 when invalid). */
static int utf8_next(const unsigned char *s, uint32_t *cp) {
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int m;
    uint32_t c, min;
    if ((s[0] & 0xE0) == 0xC0) {
        m = 2;
        c = s[0] & 0x1F;
        min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        m = 3;
        c = s[0] & 0x0F;
        min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        m = 4;
        c = s[0] & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    for (int k = 1; k < m; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        c = c << 6 | (s[k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return m;
}

long octic_utf8_to_utf32(const char *s, uint32_t *out, size_t width) {
    const unsigned char *p = (const unsigned char *)s;
    long n = 0;
    while (*p) {
        uint32_t c;
        int m = utf8_next(p, &c);
        if (!m) return -1;
        if (out && (size_t)n < width) out[n] = c;
        n++;
        p += m;
    }
    if (out)
        for (size_t k = (size_t)n; k < width; k++) out[k] = 0;
    return n;
}

long octic_utf8_length(const char *s) { return octic_utf8_to_utf32(s, NULL, 0); }

/* Python's repr of a field name or dtype string: numpy's names here are
 * plain identifiers, so quoting is enough. */
static int header_text(char *hdr, size_t cap, int structured, const octic_npyrec_field *fields, int nfields,
                       size_t count) {
    char dt[OCTIC_NPYREC_MAX_FIELDS][32];
    for (int i = 0; i < nfields; i++) {
        const octic_npyrec_field *f = &fields[i];
        if (f->kind == 'U') snprintf(dt[i], sizeof dt[i], "<U%d", f->size);
        else snprintf(dt[i], sizeof dt[i], "%c%c%d", f->size == 1 ? '|' : '<', f->kind, f->size);
    }
    size_t n = 0;
#define PUT(...)                                                                                          \
    do {                                                                                                  \
        int w = snprintf(hdr + n, n < cap ? cap - n : 0, __VA_ARGS__);                                    \
        if (w < 0) return -1;                                                                             \
        n += (size_t)w;                                                                                   \
    } while (0)
    PUT("{'descr': ");
    if (structured) {
        PUT("[");
        for (int i = 0; i < nfields; i++) PUT("%s('%s', '%s')", i ? ", " : "", fields[i].name, dt[i]);
        PUT("]");
    } else {
        PUT("'%s'", dt[0]);
    }
    char shape[32];
    int slen = snprintf(shape, sizeof shape, "%zu", count);
    PUT(", 'fortran_order': False, 'shape': (%s,), }", shape);
    /* numpy leaves room for the first axis to grow to 21 digits. */
    for (int k = slen; k < 21; k++) PUT(" ");
#undef PUT
    return n < cap ? (int)n : -1;
}

static octic_status write_records(const char *path, int structured, const octic_npyrec_field *fields,
                                  int nfields, size_t count, const void *data,
                                  void (*fill)(void *ctx, size_t i, uint8_t *record), void *ctx) {
    if (nfields < 1 || nfields > OCTIC_NPYREC_MAX_FIELDS || (!structured && nfields != 1))
        return octic_fail(OCTIC_ERR_ARG, "%s: %d fields", path, nfields);
    for (int i = 0; i < nfields; i++) {
        const octic_npyrec_field *f = &fields[i];
        int ok = f->kind == 'U' ? f->size >= 0
                                : (f->kind == 'u' || f->kind == 'i') && (f->size == 1 || f->size == 4 || f->size == 8);
        for (const char *c = f->name; *c; c++)
            if (*c == '\'' || *c == '\\' || (unsigned char)*c < 0x20) ok = 0;
        if (!ok) return octic_fail(OCTIC_ERR_ARG, "%s: field %d cannot be written", path, i);
    }
    octic_npyrec_field packed[OCTIC_NPYREC_MAX_FIELDS];
    memcpy(packed, fields, sizeof *fields * (size_t)nfields);
    size_t itemsize = octic_npyrec_pack(packed, nfields);
    char hdr[4096];
    int n = header_text(hdr, sizeof hdr - 80, structured, packed, nfields, count);
    if (n < 0) return octic_fail(OCTIC_ERR_ARG, "%s: header too long", path);
    /* Version 1.0: magic (6), version (2), length (2), then the text padded
     * with spaces and a newline to a multiple of 64 bytes in all. */
    size_t total = 10 + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    uint8_t head[10 + sizeof hdr];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (uint8_t)((padded - 10) & 0xff);
    head[9] = (uint8_t)((padded - 10) >> 8);
    memcpy(head + 10, hdr, (size_t)n);
    memset(head + 10 + n, ' ', padded - total);
    head[padded - 1] = '\n';
    if (itemsize && count > SIZE_MAX / itemsize) return octic_fail(OCTIC_ERR_ARG, "%s: too many records", path);
    size_t bytes = count * itemsize;
    if (bytes && !data && !fill) return octic_fail(OCTIC_ERR_ARG, "%s: no data", path);
    octic_atomic_file af;
    octic_status st = octic_atomic_open(&af, path);
    if (!st) st = octic_atomic_write(&af, head, padded);
    if (!st && bytes && data) st = octic_atomic_write(&af, data, bytes);
    if (!st && bytes && fill) {
        /* Records in chunks of about 1 MB. */
        size_t per = itemsize >= (1 << 20) ? 1 : (1 << 20) / itemsize;
        uint8_t *chunk = malloc(per * itemsize);
        if (!chunk) {
            octic_atomic_abort(&af);
            return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
        }
        for (size_t i = 0; !st && i < count; i += per) {
            size_t m = count - i < per ? count - i : per;
            memset(chunk, 0, m * itemsize);
            for (size_t k = 0; k < m; k++) fill(ctx, i + k, chunk + k * itemsize);
            st = octic_atomic_write(&af, chunk, m * itemsize);
        }
        free(chunk);
    }
    if (!st) st = octic_atomic_commit(&af);
    return st;
}

octic_status octic_npyrec_write(const char *path, int structured, const octic_npyrec_field *fields,
                                int nfields, size_t count, const void *data) {
    return write_records(path, structured, fields, nfields, count, data, NULL, NULL);
}

octic_status octic_npyrec_write_fn(const char *path, int structured, const octic_npyrec_field *fields,
                                   int nfields, size_t count,
                                   void (*fill)(void *ctx, size_t i, uint8_t *record), void *ctx) {
    return write_records(path, structured, fields, nfields, count, NULL, fill, ctx);
}
