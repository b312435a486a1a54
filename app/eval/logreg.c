/* Multinomial logistic regression by L-BFGS (see logreg.h). */
#include "logreg.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"

void octic_logreg_defaults(octic_logreg_params *p, double C) {
    p->C = C;
    p->max_iter = 1000;
    p->tol = 1e-12;
    p->ftol = -1.0; /* off: near the optimum a float32 data term no longer resolves G */
    p->linesearch_max_iter = 50;
    p->memory = 5;
    p->block_rows = 8192;
}

void octic_logreg_free(octic_logreg_model *model) {
    free(model->labels);
    free(model->coef);
    free(model->intercept);
    memset(model, 0, sizeof *model);
}

/* The data and scratch of one fit. theta = [W (K x D) | b (K)] in double;
 * the sgemms see a float copy of W. */
typedef struct {
    const float *x;    /* [n, D] */
    const int32_t *y;  /* [n] class row of each sample, -1 = skipped */
    int64_t n, block;
    int K, D;
    double C;
    float *wf;         /* [K, D] */
    float *z;          /* [block, K] logits, then residuals */
    float *rt;         /* [K, block] residuals transposed */
    float *gf;         /* [K, D] data gradient */
    int evaluations;
} fit_problem;

/* f = G(theta), g = grad G(theta). */
static double evaluate(fit_problem *fp, const double *theta, double *g) {
    const int K = fp->K, D = fp->D;
    const double *w = theta, *b = theta + (size_t)K * D;
    for (size_t i = 0; i < (size_t)K * D; i++) fp->wf[i] = (float)w[i];
    double *gb = g + (size_t)K * D;
    for (int k = 0; k < K; k++) gb[k] = 0.0;
    double loss = 0.0;
    for (int64_t r0 = 0; r0 < fp->n; r0 += fp->block) {
        int nb = (int)(fp->n - r0 < fp->block ? fp->n - r0 : fp->block);
        const float *xb = fp->x + r0 * D;
        /* z[nb, K] = x[nb, D] @ W[K, D]^T */
        octic_sgemm(1, nb, K, D, xb, D, fp->wf, D, 0.0f, fp->z, K);
        for (int i = 0; i < nb; i++) {
            float *zi = fp->z + (size_t)i * K;
            int yi = fp->y[r0 + i];
            if (yi < 0) {
                for (int k = 0; k < K; k++) fp->rt[(size_t)k * nb + i] = 0.0f;
                continue;
            }
            double m = -INFINITY;
            for (int k = 0; k < K; k++) {
                double v = (double)zi[k] + b[k];
                if (v > m) m = v;
            }
            double s = 0.0;
            for (int k = 0; k < K; k++) s += exp((double)zi[k] + b[k] - m);
            double lse = m + log(s);
            loss += lse - ((double)zi[yi] + b[yi]);
            for (int k = 0; k < K; k++) {
                double r = exp((double)zi[k] + b[k] - lse) - (k == yi);
                gb[k] += r;
                fp->rt[(size_t)k * nb + i] = (float)r;
            }
        }
        /* gf[K, D] = rt[K, nb] @ x[nb, D], summed over blocks in double */
        octic_sgemm(0, K, D, nb, fp->rt, nb, xb, D, 0.0f, fp->gf, D);
        for (size_t i = 0; i < (size_t)K * D; i++) g[i] = (r0 == 0 ? 0.0 : g[i]) + fp->gf[i];
    }
    /* The data gradient sums to zero over the classes (sum_k (p_ik - y_ik) = 0);
     * float32 rounding breaks that, and at a large C nothing else would stop
     * the parameters drifting along that flat direction. Restore it. */
    for (int c = 0; c < D; c++) {
        double mean = 0.0;
        for (int k = 0; k < K; k++) mean += g[(size_t)k * D + c];
        mean /= K;
        for (int k = 0; k < K; k++) g[(size_t)k * D + c] -= mean;
    }
    double mean_b = 0.0;
    for (int k = 0; k < K; k++) mean_b += gb[k];
    for (int k = 0; k < K; k++) gb[k] -= mean_b / K;
    double reg = 0.0;
    for (size_t i = 0; i < (size_t)K * D; i++) {
        reg += w[i] * w[i];
        g[i] += w[i] / fp->C;
    }
    fp->evaluations++;
    return loss + 0.5 * reg / fp->C;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static double max_abs(const double *a, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* Minimizer of the cubic through (a, fa, da) and (b, fb, db), kept inside
 * the interval with a margin; bisection when the cubic has none. */
static double cubic_step(double a, double fa, double da, double b, double fb, double db) {
    double lo = fmin(a, b), hi = fmax(a, b), margin = 0.1 * (hi - lo);
    double d1 = da + db - 3.0 * (fa - fb) / (a - b);
    double disc = d1 * d1 - da * db;
    double t = 0.5 * (a + b);
    if (disc >= 0.0 && isfinite(disc)) {
        double d2 = copysign(sqrt(disc), b - a);
        double den = db - da + 2.0 * d2;
        if (den != 0.0) {
            double c = b - (b - a) * (db + d2 - d1) / den;
            if (isfinite(c)) t = c;
        }
    }
    if (t < lo + margin) t = lo + margin;
    if (t > hi - margin) t = hi - margin;
    return t;
}

/* A point of the line search: x + alpha d with its value, gradient, slope. */
typedef struct {
    double alpha, f, slope;
    double *x, *g;
} ls_point;

static void ls_eval(fit_problem *fp, const double *x0, const double *d, size_t P, ls_point *pt) {
    for (size_t i = 0; i < P; i++) pt->x[i] = x0[i] + pt->alpha * d[i];
    pt->f = evaluate(fp, pt->x, pt->g);
    pt->slope = dot(pt->g, d, P);
}

/* Strong-Wolfe line search (Nocedal and Wright, algorithms 3.5 and 3.6) from
 * (x0, f0, slope0 < 0) along d, with two point buffers. Returns the buffer
 * holding the accepted point (x, f, g), or NULL when no point decreased f
 * enough. Only the low end of the zoom interval can be returned besides the
 * trial, so it is the one kept in a buffer; the high end is scalars. */
static ls_point *line_search(fit_problem *fp, const double *x0, double f0, double slope0, const double *d,
                             size_t P, double alpha0, int max_evals, ls_point *buf1, ls_point *buf2) {
    const double c1 = 1e-4, c2 = 0.9;
    /* Near the optimum the decrease Armijo asks for falls below the rounding
     * of a float32 data term; then the approximate Wolfe conditions of Hager
     * and Zhang (2005) decide on the slope, which stays accurate: f within
     * eps |f0| of f0 and c2 slope0 <= slope <= (1 - 2 c1) |slope0|. */
    const double eps = 1e-6 * fabs(f0);
#define APPROX_WOLFE(pt)                                                                          \
    (isfinite((pt)->f) && (pt)->f <= f0 + eps && (pt)->slope >= c2 * slope0 &&                    \
     (pt)->slope <= (1.0 - 2.0 * c1) * -slope0)
    ls_point *tr = buf1, *lob = buf2, *swap;
    double lo_a = 0.0, lo_f = f0, lo_s = slope0, hi_a = 0.0, hi_f = 0.0, hi_s = 0.0;
    int lo_in_buf = 0, evals = 0, zoom = 0;
    double a = alpha0;
    /* bracketing: extrapolate until an interval holds a Wolfe point */
    while (evals < max_evals) {
        tr->alpha = a;
        ls_eval(fp, x0, d, P, tr);
        evals++;
        if (APPROX_WOLFE(tr)) return tr;
        if (!isfinite(tr->f) || tr->f > f0 + c1 * a * slope0 || (evals > 1 && tr->f >= lo_f)) {
            hi_a = tr->alpha, hi_f = tr->f, hi_s = tr->slope;
            zoom = 1;
            break;
        }
        if (fabs(tr->slope) <= -c2 * slope0) return tr;
        if (tr->slope >= 0.0) {
            hi_a = lo_a, hi_f = lo_f, hi_s = lo_s;
            lo_a = tr->alpha, lo_f = tr->f, lo_s = tr->slope;
            swap = tr, tr = lob, lob = swap, lo_in_buf = 1;
            zoom = 1;
            break;
        }
        lo_a = tr->alpha, lo_f = tr->f, lo_s = tr->slope;
        swap = tr, tr = lob, lob = swap, lo_in_buf = 1;
        a = 2.0 * a;
    }
    while (zoom && evals < max_evals && fabs(hi_a - lo_a) > 1e-16 * fmax(1.0, lo_a)) {
        tr->alpha = cubic_step(lo_a, lo_f, lo_s, hi_a, hi_f, hi_s);
        ls_eval(fp, x0, d, P, tr);
        evals++;
        if (APPROX_WOLFE(tr)) return tr;
        if (!isfinite(tr->f) || tr->f > f0 + c1 * tr->alpha * slope0 || tr->f >= lo_f) {
            hi_a = tr->alpha, hi_f = tr->f, hi_s = tr->slope;
            continue;
        }
        if (fabs(tr->slope) <= -c2 * slope0) return tr;
        if (tr->slope * (hi_a - lo_a) >= 0.0) hi_a = lo_a, hi_f = lo_f, hi_s = lo_s;
        lo_a = tr->alpha, lo_f = tr->f, lo_s = tr->slope;
        swap = tr, tr = lob, lob = swap, lo_in_buf = 1;
    }
    /* out of evaluations: the lowest point with sufficient decrease, if any */
    return lo_in_buf && lo_a > 0.0 && lo_f < f0 ? lob : NULL;
#undef APPROX_WOLFE
}

octic_status octic_logreg_fit(const float *x, const int32_t *y, int64_t n, int d, const octic_logreg_params *p,
                              octic_logreg_model *model, octic_logreg_progress_fn progress, void *user) {
    memset(model, 0, sizeof *model);
    if (n <= 0 || d <= 0 || !(p->C > 0.0) || p->max_iter < 0 || p->memory <= 0 || p->linesearch_max_iter <= 0)
        return octic_fail(OCTIC_ERR_ARG, "logistic regression: n=%lld, d=%d, C=%g, max_iter=%d, memory=%d",
                          (long long)n, d, p->C, p->max_iter, p->memory);
    /* classes present, ascending */
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (int64_t i = 0; i < n; i++)
        if (y[i] >= 0) lo = y[i] < lo ? y[i] : lo, hi = y[i] > hi ? y[i] : hi;
    if (lo > hi) return octic_fail(OCTIC_ERR_ARG, "logistic regression: no labelled samples");
    if ((int64_t)hi - lo > 1 << 20) return octic_fail(OCTIC_ERR_ARG, "logistic regression: labels span too wide");
    int span = hi - lo + 1;
    int32_t *row_of = malloc((size_t)span * sizeof(int32_t));
    int32_t *yc = malloc((size_t)n * sizeof(int32_t));
    if (!row_of || !yc) {
        free(row_of), free(yc);
        return octic_fail(OCTIC_ERR_NOMEM, "logistic regression: out of memory");
    }
    for (int i = 0; i < span; i++) row_of[i] = -1;
    for (int64_t i = 0; i < n; i++)
        if (y[i] >= 0) row_of[y[i] - lo] = 0;
    int K = 0;
    for (int i = 0; i < span; i++)
        if (row_of[i] == 0) row_of[i] = K++;
    for (int64_t i = 0; i < n; i++) yc[i] = y[i] >= 0 ? row_of[y[i] - lo] : -1;
    if (K < 2) {
        free(row_of), free(yc);
        return octic_fail(OCTIC_ERR_ARG, "logistic regression needs at least 2 classes in the labels, found %d", K);
    }
    model->classes = K;
    model->dim = d;
    model->labels = malloc((size_t)K * sizeof(int32_t));
    model->coef = malloc((size_t)K * d * sizeof(float));
    model->intercept = malloc((size_t)K * sizeof(float));
    for (int i = 0, k = 0; i < span && model->labels; i++)
        if (row_of[i] >= 0) model->labels[k++] = lo + i;
    free(row_of);

    const size_t P = (size_t)K * d + K;
    const int m = p->memory;
    fit_problem fp = {x, yc, n, p->block_rows > 0 ? p->block_rows : 8192, K, d, p->C, NULL, NULL, NULL, NULL, 0};
    if (fp.block > n) fp.block = n;
    fp.wf = malloc((size_t)K * d * sizeof(float));
    fp.z = malloc((size_t)fp.block * K * sizeof(float));
    fp.rt = malloc((size_t)fp.block * K * sizeof(float));
    fp.gf = malloc((size_t)K * d * sizeof(float));
    /* one allocation for every double vector: x, g, d, 3 line-search points
     * (x, g each), and the m correction pairs */
    double *mem = calloc(P * (3 + 4 + 2 * (size_t)m) + 2 * (size_t)m, sizeof(double));
    if (!model->labels || !model->coef || !model->intercept || !fp.wf || !fp.z || !fp.rt || !fp.gf || !mem) {
        free(yc), free(fp.wf), free(fp.z), free(fp.rt), free(fp.gf), free(mem);
        octic_logreg_free(model);
        return octic_fail(OCTIC_ERR_NOMEM, "logistic regression: out of memory for %d classes x %d", K, d);
    }
    double *xk = mem, *gk = xk + P, *dir = gk + P;
    ls_point buf1 = {0, 0, 0, dir + P, dir + 2 * P}, buf2 = {0, 0, 0, dir + 3 * P, dir + 4 * P};
    double *S = dir + 5 * P, *Y = S + (size_t)m * P, *rho = Y + (size_t)m * P, *alpha = rho + m;

    octic_status st = OCTIC_OK;
    enum { FTOL_WINDOW = 10 };
    double history[FTOL_WINDOW];
    double f = evaluate(&fp, xk, gk);
    history[0] = f;
    int n_pairs = 0, head = 0, it = 0;
    model->stop = "max_iter";
    for (;;) {
        if (max_abs(gk, P) <= p->tol) { model->stop = "gtol"; break; }
        if (it >= p->max_iter) break;
        /* two-loop recursion: dir = -H g */
        for (size_t i = 0; i < P; i++) dir[i] = -gk[i];
        for (int j = 0; j < n_pairs; j++) {
            int s = (head - 1 - j + m) % m;
            alpha[s] = rho[s] * dot(S + (size_t)s * P, dir, P);
            for (size_t i = 0; i < P; i++) dir[i] -= alpha[s] * Y[(size_t)s * P + i];
        }
        if (n_pairs > 0) {
            int s = (head - 1 + m) % m;
            double gamma = dot(S + (size_t)s * P, Y + (size_t)s * P, P) / dot(Y + (size_t)s * P, Y + (size_t)s * P, P);
            for (size_t i = 0; i < P; i++) dir[i] *= gamma;
        }
        for (int j = n_pairs - 1; j >= 0; j--) {
            int s = (head - 1 - j + m) % m;
            double beta = rho[s] * dot(Y + (size_t)s * P, dir, P);
            for (size_t i = 0; i < P; i++) dir[i] += (alpha[s] - beta) * S[(size_t)s * P + i];
        }
        double slope = dot(gk, dir, P);
        if (!(slope < 0.0)) { /* not a descent direction: restart from steepest descent */
            n_pairs = 0;
            for (size_t i = 0; i < P; i++) dir[i] = -gk[i];
            slope = dot(gk, dir, P);
        }
        double a0 = n_pairs == 0 ? fmin(1.0, 1.0 / sqrt(dot(dir, dir, P))) : 1.0;
        ls_point *next = line_search(&fp, xk, f, slope, dir, P, a0, p->linesearch_max_iter, &buf1, &buf2);
        if (!next) {
            model->stop = "linesearch";
            break;
        }
        it++;
        /* new pair s = x+ - x, y = g+ - g */
        double *sv = S + (size_t)head * P, *yv = Y + (size_t)head * P;
        for (size_t i = 0; i < P; i++) sv[i] = next->x[i] - xk[i], yv[i] = next->g[i] - gk[i];
        double sy = dot(sv, yv, P);
        if (sy > 1e-10 * dot(yv, yv, P)) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % m;
            if (n_pairs < m) n_pairs++;
        }
        f = next->f;
        memcpy(xk, next->x, P * sizeof(double));
        memcpy(gk, next->g, P * sizeof(double));
        if (progress && progress(user, it, p->max_iter)) {
            st = octic_fail(OCTIC_ERR_ARG, "logistic regression: cancelled");
            break;
        }
        /* the decrease over the last FTOL_WINDOW iterations (as liblbfgs's
         * and cuML's "past"/"delta" test): one short step does not stop it */
        history[it % FTOL_WINDOW] = f;
        if (it >= FTOL_WINDOW) {
            double old = history[(it + 1) % FTOL_WINDOW];
            if ((old - f) / fmax(fmax(fabs(old), fabs(f)), 1.0) <= p->ftol) { model->stop = "ftol"; break; }
        }
    }
    for (size_t i = 0; i < (size_t)K * d; i++) model->coef[i] = (float)xk[i];
    for (int k = 0; k < K; k++) model->intercept[k] = (float)xk[(size_t)K * d + k];
    model->iterations = it;
    model->evaluations = fp.evaluations;
    model->objective = f;
    model->grad_max = max_abs(gk, P);
    free(yc), free(fp.wf), free(fp.z), free(fp.rt), free(fp.gf), free(mem);
    if (st != OCTIC_OK) octic_logreg_free(model);
    return st;
}

octic_status octic_logreg_predict(const octic_logreg_model *model, const float *x, int64_t n, int32_t *pred) {
    const int K = model->classes, D = model->dim;
    const int64_t block = 4096;
    float *z = malloc((size_t)(n < block ? (n > 0 ? n : 1) : block) * K * sizeof(float));
    if (!z) return octic_fail(OCTIC_ERR_NOMEM, "logistic regression: out of memory predicting");
    for (int64_t r0 = 0; r0 < n; r0 += block) {
        int nb = (int)(n - r0 < block ? n - r0 : block);
        octic_sgemm(1, nb, K, D, x + r0 * D, D, model->coef, D, 0.0f, z, K);
        for (int i = 0; i < nb; i++) {
            const float *zi = z + (size_t)i * K;
            int bestk = 0;
            float bestv = zi[0] + model->intercept[0];
            for (int k = 1; k < K; k++) {
                float v = zi[k] + model->intercept[k];
                if (v > bestv) bestv = v, bestk = k;
            }
            pred[r0 + i] = model->labels[bestk];
        }
    }
    free(z);
    return OCTIC_OK;
}

double octic_logreg_objective(const octic_logreg_model *model, const float *x, const int32_t *y, int64_t n,
                              double C) {
    const int K = model->classes, D = model->dim;
    double loss = 0.0, reg = 0.0;
    double *zi = malloc((size_t)K * sizeof(double));
    if (!zi) return NAN;
    for (int64_t i = 0; i < n; i++) {
        int yi = -1;
        for (int k = 0; k < K; k++)
            if (model->labels[k] == y[i]) yi = k;
        if (yi < 0) continue;
        double mx = -INFINITY;
        for (int k = 0; k < K; k++) {
            double v = model->intercept[k];
            for (int c = 0; c < D; c++) v += (double)model->coef[(size_t)k * D + c] * x[i * D + c];
            zi[k] = v;
            mx = fmax(mx, v);
        }
        double s = 0.0;
        for (int k = 0; k < K; k++) s += exp(zi[k] - mx);
        loss += mx + log(s) - zi[yi];
    }
    for (size_t i = 0; i < (size_t)K * D; i++) reg += (double)model->coef[i] * model->coef[i];
    free(zi);
    return loss + 0.5 * reg / C;
}
