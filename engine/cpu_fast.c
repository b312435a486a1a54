/* The fast CPU backend: the ops of backend.h with the math of the reference
 * (cpu_backend.c) up to float rounding, made fast.
 *
 * - Threads: every op cuts its rows (attention: its heads; a LinearD8: its
 *   six products) into shares the engine's threads take in turn, so that a
 *   core slowed by a neighbour takes fewer; dense products give each thread
 *   one share of the output columns (one BLAS call each). OpenMP is the
 *   runtime oneDNN's sgemm runs on, so the two never oversubscribe the cores
 *   (see blas.c).
 * - Vectors: the hot loops are written on 16-float vectors (GCC vector
 *   extensions) and compiled twice, for AVX-512 and for the portable
 *   baseline, the processor choosing at run time (target_clones).
 * - Fusion: a LayerNorm and the residual add before it, the octic GELU's
 *   change of basis, GELU and change back, the softmax's scale, exponential,
 *   sum and normalization each run as one pass over rows that stay in cache.
 * - exp and erf are polynomials (relative error below 2e-7) instead of libm's
 *   calls; means and variances accumulate in float vectors instead of double.
 * - Products: dense ones through the BLAS (oneDNN's sgemm), a share of the
 *   output columns per thread, on weights packed once in oneDNN's layout and
 *   kept with the model (in batches; see "Weights packed ahead"); the
 *   narrowest ones of a LinearD8 (the four one-dimensional irreps, 1/8 of the
 *   width in and out) on a register-tiled kernel of our own, which runs them
 *   faster than the BLAS does.
 *
 * Each op is checked against the reference op by op (tests/test_ops.c). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "blas.h"
#include "octic_math.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* fused multiply-adds in the vector code (ISO C mode contracts nothing) */
#pragma GCC optimize("fp-contract=fast")

#define INLINE static inline __attribute__((always_inline))

/* ------------------------------------------------------------------------ */
/* 16-float vectors                                                          */

#define VL 16
typedef float vf __attribute__((vector_size(VL * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VL * sizeof(int32_t))));

INLINE vf vload(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
INLINE void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }
INLINE vf vsel(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }
INLINE vf vmax(vf a, vf b) { return vsel(a > b, a, b); }
INLINE vf vmin(vf a, vf b) { return vsel(a < b, a, b); }
INLINE vf vabs(vf a) { return (vf)((vi)a & 0x7fffffff); }
INLINE float vsum(vf v) {
    float s = 0.0f;
    for (int i = 0; i < VL; i++) s += v[i];
    return s;
}
INLINE float vmaxlane(vf v) {
    float m = v[0];
    for (int i = 1; i < VL; i++) m = v[i] > m ? v[i] : m;
    return m;
}
/* the first n < VL floats of p, the rest `fill` */
INLINE vf vload_part(const float *p, int n, float fill) {
    vf v;
    for (int i = 0; i < VL; i++) v[i] = i < n ? p[i] : fill;
    return v;
}
INLINE void vstore_part(float *p, vf v, int n) {
    for (int i = 0; i < n; i++) p[i] = v[i];
}

/* The isotypic <-> regular butterflies of octic_math.h on vectors. */
OCTIC_DEFINE_BUTTERFLIES(INLINE, vf, vto_regular, vto_isotypic)

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */

static int thread_count(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* ------------------------------------------------------------------------ */
/* Subnormal floats as zero while a forward pass runs                        */

/* On x86 a subnormal operand or result costs a microcode assist each (100+
 * cycles): a weight with every tenth value subnormal made oneDNN's sgemm 65
 * times slower. During a forward pass every thread of the backend reads
 * subnormals as zero and flushes results that would be subnormal (MXCSR's DAZ
 * and FTZ, as inference engines do); a value so changed is below 1.2e-38 in
 * size. Each thread gives its own mode back at the end (passes may nest). */
#if defined(__SSE__)
#include <xmmintrin.h>
#define FP_FLUSH 0x8040u /* FTZ (bit 15) and DAZ (bit 6) */
static _Thread_local unsigned fp_saved;
static _Thread_local int fp_depth;
static void fp_flush_on(void) {
    unsigned c = _mm_getcsr();
    if (fp_depth++ == 0) fp_saved = c & FP_FLUSH;
    _mm_setcsr(c | FP_FLUSH);
}
static void fp_flush_off(void) {
    if (fp_depth > 0 && --fp_depth == 0) _mm_setcsr((_mm_getcsr() & ~FP_FLUSH) | fp_saved);
}
#else
static void fp_flush_on(void) {}
static void fp_flush_off(void) {}
#endif

/* Runs f on the calling thread and on the other threads of its team (the
 * caller is the team's first thread: once each). A pass's team starts its
 * threads before any has changed its mode, so each keeps its own to give back. */
static void on_each_thread(void (*f)(void)) {
#ifdef _OPENMP
    int nt = octic_cpu_threads();
    if (nt > 1) {
#pragma omp parallel num_threads(nt)
        f();
        return;
    }
#endif
    f();
}

/* ------------------------------------------------------------------------ */
/* Weights packed ahead for the dense products                               */

/* oneDNN's sgemm packs both operands into its own layout at every call. For
 * the weight that costs 5-11% of a product at the 788 rows of a ViT-L batch
 * of 4, paid again at every product. The fast backend instead packs each
 * weight share once, in the first pass that needs it, and keeps the packs in
 * the model's cache slot (begin_pass) until the model is freed: ~1.1 times
 * the weights' memory (octic_cpu_set_prepack says when). An entry is the
 * share of a weight that one product reads: a thread's column share of a
 * dense weight (so the shares depend on the thread count: a pass on another
 * count drops them first), or the whole E weight of a LinearD8. The four
 * one-dimensional irreps' weights of a LinearD8 are kept the same way in the
 * panels of the narrow product kernel (pack_panels, as much memory as the
 * weight), which it would otherwise make at every product (3.5-5% of a
 * LinearD8 at ViT-L widths and 788 rows). */
typedef enum { PACK_SGEMM, PACK_PANELS } pack_kind;

typedef struct {
    const float *w; /* the share's first weight row */
    int n, k;       /* rows (output columns) and columns of the share */
    pack_kind kind;
    float *packed;  /* NULL: no room left to pack it */
} packed_weight;

typedef struct {
    pthread_mutex_t lock;
    packed_weight *e;
    int count, cap;
    size_t bytes, limit; /* held, and the most they may take */
    int threads;         /* the thread count the column shares were cut for */
} pack_cache;

#define PACK_MIN_FLOATS 65536 /* smaller weights (auto mode) are not worth the memory */

static atomic_int prepack_mode = -1;

void octic_cpu_set_prepack(int mode) { atomic_store(&prepack_mode, mode < 0 ? -1 : mode > 0); }

/* Half of the memory available now (MemAvailable; free pages elsewhere). */
static size_t pack_limit(void) {
    size_t avail = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[128];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) avail = (size_t)kb * 1024;
        fclose(f);
    }
    if (!avail) {
        long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        if (pages > 0 && size > 0) avail = (size_t)pages * (size_t)size;
    }
    return avail / 2;
}

