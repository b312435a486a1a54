/* The fast CPU backend's kernels, included twice by cpu_fast.c: once
 * compiled for AVX-512 (K(name) = name_avx512, __AVX512F__ defined), once for
 * the portable baseline (K(name) = name_portable). The arithmetic is written
 * once on 16-float vectors; only a broadcast, e^x's rounding and scaling and
 * a reciprocal use AVX-512 instructions where they exist. */

#ifdef __AVX512F__
INLINE vf K(vset)(float a) { return (vf)_mm512_set1_ps(a); }
#else
/* (GCC turns the other spellings of a broadcast into one insert per lane) */
INLINE vf K(vset)(float a) { return (vf){0} + a; }
#endif

/* The smaller and the larger of each lane, b where either is NaN (so that a
 * NaN in b goes on). AVX-512: one instruction, where GCC makes a compare and
 * a blend of the portable spelling. */
#ifdef __AVX512F__
INLINE vf K(vminf)(vf a, vf b) { return (vf)_mm512_min_ps((__m512)a, (__m512)b); }
INLINE vf K(vmaxf)(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }
#else
INLINE vf K(vminf)(vf a, vf b) { return vmin(a, b); }
INLINE vf K(vmaxf)(vf a, vf b) { return vmax(a, b); }
#endif

/* The first n < VL floats at p (the rest `fill`), stored back; the sum and
 * the largest of a vector's lanes. AVX-512: masked loads and stores (lanes
 * past n are not touched) and shuffle trees instead of a loop per lane. */
#ifdef __AVX512F__
INLINE vf K(load_part)(const float *p, int n, float fill) {
    return (vf)_mm512_mask_loadu_ps(_mm512_set1_ps(fill), (__mmask16)((1u << n) - 1), p);
}
INLINE void K(store_part)(float *p, vf v, int n) { _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v); }
INLINE float K(hsum)(vf v) { return _mm512_reduce_add_ps((__m512)v); }
INLINE float K(hmax)(vf v) { return _mm512_reduce_max_ps((__m512)v); }
#else
INLINE vf K(load_part)(const float *p, int n, float fill) { return vload_part(p, n, fill); }
INLINE void K(store_part)(float *p, vf v, int n) { vstore_part(p, v, n); }
INLINE float K(hsum)(vf v) { return vsum(v); }
INLINE float K(hmax)(vf v) { return vmaxlane(v); }
#endif

/* e^x: x = k ln2 + r, |r| <= ln2/2, e^r by its Taylor polynomial of degree 7
 * (truncation below 6e-9), then scaled by 2^k. Below -87, e^-87 (1.6e-38):
 * no result is subnormal, which would cost a microcode assist each (a
 * softmax or an erfc that small adds nothing a float can hold). */
