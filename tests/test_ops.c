/* The fast CPU backend against the CPU reference, op by op, and the engine's
 * results against the thread count. */
#include <check.h>
#include <fenv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "blas.h"
#include "model.h"
#include "model_internal.h"
#include "octic_math.h"
#include "test_util.h"

static const octic_backend *fast(void) { return octic_cpu_backend(); }
static const octic_backend *ref(void) { return octic_cpu_reference_backend(); }

static float *dup(const float *x, size_t n) {
    float *y = malloc((n ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(y);
    memcpy(y, x, n * sizeof(float));
    return y;
}

/* max |a - b| / (1 + |b|) */
static double worst(const float *a, const float *b, size_t n) {
    double w = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (!(d <= w)) w = d; /* NaN counts as the worst */
    }
    return w;
}

#define CHECK_CLOSE(what, a, b, n, tol)                                                              \
    do {                                                                                             \
        double w_ = worst(a, b, n);                                                                  \
        ck_assert_msg(w_ <= (tol), "%s: fast and reference differ by %g (tolerance %g)", what, w_, \
                      (double)(tol));                                                                \
    } while (0)

/* Widths: the published ones (c = C/8 a multiple of the vector width) and
 * small ones with tails. */
static const int widths[] = {1024, 1280, 64, 40, 8};
static const int rows_for[] = {37, 29, 300, 5, 3};

START_TEST(test_layernorms) {
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        int C = widths[k], rows = rows_for[k];
        size_t n = (size_t)rows * C;
        float *x = randv(n, 1 + k, 3.0f), *y = randv(n, 2 + k, 1.0f), *w = randv(C, 3, 1.0f);
        float *b = randv(C, 4, 0.5f), *g = randv(C, 5, 0.2f);
        for (int i = 0; i < C; i++) w[i] += 1.5f; /* scales away from 0 */
        for (int i = 0; i < rows * C; i += 7) x[i] += 20.0f; /* a large mean */
        float *o1 = malloc(n * sizeof(float)), *o2 = malloc(n * sizeof(float));
        fast()->layernorm(fast(), o1, x, w, b, rows, C, 1e-6f);
        ref()->layernorm(ref(), o2, x, w, b, rows, C, 1e-6f);
        CHECK_CLOSE("layernorm", o1, o2, n, 2e-5);
        fast()->layernorm_d8(fast(), o1, x, w, b, rows, C, 1e-5f);
        ref()->layernorm_d8(ref(), o2, x, w, b, rows, C, 1e-5f);
        CHECK_CLOSE("layernorm_d8", o1, o2, n, 2e-5);
        for (int gam = 0; gam < 2; gam++) {
            float *x1 = dup(x, n), *x2 = dup(x, n);
            fast()->residual_layernorm(fast(), x1, y, gam ? g : NULL, o1, w, b, rows, C, 1e-6f);
            ref()->residual_layernorm(ref(), x2, y, gam ? g : NULL, o2, w, b, rows, C, 1e-6f);
            CHECK_CLOSE("residual_layernorm: x", x1, x2, n, 1e-6);
            CHECK_CLOSE("residual_layernorm: out", o1, o2, n, 2e-5);
            memcpy(x1, x, n * sizeof(float)), memcpy(x2, x, n * sizeof(float));
            fast()->residual_layernorm_d8(fast(), x1, y, gam ? g : NULL, o1, w, b, rows, C, 1e-5f);
            ref()->residual_layernorm_d8(ref(), x2, y, gam ? g : NULL, o2, w, b, rows, C, 1e-5f);
            CHECK_CLOSE("residual_layernorm_d8: x", x1, x2, n, 1e-6);
            CHECK_CLOSE("residual_layernorm_d8: out", o1, o2, n, 2e-5);
            memcpy(x1, x, n * sizeof(float)), memcpy(x2, x, n * sizeof(float));
            fast()->residual(fast(), x1, y, gam ? g : NULL, rows, C);
            ref()->residual(ref(), x2, y, gam ? g : NULL, rows, C);
            CHECK_CLOSE("residual", x1, x2, n, 1e-6);
            /* with the product's bias added first: the reference means residual on y + bias
             * (the same floats), the fast one agrees with it */
            float *yb = dup(y, n), *x3 = dup(x, n), *o3 = malloc(n * sizeof(float));
            for (int r = 0; r < rows; r++)
                for (int i = 0; i < C; i++) yb[(size_t)r * C + i] += b[i];
            memcpy(x1, x, n * sizeof(float)), memcpy(x2, x, n * sizeof(float));
            fast()->residual_bias(fast(), x1, y, b, gam ? g : NULL, rows, C);
            ref()->residual_bias(ref(), x2, y, b, gam ? g : NULL, rows, C);
            ref()->residual(ref(), x3, yb, gam ? g : NULL, rows, C);
            ck_assert_msg(memcmp(x2, x3, n * sizeof(float)) == 0, "residual_bias: reference is not residual on y + bias");
            CHECK_CLOSE("residual_bias", x1, x2, n, 1e-6);
            memcpy(x1, x, n * sizeof(float)), memcpy(x2, x, n * sizeof(float)), memcpy(x3, x, n * sizeof(float));
            fast()->residual_bias_layernorm(fast(), x1, y, b, gam ? g : NULL, o1, w, b, rows, C, 1e-6f);
            ref()->residual_bias_layernorm(ref(), x2, y, b, gam ? g : NULL, o2, w, b, rows, C, 1e-6f);
            ref()->residual_layernorm(ref(), x3, yb, gam ? g : NULL, o3, w, b, rows, C, 1e-6f);
            ck_assert_msg(memcmp(x2, x3, n * sizeof(float)) == 0 && memcmp(o2, o3, n * sizeof(float)) == 0,
                          "residual_bias_layernorm: reference is not residual_layernorm on y + bias");
            CHECK_CLOSE("residual_bias_layernorm: x", x1, x2, n, 1e-6);
            CHECK_CLOSE("residual_bias_layernorm: out", o1, o2, n, 2e-5);
            /* no bias: the plain ops */
            memcpy(x1, x, n * sizeof(float)), memcpy(x2, x, n * sizeof(float));
            fast()->residual_bias(fast(), x1, y, NULL, gam ? g : NULL, rows, C);
            ref()->residual(ref(), x2, y, gam ? g : NULL, rows, C);
            CHECK_CLOSE("residual_bias without a bias", x1, x2, n, 1e-6);
            free(x1), free(x2), free(x3), free(yb), free(o3);
        }
        free(x), free(y), free(w), free(b), free(g), free(o1), free(o2);
    }
}
END_TEST

