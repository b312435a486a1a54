/* The evaluation math against references made with the published code's
 * libraries (tests/eval/make_eval_fixtures.py: PyTorch for the DINOv2 k-NN,
 * scikit-learn for logistic regression, jaccard_score and StandardScaler),
 * and the linear heads' update rule against a direct computation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "checkpoint.h"
#include "knn.h"
#include "linear.h"
#include "logreg.h"
#include "runner.h"
#include "segment.h"

static void fixture(const char *name, octic_array *a) {
    const char *dir = getenv("OCTIC_EVAL_FIXTURES");
    ck_assert_msg(dir != NULL, "OCTIC_EVAL_FIXTURES is not set");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);
    ck_assert_msg(octic_npy_load(path, a) == OCTIC_OK, "%s", octic_last_error());
}

static int32_t *to_labels(const octic_array *a) {
    int64_t n = octic_numel(a->shape, a->ndim);
    int32_t *l = malloc((size_t)n * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) l[i] = (int32_t)lrintf(a->data[i]);
    return l;
}

/* ---- k-NN ---------------------------------------------------------------- */

START_TEST(test_knn_votes_match_dinov2) {
    octic_array tr, trl, q, ql, votes, acc, nbr;
    fixture("knn_train", &tr), fixture("knn_train_labels", &trl), fixture("knn_queries", &q);
    fixture("knn_query_labels", &ql), fixture("knn_votes", &votes), fixture("knn_accuracy", &acc);
    fixture("knn_neighbors", &nbr);
    int64_t n = tr.shape[0], m = q.shape[0];
    int d = (int)tr.shape[1], classes = (int)votes.shape[2];
    int32_t *yl = to_labels(&trl), *ql_i = to_labels(&ql);
    octic_knn_params p = {4, {10, 20, 100, 200}, 0.07f, classes, 0, 0};
    float *v = malloc((size_t)m * 4 * classes * sizeof(float));
    octic_knn_result res;
    ck_assert_int_eq(octic_knn_dinov2(tr.data, yl, n, q.data, ql_i, m, d, &p, v, &res, NULL, NULL), OCTIC_OK);
    float worst = 0.0f;
    for (int64_t i = 0; i < m * 4 * classes; i++) worst = fmaxf(worst, fabsf(v[i] - votes.data[i]));
    ck_assert_msg(worst < 1e-5f, "votes differ from the reference by %g", (double)worst);
    for (int k = 0; k < 4; k++) {
        ck_assert_double_eq_tol((double)res.top1[k] / m, acc.data[2 * k], 1e-6);
        ck_assert_double_eq_tol((double)res.top5[k] / m, acc.data[2 * k + 1], 1e-6);
    }
    /* the same with tiny blocks: the blocking must not change the result */
    octic_knn_params pb = p;
    pb.block_q = 3, pb.block_n = 7;
    float *vb = malloc((size_t)m * 4 * classes * sizeof(float));
    octic_knn_result rb;
    ck_assert_int_eq(octic_knn_dinov2(tr.data, yl, n, q.data, ql_i, m, d, &pb, vb, &rb, NULL, NULL), OCTIC_OK);
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(rb.top1[k], res.top1[k]);
        ck_assert_int_eq(rb.top5[k], res.top5[k]);
    }
    for (int64_t i = 0; i < m * 4 * classes; i++) ck_assert_float_eq_tol(vb[i], v[i], 1e-6f);
    /* neighbour order: the reference's top 10 */
    int32_t *idx = malloc((size_t)m * 10 * sizeof(int32_t));
    ck_assert_int_eq(octic_knn_neighbors(tr.data, n, q.data, m, d, 10, OCTIC_DIST_DOT, 0, idx, NULL), OCTIC_OK);
    for (int64_t i = 0; i < m * 10; i++) ck_assert_int_eq(idx[i], (int32_t)nbr.data[i]);
    free(idx), free(v), free(vb), free(yl), free(ql_i);
    octic_array *all[] = {&tr, &trl, &q, &ql, &votes, &acc, &nbr};
    for (int i = 0; i < 7; i++) octic_array_free(all[i]);
}
END_TEST

