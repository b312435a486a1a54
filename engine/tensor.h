/* Named float32 tensors: what every checkpoint reader produces.
 *
 * A tensor set is a list of (name, shape, float32 data) in C order, plus the
 * names the loader ignored (training-only heads, unused tokens), the key the
 * state dict was found under, and string metadata (safetensors
 * __metadata__). Readers convert float16/bfloat16 to float32 and make strided
 * views contiguous, so consumers only ever see dense float32. */
#ifndef OCTIC_TENSOR_H
#define OCTIC_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define OCTIC_MAX_DIMS 8

typedef struct {
    char *name;
    int ndim;
    int64_t shape[OCTIC_MAX_DIMS];
    float *data;      /* numel floats, C order */
    int owns_data;    /* 0 when data points into a mapping owned by the set */
} octic_tensor;

typedef struct {
    char *key;
    char *value;
} octic_meta;

typedef struct {
    octic_tensor *tensors;
    int count, cap;
    char **ignored;       /* names dropped by the loader, in file order */
    int n_ignored, cap_ignored;
    octic_meta *meta;     /* string metadata (safetensors __metadata__) */
    int n_meta, cap_meta;
    char *source_key;     /* "model", "teacher", ... or NULL for top level */
    void *mapping;        /* mmap base when tensors point into a file */
    size_t mapping_size;
} octic_tensor_set;

int64_t octic_numel(const int64_t *shape, int ndim);
/* "[64, 3, 16, 16]" into buf; returns buf. */
char *octic_shape_str(char *buf, size_t len, const int64_t *shape, int ndim);

void octic_tensor_set_init(octic_tensor_set *set);
void octic_tensor_set_free(octic_tensor_set *set);
/* Adds a tensor; takes ownership of `data` when owns_data. Copies the name. */
octic_status octic_tensor_set_add(octic_tensor_set *set, const char *name, int ndim,
                                  const int64_t *shape, float *data, int owns_data);
octic_status octic_tensor_set_add_ignored(octic_tensor_set *set, const char *name);
octic_status octic_tensor_set_set_meta(octic_tensor_set *set, const char *key, const char *value);
const char *octic_tensor_set_get_meta(const octic_tensor_set *set, const char *key);
/* NULL when absent. */
const octic_tensor *octic_tensor_set_find(const octic_tensor_set *set, const char *name);
/* Gives back the memory of tensor i once its data has been consumed: frees
 * its copy, or drops its pages of the file mapping (re-read from the file if
 * touched again). Its name and shape stay; its data must not be read after. */
void octic_tensor_set_release(octic_tensor_set *set, int i);
/* Sorts tensors by name (for stable output). */
void octic_tensor_set_sort(octic_tensor_set *set);
/* A name held by more than one tensor (pointer into the set), or NULL. */
const char *octic_tensor_set_first_duplicate(const octic_tensor_set *set);

/* IEEE half and bfloat16 to float. */
float octic_f16_to_f32(uint16_t h);
float octic_bf16_to_f32(uint16_t b);

#endif
