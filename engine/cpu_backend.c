/* The CPU reference backend: the readable reference of every operation in
 * backend.h (the fast CPU backend, cpu_fast.c, and any other backend are
 * tested against it op by op).
 *
 * Plain loops over float*, one function per op, one thread, matrix products
 * through octic_sgemm. Accumulations of means and variances are done in
 * double so that the reference is as exact as float storage allows. */
#include "backend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "octic_math.h"

static float *cpu_alloc(const octic_backend *be, size_t n) {
    (void)be;
    /* 64-byte aligned for vector loads; never 0 bytes */
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

static void cpu_free(const octic_backend *be, float *p) { (void)be; free(p); }

static void cpu_copy(const octic_backend *be, float *dst, const float *src, size_t n) {
    (void)be;
    if (n) memmove(dst, src, n * sizeof(float));
}

static void cpu_linear(const octic_backend *be, float *out, int ldo, const float *in, int ldi,
                       const float *w, const float *bias, int M, int N, int K) {
    (void)be;
    // out: (M, N) row stride ldo; in: (M, K) row stride ldi; w: (N, K); bias: (N) or NULL
    float beta = 0.0f;
    if (bias) {
        for (int i = 0; i < M; i++) memcpy(out + (size_t)i * ldo, bias, (size_t)N * sizeof(float));
        beta = 1.0f;
    }
    octic_sgemm(1, M, N, K, in, ldi, w, K, beta, out, ldo);
}

static void cpu_linear_d8(const octic_backend *be, float *out, const float *in, const float *const w[5],
                          const float *bias, int M, int ci, int co) {
    // in: (M, 8ci) iso5, out: (M, 8co) iso5: six products, the E weight used for both E rows
    for (int q = 0; q < 4; q++)
        cpu_linear(be, out + q * co, 8 * co, in + q * ci, 8 * ci, w[q], q == 0 ? bias : NULL, M, co, ci);
    for (int row = 0; row < 2; row++)
        cpu_linear(be, out + (4 + 2 * row) * co, 8 * co, in + (4 + 2 * row) * ci, 8 * ci, w[4], NULL, M, 2 * co,
                   2 * ci);
}

static void cpu_im2col(const octic_backend *be, float *patches, const float *images, int B, int S, int p) {
    (void)be;
    // images: (B, 3, S, S) -> patches: (B, n*n, 3*p*p) with n = S/p
    int n = S / p;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                float *row = patches + (((size_t)b * n + i) * n + j) * 3 * p * p;
                for (int ch = 0; ch < 3; ch++)
                    for (int ky = 0; ky < p; ky++) {
                        const float *src = images + (((size_t)b * 3 + ch) * S + (size_t)i * p + ky) * S + (size_t)j * p;
                        memcpy(row + ((size_t)ch * p + ky) * p, src, (size_t)p * sizeof(float));
                    }
            }
}

static void cpu_layernorm(const octic_backend *be, float *out, const float *in, const float *w,
                          const float *b, int rows, int C, float eps) {
    (void)be;
    // in, out: (rows, C); w, b: (C)
    for (int r = 0; r < rows; r++) {
        const float *x = in + (size_t)r * C;
        float *y = out + (size_t)r * C;
        double mean = 0.0, var = 0.0;
        for (int i = 0; i < C; i++) mean += x[i];
        mean /= C;
        for (int i = 0; i < C; i++) var += (x[i] - mean) * (x[i] - mean);
        var /= C;
        float rstd = (float)(1.0 / sqrt(var + eps));
        for (int i = 0; i < C; i++) y[i] = (float)(x[i] - mean) * rstd * w[i] + b[i];
    }
}