START_TEST(test_gelus) {
    /* GELU on a dense sweep of [-12, 12] and random values, both paths */
    size_t n = 240001;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = -12.0f + 24.0f * (float)i / (float)(n - 1);
    float *a = dup(x, n), *b = dup(x, n);
    fast()->gelu(fast(), a, n);
    ref()->gelu(ref(), b, n);
    double wabs = 0.0;
    for (size_t i = 0; i < n; i++) wabs = fmax(wabs, fabs((double)a[i] - b[i]));
    ck_assert_msg(wabs <= 2e-6, "gelu: fast and reference differ by %g", wabs);
    CHECK_CLOSE("gelu", a, b, n, 1e-6);
    /* far tails: exactly 0 below, x above */
    float t[4] = {-100.0f, -30.0f, 30.0f, 100.0f};
    fast()->gelu(fast(), t, 4);
    ck_assert(fabsf(t[0]) < 1e-30f && fabsf(t[1]) < 1e-30f && t[2] == 30.0f && t[3] == 100.0f);
    float nan1 = NAN;
    fast()->gelu(fast(), &nan1, 1);
    ck_assert_msg(isnan(nan1), "gelu(NaN) is %g", (double)nan1);
    /* nor does any step on the way to them underflow (a subnormal costs a microcode
     * assist per value): on one thread, the calling one, whose flags fetestexcept reads */
    size_t nt = 4001;
    float *u = malloc(nt * sizeof(float));
    for (size_t i = 0; i < nt; i++) u[i] = -200.0f + 400.0f * (float)i / (float)(nt - 1);
    float *ur = dup(u, nt);
    octic_cpu_set_threads(1);
    feclearexcept(FE_ALL_EXCEPT);
    fast()->gelu(fast(), u, nt);
    int underflow = fetestexcept(FE_UNDERFLOW);
    octic_cpu_set_threads(0);
    ck_assert_msg(!underflow, "gelu: a step underflowed on x in [-200, 200]");
    ref()->gelu(ref(), ur, nt);
    CHECK_CLOSE("gelu on [-200, 200]", u, ur, nt, 1e-6);
    free(u), free(ur);
    free(x), free(a), free(b);
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        int C = widths[k] * 4, rows = rows_for[k];
        size_t m = (size_t)rows * C;
        float *h = randv(m, 10 + k, 4.0f), *h1 = dup(h, m), *h2 = dup(h, m);
        fast()->gelu_d8(fast(), h1, rows, C);
        ref()->gelu_d8(ref(), h2, rows, C);
        CHECK_CLOSE("gelu_d8", h1, h2, m, 2e-6);
        free(h), free(h1), free(h2);
    }
    /* GELU after a product's bias: rows of whole vectors and with tails */
    static const int gelu_widths[] = {4096, 160, 37, 5};
    for (size_t k = 0; k < sizeof gelu_widths / sizeof gelu_widths[0]; k++) {
        int C = gelu_widths[k], rows = 3 + (int)k * 5;
        size_t m = (size_t)rows * C;
        float *h = randv(m, 20 + k, 4.0f), *bias = randv((size_t)C, 30 + k, 1.0f);
        float *h1 = dup(h, m), *h2 = dup(h, m), *h3 = dup(h, m);
        fast()->gelu_bias(fast(), h1, bias, rows, C);
        ref()->gelu_bias(ref(), h2, bias, rows, C);
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < C; i++) h3[(size_t)r * C + i] += bias[i];
        ref()->gelu(ref(), h3, m);
        ck_assert_msg(memcmp(h2, h3, m * sizeof(float)) == 0, "gelu_bias: reference is not gelu of x + bias");
        CHECK_CLOSE("gelu_bias", h1, h2, m, 1e-6);
        memcpy(h1, h, m * sizeof(float)), memcpy(h2, h, m * sizeof(float));
        fast()->gelu_bias(fast(), h1, NULL, rows, C);
        ref()->gelu(ref(), h2, m);
        CHECK_CLOSE("gelu_bias without a bias", h1, h2, m, 1e-6);
        free(h), free(bias), free(h1), free(h2), free(h3);
    }
}
END_TEST

/* A random order of blocks of `run` consecutive columns (n a multiple of
 * run), as an octic head's iso5 columns come. */
static int32_t *random_block_perm(int n, int run, unsigned seed) {
    int32_t *b = random_perm(n / run, seed), *p = malloc((size_t)n * sizeof *p);
    for (int i = 0; i < n; i++) p[i] = b[i / run] * run + i % run;
    free(b);
    return p;
}

START_TEST(test_attention) {
    /* key counts whose last panel of 64 keys has 1 (197), 2 (90), 3 (161) or 4 (50)
     * vectors; a head width the tiles do not take (8) */
    const struct { int B, N, H, hd; } shapes[] = {{2, 197, 4, 64}, {1, 90, 2, 32}, {1, 161, 1, 64}, {1, 50, 2, 16}, {3, 5, 1, 8}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int B = shapes[k].B, N = shapes[k].N, H = shapes[k].H, hd = shapes[k].hd, C = H * hd;
        size_t nq = (size_t)B * N * 3 * C, no = (size_t)B * N * C;
        float *qkv = randv(nq, 20 + k, 2.0f), *o1 = calloc(no, sizeof(float)), *o2 = calloc(no, sizeof(float));
        for (int maps = 0; maps < 3; maps++) { /* none, any order, runs of consecutive columns */
            int blk = hd % 8 ? 1 : 8;
            int32_t *qc = maps == 1 ? random_perm(3 * C, 7) : maps == 2 ? random_block_perm(3 * C, blk, 9) : NULL;
            int32_t *oc = maps == 1 ? random_perm(C, 8) : maps == 2 ? random_block_perm(C, blk, 10) : NULL;
            for (int run = 0; run < 6; run++) {
                int threads = 1 + run % 3;
                octic_cpu_set_threads(threads);
                octic_cpu_set_attention_tiles(run / 3); /* BLAS, then tiles */
                float *s1 = malloc(fast()->attention_scratch(fast(), B, N, H, hd) * sizeof(float));
                float *s2 = malloc(ref()->attention_scratch(ref(), B, N, H, hd) * sizeof(float));
                ref()->attention(ref(), o2, qkv, qc, oc, s2, B, N, H, hd);
                memset(o1, 0, no * sizeof(float));
                fast()->attention(fast(), o1, qkv, qc, oc, s1, B, N, H, hd);
                CHECK_CLOSE(maps ? "attention (column maps)" : "attention", o1, o2, no, 2e-6);
                if (!maps) {
                    /* qkv's bias added as q, k, v are read: exactly attention on qkv + bias */
                    float *bias = randv((size_t)3 * C, 60 + k, 1.0f), *qb = malloc(nq * sizeof(float));
                    float *o3 = malloc(no * sizeof(float)), *o4 = malloc(no * sizeof(float));
                    for (size_t i = 0; i < nq; i++) qb[i] = qkv[i] + bias[i % (size_t)(3 * C)];
                    fast()->attention(fast(), o1, qb, NULL, NULL, s1, B, N, H, hd);
                    fast()->attention_bias(fast(), o3, qkv, bias, s1, B, N, H, hd);
                    ck_assert_msg(!memcmp(o1, o3, no * sizeof(float)),
                                  "fast attention_bias is not attention on qkv + bias");
                    ref()->attention(ref(), o2, qb, NULL, NULL, s2, B, N, H, hd);
                    ref()->attention_bias(ref(), o4, qkv, bias, s2, B, N, H, hd);
                    ck_assert_msg(!memcmp(o2, o4, no * sizeof(float)),
                                  "reference attention_bias is not attention on qkv + bias");
                    CHECK_CLOSE("attention_bias", o3, o4, no, 2e-6);
                    free(bias), free(qb), free(o3), free(o4);
                }
                free(s1), free(s2);
            }
            free(qc), free(oc);
        }
        free(qkv), free(o1), free(o2);
    }
    octic_cpu_set_threads(0);
    octic_cpu_set_attention_tiles(-1);
}
END_TEST

