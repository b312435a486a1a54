/* Softmax attention without the score matrix in global memory (flash-style):
 * a block takes a tile of query rows of one (image, head), walks the keys in
 * tiles held in shared memory and keeps a running maximum, sum and output per
 * row (online softmax), so only q, k, v and the output touch global memory.
 * q, k, v are read and the output written through the column maps of the op
 * (the iso5 layout of octic blocks), so no permuted copies are made.
 *
 * float32: 8 threads per query row on CUDA cores; each thread scores an
 * eighth of a key tile (every eighth key) against the whole (scaled) query
 * held in registers and accumulates an eighth of the output columns.
 * bfloat16: each warp owns 16 query rows; QK^T and PV on tensor cores (WMMA
 * 16x16x16, float32 accumulation), the softmax in float32 in shared memory.
 *
 * Head widths: any up to 128 (zero-padded to the kernel's width; ViT-L and
 * DINOv2 use 64, ViT-H 80). Scratch: none. */
#include <mma.h>

#include "cuda_internal.cuh"

/* Column of q/k/v (s = 0, 1, 2) element t of head h in a qkv row. */
__device__ __forceinline__ int qkv_col(const int32_t *cols, int s, int h, int t, int H, int hd) {
    int j = (s * H + h) * hd + t;
    return cols ? cols[j] : j;
}

/* ------------------------------------------------------------------------ */
/* float32                                                                   */

#define F32_ROWS 32   /* query rows per block */
#define F32_KEYS 32   /* keys per tile */
#define F32_GROUP 8   /* threads per query row */
#define F32_THREADS (F32_ROWS * F32_GROUP)

// out: (B*N, H*hd); qkv: (B*N, 3*H*hd); grid (ceil(N / F32_ROWS), H, B)
template <int HD>
__global__ void __launch_bounds__(F32_THREADS)
attention_f32_kernel(float *out, const float *qkv, const int32_t *qkv_cols, const int32_t *out_cols, int N, int H,
                     int hd, float scale) {
    __shared__ float Ks[F32_KEYS][HD + 1]; /* +1: the 8 threads of a row read 8 keys in 8 banks */
    __shared__ float Vs[F32_KEYS][HD];
    __shared__ float Ps[F32_ROWS][F32_KEYS + 1];
    int b = blockIdx.z, h = blockIdx.y, tid = threadIdx.x;
    int r = tid / F32_GROUP, g = tid % F32_GROUP, qi = blockIdx.x * F32_ROWS + r;
    int ld_qkv = 3 * H * hd, ld_out = H * hd;
    const float *base = qkv + (size_t)b * N * ld_qkv;

    float q[HD]; // the scaled query of this row, zero past hd
#pragma unroll
    for (int t = 0; t < HD; t++)
        q[t] = (t < hd && qi < N) ? base[(size_t)qi * ld_qkv + qkv_col(qkv_cols, 0, h, t, H, hd)] * scale : 0.0f;
    float o[HD / F32_GROUP]; // output columns g, g + 8, ...
#pragma unroll
    for (int i = 0; i < HD / F32_GROUP; i++) o[i] = 0.0f;
    float m = -INFINITY, l = 0.0f; // running max of the row; this thread's share of the sum

    for (int k0 = 0; k0 < N; k0 += F32_KEYS) {
        __syncthreads(); // the previous tile is no longer read
        for (int e = tid; e < F32_KEYS * HD; e += F32_THREADS) {
            int j = e / HD, t = e % HD, key = k0 + j;
            float kv = 0.0f, vv = 0.0f;
            if (key < N && t < hd) {
                const float *row = base + (size_t)key * ld_qkv;
                kv = row[qkv_col(qkv_cols, 1, h, t, H, hd)];
                vv = row[qkv_col(qkv_cols, 2, h, t, H, hd)];
            }
            Ks[j][t] = kv;
            Vs[j][t] = vv;
        }
        __syncthreads();
        float s[F32_KEYS / F32_GROUP], mt = -INFINITY;
#pragma unroll
        for (int jj = 0; jj < F32_KEYS / F32_GROUP; jj++) {
            int j = g + F32_GROUP * jj;
            float acc = 0.0f;
#pragma unroll
            for (int t = 0; t < HD; t++) acc += q[t] * Ks[j][t];
            s[jj] = k0 + j < N ? acc : -INFINITY;
            mt = fmaxf(mt, s[jj]);
        }
        for (int x = 1; x < F32_GROUP; x <<= 1) mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, x));
        float mnew = fmaxf(m, mt); // finite: key k0 is in every tile
        float alpha = expf(m - mnew);
        l *= alpha;
