/* safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 * "__metadata__": {str: str}}), then the raw little-endian tensor bytes, with
 * offsets relative to the start of that data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "fileio.h"
#include "json.h"

/* The reference implementation refuses headers over 100 MB. */
#define MAX_HEADER (100u * 1000 * 1000)

typedef struct {
    const char *name;
    const uint8_t *data; /* start of the byte buffer after the header */
    uint64_t data_len;
    int zero_copy;       /* F32 tensors may point into the buffer */
    int used_buffer;     /* some tensor does */
    int64_t budget;      /* floats we may still produce (overlapping offsets) */
} st_ctx;

static octic_status read_meta(st_ctx *c, const octic_json *meta, octic_tensor_set *set) {
    if (meta->type != OCTIC_JSON_OBJECT)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: __metadata__ is not an object: expected string keys and values",
                          c->name);
    for (size_t i = 0; i < meta->len; i++) {
        if (meta->items[i].type != OCTIC_JSON_STRING)
            return octic_fail(OCTIC_ERR_FORMAT,
                              "%s: __metadata__ value of '%s' is not a string", c->name,
                              meta->keys[i]);
        octic_status st = octic_tensor_set_set_meta(set, meta->keys[i], meta->items[i].str);
        if (st) return st;
    }
    return OCTIC_OK;
}

static int dtype_size(const char *dt) {
    if (strcmp(dt, "F32") == 0) return 4;
    if (strcmp(dt, "F16") == 0 || strcmp(dt, "BF16") == 0) return 2;
    if (strcmp(dt, "F64") == 0) return 8;
    return 0;
}

/* Integer and boolean tensors (step counters, BatchNorm's
 * num_batches_tracked) hold no weights: ignored, as the .pth reader does. */
static int not_weights(const char *dt) {
    static const char *const kinds[] = {"I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(dt, kinds[i]) == 0) return 1;
    return 0;
}

static octic_status read_shape(st_ctx *c, const char *tname, const octic_json *shape,
                               int *ndim, int64_t *dims) {
    if (!shape || shape->type != OCTIC_JSON_ARRAY)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: tensor '%s': 'shape' missing or not an array",
                          c->name, tname);
    if (shape->len > OCTIC_MAX_DIMS)
        return octic_fail(OCTIC_ERR_UNSUPPORTED,
                          "%s: tensor '%s' has %zu dimensions: at most %d are supported",
                          c->name, tname, shape->len, OCTIC_MAX_DIMS);
    for (size_t i = 0; i < shape->len; i++) {
        if (shape->items[i].type != OCTIC_JSON_INT || shape->items[i].i < 0)
            return octic_fail(OCTIC_ERR_FORMAT,
                              "%s: tensor '%s': shape entry %zu is not a non-negative integer",
                              c->name, tname, i);
        dims[i] = shape->items[i].i;
    }
    *ndim = (int)shape->len;
    return OCTIC_OK;
}

