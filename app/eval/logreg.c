/* Multinomial logistic regression by L-BFGS (see logreg.h). */
#include "logreg.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
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
 * the sgemms see a float copy of W. The rows are cut into blocks, each
 * thread takes a contiguous run of them with its own scratch and partial
 * sums (double), and the partials are added in thread order, so a fit does
 * not depend on the timing of the threads. */
typedef struct {
    float *zt;    /* [K, block] logits, then residuals */
    float *gf;    /* [K, D] one block's data gradient */
    double *row;  /* [3, block] per row: max logit, log-sum-exp, 1 if labelled */
    double *g;    /* [K * D + K] data gradient and residual sums, over the thread's blocks */
    double loss;
} fit_scratch;

typedef struct {
    const float *x;    /* [n, D] */
    const int32_t *y;  /* [n] class row of each sample, -1 = skipped */
    int64_t n, block;
    int K, D;
    double C;
    int threads;       /* one scratch each */
    float *wf;         /* [K, D] */
    fit_scratch *sc;   /* [threads] */
    int evaluations;
} fit_problem;

/* exp(x) in double, relative error below 1e-15, as arithmetic a loop can
 * vectorize: x = k ln 2 + r with |r| <= ln 2 / 2, e^r by its Taylor series to
 * degree 13, 2^k put into the exponent bits. 0 below -708 (no subnormals). */
static inline double exp_vec(double x) {
    const double shifter = 0x1.8p52, log2e = 1.4426950408889634, ln2_hi = 0x1.62e42fefa3800p-1,
                 ln2_lo = 0x1.ef35793c76730p-45;
    double xc = x > 709.0 ? 709.0 : x < -708.0 ? -708.0 : x;
    double kd = xc * log2e + shifter;
    uint64_t kbits;
    memcpy(&kbits, &kd, sizeof kbits);
    kd -= shifter;
    double r = (xc - kd * ln2_hi) - kd * ln2_lo;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    /* kbits's low bits hold k + 2^51: k + 1023 in the exponent field */
    uint64_t sbits = (kbits + 1023) << 52;
    double scale;
    memcpy(&scale, &sbits, sizeof scale);
    return x < -708.0 ? 0.0 : p * scale;
}

/* The softmax of the logits zt[K, nb] (+ b) of rows r0.. in place: the
 * residuals p_ik - [k == y_i] (0 for skipped rows), their sums over the rows
 * added to gb[K]; returns the rows' loss. Column-wise: every inner loop runs
 * over the rows, contiguous, in vectors; compiled for AVX-512 and the
 * baseline, the processor choosing at run time. */
__attribute__((target_clones("avx512f", "default")))
static double softmax_block(float *zt, const double *b, const int32_t *y, int nb, int K, double *row, double *gb) {
    double *mx = row, *lse = row + nb, *keep = row + 2 * nb;
    for (int i = 0; i < nb; i++) mx[i] = -INFINITY, lse[i] = 0.0;
    for (int k = 0; k < K; k++) {
        const float *zk = zt + (size_t)k * nb;
        for (int i = 0; i < nb; i++) {
            double v = (double)zk[i] + b[k];
            mx[i] = v > mx[i] ? v : mx[i];
        }
    }
    for (int k = 0; k < K; k++) {
        const float *zk = zt + (size_t)k * nb;
        for (int i = 0; i < nb; i++) lse[i] += exp_vec((double)zk[i] + b[k] - mx[i]);
    }
    double loss = 0.0;
    for (int i = 0; i < nb; i++) {
        int yi = y[i];
        keep[i] = yi >= 0;
        lse[i] = mx[i] + log(lse[i]);
        if (yi >= 0) loss += lse[i] - ((double)zt[(size_t)yi * nb + i] + b[yi]);
        else lse[i] = mx[i]; /* finite; the residuals are multiplied by 0 */
    }
    for (int k = 0; k < K; k++) {
        float *zk = zt + (size_t)k * nb;
        double sum = 0.0;
#pragma omp simd reduction(+ : sum)
        for (int i = 0; i < nb; i++) {
            double r = keep[i] * (exp_vec((double)zk[i] + b[k] - lse[i]) - (y[i] == k ? 1.0 : 0.0));
            sum += r;
            zk[i] = (float)r;
        }
        gb[k] += sum;
    }
    return loss;
}