START_TEST(test_attention_spread) {
    /* The first keys' scores over a hundred below every row's best (as for a
     * token of large norm) and a small v: those keys weigh next to nothing
     * and make no subnormal (a microcode assist each) as the products with v
     * start from them, in tiles and through the BLAS; on one thread, the
     * calling one, whose flags fetestexcept reads */
    int B = 1, N = 197, H = 2, hd = 64, C = H * hd;
    size_t nq = (size_t)B * N * 3 * C, no = (size_t)B * N * C;
    float *qkv = randv(nq, 70, 1.0f), *o1 = malloc(no * sizeof(float)), *o2 = malloc(no * sizeof(float));
    for (int t = 0; t < N; t++)
        for (int c = 0; c < 3 * C; c++) {
            float *e = qkv + (size_t)t * 3 * C + c;
            if (c < C) *e += 4.0f;                  /* q: 4 +- 1 */
            else if (c < 2 * C && t < 8) *e = -4.0f; /* k of the first 8 keys: score ~ -128 */
            else if (c >= 2 * C) *e *= 1e-3f;        /* v */
        }
    float *s1 = malloc(fast()->attention_scratch(fast(), B, N, H, hd) * sizeof(float));
    float *s2 = malloc(ref()->attention_scratch(ref(), B, N, H, hd) * sizeof(float));
    ref()->attention(ref(), o2, qkv, NULL, NULL, s2, B, N, H, hd);
    octic_cpu_set_threads(1);
    for (int tiles = 0; tiles < 2; tiles++) {
        octic_cpu_set_attention_tiles(tiles);
        feclearexcept(FE_ALL_EXCEPT);
        fast()->attention(fast(), o1, qkv, NULL, NULL, s1, B, N, H, hd);
        int underflow = fetestexcept(FE_UNDERFLOW);
        ck_assert_msg(!underflow, "attention (%s): a step underflowed", tiles ? "tiles" : "BLAS");
        CHECK_CLOSE("attention with spread scores", o1, o2, no, 2e-6);
    }
    octic_cpu_set_attention_tiles(-1);
    octic_cpu_set_threads(0);
    free(qkv), free(o1), free(o2), free(s1), free(s2);
}
END_TEST

START_TEST(test_attention_nan) {
    /* A NaN in q, k or v makes NaN of the outputs it reaches, as in the
     * reference (and PyTorch): a row of its head for q, every row of its head
     * for k, one column for v; never a plausible number */
    int B = 2, N = 50, H = 2, hd = 64, C = H * hd;
    size_t nq = (size_t)B * N * 3 * C, no = (size_t)B * N * C;
    float *o1 = malloc(no * sizeof(float)), *o2 = malloc(no * sizeof(float));
    float *s1 = malloc(fast()->attention_scratch(fast(), B, N, H, hd) * sizeof(float));
    float *s2 = malloc(ref()->attention_scratch(ref(), B, N, H, hd) * sizeof(float));
    static const char *part[] = {"q", "k", "v"};
    for (int p = 0; p < 3; p++) {
        float *qkv = randv(nq, 80 + p, 1.0f);
        qkv[((size_t)1 * N + 7) * 3 * C + (size_t)p * C + hd + 5] = NAN; /* image 1, token 7, head 1 */
        ref()->attention(ref(), o2, qkv, NULL, NULL, s2, B, N, H, hd);
        size_t nans = 0;
        for (size_t i = 0; i < no; i++) nans += isnan(o2[i]) != 0;
        ck_assert_msg(nans == (p == 0 ? (size_t)hd : p == 1 ? (size_t)N * hd : (size_t)N), "reference: %zu NaNs", nans);
        for (int tiles = 0; tiles < 2; tiles++) {
            octic_cpu_set_attention_tiles(tiles);
            fast()->attention(fast(), o1, qkv, NULL, NULL, s1, B, N, H, hd);
            size_t differ = 0;
            for (size_t i = 0; i < no; i++) differ += !isnan(o1[i]) != !isnan(o2[i]);
            ck_assert_msg(!differ, "attention (%s), NaN in %s: %zu outputs NaN in one backend only",
                          tiles ? "tiles" : "BLAS", part[p], differ);
        }
        octic_cpu_set_attention_tiles(-1);
        free(qkv);
    }
    free(o1), free(o2), free(s1), free(s2);
}
END_TEST