static void pack_cache_clear(pack_cache *pc) {
    for (int i = 0; i < pc->count; i++) free(pc->e[i].packed);
    pc->count = 0;
    pc->bytes = 0;
}

static void fast_free_cache(const octic_backend *be, void *cache) {
    (void)be;
    pack_cache *pc = cache;
    if (!pc) return;
    pack_cache_clear(pc);
    free(pc->e);
    pthread_mutex_destroy(&pc->lock);
    free(pc);
}

static size_t fast_cache_bytes(const octic_backend *be, const void *cache) {
    (void)be;
    pack_cache *pc = (pack_cache *)cache;
    if (!pc) return 0;
    pthread_mutex_lock(&pc->lock);
    size_t bytes = pc->bytes;
    pthread_mutex_unlock(&pc->lock);
    return bytes;
}

/* The running pass on this thread: its model's packs, and whether it may add
 * some. A pass run inside another (from a hook) uses none, so that it never
 * files its model's weights in another model's packs. */
typedef struct {
    pack_cache *packs; /* NULL: the products pack per call */
    int makes;         /* 1: may pack weights not packed yet */
    int any_size;      /* 1: small weights too (octic_cpu_set_prepack(1)) */
} pass_state;
static _Thread_local pass_state pass, pass_outer;
static _Thread_local int pass_depth;
static size_t prepack_limit; /* octic_cpu_set_prepack_limit; 0: pack_limit() */

void octic_cpu_set_prepack_limit(size_t bytes) { prepack_limit = bytes; }

/* The pass's state from the model's cache slot (made at its first pass).
 * A model runs one pass at a time, so no other pass uses its packs now. */
static pass_state pass_begin(void **slot, int images) {
    pass_state st = {0};
    int mode = atomic_load(&prepack_mode);
    if (!slot || mode == 0 || !octic_blas_nests() || !octic_sgemm_can_pack()) return st;
    pack_cache *pc = *slot;
    if (!pc) {
        if (!(pc = calloc(1, sizeof *pc)) || pthread_mutex_init(&pc->lock, NULL)) {
            free(pc);
            return st;
        }
        pc->limit = prepack_limit ? prepack_limit : pack_limit();
        *slot = pc;
    }
    int threads = octic_cpu_threads();
    if (pc->threads != threads) { /* the column shares change with the thread count */
        pack_cache_clear(pc);
        pc->threads = threads;
    }
    st.packs = pc;
    st.makes = mode == 1 || images >= 2;
    st.any_size = mode == 1;
    return st;
}

static packed_weight *grow_entries(packed_weight *e, int *cap) {
    int n = *cap ? 2 * *cap : 64;
    packed_weight *g = realloc(e, (size_t)n * sizeof *g);
    if (g) *cap = n;
    return g;
}

/* The entry of the share w[n, k] packed as kind, or NULL; under pc->lock. */
static packed_weight *entry_locked(const pack_cache *pc, const float *w, int n, int k, pack_kind kind) {
    for (int i = 0; i < pc->count; i++)
        if (pc->e[i].w == w && pc->e[i].n == n && pc->e[i].k == k && pc->e[i].kind == kind) return &pc->e[i];
    return NULL;
}

static void pack_panels(float *wp, const float *w, int N, int Kd);

/* The packed form of the weight share w[n, k] in the pass st: found, or
 * packed now by the calling thread where the pass may; NULL: none (the
 * product packs it itself). The panels of a narrow product take any size:
 * they cost no more memory than the weight. */