/* L2 neighbours against a brute-force search, with ties (duplicated rows) to
 * the lower index. */
START_TEST(test_knn_l2_brute_force) {
    enum { N = 97, M = 13, D = 5, K = 6 };
    float tr[N * D], q[M * D];
    unsigned s = 7;
    for (int i = 0; i < N * D; i++) s = s * 1103515245u + 12345u, tr[i] = (float)((s >> 16) % 1000) / 250.0f;
    for (int i = 0; i < M * D; i++) s = s * 1103515245u + 12345u, q[i] = (float)((s >> 16) % 1000) / 250.0f;
    memcpy(tr + 50 * D, tr + 10 * D, D * sizeof(float)); /* a tie: 10 must come before 50 */
    memcpy(q, tr + 10 * D, D * sizeof(float));
    int32_t idx[M * K];
    float sim[M * K];
    ck_assert_int_eq(octic_knn_neighbors(tr, N, q, M, D, K, OCTIC_DIST_L2, 8, idx, sim), OCTIC_OK);
    for (int j = 0; j < M; j++) {
        double dist[N];
        int used[N] = {0};
        for (int i = 0; i < N; i++) {
            dist[i] = 0.0;
            for (int c = 0; c < D; c++) dist[i] += ((double)q[j * D + c] - tr[i * D + c]) * ((double)q[j * D + c] - tr[i * D + c]);
        }
        for (int r = 0; r < K; r++) {
            int best = -1;
            for (int i = 0; i < N; i++)
                if (!used[i] && (best < 0 || dist[i] < dist[best] - 1e-5)) best = i;
            used[best] = 1;
            ck_assert_msg(fabs(dist[idx[j * K + r]] - dist[best]) < 1e-4, "query %d rank %d: %d vs %d", j, r,
                          idx[j * K + r], best);
            ck_assert_double_eq_tol(-sim[j * K + r], dist[best], 1e-3);
        }
    }
    ck_assert_int_eq(idx[0], 10);
    ck_assert_int_eq(idx[1], 50);
}
END_TEST

START_TEST(test_in_top_ties) {
    float s[5] = {0.2f, 0.5f, 0.5f, 0.0f, 0.0f};
    ck_assert_int_eq(octic_in_top(s, 5, 1, 1), 1);
    ck_assert_int_eq(octic_in_top(s, 5, 2, 1), 0); /* tie goes to the lower class */
    ck_assert_int_eq(octic_in_top(s, 5, 3, 4), 1);
    ck_assert_int_eq(octic_in_top(s, 5, 4, 4), 0);
    ck_assert_int_eq(octic_in_top(s, 5, 7, 5), 0); /* out of range never counts */
}
END_TEST

/* ---- logistic regression ------------------------------------------------------ */

