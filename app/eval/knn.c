/* k-nearest neighbours, blocked over BLAS (see knn.h). */
#include "knn.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blas.h"

void octic_l2_normalize(float *x, int64_t n, int d) {
    for (int64_t i = 0; i < n; i++) {
        float *row = x + i * d;
        double ss = 0.0;
        for (int j = 0; j < d; j++) ss += (double)row[j] * row[j];
        if (ss <= 0.0) continue;
        /* torch.nn.functional.normalize: x / max(||x||, 1e-12) */
        float inv = (float)(1.0 / fmax(sqrt(ss), 1e-12));
        for (int j = 0; j < d; j++) row[j] *= inv;
    }
}

/* A bounded heap of the best k (score, index) pairs of one query; the root
 * is the worst kept pair. "Better" is a higher score, then a lower index. */
static int better(float sa, int32_t ia, float sb, int32_t ib) { return sa > sb || (sa == sb && ia < ib); }

static void heap_sift_down(float *s, int32_t *ix, int size, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, w = i;
        if (l < size && better(s[w], ix[w], s[l], ix[l])) w = l;
        if (r < size && better(s[w], ix[w], s[r], ix[r])) w = r;
        if (w == i) return;
        float ts = s[i]; s[i] = s[w]; s[w] = ts;
        int32_t ti = ix[i]; ix[i] = ix[w]; ix[w] = ti;
        i = w;
    }
}

static void heap_sift_up(float *s, int32_t *ix, int i) {
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!better(s[p], ix[p], s[i], ix[i])) return;
        float ts = s[i]; s[i] = s[p]; s[p] = ts;
        int32_t ti = ix[i]; ix[i] = ix[p]; ix[p] = ti;
        i = p;
    }
}

static void heap_push(float *s, int32_t *ix, int *size, int k, float score, int32_t index) {
    if (*size < k) {
        s[*size] = score;
        ix[*size] = index;
        heap_sift_up(s, ix, (*size)++);
    } else if (better(score, index, s[0], ix[0])) {
        s[0] = score;
        ix[0] = index;
        heap_sift_down(s, ix, k, 0);
    }
}

/* Empties the heap into best-first order. */
static void heap_sorted(float *s, int32_t *ix, int size, float *out_s, int32_t *out_ix) {
    for (int n = size; n > 0; n--) {
        out_s[n - 1] = s[0];
        out_ix[n - 1] = ix[0];
        s[0] = s[n - 1];
        ix[0] = ix[n - 1];
        heap_sift_down(s, ix, n - 1, 0);
    }
}

/* Merging one block of similarities into the heaps of queries [q0, q1). */
typedef struct {
    const float *sims;
    int nb;
    int64_t t0;
    const float *tnorm;
    octic_distance dist;
    int k;
    float *hs;
    int32_t *hi;
    int *hsize;
    int64_t q0, q1;
} select_job;

static void *select_run(void *arg) {
    const select_job *jb = arg;
    const int k = jb->k, nb = jb->nb;
    for (int64_t q = jb->q0; q < jb->q1; q++) {
        const float *row = jb->sims + q * nb;
        float *s = jb->hs + q * k;
        int32_t *ix = jb->hi + q * k;
        for (int j = 0; j < nb; j++) {
            float score = jb->dist == OCTIC_DIST_L2 ? 2.0f * row[j] - jb->tnorm[jb->t0 + j] : row[j];
            /* quick reject against the worst kept pair once the heap is full */
            if (jb->hsize[q] == k && score < s[0]) continue;
            heap_push(s, ix, &jb->hsize[q], k, score, (int32_t)(jb->t0 + j));
        }
    }
    return NULL;
}

/* The selection runs on every core, queries split between threads (the
 * sgemm before it is threaded by the BLAS). */
static void select_parallel(const select_job *all) {
    enum { MAX_THREADS = 16 };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int t = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
    const int64_t m = all->q1 - all->q0;
    if (m < 64) t = 1;
    pthread_t th[MAX_THREADS];
    select_job jobs[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 0; i < t; i++) {
        jobs[i] = *all;
        jobs[i].q0 = all->q0 + m * i / t;
        jobs[i].q1 = all->q0 + m * (i + 1) / t;
        if (i > 0) started[i] = pthread_create(&th[i], NULL, select_run, &jobs[i]) == 0;
        if (i > 0 && !started[i]) select_run(&jobs[i]);
    }
    select_run(&jobs[0]);
    for (int i = 1; i < t; i++)
        if (started[i]) pthread_join(th[i], NULL);
}

