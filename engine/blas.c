/* The BLAS and the CPU engine's threads.
 *
 * Debian's oneDNN (libdnnl2) runs its sgemm on GNU OpenMP, the runtime the
 * engine's own parallel loops use (gcc -fopenmp): one thread count,
 * omp_set_num_threads, governs both, and a product called inside one of our
 * parallel regions runs on its caller's thread instead of starting more.
 * OpenBLAS keeps its own pool, told with openblas_set_num_threads. */
#include "blas.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"
#include "octic-config.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#if OCTIC_BLAS_DNNL
#include <dlfcn.h>
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

/* oneDNN's packed sgemm: the API its recurrent primitives use, in the
 * manner of MKL's cblas_sgemm_pack and _compute. libdnnl exports it but its
 * public headers do not declare it, so it is looked up by its C++ name, which
 * spells out every parameter type: a oneDNN whose functions differ is not
 * found rather than called wrongly. The packed layout depends on the number
 * of threads inside the call, so both calls run with the caller's OpenMP
 * count set to 1 (inside one of our parallel regions oneDNN would run on the
 * caller anyway, but not inside a region of one thread). */
#if OCTIC_BLAS_DNNL
typedef long dnnl_dim; /* dnnl_dim_t */
typedef dnnl_status_t (*pack_size_fn)(const char *id, const char *ta, const char *tb, const dnnl_dim *M,
                                      const dnnl_dim *N, const dnnl_dim *K, const dnnl_dim *lda,
                                      const dnnl_dim *ldb, size_t *size, _Bool *worth);
typedef dnnl_status_t (*pack_fn)(const char *id, const char *ta, const char *tb, const dnnl_dim *M,
                                 const dnnl_dim *N, const dnnl_dim *K, const dnnl_dim *lda, const dnnl_dim *ldb,
                                 const float *src, float *dst);
typedef dnnl_status_t (*compute_fn)(const char *ta, const char *tb, const dnnl_dim *M, const dnnl_dim *N,
                                    const dnnl_dim *K, const float *A, const dnnl_dim *lda, const float *B,
                                    const dnnl_dim *ldb, const float *beta, float *C, const dnnl_dim *ldc);
static pack_size_fn dnnl_pack_size;
static pack_fn dnnl_pack;
static compute_fn dnnl_compute;
static pthread_once_t packed_once = PTHREAD_ONCE_INIT;
static int packed_ok;

/* The product's row count, which oneDNN's packing asks for. It does not
 * change the packed layout: products of 1 to 3000 rows on a weight packed
 * for 512 match octic_sgemm. (Packing for 2 rows crashes oneDNN 2.6.3.) */
#define PACK_ROWS 512

/* In oneDNN's column-major terms the weight is A (transposed), the
 * activations B and the output C transposed. */
/* The caller's OpenMP thread count, set to 1 until one_thread_end. */
static int one_thread_begin(void) {
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    return saved;
#else
    return 1;
#endif
}

static void one_thread_end(int saved) {
#ifdef _OPENMP
    omp_set_num_threads(saved);
#else
    (void)saved;
#endif
}

static int pack_weight(float *packed, size_t *bytes, const float *w, int N, int K) {
    dnnl_dim n = N, m = PACK_ROWS, k = K, ld = K;
    int saved = one_thread_begin();
    size_t size = 0;
    _Bool worth = 0;
    int bad = dnnl_pack_size("A", "T", "N", &n, &m, &k, &ld, &ld, &size, &worth) != dnnl_success;
    if (bytes) *bytes = bad ? 0 : size;
    if (!bad && packed) bad = dnnl_pack("A", "T", "N", &n, &m, &k, &ld, &ld, w, packed) != dnnl_success;
    one_thread_end(saved);
    return bad;
}

static void product_packed(int M, int N, int K, const float *A, int lda, const float *packed, float beta, float *C,
                           int ldc) {
    dnnl_dim n = N, m = M, k = K, ldw = K, ldx = lda, ldo = ldc;
    int saved = one_thread_begin();
    dnnl_compute("P", "N", &n, &m, &k, packed, &ldw, A, &ldx, &beta, C, &ldo);
    one_thread_end(saved);
}