START_TEST(test_logreg_matches_sklearn) {
    octic_array x, y, xt, cs, coef, icpt, pred, obj;
    fixture("logreg_x", &x), fixture("logreg_y", &y), fixture("logreg_xt", &xt), fixture("logreg_c", &cs);
    fixture("logreg_coef", &coef), fixture("logreg_intercept", &icpt), fixture("logreg_pred", &pred);
    fixture("logreg_objective", &obj);
    int64_t n = x.shape[0], nt = xt.shape[0];
    int d = (int)x.shape[1], K = (int)coef.shape[1];
    int32_t *yl = to_labels(&y);
    int32_t *pt = malloc((size_t)nt * sizeof(int32_t));
    for (int c = 0; c < (int)cs.shape[0]; c++) {
        octic_logreg_params p;
        octic_logreg_defaults(&p, cs.data[c]);
        p.block_rows = 64; /* several blocks */
        octic_logreg_model m;
        ck_assert_int_eq(octic_logreg_fit(x.data, yl, n, d, &p, &m, NULL, NULL), OCTIC_OK);
        ck_assert_int_eq(m.classes, K);
        ck_assert_int_eq(m.labels[0], 0);
        ck_assert_int_eq(m.labels[3], 7);
        /* at least as low an objective as scikit-learn's (float32 data term) */
        double ref = obj.data[c];
        if (getenv("OCTIC_TEST_VERBOSE"))
            fprintf(stderr, "C=%g: objective %.9g vs %.9g\n", (double)cs.data[c], m.objective, ref);
        ck_assert_msg(m.objective <= ref * (1 + 1e-6), "C=%g: objective %.9g above scikit-learn's %.9g (%s)",
                      (double)cs.data[c], m.objective, ref, m.stop);
        /* the same parameters, relative to the largest one (coefficient or
         * intercept), as float32 data allows */
        float big = 0.0f, worst = 0.0f;
        for (int i = 0; i < K * d; i++) big = fmaxf(big, fabsf(coef.data[c * K * d + i]));
        for (int k = 0; k < K; k++) big = fmaxf(big, fabsf(icpt.data[c * K + k]));
        for (int i = 0; i < K * d; i++) worst = fmaxf(worst, fabsf(m.coef[i] - coef.data[c * K * d + i]));
        /* intercepts up to a common shift, which the softmax does not see and
         * the penalty does not fix */
        double shift = 0.0;
        for (int k = 0; k < K; k++) shift += (double)m.intercept[k] - icpt.data[c * K + k];
        shift /= K;
        float worst_w = worst;
        for (int k = 0; k < K; k++)
            worst = fmaxf(worst, fabsf((float)(m.intercept[k] - shift) - icpt.data[c * K + k]));
        if (getenv("OCTIC_TEST_VERBOSE"))
            fprintf(stderr, "C=%g: coef %g, shift %g\n", (double)cs.data[c], (double)worst_w, shift);
        if (getenv("OCTIC_TEST_VERBOSE"))
            fprintf(stderr, "C=%g: worst %g of %g, %s after %d iterations, %d evaluations\n", (double)cs.data[c],
                    (double)worst, (double)big, m.stop, m.iterations, m.evaluations);
        ck_assert_msg(worst <= 1e-4f * big, "C=%g: coefficients differ by %g (largest %g, %s, %d it)",
                      (double)cs.data[c], (double)worst, (double)big, m.stop, m.iterations);
        ck_assert_int_eq(octic_logreg_predict(&m, xt.data, nt, pt), OCTIC_OK);
        int diff = 0;
        for (int64_t i = 0; i < nt; i++) diff += pt[i] != (int32_t)pred.data[c * nt + i];
        ck_assert_msg(diff == 0, "C=%g: %d predictions differ from scikit-learn's", (double)cs.data[c], diff);
        /* the reported objective is the model's */
        ck_assert_double_eq_tol(octic_logreg_objective(&m, x.data, yl, n, cs.data[c]), m.objective,
                                1e-4 * fabs(m.objective) + 1e-6);
        octic_logreg_free(&m);
    }
    free(yl), free(pt);
    octic_array *all[] = {&x, &y, &xt, &cs, &coef, &icpt, &pred, &obj};
    for (int i = 0; i < 8; i++) octic_array_free(all[i]);
}
END_TEST

/* The blocks shared among threads (each sgemm and softmax on its thread,
 * partial sums added in thread order) reach the fit of one thread. */
