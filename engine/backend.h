/* The engine's backend boundary: a small table of operations.
 *
 * The forward pass (forward.c) is written only in terms of these operations
 * on buffers the backend allocates. The CPU backend (cpu_backend.c) is the
 * readable reference every other backend (the CUDA one in kernels/) is tested
 * against, op by op. Pointers passed to ops are backend memory; shapes are in
 * the comments, row-major, `ld*` the row stride in floats. */
#ifndef OCTIC_BACKEND_H
#define OCTIC_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct octic_backend octic_backend;

typedef enum {
    OCTIC_INVOP_POWER_SPECTRUM = 1,
    OCTIC_INVOP_POLYNOMIAL,
    OCTIC_INVOP_THIRD_ORDER,
    OCTIC_INVOP_LINEAR,
} octic_invop;

struct octic_backend {
    const char *name;
    void *context;
    int host_memory; /* buffers are host memory: the engine may fill them directly */

    /* memory */
    float *(*alloc)(const octic_backend *be, size_t n);                 /* n floats, NULL on failure */
    void (*free)(const octic_backend *be, float *p);
    void (*upload)(const octic_backend *be, float *dst, const float *src, size_t n);
    void (*download)(const octic_backend *be, float *dst, const float *src, size_t n);
    void (*copy)(const octic_backend *be, float *dst, const float *src, size_t n); /* ranges may overlap (memmove) */

    /* out[M,N] (row stride ldo) = in[M,K] (row stride ldi) @ w[N,K]^T + bias[N] (bias may be NULL) */
    void (*linear)(const octic_backend *be, float *out, int ldo, const float *in, int ldi,
                   const float *w, const float *bias, int M, int N, int K);

    /* LinearD8 on iso5 rows: out[M, 8*co] (iso5) from in[M, 8*ci] (iso5): A1, A2, B1, B2 through
     * w[0..3] (co, ci) (bias (co) on A1, or NULL), each E row through w[4] (2co, 2ci) */
    void (*linear_d8)(const octic_backend *be, float *out, const float *in, const float *const w[5],
                      const float *bias, int M, int ci, int co);

    /* patches[B*n*n, 3*p*p] from images[B,3,S,S], n = S/p; column order (channel, ky, kx) as a conv weight */
    void (*im2col)(const octic_backend *be, float *patches, const float *images, int B, int S, int p);

    /* LayerNorm over the last dim: out[rows,C] = (in - mean) / sqrt(var + eps) * w + b */
    void (*layernorm)(const octic_backend *be, float *out, const float *in, const float *w,
                      const float *b, int rows, int C, float eps);

    /* LayerNormD8 over iso5 rows [rows, C]: per-irrep means (each E row separately), one shared
     * std = sqrt(2)/4 * sqrt(sum of the irreps' variances (E: mean of its two rows) + eps),
     * then out = normalized * scale + shift (scale, shift [C] already expanded to iso5). */
    void (*layernorm_d8)(const octic_backend *be, float *out, const float *in, const float *scale,
                         const float *shift, int rows, int C, float eps);

    /* exact (erf) GELU in place, x[n] */
    void (*gelu)(const octic_backend *be, float *x, size_t n);
    /* octic GELU in place on iso5 rows x[rows, C]: isotypic -> regular, GELU, -> isotypic */
    void (*gelu_d8)(const octic_backend *be, float *x, int rows, int C);

    /* softmax attention, scale hd^-1/2, per image b and head h: out_h = softmax(q_h k_h^T) v_h.
     * qkv rows [B*N, 3*H*hd], out rows [B*N, H*hd]. qkv_cols NULL: the standard layout
     * (3, H, hd); else q/k/v element t of head h (s = 0, 1, 2) is column qkv_cols[(s*H + h)*hd + t]
     * of a qkv row and lands in column out_cols[h*hd + t] of an out row (index memory from
     * upload_index). scratch: attention_scratch(B, N, H, hd) floats. */
    void (*attention)(const octic_backend *be, float *out, const float *qkv, const int32_t *qkv_cols,
                      const int32_t *out_cols, float *scratch, int B, int N, int H, int hd);
    size_t (*attention_scratch)(const octic_backend *be, int B, int N, int H, int hd);

    /* out[r, j] = in[r, idx[j]] for r < rows, j < ncols (in has row stride ldi); idx is host memory
     * of the backend's choosing: the backend receives it once through upload_index */
    void (*permute_cols)(const octic_backend *be, float *out, const float *in, int rows, int ncols,
                         int ldi, const int32_t *idx);
    int32_t *(*upload_index)(const octic_backend *be, const int32_t *idx, size_t n);
    void (*free_index)(const octic_backend *be, int32_t *idx);

    /* x[rows, C] += gamma[C] * y[rows, C] (gamma NULL: plain add) */
    void (*residual)(const octic_backend *be, float *x, const float *y, const float *gamma, int rows, int C);
    /* residual then layernorm in one pass: x += gamma * y, out = LayerNorm(x; w, b, eps) */
    void (*residual_layernorm)(const octic_backend *be, float *x, const float *y, const float *gamma,
                               float *out, const float *w, const float *b, int rows, int C, float eps);
    /* residual then layernorm_d8 in one pass: x += gamma * y, out = LayerNormD8(x; scale, shift, eps) */
    void (*residual_layernorm_d8)(const octic_backend *be, float *x, const float *y, const float *gamma,
                                  float *out, const float *scale, const float *shift, int rows, int C,
                                  float eps);

