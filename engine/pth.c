/* PyTorch torch.save checkpoints: zip + pickle + raw storages.
 *
 * torch.save writes a zip whose entries all live under one folder (the
 * "archive name", e.g. "model/" or "archive/"): data.pkl (the pickled
 * object, where each tensor refers to a storage by key), data/<key> (the raw
 * little-endian storage bytes), version and, in newer versions, byteorder.
 * We unpickle data.pkl without executing it (pickle.c), pick the state dict
 * out of the result, and copy every float tensor out of its storage into a
 * dense float32 array. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fileio.h"
#include "pickle.h"
#include "zip.h"

/* Longer names exist in no real checkpoint. */
#define MAX_NAME 4096

typedef struct {
    const char *name; /* file name for messages */
    octic_zip zip;
    char *prefix;     /* archive folder with its trailing '/', e.g. "model/" */
    int64_t budget;   /* floats we may still allocate (see check_budget) */
    int zero_copy;    /* the buffer outlives the set (a file mapping): dense
                         float32 views may point into it instead of being copied */
    int mapped;       /* some tensor points into the buffer */
} pth_ctx;

/* Keys that hold the state dict in published checkpoints, in priority order. */
static const char *const state_dict_keys[] = {"model", "teacher", "state_dict", "model_ema"};
/* Wrappers that prefix every parameter name: torch.compile, DataParallel /
 * DDP, and DINOv2's backbone inside the student/teacher. */
static const char *const strip_prefixes[] = {"_orig_mod.", "module.", "backbone."};
/* Training-only parts of the model that inference never uses. */
static const char *const drop_prefixes[] = {"dino_head.", "ibot_head.", "mask_token"};

const char *octic_checkpoint_param_name(const char *name) {
    for (int again = 1; again;) {
        again = 0;
        for (size_t i = 0; i < sizeof strip_prefixes / sizeof strip_prefixes[0]; i++) {
            size_t n = strlen(strip_prefixes[i]);
            if (strncmp(name, strip_prefixes[i], n) == 0) {
                name += n;
                again = 1;
            }
        }
    }
    return name;
}

int octic_checkpoint_training_only(const char *name) {
    for (size_t i = 0; i < sizeof drop_prefixes / sizeof drop_prefixes[0]; i++)
        if (strncmp(name, drop_prefixes[i], strlen(drop_prefixes[i])) == 0) return 1;
    return 0;
}

/* Finds "<prefix>data.pkl": the entry naming the archive folder. */
static octic_status find_pickle(pth_ctx *c, const octic_zip_entry **out) {
    for (size_t i = 0; i < c->zip.count; i++) {
        const char *n = c->zip.entries[i].name;
        size_t len = strlen(n);
        if (len >= 8 && strcmp(n + len - 8, "data.pkl") == 0 &&
            (len == 8 || n[len - 9] == '/') && memchr(n, '/', len - 8) == strrchr(n, '/')) {
            c->prefix = malloc(len - 8 + 1);
            if (!c->prefix) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", c->name);
            memcpy(c->prefix, n, len - 8);
            c->prefix[len - 8] = '\0';
            *out = &c->zip.entries[i];
            return OCTIC_OK;
        }
    }
    return octic_fail(OCTIC_ERR_FORMAT,
                      "%s: not a torch.save checkpoint: the zip has %zu entries but no "
                      "'<archive>/data.pkl'",
                      c->name, c->zip.count);
}

static const octic_zip_entry *find_entry(pth_ctx *c, const char *rel, char *full, size_t cap) {
    snprintf(full, cap, "%s%s", c->prefix, rel);
    return octic_zip_find(&c->zip, full);
}

/* Storages are written in the byte order of the saving machine; newer torch
 * records it. Everything we read assumes little-endian. */
static octic_status check_byteorder(pth_ctx *c) {
    char full[512];
    const octic_zip_entry *e = find_entry(c, "byteorder", full, sizeof full);
    if (!e) return OCTIC_OK;
    const uint8_t *d;
    uint64_t n;
    octic_status st = octic_zip_data(&c->zip, e, &d, &n);
    if (st) return st;
    if (n == 6 && memcmp(d, "little", 6) == 0) return OCTIC_OK;
    return octic_fail(OCTIC_ERR_UNSUPPORTED,
                      "%s: storages are saved %.*s-endian ('%s'): expected 'little'", c->name,
                      (int)(n < 16 ? n : 16), (const char *)d, full);
}

