/* The numbers behind the inspector (see analysis.h). */
#include "analysis.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "group.h"
#include "image.h"

const char *const octiscope_irrep_names[OCTISCOPE_NIRREPS] = {"A1", "A2", "B1", "B2", "E"};

int octiscope_block_is_octic(const octiscope_analysis *a, int block) {
    return a->kind != OCTIC_KIND_STANDARD && block <= a->break_layer;
}

const float *octiscope_block_tokens(const octiscope_analysis *a, int block, int g) {
    return a->blocks + ((size_t)block * 8 + g) * a->T * a->C;
}

/* ---- running the model ------------------------------------------------------ */

typedef struct {
    octiscope_analysis *a;
    int g;
} collect;

static void on_block(void *user, int index, const float *tokens, int B, int T, int C) {
    collect *c = user;
    if (index < 0) return; /* the invariant model's projected tokens: not a block output */
    memcpy((float *)octiscope_block_tokens(c->a, index, c->g), tokens, (size_t)B * T * C * sizeof(float));
}

static void softmax(float *out, const float *logits, int n) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (logits[i] > mx) mx = logits[i];
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += out[i] = expf(logits[i] - mx);
    for (int i = 0; i < n; i++) out[i] = (float)(out[i] / sum);
}

octic_status octiscope_analysis_run(octic_model *m, const float *image, int S, octiscope_analysis *a,
                                    const volatile int *cancel, void (*progress)(void *user, double frac),
                                    void *user) {
    memset(a, 0, sizeof *a);
    const octic_config *cf = octic_model_config(m);
    octic_status st = octic_model_check_size(m, S);
    if (st) return st;
    a->S = S;
    a->n = S / cf->patch;
    a->T = octic_model_tokens(m, S);
    a->t0 = 1 + cf->registers;
    a->C = cf->dim;
    a->H = cf->heads;
    a->depth = cf->depth;
    a->nblocks = cf->depth + 1;
    a->kind = cf->kind;
    a->break_layer = cf->kind == OCTIC_KIND_STANDARD ? 0 : cf->break_layer;
    a->classes = cf->classes;
    size_t img = (size_t)3 * S * S, TC = (size_t)a->T * a->C, HT = (size_t)a->H * a->T;
    a->images = malloc(8 * img * sizeof(float));
    a->blocks = malloc((size_t)a->nblocks * 8 * TC * sizeof(float));
    a->attn = malloc((size_t)a->depth * 8 * HT * sizeof(float));
    a->eq_err = calloc((size_t)a->nblocks * 8, sizeof(double));
    a->energy = malloc((size_t)a->nblocks * OCTISCOPE_NIRREPS * sizeof(double));
    if (a->classes > 0) a->probs = malloc((size_t)8 * a->classes * sizeof(float));
    float *norm = malloc(img * sizeof(float)), *x = malloc(img * sizeof(float));
    float *attn = malloc((size_t)a->depth * HT * sizeof(float));
    float *logits = a->classes > 0 ? malloc((size_t)a->classes * sizeof(float)) : NULL;
    if (!a->images || !a->blocks || !a->attn || !a->eq_err || !a->energy || (a->classes > 0 && (!a->probs || !logits)) ||
        !norm || !x || !attn) {
        st = octic_fail(OCTIC_ERR_NOMEM, "out of memory for the eight copies of a %dx%d image", S, S);
        goto done;
    }
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < (size_t)S * S; i++)
            norm[c * S * S + i] = (image[c * S * S + i] - octic_imagenet_mean[c]) / octic_imagenet_std[c];

    for (int g = 0; g < 8; g++) {
        if (cancel && *cancel) {
            st = octic_fail(OCTIC_ERR_ARG, "cancelled");
            goto done;
        }
        octic_group_act_image(a->images + g * img, image, g, 3, S);
        octic_group_act_image(x, norm, g, 3, S);
        collect c = {a, g};
        octic_outputs o = {.logits = logits, .attn = attn, .on_block = on_block, .user = &c};
        if ((st = octic_model_forward(m, x, 1, S, &o))) goto done;
        for (int i = 0; i < a->depth; i++)
            memcpy(a->attn + ((size_t)i * 8 + g) * HT, attn + (size_t)i * HT, HT * sizeof(float));
        if (logits) softmax(a->probs + (size_t)g * a->classes, logits, a->classes);
        if (progress) progress(user, (g + 1) / 8.0);
    }
    octiscope_equivariance_curves(a);
    for (int i = 0; i < a->nblocks; i++) {
        double *share = a->energy + (size_t)i * OCTISCOPE_NIRREPS;
        if (octiscope_block_is_octic(a, i))
            octiscope_energy_shares(share, octiscope_block_tokens(a, i, 0), a->T, a->t0, a->C);
        else
            for (int k = 0; k < OCTISCOPE_NIRREPS; k++) share[k] = -1.0;
    }
