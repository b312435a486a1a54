/* numpy .npy files of records and strings: the ImageNet "extra" files of
 * DINOv2 (entries-*.npy: actual_index <u4, class_index <u4, class_id U<n>,
 * class_name U<n>; class-ids-*.npy and class-names-*.npy: U<n>).
 *
 * One-dimensional, C order, little-endian. A field is an integer ('<u4',
 * '<i4', '<u8', '<i8', '|u1') or a UTF-32 string ('<U<n>': n code points,
 * NUL-padded). A plain (non-structured) array is read as one field with an
 * empty name. The engine's npy.c handles float32 tensors; this one handles
 * what it does not. */
#ifndef OCTIC_NPY_RECORDS_H
#define OCTIC_NPY_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define OCTIC_NPYREC_MAX_FIELDS 16

typedef struct {
    char name[64];
    char kind;     /* 'u', 'i' (integers) or 'U' (UTF-32 string) */
    int size;      /* bytes for integers (1, 4 or 8); code points for strings */
    size_t offset; /* byte offset inside a record */
} octic_npyrec_field;

typedef struct {
    int structured;       /* 1: the descr was a list of fields */
    int nfields;
    octic_npyrec_field fields[OCTIC_NPYREC_MAX_FIELDS];
    size_t count;         /* records */
    size_t itemsize;      /* bytes per record */
    const uint8_t *data;  /* count * itemsize bytes */
    uint8_t *owned;       /* what to free (the file's contents), or NULL */
    size_t owned_len;
} octic_npyrec;

/* Parses a .npy in memory; out->data points into buf (not copied). Errors
 * name `name`, what was expected and what was found. */
octic_status octic_npyrec_parse(const uint8_t *buf, size_t len, const char *name, octic_npyrec *out);
/* Reads a file (kept in memory until octic_npyrec_free). */
octic_status octic_npyrec_load(const char *path, octic_npyrec *out);
void octic_npyrec_free(octic_npyrec *r);

/* Index of the field called name, or -1. */
int octic_npyrec_find(const octic_npyrec *r, const char *name);
/* Integer field f of record i (sign-extended for 'i'). */
uint64_t octic_npyrec_uint(const octic_npyrec *r, size_t i, int f);
/* String field f of record i as UTF-8 into out (cap bytes, NUL-terminated;
 * trailing NULs dropped as numpy does). Fails on a code point that is not
 * Unicode (surrogates, > U+10FFFF) or when out is too small (4 * size + 1
 * always suffices). */
octic_status octic_npyrec_string(const octic_npyrec *r, size_t i, int f, char *out, size_t cap);

/* Writing: the same bytes numpy 1.24's np.save writes (header version 1.0
 * padded to 64 bytes, with its room for the first axis to grow). Fields as
 * in a read; offsets are packed in order. data: count records of the packed
 * itemsize; strings are UTF-32LE. Atomic (temporary file + rename). */
octic_status octic_npyrec_write(const char *path, int structured, const octic_npyrec_field *fields,
                                int nfields, size_t count, const void *data);
/* The same with records produced one at a time: fill(ctx, i, record) writes
 * record i (itemsize bytes, zeroed before the call), so that a large array
 * never has to be in memory at once. */
octic_status octic_npyrec_write_fn(const char *path, int structured, const octic_npyrec_field *fields,
                                   int nfields, size_t count,
                                   void (*fill)(void *ctx, size_t i, uint8_t *record), void *ctx);
/* The itemsize of packed fields (and fills their offsets). */
size_t octic_npyrec_pack(octic_npyrec_field *fields, int nfields);

/* UTF-8 -> UTF-32 into out[width] (NUL-padded, truncated to width code
 * points as numpy does). Returns the number of code points of s (before
 * truncation), or -1 when s is not valid UTF-8. */
long octic_utf8_to_utf32(const char *s, uint32_t *out, size_t width);
/* Code points of a UTF-8 string (Python's len()), or -1 when invalid. */
long octic_utf8_length(const char *s);

#endif
