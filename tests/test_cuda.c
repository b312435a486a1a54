/* The CUDA backend against the CPU reference: every op on both backends with
 * random shapes (a normalized error per op), every golden case on the GPU
 * (float32 within 1e-4 of the PyTorch outputs, bfloat16 within 2e-2
 * relative), weights uploaded once and one arena per batch shape.
 *
 * Exits 77 (meson: SKIP) with one line saying why when this build has no
 * CUDA backend or no usable GPU is found. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "device.h"
#include "model.h"
#include "model_internal.h"
#include "octic_math.h"
#include "test_util.h"

static const octic_backend *gpu, *gpu16;
static const octic_backend *ref(void) { return octic_cpu_reference_backend(); }

/* ---- host <-> device ------------------------------------------------------ */

static float *to_dev(const octic_backend *be, const float *x, size_t n) {
    float *d = be->alloc(be, n ? n : 1);
    ck_assert_ptr_nonnull(d);
    if (n) be->upload(be, d, x, n);
    return d;
}

static float *from_dev(const octic_backend *be, const float *d, size_t n) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(x);
    be->download(be, x, d, n);
    ck_assert_msg(octic_device_status(be) == OCTIC_OK, "%s", octic_last_error());
    return x;
}

/* max |a - b| / (1 + |b|), NaN the worst */
static double worst(const float *a, const float *b, size_t n) {
    double w = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (!(d <= w)) w = d;
    }
    return w;
}

/* Prints the op's normalized errors and checks the bound: max |a-b|/(1+|b|)
 * for float32, |a-b|/|b| (Frobenius) for bfloat16. */
static void compare(const char *op, const char *shape, const float *got, const float *want, size_t n, int bf16,
                    double tol) {
    double w = worst(got, want, n), r = rel_error(got, want, n);
    printf("%-28s %-34s normalized max %.3g  relative %.3g\n", op, shape, w, r);
    double e = bf16 ? r : w;
    ck_assert_msg(e <= tol, "%s (%s): CUDA and CPU reference differ by %g (tolerance %g)", op, shape, e, tol);
}

/* A small deterministic generator for the random shapes. */
static unsigned rng = 12345u;
static int pick(int lo, int hi) {
    rng = rng * 1103515245u + 12345u;
    return lo + (int)((rng >> 8) % (unsigned)(hi - lo + 1));
}

/* ---- op by op ---------------------------------------------------------------- */