static const float *packed_weight_for(const pass_state *st, const float *w, int n, int k, pack_kind kind) {
    pack_cache *pc = st->packs;
    if (!pc) return NULL;
    pthread_mutex_lock(&pc->lock);
    packed_weight *found = entry_locked(pc, w, n, k, kind);
    const float *p = found ? found->packed : NULL;
    pthread_mutex_unlock(&pc->lock);
    if (found || !st->makes || (kind == PACK_SGEMM && !st->any_size && (long)n * k < PACK_MIN_FLOATS)) return p;

    size_t bytes = kind == PACK_SGEMM ? octic_sgemm_pack_bytes(n, k) : (size_t)n * k * sizeof(float);
    size_t alloc = (bytes + 63) & ~(size_t)63;
    pthread_mutex_lock(&pc->lock);
    int room = bytes && pc->bytes + alloc <= pc->limit;
    if (room) pc->bytes += alloc; /* reserved while packing */
    pthread_mutex_unlock(&pc->lock);
    float *mine = room ? aligned_alloc(64, alloc) : NULL;
    if (mine && kind == PACK_PANELS)
        pack_panels(mine, w, n, k);
    else if (mine && octic_sgemm_pack(mine, w, n, k))
        free(mine), mine = NULL;

    pthread_mutex_lock(&pc->lock);
    if (room && !mine) pc->bytes -= alloc;
    found = entry_locked(pc, w, n, k, kind); /* another thread's product may have packed it meanwhile */
    p = found ? found->packed : NULL;
    packed_weight *e = found || pc->count < pc->cap ? pc->e : grow_entries(pc->e, &pc->cap);
    if (!found && e) {
        pc->e = e;
        pc->e[pc->count++] = (packed_weight){w, n, k, kind, mine};
        p = mine;
    } else if (found && !p && mine) { /* another thread found no room while this one held it: ours fills the entry */
        found->packed = mine;
        p = mine;
    } else if (mine) { /* packed twice, or no room for the entry */
        free(mine);
        pc->bytes -= alloc;
    }
    pthread_mutex_unlock(&pc->lock);
    return p;
}

/* out[M, N] (row stride ldo) = in[M, K] @ w^T + beta * out for the weight
 * share w[N, K]: on its packed form wp where the pass has (or makes) one
 * (share_product finds it), else through octic_sgemm. On the calling thread. */
static void product_on(const float *wp, int M, int N, int K, const float *in, int ldi, const float *w, float beta,
                       float *out, int ldo) {
    if (wp)
        octic_sgemm_packed(M, N, K, in, ldi, wp, beta, out, ldo);
    else
        octic_sgemm(1, M, N, K, in, ldi, w, K, beta, out, ldo);
}

static void share_product(const pass_state *st, int M, int N, int K, const float *in, int ldi, const float *w,
                          float beta, float *out, int ldo) {
    product_on(packed_weight_for(st, w, N, K, PACK_SGEMM), M, N, K, in, ldi, w, beta, out, ldo);
}

static void fast_begin_pass(const octic_backend *be, void **cache, int images) {
    (void)be;
    if (pass_depth++ == 0) {
        pass = pass_begin(cache, images);
    } else if (pass_depth == 2) {
        pass_outer = pass;
        pass = (pass_state){0};
    }
    on_each_thread(fp_flush_on);
}

static void fast_end_pass(const octic_backend *be) {
    (void)be;
    on_each_thread(fp_flush_off);
    if (pass_depth <= 0) return;
    if (--pass_depth == 0) {
        pass = (pass_state){0};
    } else if (pass_depth == 1) {
        pass = pass_outer;
    }
}

/* Work below which a parallel region costs more than it saves (floats
 * touched): small models' ops run on the calling thread alone. */
#define PARALLEL_MIN_WORK 32768L

/* The threads for n items of `work` floats each: every one, fewer when
 * the whole is small. */
#define PARALLEL_THREADS(nt_, n_, work)                                                   \
    int nt_ = octic_cpu_threads();                                                        \
    do {                                                                                  \
        long most_ = (n_) * (long)(work) / PARALLEL_MIN_WORK;                             \
        if (most_ < nt_) nt_ = most_ > 1 ? (int)most_ : 1;                                \
        if (nt_ > (n_)) nt_ = (n_) > 1 ? (int)(n_) : 1;                                   \
    } while (0)

/* Shares of an op's rows per thread, taken in turn: a core slowed by a
 * neighbour (a shared machine) takes fewer instead of holding the others
 * at the end of the op. */
#define SHARES_PER_THREAD 8

/* Runs the body for [r0, r1) over shares of n items of `work` floats each,
 * taken in turn by the threads (on the calling thread alone when the whole
 * is small). A share does not change what an item computes, so results do
 * not depend on the thread count. */
#define PARALLEL_SHARES(n, work, r0, r1, ...)                                              \
    do {                                                                                  \
        long n_ = (long)(n);                                                              \
        PARALLEL_THREADS(nt_, n_, work);                                                  \
        long k_ = nt_ > 1 ? (long)nt_ * SHARES_PER_THREAD : 1;                            \
        if (k_ > n_) k_ = n_;                                                             \
        if (k_ <= 1) {                                                                    \
            long r0 = 0, r1 = n_;                                                         \
            __VA_ARGS__;                                                                  \
        } else {                                                                          \
            _Pragma("omp parallel for num_threads(nt_) schedule(dynamic, 1)")              \
            for (long s_ = 0; s_ < k_; s_++) {                                            \
                long r0 = n_ * s_ / k_, r1 = n_ * (s_ + 1) / k_;                          \
                __VA_ARGS__;                                                              \
            }                                                                             \
        }                                                                                 \
    } while (0)

/* Runs the body on every thread with [r0, r1) its one share of n items
 * (products: one BLAS call per thread). */
