/* Shared by the CUDA backend's sources (the .cu files of kernels/): the backend context,
 * error checks and the launchers each op family exports to the op table in
 * cuda_backend.cu.
 *
 * Conventions (llm.c style): a kernel per op over float*, shapes in comments,
 * row-major, every launcher named after the CPU op it reproduces and issued on
 * the context's stream. The engine never exits: a failing CUDA or cuBLAS call
 * records a sticky one-line error (file, line, call, reason) in the context,
 * read back with octic_device_status() (engine/device.h). */
#ifndef OCTIC_CUDA_INTERNAL_CUH
#define OCTIC_CUDA_INTERNAL_CUH

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "backend.h"
#include "device.h"
#include "error.h"
}

/* A float32 weight's bfloat16 copy, made on first use by a product. */
typedef struct {
    const float *src;
    size_t n;
    __nv_bfloat16 *bf16;
} cuda_bf16_weight;

/* One tuned cublasLt product: layouts, descriptor and the chosen algorithm
 * for a shape, alignment and precision. */
typedef struct cuda_lt_plan cuda_lt_plan;

typedef struct {
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    cublasLtHandle_t lt;
    void *lt_workspace; /* cublasLt's workspace */
    size_t lt_workspace_size;

    /* live device allocations: sizes for the memory figures and the weight cache */
    struct { void *p; size_t bytes; } *allocs;
    int n_allocs, cap_allocs;
    size_t live_bytes, peak_bytes;

    /* bfloat16 path: weights converted once, activations converted into one
     * growing buffer (one input's copy at a time) */
    cuda_bf16_weight *weights;
    int n_weights, cap_weights;
    __nv_bfloat16 *act;
    size_t act_n;

    /* device arrays of the operand pointers of the batched LinearD8 products */
    const void **ptrs;

    cuda_lt_plan *plans;
    int n_plans, cap_plans;

    /* the first failure, sticky */
    octic_status status;
    char error[512];
} cuda_context;

/* Records the first failure (file:line: what) and returns its status; the
 * engine turns it into octic_last_error() (engine/device.c), so kernels/
 * needs no engine symbol, only its headers. */
octic_status cuda_record(cuda_context *ctx, octic_status st, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define CUDA_CHECK(ctx, call)                                                                             \
    do {                                                                                                  \
        cudaError_t e_ = (call);                                                                          \
        if (e_ != cudaSuccess)                                                                            \
            cuda_record((ctx), OCTIC_ERR_UNSUPPORTED, __FILE__, __LINE__, "%s: %s", #call,                 \
                        cudaGetErrorString(e_));                                                          \
    } while (0)

#define CUBLAS_CHECK(ctx, call)                                                                           \
    do {                                                                                                  \
        cublasStatus_t s_ = (call);                                                                       \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                                  \
            cuda_record((ctx), OCTIC_ERR_UNSUPPORTED, __FILE__, __LINE__, "%s: %s", #call,                 \
                        cublasGetStatusString(s_));                                                       \
    } while (0)

/* cudaMalloc counted in the memory figures (NULL on failure), and its free. */
void *cuda_device_alloc(cuda_context *ctx, size_t bytes);
void cuda_device_free(cuda_context *ctx, void *p);

/* After a launch: a bad configuration shows here, a fault later. */
#define CUDA_LAUNCHED(ctx) CUDA_CHECK((ctx), cudaGetLastError())

static inline cuda_context *cuda_ctx(const octic_backend *be) { return (cuda_context *)be->context; }

static inline int cuda_blocks(size_t n, int threads) { return (int)((n + threads - 1) / threads); }

/* The op table's bfloat16 variant shares the context; this says which one runs. */
int cuda_is_bf16(const octic_backend *be);

/* gemm.cu */
void cuda_linear(const octic_backend *be, float *out, int ldo, const float *in, int ldi, const float *w,
                 const float *bias, int M, int N, int K);
void cuda_linear_d8(const octic_backend *be, float *out, const float *in, const float *const w[5],
                    const float *bias, int M, int ci, int co);
void cuda_gemm_release(cuda_context *ctx);
/* Drops cached bfloat16 weights inside [p, p + bytes) (freed or overwritten). */
void cuda_forget_weights(cuda_context *ctx, const void *p, size_t bytes);

/* norm.cu */
void cuda_layernorm(const octic_backend *be, float *out, const float *in, const float *w, const float *b, int rows,
                    int C, float eps);
void cuda_layernorm_d8(const octic_backend *be, float *out, const float *in, const float *scale,
                       const float *shift, int rows, int C, float eps);
void cuda_residual(const octic_backend *be, float *x, const float *y, const float *gamma, int rows, int C);
void cuda_residual_layernorm(const octic_backend *be, float *x, const float *y, const float *gamma, float *out,
                             const float *w, const float *b, int rows, int C, float eps);
void cuda_residual_layernorm_d8(const octic_backend *be, float *x, const float *y, const float *gamma, float *out,
                                const float *scale, const float *shift, int rows, int C, float eps);

/* pointwise.cu */
void cuda_gelu(const octic_backend *be, float *x, size_t n);
void cuda_gelu_d8(const octic_backend *be, float *x, int rows, int C);
void cuda_invariant(const octic_backend *be, float *out, const float *in, int rows, int C, octic_invop kind);

/* attention.cu */
void cuda_attention(const octic_backend *be, float *out, const float *qkv, const int32_t *qkv_cols,
                    const int32_t *out_cols, float *scratch, int B, int N, int H, int hd);
size_t cuda_attention_scratch(const octic_backend *be, int B, int N, int H, int hd);

/* layout.cu */
void cuda_im2col(const octic_backend *be, float *patches, const float *images, int B, int S, int p);
void cuda_permute_cols(const octic_backend *be, float *out, const float *in, int rows, int ncols, int ldi,
                       const int32_t *idx);
void cuda_add_rows(const octic_backend *be, float *x, const float *pos, int B, int T, int t0, int npos, int C);
void cuda_set_rows(const octic_backend *be, float *dst, const float *src, int B, int T, int t0, int nsrc, int C);
void cuda_get_rows(const octic_backend *be, float *dst, const float *src, int B, int T, int t0, int n, int C);

/* Device math shared by the kernels: the GELU, the isotypic <-> regular
 * butterflies and the invariant maps are engine/octic_math.h's own functions,
 * compiled for the device too. */
#include "octic_math.h"

#endif