/* Where the state dict is: the first of state_dict_keys holding a dict, or
 * the top level if that is a dict with tensor values. */
static octic_status find_state_dict(pth_ctx *c, const octic_pk_value *root,
                                    const octic_pk_value **sd, const char **key) {
    if (root->kind != OCTIC_PK_DICT)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: the checkpoint holds a %s: expected a dict (a state dict, or a "
                          "dict with one under 'model', 'teacher', 'state_dict' or 'model_ema')",
                          c->name, octic_pk_kind_name(root->kind));
    for (size_t i = 0; i < sizeof state_dict_keys / sizeof state_dict_keys[0]; i++) {
        const octic_pk_value *v = octic_pk_dict_get(root, state_dict_keys[i]);
        if (v && v->kind == OCTIC_PK_DICT) {
            *sd = v;
            *key = state_dict_keys[i];
            return OCTIC_OK;
        }
    }
    for (size_t i = 1; i < root->n; i += 2) {
        if (root->items[i]->kind == OCTIC_PK_TENSOR) {
            *sd = root;
            *key = NULL;
            return OCTIC_OK;
        }
    }
    char keys[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < root->n && used < sizeof keys - 1; i += 2) {
        const octic_pk_value *k = root->items[i];
        used += (size_t)snprintf(keys + used, sizeof keys - used, "%s'%s'", i ? ", " : "",
                                 k->kind == OCTIC_PK_STR ? k->s : octic_pk_kind_name(k->kind));
    }
    return octic_fail(OCTIC_ERR_MISSING,
                      "%s: no state dict found: expected tensors at the top level or a dict "
                      "under 'model', 'teacher', 'state_dict' or 'model_ema'; found keys: %s",
                      c->name, root->n ? keys : "(none)");
}

static int mul_ok(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

static float load_elem(const uint8_t *p, octic_dtype dt) {
    if (dt == OCTIC_DT_F32) {
        float f;
        memcpy(&f, p, sizeof f);
        return f;
    }
    if (dt == OCTIC_DT_F64) { /* rounded to nearest, as tensor.float() does */
        double d;
        memcpy(&d, p, sizeof d);
        return (float)d;
    }
    uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    return dt == OCTIC_DT_F16 ? octic_f16_to_f32(h) : octic_bf16_to_f32(h);
}

/* Copies a strided view to dense C order: an odometer over all dimensions
 * but the last, which is one strided run. */
static void gather(const uint8_t *base, octic_dtype dt, const octic_pk_value *t, float *out) {
    size_t es = octic_dtype_size(dt);
    int nd = t->ndim;
    int64_t inner = nd ? t->size[nd - 1] : 1, istride = nd ? t->stride[nd - 1] : 1;
    int64_t idx[OCTIC_MAX_DIMS] = {0};
    for (;;) {
        int64_t start = t->offset;
        for (int d = 0; d < nd - 1; d++) start += idx[d] * t->stride[d];
        if (dt == OCTIC_DT_F32 && istride == 1) {
            memcpy(out, base + (size_t)start * es, (size_t)inner * sizeof(float));
        } else {
            for (int64_t j = 0; j < inner; j++)
                out[j] = load_elem(base + (size_t)(start + j * istride) * es, dt);
        }
        out += inner;
        int d = nd - 2;
        while (d >= 0 && ++idx[d] == t->size[d]) idx[d--] = 0;
        if (d < 0) return;
    }
}

/* A float32 view in C order over its storage, aligned for float access:
 * usable in place. */
static int dense_f32(const octic_pk_value *t, const uint8_t *data) {
    if (t->storage->dtype != OCTIC_DT_F32) return 0;
    int64_t expect = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->size[d] != 1 && t->stride[d] != expect) return 0;
        expect *= t->size[d];
    }
    return ((uintptr_t)(data + (size_t)t->offset * sizeof(float)) % sizeof(float)) == 0;
}