done:
    free(norm), free(x), free(attn), free(logits);
    if (st) octiscope_analysis_free(a);
    return st;
}

void octiscope_analysis_free(octiscope_analysis *a) {
    free(a->images), free(a->blocks), free(a->attn), free(a->probs), free(a->eq_err), free(a->energy);
    memset(a, 0, sizeof *a);
}

/* ---- equivariance, pull-back, energy ------------------------------------------ */

void octiscope_pull_back(float *out, const octiscope_analysis *a, int block, int g) {
    octic_group_act_tokens(out, octiscope_block_tokens(a, block, g), octic_group_inv(g), 1, a->T, a->t0, a->n, a->C,
                           octiscope_block_is_octic(a, block));
}

void octiscope_equivariance_curves(octiscope_analysis *a) {
    size_t TC = (size_t)a->T * a->C;
    float *moved = malloc(TC * sizeof(float));
    if (!moved) return;
    for (int i = 0; i < a->nblocks; i++) {
        const float *fx = octiscope_block_tokens(a, i, 0);
        for (int g = 0; g < 8; g++) {
            // g.f(x) against f(g.x); g is orthogonal, so |g.f(x)| = |f(x)|
            octic_group_act_tokens(moved, fx, g, 1, a->T, a->t0, a->n, a->C, octiscope_block_is_octic(a, i));
            const float *fgx = octiscope_block_tokens(a, i, g);
            double num = 0.0, den = 0.0;
            for (size_t j = 0; j < TC; j++) {
                double d = (double)fgx[j] - moved[j];
                num += d * d;
                den += (double)moved[j] * moved[j];
            }
            a->eq_err[i * 8 + g] = den > 0.0 ? sqrt(num / den) : sqrt(num);
        }
    }
    free(moved);
}

void octiscope_energy_shares(double share[OCTISCOPE_NIRREPS], const float *tokens, int T, int t0, int C) {
    // tokens (T, C) in x0..x7 order, c = C/8 channels per component; E = x4..x7
    int c = C / 8;
    double e[8] = {0}, total = 0.0;
    for (int t = t0; t < T; t++)
        for (int j = 0; j < 8; j++) {
            const float *x = tokens + (size_t)t * C + j * c;
            for (int i = 0; i < c; i++) e[j] += (double)x[i] * x[i];
        }
    for (int j = 0; j < 8; j++) total += e[j];
    for (int k = 0; k < 4; k++) share[k] = total > 0.0 ? e[k] / total : 0.0;
    share[OCTISCOPE_E] = total > 0.0 ? (e[4] + e[5] + e[6] + e[7]) / total : 0.0;
}

/* ---- PCA ------------------------------------------------------------------------ */