START_TEST(test_norms_and_residuals) {
    for (int trial = 0; trial < 8; trial++) {
        int C = trial < 2 ? (trial ? 1280 : 1024) : 8 * pick(1, 160), rows = pick(1, 300);
        char shape[64];
        snprintf(shape, sizeof shape, "rows %d, C %d", rows, C);
        size_t n = (size_t)rows * C;
        float *x = randv(n, 1 + trial, 3.0f), *y = randv(n, 2 + trial, 1.0f), *w = randv(C, 3, 1.0f);
        float *b = randv(C, 4, 0.5f), *g = randv(C, 5, 0.2f), *o = malloc(n * sizeof(float));
        for (int i = 0; i < C; i++) w[i] += 1.5f;
        for (size_t i = 0; i < n; i += 7) x[i] += 20.0f;
        float *dx = to_dev(gpu, x, n), *dy = to_dev(gpu, y, n), *dw = to_dev(gpu, w, C), *db = to_dev(gpu, b, C);
        float *dg = to_dev(gpu, g, C), *dout = gpu->alloc(gpu, n);

        gpu->layernorm(gpu, dout, dx, dw, db, rows, C, 1e-6f);
        ref()->layernorm(ref(), o, x, w, b, rows, C, 1e-6f);
        float *got = from_dev(gpu, dout, n);
        compare("layernorm", shape, got, o, n, 0, 2e-5);
        free(got);
        gpu->layernorm_d8(gpu, dout, dx, dw, db, rows, C, 1e-5f);
        ref()->layernorm_d8(ref(), o, x, w, b, rows, C, 1e-5f);
        got = from_dev(gpu, dout, n);
        compare("layernorm_d8", shape, got, o, n, 0, 2e-5);
        free(got);
        for (int k = 0; k < 6; k++) { /* residual, residual_layernorm(_d8), with and without gamma */
            int gam = k % 2, op = k / 2;
            float *xr = malloc(n * sizeof(float));
            memcpy(xr, x, n * sizeof(float));
            gpu->upload(gpu, dx, x, n);
            const char *name[3] = {"residual", "residual_layernorm", "residual_layernorm_d8"};
            if (op == 0) {
                gpu->residual(gpu, dx, dy, gam ? dg : NULL, rows, C);
                ref()->residual(ref(), xr, y, gam ? g : NULL, rows, C);
            } else if (op == 1) {
                gpu->residual_layernorm(gpu, dx, dy, gam ? dg : NULL, dout, dw, db, rows, C, 1e-6f);
                ref()->residual_layernorm(ref(), xr, y, gam ? g : NULL, o, w, b, rows, C, 1e-6f);
            } else {
                gpu->residual_layernorm_d8(gpu, dx, dy, gam ? dg : NULL, dout, dw, db, rows, C, 1e-5f);
                ref()->residual_layernorm_d8(ref(), xr, y, gam ? g : NULL, o, w, b, rows, C, 1e-5f);
            }
            got = from_dev(gpu, dx, n);
            compare(name[op], shape, got, xr, n, 0, 1e-6);
            free(got);
            if (op) {
                got = from_dev(gpu, dout, n);
                compare(name[op], "(the norm's output)", got, o, n, 0, 2e-5);
                free(got);
            }
            free(xr);
        }
        gpu->free(gpu, dx), gpu->free(gpu, dy), gpu->free(gpu, dw), gpu->free(gpu, db), gpu->free(gpu, dg);
        gpu->free(gpu, dout);
        free(x), free(y), free(w), free(b), free(g), free(o);
    }
}
END_TEST

START_TEST(test_pointwise) {
    size_t n = 240001;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = -12.0f + 24.0f * (float)i / (float)(n - 1);
    float *dx = to_dev(gpu, x, n);
    gpu->gelu(gpu, dx, n);
    ref()->gelu(ref(), x, n);
    float *got = from_dev(gpu, dx, n);
    compare("gelu", "[-12, 12] sweep", got, x, n, 0, 1e-6);
    free(got), free(x), gpu->free(gpu, dx);
    for (int trial = 0; trial < 4; trial++) {
        int C = trial ? 8 * pick(1, 640) : 4096, rows = pick(1, 200);
        char shape[64];
        snprintf(shape, sizeof shape, "rows %d, C %d", rows, C);
        size_t m = (size_t)rows * C;
        float *h = randv(m, 10 + trial, 4.0f), *dh = to_dev(gpu, h, m);
        gpu->gelu_d8(gpu, dh, rows, C);
        ref()->gelu_d8(ref(), h, rows, C);
        got = from_dev(gpu, dh, m);
        compare("gelu_d8", shape, got, h, m, 0, 2e-6);
        free(got), free(h), gpu->free(gpu, dh);
        float *v = randv(m, 20 + trial, 2.0f), *dv = to_dev(gpu, v, m);
        for (int kind = OCTIC_INVOP_POWER_SPECTRUM; kind <= OCTIC_INVOP_LINEAR; kind++) {
            size_t nw = (size_t)rows * octic_invop_width((octic_invop)kind, C);
            float *want = malloc(nw * sizeof(float)), *dout = gpu->alloc(gpu, nw);
            gpu->invariant(gpu, dout, dv, rows, C, (octic_invop)kind);
            ref()->invariant(ref(), want, v, rows, C, (octic_invop)kind);
            got = from_dev(gpu, dout, nw);
            static const char *names[] = {"", "invariant power spectrum", "invariant polynomial",
                                          "invariant third order", "invariant linear"};
            compare(names[kind], shape, got, want, nw, 0, 1e-6);
            free(got), free(want), gpu->free(gpu, dout);
        }
        free(v), gpu->free(gpu, dv);
    }
}
END_TEST