/* Finds the three functions and checks them once on a product with odd
 * sizes and strides against dnnl_sgemm. */
static void packed_find(void) {
    /* dnnl::impl::cpu::sgemm_pack_get_size, sgemm_pack and sgemm_compute */
    dnnl_pack_size =
        (pack_size_fn)dlsym(RTLD_DEFAULT, "_ZN4dnnl4impl3cpu19sgemm_pack_get_sizeEPKcS3_S3_PKlS5_S5_S5_S5_PmPb");
    dnnl_pack = (pack_fn)dlsym(RTLD_DEFAULT, "_ZN4dnnl4impl3cpu10sgemm_packEPKcS3_S3_PKlS5_S5_S5_S5_PKfPf");
    dnnl_compute =
        (compute_fn)dlsym(RTLD_DEFAULT, "_ZN4dnnl4impl3cpu13sgemm_computeEPKcS3_PKlS5_S5_PKfS5_S7_S5_S7_PfS5_");
    if (!dnnl_pack_size || !dnnl_pack || !dnnl_compute) return;
    enum { N = 80, K = 48, M = 37, LDA = K + 3, LDC = N + 5 };
    size_t bytes = 0;
    if (pack_weight(NULL, &bytes, NULL, N, K) || bytes < sizeof(float) * N * K || bytes > ((size_t)64 << 20)) return;
    float *w = malloc(sizeof(float) * N * K), *a = malloc(sizeof(float) * M * LDA);
    float *c1 = malloc(sizeof(float) * M * LDC), *c2 = malloc(sizeof(float) * M * LDC);
    float *packed = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
    if (w && a && c1 && c2 && packed) {
        for (int i = 0; i < N * K; i++) w[i] = (float)((i * 37 % 101) - 50) / 64.0f;
        for (int i = 0; i < M * LDA; i++) a[i] = (float)((i * 53 % 89) - 44) / 32.0f;
        for (int i = 0; i < M * LDC; i++) c1[i] = c2[i] = (float)(i % 7);
        if (!pack_weight(packed, NULL, w, N, K)) {
            dnnl_sgemm('N', 'T', M, N, K, 1.0f, a, LDA, w, K, 1.0f, c1, LDC);
            product_packed(M, N, K, a, LDA, packed, 1.0f, c2, LDC);
            int same = 1; /* sums of 48 products of size < 1.6; a NaN fails */
            for (int i = 0; i < M * LDC; i++) same &= fabsf(c1[i] - c2[i]) <= 1e-3f;
            packed_ok = same;
        }
    }
    free(w), free(a), free(c1), free(c2), free(packed);
}
#endif

int octic_sgemm_can_pack(void) {
#if OCTIC_BLAS_DNNL
    pthread_once(&packed_once, packed_find);
    return packed_ok;
#else
    return 0;
#endif
}

size_t octic_sgemm_pack_bytes(int N, int K) {
#if OCTIC_BLAS_DNNL
    pthread_once(&packed_once, packed_find);
    size_t bytes = 0;
    if (!packed_ok || N <= 0 || K <= 0 || pack_weight(NULL, &bytes, NULL, N, K)) return 0;
    return bytes;
#else
    (void)N, (void)K;
    return 0;
#endif
}

int octic_sgemm_pack(float *packed, const float *w, int N, int K) {
#if OCTIC_BLAS_DNNL
    return !packed_ok || pack_weight(packed, NULL, w, N, K);
#else
    (void)packed, (void)w, (void)N, (void)K;
    return 1;
#endif
}

void octic_sgemm_packed(int M, int N, int K, const float *A, int lda, const float *packed, float beta, float *C,
                        int ldc) {
    if (M <= 0 || N <= 0) return;
#if OCTIC_BLAS_DNNL
    product_packed(M, N, K, A, lda, packed, beta, C, ldc);
#else
    (void)K, (void)A, (void)lda, (void)packed, (void)beta, (void)C, (void)ldc;
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