START_TEST(test_linear_and_layout_ops) {
    int M = 301, N = 96, K = 80;
    float *in = randv((size_t)M * (K + 5), 30, 1.0f), *w = randv((size_t)N * K, 31, 0.3f), *bias = randv(N, 32, 1.0f);
    float *o1 = malloc((size_t)M * N * sizeof(float)), *o2 = malloc((size_t)M * N * sizeof(float));
    for (int withbias = 0; withbias < 2; withbias++) {
        fast()->linear(fast(), o1, N, in, K + 5, w, withbias ? bias : NULL, M, N, K);
        ref()->linear(ref(), o2, N, in, K + 5, w, withbias ? bias : NULL, M, N, K);
        CHECK_CLOSE("linear", o1, o2, (size_t)M * N, 1e-6);
    }
    /* LinearD8: published-like widths (in 1024 -> out 3072; ViT-H's 1280 -> 640), widths whose
     * last weight panel is narrower (48 = 3 vectors) and small ones, 1-3 threads */
    const struct { int M, ci, co; } l8[] = {{394, 128, 384}, {50, 160, 80}, {23, 40, 48}, {37, 5, 3}};
    for (size_t k = 0; k < sizeof l8 / sizeof l8[0]; k++) {
        int m = l8[k].M, ci = l8[k].ci, co = l8[k].co;
        float *x = randv((size_t)m * 8 * ci, 50 + k, 1.0f), *b8 = randv(co, 51, 1.0f);
        float *wq[5];
        for (int q = 0; q < 5; q++) wq[q] = randv((size_t)(q < 4 ? 1 : 4) * ci * co, 52 + q, 0.1f);
        const float *const wc[5] = {wq[0], wq[1], wq[2], wq[3], wq[4]};
        float *y1 = malloc((size_t)m * 8 * co * sizeof(float)), *y2 = malloc((size_t)m * 8 * co * sizeof(float));
        ref()->linear_d8(ref(), y2, x, wc, b8, m, ci, co);
        for (int threads = 1; threads <= 3; threads++) {
            octic_cpu_set_threads(threads);
            memset(y1, 0, (size_t)m * 8 * co * sizeof(float));
            fast()->linear_d8(fast(), y1, x, wc, b8, m, ci, co);
            CHECK_CLOSE("linear_d8", y1, y2, (size_t)m * 8 * co, 1e-6);
        }
        /* in a pass that keeps its packs: E's weight in oneDNN's layout and the
         * four narrow weights in the panel kernel's (where the width is whole
         * vectors), each made once and used by the next products; on 4 threads
         * two tasks share each weight (the rows in two chunks) */
        octic_cpu_set_prepack(1);
        for (int threads = 2; threads <= 4; threads += 2) {
            octic_cpu_set_threads(threads);
            void *cache = NULL;
            for (int pass = 0; pass < 2; pass++) {
                fast()->begin_pass(fast(), &cache, 4);
                memset(y1, 0, (size_t)m * 8 * co * sizeof(float));
                fast()->linear_d8(fast(), y1, x, wc, b8, m, ci, co);
                fast()->end_pass(fast());
                CHECK_CLOSE("linear_d8 with the weights kept packed", y1, y2, (size_t)m * 8 * co, 1e-6);
            }
            size_t kept = cache ? fast()->cache_bytes(fast(), cache) : 0, sgemm = octic_sgemm_pack_bytes(2 * co, 2 * ci);
            /* no packs kept where the BLAS has none or keeps its own threads */
            int keeps = sgemm && octic_blas_nests();
            size_t want = keeps ? ((sgemm + 63) & ~(size_t)63) : 0;
            if (keeps && co % 16 == 0) want += 4 * (((size_t)ci * co * sizeof(float) + 63) & ~(size_t)63);
            ck_assert_msg(kept == want, "linear_d8 %d -> %d on %d threads: %zu bytes kept packed, expected %zu", ci, co,
                          threads, kept, want);
            if (cache) fast()->free_cache(fast(), cache);
        }
        octic_cpu_set_prepack(-1);
        octic_cpu_set_threads(0);
        for (int q = 0; q < 5; q++) free(wq[q]);
        free(x), free(b8), free(y1), free(y2);
    }

    int32_t *idx = random_perm(K + 5, 33);
    float *p1 = malloc((size_t)M * (K + 5) * sizeof(float)), *p2 = malloc((size_t)M * (K + 5) * sizeof(float));
    fast()->permute_cols(fast(), p1, in, M, K + 5, K + 5, idx);
    ref()->permute_cols(ref(), p2, in, M, K + 5, K + 5, idx);
    ck_assert(memcmp(p1, p2, (size_t)M * (K + 5) * sizeof(float)) == 0);
    free(idx), free(p1), free(p2);

    int B = 2, S = 64, p = 16, n = S / p;
    float *img = randv((size_t)B * 3 * S * S, 34, 1.0f);
    size_t np = (size_t)B * n * n * 3 * p * p;
    float *c1 = malloc(np * sizeof(float)), *c2 = malloc(np * sizeof(float));
    fast()->im2col(fast(), c1, img, B, S, p);
    ref()->im2col(ref(), c2, img, B, S, p);
    ck_assert(memcmp(c1, c2, np * sizeof(float)) == 0);
    free(img), free(c1), free(c2);

    int C = 1024, rows = 40;
    float *x = randv((size_t)rows * C, 35, 2.0f);
    for (int kind = OCTIC_INVOP_POWER_SPECTRUM; kind <= OCTIC_INVOP_LINEAR; kind++) {
        size_t nw = (size_t)rows * octic_invop_width((octic_invop)kind, C);
        float *v1 = malloc(nw * sizeof(float)), *v2 = malloc(nw * sizeof(float));
        fast()->invariant(fast(), v1, x, rows, C, (octic_invop)kind);
        ref()->invariant(ref(), v2, x, rows, C, (octic_invop)kind);
        ck_assert(memcmp(v1, v2, nw * sizeof(float)) == 0);
        free(v1), free(v2);
    }
    int T = 20;
    float *pos = randv((size_t)T * C, 36, 1.0f), *x1 = dup(x, (size_t)rows * C), *x2 = dup(x, (size_t)rows * C);
    fast()->add_rows(fast(), x1, pos, 2, T, 1, T - 1, C);
    ref()->add_rows(ref(), x2, pos, 2, T, 1, T - 1, C);
    ck_assert(memcmp(x1, x2, (size_t)rows * C * sizeof(float)) == 0);
    free(x), free(pos), free(x1), free(x2), free(in), free(w), free(bias), free(o1), free(o2);

    /* copy: disjoint, and overlapping both ways (memmove), large enough to be
     * cut into the threads' shares */
    size_t nc = (size_t)1 << 20, shift = 1000;
    float *a = randv(nc + shift, 37, 1.0f), *b = dup(a, nc + shift), *d1 = malloc(nc * sizeof(float));
    octic_cpu_set_threads(2);
    fast()->copy(fast(), d1, a, nc);
    ck_assert(memcmp(d1, a, nc * sizeof(float)) == 0);
    for (int down = 0; down < 2; down++) {
        fast()->copy(fast(), down ? a : a + shift, down ? a + shift : a, nc);
        ref()->copy(ref(), down ? b : b + shift, down ? b + shift : b, nc);
        ck_assert_msg(memcmp(a, b, (nc + shift) * sizeof(float)) == 0, "copy between overlapping ranges (%s)",
                      down ? "down" : "up");
    }
    octic_cpu_set_threads(0);
    free(a), free(b), free(d1);
}
END_TEST

START_TEST(test_linear_gelu) {
    /* fc1 and its GELU in one op: the reference's product then GELU(x + bias),
     * for outputs of one to three steps of rows (a step is 200 rows at most),
     * strided rows, 1-3 threads, with the weight packed in a pass or not */
    const struct { int M, N, K; } shapes[] = {{450, 300, 96}, {201, 77, 40}, {7, 4096, 16}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        int M = shapes[k].M, N = shapes[k].N, K = shapes[k].K, ldi = K + 3, ldo = N + 5;
        float *in = randv((size_t)M * ldi, 60 + k, 1.0f), *w = randv((size_t)N * K, 61 + k, 0.3f);
        float *bias = randv((size_t)N, 62 + k, 1.0f);
        float *o1 = malloc((size_t)M * ldo * sizeof(float)), *o2 = malloc((size_t)M * N * sizeof(float));
        for (int withbias = 0; withbias < 2; withbias++) {
            ref()->linear(ref(), o2, N, in, ldi, w, NULL, M, N, K);
            ref()->gelu_bias(ref(), o2, withbias ? bias : NULL, M, N);
            for (int run = 0; run < 6; run++) {
                int threads = 1 + run % 3, packed = run / 3;
                octic_cpu_set_threads(threads);
                octic_cpu_set_prepack(packed ? 1 : 0);
                void *cache = NULL;
                fast()->begin_pass(fast(), &cache, 4);
                for (size_t i = 0; i < (size_t)M * ldo; i++) o1[i] = NAN; /* the gaps stay */
                fast()->linear_gelu(fast(), o1, ldo, in, ldi, w, withbias ? bias : NULL, M, N, K);
                fast()->end_pass(fast());
                if (packed && octic_sgemm_can_pack() && octic_blas_nests()) /* else no pass keeps packs */
                    ck_assert_msg(cache && fast()->cache_bytes(fast(), cache) > 0, "%dx%dx%d: the weight was not packed",
                                  M, N, K);
                if (cache) fast()->free_cache(fast(), cache);
                double e = 0.0;
                int gaps = 1;
                for (int r = 0; r < M; r++) {
                    e = fmax(e, worst(o1 + (size_t)r * ldo, o2 + (size_t)r * N, (size_t)N));
                    for (int j = N; j < ldo; j++) gaps &= isnan(o1[(size_t)r * ldo + j]) != 0;
                }
                ck_assert_msg(e <= 1e-6, "linear_gelu %dx%dx%d, %d threads, %s, %s: fast and reference differ by %g",
                              M, N, K, threads, packed ? "packed" : "not packed", withbias ? "bias" : "no bias", e);
                ck_assert_msg(gaps, "linear_gelu %dx%dx%d wrote between the rows", M, N, K);
            }
        }
        octic_cpu_set_threads(0);
        octic_cpu_set_prepack(-1);
        free(in), free(w), free(bias), free(o1), free(o2);
    }
}
END_TEST