/* Neighbours of m queries against all n train rows.
 * sims: scratch [m, block_n]; hs, hi: heaps [m, k]; tnorm: [n] squared norms for L2. */
static void neighbors_block(const float *train, int64_t n, const float *tnorm, const float *queries, int64_t m,
                            int d, int k, octic_distance dist, int64_t block_n, float *sims, float *hs,
                            int32_t *hi, int *hsize, int32_t *idx, float *sim) {
    for (int64_t q = 0; q < m; q++) hsize[q] = 0;
    for (int64_t t0 = 0; t0 < n; t0 += block_n) {
        int nb = (int)(n - t0 < block_n ? n - t0 : block_n);
        /* sims[m, nb] = queries[m, d] @ train[t0:t0+nb, d]^T */
        octic_sgemm(1, (int)m, nb, d, queries, d, train + t0 * d, d, 0.0f, sims, nb);
        select_parallel(&(select_job){sims, nb, t0, tnorm, dist, k, hs, hi, hsize, 0, m});
    }
    for (int64_t q = 0; q < m; q++) {
        float tmp_s[k];
        float *out_s = sim ? sim + q * k : tmp_s;
        heap_sorted(hs + q * k, hi + q * k, hsize[q], out_s, idx + q * k);
        for (int j = hsize[q]; j < k; j++) { /* fewer train rows than k */
            out_s[j] = -INFINITY;
            idx[q * k + j] = -1;
        }
        if (dist == OCTIC_DIST_L2 && sim) {
            double qq = 0.0;
            for (int c = 0; c < d; c++) qq += (double)queries[q * d + c] * queries[q * d + c];
            for (int j = 0; j < hsize[q]; j++) out_s[j] -= (float)qq;
        }
    }
}

typedef struct {
    float *sims, *hs, *tnorm;
    int32_t *hi;
    int *hsize;
} knn_scratch;

static void scratch_free(knn_scratch *s) {
    free(s->sims);
    free(s->hs);
    free(s->tnorm);
    free(s->hi);
    free(s->hsize);
}

static octic_status scratch_alloc(knn_scratch *s, const float *train, int64_t n, int d, int64_t bq,
                                  int64_t bn, int k, octic_distance dist) {
    memset(s, 0, sizeof *s);
    s->sims = malloc((size_t)bq * (size_t)bn * sizeof(float));
    s->hs = malloc((size_t)bq * (size_t)k * sizeof(float));
    s->hi = malloc((size_t)bq * (size_t)k * sizeof(int32_t));
    s->hsize = malloc((size_t)bq * sizeof(int));
    if (dist == OCTIC_DIST_L2) {
        s->tnorm = malloc((size_t)n * sizeof(float));
        if (s->tnorm)
            for (int64_t i = 0; i < n; i++) {
                double ss = 0.0;
                for (int c = 0; c < d; c++) ss += (double)train[i * d + c] * train[i * d + c];
                s->tnorm[i] = (float)ss;
            }
    }
    if (!s->sims || !s->hs || !s->hi || !s->hsize || (dist == OCTIC_DIST_L2 && !s->tnorm)) {
        scratch_free(s);
        return octic_fail(OCTIC_ERR_NOMEM, "k-NN: out of memory for a %lld x %lld block",
                          (long long)bq, (long long)bn);
    }
    return OCTIC_OK;
}

static int64_t default_block_n(int64_t n) { return n < 16384 ? (n > 0 ? n : 1) : 16384; }

octic_status octic_knn_neighbors(const float *train, int64_t n, const float *queries, int64_t m, int d, int k,
                                 octic_distance dist, int64_t block_n, int32_t *idx, float *sim) {
    if (k <= 0 || d <= 0 || n < 0 || m < 0) return octic_fail(OCTIC_ERR_ARG, "k-NN: k=%d, d=%d", k, d);
    if (block_n <= 0) block_n = default_block_n(n);
    const int64_t bq = m < 1024 ? (m > 0 ? m : 1) : 1024;
    knn_scratch s;
    octic_status st = scratch_alloc(&s, train, n, d, bq, block_n, k, dist);
    if (st != OCTIC_OK) return st;
    for (int64_t q0 = 0; q0 < m; q0 += bq) {
        int64_t mq = m - q0 < bq ? m - q0 : bq;
        neighbors_block(train, n, s.tnorm, queries + q0 * d, mq, d, k, dist, block_n, s.sims, s.hs, s.hi,
                        s.hsize, idx + q0 * k, sim ? sim + q0 * k : NULL);
    }
    scratch_free(&s);
    return OCTIC_OK;
}

