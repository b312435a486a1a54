/* A small JSON reader and writer, enough for safetensors headers.
 *
 * The reader builds a tree (objects keep their keys in file order) and is
 * strict: depth, lengths and numbers are bounded, and any malformed input is
 * an error with the byte offset. Numbers are kept as int64 when they are
 * integers, otherwise as double. */
#ifndef OCTIC_JSON_H
#define OCTIC_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define OCTIC_JSON_MAX_DEPTH 64

typedef enum {
    OCTIC_JSON_NULL,
    OCTIC_JSON_BOOL,
    OCTIC_JSON_INT,    /* an integer that fits int64 */
    OCTIC_JSON_NUMBER, /* any other number */
    OCTIC_JSON_STRING,
    OCTIC_JSON_ARRAY,
    OCTIC_JSON_OBJECT,
} octic_json_type;

typedef struct octic_json {
    octic_json_type type;
    int b;
    int64_t i;
    double num;
    char *str;                 /* STRING: NUL-terminated, UTF-8 */
    size_t len;                /* STRING: bytes; ARRAY/OBJECT: items */
    struct octic_json *items;  /* ARRAY/OBJECT values */
    char **keys;               /* OBJECT keys, parallel to items */
} octic_json;

/* Parses exactly one JSON value (surrounding whitespace allowed). On error
 * the message is "<name>: <what> at offset N". */
octic_status octic_json_parse(const char *text, size_t len, const char *name, octic_json *out);
void octic_json_free(octic_json *v);
/* The value of `key` in an object, or NULL (first match). */
const octic_json *octic_json_get(const octic_json *obj, const char *key);

/* A growable byte buffer for writing JSON. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed; /* set when an allocation failed; later appends do nothing */
} octic_json_buf;

void octic_jbuf_raw(octic_json_buf *b, const char *s, size_t n);
void octic_jbuf_cstr(octic_json_buf *b, const char *s);
void octic_jbuf_string(octic_json_buf *b, const char *s); /* quoted and escaped */
void octic_jbuf_int(octic_json_buf *b, int64_t v);
void octic_jbuf_free(octic_json_buf *b);

#endif
