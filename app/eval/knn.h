/* k-nearest-neighbour classifiers.
 *
 * DINOv2 protocol (dinov2/eval/knn.py): features L2-normalized, cosine
 * similarity to every train feature, the max_k most similar kept (sorted,
 * ties to the lower train index), weights softmax(sim / T) over those max_k,
 * and for each k the weighted one-hot votes of the first k neighbours;
 * top-1 and top-5 accuracy on the votes (a class ranks by its vote, ties to
 * the lower class index).
 *
 * Blocked: queries and train features are processed in blocks whose
 * similarity matrix is one sgemm, and a bounded heap per query keeps the
 * best max_k, so memory stays at block_q x block_n floats however many
 * train features there are.
 *
 * The capi segmentation k-NN (majority vote over the k nearest by cosine or
 * L2 distance) is octic_knn_neighbors + a vote done by the caller. */
#ifndef OCTIC_KNN_H
#define OCTIC_KNN_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define OCTIC_KNN_MAX_K 8

/* Rows of x[n, d] scaled to unit L2 norm (zero rows left as they are). */
void octic_l2_normalize(float *x, int64_t n, int d);

typedef enum { OCTIC_DIST_COSINE = 0, OCTIC_DIST_L2 = 1, OCTIC_DIST_DOT = 2 } octic_distance;

/* For each query, the indices of its k nearest train rows, nearest first
 * (ties to the lower index): idx[q, k], and their scores sim[q, k] (may be
 * NULL): the dot product for DOT and COSINE (rows must be normalized by the
 * caller for cosine), minus the squared L2 distance for L2.
 * train[n, d], queries[m, d]. block_n <= 0 picks a default. */
octic_status octic_knn_neighbors(const float *train, int64_t n, const float *queries, int64_t m, int d, int k,
                                 octic_distance dist, int64_t block_n, int32_t *idx, float *sim);

typedef struct {
    int n_k;
    int ks[OCTIC_KNN_MAX_K]; /* e.g. 10, 20, 100, 200 */
    float temperature;       /* 0.07 */
    int classes;
    int64_t block_q, block_n; /* <= 0: defaults */
} octic_knn_params;

typedef struct {
    int64_t top1[OCTIC_KNN_MAX_K], top5[OCTIC_KNN_MAX_K]; /* correct counts per k */
    int64_t queries;
} octic_knn_result;

/* Progress callback: done queries out of total; returns nonzero to cancel. */
typedef int (*octic_progress_fn)(void *user, int64_t done, int64_t total);

/* DINOv2 weighted k-NN. train[n, d] and queries[m, d] L2-normalized;
 * labels in [0, classes). votes (may be NULL): [m, n_k, classes] written
 * with each query's weighted votes for each k. */
octic_status octic_knn_dinov2(const float *train, const int32_t *train_labels, int64_t n, const float *queries,
                              const int32_t *query_labels, int64_t m, int d, const octic_knn_params *p,
                              float *votes, octic_knn_result *res, octic_progress_fn progress, void *user);

/* 1 when label is among the top `top` classes of scores[classes] (ranked by
 * score, ties to the lower class index). */
int octic_in_top(const float *scores, int classes, int label, int top);

#endif