/* The data term of rows [r0, r0 + nb) added to s: loss, residual sums
 * s->g[K * D + k] and data gradient s->g[K, D], with b the intercepts. */
static void block_term(const fit_problem *fp, const double *b, int64_t r0, int nb, fit_scratch *s) {
    const int K = fp->K, D = fp->D;
    const float *xb = fp->x + r0 * D;
    /* zt[K, nb] = W[K, D] @ x[nb, D]^T: the narrow K as the rows of the
     * product, the layout the gradient's product reads */
    octic_sgemm(1, K, nb, D, fp->wf, D, xb, D, 0.0f, s->zt, nb);
    s->loss += softmax_block(s->zt, b, fp->y + r0, nb, K, s->row, s->g + (size_t)K * D);
    /* gf[K, D] = rt[K, nb] @ x[nb, D], summed over blocks in double */
    octic_sgemm(0, K, D, nb, s->zt, nb, xb, D, 0.0f, s->gf, D);
    for (size_t i = 0; i < (size_t)K * D; i++) s->g[i] += s->gf[i];
}

/* f = G(theta), g = grad G(theta). */
static double evaluate(fit_problem *fp, const double *theta, double *g) {
    const int K = fp->K, D = fp->D;
    const size_t P = (size_t)K * D + K;
    const double *w = theta, *b = theta + (size_t)K * D;
    for (size_t i = 0; i < (size_t)K * D; i++) fp->wf[i] = (float)w[i];
    const int64_t blocks = (fp->n + fp->block - 1) / fp->block;
    const int nt = fp->threads;
    /* thread t: blocks [blocks t / nt, blocks (t + 1) / nt), each sgemm on
     * its own thread (octic_blas_nests) */
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (nt > 1)
    for (int t = 0; t < nt; t++) {
        fit_scratch *s = &fp->sc[t];
        memset(s->g, 0, P * sizeof(double));
        s->loss = 0.0;
        for (int64_t j = blocks * t / nt; j < blocks * (t + 1) / nt; j++) {
            int64_t r0 = j * fp->block;
            if (r0 >= fp->n) break;
            block_term(fp, b, r0, (int)(fp->n - r0 < fp->block ? fp->n - r0 : fp->block), s);
        }
    }
    double loss = 0.0;
    memset(g, 0, P * sizeof(double));
    for (int t = 0; t < nt; t++) {
        loss += fp->sc[t].loss;
        for (size_t i = 0; i < P; i++) g[i] += fp->sc[t].g[i];
    }
    double *gb = g + (size_t)K * D;
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
    fit_problem fp = {x, yc, n, p->block_rows > 0 ? p->block_rows : 8192, K, d, p->C, 1, NULL, NULL, 0};
    /* threads when the sgemm can run on each (octic_blas_nests), as many
     * blocks per thread, of at most block_rows rows */
    int64_t blocks = (n + fp.block - 1) / fp.block;
    if (octic_blas_nests()) fp.threads = octic_cpu_threads();
    if (fp.threads > blocks) fp.threads = (int)blocks;
    blocks = (blocks + fp.threads - 1) / fp.threads * fp.threads;
    fp.block = (n + blocks - 1) / blocks;
    const size_t per_f = (size_t)fp.block * K + (size_t)K * d, per_d = P + 3 * (size_t)fp.block;
    fp.wf = malloc(((size_t)K * d + fp.threads * per_f) * sizeof(float));
    fp.sc = calloc((size_t)fp.threads, sizeof(fit_scratch));
    double *partials = malloc((size_t)fp.threads * per_d * sizeof(double));
    for (int t = 0; fp.wf && fp.sc && partials && t < fp.threads; t++) {
        float *f0 = fp.wf + (size_t)K * d + t * per_f;
        double *d0 = partials + t * per_d;
        fp.sc[t] = (fit_scratch){f0, f0 + (size_t)fp.block * K, d0 + P, d0, 0.0};
    }
    /* one allocation for every double vector: x, g, d, 3 line-search points
     * (x, g each), and the m correction pairs */
    double *mem = calloc(P * (3 + 4 + 2 * (size_t)m) + 2 * (size_t)m, sizeof(double));
    if (!model->labels || !model->coef || !model->intercept || !fp.wf || !fp.sc || !partials || !mem) {
        free(yc), free(fp.wf), free(fp.sc), free(partials), free(mem);
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
    free(yc), free(fp.wf), free(fp.sc), free(partials), free(mem);
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
