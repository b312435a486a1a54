/* Matrix products on cuBLAS: the plain Linear through cublasLt with the bias
 * in its epilogue, and LinearD8 as two batched calls (the four 1-d irreps
 * with their own weights in one pointer-array batch, the two E rows sharing
 * one weight in a strided batch) instead of six products.
 *
 * Row-major out[M,N] = in[M,K] @ w[N,K]^T is, in cuBLAS's column-major
 * terms, out^T (N x M, ld ldo) = op_T(w as K x N, ld K) * (in^T as K x M, ld ldi).
 *
 * float32: pure float32 arithmetic (no TF32), as the CPU reference.
 * bfloat16: the weights converted once (cached per weight pointer, dropped
 * when their memory is freed or written), the input converted per call,
 * float32 accumulation and float32 output. */
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.cuh"

/* ------------------------------------------------------------------------ */
/* float32 -> bfloat16                                                       */

// dst: (rows, cols) packed; src: (rows, cols) with row stride ld
__global__ void to_bf16_kernel(__nv_bfloat16 *dst, const float *src, int rows, int cols, int ld) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)rows * cols) return;
    size_t r = i / cols, c = i % cols;
    dst[i] = __float2bfloat16(src[r * ld + c]);
}

static void to_bf16(cuda_context *ctx, __nv_bfloat16 *dst, const float *src, int rows, int cols, int ld) {
    size_t n = (size_t)rows * cols;
    if (!n) return;
    to_bf16_kernel<<<cuda_blocks(n, 256), 256, 0, ctx->stream>>>(dst, src, rows, cols, ld);
    CUDA_LAUNCHED(ctx);
}

/* The bfloat16 copy of a float32 weight of n values, converted on first use. */
static const __nv_bfloat16 *bf16_weight(cuda_context *ctx, const float *w, size_t n) {
    for (int i = 0; i < ctx->n_weights; i++)
        if (ctx->weights[i].src == w && ctx->weights[i].n == n) return ctx->weights[i].bf16;
    if (ctx->n_weights == ctx->cap_weights) {
        int cap = ctx->cap_weights ? 2 * ctx->cap_weights : 256;
        void *grown = realloc(ctx->weights, (size_t)cap * sizeof *ctx->weights);
        if (!grown) {
            cuda_record(ctx, OCTIC_ERR_NOMEM, __FILE__, __LINE__, "out of memory for the bfloat16 weight table");
            return NULL;
        }
        ctx->weights = (cuda_bf16_weight *)grown;
        ctx->cap_weights = cap;
    }
    __nv_bfloat16 *copy = (__nv_bfloat16 *)cuda_device_alloc(ctx, n * sizeof(__nv_bfloat16));
    if (!copy) {
        cuda_record(ctx, OCTIC_ERR_NOMEM, __FILE__, __LINE__, "out of device memory for %zu bfloat16 weights", n);
        return NULL;
    }
    to_bf16(ctx, copy, w, 1, (int)n, (int)n);
    ctx->weights[ctx->n_weights++] = (cuda_bf16_weight){w, n, copy};
    return copy;
}

void cuda_forget_weights(cuda_context *ctx, const void *p, size_t bytes) {
    const char *lo = (const char *)p, *hi = lo + bytes;
    for (int i = 0; i < ctx->n_weights;) {
        const char *s = (const char *)ctx->weights[i].src, *e = s + ctx->weights[i].n * sizeof(float);
        if (s < hi && e > lo) { /* any part of the weight overwritten */
            __nv_bfloat16 *copy = ctx->weights[i].bf16;
            ctx->weights[i] = ctx->weights[--ctx->n_weights];
            cuda_device_free(ctx, copy);
        } else {
            i++;
        }
    }
}

