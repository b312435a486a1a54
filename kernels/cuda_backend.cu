/* The CUDA + cuBLAS backend: the op table of engine/backend.h on one GPU.
 *
 * One context per process (device 0 of those visible, one stream, a cuBLAS
 * and a cublasLt handle), shared by two op tables: float32 (every op as the
 * CPU reference computes it) and bfloat16 (products and attention on tensor
 * cores with float32 accumulation; every other op still float32). Buffers are
 * device memory; the engine uploads the weights once and keeps one arena of
 * activations per batch shape (engine/forward.c). Ops are queued on the
 * stream; downloads wait for them. Use from one thread at a time. */
#include <mutex>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_internal.cuh"

octic_status cuda_record(cuda_context *ctx, octic_status st, const char *file, int line, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *base = strrchr(file, '/');
    if (ctx && ctx->status == OCTIC_OK) {
        ctx->status = st;
        snprintf(ctx->error, sizeof ctx->error, "CUDA backend: %s:%d: %s", base ? base + 1 : file, line, msg);
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */

static void track_alloc(cuda_context *ctx, void *p, size_t bytes) {
    if (ctx->n_allocs == ctx->cap_allocs) {
        int cap = ctx->cap_allocs ? 2 * ctx->cap_allocs : 64;
        void *grown = realloc(ctx->allocs, (size_t)cap * sizeof *ctx->allocs);
        if (!grown) return; /* only the figures suffer */
        ctx->allocs = (decltype(ctx->allocs))grown;
        ctx->cap_allocs = cap;
    }
    ctx->allocs[ctx->n_allocs].p = p;
    ctx->allocs[ctx->n_allocs].bytes = bytes;
    ctx->n_allocs++;
    ctx->live_bytes += bytes;
    if (ctx->live_bytes > ctx->peak_bytes) ctx->peak_bytes = ctx->live_bytes;
}

/* Forgets p; returns its size (0 when unknown). */
static size_t untrack_alloc(cuda_context *ctx, const void *p) {
    for (int i = 0; i < ctx->n_allocs; i++)
        if (ctx->allocs[i].p == p) {
            size_t bytes = ctx->allocs[i].bytes;
            ctx->allocs[i] = ctx->allocs[--ctx->n_allocs];
            ctx->live_bytes -= bytes;
            return bytes;
        }
    return 0;
}

/* cudaMalloc of bytes, counted in the memory figures; NULL on failure. */
void *cuda_device_alloc(cuda_context *ctx, size_t bytes) {
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError(); /* an allocation failure is reported by the caller, not sticky */
        return NULL;
    }
    track_alloc(ctx, p, bytes ? bytes : 1);
    return p;
}

void cuda_device_free(cuda_context *ctx, void *p) {
    if (!p) return;
    size_t bytes = untrack_alloc(ctx, p);
    cuda_forget_weights(ctx, p, bytes);
    CUDA_CHECK(ctx, cudaFree(p));
}

static float *cuda_alloc(const octic_backend *be, size_t n) {
    return (float *)cuda_device_alloc(cuda_ctx(be), n * sizeof(float));
}

static void cuda_free(const octic_backend *be, float *p) { cuda_device_free(cuda_ctx(be), p); }

static void cuda_upload(const octic_backend *be, float *dst, const float *src, size_t n) {
    cuda_context *ctx = cuda_ctx(be);
    if (!n) return;
    cuda_forget_weights(ctx, dst, n * sizeof(float));
    /* from pageable memory: returns once src has been staged */
    CUDA_CHECK(ctx, cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyHostToDevice, ctx->stream));
}

static void cuda_download(const octic_backend *be, float *dst, const float *src, size_t n) {
    cuda_context *ctx = cuda_ctx(be);
    if (!n) return;
    CUDA_CHECK(ctx, cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, ctx->stream));
    CUDA_CHECK(ctx, cudaStreamSynchronize(ctx->stream));
}