/* linear and linear_d8 in float32 (1e-5) and bfloat16 (2e-2 relative) */
START_TEST(test_products) {
    for (int trial = 0; trial < 6; trial++) {
        int M = pick(1, 700), N = trial ? pick(1, 600) : 3072, K = trial ? pick(1, 600) : 1024, pad = trial % 3;
        char shape[64];
        snprintf(shape, sizeof shape, "M %d, N %d, K %d, ldi %d", M, N, K, K + pad);
        float *in = randv((size_t)M * (K + pad), 30 + trial, 1.0f), *w = randv((size_t)N * K, 31, 0.3f);
        float *bias = randv(N, 32, 1.0f), *want = malloc((size_t)M * N * sizeof(float));
        float *din = to_dev(gpu, in, (size_t)M * (K + pad)), *dw = to_dev(gpu, w, (size_t)N * K);
        float *dbias = to_dev(gpu, bias, N), *dout = gpu->alloc(gpu, (size_t)M * N);
        for (int k = 0; k < 4; k++) {
            int withbias = k % 2, bf16 = k / 2;
            const octic_backend *be = bf16 ? gpu16 : gpu;
            be->linear(be, dout, N, din, K + pad, dw, withbias ? dbias : NULL, M, N, K);
            ref()->linear(ref(), want, N, in, K + pad, w, withbias ? bias : NULL, M, N, K);
            float *got = from_dev(be, dout, (size_t)M * N);
            compare(bf16 ? "linear (bfloat16)" : "linear", shape, got, want, (size_t)M * N, bf16, bf16 ? 2e-2 : 1e-5);
            free(got);
        }
        gpu->free(gpu, din), gpu->free(gpu, dw), gpu->free(gpu, dbias), gpu->free(gpu, dout);
        free(in), free(w), free(bias), free(want);
    }
    for (int trial = 0; trial < 4; trial++) {
        int m = pick(1, 500), ci = trial ? pick(1, 100) : 128, co = trial ? pick(1, 100) : 384;
        char shape[64];
        snprintf(shape, sizeof shape, "M %d, in %d, out %d", m, 8 * ci, 8 * co);
        float *x = randv((size_t)m * 8 * ci, 50 + trial, 1.0f), *b8 = randv(co, 51, 1.0f);
        float *wq[5], *dwq[5];
        for (int q = 0; q < 5; q++) {
            size_t nq = (size_t)(q < 4 ? 1 : 4) * ci * co;
            wq[q] = randv(nq, 52 + q, 0.1f);
            dwq[q] = to_dev(gpu, wq[q], nq);
        }
        const float *const wc[5] = {wq[0], wq[1], wq[2], wq[3], wq[4]};
        const float *const dwc[5] = {dwq[0], dwq[1], dwq[2], dwq[3], dwq[4]};
        size_t no = (size_t)m * 8 * co;
        float *want = malloc(no * sizeof(float)), *dx = to_dev(gpu, x, (size_t)m * 8 * ci), *db = to_dev(gpu, b8, co);
        float *dout = gpu->alloc(gpu, no);
        ref()->linear_d8(ref(), want, x, wc, b8, m, ci, co);
        for (int bf16 = 0; bf16 < 2; bf16++) {
            const octic_backend *be = bf16 ? gpu16 : gpu;
            be->linear_d8(be, dout, dx, dwc, db, m, ci, co);
            float *got = from_dev(be, dout, no);
            compare(bf16 ? "linear_d8 (bfloat16)" : "linear_d8", shape, got, want, no, bf16, bf16 ? 2e-2 : 1e-5);
            free(got);
        }
        for (int q = 0; q < 5; q++) free(wq[q]), gpu->free(gpu, dwq[q]);
        free(x), free(b8), free(want), gpu->free(gpu, dx), gpu->free(gpu, db), gpu->free(gpu, dout);
    }
}
END_TEST