#pragma unroll
        for (int i = 0; i < HD / F32_GROUP; i++) o[i] *= alpha;
#pragma unroll
        for (int jj = 0; jj < F32_KEYS / F32_GROUP; jj++) {
            float p = expf(s[jj] - mnew);
            l += p;
            Ps[r][g + F32_GROUP * jj] = p;
        }
        m = mnew;
        __syncwarp(); // a row's 8 threads are in one warp
#pragma unroll 4
        for (int j = 0; j < F32_KEYS; j++) {
            float p = Ps[r][j];
#pragma unroll
            for (int i = 0; i < HD / F32_GROUP; i++) o[i] += p * Vs[j][g + F32_GROUP * i];
        }
    }
    for (int x = 1; x < F32_GROUP; x <<= 1) l += __shfl_xor_sync(0xffffffffu, l, x);
    if (qi >= N) return;
    float inv = 1.0f / l;
    float *dst = out + ((size_t)b * N + qi) * ld_out;
#pragma unroll
    for (int i = 0; i < HD / F32_GROUP; i++) {
        int t = g + F32_GROUP * i;
        if (t < hd) {
            int j = h * hd + t;
            dst[out_cols ? out_cols[j] : j] = o[i] * inv;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* bfloat16 on tensor cores                                                  */

#define BF_WARPS 4
#define BF_ROWS (16 * BF_WARPS) /* query rows per block */
#define BF_KEYS 64              /* keys per tile */
#define BF_THREADS (32 * BF_WARPS)

/* Shared memory of the bf16 kernel for width HD (a multiple of 16), every
 * region on a 32-byte boundary as WMMA wants:
 *   Q (BF_ROWS, HD) bf16, K (BF_KEYS, HD) bf16, V (BF_KEYS, HD) bf16,
 *   S per warp (16, BF_KEYS + 4) f32, P per warp (16, BF_KEYS + 8) bf16,
 *   O per warp (16, HD + 4) f32, then per-row m and l (BF_ROWS each). */
template <int HD>
struct bf_layout {
    static constexpr int ldS = BF_KEYS + 4, ldP = BF_KEYS + 8, ldO = HD + 4;
    static constexpr size_t q = 0;
    static constexpr size_t k = q + (size_t)BF_ROWS * HD * 2;
    static constexpr size_t v = k + (size_t)BF_KEYS * HD * 2;
    static constexpr size_t s = v + (size_t)BF_KEYS * HD * 2;
    static constexpr size_t p = s + (size_t)BF_WARPS * 16 * ldS * 4;
    static constexpr size_t o = p + (size_t)BF_WARPS * 16 * ldP * 2;
    static constexpr size_t ml = o + (size_t)BF_WARPS * 16 * ldO * 4;
    static constexpr size_t bytes = ml + (size_t)2 * BF_ROWS * 4;
    static_assert(k % 32 == 0 && v % 32 == 0 && s % 32 == 0 && p % 32 == 0 && o % 32 == 0, "WMMA alignment");
};

// out: (B*N, H*hd); qkv: (B*N, 3*H*hd); grid (ceil(N / BF_ROWS), H, B)
template <int HD>
__global__ void __launch_bounds__(BF_THREADS)
attention_bf16_kernel(float *out, const float *qkv, const int32_t *qkv_cols, const int32_t *out_cols, int N, int H,
                      int hd, float scale) {
    using namespace nvcuda;
    using L = bf_layout<HD>;
    extern __shared__ __align__(128) unsigned char smem[];
    __nv_bfloat16 *Qs = (__nv_bfloat16 *)(smem + L::q), *Ks = (__nv_bfloat16 *)(smem + L::k);
    __nv_bfloat16 *Vs = (__nv_bfloat16 *)(smem + L::v);
    int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * BF_ROWS, tid = threadIdx.x;
    int warp = tid / 32, lane = tid % 32;
    float *S = (float *)(smem + L::s) + (size_t)warp * 16 * L::ldS;
    __nv_bfloat16 *P = (__nv_bfloat16 *)(smem + L::p) + (size_t)warp * 16 * L::ldP;
    float *O = (float *)(smem + L::o) + (size_t)warp * 16 * L::ldO;
    float *Mrow = (float *)(smem + L::ml) + warp * 16, *Lrow = Mrow + BF_ROWS;
    int ld_qkv = 3 * H * hd, ld_out = H * hd;
    const float *base = qkv + (size_t)b * N * ld_qkv;

    for (int e = tid; e < BF_ROWS * HD; e += BF_THREADS) {
        int i = e / HD, t = e % HD, qi = q0 + i;
        float v = (qi < N && t < hd) ? base[(size_t)qi * ld_qkv + qkv_col(qkv_cols, 0, h, t, H, hd)] : 0.0f;
        Qs[e] = __float2bfloat16(v);
    }
    for (int e = lane; e < 16 * L::ldO; e += 32) O[e] = 0.0f;
    if (lane < 16) Mrow[lane] = -INFINITY, Lrow[lane] = 0.0f;

    // two lanes per query row of the warp: lane / 2 the row, lane % 2 the half of the key tile
    int row = lane / 2, half = lane % 2;
    for (int k0 = 0; k0 < N; k0 += BF_KEYS) {
        __syncthreads(); // Q written (first tile), the previous K, V no longer read
        for (int e = tid; e < BF_KEYS * HD; e += BF_THREADS) {
            int j = e / HD, t = e % HD, key = k0 + j;
            float kv = 0.0f, vv = 0.0f;
            if (key < N && t < hd) {
                const float *rowp = base + (size_t)key * ld_qkv;
                kv = rowp[qkv_col(qkv_cols, 1, h, t, H, hd)];
                vv = rowp[qkv_col(qkv_cols, 2, h, t, H, hd)];
            }
            Ks[e] = __float2bfloat16(kv);
            Vs[e] = __float2bfloat16(vv);
        }
        __syncthreads();
        // S (16, BF_KEYS) = Q_w (16, HD) K^T; K stored (key, t) is K^T column-major
        for (int n = 0; n < BF_KEYS / 16; n++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
            wmma::fill_fragment(acc, 0.0f);
            for (int k = 0; k < HD / 16; k++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> fb;
                wmma::load_matrix_sync(fa, Qs + (size_t)warp * 16 * HD + k * 16, HD);
                wmma::load_matrix_sync(fb, Ks + (size_t)n * 16 * HD + k * 16, HD);
                wmma::mma_sync(acc, fa, fb, acc);
            }
            wmma::store_matrix_sync(S + n * 16, acc, L::ldS, wmma::mem_row_major);
        }
        __syncwarp();
        // online softmax of the tile in float32
        float *srow = S + (size_t)row * L::ldS + half * (BF_KEYS / 2);
        float mt = -INFINITY;
        for (int j = 0; j < BF_KEYS / 2; j++) {
            int key = k0 + half * (BF_KEYS / 2) + j;
            float v = key < N ? srow[j] * scale : -INFINITY;
            srow[j] = v;
            mt = fmaxf(mt, v);
        }
        mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt, 1));
        float mold = Mrow[row], mnew = fmaxf(mold, mt), alpha = expf(mold - mnew);
        float psum = 0.0f;
        __nv_bfloat16 *prow = P + (size_t)row * L::ldP + half * (BF_KEYS / 2);
        for (int j = 0; j < BF_KEYS / 2; j++) {
            __nv_bfloat16 pb = __float2bfloat16(expf(srow[j] - mnew));
            prow[j] = pb;
            psum += __bfloat162float(pb); // the sum of what is multiplied with v
        }
        psum += __shfl_xor_sync(0xffffffffu, psum, 1);
        float *orow = O + (size_t)row * L::ldO;
        for (int t = half; t < HD; t += 2) orow[t] *= alpha;
        __syncwarp();
        if (half == 0) Mrow[row] = mnew, Lrow[row] = Lrow[row] * alpha + psum;
        // O_w (16, HD) += P (16, BF_KEYS) V (BF_KEYS, HD)
        for (int n = 0; n < HD / 16; n++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
            wmma::load_matrix_sync(acc, O + n * 16, L::ldO, wmma::mem_row_major);
            for (int k = 0; k < BF_KEYS / 16; k++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> fb;
                wmma::load_matrix_sync(fa, P + k * 16, L::ldP);
                wmma::load_matrix_sync(fb, Vs + (size_t)k * 16 * HD + n * 16, HD);
                wmma::mma_sync(acc, fa, fb, acc);
            }
            wmma::store_matrix_sync(O + n * 16, acc, L::ldO, wmma::mem_row_major);
        }
        __syncwarp();
    }
    // this warp's 16 rows out
    for (int e = lane; e < 16 * HD; e += 32) {
        int i = e / HD, t = e % HD, qi = q0 + warp * 16 + i;
        if (qi >= N || t >= hd) continue;
        int j = h * hd + t;
        out[((size_t)b * N + qi) * ld_out + (out_cols ? out_cols[j] : j)] = O[(size_t)i * L::ldO + t] / Lrow[i];
    }
}