/* The activation buffer for n bfloat16 values (one input at a time). */
static __nv_bfloat16 *bf16_activations(cuda_context *ctx, size_t n) {
    if (n > ctx->act_n) {
        cuda_device_free(ctx, ctx->act);
        ctx->act_n = 0;
        ctx->act = (__nv_bfloat16 *)cuda_device_alloc(ctx, n * sizeof(__nv_bfloat16));
        if (!ctx->act) {
            cuda_record(ctx, OCTIC_ERR_NOMEM, __FILE__, __LINE__, "out of device memory for %zu bfloat16 activations", n);
            return NULL;
        }
        ctx->act_n = n;
    }
    return ctx->act;
}

/* ------------------------------------------------------------------------ */
/* Linear: cublasLt with the bias epilogue                                   */

struct cuda_lt_plan {
    int M, N, K, ldi, ldo, bias, bf16;
    int align[4]; /* in, w, out, bias: bytes */
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulAlgo_t algo;
    int usable; /* 0: the heuristic found nothing; use cublasGemmEx */
};

/* The largest power of two (up to 256) dividing the address. */
static int alignment(const void *p) {
    uintptr_t a = (uintptr_t)p;
    int al = 1;
    while (al < 256 && !(a & (uintptr_t)al)) al <<= 1;
    return al;
}

static cuda_lt_plan *lt_plan(cuda_context *ctx, int M, int N, int K, int ldi, int ldo, int bias, int bf16,
                             const int align[4]) {
    for (int i = 0; i < ctx->n_plans; i++) {
        cuda_lt_plan *p = &ctx->plans[i];
        if (p->M == M && p->N == N && p->K == K && p->ldi == ldi && p->ldo == ldo && p->bias == bias &&
            p->bf16 == bf16 && !memcmp(p->align, align, sizeof p->align))
            return p;
    }
    if (ctx->n_plans == ctx->cap_plans) {
        int cap = ctx->cap_plans ? 2 * ctx->cap_plans : 32;
        void *grown = realloc(ctx->plans, (size_t)cap * sizeof *ctx->plans);
        if (!grown) return NULL;
        ctx->plans = (cuda_lt_plan *)grown;
        ctx->cap_plans = cap;
    }
    cuda_lt_plan *p = &ctx->plans[ctx->n_plans++];
    memset(p, 0, sizeof *p);
    p->M = M, p->N = N, p->K = K, p->ldi = ldi, p->ldo = ldo, p->bias = bias, p->bf16 = bf16;
    memcpy(p->align, align, sizeof p->align);
    cudaDataType_t in_type = bf16 ? CUDA_R_16BF : CUDA_R_32F;
    if (cublasLtMatmulDescCreate(&p->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS) return p;
    cublasOperation_t tA = CUBLAS_OP_T, tB = CUBLAS_OP_N;
    cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &tA, sizeof tA);
    cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tB, sizeof tB);
    if (bias) {
        cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
        cudaDataType_t bt = CUDA_R_32F;
        cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi);
        cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt);
    }
    /* bfloat16 inputs are packed copies (ld K); float32 ones are read in place */
    int lda = K, ldb = bf16 ? K : ldi;
    if (cublasLtMatrixLayoutCreate(&p->a, in_type, K, N, lda) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatrixLayoutCreate(&p->b, in_type, K, M, ldb) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatrixLayoutCreate(&p->c, CUDA_R_32F, N, M, ldo) != CUBLAS_STATUS_SUCCESS)
        return p;
    cublasLtMatmulPreference_t pref;
    if (cublasLtMatmulPreferenceCreate(&pref) != CUBLAS_STATUS_SUCCESS) return p;
    uint64_t ws = ctx->lt_workspace_size;
    uint32_t a_in = (uint32_t)align[0], a_w = (uint32_t)align[1], a_out = (uint32_t)align[2];
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &a_w, sizeof a_w);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &a_in, sizeof a_in);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &a_out, sizeof a_out);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &a_out, sizeof a_out);
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    if (cublasLtMatmulAlgoGetHeuristic(ctx->lt, p->desc, p->a, p->b, p->c, p->c, pref, 1, &result, &found) ==
            CUBLAS_STATUS_SUCCESS &&
        found > 0) {
        p->algo = result.algo;
        p->usable = 1;
    }
    cublasLtMatmulPreferenceDestroy(pref);
    return p;
}