static int cmp_float(const void *x, const void *y) {
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

/* Orthonormalizes the rows of V (k, C) in place (modified Gram-Schmidt); a
 * row that collapses is replaced by the next unit vector and redone. */
static void orthonormalize(float *V, int k, int C) {
    for (int a = 0, next_unit = 0; a < k; a++) {
        float *v = V + (size_t)a * C;
        for (;;) {
            for (int pass = 0; pass < 2; pass++)
                for (int b = 0; b < a; b++) {
                    const float *u = V + (size_t)b * C;
                    double d = 0.0;
                    for (int j = 0; j < C; j++) d += (double)u[j] * v[j];
                    for (int j = 0; j < C; j++) v[j] -= (float)d * u[j];
                }
            double nn = 0.0;
            for (int j = 0; j < C; j++) nn += (double)v[j] * v[j];
            if (nn > 1e-20 || next_unit >= C) {
                float inv = nn > 0.0 ? (float)(1.0 / sqrt(nn)) : 0.0f;
                for (int j = 0; j < C; j++) v[j] *= inv;
                break;
            }
            memset(v, 0, (size_t)C * sizeof(float));
            v[next_unit++] = 1.0f;
        }
    }
}

/* Eigen-decomposition of a symmetric n x n matrix A (n <= 8; destroyed) by
 * cyclic Jacobi rotations: values in descending order, vectors as the
 * columns of Q (Q[i * n + c] = component i of vector c). */
static void jacobi_eigen(double *A, double *Q, double *values, int n) {
    for (int i = 0; i < n * n; i++) Q[i] = (i / n == i % n) ? 1.0 : 0.0;
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0.0, diag = 0.0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) *(i == j ? &diag : &off) += A[i * n + j] * A[i * n + j];
        if (off <= 1e-24 * diag || off == 0.0) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = A[p * n + q];
                if (apq == 0.0) continue;
                double theta = (A[q * n + q] - A[p * n + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int r = 0; r < n; r++) { /* A <- A J (columns p, q) */
                    double ap = A[r * n + p], aq = A[r * n + q];
                    A[r * n + p] = c * ap - s * aq;
                    A[r * n + q] = s * ap + c * aq;
                }
                for (int r = 0; r < n; r++) { /* A <- J^T A (rows p, q) */
                    double ap = A[p * n + r], aq = A[q * n + r];
                    A[p * n + r] = c * ap - s * aq;
                    A[q * n + r] = s * ap + c * aq;
                }
                for (int r = 0; r < n; r++) {
                    double qp = Q[r * n + p], qq = Q[r * n + q];
                    Q[r * n + p] = c * qp - s * qq;
                    Q[r * n + q] = s * qp + c * qq;
                }
            }
    }
    // sort descending (selection sort on columns)
    for (int i = 0; i < n; i++) values[i] = A[i * n + i];
    for (int i = 0; i < n; i++) {
        int best = i;
        for (int j = i + 1; j < n; j++)
            if (values[j] > values[best]) best = j;
        if (best == i) continue;
        double v = values[i];
        values[i] = values[best], values[best] = v;
        for (int r = 0; r < n; r++) {
            double q = Q[r * n + i];
            Q[r * n + i] = Q[r * n + best], Q[r * n + best] = q;
        }
    }
}

/* The Rayleigh-Ritz step of the subspace V (k, C): Wk (k, C) = V cov (cov
 * symmetric), the projected problem Hk (k, k) = Wk V^T, its eigenvectors Q
 * (columns) and values ritz (descending) by Jacobi. */
static void rayleigh_ritz(const float *V, const float *cov, float *Wk, double *Hk, double *Q, double *ritz, int k,
                          int C) {
    octic_sgemm(1, k, C, C, V, C, cov, C, 0.0f, Wk, C);
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) {
            double d = 0.0;
            for (int j = 0; j < C; j++) d += (double)Wk[(size_t)a * C + j] * V[(size_t)b * C + j];
            Hk[a * k + b] = d;
        }
    jacobi_eigen(Hk, Q, ritz, k);
}