/* ------------------------------------------------------------------------ */
/* Launch                                                                    */

template <int HD>
static void launch_f32(cuda_context *ctx, float *out, const float *qkv, const int32_t *qc, const int32_t *oc, int B,
                       int N, int H, int hd, float scale) {
    dim3 grid((N + F32_ROWS - 1) / F32_ROWS, H, B);
    attention_f32_kernel<HD><<<grid, F32_THREADS, 0, ctx->stream>>>(out, qkv, qc, oc, N, H, hd, scale);
    CUDA_LAUNCHED(ctx);
}

/* The tensor-core kernel, where the device gives a block the shared memory
 * it takes (more than 48 KB from HD = 64 on; HD = 128 takes 110 KB, which
 * sm_80 and sm_90 give and sm_86 and sm_89, at 99 KB, do not); returns 0
 * where it cannot run, for the caller to take the float32 kernel. */
template <int HD>
static int launch_bf16(cuda_context *ctx, float *out, const float *qkv, const int32_t *qc, const int32_t *oc, int B,
                       int N, int H, int hd, float scale) {
    size_t bytes = bf_layout<HD>::bytes;
    static int state; /* per instance: 0 not asked yet, 1 configured, -1 more than the device gives */
    if (!state) {
        int dev = 0, optin = 0;
        CUDA_CHECK(ctx, cudaGetDevice(&dev));
        CUDA_CHECK(ctx, cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
        if ((size_t)optin < bytes) {
            state = -1;
        } else {
            cudaError_t e = cudaFuncSetAttribute(attention_bf16_kernel<HD>,
                                                 cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
            if (e != cudaSuccess) {
                cuda_record(ctx, OCTIC_ERR_UNSUPPORTED, __FILE__, __LINE__,
                            "cudaFuncSetAttribute (%zu bytes of shared memory): %s", bytes, cudaGetErrorString(e));
                return 1;
            }
            state = 1;
        }
    }
    if (state < 0) return 0;
    dim3 grid((N + BF_ROWS - 1) / BF_ROWS, H, B);
    attention_bf16_kernel<HD><<<grid, BF_THREADS, bytes, ctx->stream>>>(out, qkv, qc, oc, N, H, hd, scale);
    CUDA_LAUNCHED(ctx);
    return 1;
}

size_t cuda_attention_scratch(const octic_backend *be, int B, int N, int H, int hd) {
    (void)be, (void)B, (void)N, (void)H, (void)hd;
    return 0;
}

void cuda_attention(const octic_backend *be, float *out, const float *qkv, const int32_t *qkv_cols,
                    const int32_t *out_cols, float *scratch, int B, int N, int H, int hd) {
    (void)scratch;
    cuda_context *ctx = cuda_ctx(be);
    if (B <= 0 || N <= 0 || H <= 0 || hd <= 0) return;
    if (hd > 128) {
        cuda_record(ctx, OCTIC_ERR_UNSUPPORTED, __FILE__, __LINE__,
                    "attention head width %d: the kernels take widths up to 128", hd);
        return;
    }
    float scale = 1.0f / sqrtf((float)hd);
    if (cuda_is_bf16(be)) {
        int ran = hd <= 32   ? launch_bf16<32>(ctx, out, qkv, qkv_cols, out_cols, B, N, H, hd, scale)
                  : hd <= 64 ? launch_bf16<64>(ctx, out, qkv, qkv_cols, out_cols, B, N, H, hd, scale)
                  : hd <= 80 ? launch_bf16<80>(ctx, out, qkv, qkv_cols, out_cols, B, N, H, hd, scale)
                             : launch_bf16<128>(ctx, out, qkv, qkv_cols, out_cols, B, N, H, hd, scale);
        if (ran) return;
    }
    if (hd <= 16) launch_f32<16>(ctx, out, qkv, qkv_cols, out_cols, B, N, H, hd, scale);
    else if (hd <= 32) launch_f32<32>(ctx, out, qkv, qkv_cols, out_cols, B, N, H, hd, scale);
    else if (hd <= 64) launch_f32<64>(ctx, out, qkv, qkv_cols, out_cols, B, N, H, hd, scale);
    else if (hd <= 80) launch_f32<80>(ctx, out, qkv, qkv_cols, out_cols, B, N, H, hd, scale);
    else launch_f32<128>(ctx, out, qkv, qkv_cols, out_cols, B, N, H, hd, scale);
}