#define PARALLEL_SPLIT(n, work, r0, r1, ...)                                               \
    do {                                                                                  \
        long n_ = (long)(n);                                                              \
        PARALLEL_THREADS(nt_, n_, work);                                                  \
        _Pragma("omp parallel num_threads(nt_)") {                                        \
            int t_ = thread_id(), k_ = thread_count();                                    \
            long r0 = n_ * t_ / k_, r1 = n_ * (t_ + 1) / k_;                              \
            __VA_ARGS__;                                                                  \
        }                                                                                 \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Kernels: compiled for AVX-512 and for the baseline, chosen at run time    */

#define QB 6       /* query rows per attention tile */
#define KPANEL 64  /* keys per panel of the transposed k (4 vectors) */
#define KPANEL_TAIL_CASES(X) X(1) X(2) X(3)
#define PB 6       /* query rows per product with v (6 x 4 vectors of accumulators) */
#define PREFETCH_ROWS 4 /* attention: rows of q, k, v (and of the output) asked for ahead of use */
#define R_CASES(X) X(1) X(2) X(3) X(4) X(5) X(6)
#define GR 6       /* rows per tile of a narrow product */
#define GP 64      /* weight columns per panel of a narrow product (4 vectors) */
#define GR_CASES(X) X(1) X(2) X(3) X(4) X(5) X(6)
#define PB_CASES(X) X(1) X(2) X(3) X(4) X(5) X(6)

static int round_up(int n, int m) { return (n + m - 1) / m * m; }

/* An octic head's columns in iso5 come in runs of consecutive columns (one
 * per irrep slice): at most MAX_RUNS of them are copied run by run. */
#define MAX_RUNS 32
typedef struct {
    int n;                                      /* runs, or 0: more than MAX_RUNS */
    int at[MAX_RUNS], col[MAX_RUNS], len[MAX_RUNS]; /* len values from column col go to position at */
} col_runs;

static void find_runs(col_runs *r, const int32_t *cols, int n) {
    r->n = 0;
    for (int t = 0; t < n;) {
        int len = 1;
        while (t + len < n && cols[t + len] == cols[t] + len) len++;
        if (r->n == MAX_RUNS) {
            r->n = 0;
            return;
        }
        r->at[r->n] = t, r->col[r->n] = cols[t], r->len[r->n] = len, r->n++;
        t += len;
    }
}

/* Asks for the cache lines of the runs of row (to write them when
 * `write`): an attention head's rows lie a page or more apart, which the
 * hardware prefetcher does not follow. */
static inline void prefetch_runs(const float *row, const col_runs *r, int write) {
    for (int j = 0; j < r->n; j++) {
        uintptr_t p = (uintptr_t)(row + r->col[j]) & ~(uintptr_t)63, end = (uintptr_t)(row + r->col[j] + r->len[j]);
        for (; p < end; p += 64) {
            if (write)
                __builtin_prefetch((const void *)p, 1);
            else
                __builtin_prefetch((const void *)p, 0);
        }
    }
}

/* The one run of a head's slice in the standard layout. */
static void slice_run(col_runs *r, int col, int len) { r->n = 1, r->at[0] = 0, r->col[0] = col, r->len[0] = len; }

/* Where an attention head's q, k, v (s = 0, 1, 2) and output columns lie:
 * its slices of the standard layout, or its runs of iso5 columns through
 * the column maps (octic); cols and out_cols are the maps' rows or NULL. */
typedef struct {
    col_runs runs[3], out;
    const int32_t *cols[3], *out_cols;
} head_columns;

static void find_head_columns(head_columns *hc, const int32_t *qkv_cols, const int32_t *out_cols, int h, int H,
                              int hd) {
    int C = H * hd;
    for (int s = 0; s < 3; s++) {
        hc->cols[s] = qkv_cols ? qkv_cols + (size_t)(s * H + h) * hd : NULL;
        if (qkv_cols)
            find_runs(&hc->runs[s], hc->cols[s], hd);
        else
            slice_run(&hc->runs[s], s * C + h * hd, hd);
    }
    hc->out_cols = out_cols ? out_cols + (size_t)h * hd : NULL;
    if (out_cols)
        find_runs(&hc->out, hc->out_cols, hd);
    else
        slice_run(&hc->out, h * hd, hd);
}

/* Asks for the head's q, k, v columns of a row to be read. */
static inline void prefetch_head_row(const float *row, const head_columns *hc) {
    for (int s = 0; s < 3; s++) prefetch_runs(row, &hc->runs[s], 0);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX512_KERNELS 1
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,fma")
#define K(name) name##_avx512
#include "cpu_kernels.h"
#undef K
#pragma GCC pop_options
#endif

#define K(name) name##_portable
#include "cpu_kernels.h"
#undef K

static int force_portable;

void octic_cpu_set_portable(int on) { force_portable = on != 0; }

#ifdef HAVE_AVX512_KERNELS
static int use_avx512(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
    return cached && !force_portable;
}
#define KERNEL(name) (use_avx512() ? name##_avx512 : name##_portable)
#else
#define KERNEL(name) name##_portable
#endif

/* ------------------------------------------------------------------------ */
/* Ops                                                                       */

static float *fast_alloc(const octic_backend *be, size_t n) {
    (void)be;
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes);
}

static void fast_free(const octic_backend *be, float *p) { (void)be, free(p); }

static void fast_copy(const octic_backend *be, float *dst, const float *src, size_t n) {
    (void)be;
    if (!n) return;
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src, bytes = n * sizeof(float);
    if (d < s + bytes && s < d + bytes) { /* overlapping: shares would read what another share wrote */
        memmove(dst, src, bytes);
        return;
    }
    PARALLEL_SHARES(n, 1, i0, i1, memcpy(dst + i0, src + i0, (size_t)(i1 - i0) * sizeof(float)));
}

/* Columns of the output (rows of the weight) per share of a dense product. */
#define LINEAR_COLS 64

/* Every thread takes a share of the output columns (the weight's rows)
 * through a one-thread product over all M rows: each thread packs only its
 * share of the weight, where a share of the rows would have every thread pack
 * all of it (16 MB for a ViT-L fc1), and there is no barrier inside the
 * product. */
static void fast_linear(const octic_backend *be, float *out, int ldo, const float *in, int ldi, const float *w,
                        const float *bias, int M, int N, int K) {
    (void)be;
    // out: (M, N) row stride ldo; in: (M, K) row stride ldi; w: (N, K); bias: (N) or NULL
    if (!octic_blas_nests()) { /* the BLAS keeps its own threads */
        if (bias)
            for (int i = 0; i < M; i++) memcpy(out + (size_t)i * ldo, bias, (size_t)N * sizeof(float));
        octic_sgemm(1, M, N, K, in, ldi, w, K, bias ? 1.0f : 0.0f, out, ldo);
        return;
    }
    int blocks = (N + LINEAR_COLS - 1) / LINEAR_COLS;
    pass_state st = pass; /* the caller's pass (thread-local) */
    PARALLEL_SPLIT(blocks, (long)M * LINEAR_COLS * K / 8 + 1, b0, b1, {
        int c0 = (int)b0 * LINEAR_COLS, c1 = b1 * LINEAR_COLS < N ? (int)b1 * LINEAR_COLS : N;
        if (bias)
            for (int i = 0; i < M; i++)
                memcpy(out + (size_t)i * ldo + c0, bias + c0, (size_t)(c1 - c0) * sizeof(float));
        share_product(&st, M, c1 - c0, K, in, ldi, w + (size_t)c0 * K, bias ? 1.0f : 0.0f, out + c0, ldo);
    });
}

/* The narrow products' weights packed into panels: wp[p][k][j] =
 * w[p + j][k] for panels of GP columns (the last one narrower), in a buffer
 * of the calling thread, kept for its next products (freed when the thread
 * ends). Packing costs 1/M of the product. */
static pthread_key_t pack_key;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;
typedef struct {
    float *p;
    size_t cap;
} pack_buffer;

static void pack_buffer_free(void *b) {
    free(((pack_buffer *)b)->p);
    free(b);
}

static int pack_key_ok;

static void pack_key_make(void) { pack_key_ok = pthread_key_create(&pack_key, pack_buffer_free) == 0; }

/* The calling thread's buffer of at least n floats, NULL when out of memory. */
static float *pack_space(size_t n) {
    pthread_once(&pack_once, pack_key_make);
    if (!pack_key_ok) return NULL;
    pack_buffer *b = pthread_getspecific(pack_key);
    if (!b) {
        if (!(b = calloc(1, sizeof *b))) return NULL;
        if (pthread_setspecific(pack_key, b)) {
            free(b);
            return NULL;
        }
    }
    if (b->cap < n) {
        float *p = aligned_alloc(64, (n * sizeof(float) + 63) & ~(size_t)63);
        if (!p) return NULL;
        free(b->p);
        b->p = p, b->cap = n;
    }
    return b->p;
}

static void pack_panels(float *wp, const float *w, int N, int Kd) {
    // w: (N, Kd) -> wp: panels of GP columns, each (Kd, width)
    for (int p = 0; p < N; p += GP) {
        int n = N - p < GP ? N - p : GP;
        float *d = wp + (size_t)p * Kd;
        for (int j = 0; j < n; j++)
            for (int k = 0; k < Kd; k++) d[(size_t)k * n + j] = w[(size_t)(p + j) * Kd + k];
    }
}

/* out[M, N] (ldo) = in[M, Kd] (ldi) @ w[N, Kd]^T + bias on the calling
 * thread: oneDNN's sgemm runs these shapes (Kd or N an eighth of the width:
 * 128 for ViT-L, in the strides of a LinearD8) at ~45-65% of its one-thread
 * speed on square ones, the panel kernel at ~75-105%. N not a multiple of
 * VL, or no memory to pack: sgemm. */
static void narrow_product(const pass_state *st, float *out, int ldo, const float *in, int ldi, const float *w,
                           const float *bias, int M, int N, int Kd) {
    const float *kept = N % VL == 0 ? packed_weight_for(st, w, N, Kd, PACK_PANELS) : NULL;
    float *wp = kept || N % VL ? NULL : pack_space((size_t)N * Kd);
    if (!kept && !wp) {
        if (bias)
            for (int i = 0; i < M; i++) memcpy(out + (size_t)i * ldo, bias, (size_t)N * sizeof(float));
        octic_sgemm(1, M, N, Kd, in, ldi, w, Kd, bias ? 1.0f : 0.0f, out, ldo);
        return;
    }
    if (!kept) pack_panels(wp, w, N, Kd);
    KERNEL(gemm_narrow)(out, ldo, in, ldi, kept ? kept : wp, bias, M, N, Kd);
}

/* The six products of a LinearD8 are narrow (K = ci or 2ci, N = co or 2co):
 * instead of spreading each over the threads, they are tasks taken in turn
 * by the threads, each a one-thread product over all rows (over a share of
 * the rows when there are more threads than a third of the tasks): E's two
 * (four times the work of the others, through the BLAS) first, so two
 * threads end together, then the one-dimensional irreps' on the panel
 * kernel. */
static void fast_linear_d8(const octic_backend *be, float *out, const float *in, const float *const w[5],
                           const float *bias, int M, int ci, int co) {
    int ldi = 8 * ci, ldo = 8 * co;
    if (!octic_blas_nests()) { /* the BLAS keeps its own threads: one product after the other */
        for (int q = 0; q < 4; q++)
            fast_linear(be, out + q * co, ldo, in + q * ci, ldi, w[q], q == 0 ? bias : NULL, M, co, ci);
        for (int row = 0; row < 2; row++)
            fast_linear(be, out + (4 + 2 * row) * co, ldo, in + (4 + 2 * row) * ci, ldi, w[4], NULL, M, 2 * co,
                        2 * ci);
        return;
    }
    int nt = octic_cpu_threads();
    long most = 12L * M * ci * co / 8 / PARALLEL_MIN_WORK;
    if (nt > most) nt = most > 1 ? (int)most : 1;
    int chunks = (nt + 2) / 3, tasks = 6 * chunks;
    pass_state st = pass; /* the caller's pass (thread-local) */
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int t = 0; t < tasks; t++) {
        int p = t / chunks, k = t % chunks; /* product p: E row 0, E row 1, A1, A2, B1, B2 */
        int r0 = (int)((long)M * k / chunks), r1 = (int)((long)M * (k + 1) / chunks);
        const float *x = in + (size_t)r0 * ldi;
        float *y = out + (size_t)r0 * ldo;
        if (p < 2) {
            share_product(&st, r1 - r0, 2 * co, 2 * ci, x + (4 + 2 * p) * ci, ldi, w[4], 0.0f, y + (4 + 2 * p) * co,
                          ldo);
        } else {
            int q = p - 2;
            narrow_product(&st, y + q * co, ldo, x + q * ci, ldi, w[q], q == 0 ? bias : NULL, r1 - r0, co, ci);
        }
    }
}

