/* The BLAS and the CPU engine's threads.
 *
 * Debian's oneDNN (libdnnl2) runs its sgemm on GNU OpenMP, the runtime the
 * engine's own parallel loops use (gcc -fopenmp): one thread count,
 * omp_set_num_threads, governs both, and a product called inside one of our
 * parallel regions runs on its caller's thread instead of starting more.
 * OpenBLAS keeps its own pool, told with openblas_set_num_threads. */
#include "blas.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"
#include "octic-config.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#if OCTIC_BLAS_DNNL
#include <oneapi/dnnl/dnnl.h>
#else
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
#endif

/* The thread count chosen with octic_cpu_set_threads (0: not chosen, the
 * runtime's default of every core). Global, so that a forward pass on
 * another thread than the one that chose it uses it as well. */
static atomic_int chosen_threads;

static int core_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int octic_cpu_set_threads(int n) {
    if (n <= 0) n = core_count();
    atomic_store(&chosen_threads, n);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
#if OCTIC_BLAS_OPENBLAS
    openblas_set_num_threads(n);
#endif
    return n;
}

int octic_cpu_threads(void) {
    int n = atomic_load(&chosen_threads);
    if (n > 0) return n;
#ifdef _OPENMP
    /* not chosen: every core, or OMP_NUM_THREADS where the user set it */
    const char *env = getenv("OMP_NUM_THREADS");
    long v = env ? strtol(env, NULL, 10) : 0;
    return v > 0 && v < 4096 ? (int)v : core_count();
#else
    return 1;
#endif
}

/* Multiply-adds below which a product runs on one thread: waking the
 * others costs more than it saves (and far more on a busy machine). */
#define SGEMM_MIN_PARALLEL (1L << 21)

/* Applies the thread count for a product of `macs` multiply-adds on the
 * calling thread (OpenMP's count is per thread) before the BLAS reads it. */
static void apply_threads(double macs) {
#ifdef _OPENMP
    if (omp_in_parallel()) return;
    int n = macs < SGEMM_MIN_PARALLEL ? 1 : octic_cpu_threads();
    if (omp_get_max_threads() != n) omp_set_num_threads(n);
#else
    (void)macs;
#endif
}

void octic_sgemm(int trans_b, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    apply_threads((double)M * N * K);
#if OCTIC_BLAS_DNNL
    dnnl_sgemm('N', trans_b ? 'T' : 'N', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A,
                lda, B, ldb, beta, C, ldc);
#endif
}

const char *octic_blas_name(void) { return OCTIC_BLAS; }

int octic_blas_nests(void) {
#if OCTIC_BLAS_DNNL && defined(_OPENMP)
    return 1;
#else
    return 0;
#endif
}
