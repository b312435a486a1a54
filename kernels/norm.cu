/* LayerNorm, LayerNormD8 and the residual adds, alone and fused with the
 * norm that follows them (as the CPU ops): one warp per token row, two
 * passes over the row (mean, then the variance around it) as the reference
 * does, the row staying in L1 between the passes. */
#include "cuda_internal.cuh"

#define NORM_THREADS 256 /* 8 rows per block */

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* x += gamma * y over one row (gamma NULL: x += y); each lane its columns. */
__device__ __forceinline__ void row_residual(float *x, const float *y, const float *gamma, int C, int lane) {
    if (gamma)
        for (int i = lane; i < C; i += 32) x[i] += gamma[i] * y[i];
    else
        for (int i = lane; i < C; i += 32) x[i] += y[i];
}

// y, x: (C); w, b: (C)
__device__ __forceinline__ void row_layernorm(float *y, const float *x, const float *w, const float *b, int C,
                                              float eps, int lane) {
    float s = 0.0f;
    for (int i = lane; i < C; i += 32) s += x[i];
    float mean = warp_sum(s) / C;
    float v = 0.0f;
    for (int i = lane; i < C; i += 32) {
        float d = x[i] - mean;
        v += d * d;
    }
    float var = warp_sum(v) / C;
    float rstd = 1.0f / sqrtf(var + eps);
    for (int i = lane; i < C; i += 32) y[i] = (x[i] - mean) * rstd * w[i] + b[i];
}

// y, x: (C) iso5: A1, A2, B1, B2 of c = C/8, E row 0, E row 1 of 2c; scale, shift: (C)
__device__ __forceinline__ void row_layernorm_d8(float *y, const float *x, const float *scale, const float *shift,
                                                 int C, float eps, int lane) {
    int c = C / 8;
    float mean[6], total = 0.0f;
    for (int s = 0; s < 6; s++) {
        int start = s < 4 ? s * c : (4 + 2 * (s - 4)) * c, len = s < 4 ? c : 2 * c;
        float acc = 0.0f;
        for (int i = lane; i < len; i += 32) acc += x[start + i];
        mean[s] = warp_sum(acc) / len;
        float v = 0.0f;
        for (int i = lane; i < len; i += 32) {
            float d = x[start + i] - mean[s];
            v += d * d;
        }
        // the E variance enters as the mean over its two rows
        total += (s < 4 ? 1.0f : 0.5f) * (warp_sum(v) / len);
    }
    float inv_std = 1.0f / ((float)OCTIC_SQRT2_OVER_4 * sqrtf(total + eps));
    for (int s = 0; s < 6; s++) {
        int start = s < 4 ? s * c : (4 + 2 * (s - 4)) * c, len = s < 4 ? c : 2 * c;
        for (int i = start + lane; i < start + len; i += 32) y[i] = (x[i] - mean[s]) * inv_std * scale[i] + shift[i];
    }
}

// out, in: (rows, C); with y (rows, C): in += gamma * y first (fused residual)
template <int D8>
__global__ void layernorm_kernel(float *out, float *in, const float *y, const float *gamma, const float *w,
                                 const float *b, int rows, int C, float eps, int residual) {
    int row = (int)(((size_t)blockIdx.x * blockDim.x + threadIdx.x) / 32), lane = threadIdx.x % 32;
    if (row >= rows) return;
    float *x = in + (size_t)row * C;
    if (residual) {
        row_residual(x, y + (size_t)row * C, gamma, C, lane);
        __syncwarp();
    }
    if (D8)
        row_layernorm_d8(out + (size_t)row * C, x, w, b, C, eps, lane);
    else
        row_layernorm(out + (size_t)row * C, x, w, b, C, eps, lane);
}

template <int D8>
static void launch_norm(const octic_backend *be, float *out, float *in, const float *y, const float *gamma,
                        const float *w, const float *b, int rows, int C, float eps, int residual) {
    cuda_context *ctx = cuda_ctx(be);
    if (rows <= 0 || C <= 0) return;
    layernorm_kernel<D8><<<cuda_blocks((size_t)rows * 32, NORM_THREADS), NORM_THREADS, 0, ctx->stream>>>(
        out, in, y, gamma, w, b, rows, C, eps, residual);
    CUDA_LAUNCHED(ctx);
}

void cuda_layernorm(const octic_backend *be, float *out, const float *in, const float *w, const float *b, int rows,
                    int C, float eps) {
    launch_norm<0>(be, out, (float *)in, NULL, NULL, w, b, rows, C, eps, 0);
}

void cuda_layernorm_d8(const octic_backend *be, float *out, const float *in, const float *scale,
                       const float *shift, int rows, int C, float eps) {
    launch_norm<1>(be, out, (float *)in, NULL, NULL, scale, shift, rows, C, eps, 0);
}

void cuda_residual_layernorm(const octic_backend *be, float *x, const float *y, const float *gamma, float *out,
                             const float *w, const float *b, int rows, int C, float eps) {
    launch_norm<0>(be, out, x, y, gamma, w, b, rows, C, eps, 1);
}

void cuda_residual_layernorm_d8(const octic_backend *be, float *x, const float *y, const float *gamma, float *out,
                                const float *scale, const float *shift, int rows, int C, float eps) {
    launch_norm<1>(be, out, x, y, gamma, scale, shift, rows, C, eps, 1);
}

// x, y: (rows, C); gamma: (C) or NULL
__global__ void residual_kernel(float *x, const float *y, const float *gamma, size_t n, int C) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    x[i] += gamma ? gamma[i % C] * y[i] : y[i];
}

void cuda_residual(const octic_backend *be, float *x, const float *y, const float *gamma, int rows, int C) {
    cuda_context *ctx = cuda_ctx(be);
    size_t n = (size_t)rows * C;
    if (!n) return;
    residual_kernel<<<cuda_blocks(n, 256), 256, 0, ctx->stream>>>(x, y, gamma, n, C);
    CUDA_LAUNCHED(ctx);
}
