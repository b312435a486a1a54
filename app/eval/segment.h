/* The pieces of the capi segmentation protocol that are plain math: patch
 * labels, standardization, and the scores.
 *
 * Scores follow the reference: pixels whose ground truth is an ignored label
 * are left out; pixel accuracy is the share of the remaining pixels predicted
 * right; mIoU is scikit-learn's jaccard_score(average="macro") on them, the
 * mean IoU over the classes present in the ground truth or the predictions. */
#ifndef OCTIC_SEGMENT_H
#define OCTIC_SEGMENT_H

#include <stdint.h>

#include "error.h"

/* The most frequent value of labels[n] (ties: the smallest value). */
int octic_label_mode(const uint8_t *labels, int n);

/* mask[S, S] -> out[(S/p)^2, p*p]: the pixels of each patch, patches in
 * row-major order, pixels row-major inside the patch. */
void octic_patch_pixels(const uint8_t *mask, int S, int p, uint8_t *out);

/* A set of ignored labels: ignored[v] != 0. */
typedef struct {
    uint8_t ignored[256];
} octic_label_set;

/* confusion[256 * 256] (ground truth row, prediction column) += the pixels
 * of gt[n], pred[n] whose ground truth is not ignored. */
void octic_confusion_add(int64_t *confusion, const uint8_t *gt, const uint8_t *pred, int64_t n,
                         const octic_label_set *ignore);

typedef struct {
    double miou, pixel_accuracy;
    int64_t pixels;          /* counted pixels */
    int n_present;           /* classes in ground truth or predictions */
    uint8_t present[256];
    double iou[256];         /* per class, for present classes */
} octic_seg_scores;

void octic_seg_score(const int64_t *confusion, octic_seg_scores *out);

/* StandardScaler: mean[d] and scale[d] (population std, 1 where it is 0)
 * of x[n, d]; then x = (x - mean) / scale. */
octic_status octic_standardize_fit(const float *x, int64_t n, int d, float *mean, float *scale);
void octic_standardize_apply(float *x, int64_t n, int d, const float *mean, const float *scale);

#endif