/* Mean and biased variance of x[0..n). */
static void mean_var(const float *x, int n, double *mean, double *var) {
    double m = 0.0, v = 0.0;
    for (int i = 0; i < n; i++) m += x[i];
    m /= n;
    for (int i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    *mean = m;
    *var = v / n;
}

static void cpu_layernorm_d8(const octic_backend *be, float *out, const float *in, const float *scale,
                             const float *shift, int rows, int C, float eps) {
    (void)be;
    // in, out: (rows, C) iso5; segments A1, A2, B1, B2 of c = C/8, E row 0, E row 1 of 2c
    int c = C / 8;
    const int seg_start[6] = {0, c, 2 * c, 3 * c, 4 * c, 6 * c};
    const int seg_len[6] = {c, c, c, c, 2 * c, 2 * c};
    for (int r = 0; r < rows; r++) {
        const float *x = in + (size_t)r * C;
        float *y = out + (size_t)r * C;
        double mean[6], var[6];
        for (int s = 0; s < 6; s++) mean_var(x + seg_start[s], seg_len[s], &mean[s], &var[s]);
        // the E variance enters as the mean over its two rows; eps inside the sqrt
        double total = var[0] + var[1] + var[2] + var[3] + 0.5 * (var[4] + var[5]) + eps;
        float std = (float)(OCTIC_SQRT2_OVER_4 * sqrt(total));
        for (int s = 0; s < 6; s++)
            for (int i = seg_start[s]; i < seg_start[s] + seg_len[s]; i++)
                y[i] = (float)(x[i] - mean[s]) / std * scale[i] + shift[i];
    }
}

static void cpu_gelu(const octic_backend *be, float *x, size_t n) {
    (void)be;
    for (size_t i = 0; i < n; i++) x[i] = octic_gelu(x[i]);
}

static void cpu_gelu_d8(const octic_backend *be, float *x, int rows, int C) {
    (void)be;
    // x: (rows, C) iso5. Channel i of each irrep gathers the 8 values x0..x7
    // (x4, x6 from E row 0; x5, x7 from E row 1), which form one regular
    // representation: GELU acts there, pointwise.
    int c = C / 8;
    for (int r = 0; r < rows; r++) {
        float *t = x + (size_t)r * C;
        for (int i = 0; i < c; i++) {
            float *p[8] = {t + i, t + c + i, t + 2 * c + i, t + 3 * c + i,
                           t + 4 * c + i, t + 6 * c + i, t + 5 * c + i, t + 7 * c + i};
            float iso[8], reg[8];
            for (int k = 0; k < 8; k++) iso[k] = *p[k];
            octic_isotypic_to_regular(reg, iso);
            for (int k = 0; k < 8; k++) reg[k] = octic_gelu(reg[k]);
            octic_regular_to_isotypic(iso, reg);
            for (int k = 0; k < 8; k++) *p[k] = iso[k];
        }
    }
}

static size_t cpu_attention_scratch(const octic_backend *be, int B, int N, int H, int hd) {
    (void)be, (void)B, (void)H;
    return (size_t)4 * N * hd + (size_t)N * N;
}

/* Column of q/k/v (s = 0, 1, 2) element t of head h in a qkv row. */
static int qkv_col(const int32_t *cols, int s, int h, int t, int H, int hd) {
    int j = (s * H + h) * hd + t;
    return cols ? cols[j] : j;
}

static void attention_ref(float *out, const float *qkv, const float *bias, const int32_t *qkv_cols,
                          const int32_t *out_cols, float *scratch, int B, int N, int H, int hd) {
    // qkv: (B*N, 3*H*hd), bias: (3*H*hd) or NULL -> out: (B*N, H*hd); per (b, h): softmax(q k^T / sqrt(hd)) v
    // scratch: q, k, v, o (N, hd) gathered for one head, att (N, N)
    float scale = 1.0f / sqrtf((float)hd);
    int ld_qkv = 3 * H * hd, ld_out = H * hd;
    float *q = scratch, *k = q + (size_t)N * hd, *v = k + (size_t)N * hd, *o = v + (size_t)N * hd;
    float *att = o + (size_t)N * hd;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            float *dst[3] = {q, k, v};
            for (int s = 0; s < 3; s++)
                for (int i = 0; i < N; i++)
                    for (int t = 0; t < hd; t++) {
                        int c = qkv_col(qkv_cols, s, h, t, H, hd);
                        dst[s][(size_t)i * hd + t] = qkv[((size_t)b * N + i) * ld_qkv + c] + (bias ? bias[c] : 0.0f);
                    }
            octic_sgemm(1, N, N, hd, q, hd, k, hd, 0.0f, att, N);
            for (int i = 0; i < N; i++) {
                float *row = att + (size_t)i * N;
                float mx = -INFINITY;
                for (int j = 0; j < N; j++) {
                    row[j] *= scale;
                    if (row[j] > mx) mx = row[j];
                }
                double sum = 0.0;
                for (int j = 0; j < N; j++) {
                    row[j] = expf(row[j] - mx);
                    sum += row[j];
                }
                float inv = (float)(1.0 / sum);
                for (int j = 0; j < N; j++) row[j] *= inv;
            }
            octic_sgemm(0, N, hd, N, att, N, v, hd, 0.0f, o, hd);
            for (int i = 0; i < N; i++)
                for (int t = 0; t < hd; t++) {
                    int j = h * hd + t;
                    out[((size_t)b * N + i) * ld_out + (out_cols ? out_cols[j] : j)] = o[(size_t)i * hd + t];
                }
        }
}

