/* Named float32 tensor sets: the common output of every checkpoint reader. */
#include "tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int64_t octic_numel(const int64_t *shape, int ndim) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

char *octic_shape_str(char *buf, size_t len, const int64_t *shape, int ndim) {
    if (len == 0) return buf;
    size_t used = 0;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? ", " : "",
                                 (long long)shape[i]);
    if (used < len) snprintf(buf + used, len - used, "]");
    return buf;
}

void octic_tensor_set_init(octic_tensor_set *set) { memset(set, 0, sizeof *set); }

void octic_tensor_set_free(octic_tensor_set *set) {
    if (!set) return;
    for (int i = 0; i < set->count; i++) {
        free(set->tensors[i].name);
        if (set->tensors[i].owns_data) free(set->tensors[i].data);
    }
    free(set->tensors);
    for (int i = 0; i < set->n_ignored; i++) free(set->ignored[i]);
    free(set->ignored);
    for (int i = 0; i < set->n_meta; i++) {
        free(set->meta[i].key);
        free(set->meta[i].value);
    }
    free(set->meta);
    free(set->source_key);
    if (set->mapping) munmap(set->mapping, set->mapping_size);
    memset(set, 0, sizeof *set);
}

void octic_tensor_set_release(octic_tensor_set *set, int i) {
    octic_tensor *t = &set->tensors[i];
    if (!t->data) return;
    if (t->owns_data) {
        free(t->data);
        t->data = NULL;
        t->owns_data = 0;
        return;
    }
    /* the whole pages inside the tensor's bytes: neighbours keep theirs */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = ((uintptr_t)t->data + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t end = ((uintptr_t)t->data + (size_t)octic_numel(t->shape, t->ndim) * sizeof(float)) & ~(uintptr_t)(page - 1);
    if (end > start) madvise((void *)start, end - start, MADV_DONTNEED);
}

/* Grows an array of `size`-byte elements to hold at least `need` of them. */
static int grow(void **items, int *cap, int need, size_t size) {
    if (need <= *cap) return 1;
    int ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > (1 << 29)) return 0;
        ncap *= 2;
    }
    void *p = realloc(*items, (size_t)ncap * size);
    if (!p) return 0;
    *items = p;
    *cap = ncap;
    return 1;
}

octic_status octic_tensor_set_add(octic_tensor_set *set, const char *name, int ndim,
                                  const int64_t *shape, float *data, int owns_data) {
    if (ndim < 0 || ndim > OCTIC_MAX_DIMS)
        return octic_fail(OCTIC_ERR_ARG, "tensor '%s': %d dimensions: at most %d supported",
                          name, ndim, OCTIC_MAX_DIMS);
    if (!grow((void **)&set->tensors, &set->cap, set->count + 1, sizeof *set->tensors))
        return octic_fail(OCTIC_ERR_NOMEM, "tensor '%s': out of memory", name);
    char *copy = strdup(name);
    if (!copy) return octic_fail(OCTIC_ERR_NOMEM, "tensor '%s': out of memory", name);
    octic_tensor *t = &set->tensors[set->count++];
    memset(t, 0, sizeof *t);
    t->name = copy;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->data = data;
    t->owns_data = owns_data;
    return OCTIC_OK;
}

octic_status octic_tensor_set_add_ignored(octic_tensor_set *set, const char *name) {
    if (!grow((void **)&set->ignored, &set->cap_ignored, set->n_ignored + 1,
              sizeof *set->ignored))
        return octic_fail(OCTIC_ERR_NOMEM, "ignored tensor '%s': out of memory", name);
    char *copy = strdup(name);
    if (!copy) return octic_fail(OCTIC_ERR_NOMEM, "ignored tensor '%s': out of memory", name);
    set->ignored[set->n_ignored++] = copy;
    return OCTIC_OK;
}

octic_status octic_tensor_set_set_meta(octic_tensor_set *set, const char *key, const char *value) {
    char *v = strdup(value);
    if (!v) return octic_fail(OCTIC_ERR_NOMEM, "metadata '%s': out of memory", key);
    for (int i = 0; i < set->n_meta; i++) {
        if (strcmp(set->meta[i].key, key) == 0) {
            free(set->meta[i].value);
            set->meta[i].value = v;
            return OCTIC_OK;
        }
    }
    char *k = strdup(key);
    if (!k || !grow((void **)&set->meta, &set->cap_meta, set->n_meta + 1, sizeof *set->meta)) {
        free(k);
        free(v);
        return octic_fail(OCTIC_ERR_NOMEM, "metadata '%s': out of memory", key);
    }
    set->meta[set->n_meta].key = k;
    set->meta[set->n_meta].value = v;
    set->n_meta++;
    return OCTIC_OK;
}

const char *octic_tensor_set_get_meta(const octic_tensor_set *set, const char *key) {
    for (int i = 0; i < set->n_meta; i++)
        if (strcmp(set->meta[i].key, key) == 0) return set->meta[i].value;
    return NULL;
}

const octic_tensor *octic_tensor_set_find(const octic_tensor_set *set, const char *name) {
    for (int i = 0; i < set->count; i++)
        if (strcmp(set->tensors[i].name, name) == 0) return &set->tensors[i];
    return NULL;
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp(((const octic_tensor *)a)->name, ((const octic_tensor *)b)->name);
}

void octic_tensor_set_sort(octic_tensor_set *set) {
    if (set->count > 1) qsort(set->tensors, (size_t)set->count, sizeof *set->tensors,
                              cmp_tensor_name);
}

static int cmp_name_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorting a copy of the name pointers keeps this O(n log n): a checkpoint
 * can hold hundreds of thousands of entries (or a fuzzer can make it). */
const char *octic_tensor_set_first_duplicate(const octic_tensor_set *set) {
    if (set->count < 2) return NULL;
    const char **names = malloc((size_t)set->count * sizeof *names);
    if (!names) return NULL;
    for (int i = 0; i < set->count; i++) names[i] = set->tensors[i].name;
    qsort(names, (size_t)set->count, sizeof *names, cmp_name_ptr);
    const char *dup = NULL;
    for (int i = 1; i < set->count && !dup; i++)
        if (strcmp(names[i - 1], names[i]) == 0) dup = names[i];
    free(names);
    return dup;
}

float octic_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign; /* signed zero */
        } else {
            /* Subnormal half: value is mant * 2^-24, exact in float. */
            float f = ldexpf((float)mant, -24);
            return sign ? -f : f;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13); /* inf / nan */
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float octic_bf16_to_f32(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}