octic_status octiscope_pca_fit(octiscope_pca *p, const float *X, int R, int C) {
    memset(p, 0, sizeof *p);
    if (R < 1 || C < 3) return octic_fail(OCTIC_ERR_ARG, "PCA needs at least one row and three columns, got %dx%d", R, C);
    p->C = C;
    p->mean = calloc((size_t)C, sizeof(float));
    p->basis = malloc((size_t)3 * C * sizeof(float));
    float *Xt = calloc((size_t)C * R, sizeof(float));     /* (C, R) centred, transposed */
    float *cov = malloc((size_t)C * C * sizeof(float));    /* (C, C) */
    float *proj = malloc((size_t)R * sizeof(float));
    double *acc = calloc((size_t)C, sizeof(double));
    if (!p->mean || !p->basis || !Xt || !cov || !proj || !acc) {
        free(Xt), free(cov), free(proj), free(acc);
        octiscope_pca_free(p);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for a PCA of %d rows of %d features", R, C);
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < C; j++) acc[j] += X[(size_t)r * C + j];
    for (int j = 0; j < C; j++) p->mean[j] = (float)(acc[j] / R);
    for (int r = 0; r < R; r++)
        for (int j = 0; j < C; j++) Xt[(size_t)j * R + r] = X[(size_t)r * C + j] - p->mean[j];
    // cov (C, C) = Xt Xt^T
    octic_sgemm(1, C, C, R, Xt, R, Xt, R, 0.0f, cov, C);

    // The top three eigenvectors: orthogonal iteration on a block of k >= 3
    // vectors with Rayleigh-Ritz (the k x k projected problem solved by
    // Jacobi), until the top three Ritz values settle. The extra vectors make
    // the rate lambda_{k+1} / lambda_3 rather than lambda_4 / lambda_3.
    int k = C < 8 ? C : 8;
    float *V = malloc((size_t)k * C * sizeof(float)), *Wk = malloc((size_t)k * C * sizeof(float));
    double Hk[64], Q[64], ritz[8], last[3] = {0};
    if (!V || !Wk) {
        free(V), free(Wk), free(Xt), free(cov), free(proj), free(acc);
        octiscope_pca_free(p);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for a PCA of %d features", C);
    }
    for (int a = 0; a < k; a++)
        for (int j = 0; j < C; j++) V[(size_t)a * C + j] = (float)sin(1.0 + 0.7 * j + 2.3 * a * (j % 7 + 1));
    orthonormalize(V, k, C);
    for (int it = 0; it < 1000; it++) {
        rayleigh_ritz(V, cov, Wk, Hk, Q, ritz, k, C);
        // V <- the Ritz vectors of the new subspace: orthonormalize Wk, rotate by Q
        orthonormalize(Wk, k, C);
        double settled = 0.0;
        for (int a = 0; a < 3; a++) settled = fmax(settled, fabs(ritz[a] - last[a]) / (fabs(ritz[0]) + 1e-30));
        for (int a = 0; a < 3; a++) last[a] = ritz[a];
        memcpy(V, Wk, (size_t)k * C * sizeof(float));
        if (it >= 10 && settled < 1e-7) break;
    }
    // final Rayleigh-Ritz on the converged subspace
    rayleigh_ritz(V, cov, Wk, Hk, Q, ritz, k, C);
    for (int a = 0; a < 3; a++)
        for (int j = 0; j < C; j++) {
            double d = 0.0;
            for (int b = 0; b < k; b++) d += Q[b * k + a] * V[(size_t)b * C + j];
            p->basis[(size_t)a * C + j] = (float)d;
        }
    orthonormalize(p->basis, 3, C);
    free(V), free(Wk);

    // The variance along each axis (Rayleigh quotient of the covariance), sign and colour range
    for (int ax = 0; ax < 3; ax++) {
        float *v = p->basis + (size_t)ax * C;
        int big = 0;
        for (int j = 1; j < C; j++)
            if (fabsf(v[j]) > fabsf(v[big])) big = j;
        if (v[big] < 0)
            for (int j = 0; j < C; j++) v[j] = -v[j];
        double q = 0.0;
        for (int i = 0; i < C; i++) {
            double row = 0.0;
            for (int j = 0; j < C; j++) row += (double)cov[(size_t)i * C + j] * v[j];
            q += row * v[i];
        }
        p->var[ax] = q / R;
        for (int r = 0; r < R; r++) {
            double d = 0.0;
            for (int j = 0; j < C; j++) d += (double)Xt[(size_t)j * R + r] * v[j];
            proj[r] = (float)d;
        }
        qsort(proj, (size_t)R, sizeof(float), cmp_float);
        p->lo[ax] = proj[(int)(0.01 * (R - 1))];
        p->hi[ax] = proj[(int)(0.99 * (R - 1) + 0.5)];
        if (!(p->hi[ax] - p->lo[ax] > 1e-12f)) p->hi[ax] = p->lo[ax] + 1.0f;
    }
    free(Xt), free(cov), free(proj), free(acc);
    return OCTIC_OK;
}

void octiscope_pca_rgb(uint8_t *rgb, const octiscope_pca *p, const float *X, int R) {
    int C = p->C;
    for (int r = 0; r < R; r++)
        for (int k = 0; k < 3; k++) {
            const float *v = p->basis + (size_t)k * C, *x = X + (size_t)r * C;
            double d = 0.0;
            for (int j = 0; j < C; j++) d += ((double)x[j] - p->mean[j]) * v[j];
            double t = (d - p->lo[k]) / ((double)p->hi[k] - p->lo[k]);
            t = t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t;
            rgb[(size_t)r * 3 + k] = (uint8_t)lround(t * 255.0);
        }
}

void octiscope_pca_free(octiscope_pca *p) {
    free(p->mean), free(p->basis);
    memset(p, 0, sizeof *p);
}

