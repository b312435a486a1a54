/* The fast CPU backend: the ops of backend.h with the math of the reference
 * (cpu_backend.c) up to float rounding, made fast.
 *
 * - Threads: every op splits its rows (attention: its heads) over the
 *   engine's threads (OpenMP, the runtime oneDNN's sgemm runs on, so the two
 *   never oversubscribe the cores; see blas.c).
 * - Vectors: the hot loops are written on 16-float vectors (GCC vector
 *   extensions) and compiled twice, for AVX-512 and for the portable
 *   baseline, the processor choosing at run time (target_clones).
 * - Fusion: a LayerNorm and the residual add before it, the octic GELU's
 *   change of basis, GELU and change back, the softmax's scale, exponential,
 *   sum and normalization each run as one pass over rows that stay in cache.
 * - exp and erf are polynomials (relative error below 2e-7) instead of libm's
 *   calls; means and variances accumulate in float vectors instead of double.
 *
 * Each op is checked against the reference op by op (tests/test_ops.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "blas.h"
#include "octic_math.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* fused multiply-adds in the vector code (ISO C mode contracts nothing) */
#pragma GCC optimize("fp-contract=fast")

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define HOT
#endif
#define INLINE static inline __attribute__((always_inline))

/* ------------------------------------------------------------------------ */
/* 16-float vectors                                                          */

#define VL 16
typedef float vf __attribute__((vector_size(VL * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VL * sizeof(int32_t))));