START_TEST(test_attention) {
    /* ViT lengths (197 at 224/16, 257 at 224/14, 1370 at 518/14), head widths 64 and 80, random small ones */
    const struct { int B, N, H, hd; } fixed[] = {{2, 197, 4, 64}, {1, 257, 3, 80}, {1, 1370, 2, 64}, {1, 1025, 1, 80}};
    for (int trial = 0; trial < 10; trial++) {
        int B, N, H, hd;
        if (trial < 4)
            B = fixed[trial].B, N = fixed[trial].N, H = fixed[trial].H, hd = fixed[trial].hd;
        else
            B = pick(1, 3), N = pick(1, 300), H = pick(1, 4), hd = 8 * pick(1, 16);
        int C = H * hd;
        size_t nq = (size_t)B * N * 3 * C, no = (size_t)B * N * C;
        float *qkv = randv(nq, 60 + trial, 2.0f), *want = calloc(no, sizeof(float));
        float *scratch = malloc(ref()->attention_scratch(ref(), B, N, H, hd) * sizeof(float));
        float *dq = to_dev(gpu, qkv, nq), *dout = gpu->alloc(gpu, no);
        for (int maps = 0; maps < 2; maps++) {
            int32_t *qc = maps ? random_perm(3 * C, 7 + trial) : NULL, *oc = maps ? random_perm(C, 8 + trial) : NULL;
            int32_t *dqc = maps ? gpu->upload_index(gpu, qc, (size_t)3 * C) : NULL;
            int32_t *doc = maps ? gpu->upload_index(gpu, oc, (size_t)C) : NULL;
            ref()->attention(ref(), want, qkv, qc, oc, scratch, B, N, H, hd);
            for (int bf16 = 0; bf16 < 2; bf16++) {
                const octic_backend *be = bf16 ? gpu16 : gpu;
                char shape[96];
                snprintf(shape, sizeof shape, "B %d, N %d, H %d, hd %d%s", B, N, H, hd, maps ? ", column maps" : "");
                size_t ns = be->attention_scratch(be, B, N, H, hd);
                float *ds = ns ? be->alloc(be, ns) : NULL;
                be->attention(be, dout, dq, dqc, doc, ds, B, N, H, hd);
                float *got = from_dev(be, dout, no);
                compare(bf16 ? "attention (bfloat16)" : "attention", shape, got, want, no, bf16, bf16 ? 2e-2 : 1e-5);
                free(got);
                if (ds) be->free(be, ds);
            }
            if (maps) gpu->free_index(gpu, dqc), gpu->free_index(gpu, doc);
            free(qc), free(oc);
        }
        gpu->free(gpu, dq), gpu->free(gpu, dout);
        free(qkv), free(want), free(scratch);
    }
}
END_TEST

