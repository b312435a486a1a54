#include "blas.h"

#include "octic-config.h"

#if OCTIC_BLAS_DNNL
#include <oneapi/dnnl/dnnl.h>
#else
#include <cblas.h>
#endif

void octic_sgemm(int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
#if OCTIC_BLAS_DNNL
    dnnl_sgemm('N', trans_b ? 'T' : 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A,
                lda, B, ldb, beta, C, ldc);
#endif
}

const char *octic_blas_name(void) { return OCTIC_BLAS; }
