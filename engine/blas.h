/* The one matrix product the CPU engine needs, over whichever BLAS the build
 * linked (oneDNN's sgemm by default, OpenBLAS otherwise; see meson.build). */
#ifndef OCTIC_BLAS_H
#define OCTIC_BLAS_H

/* Row-major C[M,N] = A[M,K] @ B^T + beta * C, with B stored [N,K] (a weight
 * matrix as PyTorch stores it) when trans_b, else B[K,N]. */
void octic_sgemm(int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);

/* "dnnl" or "openblas". */
const char *octic_blas_name(void);

#endif
