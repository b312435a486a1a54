/* The DINOv2 linear heads (see linear.h). */
#include "linear.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "knn.h"

typedef struct {
    int blocks, pool;   /* class tokens used, mean patch token used */
    int offset, width;  /* slice of the record */
    float *w, *b;       /* [n_lr * K, width], [n_lr * K] */
    float *mw, *mb;     /* momentum buffers */
} variant;

struct octic_linear_heads {
    octic_linear_params p;
    int n_variants, record;
    variant v[4];
    float *mem;
    float *logits, *dlogits_t; /* [B, n_lr * K], [n_lr * K, B] scratch */
    int scratch_b;
};

void octic_linear_defaults(octic_linear_params *p, int dim, int blocks, int classes) {
    static const double lrs[] = {1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1};
    memset(p, 0, sizeof *p);
    p->dim = dim;
    p->blocks = blocks;
    p->classes = classes;
    p->n_lr = (int)(sizeof lrs / sizeof lrs[0]);
    memcpy(p->lrs, lrs, sizeof lrs);
    p->batch_size = 128;
    p->iterations = 12500;
    p->momentum = 0.9;
    p->seed = 0;
}

/* splitmix64 and Box-Muller: deterministic N(0, 1) draws. */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double normal(uint64_t *s) {
    double u1 = ((next_u64(s) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (next_u64(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

octic_status octic_linear_create(const octic_linear_params *p, octic_linear_heads **out) {
    *out = NULL;
    if (p->dim <= 0 || p->blocks <= 0 || p->classes < 2 || p->n_lr <= 0 || p->n_lr > OCTIC_LINEAR_MAX_LR ||
        p->batch_size <= 0 || p->iterations <= 0)
        return octic_fail(OCTIC_ERR_ARG,
                          "linear probe: dim %d, blocks %d, classes %d, %d learning rates, batch %d, "
                          "%lld iterations",
                          p->dim, p->blocks, p->classes, p->n_lr, p->batch_size, (long long)p->iterations);
    octic_linear_heads *h = calloc(1, sizeof *h);
    if (!h) return octic_fail(OCTIC_ERR_NOMEM, "linear probe: out of memory");
    h->p = *p;
    const int C = p->dim, nb = p->blocks, R = p->n_lr * p->classes;
    h->record = (nb + 1) * C;
    /* variants: (1, no pool), (1, pool), (nb, no pool), (nb, pool); a single
     * block model has only the first two */
    int nv = 0;
    for (int bi = 0; bi < 2; bi++) {
        int blocks = bi == 0 ? 1 : nb;
        if (bi == 1 && nb == 1) break;
        for (int pool = 0; pool < 2; pool++) {
            variant *v = &h->v[nv++];
            v->blocks = blocks;
            v->pool = pool;
            v->offset = (nb - blocks) * C;
            v->width = (blocks + pool) * C;
        }
    }
    h->n_variants = nv;
    size_t total = 0;
    for (int i = 0; i < nv; i++) total += 2 * ((size_t)R * h->v[i].width + R);
    h->mem = calloc(total, sizeof(float));
    if (!h->mem) {
        free(h);
        return octic_fail(OCTIC_ERR_NOMEM, "linear probe: out of memory for %d heads", nv * p->n_lr);
    }
    uint64_t seed = p->seed ^ 0x6f63746963ULL;
    float *q = h->mem;
    for (int i = 0; i < nv; i++) {
        variant *v = &h->v[i];
        size_t nw = (size_t)R * v->width;
        v->w = q, q += nw;
        v->b = q, q += R;
        v->mw = q, q += nw;
        v->mb = q, q += R;
        for (size_t j = 0; j < nw; j++) v->w[j] = (float)(0.01 * normal(&seed));
    }
    *out = h;
    return OCTIC_OK;
}

void octic_linear_free(octic_linear_heads *h) {
    if (!h) return;
    free(h->mem);
    free(h->logits);
    free(h->dlogits_t);
    free(h);
}

int octic_linear_head_count(const octic_linear_heads *h) { return h->n_variants * h->p.n_lr; }
int octic_linear_variant_count(const octic_linear_heads *h) { return h->n_variants; }
int octic_linear_variant_width(const octic_linear_heads *h, int v) { return h->v[v].width; }
const float *octic_linear_weights(const octic_linear_heads *h, int v) { return h->v[v].w; }
const float *octic_linear_bias(const octic_linear_heads *h, int v) { return h->v[v].b; }

void octic_linear_head_name(const octic_linear_heads *h, int head, char *buf, int len) {
    const variant *v = &h->v[head / h->p.n_lr];
    snprintf(buf, (size_t)len, "blocks=%d avgpool=%d lr=%g", v->blocks, v->pool, h->p.lrs[head % h->p.n_lr]);
}

static octic_status ensure_scratch(octic_linear_heads *h, int B) {
    if (B <= h->scratch_b) return OCTIC_OK;
    size_t n = (size_t)B * h->p.n_lr * h->p.classes;
    float *a = realloc(h->logits, n * sizeof(float)), *b = NULL;
    if (a) h->logits = a;
    if (a) b = realloc(h->dlogits_t, n * sizeof(float));
    if (b) h->dlogits_t = b;
    if (!a || !b) return octic_fail(OCTIC_ERR_NOMEM, "linear probe: out of memory for a batch of %d", B);
    h->scratch_b = B;
    return OCTIC_OK;
}

/* logits[B, R] = records[:, slice] @ w^T + b */
static void forward(const octic_linear_heads *h, const variant *v, const float *records, int B, float *logits) {
    const int R = h->p.n_lr * h->p.classes;
    octic_sgemm(1, B, R, v->width, records + v->offset, h->record, v->w, v->width, 0.0f, logits, R);
    for (int i = 0; i < B; i++)
        for (int r = 0; r < R; r++) logits[(size_t)i * R + r] += v->b[r];
}

octic_status octic_linear_step(octic_linear_heads *h, const float *records, const int32_t *labels, int B,
                               int64_t t, double *loss) {
    const int K = h->p.classes, L = h->p.n_lr, R = L * K;
    octic_status st = ensure_scratch(h, B);
    if (st != OCTIC_OK) return st;
    for (int i = 0; i < B; i++)
        if (labels[i] < 0 || labels[i] >= K)
            return octic_fail(OCTIC_ERR_ARG, "linear probe: label %d outside [0, %d)", labels[i], K);
    const double schedule = 0.5 * (1.0 + cos(M_PI * (double)t / (double)h->p.iterations));
    const double scale = (double)h->p.batch_size / 256.0;
    for (int vi = 0; vi < h->n_variants; vi++) {
        variant *v = &h->v[vi];
        forward(h, v, records, B, h->logits);
        /* dlogits = (softmax - onehot) / B, per head, stored transposed [R, B] */
        for (int i = 0; i < B; i++)
            for (int l = 0; l < L; l++) {
                const float *z = h->logits + (size_t)i * R + l * K;
                double m = z[0];
                for (int k = 1; k < K; k++) m = fmax(m, z[k]);
                double s = 0.0;
                for (int k = 0; k < K; k++) s += exp(z[k] - m);
                double lse = m + log(s);
                if (loss) {
                    if (i == 0) loss[vi * L + l] = 0.0;
                    loss[vi * L + l] += (lse - z[labels[i]]) / B;
                }
                for (int k = 0; k < K; k++) {
                    double g = (exp(z[k] - lse) - (k == labels[i])) / B;
                    h->dlogits_t[(size_t)(l * K + k) * B + i] = (float)g;
                }
            }
        /* grad w[R, width] = dlogits_t[R, B] @ records[B, slice]; computed into
         * the momentum update directly: mw = momentum * mw + grad */
        const float beta = t == 0 ? 0.0f : (float)h->p.momentum;
        octic_sgemm(0, R, v->width, B, h->dlogits_t, B, records + v->offset, h->record, beta, v->mw, v->width);
        for (int r = 0; r < R; r++) {
            double gb = 0.0;
            for (int i = 0; i < B; i++) gb += h->dlogits_t[(size_t)r * B + i];
            v->mb[r] = (float)(beta * v->mb[r] + gb);
        }
        for (int l = 0; l < L; l++) {
            const float lr = (float)(h->p.lrs[l] * scale * schedule);
            float *w = v->w + (size_t)l * K * v->width, *mw = v->mw + (size_t)l * K * v->width;
            for (size_t j = 0; j < (size_t)K * v->width; j++) w[j] -= lr * mw[j];
            for (int k = 0; k < K; k++) v->b[l * K + k] -= lr * v->mb[l * K + k];
        }
    }
    return OCTIC_OK;
}

octic_status octic_linear_score(const octic_linear_heads *h, const float *records, const int32_t *labels,
                                int64_t n, int64_t *top1, int64_t *top5) {
    const int K = h->p.classes, L = h->p.n_lr, R = L * K;
    const int chunk = 256;
    float *logits = malloc((size_t)chunk * R * sizeof(float));
    if (!logits) return octic_fail(OCTIC_ERR_NOMEM, "linear probe: out of memory scoring");
    for (int64_t i0 = 0; i0 < n; i0 += chunk) {
        int B = (int)(n - i0 < chunk ? n - i0 : chunk);
        for (int vi = 0; vi < h->n_variants; vi++) {
            forward(h, &h->v[vi], records + i0 * h->record, B, logits);
            for (int i = 0; i < B; i++)
                for (int l = 0; l < L; l++) {
                    const float *z = logits + (size_t)i * R + l * K;
                    top1[vi * L + l] += octic_in_top(z, K, labels[i0 + i], 1);
                    top5[vi * L + l] += octic_in_top(z, K, labels[i0 + i], 5);
                }
        }
    }
    free(logits);
    return OCTIC_OK;
}
