/* The one matrix product the CPU engine needs, over whichever BLAS the build
 * linked (oneDNN's sgemm by default, OpenBLAS otherwise; see meson.build),
 * and the threads it runs on. */
#ifndef OCTIC_BLAS_H
#define OCTIC_BLAS_H

#include <stddef.h>

/* Row-major C[M,N] = A[M,K] @ B^T + beta * C, with B stored [N,K] (a weight
 * matrix as PyTorch stores it) when trans_b, else B[K,N]. Called inside a
 * parallel region of the CPU backend it runs on the calling thread only
 * (when octic_blas_nests()). */
void octic_sgemm(int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);

/* Products on a weight packed ahead, in oneDNN's own layout: the weight's
 * share of the per-call packing that octic_sgemm does is paid once instead of
 * at every product (5-11% of a product's time at the 788 rows of a ViT-L
 * batch of 4). Where the BLAS has no such product (OpenBLAS, or a oneDNN
 * without it, or one whose result failed the check at first use),
 * octic_sgemm_pack_bytes returns 0 and the other two must not be called.
 * Pack and product both run on the calling thread alone. */

/* 1 when the products on packed weights below are available. */
int octic_sgemm_can_pack(void);
/* Bytes of the packed form of w[N, K] (a little more than N*K floats), 0
 * where unavailable. */
size_t octic_sgemm_pack_bytes(int N, int K);
/* packed <- w[N, K] (row-major, stored as octic_sgemm's B with trans_b);
 * packed holds octic_sgemm_pack_bytes(N, K) bytes, 64-byte aligned. 0 on
 * success. */
int octic_sgemm_pack(float *packed, const float *w, int N, int K);
/* Row-major C[M,N] = A[M,K] @ w^T + beta * C with w as packed above. */
void octic_sgemm_packed(int M, int N, int K, const float *A, int lda, const float *packed, float beta, float *C,
                        int ldc);

/* "dnnl" or "openblas". */
const char *octic_blas_name(void);

/* 1 when octic_sgemm may be called from several threads of an OpenMP
 * parallel region at once, each product then running on its caller's thread
 * (oneDNN on the same OpenMP runtime); 0 when the BLAS has its own thread
 * pool that would oversubscribe the cores (OpenBLAS). */
int octic_blas_nests(void);

#endif
