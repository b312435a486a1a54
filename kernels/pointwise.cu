/* GELU, the octic GELU and the invariant maps: one thread per value (GELU)
 * or per channel of a token (the octic ones: the 8 values of channel i of a
 * token form one regular representation), as in engine/octic_math.h. */
#include "cuda_internal.cuh"

// x: (n) in place
__global__ void gelu_kernel(float *x, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = gelu_erf(x[i]);
}

void cuda_gelu(const octic_backend *be, float *x, size_t n) {
    cuda_context *ctx = cuda_ctx(be);
    if (!n) return;
    gelu_kernel<<<cuda_blocks(n, 256), 256, 0, ctx->stream>>>(x, n);
    CUDA_LAUNCHED(ctx);
}

// x: (rows, C) iso5 in place; one thread per (row, channel i < c = C/8)
__global__ void gelu_d8_kernel(float *x, int rows, int c) {
    size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (size_t)rows * c) return;
    size_t r = k / c;
    int i = (int)(k % c);
    float *t = x + r * 8 * c + i;
    // x0..x7: A1, A2, B1, B2, then x4, x6 from E row 0 and x5, x7 from E row 1
    const int off[8] = {0, c, 2 * c, 3 * c, 4 * c, 6 * c, 5 * c, 7 * c};
    float iso[8], reg[8];
#pragma unroll
    for (int q = 0; q < 8; q++) iso[q] = t[off[q]];
    isotypic_to_regular(reg, iso);
#pragma unroll
    for (int q = 0; q < 8; q++) reg[q] = gelu_erf(reg[q]);
    regular_to_isotypic(iso, reg);
#pragma unroll
    for (int q = 0; q < 8; q++) t[off[q]] = iso[q];
}

void cuda_gelu_d8(const octic_backend *be, float *x, int rows, int C) {
    cuda_context *ctx = cuda_ctx(be);
    int c = C / 8;
    size_t n = (size_t)rows * c;
    if (!n) return;
    gelu_d8_kernel<<<cuda_blocks(n, 256), 256, 0, ctx->stream>>>(x, rows, c);
    CUDA_LAUNCHED(ctx);
}

// out: (rows, width), in: (rows, 8c) iso5; one thread per (row, channel i < c);
// each term of the map is a block of c output channels (reference order)
__global__ void invariant_kernel(float *out, const float *in, int rows, int c, int width, int kind) {
    size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (size_t)rows * c) return;
    size_t r = k / c;
    int i = (int)(k % c);
    const float *x = in + r * 8 * c;
    float *o = out + r * width + i;
    float a = x[i], p = x[c + i], q = x[2 * c + i], s = x[3 * c + i];
    float u = x[4 * c + i], w = x[5 * c + i], v = x[6 * c + i], z = x[7 * c + i]; /* E rows: (x4 | x6), (x5 | x7) */
    switch (kind) {
    case OCTIC_INVOP_POWER_SPECTRUM:
        o[0] = a;
        o[c] = fabsf(p);
        o[2 * c] = fabsf(q);
        o[3 * c] = fabsf(s);
        // the 2c norms of the E columns: column i (x4, x5) and column c + i (x6, x7)
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
#pragma unroll
        for (int m = 0; m < 15; m++) o[m * c] = t[m];
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
#pragma unroll
        for (int m = 0; m < 32; m++) o[m * c] = t[m];
        break;
    }
    }
}

static int invariant_width(octic_invop kind, int C) {
    switch (kind) {
    case OCTIC_INVOP_POWER_SPECTRUM: return 6 * C / 8;
    case OCTIC_INVOP_POLYNOMIAL: return 32 * C / 8;
    case OCTIC_INVOP_THIRD_ORDER: return 15 * C / 8;
    case OCTIC_INVOP_LINEAR: return C / 8;
    }
    return 0;
}

void cuda_invariant(const octic_backend *be, float *out, const float *in, int rows, int C, octic_invop kind) {
    cuda_context *ctx = cuda_ctx(be);
    int c = C / 8, width = invariant_width(kind, C);
    size_t n = (size_t)rows * c;
    if (!n || !width) return;
    invariant_kernel<<<cuda_blocks(n, 256), 256, 0, ctx->stream>>>(out, in, rows, c, width, (int)kind);
    CUDA_LAUNCHED(ctx);
}
