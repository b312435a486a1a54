/* The DINOv2 linear probe's heads (dinov2/eval/linear.py), trained at once.
 *
 * A feature record of one image is [cls_1 | ... | cls_nb | pool], (nb + 1) C
 * floats: the class tokens after the final norm of the last nb blocks
 * (nb = 4, or the depth when it is smaller), oldest first, then the mean of
 * the last block's normed patch tokens. The input variants are contiguous
 * slices of it: blocks 1 or nb, with or without pool; with n_lr learning
 * rates that makes 2 x 2 x 13 = 52 heads by default.
 *
 * Each head: Linear(in, classes), weights N(0, 0.01), bias 0; cross-entropy
 * averaged over the batch; SGD with momentum 0.9 (PyTorch's form: buf =
 * momentum * buf + grad, first buf = grad), no weight decay; learning rate
 * lr * batch / 256 on a cosine schedule from iteration 0 to `iterations`
 * (CosineAnnealingLR, eta_min 0). Each head's logits are one sgemm per
 * variant for all learning rates. */
#ifndef OCTIC_LINEAR_H
#define OCTIC_LINEAR_H

#include <stdint.h>

#include "error.h"

#define OCTIC_LINEAR_MAX_LR 32

typedef struct {
    int dim;          /* C */
    int blocks;       /* nb: class tokens in a record */
    int classes;
    int n_lr;
    double lrs[OCTIC_LINEAR_MAX_LR]; /* before the batch scaling */
    int batch_size;
    int64_t iterations;
    double momentum;
    uint64_t seed;    /* weight initialization */
} octic_linear_params;

/* The reference's 13 learning rates, batch 128, 12,500 iterations, momentum 0.9. */
void octic_linear_defaults(octic_linear_params *p, int dim, int blocks, int classes);

typedef struct octic_linear_heads octic_linear_heads;

octic_status octic_linear_create(const octic_linear_params *p, octic_linear_heads **out);
void octic_linear_free(octic_linear_heads *h);

int octic_linear_head_count(const octic_linear_heads *h);
/* "blocks=4 avgpool=1 lr=0.0005" */
void octic_linear_head_name(const octic_linear_heads *h, int head, char *buf, int len);

/* One SGD step at iteration t on records[B, (nb + 1) C] with labels[B].
 * loss (may be NULL): [heads] mean cross-entropy of each head on the batch. */
octic_status octic_linear_step(octic_linear_heads *h, const float *records, const int32_t *labels, int B,
                               int64_t t, double *loss);

/* Adds each head's correct top-1 and top-5 counts on records[n] to
 * top1[heads], top5[heads]. */
octic_status octic_linear_score(const octic_linear_heads *h, const float *records, const int32_t *labels,
                                int64_t n, int64_t *top1, int64_t *top5);

/* Read-only access for tests: the weights [n_lr * classes, in] and bias of
 * input variant v (0: blocks 1; 1: blocks 1 + pool; 2: blocks nb; 3: nb + pool). */
int octic_linear_variant_width(const octic_linear_heads *h, int v);
const float *octic_linear_weights(const octic_linear_heads *h, int v);
const float *octic_linear_bias(const octic_linear_heads *h, int v);
int octic_linear_variant_count(const octic_linear_heads *h);

#endif
