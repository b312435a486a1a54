/* Multinomial logistic regression with an L2 penalty, fitted by L-BFGS.
 *
 * The objective of scikit-learn's LogisticRegression(multi_class=
 * "multinomial", penalty="l2", solver="lbfgs") and of cuML's, as the capi
 * segmentation protocol uses it:
 *
 *     G(W, b) = sum_i [ logsumexp(W x_i + b) - (W x_i + b)_{y_i} ] + ||W||^2 / (2 C)
 *
 * over the classes present in the labels (as scikit-learn's classes_; other
 * labels are never predicted), the intercept b not penalized. L-BFGS with
 * `memory` correction pairs and a strong-Wolfe line search (c1 = 1e-4,
 * c2 = 0.9, at most linesearch_max_iter evaluations); it stops when
 * max |grad G| <= tol, when G decreased by less than a relative ftol over the
 * last 10 iterations, when
 * the line search cannot decrease G (the float32 gradient's precision), or
 * after max_iter iterations.
 *
 * The data term runs as two sgemm per evaluation over blocks of rows, the
 * blocks shared among the engine's threads (each product and softmax on its
 * thread, partial sums in double added in thread order), so a fit on
 * 200,000 x 1024 features needs memory for the features and a block per
 * thread. */
#ifndef OCTIC_LOGREG_H
#define OCTIC_LOGREG_H

#include <stdint.h>

#include "error.h"

typedef struct {
    double C;                 /* inverse regularization */
    int max_iter;             /* 1000 */
    double tol;               /* 1e-12 */
    double ftol;              /* relative decrease over 10 iterations; < 0: off (default) */
    int linesearch_max_iter;  /* 50 */
    int memory;               /* L-BFGS history: 5 (the capi setting) */
    int64_t block_rows;       /* rows per sgemm block; <= 0: 8192 */
} octic_logreg_params;

void octic_logreg_defaults(octic_logreg_params *p, double C);

typedef struct {
    int classes;      /* K: classes present in the training labels */
    int dim;          /* D */
    int32_t *labels;  /* [K] the label of each class row, ascending */
    float *coef;      /* [K, D] */
    float *intercept; /* [K] */
    /* how the fit ended */
    int iterations, evaluations;
    double objective;  /* G at the solution */
    double grad_max;   /* max |grad G| at the solution */
    const char *stop;  /* "gtol", "ftol", "max_iter", "linesearch" */
} octic_logreg_model;

/* Fits on x[n, d] with labels y[n] (any int32 values; labels < 0 are
 * skipped). progress (may be NULL) is called after each iteration with
 * (iteration, max_iter); a nonzero return cancels (OCTIC_ERR_ARG). */
typedef int (*octic_logreg_progress_fn)(void *user, int64_t iteration, int64_t max_iter);
octic_status octic_logreg_fit(const float *x, const int32_t *y, int64_t n, int d, const octic_logreg_params *p,
                              octic_logreg_model *model, octic_logreg_progress_fn progress, void *user);

/* pred[n]: the label of the highest decision value (ties: lower label). */
octic_status octic_logreg_predict(const octic_logreg_model *model, const float *x, int64_t n, int32_t *pred);

/* G(W, b) for this model on (x, y), in double, for checks. */
double octic_logreg_objective(const octic_logreg_model *model, const float *x, const int32_t *y, int64_t n,
                              double C);

void octic_logreg_free(octic_logreg_model *model);

#endif