/* A small hybrid model, large enough for every op to be split over threads. */
static octic_config small_hybrid(void) {
    octic_config cfg = octic_arch_find("hybrid_deit_large_patch16")->config;
    cfg.depth = 4;
    cfg.dim = 512;
    cfg.heads = 8;
    cfg.mlp_hidden = 2048;
    cfg.break_layer = 2;
    cfg.grid = 8;
    cfg.classes = 100;
    return cfg;
}

static void run_model(octic_model *m, const float *img, int B, int S, float *logits, float *prenorm) {
    octic_outputs o = {.logits = logits, .prenorm = prenorm};
    ck_assert_msg(octic_model_forward(m, img, B, S, &o) == OCTIC_OK, "%s", octic_last_error());
}

START_TEST(test_model_fast_vs_reference) {
    const char *archs[] = {"hybrid", "invariant", "standard"};
    for (int k = 0; k < 3; k++) {
        octic_config cfg = small_hybrid();
        if (k == 1) cfg.kind = OCTIC_KIND_INVARIANT, cfg.invariant = OCTIC_INV_POLYNOMIAL;
        if (k == 2) cfg.kind = OCTIC_KIND_STANDARD, cfg.break_layer = 0;
        octic_model *mf, *mr;
        ck_assert(octic_model_random(&cfg, 5, NULL, &mf) == OCTIC_OK);
        ck_assert(octic_model_random(&cfg, 5, ref(), &mr) == OCTIC_OK);
        int B = 3, S = 128, T = octic_model_tokens(mf, S), C = cfg.dim;
        float *img = randv((size_t)B * 3 * S * S, 40, 1.0f);
        size_t np = (size_t)B * T * C;
        float *l1 = malloc((size_t)B * cfg.classes * sizeof(float)), *l2 = malloc((size_t)B * cfg.classes * sizeof(float));
        float *p1 = malloc(np * sizeof(float)), *p2 = malloc(np * sizeof(float));
        run_model(mf, img, B, S, l1, p1);
        run_model(mr, img, B, S, l2, p2);
        ck_assert_msg(rel_error(p1, p2, np) < 1e-5, "%s model: prenorm tokens differ by %g", archs[k],
                      rel_error(p1, p2, np));
        ck_assert_msg(max_abs_diff(l1, l2, (size_t)B * cfg.classes) < 1e-4, "%s model: logits differ by %g", archs[k],
                      (double)max_abs_diff(l1, l2, (size_t)B * cfg.classes));
        free(img), free(l1), free(l2), free(p1), free(p2);
        octic_model_free(mf);
        octic_model_free(mr);
    }
}
END_TEST

START_TEST(test_model_random_configs) {
    /* Small models of every family with drawn shapes, on both kernel sets,
     * 1-3 threads, weights packed for the products or not (every product's
     * weight: the drawn shapes are small) and each attention path: head
     * widths that are and are not
     * a multiple of the vector width (tiles or the BLAS), from one patch up,
     * register tokens (DINOv2), a break anywhere. Prenorm tokens of the fast
     * backend against the reference. */
    static const char *const archs[] = {"hybrid_deit_large_patch16", "d8_inv_early_deit_large_patch16",
                                        "deit_large_patch16_LS",     "hybrid_vit_large",
                                        "vit_large_inv_early",       "vit_large"};
    static const int head_widths[] = {8, 16, 24, 32, 40, 48, 64, 80};
    unsigned state = 2026;
    for (int it = 0; it < 48; it++) {
        const char *arch = archs[random_pick(&state, 6)];
        octic_config cfg = octic_arch_find(arch)->config;
        int hd = head_widths[random_pick(&state, 8)], H = 1 + (int)random_pick(&state, 8);
        cfg.dim = hd * H;
        cfg.heads = H;
        cfg.depth = 2 + (int)random_pick(&state, 3);
        cfg.mlp_hidden = cfg.dim * (1 + (int)random_pick(&state, 4));
        if (cfg.kind != OCTIC_KIND_STANDARD) cfg.break_layer = 1 + (int)random_pick(&state, (unsigned)cfg.depth - 1);
        if (cfg.family == OCTIC_FAMILY_DINOV2) cfg.registers = (int)random_pick(&state, 5);
        int step = cfg.kind != OCTIC_KIND_STANDARD ? 2 * cfg.patch : cfg.patch;
        int S = step * (1 + (int)random_pick(&state, 5)), B = 1 + (int)random_pick(&state, 4);
        cfg.grid = S / cfg.patch + 2 * (int)random_pick(&state, 3);
        if (cfg.classes) cfg.classes = 1 + (int)random_pick(&state, 50);
        int threads = 1 + (int)random_pick(&state, 3), portable = (int)random_pick(&state, 2);
        int tiles = (int)random_pick(&state, 3) - 1, prepack = (int)random_pick(&state, 2);
        octic_cpu_set_prepack(prepack);
        octic_cpu_set_threads(threads);
        octic_cpu_set_portable(portable);
        octic_cpu_set_attention_tiles(tiles);
        octic_model *mf, *mr;
        ck_assert_msg(octic_model_random(&cfg, (uint64_t)it, NULL, &mf) == OCTIC_OK, "%s", octic_last_error());
        ck_assert_msg(octic_model_random(&cfg, (uint64_t)it, ref(), &mr) == OCTIC_OK, "%s", octic_last_error());
        int T = octic_model_tokens(mf, S);
        size_t np = (size_t)B * T * cfg.dim;
        float *img = randv((size_t)B * 3 * S * S, 100u + (unsigned)it, 1.0f);
        float *pf = malloc(np * sizeof(float)), *pr = malloc(np * sizeof(float));
        ck_assert(pf && pr);
        run_model(mf, img, B, S, NULL, pf);
        run_model(mr, img, B, S, NULL, pr);
        double e = rel_error(pf, pr, np);
        ck_assert_msg(e < 1e-5,
                      "case %d, %s with C %d, %d heads of %d, depth %d (break %d), hidden %d, %d registers, "
                      "%d images of %dx%d (%d tokens), %d threads, %s kernels, tiles %d, prepack %d: prenorm tokens "
                      "differ by %g",
                      it, arch, cfg.dim, H, hd, cfg.depth, cfg.break_layer, cfg.mlp_hidden, cfg.registers, B, S, S,
                      T, threads, portable ? "portable" : "fastest", tiles, prepack, e);
        if (prepack) /* B = 1 too: octic_cpu_set_prepack(1) packs in every pass */
            ck_assert_msg(octic_model_backend_bytes(mf) > 0, "case %d: no weight packed", it);
        free(img), free(pf), free(pr);
        octic_model_free(mf);
        octic_model_free(mr);
    }
    octic_cpu_set_threads(0);
    octic_cpu_set_portable(0);
    octic_cpu_set_attention_tiles(-1);
    octic_cpu_set_prepack(-1);
}
END_TEST