static void fast_im2col(const octic_backend *be, float *patches, const float *images, int B, int S, int p) {
    (void)be;
    // images: (B, 3, S, S) -> patches: (B, n*n, 3*p*p) with n = S/p
    int n = S / p;
    PARALLEL_SHARES((long)B * n, (long)n * 3 * p * p, r0, r1, for (long bi = r0; bi < r1; bi++) {
        int b = (int)(bi / n), i = (int)(bi % n);
        for (int j = 0; j < n; j++) {
            float *row = patches + (((size_t)b * n + i) * n + j) * 3 * p * p;
            for (int ch = 0; ch < 3; ch++)
                for (int ky = 0; ky < p; ky++)
                    memcpy(row + ((size_t)ch * p + ky) * p,
                           images + (((size_t)b * 3 + ch) * S + (size_t)i * p + ky) * S + (size_t)j * p,
                           (size_t)p * sizeof(float));
        }
    });
}

static void fast_layernorm(const octic_backend *be, float *out, const float *in, const float *w, const float *b,
                           int rows, int C, float eps) {
    (void)be;
    /* in is only read: layernorm_rows writes x only when it adds y */
    PARALLEL_SHARES(rows, 3 * C, r0, r1,
                    KERNEL(layernorm_rows)(out, (float *)in, NULL, NULL, NULL, w, b, r0, r1, C, eps));
}