START_TEST(test_logreg_threads_agree) {
    octic_array x, y, cs;
    fixture("logreg_x", &x), fixture("logreg_y", &y), fixture("logreg_c", &cs);
    int64_t n = x.shape[0];
    int d = (int)x.shape[1];
    int32_t *yl = to_labels(&y);
    const int pick[3] = {0, 4, (int)cs.shape[0] - 1};
    for (int c = 0; c < 3; c++) {
        octic_logreg_params p;
        octic_logreg_defaults(&p, cs.data[pick[c]]);
        p.block_rows = 64;
        octic_logreg_model m1, m3;
        octic_cpu_set_threads(1);
        ck_assert_int_eq(octic_logreg_fit(x.data, yl, n, d, &p, &m1, NULL, NULL), OCTIC_OK);
        octic_cpu_set_threads(3);
        ck_assert_int_eq(octic_logreg_fit(x.data, yl, n, d, &p, &m3, NULL, NULL), OCTIC_OK);
        octic_cpu_set_threads(0);
        ck_assert_int_eq(m3.classes, m1.classes);
        ck_assert_msg(fabs(m3.objective - m1.objective) <= 1e-6 * fabs(m1.objective),
                      "C=%g: objective %.9g on 3 threads, %.9g on 1", (double)cs.data[pick[c]], m3.objective,
                      m1.objective);
        float big = 0.0f, worst = 0.0f;
        for (int i = 0; i < m1.classes * d; i++) {
            big = fmaxf(big, fabsf(m1.coef[i]));
            worst = fmaxf(worst, fabsf(m3.coef[i] - m1.coef[i]));
        }
        ck_assert_msg(worst <= 1e-4f * big, "C=%g: coefficients on 3 threads differ by %g (largest %g)",
                      (double)cs.data[pick[c]], (double)worst, (double)big);
        octic_logreg_free(&m1), octic_logreg_free(&m3);
    }
    free(yl);
    octic_array_free(&x), octic_array_free(&y), octic_array_free(&cs);
}
END_TEST

START_TEST(test_logreg_needs_two_classes) {
    float x[4] = {1, 2, 3, 4};
    int32_t y[4] = {3, 3, 3, 3};
    octic_logreg_params p;
    octic_logreg_defaults(&p, 1.0);
    octic_logreg_model m;
    ck_assert_int_eq(octic_logreg_fit(x, y, 4, 1, &p, &m, NULL, NULL), OCTIC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(octic_last_error(), "2 classes"));
}
END_TEST

/* ---- segmentation ------------------------------------------------------------- */

START_TEST(test_seg_scores_match_sklearn) {
    octic_array gt, pred, scores, present, iou;
    fixture("seg_gt", &gt), fixture("seg_pred", &pred), fixture("seg_scores", &scores);
    fixture("seg_present", &present), fixture("seg_iou", &iou);
    int64_t n = gt.shape[0];
    uint8_t *g = malloc((size_t)n), *p = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++) g[i] = (uint8_t)gt.data[i], p[i] = (uint8_t)pred.data[i];
    octic_label_set ignore = {{0}};
    ignore.ignored[0] = ignore.ignored[255] = 1;
    int64_t *conf = calloc(256 * 256, sizeof(int64_t));
    /* in two halves: the confusion accumulates */
    octic_confusion_add(conf, g, p, n / 2, &ignore);
    octic_confusion_add(conf, g + n / 2, p + n / 2, n - n / 2, &ignore);
    octic_seg_scores s;
    octic_seg_score(conf, &s);
    ck_assert_double_eq_tol(s.miou, scores.data[0], 1e-6);
    ck_assert_double_eq_tol(s.pixel_accuracy, scores.data[1], 1e-6);
    ck_assert_int_eq(s.n_present, (int)present.shape[0]);
    for (int i = 0; i < (int)present.shape[0]; i++) {
        int c = (int)present.data[i];
        ck_assert_int_eq(s.present[c], 1);
        ck_assert_double_eq_tol(s.iou[c], iou.data[i], 1e-6);
    }
    ck_assert_int_eq(s.present[255], 0); /* ignored ground truth is never a class */
    free(g), free(p), free(conf);
    octic_array *all[] = {&gt, &pred, &scores, &present, &iou};
    for (int i = 0; i < 5; i++) octic_array_free(all[i]);
}
END_TEST