octic_status octiscope_block_maps(const octiscope_analysis *a, int block, uint8_t *computed, uint8_t *pulled) {
    if (block < 0 || block >= a->nblocks)
        return octic_fail(OCTIC_ERR_ARG, "block %d: the model has outputs 0..%d", block, a->nblocks - 1);
    int N = a->n * a->n, C = a->C;
    size_t patch = (size_t)N * C;
    float *X = malloc(8 * patch * sizeof(float)), *tok = malloc((size_t)a->T * C * sizeof(float));
    if (!X || !tok) {
        free(X), free(tok);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for the feature maps of block %d", block);
    }
    for (int g = 0; g < 8; g++)
        memcpy(X + g * patch, octiscope_block_tokens(a, block, g) + (size_t)a->t0 * C, patch * sizeof(float));
    octiscope_pca p;
    octic_status st = octiscope_pca_fit(&p, X, 8 * N, C);
    if (!st) {
        for (int g = 0; g < 8; g++) {
            if (computed) octiscope_pca_rgb(computed + (size_t)g * N * 3, &p, X + g * patch, N);
            if (pulled) {
                octiscope_pull_back(tok, a, block, g);
                octiscope_pca_rgb(pulled + (size_t)g * N * 3, &p, tok + (size_t)a->t0 * C, N);
            }
        }
        octiscope_pca_free(&p);
    }
    free(X), free(tok);
    return st;
}

/* ---- colour maps ------------------------------------------------------------------ */

/* Five anchors at t = 0, 1/4, 1/2, 3/4, 1, interpolated linearly. */
static const uint8_t cmap_anchors[OCTISCOPE_NCMAPS][5][3] = {
    [OCTISCOPE_CMAP_VIRIDIS] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}},
    [OCTISCOPE_CMAP_MAGMA] = {{0, 0, 4}, {81, 18, 124}, {183, 55, 121}, {252, 137, 97}, {252, 253, 191}},
    [OCTISCOPE_CMAP_GRAY] = {{0, 0, 0}, {64, 64, 64}, {128, 128, 128}, {191, 191, 191}, {255, 255, 255}},
};
static const char *const cmap_names[OCTISCOPE_NCMAPS] = {"viridis", "magma", "gray"};

const char *octiscope_cmap_name(octiscope_cmap cm) {
    return cm >= 0 && cm < OCTISCOPE_NCMAPS ? cmap_names[cm] : "viridis";
}

int octiscope_cmap_parse(const char *name) {
    for (int i = 0; i < OCTISCOPE_NCMAPS; i++)
        if (name && strcmp(name, cmap_names[i]) == 0) return i;
    return -1;
}

void octiscope_cmap_rgb(uint8_t rgb[3], octiscope_cmap cm, float t) {
    if (cm < 0 || cm >= OCTISCOPE_NCMAPS) cm = OCTISCOPE_CMAP_VIRIDIS;
    if (!(t > 0.0f)) t = 0.0f; /* NaN too */
    if (t > 1.0f) t = 1.0f;
    float s = t * 4.0f;
    int i = s >= 4.0f ? 3 : (int)s;
    float f = s - i;
    for (int k = 0; k < 3; k++)
        rgb[k] = (uint8_t)lroundf(cmap_anchors[cm][i][k] * (1.0f - f) + cmap_anchors[cm][i + 1][k] * f);
}

void octiscope_cmap_apply(uint8_t *rgb, octiscope_cmap cm, const float *values, int count) {
    float lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < count; i++) {
        if (values[i] < lo) lo = values[i];
        if (values[i] > hi) hi = values[i];
    }
    float range = hi > lo ? hi - lo : 1.0f;
    for (int i = 0; i < count; i++) octiscope_cmap_rgb(rgb + (size_t)i * 3, cm, (values[i] - lo) / range);
}

/* ---- attention, classes, pictures -------------------------------------------------- */

const float *octiscope_attention_row(const octiscope_analysis *a, int block, int g, int h) {
    return a->attn + (((size_t)block * 8 + g) * a->H + h) * a->T + a->t0;
}

void octiscope_top_k(const octiscope_analysis *a, int g, int k, int *idx, float *prob) {
    const float *p = a->probs + (size_t)g * a->classes;
    int found = 0;
    for (int c = 0; c < a->classes; c++) {
        // insertion into the sorted top list; ties keep the lower class index first
        int pos = found;
        while (pos > 0 && p[c] > prob[pos - 1]) pos--;
        if (pos >= k) continue;
        int last = found < k ? found : k - 1;
        for (int j = last; j > pos; j--) idx[j] = idx[j - 1], prob[j] = prob[j - 1];
        idx[pos] = c, prob[pos] = p[c];
        if (found < k) found++;
    }
    for (int j = found; j < k; j++) idx[j] = -1, prob[j] = 0.0f;
}

void octiscope_label_rgb(uint8_t rgb[3], int label) {
    // bit 3k of the label goes to bit 7-k of R, bit 3k+1 to G, bit 3k+2 to B
    rgb[0] = rgb[1] = rgb[2] = 0;
    for (int k = 0; k < 8 && label; k++, label >>= 3)
        for (int c = 0; c < 3; c++) rgb[c] |= (uint8_t)(((label >> c) & 1) << (7 - k));
}