/* Checks a tensor's view against its storage, then copies it out, or, for a
 * dense float32 view of a mapped file, points into the file (*owns = 0). */
static octic_status convert(pth_ctx *c, const char *tname, const octic_pk_value *t,
                            float **out, int *owns) {
    const octic_pk_value *s = t->storage;
    char full[1024], shape[160];
    int64_t numel = 1, last = t->offset, step;
    for (int d = 0; d < t->ndim; d++)
        if (!mul_ok(numel, t->size[d], &numel))
            return octic_fail(OCTIC_ERR_FORMAT, "%s: tensor '%s': shape %s overflows", c->name,
                              tname, octic_shape_str(shape, sizeof shape, t->size, t->ndim));
    for (int d = 0; d < t->ndim && numel > 0; d++)
        if (!mul_ok(t->size[d] - 1, t->stride[d], &step) ||
            __builtin_add_overflow(last, step, &last))
            return octic_fail(OCTIC_ERR_FORMAT, "%s: tensor '%s': strides overflow", c->name,
                              tname);
    if (numel > 0 && last >= s->numel)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: tensor '%s' (shape %s, offset %lld) reaches element %lld of a "
                          "storage of %lld elements",
                          c->name, tname, octic_shape_str(shape, sizeof shape, t->size, t->ndim),
                          (long long)t->offset, (long long)last, (long long)s->numel);
    /* Bounded lengths: one long key can be shared by any number of tensors. */
    size_t plen = strnlen(c->prefix, sizeof full), klen = strnlen(s->key, sizeof full);
    if (plen + 5 + klen >= sizeof full)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: tensor '%s': storage key too long", c->name,
                          tname);
    snprintf(full, sizeof full, "%sdata/%s", c->prefix, s->key);
    const octic_zip_entry *e = octic_zip_find(&c->zip, full);
    if (!e)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: tensor '%s': storage '%s' is not in the archive",
                          c->name, tname, full);
    const uint8_t *data;
    uint64_t nbytes;
    octic_status st = octic_zip_data(&c->zip, e, &data, &nbytes);
    if (st) return st;
    int64_t need;
    if (!mul_ok(s->numel, (int64_t)octic_dtype_size(s->dtype), &need) || (uint64_t)need > nbytes)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: tensor '%s': storage '%s' has %llu bytes: expected %lld %s "
                          "elements",
                          c->name, tname, full, (unsigned long long)nbytes, (long long)s->numel,
                          octic_dtype_name(s->dtype));
    *owns = 1;
    if (c->zero_copy && numel > 0 && dense_f32(t, data)) {
        *out = (float *)(uintptr_t)(data + (size_t)t->offset * sizeof(float)); /* read-only */
        *owns = 0;
        c->mapped = 1;
        return OCTIC_OK;
    }
    /* Views may repeat elements (stride 0), so the dense copy can be larger
     * than the file. Allow what real checkpoints do (tied weights, float16
     * expanded to float32) and refuse a copy out of all proportion. */
    if (numel > c->budget)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: tensor '%s' (shape %s) expands to far more data than the file "
                          "holds",
                          c->name, tname, octic_shape_str(shape, sizeof shape, t->size, t->ndim));
    c->budget -= numel;
    float *buf = malloc((size_t)(numel ? numel : 1) * sizeof(float));
    if (!buf)
        return octic_fail(OCTIC_ERR_NOMEM, "%s: tensor '%s': out of memory for %lld floats",
                          c->name, tname, (long long)numel);
    if (numel > 0) gather(data, s->dtype, t, buf);
    *out = buf;
    return OCTIC_OK;
}

static int is_float(octic_dtype dt) {
    return dt == OCTIC_DT_F32 || dt == OCTIC_DT_F16 || dt == OCTIC_DT_BF16 || dt == OCTIC_DT_F64;
}