static void fast_residual_bias_layernorm(const octic_backend *be, float *x, const float *y, const float *bias,
                                         const float *gamma, float *out, const float *w, const float *b, int rows,
                                         int C, float eps) {
    (void)be;
    PARALLEL_SHARES(rows, 5 * C, r0, r1, KERNEL(layernorm_rows)(out, x, y, bias, gamma, w, b, r0, r1, C, eps));
}

static void fast_residual_layernorm(const octic_backend *be, float *x, const float *y, const float *gamma, float *out,
                                    const float *w, const float *b, int rows, int C, float eps) {
    fast_residual_bias_layernorm(be, x, y, NULL, gamma, out, w, b, rows, C, eps);
}

static void fast_layernorm_d8(const octic_backend *be, float *out, const float *in, const float *scale,
                              const float *shift, int rows, int C, float eps) {
    (void)be;
    PARALLEL_SHARES(rows, 3 * C, r0, r1, KERNEL(layernorm_d8_rows)(out, (float *)in, NULL, NULL, scale, shift, r0, r1, C, eps));
}

static void fast_residual_layernorm_d8(const octic_backend *be, float *x, const float *y, const float *gamma,
                                       float *out, const float *scale, const float *shift, int rows, int C,
                                       float eps) {
    (void)be;
    PARALLEL_SHARES(rows, 5 * C, r0, r1, KERNEL(layernorm_d8_rows)(out, x, y, gamma, scale, shift, r0, r1, C, eps));
}

static void fast_gelu(const octic_backend *be, float *x, size_t n) {
    (void)be;
    /* shares are whole vectors, so that every element takes the same path */
    long nv = (long)((n + VL - 1) / VL);
    PARALLEL_SHARES(nv, 4 * VL, v0, v1, {
        long i1 = v1 * VL < (long)n ? v1 * VL : (long)n;
        KERNEL(gelu_range)(x, v0 * VL, i1);
    });
}

static void fast_gelu_bias(const octic_backend *be, float *x, const float *bias, int rows, int C) {
    (void)be;
    PARALLEL_SHARES(rows, 4 * C, r0, r1, KERNEL(gelu_bias_rows)(x, C, bias, r0, r1, C));
}