/* The small hybrid (k = 0) or standard (k = 1) model with the same random
 * weights on the fast backend (*mf) and on `other` (*mo). */
static octic_config model_pair(int k, uint64_t seed, const octic_backend *other, octic_model **mf, octic_model **mo) {
    octic_config cfg = small_hybrid();
    if (k == 1) cfg.kind = OCTIC_KIND_STANDARD, cfg.break_layer = 0;
    ck_assert(octic_model_random(&cfg, seed, NULL, mf) == OCTIC_OK);
    ck_assert(octic_model_random(&cfg, seed, other, mo) == OCTIC_OK);
    return cfg;
}

#if defined(__SSE__)
#include <xmmintrin.h>
#define MXCSR_FLUSH 0x8040u /* FTZ and DAZ */
#define MXCSR_DENORMAL 0x2u /* the flag of an operand read as a subnormal */

START_TEST(test_subnormals_as_zero) {
    /* During a forward pass the fast backend reads subnormal floats as zero
     * (a microcode assist each otherwise): a model with every 7th weight
     * subnormal runs its pass, on one thread so that the caller's MXCSR
     * flags show what the ops met, without reading one; the caller gets its
     * mode back, and the logits are the reference's (which reads them) */
    for (int k = 0; k < 2; k++) {
        octic_model *mf, *mr;
        octic_config cfg = model_pair(k, 8, ref(), &mf, &mr);
        for (size_t i = 0; i < mf->n_weights; i += 7) mf->weights[i] = mr->weights[i] = 1e-40f;
        int B = 1, S = 128;
        size_t nl = (size_t)B * cfg.classes;
        float *img = randv((size_t)B * 3 * S * S, 44, 1.0f);
        float *l1 = malloc(nl * sizeof(float)), *l2 = malloc(nl * sizeof(float));
        octic_cpu_set_threads(1);
        unsigned before = _mm_getcsr();
        _mm_setcsr(before & ~0x3fu); /* the flags cleared */
        run_model(mf, img, B, S, l1, NULL);
        unsigned after = _mm_getcsr();
        octic_cpu_set_threads(0);
        const char *what = k ? "standard" : "hybrid";
        ck_assert_msg(!(after & MXCSR_DENORMAL), "%s: an op read a subnormal operand", what);
        ck_assert_msg((after & MXCSR_FLUSH) == (before & MXCSR_FLUSH), "%s: the caller's mode changed (%#x, was %#x)",
                      what, after & MXCSR_FLUSH, before & MXCSR_FLUSH);
        run_model(mr, img, B, S, l2, NULL);
        ck_assert_msg(max_abs_diff(l1, l2, nl) < 1e-5, "%s: logits differ from the reference's by %g", what,
                      (double)max_abs_diff(l1, l2, nl));
        free(img), free(l1), free(l2);
        octic_model_free(mf);
        octic_model_free(mr);
    }
#ifdef _OPENMP
    /* every thread of the team in that mode during a pass, and back after */
    octic_cpu_set_threads(3);
    int during = 0, after = 0;
    fast()->begin_pass(fast(), NULL, 1);
#pragma omp parallel num_threads(3) reduction(+ : during)
    during += (_mm_getcsr() & MXCSR_FLUSH) == MXCSR_FLUSH;
    fast()->end_pass(fast());
#pragma omp parallel num_threads(3) reduction(+ : after)
    after += (_mm_getcsr() & MXCSR_FLUSH) != 0;
    octic_cpu_set_threads(0);
    ck_assert_msg(during == 3, "%d of 3 threads read subnormals as zero during a pass", during);
    ck_assert_msg(after == 0, "%d of 3 threads still read subnormals as zero after the pass", after);
#endif
}
END_TEST
#endif

START_TEST(test_model_nan) {
    /* A NaN in a weight that only q . k reads (a row of the first block's
     * qkv for k) shows in the logits, in both backends, not as plausible
     * numbers */
    octic_model *mf, *mr;
    octic_config cfg = model_pair(1, 9, ref(), &mf, &mr);
    int C = cfg.dim, B = 2, S = 128;
    size_t at = (size_t)(C + 3) * C + 5, nl = (size_t)B * cfg.classes;
    ((float *)mf->blocks[0].qkv_w)[at] = NAN;
    ((float *)mr->blocks[0].qkv_w)[at] = NAN;
    float *img = randv((size_t)B * 3 * S * S, 45, 1.0f);
    float *l1 = malloc(nl * sizeof(float)), *l2 = malloc(nl * sizeof(float));
    run_model(mf, img, B, S, l1, NULL);
    run_model(mr, img, B, S, l2, NULL);
    size_t n1 = 0, n2 = 0;
    for (size_t i = 0; i < nl; i++) n1 += isnan(l1[i]) != 0, n2 += isnan(l2[i]) != 0;
    ck_assert_msg(n2 == nl, "reference: %zu of %zu logits NaN", n2, nl);
    ck_assert_msg(n1 == nl, "fast: %zu of %zu logits NaN", n1, nl);
    free(img), free(l1), free(l2);
    octic_model_free(mf);
    octic_model_free(mr);
}
END_TEST

START_TEST(test_bias_ops_optional) {
    /* A backend without the bias ops (the CUDA one) gets the biases in its
     * products: the same outputs as the fast backend, which adds them in the
     * ops after the products. */
    octic_backend plain = *fast();
    plain.gelu_bias = NULL, plain.residual_bias = NULL, plain.residual_bias_layernorm = NULL;
    plain.attention_bias = NULL, plain.linear_gelu = NULL;
    for (int k = 0; k < 2; k++) {
        octic_model *mf, *mp;
        octic_config cfg = model_pair(k, 6, &plain, &mf, &mp);
        int B = 2, S = 128, T = octic_model_tokens(mf, S), C = cfg.dim;
        float *img = randv((size_t)B * 3 * S * S, 42, 1.0f);
        size_t np = (size_t)B * T * C, nl = (size_t)B * cfg.classes;
        float *l1 = malloc(nl * sizeof(float)), *l2 = malloc(nl * sizeof(float));
        float *p1 = malloc(np * sizeof(float)), *p2 = malloc(np * sizeof(float));
        run_model(mf, img, B, S, l1, p1);
        run_model(mp, img, B, S, l2, p2);
        ck_assert_msg(rel_error(p1, p2, np) < 1e-6, "%s: tokens with and without the bias ops differ by %g",
                      k ? "standard" : "hybrid", rel_error(p1, p2, np));
        ck_assert_msg(max_abs_diff(l1, l2, nl) < 1e-5, "%s: logits with and without the bias ops differ by %g",
                      k ? "standard" : "hybrid", (double)max_abs_diff(l1, l2, nl));
        free(img), free(l1), free(l2), free(p1), free(p2);
        octic_model_free(mf);
        octic_model_free(mp);
    }
}
END_TEST

