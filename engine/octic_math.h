/* Small pointwise pieces of octic math shared by the backends and the tests:
 * the isotypic <-> regular change of basis of D8, exact GELU, invariant maps.
 * Header-only so that every backend's inner loop can inline them; the CUDA
 * kernels include it too (OCTIC_HD marks the functions host and device). */
#ifndef OCTIC_MATH_H
#define OCTIC_MATH_H

#include <math.h>

#include "backend.h"

#ifdef __CUDACC__
#define OCTIC_HD __host__ __device__
#else
#define OCTIC_HD
#endif

#define OCTIC_SQRT2 1.41421356237309504880
#define OCTIC_SQRT2_OVER_4 0.35355339059327376220

static inline OCTIC_HD float octic_gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752440f)); }

/* iso = (x0..x7) = (A1, A2, B1, B2, E11, E21, E12, E22) <-> the 8 regular
 * channels. The butterfly of the reference, scaled by sqrt(2)/4: orthogonal.
 * Written once for any element type T with + - and a float factor (float
 * here; the CPU engine's vectors in cpu_fast.c): QUAL to_regular(T reg[8],
 * const T x[8]) and QUAL to_isotypic(T x[8], const T r[8]). */
#define OCTIC_DEFINE_BUTTERFLIES(QUAL, T, to_regular, to_isotypic)                          \
    QUAL void to_regular(T reg[8], const T x[8]) {                                          \
        const float s = (float)OCTIC_SQRT2_OVER_4;                                          \
        T a = x[0] + x[1], b = x[0] - x[1], c = x[2] + x[3], d = x[2] - x[3];               \
        T e = x[4] + x[5], f = x[4] - x[5], g = x[6] + x[7], h = x[6] - x[7];               \
        T apc = a + c, amc = a - c, bpd = b + d, bmd = b - d;                               \
        T eph = e + h, emh = e - h, fpg = f + g, fmg = f - g;                               \
        reg[0] = s * (apc + eph);                                                           \
        reg[1] = s * (amc + fmg);                                                           \
        reg[2] = s * (apc - eph);                                                           \
        reg[3] = s * (amc - fmg);                                                           \
        reg[4] = s * (bpd - fpg);                                                           \
        reg[5] = s * (bmd - emh);                                                           \
        reg[6] = s * (bpd + fpg);                                                           \
        reg[7] = s * (bmd + emh);                                                           \
    }                                                                                       \
    QUAL void to_isotypic(T x[8], const T r[8]) {                                           \
        const float s = (float)OCTIC_SQRT2_OVER_4;                                          \
        T a = r[0] + r[1], b = r[0] - r[1], c = r[2] + r[3], d = r[2] - r[3];               \
        T e = r[4] + r[5], f = r[4] - r[5], g = r[6] + r[7], h = r[6] - r[7];               \
        T apc = a + c, cma = c - a, bpd = b + d, bmd = b - d;                               \
        T epg = e + g, gme = g - e, fph = f + h, fmh = f - h;                               \
        x[0] = s * (apc + epg);                                                             \
        x[1] = s * (apc - epg);                                                             \
        x[2] = s * (bpd + fph);                                                             \
        x[3] = s * (bpd - fph);                                                             \
        x[4] = s * (gme - cma);                                                             \
        x[5] = s * (bmd + fmh);                                                             \
        x[6] = s * (bmd - fmh);                                                             \
        x[7] = s * (gme + cma);                                                             \
    }

OCTIC_DEFINE_BUTTERFLIES(static inline OCTIC_HD, float, octic_isotypic_to_regular, octic_regular_to_isotypic)

/* Output width of an invariant map on C channels. */
static inline OCTIC_HD int octic_invop_width(octic_invop kind, int C) {
    switch (kind) {
    case OCTIC_INVOP_POWER_SPECTRUM: return 6 * C / 8;
    case OCTIC_INVOP_POLYNOMIAL: return 32 * C / 8;
    case OCTIC_INVOP_THIRD_ORDER: return 15 * C / 8;
    case OCTIC_INVOP_LINEAR: return C / 8;
    }
    return 0;
}

/* One channel i of one token: x = (x0..x7) gathered from the iso5 row (x4, x6
 * from E row 0; x5, x7 from E row 1); writes o[m * c] for each term m of the
 * map, o = the token's output + i, in the reference's order (each term a
 * block of c channels; power spectrum: A1, |A2|, |B1|, |B2|, then the norms
 * of E column i (x4, x5) at 4c + i and of column c + i (x6, x7) at 5c + i). */
static inline OCTIC_HD void octic_invariant_channel(float *o, int c, const float x[8], octic_invop kind) {
    float a = x[0], p = x[1], q = x[2], s = x[3];
    float u = x[4], v = x[5], w = x[6], z = x[7];
    switch (kind) {
    case OCTIC_INVOP_POWER_SPECTRUM:
        o[0] = a;
        o[c] = fabsf(p);
        o[2 * c] = fabsf(q);
        o[3 * c] = fabsf(s);
        o[4 * c] = sqrtf(u * u + v * v);
        o[5 * c] = sqrtf(w * w + z * z);
        break;
    case OCTIC_INVOP_LINEAR:
        o[0] = fabsf(a);
        break;
    case OCTIC_INVOP_THIRD_ORDER: {
        float t[15] = {
            a * a * a, a * (w * w + z * z), a * (u * w + v * z), a * (u * u + v * v),
            a * s * s, a * q * q, a * p * p, s * w * z, s * v * w + s * u * z, s * u * v,
            q * w * w - q * z * z, q * u * w - q * v * z, q * u * u - q * v * v,
            p * v * w - p * u * z, p * q * s,
        };
        for (int k = 0; k < 15; k++) o[k * c] = t[k];
        break;
    }
    case OCTIC_INVOP_POLYNOMIAL: {
        float w2 = w * w, z2 = z * z, u2 = u * u, v2 = v * v;
        float t[32] = {
            a, w2 + z2, u * w + v * z, u2 + v2, s * s, q * q, p * p,
            s * w * z, s * v * w + s * u * z, s * u * v,
            q * w2 - q * z2, q * u * w - q * v * z, q * u2 - q * v2,
            p * v * w - p * u * z, p * q * s,
            w2 * w2 + z2 * z2, u * w2 * w + v * z2 * z, u2 * w2 + v2 * z2, u2 * u * w + v2 * v * z,
            u2 * u2 + v2 * v2,
            q * s * v * w - q * s * u * z, p * s * w2 - p * s * z2, p * s * u * w - p * s * v * z,
            p * s * u2 - p * s * v2, p * q * w * z, p * q * v * w + p * q * u * z, p * q * u * v,
            p * w2 * w * z - p * w * z2 * z, p * v * w2 * w - p * u * z2 * z,
            p * u * v * w2 - p * u * v * z2, p * u2 * v * w - p * u * v2 * z,
            p * u2 * u * v - p * u * v2 * v,
        };
        for (int k = 0; k < 32; k++) o[k * c] = t[k];
        break;
    }
    }
}

/* One token: in = iso5 row of 8c channels, out = its invariant features. */
static inline void octic_invariant_row(float *out, const float *in, int c, octic_invop kind) {
    for (int i = 0; i < c; i++) {
        const float x[8] = {in[i],         in[c + i],     in[2 * c + i], in[3 * c + i],
                            in[4 * c + i], in[6 * c + i], in[5 * c + i], in[7 * c + i]};
        octic_invariant_channel(out + i, c, x, kind);
    }
}

#endif
