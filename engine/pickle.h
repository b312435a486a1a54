/* A pickle reader for torch.save checkpoints (protocols 2 to 5).
 *
 * It never executes anything: it interprets a fixed set of opcodes and
 * recognises a fixed set of globals (collections.OrderedDict, the torch
 * storage types and tensor rebuild functions). Every other global becomes an
 * opaque value; calling or building it yields an opaque object, which the
 * caller can carry and skip. Persistent ids of the form
 * ('storage', storage_type, key, location, numel) become STORAGE values;
 * torch._utils._rebuild_tensor_v2 / _rebuild_parameter become TENSOR values
 * (storage, offset, size, stride). No storage bytes are read here.
 *
 * All values live in the octic_pickle that produced them and are freed
 * together with it, so shared and even cyclic references are harmless. */
#ifndef OCTIC_PICKLE_H
#define OCTIC_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tensor.h"

typedef enum {
    OCTIC_PK_NONE,
    OCTIC_PK_BOOL,
    OCTIC_PK_INT,
    OCTIC_PK_FLOAT,
    OCTIC_PK_STR,
    OCTIC_PK_BYTES,
    OCTIC_PK_TUPLE,
    OCTIC_PK_LIST,    /* also sets and frozensets */
    OCTIC_PK_DICT,    /* items hold key0, value0, key1, value1, ... */
    OCTIC_PK_GLOBAL,  /* a module.name reference (class or function) */
    OCTIC_PK_OPAQUE,  /* anything else: an object, a big int, ... */
    OCTIC_PK_STORAGE, /* a torch storage from a persistent id */
    OCTIC_PK_TENSOR,  /* a view of a storage */
} octic_pk_kind;

/* Storage element types (from torch.<Type>Storage). */
typedef enum {
    OCTIC_DT_UNKNOWN,
    OCTIC_DT_F32,
    OCTIC_DT_F16,
    OCTIC_DT_BF16,
    OCTIC_DT_F64,
    OCTIC_DT_I64,
    OCTIC_DT_I32,
    OCTIC_DT_I16,
    OCTIC_DT_I8,
    OCTIC_DT_U8,
    OCTIC_DT_BOOL,
    OCTIC_DT_C64,
    OCTIC_DT_C128,
} octic_dtype;

typedef struct octic_pk_value octic_pk_value;
struct octic_pk_value {
    octic_pk_kind kind;
    int64_t i;      /* BOOL, INT */
    double f;       /* FLOAT */
    char *s;        /* STR, BYTES (NUL-terminated copy), GLOBAL/OPAQUE: "module.name" */
    int s_borrowed; /* s belongs to another value (or is a literal): not freed */
    size_t len;     /* STR/BYTES: bytes */
    octic_pk_value **items; /* TUPLE, LIST, DICT (2 per entry) */
    size_t n, cap;
    /* STORAGE */
    octic_dtype dtype;
    const char *key; /* the storage's name in the archive (owned by a STR value) */
    int64_t numel;
    /* TENSOR */
    octic_pk_value *storage;
    int64_t offset;
    int ndim;
    int64_t size[OCTIC_MAX_DIMS], stride[OCTIC_MAX_DIMS];
};

typedef struct octic_pickle octic_pickle;

/* Unpickles `buf`. `name` prefixes every error, e.g. "model.pth: data.pkl".
 * On success *root is the unpickled value, owned by *out. */
octic_status octic_pickle_load(const uint8_t *buf, size_t len, const char *name,
                               octic_pickle **out, octic_pk_value **root);
void octic_pickle_free(octic_pickle *pk);

/* Dict lookup by string key (last match wins, as in Python); NULL if absent. */
octic_pk_value *octic_pk_dict_get(const octic_pk_value *dict, const char *key);
const char *octic_pk_kind_name(octic_pk_kind kind);
const char *octic_dtype_name(octic_dtype dt);
size_t octic_dtype_size(octic_dtype dt);

#endif