static void cpu_attention(const octic_backend *be, float *out, const float *qkv, const int32_t *qkv_cols,
                          const int32_t *out_cols, float *scratch, int B, int N, int H, int hd) {
    (void)be;
    attention_ref(out, qkv, NULL, qkv_cols, out_cols, scratch, B, N, H, hd);
}

static void cpu_attention_bias(const octic_backend *be, float *out, const float *qkv, const float *bias,
                               float *scratch, int B, int N, int H, int hd) {
    (void)be;
    attention_ref(out, qkv, bias, NULL, NULL, scratch, B, N, H, hd);
}

static void cpu_permute_cols(const octic_backend *be, float *out, const float *in, int rows, int ncols,
                             int ldi, const int32_t *idx) {
    (void)be;
    for (int r = 0; r < rows; r++) {
        const float *x = in + (size_t)r * ldi;
        float *y = out + (size_t)r * ncols;
        for (int j = 0; j < ncols; j++) y[j] = x[idx[j]];
    }
}

static int32_t *cpu_upload_index(const octic_backend *be, const int32_t *idx, size_t n) {
    (void)be;
    int32_t *p = malloc((n ? n : 1) * sizeof(int32_t));
    if (p && n) memcpy(p, idx, n * sizeof(int32_t));
    return p;
}

static void cpu_free_index(const octic_backend *be, int32_t *idx) { (void)be; free(idx); }

static void cpu_gelu_bias(const octic_backend *be, float *x, const float *bias, int rows, int C) {
    (void)be;
    // x: (rows, C); bias: (C) or NULL
    for (int r = 0; r < rows; r++) {
        float *a = x + (size_t)r * C;
        for (int i = 0; i < C; i++) a[i] = octic_gelu(bias ? a[i] + bias[i] : a[i]);
    }
}

static void cpu_residual_bias(const octic_backend *be, float *x, const float *y, const float *bias,
                              const float *gamma, int rows, int C) {
    (void)be;
    // x, y: (rows, C); bias, gamma: (C) or NULL
    for (int r = 0; r < rows; r++) {
        float *a = x + (size_t)r * C;
        const float *d = y + (size_t)r * C;
        for (int i = 0; i < C; i++) {
            float v = bias ? d[i] + bias[i] : d[i];
            a[i] += gamma ? gamma[i] * v : v;
        }
    }
}