START_TEST(test_patch_labels) {
    /* S = 4, p = 2: four patches */
    const uint8_t mask[16] = {1, 1, 2, 3, /**/ 1, 5, 3, 2, /**/ 7, 7, 0, 0, /**/ 9, 9, 0, 255};
    uint8_t pix[16];
    octic_patch_pixels(mask, 4, 2, pix);
    const uint8_t want[16] = {1, 1, 1, 5, 2, 3, 3, 2, 7, 7, 9, 9, 0, 0, 0, 255};
    ck_assert_mem_eq(pix, want, 16);
    ck_assert_int_eq(octic_label_mode(pix, 4), 1);
    ck_assert_int_eq(octic_label_mode(pix + 4, 4), 2);  /* 2 and 3 tie: the smaller */
    ck_assert_int_eq(octic_label_mode(pix + 8, 4), 7);  /* 7 and 9 tie */
    ck_assert_int_eq(octic_label_mode(pix + 12, 4), 0);
}
END_TEST

START_TEST(test_standardize_matches_sklearn) {
    octic_array x, mean, scale;
    fixture("scaler_x", &x), fixture("scaler_mean", &mean), fixture("scaler_scale", &scale);
    int64_t n = x.shape[0];
    int d = (int)x.shape[1];
    float mu[16], sc[16];
    ck_assert_int_eq(octic_standardize_fit(x.data, n, d, mu, sc), OCTIC_OK);
    for (int j = 0; j < d; j++) {
        ck_assert_float_eq_tol(mu[j], mean.data[j], 1e-5f);
        ck_assert_float_eq_tol(sc[j], scale.data[j], 1e-5f);
    }
    ck_assert_float_eq(sc[5], 1.0f);
    octic_standardize_apply(x.data, n, d, mu, sc);
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += x.data[i * d];
    ck_assert_double_eq_tol(s / n, 0.0, 1e-5);
    octic_array_free(&x), octic_array_free(&mean), octic_array_free(&scale);
}
END_TEST

/* ---- linear heads --------------------------------------------------------------- */

/* Two SGD steps against the update computed here in double: the gradient of
 * the mean cross-entropy, PyTorch's momentum, the batch scaling and the
 * cosine schedule. */
