/* The evaluation protocols over a model and a data set, with their results
 * in the shape the results database stores (results_db.h).
 *
 *   knn-dinov2      DINOv2 weighted k-NN on the class token (knn.h)
 *   linear-dinov2   the 52 DINOv2 linear heads, training images augmented
 *                   (RandomResizedCrop 224 bicubic, horizontal flip) so the
 *                   backbone runs on every step, as the reference
 *   linear-cached   the same heads trained on cached features without
 *                   augmentation: a cheaper desktop variant, never mixed with
 *                   the reference numbers
 *   seg-capi        the capi segmentation protocol: patch features, labels by
 *                   mode, standardization, hyper-parameters chosen on a random
 *                   10% of train, then refitted on all of train and scored on
 *                   the validation split; k-NN and logistic regression */
#ifndef OCTIC_PROTOCOLS_H
#define OCTIC_PROTOCOLS_H

#include <stdint.h>

#include "dataset.h"
#include "extract.h"
#include "linear.h"
#include "logreg.h"
#include "model.h"
#include "results_db.h"

/* What a run produced; every string is owned. */
typedef struct {
    octic_db_metric *metrics;
    int n_metrics, cap_metrics;
    octic_db_trial *trials;
    int n_trials, cap_trials;
    octic_db_class_result *classes;
    int n_classes, cap_classes;
} octic_eval_results;

void octic_eval_results_free(octic_eval_results *r);

typedef struct {
    /* inputs */
    const char *cache_dir;
    const char *model_sha256;
    octic_model *model;
    const octic_dataset *ds;
    int train_split, val_split;
    octic_subset subset;     /* applied to both splits */
    size_t subset_n;
    uint64_t seed;
    int size, resize_to;     /* 224, 256 */
    int batch_size, threads;
    /* progress: a phase name ("extracting train", "training"), then
     * progress(done, total) calls within it; nonzero cancels */
    void (*phase)(void *user, const char *name);
    octic_progress_fn progress;
    /* what the user should know of the run (images skipped, ks left out),
     * each said once through note (may be NULL) and kept in notes ("; "
     * between) for the run's record */
    void (*note)(void *user, const char *text);
    void *user;
    char notes[1024]; /* octic_eval_note's */
    /* what the run reused */
    int chunks_reused, chunks_computed;
    /* k-NN: the ks fitted again to the train images that could be read
     * (n_ks_refit 0: the ks asked for ran), for the run's record */
    int n_ks_refit, ks_refit[OCTIC_KNN_MAX_K];
} octic_eval_context;

/* Says one thing the user should know of the run through ctx->note, and
 * keeps it in ctx->notes. */
void octic_eval_note(octic_eval_context *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct {
    int n_k;
    int ks[OCTIC_KNN_MAX_K];
    float temperature;
} octic_knn_protocol;

void octic_knn_protocol_defaults(octic_knn_protocol *p);
/* The ks a train set of n images can take: those up to n, or n where none
 * is (n > 0). Returns 1, with a sentence for the user in told, when they
 * changed. */
int octic_knn_fit_ks(octic_knn_protocol *p, int64_t n, char *told, size_t len);
octic_status octic_eval_knn(octic_eval_context *ctx, const octic_knn_protocol *p, octic_eval_results *out);

typedef struct {
    int augment;            /* 1: linear-dinov2 (backbone every step); 0: linear-cached */
    int n_lr;
    double lrs[OCTIC_LINEAR_MAX_LR];
    int epochs, epoch_length; /* 10 x 1250 */
    int batch_size;         /* 128 */
    double momentum;        /* 0.9 */
} octic_linear_protocol;

void octic_linear_protocol_defaults(octic_linear_protocol *p);
octic_status octic_eval_linear(octic_eval_context *ctx, const octic_linear_protocol *p, octic_eval_results *out);

typedef struct {
    int n_c;
    double cs[16];           /* 10^linspace(-6, 5, 8) */
    int max_iter;            /* 1000 */
    double tol;              /* 1e-12 */
    int linesearch_max_iter; /* 50 */
    int memory;              /* 5 */
    int n_k;
    int ks[8];               /* 1, 3, 10, 30 */
    int n_dist;
    octic_distance dists[2]; /* cosine, L2 */
    double holdout;          /* 0.1 */
    int knn, logreg;         /* which classifiers run (both by default) */
} octic_seg_protocol;

void octic_seg_protocol_defaults(octic_seg_protocol *p);
octic_status octic_eval_seg(octic_eval_context *ctx, const octic_seg_protocol *p, octic_eval_results *out);

#endif
