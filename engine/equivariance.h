/* Measured equivariance of a model: how far f(g.x) is from g.f(x).
 *
 * For every block output (index 0 = the embedded tokens, i = after block
 * i-1) and group element g: |f(g.x) - g.f(x)| / |f(x)| (Frobenius norms over
 * the batch), where g acts on tokens by permuting the patch tokens like the
 * image and, for octic blocks, on channels by the isotypic action; for the
 * standard blocks after the break only the tokens are permuted (so an
 * invariant model shows how invariant its features are and a hybrid one how
 * far from equivariant). Also the invariance error of the final class token:
 * |cls(g.x) - cls(x)| / |cls(x)|. */
#ifndef OCTIC_EQUIVARIANCE_H
#define OCTIC_EQUIVARIANCE_H

#include "model.h"

typedef struct {
    int nblocks;       /* depth + 1 */
    double *block_err; /* [nblocks][8] */
    double cls_err[8];
    int break_layer;   /* blocks 1..break_layer are octic outputs */
} octic_equivariance_report;

/* images [B, 3, S, S]. Runs 8 forward passes. */
octic_status octic_equivariance_measure(octic_model *m, const float *images, int B, int S,
                                        octic_equivariance_report *rep);
void octic_equivariance_report_free(octic_equivariance_report *rep);

#endif