START_TEST(test_layout_ops) {
    /* exact: data movement only */
    int M = pick(50, 300), K = pick(10, 200);
    float *in = randv((size_t)M * (K + 5), 70, 1.0f);
    float *din = to_dev(gpu, in, (size_t)M * (K + 5));
    int32_t *idx = random_perm(K + 5, 71), *didx = gpu->upload_index(gpu, idx, (size_t)K + 5);
    float *want = malloc((size_t)M * (K + 5) * sizeof(float)), *dout = gpu->alloc(gpu, (size_t)M * (K + 5));
    gpu->permute_cols(gpu, dout, din, M, K + 5, K + 5, didx);
    ref()->permute_cols(ref(), want, in, M, K + 5, K + 5, idx);
    float *got = from_dev(gpu, dout, (size_t)M * (K + 5));
    ck_assert_msg(memcmp(got, want, (size_t)M * (K + 5) * sizeof(float)) == 0, "permute_cols differs");
    printf("%-28s %-34s exact\n", "permute_cols", "");
    free(got), free(want), free(idx), gpu->free_index(gpu, didx), gpu->free(gpu, dout);

    const int sizes[][2] = {{224, 16}, {224, 14}, {64, 16}};
    for (int k = 0; k < 3; k++) {
        int B = 2, S = sizes[k][0], p = sizes[k][1], n = S / p;
        size_t ni = (size_t)B * 3 * S * S, np = (size_t)B * n * n * 3 * p * p;
        float *img = randv(ni, 72, 1.0f), *dimg = to_dev(gpu, img, ni), *dp = gpu->alloc(gpu, np);
        float *w2 = malloc(np * sizeof(float));
        gpu->im2col(gpu, dp, dimg, B, S, p);
        ref()->im2col(ref(), w2, img, B, S, p);
        got = from_dev(gpu, dp, np);
        ck_assert_msg(memcmp(got, w2, np * sizeof(float)) == 0, "im2col %d/%d differs", S, p);
        printf("%-28s S %d, p %-27d exact\n", "im2col", S, p);
        free(got), free(w2), free(img), gpu->free(gpu, dimg), gpu->free(gpu, dp);
    }

    int B = 3, T = 20, C = 72, t0 = 2, nr = 5;
    size_t nx = (size_t)B * T * C;
    float *x = randv(nx, 73, 1.0f), *rows = randv((size_t)T * C, 74, 1.0f);
    float *dx = to_dev(gpu, x, nx), *drows = to_dev(gpu, rows, (size_t)T * C);
    gpu->add_rows(gpu, dx, drows, B, T, t0, T - t0, C);
    ref()->add_rows(ref(), x, rows, B, T, t0, T - t0, C);
    gpu->set_rows(gpu, dx, drows, B, T, 0, nr, C);
    ref()->set_rows(ref(), x, rows, B, T, 0, nr, C);
    got = from_dev(gpu, dx, nx);
    ck_assert_msg(memcmp(got, x, nx * sizeof(float)) == 0, "add_rows/set_rows differ");
    free(got);
    float *slice = malloc((size_t)B * nr * C * sizeof(float)), *dslice = gpu->alloc(gpu, (size_t)B * nr * C);
    gpu->get_rows(gpu, dslice, dx, B, T, 3, nr, C);
    ref()->get_rows(ref(), slice, x, B, T, 3, nr, C);
    got = from_dev(gpu, dslice, (size_t)B * nr * C);
    ck_assert_msg(memcmp(got, slice, (size_t)B * nr * C * sizeof(float)) == 0, "get_rows differs");
    printf("%-28s %-34s exact\n", "add_rows, set_rows, get_rows", "");
    /* copy between overlapping ranges, both ways: memmove in the reference */
    for (int dir = 0; dir < 2; dir++) {
        float *h = randv(nx, 75 + dir, 1.0f), *dh = to_dev(gpu, h, nx);
        size_t shift = 37, len = nx - shift;
        float *dst = dir ? dh : dh + shift, *src = dir ? dh + shift : dh;
        gpu->copy(gpu, dst, src, len);
        ref()->copy(ref(), dir ? h : h + shift, dir ? h + shift : h, len);
        got = from_dev(gpu, dh, nx);
        ck_assert_msg(memcmp(got, h, nx * sizeof(float)) == 0, "copy between overlapping ranges (%s) differs",
                      dir ? "down" : "up");
        free(got), free(h), gpu->free(gpu, dh);
    }
    printf("%-28s %-34s exact\n", "copy, overlapping", "");
    free(slice), free(x), free(rows), free(in);
    gpu->free(gpu, dslice), gpu->free(gpu, dx), gpu->free(gpu, drows), gpu->free(gpu, din);
}
END_TEST

/* ---- golden cases on the GPU ------------------------------------------------- */

static const char *const cases[] = {
    "deit_hybrid_p16", "deit_hybrid_p14",  "deit_invariant_p16", "deit_invariant_poly", "deit_baseline_p16",
    "dino_hybrid_p16", "dino_invariant_p16", "dino_baseline_p16", "dino_hybrid_interp",
};

