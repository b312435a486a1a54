/* The one matrix product the CPU engine needs, over whichever BLAS the build
 * linked (oneDNN's sgemm by default, OpenBLAS otherwise; see meson.build),
 * and the threads it runs on. */
#ifndef OCTIC_BLAS_H
#define OCTIC_BLAS_H

/* Row-major C[M,N] = A[M,K] @ B^T + beta * C, with B stored [N,K] (a weight
 * matrix as PyTorch stores it) when trans_b, else B[K,N]. Called inside a
 * parallel region of the CPU backend it runs on the calling thread only
 * (when octic_blas_nests()). */
void octic_sgemm(int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);

/* "dnnl" or "openblas". */
const char *octic_blas_name(void);

/* 1 when octic_sgemm may be called from several threads of an OpenMP
 * parallel region at once, each product then running on its caller's thread
 * (oneDNN on the same OpenMP runtime); 0 when the BLAS has its own thread
 * pool that would oversubscribe the cores (OpenBLAS). */
int octic_blas_nests(void);

#endif