static octic_status read_tensor(st_ctx *c, const char *tname, const octic_json *info,
                                octic_tensor_set *set) {
    if (info->type != OCTIC_JSON_OBJECT)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: tensor '%s': header entry is not an object",
                          c->name, tname);
    const octic_json *dt = octic_json_get(info, "dtype");
    const octic_json *offs = octic_json_get(info, "data_offsets");
    if (!dt || dt->type != OCTIC_JSON_STRING)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: tensor '%s': 'dtype' missing or not a string",
                          c->name, tname);
    /* as the .pth reader: wrappers' prefixes off, training-only parts and
     * integer buffers listed as ignored */
    const char *pname = octic_checkpoint_param_name(tname);
    if (octic_checkpoint_training_only(pname) || not_weights(dt->str))
        return octic_tensor_set_add_ignored(set, pname);
    int es = dtype_size(dt->str);
    if (!es)
        return octic_fail(OCTIC_ERR_UNSUPPORTED,
                          "%s: tensor '%s' has dtype %s: expected F32, F16, BF16 or F64", c->name,
                          tname, dt->str);
    int ndim = 0;
    int64_t dims[OCTIC_MAX_DIMS], numel = 1;
    octic_status st = read_shape(c, tname, octic_json_get(info, "shape"), &ndim, dims);
    if (st) return st;
    for (int i = 0; i < ndim; i++)
        if (__builtin_mul_overflow(numel, dims[i], &numel) || numel > INT64_MAX / 8)
            return octic_fail(OCTIC_ERR_FORMAT, "%s: tensor '%s': shape overflows", c->name,
                              tname);
    if (!offs || offs->type != OCTIC_JSON_ARRAY || offs->len != 2 ||
        offs->items[0].type != OCTIC_JSON_INT || offs->items[1].type != OCTIC_JSON_INT)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: tensor '%s': 'data_offsets' missing or not [begin, end]", c->name,
                          tname);
    int64_t begin = offs->items[0].i, end = offs->items[1].i;
    if (begin >= 0 && end >= begin && (uint64_t)end > c->data_len) /* the likeliest cause: a cut copy */
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: truncated: tensor '%s' ends at byte %lld of the data section, which has only "
                          "%llu bytes (data_offsets [%lld, %lld])",
                          c->name, tname, (long long)end, (unsigned long long)c->data_len, (long long)begin,
                          (long long)end);
    if (begin < 0 || end < begin)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: tensor '%s': data_offsets [%lld, %lld] out of range: the data "
                          "section has %llu bytes",
                          c->name, tname, (long long)begin, (long long)end,
                          (unsigned long long)c->data_len);
    if (end - begin != numel * es) {
        char shape[160];
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: tensor '%s': data_offsets [%lld, %lld] span %lld bytes: expected "
                          "%lld for %s %s",
                          c->name, tname, (long long)begin, (long long)end,
                          (long long)(end - begin), (long long)(numel * es), dt->str,
                          octic_shape_str(shape, sizeof shape, dims, ndim));
    }
    if (numel > c->budget)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: tensor '%s': tensors overlap far more than the file's data",
                          c->name, tname);
    c->budget -= numel;
    const uint8_t *src = c->data + begin;
    float *out;
    int owns = 1;
    if (es == 4 && c->zero_copy && ((uintptr_t)src % sizeof(float)) == 0) {
        out = (float *)(uintptr_t)src; /* read-only mapping: owns_data 0 */
        owns = 0;
        c->used_buffer = 1;
    } else {
        out = malloc((size_t)(numel ? numel : 1) * sizeof(float));
        if (!out)
            return octic_fail(OCTIC_ERR_NOMEM, "%s: tensor '%s': out of memory", c->name, tname);
        int bf16 = strcmp(dt->str, "BF16") == 0;
        for (int64_t i = 0; i < numel && es == 2; i++) {
            uint16_t h = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
            out[i] = bf16 ? octic_bf16_to_f32(h) : octic_f16_to_f32(h);
        }
        for (int64_t i = 0; i < numel && es == 8; i++) { /* rounded as tensor.float() does */
            double d;
            memcpy(&d, src + 8 * i, sizeof d);
            out[i] = (float)d;
        }
        if (es == 4) memcpy(out, src, (size_t)numel * sizeof(float));
    }
    st = octic_tensor_set_add(set, pname, ndim, dims, out, owns);
    if (st && owns) free(out);
    return st;
}

static octic_status parse(const uint8_t *buf, size_t len, const char *name, int zero_copy,
                          octic_tensor_set *set, int *used_buffer) {
    if (len < 8)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: not a safetensors file: %zu bytes, expected at least 8 (the "
                          "header length)",
                          name, len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | buf[i];
    if (hlen > len - 8 || hlen > MAX_HEADER)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: not a safetensors file or truncated: header length %llu, but the "
                          "file has %zu bytes after it (and the limit is %u)",
                          name, (unsigned long long)hlen, len - 8, MAX_HEADER);
    char hname[1024];
    snprintf(hname, sizeof hname, "%s: header", name);
    octic_json h;
    octic_status st = octic_json_parse((const char *)buf + 8, (size_t)hlen, hname, &h);
    if (st) return st;
    st_ctx c = {name, buf + 8 + hlen, len - 8 - hlen, zero_copy, 0, 0};
    c.budget = (int64_t)c.data_len + (1 << 24);
    if (h.type != OCTIC_JSON_OBJECT)
        st = octic_fail(OCTIC_ERR_FORMAT, "%s: header is not a JSON object", name);
    for (size_t i = 0; !st && i < h.len; i++) {
        if (strcmp(h.keys[i], "__metadata__") == 0)
            st = read_meta(&c, &h.items[i], set);
        else
            st = read_tensor(&c, h.keys[i], &h.items[i], set);
    }
    octic_json_free(&h);
    const char *dup = st ? NULL : octic_tensor_set_first_duplicate(set);
    if (dup) st = octic_fail(OCTIC_ERR_FORMAT, "%s: tensor '%s' appears twice in the header",
                             name, dup);
    *used_buffer = c.used_buffer;
    return st;
}

octic_status octic_safetensors_load_memory(const uint8_t *buf, size_t len, const char *name,
                                           octic_tensor_set *out) {
    octic_tensor_set_init(out);
    int used = 0;
    octic_status st = parse(buf, len, name, 0, out, &used);
    if (st) octic_tensor_set_free(out);
    return st;
}