static octic_model *load_on(const char *name, const octic_backend *be) {
    char path[1024];
    golden_path(path, sizeof path, name, "model.pth");
    octic_tensor_set set;
    ck_assert_msg(octic_checkpoint_load(path, &set) == OCTIC_OK, "%s", octic_last_error());
    octic_config cfg;
    ck_assert_msg(octic_config_infer(&set, golden_int(name, "num_heads"), &cfg) == OCTIC_OK, "%s", octic_last_error());
    octic_model *m = NULL;
    ck_assert_msg(octic_model_build(&set, &cfg, be, &m) == OCTIC_OK, "%s: %s", name, octic_last_error());
    octic_tensor_set_free(&set);
    return m;
}

typedef struct {
    float *blocks;
    size_t stride;
} capture;

static void on_block(void *user, int index, const float *tokens, int B, int T, int C) {
    capture *c = user;
    if (index >= 0) memcpy(c->blocks + (size_t)index * c->stride, tokens, (size_t)B * T * C * sizeof(float));
}

/* float32: 1e-4 absolute as the CPU golden test (1e-5 of the largest
 * magnitude above 1000, as there); bfloat16: 2e-2 relative */
static void golden_check(const char *name, const char *what, const float *got, const float *want, size_t n, int bf16) {
    if (bf16) {
        double r = rel_error(got, want, n);
        printf("%-22s %-30s bfloat16 relative %.3g\n", name, what, r);
        ck_assert_msg(r <= 2e-2, "%s: %s (bfloat16) differs by %g relative (tolerance 2e-2)", name, what, r);
        return;
    }
    float big = 0.0f;
    for (size_t i = 0; i < n; i++) big = fabsf(want[i]) > big ? fabsf(want[i]) : big;
    float tol = big > 1000.0f ? 1e-5f * big : 1e-4f, d = max_abs_diff(got, want, n);
    printf("%-22s %-30s float32 max |diff| %.3g\n", name, what, d);
    ck_assert_msg(d < tol, "%s: %s differs from the reference by %g on the GPU (tolerance %g)", name, what, d, tol);
}

START_TEST(test_golden_on_gpu) {
    const char *name = cases[_i / 2];
    int bf16 = _i % 2;
    const octic_backend *be = bf16 ? gpu16 : gpu;
    octic_model *m = load_on(name, be);
    const octic_config *cf = octic_model_config(m);
    octic_array in, blocks;
    golden_npy(name, "input.npy", &in);
    golden_npy(name, "blocks.npy", &blocks);
    int B = (int)in.shape[0], S = (int)in.shape[3], C = cf->dim, T = octic_model_tokens(m, S);
    size_t bt = (size_t)B * T * C;
    capture cap = {calloc((size_t)(cf->depth + 1) * bt, sizeof(float)), bt};
    float *logits = cf->classes ? calloc((size_t)B * cf->classes, sizeof(float)) : NULL;
    float *cls = calloc((size_t)B * C, sizeof(float));
    octic_outputs out = {.logits = logits, .cls = cls, .on_block = on_block, .user = &cap};
    ck_assert_msg(octic_model_forward(m, in.data, B, S, &out) == OCTIC_OK, "%s: %s", name, octic_last_error());
    ck_assert_msg(octic_device_status(be) == OCTIC_OK, "%s: %s", name, octic_last_error());
    if (!bf16)
        for (int i = 0; i <= cf->depth; i++) {
            char what[48];
            snprintf(what, sizeof what, "block %d output", i - 1);
            golden_check(name, i ? what : "embedded tokens", cap.blocks + (size_t)i * bt,
                         blocks.data + (size_t)i * bt, bt, 0);
        }
    else
        golden_check(name, "last block output", cap.blocks + (size_t)cf->depth * bt,
                     blocks.data + (size_t)cf->depth * bt, bt, 1);
    octic_array want;
    if (cf->family == OCTIC_FAMILY_DEIT) {
        golden_npy(name, "logits.npy", &want);
        golden_check(name, "logits", logits, want.data, (size_t)B * cf->classes, bf16);
    } else {
        golden_npy(name, "cls.npy", &want);
        golden_check(name, "class token", cls, want.data, (size_t)B * C, bf16);
    }
    octic_array_free(&want);
    free(cap.blocks), free(logits), free(cls);
    octic_array_free(&in);
    octic_array_free(&blocks);
    octic_model_free(m);
}
END_TEST