START_TEST(test_attention_maps) {
    /* The class token's attention maps read qkv after each block: with
     * them asked for, the fast backend keeps qkv's bias in its product
     * (and adds it in the attention otherwise). Maps as those of the
     * reference backend without attention_bias (qkv's bias always in the
     * product); tokens as without the maps. */
    octic_backend plain = *ref();
    plain.attention_bias = NULL;
    for (int k = 0; k < 2; k++) {
        octic_model *mf, *mr;
        octic_config cfg = model_pair(k, 7, &plain, &mf, &mr);
        int B = 2, S = 128, T = octic_model_tokens(mf, S), C = cfg.dim;
        float *img = randv((size_t)B * 3 * S * S, 43, 1.0f);
        size_t np = (size_t)B * T * C, na = (size_t)cfg.depth * B * cfg.heads * T;
        float *a1 = malloc(na * sizeof(float)), *a2 = malloc(na * sizeof(float));
        float *p1 = malloc(np * sizeof(float)), *p2 = malloc(np * sizeof(float));
        octic_outputs o1 = {.attn = a1, .prenorm = p1}, o2 = {.attn = a2};
        ck_assert_msg(octic_model_forward(mf, img, B, S, &o1) == OCTIC_OK, "%s", octic_last_error());
        ck_assert_msg(octic_model_forward(mr, img, B, S, &o2) == OCTIC_OK, "%s", octic_last_error());
        ck_assert_msg(max_abs_diff(a1, a2, na) < 1e-5, "%s: attention maps differ from the reference's by %g",
                      k ? "standard" : "hybrid", (double)max_abs_diff(a1, a2, na));
        run_model(mf, img, B, S, NULL, p2);
        ck_assert_msg(rel_error(p1, p2, np) < 1e-6, "%s: tokens with and without the attention maps differ by %g",
                      k ? "standard" : "hybrid", rel_error(p1, p2, np));
        free(img), free(a1), free(a2), free(p1), free(p2);
        octic_model_free(mf);
        octic_model_free(mr);
    }
}
END_TEST

START_TEST(test_thread_count_invariance) {
    /* the same forward pass on 1, 2 and 3 threads (3: more than this kind of
     * machine has cores): outputs agree to 1e-5 */
    for (int k = 0; k < 2; k++) {
        octic_config cfg = small_hybrid();
        if (k == 1) cfg.kind = OCTIC_KIND_STANDARD, cfg.break_layer = 0;
        octic_model *m;
        ck_assert(octic_model_random(&cfg, 9, NULL, &m) == OCTIC_OK);
        int B = 4, S = 128, T = octic_model_tokens(m, S), C = cfg.dim;
        float *img = randv((size_t)B * 3 * S * S, 41, 1.0f);
        size_t np = (size_t)B * T * C, nl = (size_t)B * cfg.classes;
        float *l1 = malloc(nl * sizeof(float)), *p1 = malloc(np * sizeof(float));
        float *l = malloc(nl * sizeof(float)), *p = malloc(np * sizeof(float));
        octic_cpu_set_threads(1);
        run_model(m, img, B, S, l1, p1);
        double scale = 0.0;
        for (size_t i = 0; i < np; i++) scale = fmax(scale, fabs(p1[i]));
        ck_assert(scale > 0.1);
        for (int threads = 2; threads <= 3; threads++) {
            octic_cpu_set_threads(threads);
            ck_assert_int_eq(octic_cpu_threads(), threads);
            run_model(m, img, B, S, l, p);
            float dp = max_abs_diff(p, p1, np), dl = max_abs_diff(l, l1, nl);
            ck_assert_msg(dp <= 1e-5 * fmax(1.0, scale), "%s: %d threads against 1: tokens differ by %g (max |x| %g)",
                          k ? "standard" : "hybrid", threads, (double)dp, scale);
            ck_assert_msg(dl <= 1e-5, "%s: %d threads against 1: logits differ by %g", k ? "standard" : "hybrid",
                          threads, (double)dl);
        }
        octic_cpu_set_threads(0);
        free(img), free(l1), free(p1), free(l), free(p);
        octic_model_free(m);
    }
}
END_TEST

START_TEST(test_arena_reuse) {
    /* the activations are allocated once per batch shape: passes with the
     * same shape reuse them, with the same results as a fresh model's */
    octic_config cfg = small_hybrid();
    octic_model *m, *fresh;
    ck_assert(octic_model_random(&cfg, 3, NULL, &m) == OCTIC_OK);
    ck_assert(octic_model_random(&cfg, 3, NULL, &fresh) == OCTIC_OK);
    int S = 128;
    float *img = randv((size_t)2 * 3 * S * S, 42, 1.0f);
    float a[200], b[200], c[200];
    ck_assert_int_eq(m->arena_builds, 0);
    run_model(m, img, 2, S, a, NULL);
    ck_assert_int_eq(m->arena_builds, 1);
    run_model(m, img, 2, S, b, NULL);
    ck_assert_int_eq(m->arena_builds, 1);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    run_model(m, img + (size_t)3 * S * S, 1, S, b, NULL);
    ck_assert_int_eq(m->arena_builds, 2);
    run_model(m, img + (size_t)3 * S * S, 1, S, c, NULL);
    ck_assert_int_eq(m->arena_builds, 2);
    ck_assert(memcmp(b, c, 100 * sizeof(float)) == 0);
    run_model(m, img, 2, S, b, NULL);
    run_model(fresh, img, 2, S, c, NULL);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    ck_assert(memcmp(a, c, sizeof a) == 0);
    free(img);
    octic_model_free(m);
    octic_model_free(fresh);
}
END_TEST

START_TEST(test_model_random_matches_tensor_set) {
    /* octic_model_random builds in place the weights octic_random_weights gives */
    octic_config cfg = small_hybrid();
    octic_tensor_set set;
    ck_assert(octic_random_weights(&cfg, 77, &set) == OCTIC_OK);
    octic_model *m1, *m2;
    ck_assert(octic_model_build(&set, &cfg, NULL, &m1) == OCTIC_OK);
    ck_assert(octic_model_random(&cfg, 77, NULL, &m2) == OCTIC_OK);
    ck_assert_uint_eq(m1->n_weights, m2->n_weights);
    ck_assert(memcmp(m1->weights, m2->weights, m1->n_weights * sizeof(float)) == 0);
    octic_tensor_set_free(&set);
    octic_model_free(m1);
    octic_model_free(m2);
}
END_TEST

/* Floats of the dense products' weights in the blocks of a standard model. */
static size_t block_weight_floats(const octic_config *cfg) {
    size_t C = (size_t)cfg->dim, H = (size_t)cfg->mlp_hidden;
    return (size_t)cfg->depth * (4 * C * C + 2 * C * H);
}