int octic_in_top(const float *scores, int classes, int label, int top) {
    if (label < 0 || label >= classes) return 0;
    int ahead = 0;
    for (int c = 0; c < classes; c++)
        if (scores[c] > scores[label] || (scores[c] == scores[label] && c < label)) ahead++;
    return ahead < top;
}

octic_status octic_knn_dinov2(const float *train, const int32_t *train_labels, int64_t n, const float *queries,
                              const int32_t *query_labels, int64_t m, int d, const octic_knn_params *p,
                              float *votes, octic_knn_result *res, octic_progress_fn progress, void *user) {
    memset(res, 0, sizeof *res);
    if (p->n_k <= 0 || p->n_k > OCTIC_KNN_MAX_K || p->classes <= 0 || p->temperature <= 0.0f)
        return octic_fail(OCTIC_ERR_ARG, "k-NN: %d values of k, %d classes, temperature %g", p->n_k, p->classes,
                          (double)p->temperature);
    int max_k = 0;
    for (int i = 0; i < p->n_k; i++) {
        if (p->ks[i] <= 0) return octic_fail(OCTIC_ERR_ARG, "k-NN: k must be positive, got %d", p->ks[i]);
        if (p->ks[i] > max_k) max_k = p->ks[i];
    }
    if (n < max_k)
        return octic_fail(OCTIC_ERR_ARG, "k-NN: k=%d needs at least as many train features, there are %lld",
                          max_k, (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (train_labels[i] < 0 || train_labels[i] >= p->classes)
            return octic_fail(OCTIC_ERR_ARG, "k-NN: train label %d at %lld is outside [0, %d)", train_labels[i],
                              (long long)i, p->classes);
    int64_t bn = p->block_n > 0 ? p->block_n : default_block_n(n);
    int64_t bq = p->block_q > 0 ? p->block_q : 1024;
    if (bq > m && m > 0) bq = m;
    knn_scratch s;
    octic_status st = scratch_alloc(&s, train, n, d, bq, bn, max_k, OCTIC_DIST_DOT);
    if (st != OCTIC_OK) return st;
    int32_t *idx = malloc((size_t)bq * max_k * sizeof(int32_t));
    float *sim = malloc((size_t)bq * max_k * sizeof(float));
    float *w = malloc((size_t)max_k * sizeof(float));
    float *vote = malloc((size_t)p->classes * sizeof(float));
    if (!idx || !sim || !w || !vote) {
        scratch_free(&s);
        free(idx), free(sim), free(w), free(vote);
        return octic_fail(OCTIC_ERR_NOMEM, "k-NN: out of memory");
    }
    res->queries = m;
    for (int64_t q0 = 0; q0 < m; q0 += bq) {
        int64_t mq = m - q0 < bq ? m - q0 : bq;
        neighbors_block(train, n, NULL, queries + q0 * d, mq, d, max_k, OCTIC_DIST_DOT, bn, s.sims, s.hs, s.hi,
                        s.hsize, idx, sim);
        for (int64_t q = 0; q < mq; q++) {
            /* softmax(sim / T) over the max_k neighbours, as the reference */
            const float *sq = sim + q * max_k;
            double z = 0.0;
            for (int j = 0; j < max_k; j++) z += exp(((double)sq[j] - sq[0]) / p->temperature);
            for (int j = 0; j < max_k; j++) w[j] = (float)(exp(((double)sq[j] - sq[0]) / p->temperature) / z);
            for (int ki = 0; ki < p->n_k; ki++) {
                memset(vote, 0, (size_t)p->classes * sizeof(float));
                for (int j = 0; j < p->ks[ki]; j++) vote[train_labels[idx[q * max_k + j]]] += w[j];
                int label = query_labels ? query_labels[q0 + q] : -1;
                res->top1[ki] += octic_in_top(vote, p->classes, label, 1);
                res->top5[ki] += octic_in_top(vote, p->classes, label, 5);
                if (votes) memcpy(votes + ((q0 + q) * p->n_k + ki) * p->classes, vote, (size_t)p->classes * sizeof(float));
            }
        }
        if (progress && progress(user, q0 + mq, m)) {
            st = octic_fail(OCTIC_ERR_ARG, "k-NN: cancelled");
            break;
        }
    }
    scratch_free(&s);
    free(idx), free(sim), free(w), free(vote);
    return st;
}