// out: (M, N) row stride ldo; bias: (N)
__global__ void fill_bias_kernel(float *out, int ldo, const float *bias, int M, int N) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)M * N) return;
    size_t r = i / N, c = i % N;
    out[r * ldo + c] = bias[c];
}

static void fill_bias(cuda_context *ctx, float *out, int ldo, const float *bias, int M, int N) {
    size_t n = (size_t)M * N;
    fill_bias_kernel<<<cuda_blocks(n, 256), 256, 0, ctx->stream>>>(out, ldo, bias, M, N);
    CUDA_LAUNCHED(ctx);
}

// out: (M, N) row stride ldo; bias: (N) added
__global__ void add_bias_kernel(float *out, int ldo, const float *bias, int M, int N) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)M * N) return;
    size_t r = i / N, c = i % N;
    out[r * ldo + c] += bias[c];
}

void cuda_linear(const octic_backend *be, float *out, int ldo, const float *in, int ldi, const float *w,
                 const float *bias, int M, int N, int K) {
    // out: (M, N) row stride ldo; in: (M, K) row stride ldi; w: (N, K); bias: (N) or NULL
    cuda_context *ctx = cuda_ctx(be);
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* an empty sum: the bias, or zeros */
        if (bias) fill_bias(ctx, out, ldo, bias, M, N);
        else CUDA_CHECK(ctx, cudaMemset2DAsync(out, (size_t)ldo * sizeof(float), 0, (size_t)N * sizeof(float), M, ctx->stream));
        return;
    }
    int bf16 = cuda_is_bf16(be);
    const void *A = w, *Bm = in;
    if (bf16) {
        const __nv_bfloat16 *wb = bf16_weight(ctx, w, (size_t)N * K);
        __nv_bfloat16 *ib = bf16_activations(ctx, (size_t)M * K);
        if (!wb || !ib) return;
        to_bf16(ctx, ib, in, M, K, ldi);
        A = wb, Bm = ib;
    }
    int align[4] = {alignment(Bm), alignment(A), alignment(out), bias ? alignment(bias) : 256};
    /* the epilogue reads the bias in 16-byte vectors: a bias less aligned takes the cublasGemmEx way */
    cuda_lt_plan *p = align[3] >= 16 ? lt_plan(ctx, M, N, K, ldi, ldo, bias != NULL, bf16, align) : NULL;
    const float one = 1.0f, zero = 0.0f;
    if (p && p->usable) {
        if (bias)
            cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
        CUBLAS_CHECK(ctx, cublasLtMatmul(ctx->lt, p->desc, &one, A, p->a, Bm, p->b, &zero, out, p->c, out, p->c,
                                         &p->algo, ctx->lt_workspace, ctx->lt_workspace_size, ctx->stream));
        return;
    }
    /* no cublasLt algorithm for this shape and alignment: cublasGemmEx, bias before */
    cudaDataType_t t = bf16 ? CUDA_R_16BF : CUDA_R_32F;
    if (bias) fill_bias(ctx, out, ldo, bias, M, N);
    CUBLAS_CHECK(ctx, cublasGemmEx(ctx->blas, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &one, A, t, K, Bm, t,
                                   bf16 ? K : ldi, bias ? &one : &zero, out, CUDA_R_32F, ldo, CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT));
}

/* ------------------------------------------------------------------------ */
/* LinearD8: two batched calls                                               */

typedef struct {
    const void *p[12]; /* A[4] (weights), B[4] (inputs), C[4] (outputs) */
} d8_pointers;

/* The pointer arrays are written on the stream, ordered with the products
 * that read them (one small launch instead of a synchronous copy). */
__global__ void set_pointers_kernel(const void **dst, d8_pointers ptrs) {
    int i = threadIdx.x;
    if (i < 12) dst[i] = ptrs.p[i];
}