static void cuda_copy(const octic_backend *be, float *dst, const float *src, size_t n) {
    cuda_context *ctx = cuda_ctx(be);
    if (!n || dst == src) return;
    cuda_forget_weights(ctx, dst, n * sizeof(float));
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src, bytes = n * sizeof(float);
    if (d < s + bytes && s < d + bytes) { /* overlapping: memmove in the reference, undefined for cudaMemcpy */
        float *tmp = (float *)cuda_device_alloc(ctx, bytes);
        if (!tmp) {
            cuda_record(ctx, OCTIC_ERR_NOMEM, __FILE__, __LINE__, "out of device memory for a copy of %zu floats", n);
            return;
        }
        CUDA_CHECK(ctx, cudaMemcpyAsync(tmp, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
        CUDA_CHECK(ctx, cudaMemcpyAsync(dst, tmp, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
        cuda_device_free(ctx, tmp);
        return;
    }
    CUDA_CHECK(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx->stream));
}

static int32_t *cuda_upload_index(const octic_backend *be, const int32_t *idx, size_t n) {
    cuda_context *ctx = cuda_ctx(be);
    int32_t *p = (int32_t *)cuda_device_alloc(ctx, (n ? n : 1) * sizeof(int32_t));
    /* on the context's stream, which does not wait for the legacy stream a
     * cudaMemcpy runs on (its DMA may still run when it returns); from
     * pageable memory this returns once idx has been staged */
    if (p && n)
        CUDA_CHECK(ctx, cudaMemcpyAsync(p, idx, n * sizeof(int32_t), cudaMemcpyHostToDevice, ctx->stream));
    return p;
}

static void cuda_free_index(const octic_backend *be, int32_t *idx) { cuda_device_free(cuda_ctx(be), idx); }

static void cuda_synchronize(const octic_backend *be) {
    cuda_context *ctx = cuda_ctx(be);
    CUDA_CHECK(ctx, cudaStreamSynchronize(ctx->stream));
}

/* ------------------------------------------------------------------------ */
/* The context and the two op tables                                         */

static cuda_context the_context;

#define CUDA_OPS                                          \
    .context = &the_context, .host_memory = 0,            \
    .alloc = cuda_alloc, .free = cuda_free,               \
    .upload = cuda_upload, .download = cuda_download,     \
    .copy = cuda_copy, .linear = cuda_linear,             \
    .linear_d8 = cuda_linear_d8, .im2col = cuda_im2col,   \
    .layernorm = cuda_layernorm,                          \
    .layernorm_d8 = cuda_layernorm_d8,                    \
    .gelu = cuda_gelu, .gelu_d8 = cuda_gelu_d8,           \
    .attention = cuda_attention,                          \
    .attention_scratch = cuda_attention_scratch,          \
    .permute_cols = cuda_permute_cols,                    \
    .upload_index = cuda_upload_index,                    \
    .free_index = cuda_free_index,                        \
    .residual = cuda_residual,                            \
    .residual_layernorm = cuda_residual_layernorm,        \
    .residual_layernorm_d8 = cuda_residual_layernorm_d8,  \
    .add_rows = cuda_add_rows, .set_rows = cuda_set_rows, \
    .get_rows = cuda_get_rows,                            \
    .invariant = cuda_invariant,                          \
    .synchronize = cuda_synchronize

static const octic_backend cuda_f32_backend = {.name = "cuda", CUDA_OPS};
static const octic_backend cuda_bf16_backend = {.name = "cuda-bf16", CUDA_OPS};

int cuda_is_bf16(const octic_backend *be) { return be == &cuda_bf16_backend; }

__global__ void probe_kernel(int *x) {
    if (x) *x = 1;
}

static std::once_flag init_once;
static char init_error[256];
static int init_ok;

static void cuda_init(void) {
    cuda_context *ctx = &the_context;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        snprintf(init_error, sizeof init_error, "no GPU or no CUDA driver (%s)", cudaGetErrorString(e));
        cudaGetLastError();
        return;
    }
    if (n == 0) {
        snprintf(init_error, sizeof init_error, "no CUDA GPU found");
        return;
    }
    ctx->device = 0;
    cudaDeviceProp prop;
    if ((e = cudaSetDevice(0)) != cudaSuccess || (e = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess) {
        snprintf(init_error, sizeof init_error, "CUDA device 0 cannot be opened (%s)", cudaGetErrorString(e));
        cudaGetLastError();
        return;
    }
    if (prop.major < 8) {
        snprintf(init_error, sizeof init_error, "%s (compute capability %d.%d): the kernels need 8.0 or newer",
                 prop.name, prop.major, prop.minor);
        return;
    }
    /* the kernels run here only if this build holds code the driver can load */
    probe_kernel<<<1, 1>>>(NULL);
    if ((e = cudaGetLastError()) != cudaSuccess || (e = cudaDeviceSynchronize()) != cudaSuccess) {
        snprintf(init_error, sizeof init_error, "%s: the kernels cannot run (%s)", prop.name, cudaGetErrorString(e));
        cudaGetLastError();
        return;
    }
    if ((e = cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking)) != cudaSuccess) {
        snprintf(init_error, sizeof init_error, "cannot create a CUDA stream (%s)", cudaGetErrorString(e));
        return;
    }
    cublasStatus_t s;
    if ((s = cublasCreate(&ctx->blas)) != CUBLAS_STATUS_SUCCESS || (s = cublasLtCreate(&ctx->lt)) != CUBLAS_STATUS_SUCCESS) {
        snprintf(init_error, sizeof init_error, "cuBLAS cannot start (%s)", cublasGetStatusString(s));
        return;
    }
    cublasSetStream(ctx->blas, ctx->stream);
    /* float32 products stay float32 (no TF32): the CPU reference's precision */
    cublasSetMathMode(ctx->blas, CUBLAS_DEFAULT_MATH);
    ctx->lt_workspace_size = (size_t)32 << 20;
    ctx->lt_workspace = cuda_device_alloc(ctx, ctx->lt_workspace_size);
    ctx->ptrs = (const void **)cuda_device_alloc(ctx, 16 * sizeof(void *));
    if (!ctx->lt_workspace || !ctx->ptrs) {
        snprintf(init_error, sizeof init_error, "out of device memory starting the CUDA backend");
        return;
    }
    init_ok = 1;
}

static const octic_backend *cuda_get(const octic_backend *table, char *err, size_t errlen) {
    std::call_once(init_once, cuda_init);
    if (!init_ok) {
        if (err && errlen) snprintf(err, errlen, "%s", init_error);
        return NULL;
    }
    if (err && errlen) err[0] = 0;
    return table;
}

extern "C" const octic_backend *octic_cuda_backend(char *err, size_t errlen) {
    return cuda_get(&cuda_f32_backend, err, errlen);
}

extern "C" const octic_backend *octic_cuda_backend_bf16(char *err, size_t errlen) {
    return cuda_get(&cuda_bf16_backend, err, errlen);
}

extern "C" int octic_cuda_owns(const octic_backend *be) {
    return be == &cuda_f32_backend || be == &cuda_bf16_backend;
}

extern "C" size_t octic_cuda_peak_bytes(const octic_backend *be) {
    return octic_cuda_owns(be) ? cuda_ctx(be)->peak_bytes : 0;
}

extern "C" void octic_cuda_reset_peak(const octic_backend *be) {
    if (octic_cuda_owns(be)) cuda_ctx(be)->peak_bytes = cuda_ctx(be)->live_bytes;
}

extern "C" octic_status octic_cuda_status(const octic_backend *be, char *msg, size_t len) {
    if (len) msg[0] = 0;
    if (!octic_cuda_owns(be)) return OCTIC_OK;
    cuda_context *ctx = cuda_ctx(be);
    CUDA_CHECK(ctx, cudaStreamSynchronize(ctx->stream));
    if (ctx->status != OCTIC_OK && len) snprintf(msg, len, "%s", ctx->error);
    return ctx->status;
}