    /* Optional, NULL where a backend has none (the forward pass then leaves the biases to the
     * products): the ops that follow a dense product, with that product's bias[C] (may be NULL)
     * added first, so that the product (linear with bias NULL) does not write it into its output
     * and read it back. gelu_bias: x[rows, C] = GELU(x + bias); residual_bias: x += gamma * (y +
     * bias); residual_bias_layernorm: that, then out = LayerNorm(x; w, b, eps). */
    void (*gelu_bias)(const octic_backend *be, float *x, const float *bias, int rows, int C);
    /* linear_gelu: out[M, N] (row stride ldo) = GELU(in @ w^T + bias), the product and the GELU
     * after it in one op (an MLP's fc1), so that the backend may apply the GELU to parts of the
     * product while they are in its caches; the same values as linear then gelu_bias. */
    void (*linear_gelu)(const octic_backend *be, float *out, int ldo, const float *in, int ldi, const float *w,
                        const float *bias, int M, int N, int K);
    void (*residual_bias)(const octic_backend *be, float *x, const float *y, const float *bias,
                          const float *gamma, int rows, int C);
    void (*residual_bias_layernorm)(const octic_backend *be, float *x, const float *y, const float *bias,
                                    const float *gamma, float *out, const float *w, const float *b, int rows,
                                    int C, float eps);
    /* attention_bias: attention on the standard layout (no column maps) of qkv + bias[3*H*hd],
     * the bias added to q, k and v as they are read, so that the qkv product (linear with bias
     * NULL) does not write it into its output and read it back. scratch: attention_scratch. */
    void (*attention_bias)(const octic_backend *be, float *out, const float *qkv, const float *bias,
                           float *scratch, int B, int N, int H, int hd);
    /* x[b, t0 + n, :] += pos[n, :] for every b < B, n < npos; x is [B, T, C] */
    void (*add_rows)(const octic_backend *be, float *x, const float *pos, int B, int T, int t0,
                     int npos, int C);
    /* dst[b, t0 + i, :] = src[i, :] for b < B, i < nsrc (class and register tokens) */
    void (*set_rows)(const octic_backend *be, float *dst, const float *src, int B, int T, int t0,
                     int nsrc, int C);
    /* dst[b, i, :] = src[b, t0 + i, :] for i < n (slice tokens) */
    void (*get_rows)(const octic_backend *be, float *dst, const float *src, int B, int T, int t0,
                     int n, int C);

    /* invariant map on iso5 rows in[rows, C] -> out[rows, width] */
    void (*invariant)(const octic_backend *be, float *out, const float *in, int rows, int C, octic_invop kind);

    /* waits until every op issued so far has finished (for timing); NULL when ops are synchronous */
    void (*synchronize)(const octic_backend *be);

    /* Optional, NULL where not needed: called by the thread that runs a forward pass before its
     * first op and after its last (the fast CPU backend reads subnormal floats as zero and
     * flushes subnormal results on every thread meanwhile; see cpu_fast.c). cache is the model's
     * slot for what the backend keeps from pass to pass (NULL at first; the fast CPU backend
     * keeps weights packed for its products there), images the pass's batch. */
    void (*begin_pass)(const octic_backend *be, void **cache, int images);
    void (*end_pass)(const octic_backend *be);
    /* frees what begin_pass left in a model's cache slot (when the model is freed) */
    void (*free_cache)(const octic_backend *be, void *cache);
    /* bytes held in a model's cache slot */
    size_t (*cache_bytes)(const octic_backend *be, const void *cache);
};

/* The CPU backend (always available): the fast one, threaded, with AVX-512
 * kernels where the processor has them. */
const octic_backend *octic_cpu_backend(void);
/* The readable CPU reference of every op: plain loops, one thread (besides
 * the BLAS's). The fast backend and any other backend are tested against it
 * op by op. */
const octic_backend *octic_cpu_reference_backend(void);

/* Threads of the CPU backend and of its BLAS. n > 0: use n; 0: every core
 * (the default). Returns the number now in use. */
int octic_cpu_set_threads(int n);
int octic_cpu_threads(void);

/* How the CPU backend's attention runs (tests, benchmarks): 1 in tiles on
 * its own kernels, 0 through per-head BLAS products, -1 (default) in tiles
 * where the head width is a multiple of 16, else through the BLAS. */
void octic_cpu_set_attention_tiles(int mode);

/* When the CPU backend keeps a model's weights packed for its dense products
 * (oneDNN's layout, built in the pass that first needs them and kept with the
 * model: ~1.1 times those weights' memory, for products 5-11% faster).
 * -1 (default): in passes of 2 images or more, for weights of 64K floats or
 * more (weight shares: a thread's columns), while the packs take at most half
 * the memory available at the model's first pass; a pass of one image (the
 * studio's inspector, a ViT-H at batch 1) adds none, but uses those already
 * made. 0: never. 1: every dense product of every pass (tests). */
void octic_cpu_set_prepack(int mode);
/* The most one model's packs may take, in bytes, for models whose first pass
 * runs after the call (0, the default: half the memory available then). */
void octic_cpu_set_prepack_limit(size_t bytes);

/* Tests: 1 runs the CPU backend's portable kernels even where the processor
 * has AVX-512 (so that both are checked on one machine), 0 chooses again. */
void octic_cpu_set_portable(int on);

#endif