INLINE vf K(vexp)(vf x) {
#ifdef __AVX512F__
    x = K(vmaxf)(K(vset)(-87.0f), x); /* a NaN stays NaN */
    vf k = (vf)_mm512_roundscale_ps((__m512)(x * 1.44269504088896341f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
#else
    x = K(vminf)(K(vset)(88.0f), K(vmaxf)(K(vset)(-87.0f), x)); /* 2^k a normal float; NaN stays */
    const float round = 12582912.0f;                     /* 1.5 * 2^23: adding it rounds to an integer */
    vf k = x * 1.44269504088896341f + round;
    k = k - round;
#endif
    vf r = x - k * 0.693359375f; /* ln 2 in two parts, the first exact in float */
    r = r - k * -2.12194440e-4f;
    vf p = K(vset)(1.0f / 5040.0f);
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
#ifdef __AVX512F__
    return (vf)_mm512_scalef_ps((__m512)p, (__m512)k);
#else
    vi e = __builtin_convertvector(k, vi);
    return p * (vf)((e + 127) << 23);
#endif
}

/* 1 / d for d >= 1 */
INLINE vf K(vrecip)(vf d) {
#ifdef __AVX512F__
    vf t = (vf)_mm512_rcp14_ps((__m512)d); /* 14 bits, then one Newton step */
    return t * (2.0f - d * t);
#else
    return 1.0f / d;
#endif
}

/* Exact GELU, 0.5 x (1 + erf(x / sqrt 2)), through erfc(z) = t exp(-z^2 + P(t)),
 * t = 1 / (1 + z/2), with the Chebyshev fit P of Numerical Recipes (relative
 * error of erfc below 1.2e-7 for every z >= 0). Written as 0.5 x erfc(-x/sqrt 2)
 * so that the negative side keeps its relative accuracy. z stops at 9
 * (|x| > 12.7, erfc(9) = 4e-37): past it, e^(-z^2 + P) times t would be
 * subnormal, a microcode assist per value (inputs spread over +-19 ran 4
 * times slower), for a result that differs from x, or from 0, by less than
 * |x| 1e-36. */
INLINE vf K(vgelu)(vf x) {
    vf z = K(vminf)(vabs(x) * 0.70710678118654752f, K(vset)(9.0f));
    vf t = K(vrecip)(1.0f + 0.5f * z);
    vf p = K(vset)(0.17087277f);
    p = p * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    vf erfc = t * K(vexp)(p - z * z);
    /* x >= 0: 0.5 x (2 - erfc(z)); x < 0: 0.5 x erfc(z) */
    return vsel(x >= 0.0f, x - 0.5f * x * erfc, 0.5f * x * erfc);
}

/* ---- rows ---------------------------------------------------------------- */

/* Sum of x[0..n). */
INLINE float K(row_sum)(const float *x, int n) {
    vf s = K(vset)(0.0f);
    int i = 0;
    for (; i + VL <= n; i += VL) s += vload(x + i);
    if (i < n) s += K(load_part)(x + i, n - i, 0.0f);
    return K(hsum)(s);
}

/* Sum of (x - mean)^2 over x[0..n). */
INLINE float K(row_sqdev)(const float *x, int n, float mean) {
    vf s = K(vset)(0.0f), m = K(vset)(mean);
    int i = 0;
    for (; i + VL <= n; i += VL) {
        vf d = vload(x + i) - m;
        s += d * d;
    }
    if (i < n) {
        vf d = K(load_part)(x + i, n - i, mean) - m;
        s += d * d;
    }
    return K(hsum)(s);
}

/* y[i] = (x[i] - mean) * rstd * w[i] + b[i] for i < n. */
INLINE void K(row_affine)(float *y, const float *x, int n, float mean, float rstd, const float *w, const float *b) {
    vf m = K(vset)(mean), r = K(vset)(rstd);
    int i = 0;
    for (; i + VL <= n; i += VL) vstore(y + i, (vload(x + i) - m) * r * vload(w + i) + vload(b + i));
    for (; i < n; i++) y[i] = (x[i] - mean) * rstd * w[i] + b[i];
}

/* x[i] += gamma[i] * (y[i] + bias[i]) (bias NULL: 0, gamma NULL: 1). */
INLINE void K(row_residual)(float *x, const float *y, const float *bias, const float *gamma, int n) {
    int i = 0;
    for (; i + VL <= n; i += VL) {
        vf d = vload(y + i);
        if (bias) d += vload(bias + i);
        if (gamma) d = vload(gamma + i) * d;
        vstore(x + i, vload(x + i) + d);
    }
    for (; i < n; i++) {
        float d = bias ? y[i] + bias[i] : y[i];
        x[i] += gamma ? gamma[i] * d : d;
    }
}

static void K(layernorm_rows)(float *out, float *x, const float *y, const float *bias, const float *gamma,
                               const float *w, const float *b, long r0, long r1, int C, float eps) {
    // x, out: (rows, C); y: (rows, C) added first (x += gamma * (y + bias)) when not NULL
    for (long r = r0; r < r1; r++) {
        float *xr = x + (size_t)r * C;
        if (y) K(row_residual)(xr, y + (size_t)r * C, bias, gamma, C);
        float mean = K(row_sum)(xr, C) / C;
        float var = K(row_sqdev)(xr, C, mean) / C;
        K(row_affine)(out + (size_t)r * C, xr, C, mean, 1.0f / sqrtf(var + eps), w, b);
    }
}

static void K(layernorm_d8_rows)(float *out, float *x, const float *y, const float *gamma, const float *scale,
                                  const float *shift, long r0, long r1, int C, float eps) {
    // iso5 rows: A1, A2, B1, B2 of c = C/8, E row 0, E row 1 of 2c; per-irrep
    // means, one std from the variances (E: the mean of its two rows)
    int c = C / 8;
    const int start[6] = {0, c, 2 * c, 3 * c, 4 * c, 6 * c};
    const int len[6] = {c, c, c, c, 2 * c, 2 * c};
    for (long r = r0; r < r1; r++) {
        float *xr = x + (size_t)r * C;
        if (y) K(row_residual)(xr, y + (size_t)r * C, NULL, gamma, C);
        float mean[6], var[6];
        for (int s = 0; s < 6; s++) {
            mean[s] = K(row_sum)(xr + start[s], len[s]) / len[s];
            var[s] = K(row_sqdev)(xr + start[s], len[s], mean[s]) / len[s];
        }
        float total = var[0] + var[1] + var[2] + var[3] + 0.5f * (var[4] + var[5]) + eps;
        float rstd = 1.0f / ((float)OCTIC_SQRT2_OVER_4 * sqrtf(total));
        float *yr = out + (size_t)r * C;
        for (int s = 0; s < 6; s++)
            K(row_affine)(yr + start[s], xr + start[s], len[s], mean[s], rstd, scale + start[s], shift + start[s]);
    }
}

static void K(residual_rows)(float *x, const float *y, const float *bias, const float *gamma, long r0, long r1,
                             int C) {
    for (long r = r0; r < r1; r++) K(row_residual)(x + (size_t)r * C, y + (size_t)r * C, bias, gamma, C);
}

/* x[b, t0 + n, :] += pos[n, :] for the items r = b*npos + n in [r0, r1) */
static void K(add_rows_range)(float *x, const float *pos, long r0, long r1, int T, int t0, int npos, int C) {
    for (long r = r0; r < r1; r++) {
        long b = r / npos, n = r % npos;
        K(row_residual)(x + ((size_t)b * T + t0 + n) * C, pos + (size_t)n * C, NULL, NULL, C);
    }
}

static void K(gelu_range)(float *x, long i0, long i1) {
    long i = i0;
    for (; i + VL <= i1; i += VL) vstore(x + i, K(vgelu)(vload(x + i)));
    if (i < i1) K(store_part)(x + i, K(vgelu)(K(load_part)(x + i, (int)(i1 - i), 0.0f)), (int)(i1 - i));
}

/* x[r][i] = GELU(x[r][i] + bias[i]) for rows r0 <= r < r1 of C values, row stride ldx (bias NULL: 0) */
static void K(gelu_bias_rows)(float *x, long ldx, const float *bias, long r0, long r1, int C) {
    for (long r = r0; r < r1; r++) {
        float *t = x + (size_t)r * ldx;
        int i = 0;
        for (; i + VL <= C; i += VL) vstore(t + i, K(vgelu)(bias ? vload(t + i) + vload(bias + i) : vload(t + i)));
        if (i < C) {
            vf v = K(load_part)(t + i, C - i, 0.0f);
            if (bias) v += K(load_part)(bias + i, C - i, 0.0f);
            K(store_part)(t + i, K(vgelu)(v), C - i);
        }
    }
}

static void K(gelu_d8_rows)(float *x, long r0, long r1, int C) {
    // iso5 rows; channel i of the 8 components x0..x7 (x4, x6 in E row 0,
    // x5, x7 in E row 1) is one regular representation: 16 channels at once
    int c = C / 8;
    const int off[8] = {0, c, 2 * c, 3 * c, 4 * c, 6 * c, 5 * c, 7 * c};
    for (long r = r0; r < r1; r++) {
        float *t = x + (size_t)r * C;
        for (int i = 0; i < c; i += VL) {
            int n = c - i < VL ? c - i : VL;
            vf iso[8], reg[8];
            for (int k = 0; k < 8; k++) iso[k] = n == VL ? vload(t + off[k] + i) : K(load_part)(t + off[k] + i, n, 0.0f);
            vto_regular(reg, iso);
            for (int k = 0; k < 8; k++) reg[k] = K(vgelu)(reg[k]);
            vto_isotypic(iso, reg);
            for (int k = 0; k < 8; k++) {
                if (n == VL)
                    vstore(t + off[k] + i, iso[k]);
                else
                    K(store_part)(t + off[k] + i, iso[k], n);
            }
        }
    }
}

/* ---- attention heads' columns ------------------------------------------- */

/* d[0..n) = (s[0..n) + b[0..n)) * f (b NULL: s * f): whole vectors, a half
 * vector, then the tail through a mask (an octic head's runs are 8 or 16
 * columns at ViT-L widths: no call to memcpy, no mask). */
INLINE void K(copy_run)(float *d, const float *s, const float *b, int n, float f) {
    typedef float half __attribute__((vector_size(VL / 2 * sizeof(float))));
    vf fv = K(vset)(f);
    int i = 0;
    for (; i + VL <= n; i += VL) vstore(d + i, (b ? vload(s + i) + vload(b + i) : vload(s + i)) * fv);
    if (i + VL / 2 <= n) {
        half h, hb;
        memcpy(&h, s + i, sizeof h);
        if (b) {
            memcpy(&hb, b + i, sizeof hb);
            h += hb;
        }
        h *= f;
        memcpy(d + i, &h, sizeof h);
        i += VL / 2;
    }
    if (i < n) {
        vf v = K(load_part)(s + i, n - i, 0.0f);
        if (b) v += K(load_part)(b + i, n - i, 0.0f);
        K(store_part)(d + i, v * fv, n - i);
    }
}

/* d[t] = row[cols[t]] + bias[cols[t]] for t < n (bias NULL: row[cols[t]]),
 * run by run where the columns come in runs */
INLINE void K(gather_cols)(float *d, const float *row, const float *bias, const int32_t *cols, const col_runs *r,
                           int n) {
    if (!r->n) {
        for (int t = 0; t < n; t++) d[t] = bias ? row[cols[t]] + bias[cols[t]] : row[cols[t]];
        return;
    }
    if (bias) /* two loops: copy_run inlined with its b known NULL in the second */
        for (int j = 0; j < r->n; j++) K(copy_run)(d + r->at[j], row + r->col[j], bias + r->col[j], r->len[j], 1.0f);
    else
        for (int j = 0; j < r->n; j++) K(copy_run)(d + r->at[j], row + r->col[j], NULL, r->len[j], 1.0f);
}

/* row[cols[t]] = s[t] * f for t < n */
INLINE void K(scatter_cols)(float *row, const float *s, float f, const int32_t *cols, const col_runs *r, int n) {
    if (!r->n) {
        for (int t = 0; t < n; t++) row[cols[t]] = s[t] * f;
        return;
    }
    for (int j = 0; j < r->n; j++) K(copy_run)(row + r->col[j], s + r->at[j], NULL, r->len[j], f);
}

/* ---- narrow products ------------------------------------------------------ */

/* out[r][0 .. NV*VL) = bias + sum_k in[r][k] wp[k][..] for r < R rows: R x NV
 * vectors of accumulators, a weight panel row loaded and a value of each
 * input row broadcast per k. */
INLINE void K(gemm_tile)(float *out, int ldo, const float *in, int ldi, const float *wp, const float *bias, const int R,
                         const int NV, int Kd) {
    vf acc[GR][GP / VL];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < NV; c++) acc[r][c] = bias ? vload(bias + c * VL) : K(vset)(0.0f);
    for (int k = 0; k < Kd; k++) {
        vf b[GP / VL];
        for (int c = 0; c < NV; c++) b[c] = vload(wp + (size_t)k * NV * VL + c * VL);
        for (int r = 0; r < R; r++) {
            vf a = K(vset)(in[(size_t)r * ldi + k]);
            for (int c = 0; c < NV; c++) acc[r][c] += a * b[c];
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < NV; c++) vstore(out + (size_t)r * ldo + c * VL, acc[r][c]);
}

/* out[M, N] (row stride ldo) = in[M, Kd] (row stride ldi) @ w^T + bias, w
 * packed by pack_panels; N a multiple of VL. Rows in tiles of GR, each tile
 * against every panel while its rows stay in L1. */
static void K(gemm_narrow)(float *out, int ldo, const float *in, int ldi, const float *wp, const float *bias, int M,
                           int N, int Kd) {
    for (int m = 0; m < M; m += GR) {
        int R = M - m < GR ? M - m : GR;
        for (int p = 0; p < N; p += GP) {
            int NV = (N - p < GP ? N - p : GP) / VL;
            float *o = out + (size_t)m * ldo + p;
            const float *x = in + (size_t)m * ldi, *wpp = wp + (size_t)p * Kd, *bp = bias ? bias + p : NULL;
            switch (R * 8 + NV) {
#define GT(n)                                                                     \
    case n * 8 + 1: K(gemm_tile)(o, ldo, x, ldi, wpp, bp, n, 1, Kd); break; \
    case n * 8 + 2: K(gemm_tile)(o, ldo, x, ldi, wpp, bp, n, 2, Kd); break; \
    case n * 8 + 3: K(gemm_tile)(o, ldo, x, ldi, wpp, bp, n, 3, Kd); break; \
    case n * 8 + 4: K(gemm_tile)(o, ldo, x, ldi, wpp, bp, n, 4, Kd); break;
                GR_CASES(GT)
#undef GT
            }
        }
    }
}

/* Softmax numerators of row[0..n) scaled by `scale`, in place; returns 1 / their sum.
 * A numerator is at least e^-40 (4e-18; the largest is 1): the product with v
 * would otherwise make subnormals of a key far below the row's best (a
 * microcode assist each), for a weight that changes the result by less than
 * n 4e-18 of its size. */
#define SOFTMAX_FLOOR -40.0f
INLINE float K(softmax_row)(float *row, int n, float scale) {
    vf m = K(vset)(-INFINITY);
    int i = 0;
    for (; i + VL <= n; i += VL) m = vmax(m, vload(row + i));
    if (i < n) m = vmax(m, K(load_part)(row + i, n - i, -INFINITY));
    float mx = K(hmax)(m);
    vf sc = K(vset)(scale), off = K(vset)(mx * scale), sum = K(vset)(0.0f), lo = K(vset)(SOFTMAX_FLOOR);
    for (i = 0; i + VL <= n; i += VL) {
        vf e = K(vexp)(K(vmaxf)(lo, vload(row + i) * sc - off)); /* a NaN score stays NaN */
        vstore(row + i, e);
        sum += e;
    }
    if (i < n) {
        /* e^-40 past n: below sum's last bit */
        vf e = K(vexp)(K(vmaxf)(lo, K(load_part)(row + i, n - i, -INFINITY) * sc - off));
        K(store_part)(row + i, e, n - i);
        sum += e;
    }
    return 1.0f / K(hsum)(sum);
}

/* S[r][j] = q[r] . k[j] for r < R rows of q (hd each) and the NV * VL keys
 * of the panel at kp (hd x KPANEL): per element of the head, NV vectors of
 * keys loaded and R values of q broadcast. */
INLINE void K(scores_panel)(float *S, const float *q, const float *panel, const int R, const int NV, int hd, int Np) {
    vf acc[QB][KPANEL / VL];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < NV; c++) acc[r][c] = K(vset)(0.0f);
    for (int t = 0; t < hd; t++) {
        vf k[KPANEL / VL];
        for (int c = 0; c < NV; c++) k[c] = vload(panel + t * KPANEL + c * VL);
        for (int r = 0; r < R; r++) {
            vf qb = K(vset)(q[r * hd + t]);
            for (int c = 0; c < NV; c++) acc[r][c] += qb * k[c];
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < NV; c++) vstore(S + (size_t)r * Np + c * VL, acc[r][c]);
}

/* S[r][j] for every key j < N (rounded up to VL) of the panels kp. */
INLINE void K(scores_tile)(float *S, const float *q, const float *kp, const int R, int hd, int N, int Np) {
    int j = 0, Nv = round_up(N, VL);
    for (; j + KPANEL <= Nv; j += KPANEL) K(scores_panel)(S + j, q, kp + (size_t)j * hd, R, KPANEL / VL, hd, Np);
    switch ((Nv - j) / VL) {
#define SP(n)                                                               \
    case n:                                                                 \
        K(scores_panel)(S + j, q, kp + (size_t)j * hd, R, n, hd, Np); \
        break;
        KPANEL_TAIL_CASES(SP)
#undef SP
    }
}

/* O[r][d0 .. d0 + NV*VL) = inv[r] * sum_j P[r][j] v[j][d0 ..] for r < R. */
INLINE void K(pv_tile)(float *O, const float *P, const float *v, const float *inv, const int R, const int NV, int d0,
                    int N, int Np, int hd) {
    vf acc[PB][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < NV; c++) acc[r][c] = K(vset)(0.0f);
    for (int j = 0; j < N; j++) {
        vf vv[4];
        for (int c = 0; c < NV; c++) vv[c] = vload(v + (size_t)j * hd + d0 + c * VL);
        for (int r = 0; r < R; r++) {
            vf p = K(vset)(P[(size_t)r * Np + j]);
            for (int c = 0; c < NV; c++) acc[r][c] += p * vv[c];
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < NV; c++) vstore(O + (size_t)r * hd + d0 + c * VL, acc[r][c] * inv[r]);
}

/* The kernels with R and NV known to the compiler (registers, unrolled). */
INLINE void K(scores_any)(float *S, const float *q, const float *kp, int R, int hd, int N, int Np) {
    switch (R) {
#define SC(n)                                  \
    case n:                                    \
        K(scores_tile)(S, q, kp, n, hd, N, Np);      \
        break;
        R_CASES(SC)
#undef SC
    }
}

INLINE void K(pv_any)(float *O, const float *P, const float *v, const float *inv, int R, int N, int Np, int hd) {
    for (int r0 = 0; r0 < R; r0 += PB) {
        int rb = R - r0 < PB ? R - r0 : PB;
        float *Or = O + (size_t)r0 * hd;
        const float *Pr = P + (size_t)r0 * Np, *ir = inv + r0;
        for (int d0 = 0; d0 < hd; d0 += 4 * VL) {
            int nv = (hd - d0) / VL < 4 ? (hd - d0) / VL : 4;
            switch (rb * 8 + nv) {
#define PV(n)                                                               \
    case n * 8 + 1: K(pv_tile)(Or, Pr, v, ir, n, 1, d0, N, Np, hd); break; \
    case n * 8 + 2: K(pv_tile)(Or, Pr, v, ir, n, 2, d0, N, Np, hd); break; \
    case n * 8 + 3: K(pv_tile)(Or, Pr, v, ir, n, 3, d0, N, Np, hd); break; \
    case n * 8 + 4: K(pv_tile)(Or, Pr, v, ir, n, 4, d0, N, Np, hd); break;
                PB_CASES(PV)
#undef PV
            }
        }
    }
}

/* kpi[t * KPANEL + r] = rows[r][t] for r < VL, t < hd (hd a multiple of VL):
 * VL keys of a panel from their rows, in 16 x 16 blocks transposed in
 * registers (AVX-512: unpack, then shuffles of pairs, then of 128-bit
 * lanes twice), one store per column. */
INLINE void K(transpose_keys)(float *kpi, const float *rows, int hd) {
#ifdef __AVX512F__
    for (int c0 = 0; c0 < hd; c0 += 16) {
        __m512 r[16], t[16];
        for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(rows + (size_t)i * hd + c0);
        for (int i = 0; i < 16; i += 2) {
            t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
            t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
        }
        for (int i = 0; i < 16; i += 4) {
            r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
            r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
            r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
            r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
        }
        for (int i = 0; i < 16; i += 8)
            for (int j = 0; j < 4; j++) {
                t[i + j] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0x88);
                t[i + j + 4] = _mm512_shuffle_f32x4(r[i + j], r[i + j + 4], 0xDD);
            }
        for (int j = 0; j < 8; j++) {
            r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
            r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
        }
        for (int i = 0; i < 16; i++) _mm512_storeu_ps(kpi + (size_t)(c0 + i) * KPANEL, r[i]);
    }
#else
    for (int r = 0; r < VL; r++)
        for (int t = 0; t < hd; t++) kpi[(size_t)t * KPANEL + r] = rows[(size_t)r * hd + t];
#endif
}

static void K(attention_head_tiled)(float *out, const float *qkv, const float *bias, const int32_t *qkv_cols,
                                     const int32_t *out_cols, float *ws, int b, int h, int N, int H, int hd) {
    int C = H * hd, ldq = 3 * C, Np = round_up(N, KPANEL);
    float scale = 1.0f / sqrtf((float)hd);
    const float *base = qkv + (size_t)b * N * ldq;
    float *q = ws, *v = q + (size_t)N * hd, *kp = v + (size_t)N * hd, *S = kp + (size_t)Np * hd;
    float *O = S + (size_t)QB * Np, *kt = O + (size_t)QB * hd;
    /* gather q, v (N, hd) and k into panels (Np/KPANEL, hd, KPANEL), zero
     * past N up to a whole vector: the head's slices of the standard layout
     * or its runs of iso5 columns (octic), rows a few ahead asked for; k's
     * rows VL at a time into kt, then transposed into their panel */
    head_columns hc;
    find_head_columns(&hc, qkv_cols, out_cols, h, H, hd);
    for (int i0 = 0; i0 < N; i0 += VL) {
        int n = N - i0 < VL ? N - i0 : VL;
        for (int r = 0; r < n; r++) {
            int i = i0 + r;
            const float *row = base + (size_t)i * ldq;
            if (i + PREFETCH_ROWS < N) prefetch_head_row(row + (size_t)PREFETCH_ROWS * ldq, &hc);
            K(gather_cols)(q + (size_t)i * hd, row, bias, hc.cols[0], &hc.runs[0], hd);
            K(gather_cols)(v + (size_t)i * hd, row, bias, hc.cols[2], &hc.runs[2], hd);
            K(gather_cols)(kt + (size_t)r * hd, row, bias, hc.cols[1], &hc.runs[1], hd);
        }
        if (n < VL) memset(kt + (size_t)n * hd, 0, (size_t)(VL - n) * hd * sizeof(float));
        K(transpose_keys)(kp + (size_t)(i0 / KPANEL) * KPANEL * hd + i0 % KPANEL, kt, hd);
    }
    float inv[QB];
    float *dst = out + (size_t)b * N * C;
    for (int i0 = 0; i0 < N; i0 += QB) {
        int R = N - i0 < QB ? N - i0 : QB;
        for (int r = 0; r < R; r++) prefetch_runs(dst + (size_t)(i0 + r) * C, &hc.out, 1); /* written after the tile */
        K(scores_any)(S, q + (size_t)i0 * hd, kp, R, hd, N, Np);
        for (int r = 0; r < R; r++) inv[r] = K(softmax_row)(S + (size_t)r * Np, N, scale);
        K(pv_any)(O, S, v, inv, R, N, Np, hd);
        for (int r = 0; r < R; r++) K(scatter_cols)(dst + (size_t)(i0 + r) * C, O + (size_t)r * hd, 1.0f, hc.out_cols, &hc.out, hd);
    }
}

/* Any head width: the scores and the products through the BLAS (on the
 * calling thread inside a parallel region). */
static void K(attention_head_blas)(float *out, const float *qkv, const float *bias, const int32_t *qkv_cols,
                                    const int32_t *out_cols, float *ws, int b, int h, int N, int H, int hd) {
    int C = H * hd, ldq = 3 * C;
    float scale = 1.0f / sqrtf((float)hd);
    const float *base = qkv + (size_t)b * N * ldq;
    float *q = ws, *k = q + (size_t)N * hd, *v = k + (size_t)N * hd, *o = v + (size_t)N * hd, *att = o + (size_t)N * hd;
    /* the head's q, k, v gathered into rows of hd: its slices of the
     * standard layout, or its runs of iso5 columns (octic) */
    head_columns hc;
    find_head_columns(&hc, qkv_cols, out_cols, h, H, hd);
    for (int i = 0; i < N; i++) {
        const float *row = base + (size_t)i * ldq;
        if (i + PREFETCH_ROWS < N) prefetch_head_row(row + (size_t)PREFETCH_ROWS * ldq, &hc);
        for (int s = 0; s < 3; s++)
            K(gather_cols)(ws + ((size_t)s * N + i) * hd, row, bias, hc.cols[s], &hc.runs[s], hd);
    }
    octic_sgemm(1, N, N, hd, q, hd, k, hd, 0.0f, att, N);
    /* the softmax numerators; the rows of the output, not the N x N
     * probabilities, are divided by their sums: 1 / sum_i goes to q[i]
     * (no longer needed once the scores exist) */
    for (int i = 0; i < N; i++) q[i] = K(softmax_row)(att + (size_t)i * N, N, scale);
    octic_sgemm(0, N, hd, N, att, N, v, hd, 0.0f, o, hd);
    float *dst = out + (size_t)b * N * C;
    for (int i = 0; i < N; i++) {
        if (i + PREFETCH_ROWS < N) prefetch_runs(dst + (size_t)(i + PREFETCH_ROWS) * C, &hc.out, 1);
        K(scatter_cols)(dst + (size_t)i * C, o + (size_t)i * hd, q[i], hc.out_cols, &hc.out, hd);
    }
}