/* Weights once, one arena per batch shape: device memory does not grow over
 * passes of the same shape, and the results of a pass do not change. */
START_TEST(test_device_memory) {
    octic_config cfg = octic_arch_find("hybrid_deit_large_patch16")->config;
    cfg.depth = 4, cfg.dim = 512, cfg.heads = 8, cfg.mlp_hidden = 2048, cfg.break_layer = 2, cfg.grid = 8;
    cfg.classes = 100;
    octic_device_reset_peak(gpu);
    size_t before = octic_device_peak_bytes(gpu);
    octic_model *m;
    ck_assert(octic_model_random(&cfg, 3, gpu, &m) == OCTIC_OK);
    size_t weights = octic_device_peak_bytes(gpu) - before;
    ck_assert_msg(weights >= m->n_weights * sizeof(float), "weights: %zu bytes on the device, %zu expected", weights,
                  m->n_weights * sizeof(float));
    int S = 128;
    float *img = randv((size_t)2 * 3 * S * S, 80, 1.0f), a[200], b[200];
    octic_outputs o1 = {.logits = a}, o2 = {.logits = b};
    ck_assert(octic_model_forward(m, img, 2, S, &o1) == OCTIC_OK);
    size_t peak = octic_device_peak_bytes(gpu);
    ck_assert(octic_model_forward(m, img, 2, S, &o2) == OCTIC_OK);
    ck_assert_int_eq(m->arena_builds, 1);
    ck_assert_msg(octic_device_peak_bytes(gpu) == peak, "device memory grew from %zu to %zu bytes on a second pass",
                  peak, octic_device_peak_bytes(gpu));
    ck_assert(memcmp(a, b, sizeof a) == 0);
    /* and the same model on the CPU reference */
    octic_model *mr;
    ck_assert(octic_model_random(&cfg, 3, ref(), &mr) == OCTIC_OK);
    octic_outputs o3 = {.logits = b};
    ck_assert(octic_model_forward(mr, img, 2, S, &o3) == OCTIC_OK);
    double d = max_abs_diff(a, b, 200);
    printf("%-28s %-34s logits max |diff| %.3g\n", "small hybrid model", "GPU vs CPU reference", d);
    ck_assert_msg(d < 1e-4, "small hybrid model: GPU and CPU logits differ by %g", d);
    octic_model_free(m);
    octic_model_free(mr);
    free(img);
}
END_TEST

static Suite *cuda_suite(void) {
    Suite *s = suite_create("cuda");
    TCase *ops = tcase_create("ops");
    tcase_set_timeout(ops, 600);
    tcase_add_test(ops, test_norms_and_residuals);
    tcase_add_test(ops, test_pointwise);
    tcase_add_test(ops, test_products);
    tcase_add_test(ops, test_attention);
    tcase_add_test(ops, test_layout_ops);
    suite_add_tcase(s, ops);
    TCase *models = tcase_create("models");
    tcase_set_timeout(models, 600);
    tcase_add_loop_test(models, test_golden_on_gpu, 0, (int)(2 * sizeof cases / sizeof cases[0]));
    tcase_add_test(models, test_device_memory);
    suite_add_tcase(s, models);
    return s;
}

int main(void) {
    if (!octic_cuda_built()) {
        printf("SKIP: no CUDA backend in this build (nvcc not found, or -Dcuda=disabled)\n");
        return 77;
    }
    char why[256];
    gpu = octic_cuda_backend_for(OCTIC_FLOAT32, why, sizeof why);
    gpu16 = octic_cuda_backend_for(OCTIC_BFLOAT16, why, sizeof why);
    if (!gpu || !gpu16) {
        printf("SKIP: no usable GPU found: %s\n", why);
        return 77;
    }
    SRunner *sr = srunner_create(cuda_suite());
    srunner_set_fork_status(sr, CK_NOFORK); /* a CUDA context does not survive fork() */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