INLINE vf vload(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
INLINE void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
INLINE vf vset(float a) { return (vf){0} + a; }
INLINE vf vsel(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }
INLINE vf vmax(vf a, vf b) { return vsel(a > b, a, b); }
INLINE vf vmin(vf a, vf b) { return vsel(a < b, a, b); }
INLINE vf vabs(vf a) { return (vf)((vi)a & 0x7fffffff); }
INLINE float vsum(vf v) {
    float s = 0.0f;
    for (int i = 0; i < VL; i++) s += v[i];
    return s;
}
INLINE float vmaxlane(vf v) {
    float m = v[0];
    for (int i = 1; i < VL; i++) m = v[i] > m ? v[i] : m;
    return m;
}
/* the first n < VL floats of p, the rest `fill` */
INLINE vf vload_part(const float *p, int n, float fill) {
    vf v = vset(fill);
    for (int i = 0; i < n; i++) v[i] = p[i];
    return v;
}
INLINE void vstore_part(float *p, vf v, int n) {
    for (int i = 0; i < n; i++) p[i] = v[i];
}

/* e^x: x = k ln2 + r, |r| <= ln2/2, e^r by its Taylor polynomial of degree 7
 * (truncation below 6e-9), 2^k put into the exponent bits. x is clamped to
 * [-87, 88], where e^x is a normal float. */
INLINE vf vexp(vf x) {
    x = vmin(vmax(x, vset(-87.0f)), vset(88.0f));
    const float round = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    vf k = x * 1.44269504088896341f + round;
    k = k - round;
    vf r = x - k * 0.693359375f; /* ln 2 in two parts, the first exact in float */
    r = r - k * -2.12194440e-4f;
    vf p = vset(1.0f / 5040.0f);
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    vi e = __builtin_convertvector(k, vi);
    return p * (vf)((e + 127) << 23);
}

/* Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), through erfc(z) = t exp(-z^2 + P(t)),
 * t = 1 / (1 + z/2), with the Chebyshev fit P of Numerical Recipes (relative
 * error of erfc below 1.2e-7 for every z >= 0). Written as 0.5 x erfc(-x/sqrt 2)
 * so that the negative side keeps its relative accuracy. */
INLINE vf vgelu(vf x) {
    vf z = vabs(x) * 0.70710678118654752f;
    vf t = 1.0f / (1.0f + 0.5f * z);
    vf p = vset(0.17087277f);
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    vf erfc = t * vexp(p - z * z);
    /* x >= 0: 0.5 x (2 - erfc(z)); x < 0: 0.5 x erfc(z) */
    return vsel(x >= 0.0f, x - 0.5f * x * erfc, 0.5f * x * erfc);
}

/* The isotypic <-> regular butterflies of octic_math.h on vectors. */
INLINE void vto_regular(vf reg[8], const vf x[8]) {
    const float s = (float)OCTIC_SQRT2_OVER_4;
    vf a = x[0] + x[1], b = x[0] - x[1], c = x[2] + x[3], d = x[2] - x[3];
    vf e = x[4] + x[5], f = x[4] - x[5], g = x[6] + x[7], h = x[6] - x[7];
    vf apc = a + c, amc = a - c, bpd = b + d, bmd = b - d;
    vf eph = e + h, emh = e - h, fpg = f + g, fmg = f - g;
    reg[0] = s * (apc + eph);
    reg[1] = s * (amc + fmg);
    reg[2] = s * (apc - eph);
    reg[3] = s * (amc - fmg);
    reg[4] = s * (bpd - fpg);
    reg[5] = s * (bmd - emh);
    reg[6] = s * (bpd + fpg);
    reg[7] = s * (bmd + emh);
}

INLINE void vto_isotypic(vf x[8], const vf r[8]) {
    const float s = (float)OCTIC_SQRT2_OVER_4;
    vf a = r[0] + r[1], b = r[0] - r[1], c = r[2] + r[3], d = r[2] - r[3];
    vf e = r[4] + r[5], f = r[4] - r[5], g = r[6] + r[7], h = r[6] - r[7];
    vf apc = a + c, cma = c - a, bpd = b + d, bmd = b - d;
    vf epg = e + g, gme = g - e, fph = f + h, fmh = f - h;
    x[0] = s * (apc + epg);
    x[1] = s * (apc - epg);
    x[2] = s * (bpd + fph);
    x[3] = s * (bpd - fph);
    x[4] = s * (gme - cma);
    x[5] = s * (bmd + fmh);
    x[6] = s * (bmd - fmh);
    x[7] = s * (gme + cma);
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */

static int thread_count(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Work below which a parallel region costs more than it saves (floats
 * touched): small models' ops run on the calling thread alone. */
#define PARALLEL_MIN_WORK 32768L

/* Runs the body on every thread with [r0, r1) its share of n items of
 * `work` floats each (one thread when the whole is small). A share does not
 * change what an item computes, so results do not depend on the thread
 * count. */
#define PARALLEL_SPLIT(n, work, r0, r1, ...)                                               \
    do {                                                                                  \
        long n_ = (long)(n);                                                              \
        long most_ = n_ * (long)(work) / PARALLEL_MIN_WORK;                               \
        int nt_ = octic_cpu_threads();                                                    \
        if (most_ < nt_) nt_ = most_ > 1 ? (int)most_ : 1;                                \
        if (nt_ > n_) nt_ = n_ > 1 ? (int)n_ : 1;                                         \
        _Pragma("omp parallel num_threads(nt_)") {                                        \
            int t_ = thread_id(), k_ = thread_count();                                    \
            long r0 = n_ * t_ / k_, r1 = n_ * (t_ + 1) / k_;                              \
            __VA_ARGS__;                                                                  \
        }                                                                                 \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Row kernels                                                               */

/* Sum of x[0..n). */
INLINE float row_sum(const float *x, int n) {
    vf s = vset(0.0f);
    int i = 0;
    for (; i + VL <= n; i += VL) s += vload(x + i);
    if (i < n) s += vload_part(x + i, n - i, 0.0f);
    return vsum(s);
}

/* Sum of (x - mean)^2 over x[0..n). */
INLINE float row_sqdev(const float *x, int n, float mean) {
    vf s = vset(0.0f), m = vset(mean);
    int i = 0;
    for (; i + VL <= n; i += VL) {
        vf d = vload(x + i) - m;
        s += d * d;
    }
    if (i < n) {
        vf d = vload_part(x + i, n - i, mean) - m;
        s += d * d;
    }
    return vsum(s);
}

/* y[i] = (x[i] - mean) * rstd * w[i] + b[i] for i < n. */
INLINE void row_affine(float *y, const float *x, int n, float mean, float rstd, const float *w, const float *b) {
    vf m = vset(mean), r = vset(rstd);
    int i = 0;
    for (; i + VL <= n; i += VL) vstore(y + i, (vload(x + i) - m) * r * vload(w + i) + vload(b + i));
    for (; i < n; i++) y[i] = (x[i] - mean) * rstd * w[i] + b[i];
}

/* x[i] += gamma[i] * y[i] (gamma NULL: 1). */
INLINE void row_residual(float *x, const float *y, const float *gamma, int n) {
    int i = 0;
    if (gamma) {
        for (; i + VL <= n; i += VL) vstore(x + i, vload(x + i) + vload(gamma + i) * vload(y + i));
        for (; i < n; i++) x[i] += gamma[i] * y[i];
    } else {
        for (; i + VL <= n; i += VL) vstore(x + i, vload(x + i) + vload(y + i));
        for (; i < n; i++) x[i] += y[i];
    }
}

HOT static void layernorm_rows(float *out, float *x, const float *y, const float *gamma, const float *w,
                               const float *b, long r0, long r1, int C, float eps) {
    // x, out: (rows, C); y: (rows, C) added first (x += gamma * y) when not NULL
    for (long r = r0; r < r1; r++) {
        float *xr = x + (size_t)r * C;
        if (y) row_residual(xr, y + (size_t)r * C, gamma, C);
        float mean = row_sum(xr, C) / C;
        float var = row_sqdev(xr, C, mean) / C;
        row_affine(out + (size_t)r * C, xr, C, mean, 1.0f / sqrtf(var + eps), w, b);
    }
}

HOT static void layernorm_d8_rows(float *out, float *x, const float *y, const float *gamma, const float *scale,
                                  const float *shift, long r0, long r1, int C, float eps) {
    // iso5 rows: A1, A2, B1, B2 of c = C/8, E row 0, E row 1 of 2c; per-irrep
    // means, one std from the variances (E: the mean of its two rows)
    int c = C / 8;
    const int start[6] = {0, c, 2 * c, 3 * c, 4 * c, 6 * c};
    const int len[6] = {c, c, c, c, 2 * c, 2 * c};
    for (long r = r0; r < r1; r++) {
        float *xr = x + (size_t)r * C;
        if (y) row_residual(xr, y + (size_t)r * C, gamma, C);
        float mean[6], var[6];
        for (int s = 0; s < 6; s++) {
            mean[s] = row_sum(xr + start[s], len[s]) / len[s];
            var[s] = row_sqdev(xr + start[s], len[s], mean[s]) / len[s];
        }
        float total = var[0] + var[1] + var[2] + var[3] + 0.5f * (var[4] + var[5]) + eps;
        float rstd = 1.0f / ((float)OCTIC_SQRT2_OVER_4 * sqrtf(total));
        float *yr = out + (size_t)r * C;
        for (int s = 0; s < 6; s++)
            row_affine(yr + start[s], xr + start[s], len[s], mean[s], rstd, scale + start[s], shift + start[s]);
    }
}

HOT static void gelu_range(float *x, long i0, long i1) {
    long i = i0;
    for (; i + VL <= i1; i += VL) vstore(x + i, vgelu(vload(x + i)));
    if (i < i1) vstore_part(x + i, vgelu(vload_part(x + i, (int)(i1 - i), 0.0f)), (int)(i1 - i));
}

HOT static void gelu_d8_rows(float *x, long r0, long r1, int C) {
    // iso5 rows; channel i of the 8 components x0..x7 (x4, x6 in E row 0,
    // x5, x7 in E row 1) is one regular representation: 16 channels at once
    int c = C / 8;
    const int off[8] = {0, c, 2 * c, 3 * c, 4 * c, 6 * c, 5 * c, 7 * c};
    for (long r = r0; r < r1; r++) {
        float *t = x + (size_t)r * C;
        for (int i = 0; i < c; i += VL) {
            int n = c - i < VL ? c - i : VL;
            vf iso[8], reg[8];
            for (int k = 0; k < 8; k++) iso[k] = n == VL ? vload(t + off[k] + i) : vload_part(t + off[k] + i, n, 0.0f);
            vto_regular(reg, iso);
            for (int k = 0; k < 8; k++) reg[k] = vgelu(reg[k]);
            vto_isotypic(iso, reg);
            for (int k = 0; k < 8; k++) {
                if (n == VL)
                    vstore(t + off[k] + i, iso[k]);
                else
                    vstore_part(t + off[k] + i, iso[k], n);
            }
        }
    }
}

/* Softmax numerators of row[0..n) scaled by `scale`, in place; returns 1 / their sum. */
HOT static float softmax_row(float *row, int n, float scale) {
    vf m = vset(-INFINITY);
    int i = 0;
    for (; i + VL <= n; i += VL) m = vmax(m, vload(row + i));
    float mx = vmaxlane(m);
    for (; i < n; i++) mx = row[i] > mx ? row[i] : mx;
    vf sc = vset(scale), off = vset(mx * scale), sum = vset(0.0f);
    for (i = 0; i + VL <= n; i += VL) {
        vf e = vexp(vload(row + i) * sc - off);
        vstore(row + i, e);
        sum += e;
    }
    if (i < n) {
        vf e = vexp(vload_part(row + i, n - i, mx) * sc - off);
        vstore_part(row + i, e, n - i);
        for (int j = 0; j < n - i; j++) sum[j] += e[j];
    }
    return 1.0f / vsum(sum);
}

/* ------------------------------------------------------------------------ */
/* Ops                                                                       */

static float *fast_alloc(const octic_backend *be, size_t n) {
    (void)be;
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

static void fast_free(const octic_backend *be, float *p) { (void)be, free(p); }

static void fast_copy(const octic_backend *be, float *dst, const float *src, size_t n) {
    (void)be;
    if (!n) return;
    PARALLEL_SPLIT(n, 1, i0, i1, memmove(dst + i0, src + i0, (size_t)(i1 - i0) * sizeof(float)));
}

static void fast_linear(const octic_backend *be, float *out, int ldo, const float *in, int ldi, const float *w,
                        const float *bias, int M, int N, int K) {
    (void)be;
    // out: (M, N) row stride ldo; in: (M, K) row stride ldi; w: (N, K); bias: (N) or NULL
    float beta = 0.0f;
    if (bias) {
        PARALLEL_SPLIT(M, N, r0, r1, for (long i = r0; i < r1; i++)
                           memcpy(out + (size_t)i * ldo, bias, (size_t)N * sizeof(float)));
        beta = 1.0f;
    }
    octic_sgemm(1, M, N, K, in, ldi, w, K, beta, out, ldo);
}

static void fast_im2col(const octic_backend *be, float *patches, const float *images, int B, int S, int p) {
    (void)be;
    // images: (B, 3, S, S) -> patches: (B, n*n, 3*p*p) with n = S/p
    int n = S / p;
    PARALLEL_SPLIT((long)B * n, (long)n * 3 * p * p, r0, r1, for (long bi = r0; bi < r1; bi++) {
        int b = (int)(bi / n), i = (int)(bi % n);
        for (int j = 0; j < n; j++) {
            float *row = patches + (((size_t)b * n + i) * n + j) * 3 * p * p;
            for (int ch = 0; ch < 3; ch++)
                for (int ky = 0; ky < p; ky++)
                    memcpy(row + ((size_t)ch * p + ky) * p,
                           images + (((size_t)b * 3 + ch) * S + (size_t)i * p + ky) * S + (size_t)j * p,
                           (size_t)p * sizeof(float));
        }
    });
}

static void fast_layernorm(const octic_backend *be, float *out, const float *in, const float *w, const float *b,
                           int rows, int C, float eps) {
    (void)be;
    /* in is only read: layernorm_rows writes x only when it adds y */
    PARALLEL_SPLIT(rows, 3 * C, r0, r1, layernorm_rows(out, (float *)in, NULL, NULL, w, b, r0, r1, C, eps));
}

static void fast_residual_layernorm(const octic_backend *be, float *x, const float *y, const float *gamma, float *out,
                                    const float *w, const float *b, int rows, int C, float eps) {
    (void)be;
    PARALLEL_SPLIT(rows, 5 * C, r0, r1, layernorm_rows(out, x, y, gamma, w, b, r0, r1, C, eps));
}

static void fast_layernorm_d8(const octic_backend *be, float *out, const float *in, const float *scale,
                              const float *shift, int rows, int C, float eps) {
    (void)be;
    PARALLEL_SPLIT(rows, 3 * C, r0, r1, layernorm_d8_rows(out, (float *)in, NULL, NULL, scale, shift, r0, r1, C, eps));
}

static void fast_residual_layernorm_d8(const octic_backend *be, float *x, const float *y, const float *gamma,
                                       float *out, const float *scale, const float *shift, int rows, int C,
                                       float eps) {
    (void)be;
    PARALLEL_SPLIT(rows, 5 * C, r0, r1, layernorm_d8_rows(out, x, y, gamma, scale, shift, r0, r1, C, eps));
}

static void fast_gelu(const octic_backend *be, float *x, size_t n) {
    (void)be;
    /* shares are whole vectors, so that every element takes the same path */
    long nv = (long)((n + VL - 1) / VL);
    PARALLEL_SPLIT(nv, 4 * VL, v0, v1, {
        long i1 = v1 * VL < (long)n ? v1 * VL : (long)n;
        gelu_range(x, v0 * VL, i1);
    });
}

static void fast_gelu_d8(const octic_backend *be, float *x, int rows, int C) {
    (void)be;
    PARALLEL_SPLIT(rows, 4 * C, r0, r1, gelu_d8_rows(x, r0, r1, C));
}

static void fast_residual(const octic_backend *be, float *x, const float *y, const float *gamma, int rows, int C) {
    (void)be;
    PARALLEL_SPLIT(rows, 3 * C, r0, r1, for (long r = r0; r < r1; r++)
                       row_residual(x + (size_t)r * C, y + (size_t)r * C, gamma, C));
}

/* Attention: one head of one image per task, spread over the threads, each
 * with its own scratch: q, k, v gathered (N, hd) when the layout needs it,
 * the scores (N, N) (at ViT sequence lengths they stay in the core's L2, so
 * tiling the keys gains nothing), the output (N, hd). The products run on
 * the calling thread (octic_sgemm inside a parallel region). */
static size_t attention_per_thread(int N, int hd) { return ((size_t)4 * N * hd + (size_t)N * N + 15) & ~(size_t)15; }

static int attention_threads(void) { return octic_blas_nests() ? octic_cpu_threads() : 1; }

static size_t fast_attention_scratch(const octic_backend *be, int B, int N, int H, int hd) {
    (void)be, (void)B, (void)H;
    return (size_t)attention_threads() * attention_per_thread(N, hd);
}

HOT static void attention_head(float *out, const float *qkv, const int32_t *qkv_cols, const int32_t *out_cols,
                               float *ws, int b, int h, int N, int H, int hd) {
    int C = H * hd, ldq = 3 * C;
    float scale = 1.0f / sqrtf((float)hd);
    const float *base = qkv + (size_t)b * N * ldq;
    const float *q, *k, *v;
    int ld;
    float *o = ws + (size_t)3 * N * hd, *att = o + (size_t)N * hd;
    if (qkv_cols) { /* gather the head's q, k, v */
        float *dst = ws;
        for (int s = 0; s < 3; s++) {
            const int32_t *cols = qkv_cols + (size_t)(s * H + h) * hd;
            for (int i = 0; i < N; i++) {
                const float *row = base + (size_t)i * ldq;
                float *d = dst + ((size_t)s * N + i) * hd;
                for (int t = 0; t < hd; t++) d[t] = row[cols[t]];
            }
        }
        q = ws, k = ws + (size_t)N * hd, v = ws + (size_t)2 * N * hd, ld = hd;
    } else {
        q = base + (size_t)h * hd, k = q + C, v = q + 2 * C, ld = ldq;
    }
    octic_sgemm(1, N, N, hd, q, ld, k, ld, 0.0f, att, N);
    /* the softmax numerators; the rows of the output, not the N x N
     * probabilities, are divided by their sums: 1 / sum_i goes to ws[i]
     * (the gathered q, or unused, once the scores exist) */
    for (int i = 0; i < N; i++) ws[i] = softmax_row(att + (size_t)i * N, N, scale);
    if (qkv_cols) {
        octic_sgemm(0, N, hd, N, att, N, v, ld, 0.0f, o, hd);
        float *dst = out + (size_t)b * N * C;
        const int32_t *cols = out_cols + (size_t)h * hd;
        for (int i = 0; i < N; i++) {
            float r = ws[i], *row = dst + (size_t)i * C;
            const float *src = o + (size_t)i * hd;
            for (int t = 0; t < hd; t++) row[cols[t]] = src[t] * r;
        }
    } else {
        float *dst = out + (size_t)b * N * C + (size_t)h * hd;
        octic_sgemm(0, N, hd, N, att, N, v, ld, 0.0f, dst, C);
        for (int i = 0; i < N; i++) {
            float r = ws[i], *row = dst + (size_t)i * C;
            for (int t = 0; t < hd; t++) row[t] *= r;
        }
    }
}

static void fast_attention(const octic_backend *be, float *out, const float *qkv, const int32_t *qkv_cols,
                           const int32_t *out_cols, float *scratch, int B, int N, int H, int hd) {
    (void)be;
    int nt = attention_threads();
    long tasks = (long)B * H;
    size_t per = attention_per_thread(N, hd);
    long most = tasks * (long)N * (N + 4 * hd) / PARALLEL_MIN_WORK;
    if (nt > most) nt = most > 1 ? (int)most : 1;
    if (nt > tasks) nt = (int)tasks;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (long task = 0; task < tasks; task++)
        attention_head(out, qkv, qkv_cols, out_cols, scratch + (size_t)thread_id() * per, (int)(task / H),
                       (int)(task % H), N, H, hd);
}

static void fast_permute_cols(const octic_backend *be, float *out, const float *in, int rows, int ncols, int ldi,
                              const int32_t *idx) {
    (void)be;
    PARALLEL_SPLIT(rows, 2 * ncols, r0, r1, for (long r = r0; r < r1; r++) {
        const float *x = in + (size_t)r * ldi;
        float *y = out + (size_t)r * ncols;
        for (int j = 0; j < ncols; j++) y[j] = x[idx[j]];
    });
}

static int32_t *fast_upload_index(const octic_backend *be, const int32_t *idx, size_t n) {
    (void)be;
    int32_t *p = malloc((n ? n : 1) * sizeof(int32_t));
    if (p && n) memcpy(p, idx, n * sizeof(int32_t));
    return p;
}

static void fast_free_index(const octic_backend *be, int32_t *idx) { (void)be, free(idx); }

static void fast_add_rows(const octic_backend *be, float *x, const float *pos, int B, int T, int t0, int npos, int C) {
    (void)be;
    PARALLEL_SPLIT((long)B * npos, 3 * C, r0, r1, for (long r = r0; r < r1; r++) {
        long b = r / npos, n = r % npos;
        row_residual(x + ((size_t)b * T + t0 + n) * C, pos + (size_t)n * C, NULL, C);
    });
}

static void fast_set_rows(const octic_backend *be, float *dst, const float *src, int B, int T, int t0, int nsrc,
                          int C) {
    (void)be;
    for (int b = 0; b < B; b++) memcpy(dst + ((size_t)b * T + t0) * C, src, (size_t)nsrc * C * sizeof(float));
}

static void fast_get_rows(const octic_backend *be, float *dst, const float *src, int B, int T, int t0, int n, int C) {
    (void)be;
    for (int b = 0; b < B; b++)
        memcpy(dst + (size_t)b * n * C, src + ((size_t)b * T + t0) * C, (size_t)n * C * sizeof(float));
}

static void fast_invariant(const octic_backend *be, float *out, const float *in, int rows, int C, octic_invop kind) {
    (void)be;
    int c = C / 8, width = octic_invop_width(kind, C);
    PARALLEL_SPLIT(rows, C + width, r0, r1, for (long r = r0; r < r1; r++)
                       octic_invariant_row(out + (size_t)r * width, in + (size_t)r * C, c, kind));
}

static const octic_backend cpu_fast_backend = {
    .name = "cpu",
    .context = NULL,
    .host_memory = 1,
    .alloc = fast_alloc,
    .free = fast_free,
    .upload = fast_copy,
    .download = fast_copy,
    .copy = fast_copy,
    .linear = fast_linear,
    .im2col = fast_im2col,
    .layernorm = fast_layernorm,
    .layernorm_d8 = fast_layernorm_d8,
    .gelu = fast_gelu,
    .gelu_d8 = fast_gelu_d8,
    .attention = fast_attention,
    .attention_scratch = fast_attention_scratch,
    .permute_cols = fast_permute_cols,
    .upload_index = fast_upload_index,
    .free_index = fast_free_index,
    .residual = fast_residual,
    .residual_layernorm = fast_residual_layernorm,
    .residual_layernorm_d8 = fast_residual_layernorm_d8,
    .add_rows = fast_add_rows,
    .set_rows = fast_set_rows,
    .get_rows = fast_get_rows,
    .invariant = fast_invariant,
    .synchronize = NULL,
};

const octic_backend *octic_cpu_backend(void) { return &cpu_fast_backend; }