/* One state dict entry: kept (converted), ignored (recorded) or skipped. */
static octic_status add_entry(pth_ctx *c, const octic_pk_value *k, const octic_pk_value *v,
                              octic_tensor_set *set) {
    if (k->kind != OCTIC_PK_STR || v->kind != OCTIC_PK_TENSOR) return OCTIC_OK;
    const char *name = octic_checkpoint_param_name(k->s);
    /* Names are copied into the set, and one key string can be used by any
     * number of entries: count their bytes against the budget too. */
    size_t nlen = strnlen(name, MAX_NAME + 1);
    if (nlen > MAX_NAME)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: a tensor name is over %d bytes long", c->name,
                          MAX_NAME);
    if ((int64_t)nlen / 4 + 1 > c->budget)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: the state dict names far more data than the file holds",
                          c->name);
    c->budget -= (int64_t)nlen / 4 + 1;
    if (octic_checkpoint_training_only(name) || !is_float(v->storage->dtype))
        return octic_tensor_set_add_ignored(set, name);
    float *data = NULL;
    int owns = 1;
    octic_status st = convert(c, name, v, &data, &owns);
    if (st) return st;
    st = octic_tensor_set_add(set, name, v->ndim, v->size, data, owns);
    if (st && owns) free(data);
    return st;
}

static octic_status load_state_dict(pth_ctx *c, const octic_pk_value *root,
                                    octic_tensor_set *set) {
    const octic_pk_value *sd = NULL;
    const char *key = NULL;
    octic_status st = find_state_dict(c, root, &sd, &key);
    if (st) return st;
    if (key && !(set->source_key = strdup(key)))
        return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", c->name);
    for (size_t i = 0; i + 1 < sd->n && !st; i += 2)
        st = add_entry(c, sd->items[i], sd->items[i + 1], set);
    if (st) return st;
    const char *dup = octic_tensor_set_first_duplicate(set);
    if (dup)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: tensor '%s' appears twice in the state dict (after removing the "
                          "prefixes '_orig_mod.', 'module.', 'backbone.')",
                          c->name, dup);
    return OCTIC_OK;
}

/* zero_copy: buf stays valid as long as the set (the caller hands a file
 * mapping to the set when *mapped comes back 1). */
static octic_status load(const uint8_t *buf, size_t len, const char *name, int zero_copy, int *mapped,
                         octic_tensor_set *out) {
    octic_tensor_set_init(out);
    *mapped = 0;
    pth_ctx c = {.name = name, .budget = (int64_t)len + (1 << 24), .zero_copy = zero_copy};
    octic_status st = octic_zip_open(&c.zip, buf, len, name);
    if (st) return st;
    const octic_zip_entry *pkl = NULL;
    const uint8_t *pdata = NULL;
    uint64_t plen = 0;
    octic_pickle *pk = NULL;
    octic_pk_value *root = NULL;
    char pname[1024];
    snprintf(pname, sizeof pname, "%s: data.pkl", name);
    st = find_pickle(&c, &pkl);
    if (!st) st = check_byteorder(&c);
    if (!st) st = octic_zip_data(&c.zip, pkl, &pdata, &plen);
    if (!st) st = octic_pickle_load(pdata, (size_t)plen, pname, &pk, &root);
    if (!st) st = load_state_dict(&c, root, out);
    octic_pickle_free(pk);
    octic_zip_close(&c.zip);
    free(c.prefix);
    if (st) octic_tensor_set_free(out);
    *mapped = !st && c.mapped;
    return st;
}

octic_status octic_pth_load_memory(const uint8_t *buf, size_t len, const char *name,
                                   octic_tensor_set *out) {
    int mapped;
    return load(buf, len, name, 0, &mapped, out);
}

octic_status octic_pth_load(const char *path, octic_tensor_set *out) {
    octic_tensor_set_init(out);
    uint8_t *buf;
    size_t len;
    octic_status st = octic_file_map(path, &buf, &len);
    if (st) return st;
    /* Dense float32 tensors stay in the mapping (no copy); the set then owns
     * it and unmaps it when freed. */
    int mapped = 0;
    st = load(buf, len, path, 1, &mapped, out);
    if (mapped) {
        out->mapping = buf;
        out->mapping_size = len;
    } else {
        octic_file_unmap(buf, len);
    }
    return st;
}