static void cpu_residual(const octic_backend *be, float *x, const float *y, const float *gamma, int rows, int C) {
    cpu_residual_bias(be, x, y, NULL, gamma, rows, C);
}

static void cpu_residual_bias_layernorm(const octic_backend *be, float *x, const float *y, const float *bias,
                                        const float *gamma, float *out, const float *w, const float *b, int rows,
                                        int C, float eps) {
    cpu_residual_bias(be, x, y, bias, gamma, rows, C);
    cpu_layernorm(be, out, x, w, b, rows, C, eps);
}

static void cpu_residual_layernorm(const octic_backend *be, float *x, const float *y, const float *gamma,
                                   float *out, const float *w, const float *b, int rows, int C, float eps) {
    cpu_residual_bias_layernorm(be, x, y, NULL, gamma, out, w, b, rows, C, eps);
}

static void cpu_residual_layernorm_d8(const octic_backend *be, float *x, const float *y, const float *gamma,
                                      float *out, const float *scale, const float *shift, int rows, int C,
                                      float eps) {
    cpu_residual(be, x, y, gamma, rows, C);
    cpu_layernorm_d8(be, out, x, scale, shift, rows, C, eps);
}

static void cpu_add_rows(const octic_backend *be, float *x, const float *pos, int B, int T, int t0, int npos, int C) {
    (void)be;
    for (int b = 0; b < B; b++)
        for (int n = 0; n < npos; n++) {
            float *a = x + ((size_t)b * T + t0 + n) * C;
            const float *p = pos + (size_t)n * C;
            for (int i = 0; i < C; i++) a[i] += p[i];
        }
}

static void cpu_set_rows(const octic_backend *be, float *dst, const float *src, int B, int T, int t0, int nsrc, int C) {
    (void)be;
    for (int b = 0; b < B; b++)
        memcpy(dst + ((size_t)b * T + t0) * C, src, (size_t)nsrc * C * sizeof(float));
}

static void cpu_get_rows(const octic_backend *be, float *dst, const float *src, int B, int T, int t0, int n, int C) {
    (void)be;
    for (int b = 0; b < B; b++)
        memcpy(dst + (size_t)b * n * C, src + ((size_t)b * T + t0) * C, (size_t)n * C * sizeof(float));
}

static void cpu_invariant(const octic_backend *be, float *out, const float *in, int rows, int C, octic_invop kind) {
    (void)be;
    int c = C / 8;
    int width = octic_invop_width(kind, C);
    for (int r = 0; r < rows; r++)
        octic_invariant_row(out + (size_t)r * width, in + (size_t)r * C, c, kind);
}

static const octic_backend cpu_reference_backend = {
    .name = "cpu-reference",
    .context = NULL,
    .host_memory = 1,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .linear = cpu_linear,
    .linear_d8 = cpu_linear_d8,
    .im2col = cpu_im2col,
    .layernorm = cpu_layernorm,
    .layernorm_d8 = cpu_layernorm_d8,
    .gelu = cpu_gelu,
    .gelu_d8 = cpu_gelu_d8,
    .attention = cpu_attention,
    .attention_scratch = cpu_attention_scratch,
    .attention_bias = cpu_attention_bias,
    .permute_cols = cpu_permute_cols,
    .upload_index = cpu_upload_index,
    .free_index = cpu_free_index,
    .residual = cpu_residual,
    .residual_layernorm = cpu_residual_layernorm,
    .residual_layernorm_d8 = cpu_residual_layernorm_d8,
    .gelu_bias = cpu_gelu_bias,
    .residual_bias = cpu_residual_bias,
    .residual_bias_layernorm = cpu_residual_bias_layernorm,
    .add_rows = cpu_add_rows,
    .set_rows = cpu_set_rows,
    .get_rows = cpu_get_rows,
    .invariant = cpu_invariant,
    .synchronize = NULL,
};

const octic_backend *octic_cpu_reference_backend(void) { return &cpu_reference_backend; }