octic_status octic_safetensors_load(const char *path, octic_tensor_set *out) {
    octic_tensor_set_init(out);
    uint8_t *buf;
    size_t len;
    octic_status st = octic_file_map(path, &buf, &len);
    if (st) return st;
    int used = 0;
    st = parse(buf, len, path, 1, out, &used);
    /* The set owns the mapping when tensors point into it; freeing the set
     * unmaps it. */
    if (!st && used) {
        out->mapping = buf;
        out->mapping_size = len;
    } else {
        if (st) octic_tensor_set_free(out);
        octic_file_unmap(buf, len);
    }
    return st;
}

/* --- writing ------------------------------------------------------------------ */


/* qsort has no context argument in C11; sort an array of pointers instead. */
static int cmp_tensor_ptr(const void *a, const void *b) {
    const octic_tensor *x = *(const octic_tensor *const *)a, *y = *(const octic_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static octic_status build_header(const char *path, const octic_tensor_set *set,
                                 const octic_tensor **order, octic_json_buf *b) {
    octic_jbuf_cstr(b, "{");
    int first = 1;
    if (set->n_meta) {
        octic_jbuf_cstr(b, "\"__metadata__\":{");
        for (int i = 0; i < set->n_meta; i++) {
            if (i) octic_jbuf_cstr(b, ",");
            octic_jbuf_string(b, set->meta[i].key);
            octic_jbuf_cstr(b, ":");
            octic_jbuf_string(b, set->meta[i].value);
        }
        octic_jbuf_cstr(b, "}");
        first = 0;
    }
    int64_t offset = 0;
    for (int i = 0; i < set->count; i++) {
        const octic_tensor *t = order[i];
        int64_t bytes = octic_numel(t->shape, t->ndim) * (int64_t)sizeof(float);
        if (!first) octic_jbuf_cstr(b, ",");
        first = 0;
        octic_jbuf_string(b, t->name);
        octic_jbuf_cstr(b, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d) octic_jbuf_cstr(b, ",");
            octic_jbuf_int(b, t->shape[d]);
        }
        octic_jbuf_cstr(b, "],\"data_offsets\":[");
        octic_jbuf_int(b, offset);
        octic_jbuf_cstr(b, ",");
        octic_jbuf_int(b, offset + bytes);
        octic_jbuf_cstr(b, "]}");
        offset += bytes;
    }
    octic_jbuf_cstr(b, "}");
    /* Pad with spaces (valid JSON whitespace) so the data starts 8-byte
     * aligned: 8 bytes of length + header. */
    while ((8 + b->len) % 8) octic_jbuf_cstr(b, " ");
    if (b->failed) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory for the header", path);
    return OCTIC_OK;
}

static octic_status check_savable(const char *path, const octic_tensor_set *set) {
    for (int i = 0; i < set->count; i++) {
        const octic_tensor *t = &set->tensors[i];
        if (strcmp(t->name, "__metadata__") == 0)
            return octic_fail(OCTIC_ERR_ARG, "%s: a tensor cannot be named '__metadata__'", path);
        if (!t->data && octic_numel(t->shape, t->ndim) > 0)
            return octic_fail(OCTIC_ERR_ARG, "%s: tensor '%s' has no data", path, t->name);
    }
    const char *dup = octic_tensor_set_first_duplicate(set);
    if (dup)
        return octic_fail(OCTIC_ERR_ARG, "%s: tensor '%s' appears twice in the set", path, dup);
    return OCTIC_OK;
}

octic_status octic_safetensors_save(const char *path, const octic_tensor_set *set) {
    octic_status st = check_savable(path, set);
    if (st) return st;
    const octic_tensor **order = malloc((size_t)(set->count ? set->count : 1) * sizeof *order);
    if (!order) return octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < set->count; i++) order[i] = &set->tensors[i];
    qsort(order, (size_t)set->count, sizeof *order, cmp_tensor_ptr);
    octic_json_buf b = {0};
    st = build_header(path, set, order, &b);
    octic_atomic_file f;
    if (!st) st = octic_atomic_open(&f, path);
    if (!st) {
        uint8_t len8[8];
        for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)b.len >> (8 * i));
        st = octic_atomic_write(&f, len8, sizeof len8);
        if (!st) st = octic_atomic_write(&f, b.data, b.len);
        /* Tensor data is float32 in host order; the engine targets
         * little-endian machines, as safetensors requires. */
        for (int i = 0; !st && i < set->count; i++) {
            size_t bytes = (size_t)octic_numel(order[i]->shape, order[i]->ndim) * sizeof(float);
            if (bytes) st = octic_atomic_write(&f, order[i]->data, bytes);
        }
        if (!st) st = octic_atomic_commit(&f);
    }
    octic_jbuf_free(&b);
    free(order);
    return st;
}