START_TEST(test_linear_update_rule) {
    enum { C = 3, NB = 2, K = 4, B = 5, REC = (NB + 1) * C };
    octic_linear_params p;
    octic_linear_defaults(&p, C, NB, K);
    p.n_lr = 2, p.lrs[0] = 0.1, p.lrs[1] = 0.5;
    p.batch_size = 64;
    p.iterations = 4;
    octic_linear_heads *h;
    ck_assert_int_eq(octic_linear_create(&p, &h), OCTIC_OK);
    ck_assert_int_eq(octic_linear_head_count(h), 8);
    char name[64];
    octic_linear_head_name(h, 7, name, sizeof name);
    ck_assert_str_eq(name, "blocks=2 avgpool=1 lr=0.5");
    float rec[B * REC];
    int32_t lab[B] = {0, 3, 1, 1, 2};
    for (int i = 0; i < B * REC; i++) rec[i] = sinf(0.7f * i) + 0.1f * (i % 3);
    const int v = 3; /* blocks=2 + pool: the whole record */
    enum { R = 2 * K };
    const int W = octic_linear_variant_width(h, v);
    ck_assert_int_eq(W, REC);
    double w[R * REC], b[R], mw[R * REC], mb[R];
    for (int i = 0; i < R * W; i++) w[i] = octic_linear_weights(h, v)[i];
    for (int r = 0; r < R; r++) b[r] = octic_linear_bias(h, v)[r];
    /* initial weights: N(0, 0.01), bias 0 */
    double ss = 0.0;
    for (int i = 0; i < R * W; i++) ss += w[i] * w[i];
    ck_assert_double_lt(fabs(sqrt(ss / (R * W)) - 0.01), 0.004);
    for (int t = 0; t < 2; t++) {
        ck_assert_int_eq(octic_linear_step(h, rec, lab, B, t, NULL), OCTIC_OK);
        double sched = 0.5 * (1 + cos(M_PI * t / 4.0));
        for (int l = 0; l < 2; l++) {
            double gw[K * REC] = {0}, gb[K] = {0};
            for (int i = 0; i < B; i++) {
                double z[K], mx = -1e300, s = 0;
                for (int k = 0; k < K; k++) {
                    z[k] = b[l * K + k];
                    for (int c = 0; c < W; c++) z[k] += w[(l * K + k) * W + c] * rec[i * REC + c];
                    mx = fmax(mx, z[k]);
                }
                for (int k = 0; k < K; k++) s += exp(z[k] - mx);
                for (int k = 0; k < K; k++) {
                    double g = (exp(z[k] - mx) / s - (k == lab[i])) / B;
                    gb[k] += g;
                    for (int c = 0; c < W; c++) gw[k * W + c] += g * rec[i * REC + c];
                }
            }
            double lr = p.lrs[l] * 64 / 256.0 * sched;
            for (int k = 0; k < K; k++) {
                for (int c = 0; c < W; c++) {
                    int j = (l * K + k) * W + c;
                    mw[j] = (t == 0 ? 0 : 0.9 * mw[j]) + gw[k * W + c];
                    w[j] -= lr * mw[j];
                }
                mb[l * K + k] = (t == 0 ? 0 : 0.9 * mb[l * K + k]) + gb[k];
                b[l * K + k] -= lr * mb[l * K + k];
            }
        }
        for (int i = 0; i < R * W; i++) ck_assert_double_eq_tol(octic_linear_weights(h, v)[i], w[i], 1e-6);
        for (int r = 0; r < R; r++) ck_assert_double_eq_tol(octic_linear_bias(h, v)[r], b[r], 1e-6);
    }
    octic_linear_free(h);
}
END_TEST

/* The 52 heads learn a separable problem; the best head is nearly perfect,
 * the smallest learning rate barely moves. */
START_TEST(test_linear_learns) {
    enum { C = 8, NB = 4, K = 5, N = 500, REC = (NB + 1) * C };
    float *rec = malloc(sizeof(float) * N * REC);
    int32_t lab[N];
    unsigned s = 11;
    for (int i = 0; i < N; i++) {
        lab[i] = i % K;
        for (int c = 0; c < REC; c++) {
            s = s * 1103515245u + 12345u;
            rec[i * REC + c] = ((float)((s >> 16) % 1000) / 1000.0f - 0.5f) + (c % K == lab[i] ? 1.0f : 0.0f);
        }
    }
    octic_linear_params p;
    octic_linear_defaults(&p, C, NB, K);
    p.iterations = 300;
    p.batch_size = 50;
    octic_linear_heads *h;
    ck_assert_int_eq(octic_linear_create(&p, &h), OCTIC_OK);
    ck_assert_int_eq(octic_linear_head_count(h), 52);
    for (int t = 0; t < 300; t++) {
        int off = (t * 50) % N;
        ck_assert_int_eq(octic_linear_step(h, rec + off * REC, lab + off, 50, t, NULL), OCTIC_OK);
    }
    int64_t top1[52] = {0}, top5[52] = {0};
    ck_assert_int_eq(octic_linear_score(h, rec, lab, N, top1, top5), OCTIC_OK);
    int64_t best = 0;
    for (int i = 0; i < 52; i++) best = top1[i] > best ? top1[i] : best;
    ck_assert_int_ge(best, N * 98 / 100);
    ck_assert_int_eq(top5[51], N); /* 5 classes: top-5 is always right */
    octic_linear_free(h);
    free(rec);
}
END_TEST