void octiscope_blend_labels(uint8_t *out, const uint8_t *rgb, const uint8_t *labels, int w, int h, float opacity) {
    float a = opacity < 0.0f ? 0.0f : opacity > 1.0f ? 1.0f : opacity;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        uint8_t c[3] = {255, 255, 255};
        if (labels[i] == 0) {
            memcpy(out + i * 3, rgb + i * 3, 3);
            continue;
        }
        if (labels[i] != 255) octiscope_label_rgb(c, labels[i]);
        for (int k = 0; k < 3; k++) out[i * 3 + k] = (uint8_t)lroundf(rgb[i * 3 + k] * (1.0f - a) + c[k] * a);
    }
}

void octiscope_rgb_upscale(uint8_t *out, const uint8_t *in, int w, int h, int factor) {
    int W = w * factor;
    for (int y = 0; y < h * factor; y++)
        for (int x = 0; x < W; x++) memcpy(out + ((size_t)y * W + x) * 3, in + ((size_t)(y / factor) * w + x / factor) * 3, 3);
}

/* ---- CSV -------------------------------------------------------------------------- */

static FILE *csv_open(const char *path, char *tmp, size_t len) {
    snprintf(tmp, len, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) octic_fail(OCTIC_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

static octic_status csv_close(FILE *f, const char *tmp, const char *path) {
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return octic_fail(OCTIC_ERR_IO, "%s: write failed", path);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return octic_fail(OCTIC_ERR_IO, "%s: cannot rename the written file: %s", path, strerror(errno));
    }
    return OCTIC_OK;
}

/* A block output's name in the CSV files: "embedding", then the block it
 * comes out of, numbered from 0 as blocks.N (as the screen and octic
 * equivariance name them). */
static void output_name(FILE *f, int i) {
    if (i == 0)
        fputs("embedding", f);
    else
        fprintf(f, "%d", i - 1);
}

octic_status octiscope_write_equivariance_csv(const octiscope_analysis *a, const char *path) {
    char tmp[4096];
    FILE *f = csv_open(path, tmp, sizeof tmp);
    if (!f) return OCTIC_ERR_IO;
    fprintf(f, "block,octic");
    for (int g = 0; g < 8; g++) fprintf(f, ",%s", octic_group_names[g]);
    fprintf(f, "\n");
    for (int i = 0; i < a->nblocks; i++) {
        output_name(f, i);
        fprintf(f, ",%d", octiscope_block_is_octic(a, i));
        for (int g = 0; g < 8; g++) fprintf(f, ",%.9g", a->eq_err[i * 8 + g]);
        fprintf(f, "\n");
    }
    return csv_close(f, tmp, path);
}

octic_status octiscope_write_energy_csv(const octiscope_analysis *a, const char *path) {
    char tmp[4096];
    FILE *f = csv_open(path, tmp, sizeof tmp);
    if (!f) return OCTIC_ERR_IO;
    fprintf(f, "block");
    for (int k = 0; k < OCTISCOPE_NIRREPS; k++) fprintf(f, ",%s", octiscope_irrep_names[k]);
    fprintf(f, "\n");
    for (int i = 0; i < a->nblocks; i++) {
        if (!octiscope_block_is_octic(a, i)) continue;
        output_name(f, i);
        for (int k = 0; k < OCTISCOPE_NIRREPS; k++) fprintf(f, ",%.9g", a->energy[i * OCTISCOPE_NIRREPS + k]);
        fprintf(f, "\n");
    }
    return csv_close(f, tmp, path);
}

octic_status octiscope_write_top5_csv(const octiscope_analysis *a, const char *path) {
    if (!a->probs) return octic_fail(OCTIC_ERR_ARG, "%s: this model has no classification head", path);
    char tmp[4096];
    FILE *f = csv_open(path, tmp, sizeof tmp);
    if (!f) return OCTIC_ERR_IO;
    fprintf(f, "copy,rank,class,probability\n");
    for (int g = 0; g < 8; g++) {
        int idx[5];
        float p[5];
        octiscope_top_k(a, g, 5, idx, p);
        for (int r = 0; r < 5 && idx[r] >= 0; r++) fprintf(f, "%s,%d,%d,%.9g\n", octic_group_names[g], r + 1, idx[r], p[r]);
    }
    return csv_close(f, tmp, path);
}