void cuda_linear_d8(const octic_backend *be, float *out, const float *in, const float *const w[5],
                    const float *bias, int M, int ci, int co) {
    // in: (M, 8ci) iso5, out: (M, 8co) iso5; w[0..3]: (co, ci), w[4]: (2co, 2ci); bias: (co) on A1 or NULL
    cuda_context *ctx = cuda_ctx(be);
    if (M <= 0 || co <= 0) return;
    if (ci <= 0) {
        CUDA_CHECK(ctx, cudaMemsetAsync(out, 0, (size_t)M * 8 * co * sizeof(float), ctx->stream));
        if (bias) fill_bias(ctx, out, 8 * co, bias, M, co);
        return;
    }
    int bf16 = cuda_is_bf16(be);
    cudaDataType_t t = bf16 ? CUDA_R_16BF : CUDA_R_32F;
    size_t esize = bf16 ? sizeof(__nv_bfloat16) : sizeof(float);
    const char *W[5], *X = (const char *)in;
    for (int q = 0; q < 5; q++) W[q] = (const char *)w[q];
    if (bf16) {
        for (int q = 0; q < 5; q++) {
            W[q] = (const char *)bf16_weight(ctx, w[q], (size_t)(q < 4 ? 1 : 4) * co * ci);
            if (!W[q]) return;
        }
        __nv_bfloat16 *xb = bf16_activations(ctx, (size_t)M * 8 * ci);
        if (!xb) return;
        to_bf16(ctx, xb, in, M, 8 * ci, 8 * ci);
        X = (const char *)xb;
    }
    const float one = 1.0f, zero = 0.0f;
    // A1, A2, B1, B2: out[:, q co : (q+1) co] = in[:, q ci : (q+1) ci] @ w[q]^T
    d8_pointers ptrs;
    for (int q = 0; q < 4; q++) {
        ptrs.p[q] = W[q];
        ptrs.p[4 + q] = X + (size_t)q * ci * esize;
        ptrs.p[8 + q] = out + (size_t)q * co;
    }
    set_pointers_kernel<<<1, 32, 0, ctx->stream>>>(ctx->ptrs, ptrs);
    CUDA_LAUNCHED(ctx);
    CUBLAS_CHECK(ctx, cublasGemmBatchedEx(ctx->blas, CUBLAS_OP_T, CUBLAS_OP_N, co, M, ci, &one, ctx->ptrs, t, ci,
                                          ctx->ptrs + 4, t, 8 * ci, &zero, (void *const *)(ctx->ptrs + 8), CUDA_R_32F,
                                          8 * co, 4, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    // E rows 0 and 1 (columns 4ci.. and 6ci..) through the one E weight (stride 0)
    CUBLAS_CHECK(ctx, cublasGemmStridedBatchedEx(ctx->blas, CUBLAS_OP_T, CUBLAS_OP_N, 2 * co, M, 2 * ci, &one, W[4], t,
                                                 2 * ci, 0, X + (size_t)4 * ci * esize, t, 8 * ci, (long long)2 * ci,
                                                 &zero, out + (size_t)4 * co, CUDA_R_32F, 8 * co, (long long)2 * co, 2,
                                                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    if (bias) {
        size_t n = (size_t)M * co;
        add_bias_kernel<<<cuda_blocks(n, 256), 256, 0, ctx->stream>>>(out, 8 * co, bias, M, co);
        CUDA_LAUNCHED(ctx);
    }
}

void cuda_gemm_release(cuda_context *ctx) {
    for (int i = 0; i < ctx->n_plans; i++) {
        cuda_lt_plan *p = &ctx->plans[i];
        if (p->a) cublasLtMatrixLayoutDestroy(p->a);
        if (p->b) cublasLtMatrixLayoutDestroy(p->b);
        if (p->c) cublasLtMatrixLayoutDestroy(p->c);
        if (p->desc) cublasLtMatmulDescDestroy(p->desc);
    }
    ctx->n_plans = 0;
}