/* Rows of the output per step of a product followed by its GELU: each
 * thread's share of a step (rows x its columns; 1.6 MB for a ViT-L fc1 on two
 * threads) is still in its caches when the GELU reads it back. Fewer rows
 * per product slow the product more (measured on a ViT-L fc1 at 788 rows,
 * paired: 200 rows is 3-6% faster than the product then the GELU on 1-2
 * threads, 100-128 rows slower). */
#define FUSED_ROWS 200

/* out = GELU(in @ w^T + bias), as fast_linear then fast_gelu_bias, but each
 * thread runs its column share in steps of rows, the GELU of a step right
 * after its product. The steps are the same on any number of threads. A
 * share whose weight is not packed (no pass, --no-prepack, no room) is one
 * step: octic_sgemm would pack it again at every step. */
static void fast_linear_gelu(const octic_backend *be, float *out, int ldo, const float *in, int ldi,
                             const float *w, const float *bias, int M, int N, int K) {
    // out: (M, N) row stride ldo; in: (M, K) row stride ldi; w: (N, K); bias: (N) or NULL
    if (M <= 0 || N <= 0) return;
    if (!octic_blas_nests()) {
        fast_linear(be, out, ldo, in, ldi, w, NULL, M, N, K);
        PARALLEL_SHARES(M, 4 * N, r0, r1, KERNEL(gelu_bias_rows)(out, ldo, bias, r0, r1, N));
        return;
    }
    int steps = (M + FUSED_ROWS - 1) / FUSED_ROWS, rows = (M + steps - 1) / steps;
    int blocks = (N + LINEAR_COLS - 1) / LINEAR_COLS;
    pass_state st = pass; /* the caller's pass (thread-local) */
    PARALLEL_SPLIT(blocks, (long)M * LINEAR_COLS * K / 8 + 1, b0, b1, {
        int c0 = (int)b0 * LINEAR_COLS, c1 = b1 * LINEAR_COLS < N ? (int)b1 * LINEAR_COLS : N;
        const float *ws = w + (size_t)c0 * K, *wp = c0 < c1 ? packed_weight_for(&st, ws, c1 - c0, K, PACK_SGEMM) : NULL;
        int step = wp ? rows : M;
        for (int r0 = 0; r0 < M && c0 < c1; r0 += step) {
            int n = M - r0 < step ? M - r0 : step;
            float *o = out + (size_t)r0 * ldo + c0;
            product_on(wp, n, c1 - c0, K, in + (size_t)r0 * ldi, ldi, ws, 0.0f, o, ldo);
            KERNEL(gelu_bias_rows)(o, ldo, bias ? bias + c0 : NULL, 0, n, c1 - c0);
        }
    });
}

static void fast_gelu_d8(const octic_backend *be, float *x, int rows, int C) {
    (void)be;
    PARALLEL_SHARES(rows, 4 * C, r0, r1, KERNEL(gelu_d8_rows)(x, r0, r1, C));
}

static void fast_residual_bias(const octic_backend *be, float *x, const float *y, const float *bias,
                               const float *gamma, int rows, int C) {
    (void)be;
    PARALLEL_SHARES(rows, 3 * C, r0, r1, KERNEL(residual_rows)(x, y, bias, gamma, r0, r1, C));
}

static void fast_residual(const octic_backend *be, float *x, const float *y, const float *gamma, int rows, int C) {
    fast_residual_bias(be, x, y, NULL, gamma, rows, C);
}

/* Attention: one head of one image per task, taken in turn by the threads (a
 * core slowed by a neighbour takes fewer), each with its own scratch; q, k, v
 * read from the standard layout or, for octic blocks, gathered from iso5
 * through the column maps. Two ways:
 * - BLAS: the head's scores (N x N, in the core's L2 at ViT lengths), the
 *   softmax, the product with v, through octic_sgemm on the calling thread;
 * - tiles: k transposed into panels of 64 keys, then the queries in tiles of
 *   QB rows: their scores against every key (QB x N, in L1), the softmax and
 *   the product with v on register-blocked kernels, nothing materialized.
 * Head widths that are not a multiple of the vector width take the BLAS way. */
static size_t attention_per_thread(int N, int hd) {
    size_t Np = (size_t)round_up(N, KPANEL);
    size_t tiled = (size_t)2 * N * hd + Np * hd + QB * Np + (size_t)(QB + VL) * hd;
    size_t blas = (size_t)4 * N * hd + (size_t)N * N;
    return ((tiled > blas ? tiled : blas) + 15) & ~(size_t)15;
}

/* -1: tiles (head widths a multiple of the vector width), else the BLAS.
 * With oneDNN the tiles measured faster than the per-head BLAS products
 * once their softmax kept to whole vectors (ViT-L shapes, batch 4, 2
 * threads: ~5.9 against ~8 ms for a block's 64 heads). */
static int attention_tiles_mode = -1;

void octic_cpu_set_attention_tiles(int mode) { attention_tiles_mode = mode < 0 ? -1 : mode > 0; }

static int attention_tiled(int hd) {
    if (hd % VL) return 0;
    return attention_tiles_mode < 0 ? 1 : attention_tiles_mode;
}

static int attention_threads(int hd) { return attention_tiled(hd) || octic_blas_nests() ? octic_cpu_threads() : 1; }

static size_t fast_attention_scratch(const octic_backend *be, int B, int N, int H, int hd) {
    (void)be, (void)B, (void)H;
    return (size_t)attention_threads(hd) * attention_per_thread(N, hd);
}

