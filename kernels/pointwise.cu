/* GELU, the octic GELU and the invariant maps: one thread per value (GELU)
 * or per channel of a token (the octic ones: the 8 values of channel i of a
 * token form one regular representation), as in engine/octic_math.h. */
#include "cuda_internal.cuh"

// x: (n) in place
__global__ void gelu_kernel(float *x, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = octic_gelu(x[i]);
}

void cuda_gelu(const octic_backend *be, float *x, size_t n) {
    cuda_context *ctx = cuda_ctx(be);
    if (!n) return;
    gelu_kernel<<<cuda_blocks(n, 256), 256, 0, ctx->stream>>>(x, n);
    CUDA_LAUNCHED(ctx);
}

// x: (rows, C) iso5 in place; one thread per (row, channel i < c = C/8)
__global__ void gelu_d8_kernel(float *x, int rows, int C, int c) {
    size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (size_t)rows * c) return;
    size_t r = k / c;
    int i = (int)(k % c);
    float *t = x + r * C + i;
    // x0..x7: A1, A2, B1, B2, then x4, x6 from E row 0 and x5, x7 from E row 1
    const int off[8] = {0, c, 2 * c, 3 * c, 4 * c, 6 * c, 5 * c, 7 * c};
    float iso[8], reg[8];
#pragma unroll
    for (int q = 0; q < 8; q++) iso[q] = t[off[q]];
    octic_isotypic_to_regular(reg, iso);
#pragma unroll
    for (int q = 0; q < 8; q++) reg[q] = octic_gelu(reg[q]);
    octic_regular_to_isotypic(iso, reg);
#pragma unroll
    for (int q = 0; q < 8; q++) t[off[q]] = iso[q];
}

void cuda_gelu_d8(const octic_backend *be, float *x, int rows, int C) {
    cuda_context *ctx = cuda_ctx(be);
    int c = C / 8;
    size_t n = (size_t)rows * c;
    if (!n) return;
    gelu_d8_kernel<<<cuda_blocks(n, 256), 256, 0, ctx->stream>>>(x, rows, C, c);
    CUDA_LAUNCHED(ctx);
}

// out: (rows, width), in: (rows, C) iso5; one thread per (row, channel i < c = C/8);
// each term of the map is a block of c output channels (reference order)
__global__ void invariant_kernel(float *out, const float *in, int rows, int C, int c, int width, int kind) {
    size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (size_t)rows * c) return;
    size_t r = k / c;
    int i = (int)(k % c);
    const float *t = in + r * C;
    /* x0..x7: the E rows are (x4 | x6) and (x5 | x7) */
    const float x[8] = {t[i], t[c + i], t[2 * c + i], t[3 * c + i], t[4 * c + i], t[6 * c + i], t[5 * c + i], t[7 * c + i]};
    octic_invariant_channel(out + r * width + i, c, x, (octic_invop)kind);
}

void cuda_invariant(const octic_backend *be, float *out, const float *in, int rows, int C, octic_invop kind) {
    cuda_context *ctx = cuda_ctx(be);
    int c = C / 8, width = octic_invop_width(kind, C);
    size_t n = (size_t)rows * c;
    if (!n || !width) return;
    invariant_kernel<<<cuda_blocks(n, 256), 256, 0, ctx->stream>>>(out, in, rows, C, c, width, (int)kind);
    CUDA_LAUNCHED(ctx);
}
