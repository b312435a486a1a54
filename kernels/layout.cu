/* Data movement: the patch unfolding of the (lifted) patch embedding, column
 * permutations between the iso5 and published layouts, and the token rows
 * (class/register tokens, position embeddings, slices). One thread per value,
 * consecutive threads on consecutive columns. */
#include "cuda_internal.cuh"

// patches: (B*n*n, 3*p*p), column (ch, ky, kx); images: (B, 3, S, S); n = S/p
__global__ void im2col_kernel(float *patches, const float *images, int B, int S, int p, int n) {
    size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    int pp = 3 * p * p;
    if (k >= (size_t)B * n * n * pp) return;
    size_t row = k / pp;
    int col = (int)(k % pp);
    int ch = col / (p * p), ky = col / p % p, kx = col % p;
    int b = (int)(row / ((size_t)n * n)), i = (int)(row / n % n), j = (int)(row % n);
    patches[k] = images[(((size_t)b * 3 + ch) * S + (size_t)i * p + ky) * S + (size_t)j * p + kx];
}

void cuda_im2col(const octic_backend *be, float *patches, const float *images, int B, int S, int p) {
    cuda_context *ctx = cuda_ctx(be);
    int n = S / p;
    size_t total = (size_t)B * n * n * 3 * p * p;
    if (!total) return;
    im2col_kernel<<<cuda_blocks(total, 256), 256, 0, ctx->stream>>>(patches, images, B, S, p, n);
    CUDA_LAUNCHED(ctx);
}

// out: (rows, ncols); in: (rows, *) row stride ldi; idx: (ncols) device memory
__global__ void permute_cols_kernel(float *out, const float *in, int rows, int ncols, int ldi, const int32_t *idx) {
    size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (size_t)rows * ncols) return;
    size_t r = k / ncols;
    int j = (int)(k % ncols);
    out[k] = in[r * ldi + idx[j]];
}

void cuda_permute_cols(const octic_backend *be, float *out, const float *in, int rows, int ncols, int ldi,
                       const int32_t *idx) {
    cuda_context *ctx = cuda_ctx(be);
    size_t total = (size_t)rows * ncols;
    if (!total) return;
    permute_cols_kernel<<<cuda_blocks(total, 256), 256, 0, ctx->stream>>>(out, in, rows, ncols, ldi, idx);
    CUDA_LAUNCHED(ctx);
}

/* mode 0: dst[b, t0 + i, :] += src[i, :]; 1: dst[b, t0 + i, :] = src[i, :];
 * 2 (get): dst[b, i, :] = src[b, t0 + i, :]. dst/src as (B, T, C) or (n, C). */
__global__ void rows_kernel(float *dst, const float *src, int B, int T, int t0, int n, int C, int mode) {
    size_t k = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (size_t)B * n * C) return;
    int c = (int)(k % C);
    size_t bi = k / C;
    int i = (int)(bi % n), b = (int)(bi / n);
    size_t tok = ((size_t)b * T + t0 + i) * C + c;
    switch (mode) {
    case 0: dst[tok] += src[(size_t)i * C + c]; break;
    case 1: dst[tok] = src[(size_t)i * C + c]; break;
    default: dst[k] = src[tok]; break;
    }
}

static void launch_rows(const octic_backend *be, float *dst, const float *src, int B, int T, int t0, int n, int C,
                        int mode) {
    cuda_context *ctx = cuda_ctx(be);
    size_t total = (size_t)B * n * C;
    if (!total) return;
    rows_kernel<<<cuda_blocks(total, 256), 256, 0, ctx->stream>>>(dst, src, B, T, t0, n, C, mode);
    CUDA_LAUNCHED(ctx);
}

void cuda_add_rows(const octic_backend *be, float *x, const float *pos, int B, int T, int t0, int npos, int C) {
    launch_rows(be, x, pos, B, T, t0, npos, C, 0);
}

void cuda_set_rows(const octic_backend *be, float *dst, const float *src, int B, int T, int t0, int nsrc, int C) {
    launch_rows(be, dst, src, B, T, t0, nsrc, C, 1);
}

void cuda_get_rows(const octic_backend *be, float *dst, const float *src, int B, int T, int t0, int n, int C) {
    launch_rows(be, dst, src, B, T, t0, n, C, 2);
}
