/* Feature extraction runs with an on-disk cache.
 *
 * An extraction is (model content, data set split, subset, transform, size,
 * what is extracted). Its key is written out as text and hashed (SHA-256)
 * into the name of a cache folder; the features are stored there one batch
 * per chunk file, each written atomically (temporary file, fsync, rename).
 * A run that stops (killed, cancelled, a power cut) leaves only complete
 * chunks, and the next extraction with the same key reads them instead of
 * running the model again: it resumes where the first one stopped.
 *
 * Two kinds of features:
 *   CLASSIFY  per image a record [cls_1 | ... | cls_nb | pool] of (nb+1) C
 *             floats: the class tokens after the final norm of the last nb
 *             blocks (nb = min(4, depth)), oldest first, then the mean of the
 *             last block's normed patch tokens (linear.h); the k-NN uses cls_nb.
 *   PATCH     per image the N normed patch tokens [N, C] of the last block and
 *             each patch's p x p pixel labels (the SEGMENT transform's mask). */
#ifndef OCTIC_EXTRACT_H
#define OCTIC_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "knn.h"
#include "loader.h"
#include "model.h"

typedef enum { OCTIC_FEATURES_CLASSIFY = 0, OCTIC_FEATURES_PATCH = 1 } octic_feature_kind;

typedef struct {
    const char *cache_dir;     /* root of the cache (octic_feature_cache_default) */
    const char *model_sha256;  /* content hash of the checkpoint */
    octic_model *model;
    const octic_dataset *ds;
    int split;
    octic_subset subset;
    size_t subset_n;
    uint64_t seed;
    octic_feature_kind kind;
    int size;                  /* image side (224) */
    int resize_to;             /* CLASSIFY: shorter side before the crop (256) */
    int batch_size;            /* images per forward pass and per chunk */
    int threads;               /* loader threads; 0: all CPUs */
    octic_progress_fn progress; /* (done images, total); nonzero cancels */
    void *user;
} octic_extract_spec;

typedef struct {
    int64_t n;           /* images */
    int dim;             /* C */
    int blocks;          /* nb (CLASSIFY) */
    int64_t record;      /* floats per image: (nb+1) C, or N C */
    int patches, patch;  /* PATCH: N per image, p */
    float *features;     /* [n, record] */
    int32_t *labels;     /* [n] class index or -1 */
    uint8_t *pixels;     /* PATCH: [n, N, p*p] */
    int64_t *items;      /* [n] item index in the split */
    int chunks_reused, chunks_computed;
    int64_t skipped;     /* images that could not be read, left out */
    char skipped_text[512]; /* the first of them: "path (reason)", "; " between */
    char dir[1024];      /* the cache folder */
    char key[5120];      /* the key text */
} octic_features;

/* $XDG_CACHE_HOME/octiscope/features or ~/.cache/octiscope/features. */
octic_status octic_feature_cache_default(char *buf, size_t len);

octic_status octic_features_extract(const octic_extract_spec *spec, octic_features *out);
void octic_features_free(octic_features *f);

/* A slice of every record: out[n, width] = features[:, offset:offset+width]. */
float *octic_features_slice(const octic_features *f, int64_t offset, int64_t width);

/* Runs the model on images[B, 3, S, S] and writes the CLASSIFY records
 * out[B, (nb+1) C] (nb as octic_features_blocks) or, with patch != NULL, the
 * normed patch tokens [B, N, C]. Used by extraction and by the augmented
 * linear probe. */
int octic_features_blocks(const octic_model *m);
octic_status octic_forward_records(octic_model *m, const float *images, int B, int S, float *records,
                                   float *patch);

/* The pause after each batch or step, from OCTIC_EVAL_PAUSE_MS (tests slow a
 * run down with it so that it can be interrupted at a known phase). */
void octic_eval_test_pause(void);

#endif