START_TEST(test_prepacked_weights) {
    /* The weights packed for the products (octic_cpu_set_prepack): made by
     * the first pass of 2 images or more and kept with the model, used by
     * later passes of any batch; the same results as products that pack per
     * call; the memory they take within bounds and within the limit. */
    octic_config cfg = small_hybrid();
    cfg.kind = OCTIC_KIND_STANDARD, cfg.break_layer = 0;
    int S = 128, nl = cfg.classes;
    float *img = randv((size_t)2 * 3 * S * S, 43, 1.0f);
    float plain2[2 * 100], plain1[100], l[2 * 100];
    octic_cpu_set_threads(2);

    octic_model *m0, *m;
    ck_assert(octic_model_random(&cfg, 11, NULL, &m0) == OCTIC_OK);
    ck_assert(octic_model_random(&cfg, 11, NULL, &m) == OCTIC_OK);
    octic_cpu_set_prepack(0);
    run_model(m0, img, 2, S, plain2, NULL);
    run_model(m0, img, 1, S, plain1, NULL);
    ck_assert_uint_eq(octic_model_backend_bytes(m0), 0);

    octic_cpu_set_prepack(-1);
    run_model(m, img, 1, S, l, NULL); /* one image: packs nothing */
    ck_assert_uint_eq(octic_model_backend_bytes(m), 0);
    ck_assert_float_le(max_abs_diff(l, plain1, nl), 1e-5f);
    run_model(m, img, 2, S, l, NULL);
    /* oneDNN 2.6 (Debian 12's) has the packed products; OpenBLAS has none */
    ck_assert_int_eq(octic_sgemm_can_pack(), strcmp(octic_blas_name(), "dnnl") == 0);
    if (!octic_sgemm_can_pack()) {
        ck_assert_uint_eq(octic_model_backend_bytes(m), 0);
        ck_assert_float_le(max_abs_diff(l, plain2, 2 * nl), 1e-5f);
        octic_cpu_set_threads(0);
        octic_model_free(m), octic_model_free(m0);
        free(img);
        return;
    }
    size_t bytes = octic_model_backend_bytes(m), blocks = block_weight_floats(&cfg) * sizeof(float);
    ck_assert_msg(bytes >= blocks && bytes <= 3 * m->n_weights * sizeof(float) / 2,
                  "%zu bytes packed for %zu bytes of block weights (%zu of weights in all)", bytes, blocks,
                  m->n_weights * sizeof(float));
    ck_assert_float_le(max_abs_diff(l, plain2, 2 * nl), 1e-5f);
    run_model(m, img, 2, S, l, NULL); /* packed once */
    ck_assert_uint_eq(octic_model_backend_bytes(m), bytes);
    ck_assert_float_le(max_abs_diff(l, plain2, 2 * nl), 1e-5f);
    run_model(m, img, 1, S, l, NULL); /* one image: uses them */
    ck_assert_uint_eq(octic_model_backend_bytes(m), bytes);
    ck_assert_float_le(max_abs_diff(l, plain1, nl), 1e-5f);
    octic_cpu_set_threads(3); /* other column shares: packed again */
    run_model(m, img, 2, S, l, NULL);
    ck_assert_float_le(max_abs_diff(l, plain2, 2 * nl), 1e-5f);
    size_t again = octic_model_backend_bytes(m); /* the shares for 2 threads dropped */
    ck_assert_msg(again >= blocks && again <= 3 * m->n_weights * sizeof(float) / 2, "%zu bytes packed on 3 threads",
                  again);
    octic_cpu_set_threads(2);
    octic_model_free(m);

    /* a limit that holds some of them: the rest pack per call */
    size_t limit = bytes / 3;
    octic_cpu_set_prepack_limit(limit);
    ck_assert(octic_model_random(&cfg, 11, NULL, &m) == OCTIC_OK);
    run_model(m, img, 2, S, l, NULL);
    size_t some = octic_model_backend_bytes(m);
    ck_assert_msg(some > 0 && some <= limit, "%zu bytes packed under a limit of %zu", some, limit);
    ck_assert_float_le(max_abs_diff(l, plain2, 2 * nl), 1e-5f);
    octic_model_free(m);
    octic_cpu_set_prepack_limit(0);

    /* octic_cpu_set_prepack(1): every product's weight, in every pass */
    octic_config hcfg = small_hybrid();
    octic_model *h0, *h;
    ck_assert(octic_model_random(&hcfg, 12, NULL, &h0) == OCTIC_OK);
    ck_assert(octic_model_random(&hcfg, 12, NULL, &h) == OCTIC_OK);
    octic_cpu_set_prepack(0);
    run_model(h0, img, 1, S, plain1, NULL);
    octic_cpu_set_prepack(1);
    run_model(h, img, 1, S, l, NULL);
    ck_assert_uint_gt(octic_model_backend_bytes(h), 0);
    ck_assert_float_le(max_abs_diff(l, plain1, nl), 1e-5f);
    octic_cpu_set_prepack(-1);
    octic_cpu_set_threads(0);
    octic_model_free(h0), octic_model_free(h), octic_model_free(m0);
    free(img);
}
END_TEST

static void portable_on(void) { octic_cpu_set_portable(1); }
static void portable_off(void) { octic_cpu_set_portable(0); }

static Suite *ops_suite(void) {
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("fast-vs-reference");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_layernorms);
    tcase_add_test(tc, test_gelus);
    tcase_add_test(tc, test_attention);
    tcase_add_test(tc, test_attention_spread);
    tcase_add_test(tc, test_attention_nan);
    tcase_add_test(tc, test_linear_and_layout_ops);
    tcase_add_test(tc, test_linear_gelu);
    tcase_add_test(tc, test_model_fast_vs_reference);
    tcase_add_test(tc, test_model_random_configs);
    tcase_add_test(tc, test_model_nan);
    tcase_add_test(tc, test_bias_ops_optional);
    tcase_add_test(tc, test_attention_maps);
#if defined(__SSE__)
    tcase_add_test(tc, test_subnormals_as_zero);
#endif
    suite_add_tcase(s, tc);
    /* the same with the portable kernels (the AVX-512 ones above where the
     * processor has them) */
    TCase *tp = tcase_create("portable-vs-reference");
    tcase_set_timeout(tp, 600);
    tcase_add_checked_fixture(tp, portable_on, portable_off);
    tcase_add_test(tp, test_layernorms);
    tcase_add_test(tp, test_gelus);
    tcase_add_test(tp, test_attention);
    tcase_add_test(tp, test_attention_spread);
    tcase_add_test(tp, test_attention_nan);
    tcase_add_test(tp, test_linear_and_layout_ops);
    tcase_add_test(tp, test_linear_gelu);
    suite_add_tcase(s, tp);
    TCase *th = tcase_create("threads");
    tcase_set_timeout(th, 600);
    tcase_add_test(th, test_thread_count_invariance);
    suite_add_tcase(s, th);
    TCase *mem = tcase_create("memory");
    tcase_set_timeout(mem, 600);
    tcase_add_test(mem, test_arena_reuse);
    tcase_add_test(mem, test_model_random_matches_tensor_set);
    tcase_add_test(mem, test_prepacked_weights);
    suite_add_tcase(s, mem);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(ops_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