/* A run keeps the published name only with the published settings. */
START_TEST(test_protocol_names) {
    const char *base[3] = {"knn-dinov2", "linear-dinov2", "seg-capi"};
    for (int kind = OCTIC_EVAL_KNN; kind <= OCTIC_EVAL_SEG; kind++) {
        octic_eval_run_request r;
        octic_eval_run_request_defaults(&r, (octic_eval_kind)kind);
        ck_assert(octic_eval_run_is_reference(&r)); /* (the linear default augments, as the reference) */
        ck_assert_str_eq(octic_eval_run_protocol(&r), base[kind]);
        r.seed = 7, r.batch_size = 3, r.threads = 1; /* no change to the numbers' meaning */
        ck_assert_str_eq(octic_eval_run_protocol(&r), base[kind]);
        char custom[32];
        snprintf(custom, sizeof custom, "%s-custom", base[kind]);
        octic_eval_run_request c = r;
        c.size = 64;
        ck_assert_str_eq(octic_eval_run_protocol(&c), custom);
        c = r, c.resize = 224;
        ck_assert_str_eq(octic_eval_run_protocol(&c), custom);
        c = r, c.subset = OCTIC_SUBSET_FIRST, c.subset_n = 100;
        ck_assert_str_eq(octic_eval_run_protocol(&c), custom);
        c = r;
        if (kind == OCTIC_EVAL_KNN) c.knn.ks[c.knn.n_k - 1] = 50;
        if (kind == OCTIC_EVAL_LINEAR) c.linear.epochs = 1;
        if (kind == OCTIC_EVAL_SEG) c.seg.holdout = 0.2;
        ck_assert(!octic_eval_run_is_reference(&c));
        ck_assert_str_eq(octic_eval_run_protocol(&c), custom);
    }
    /* one setting of each more */
    octic_eval_run_request r;
    octic_eval_run_request_defaults(&r, OCTIC_EVAL_KNN);
    r.knn.temperature = 0.1f;
    ck_assert_str_eq(octic_eval_run_protocol(&r), "knn-dinov2-custom");
    octic_eval_run_request_defaults(&r, OCTIC_EVAL_LINEAR);
    r.linear.augment = 0; /* cached features: its own protocol */
    ck_assert_str_eq(octic_eval_run_protocol(&r), "linear-cached");
    r.linear.n_lr = 2;
    ck_assert_str_eq(octic_eval_run_protocol(&r), "linear-cached-custom");
    octic_eval_run_request_defaults(&r, OCTIC_EVAL_SEG);
    r.seg.logreg = 0;
    ck_assert_str_eq(octic_eval_run_protocol(&r), "seg-capi-custom");
    octic_eval_run_request_defaults(&r, OCTIC_EVAL_SEG);
    r.seg.cs[0] *= 10;
    ck_assert_str_eq(octic_eval_run_protocol(&r), "seg-capi-custom");
}
END_TEST

static Suite *eval_suite(void) {
    Suite *s = suite_create("eval_math");
    TCase *tc = tcase_create("knn");
    tcase_add_test(tc, test_knn_votes_match_dinov2);
    tcase_add_test(tc, test_knn_l2_brute_force);
    tcase_add_test(tc, test_in_top_ties);
    suite_add_tcase(s, tc);
    tc = tcase_create("logreg");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_logreg_matches_sklearn);
    tcase_add_test(tc, test_logreg_threads_agree);
    tcase_add_test(tc, test_logreg_needs_two_classes);
    suite_add_tcase(s, tc);
    tc = tcase_create("segmentation");
    tcase_add_test(tc, test_seg_scores_match_sklearn);
    tcase_add_test(tc, test_patch_labels);
    tcase_add_test(tc, test_standardize_matches_sklearn);
    suite_add_tcase(s, tc);
    tc = tcase_create("linear");
    tcase_add_test(tc, test_linear_update_rule);
    tcase_add_test(tc, test_linear_learns);
    suite_add_tcase(s, tc);
    tc = tcase_create("runs");
    tcase_add_test(tc, test_protocol_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(eval_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