static void attention_heads(float *out, const float *qkv, const float *bias, const int32_t *qkv_cols,
                            const int32_t *out_cols, float *scratch, int B, int N, int H, int hd) {
    int nt = attention_threads(hd), tiled = attention_tiled(hd);
    long tasks = (long)B * H;
    size_t per = attention_per_thread(N, hd);
    long most = tasks * (long)N * (N + 4 * hd) / PARALLEL_MIN_WORK;
    if (nt > most) nt = most > 1 ? (int)most : 1;
    if (nt > tasks) nt = (int)tasks;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (long task = 0; task < tasks; task++) {
        float *ws = scratch + (size_t)thread_id() * per;
        if (tiled)
            KERNEL(attention_head_tiled)(out, qkv, bias, qkv_cols, out_cols, ws, (int)(task / H), (int)(task % H), N,
                                         H, hd);
        else
            KERNEL(attention_head_blas)(out, qkv, bias, qkv_cols, out_cols, ws, (int)(task / H), (int)(task % H), N, H,
                                        hd);
    }
}

static void fast_attention(const octic_backend *be, float *out, const float *qkv, const int32_t *qkv_cols,
                           const int32_t *out_cols, float *scratch, int B, int N, int H, int hd) {
    (void)be;
    attention_heads(out, qkv, NULL, qkv_cols, out_cols, scratch, B, N, H, hd);
}

/* qkv's bias added as q, k, v are gathered: the qkv product writes no bias
 * into its 3C-wide output (one write and one read of it less). */
static void fast_attention_bias(const octic_backend *be, float *out, const float *qkv, const float *bias,
                                float *scratch, int B, int N, int H, int hd) {
    (void)be;
    attention_heads(out, qkv, bias, NULL, NULL, scratch, B, N, H, hd);
}

static void fast_permute_cols(const octic_backend *be, float *out, const float *in, int rows, int ncols, int ldi,
                              const int32_t *idx) {
    (void)be;
    PARALLEL_SHARES(rows, 2 * ncols, r0, r1, for (long r = r0; r < r1; r++) {
        const float *x = in + (size_t)r * ldi;
        float *y = out + (size_t)r * ncols;
        for (int j = 0; j < ncols; j++) y[j] = x[idx[j]];
    });
}

static int32_t *fast_upload_index(const octic_backend *be, const int32_t *idx, size_t n) {
    (void)be;
    int32_t *p = malloc((n ? n : 1) * sizeof(int32_t));
    if (p && n) memcpy(p, idx, n * sizeof(int32_t));
    return p;
}

static void fast_free_index(const octic_backend *be, int32_t *idx) { (void)be, free(idx); }

static void fast_add_rows(const octic_backend *be, float *x, const float *pos, int B, int T, int t0, int npos, int C) {
    (void)be;
    PARALLEL_SHARES((long)B * npos, 3 * C, r0, r1, KERNEL(add_rows_range)(x, pos, r0, r1, T, t0, npos, C));
}

static void fast_set_rows(const octic_backend *be, float *dst, const float *src, int B, int T, int t0, int nsrc,
                          int C) {
    (void)be;
    for (int b = 0; b < B; b++) memcpy(dst + ((size_t)b * T + t0) * C, src, (size_t)nsrc * C * sizeof(float));
}

static void fast_get_rows(const octic_backend *be, float *dst, const float *src, int B, int T, int t0, int n, int C) {
    (void)be;
    for (int b = 0; b < B; b++)
        memcpy(dst + (size_t)b * n * C, src + ((size_t)b * T + t0) * C, (size_t)n * C * sizeof(float));
}

static void fast_invariant(const octic_backend *be, float *out, const float *in, int rows, int C, octic_invop kind) {
    (void)be;
    int c = C / 8, width = octic_invop_width(kind, C);
    PARALLEL_SHARES(rows, C + width, r0, r1, for (long r = r0; r < r1; r++)
                       octic_invariant_row(out + (size_t)r * width, in + (size_t)r * C, c, kind));
}

static const octic_backend cpu_fast_backend = {
    .name = "cpu",
    .context = NULL,
    .host_memory = 1,
    .alloc = fast_alloc,
    .free = fast_free,
    .upload = fast_copy,
    .download = fast_copy,
    .copy = fast_copy,
    .linear = fast_linear,
    .linear_d8 = fast_linear_d8,
    .im2col = fast_im2col,
    .layernorm = fast_layernorm,
    .layernorm_d8 = fast_layernorm_d8,
    .gelu = fast_gelu,
    .gelu_d8 = fast_gelu_d8,
    .attention = fast_attention,
    .attention_scratch = fast_attention_scratch,
    .attention_bias = fast_attention_bias,
    .permute_cols = fast_permute_cols,
    .upload_index = fast_upload_index,
    .free_index = fast_free_index,
    .residual = fast_residual,
    .residual_layernorm = fast_residual_layernorm,
    .residual_layernorm_d8 = fast_residual_layernorm_d8,
    .gelu_bias = fast_gelu_bias,
    .linear_gelu = fast_linear_gelu,
    .residual_bias = fast_residual_bias,
    .residual_bias_layernorm = fast_residual_bias_layernorm,
    .add_rows = fast_add_rows,
    .set_rows = fast_set_rows,
    .get_rows = fast_get_rows,
    .invariant = fast_invariant,
    .synchronize = NULL,
    .begin_pass = fast_begin_pass,
    .end_pass = fast_end_pass,
    .free_cache = fast_free_cache,
    .cache_bytes = fast_cache_bytes,
};

const octic_backend *octic_cpu_backend(void) { return &cpu_fast_backend; }
