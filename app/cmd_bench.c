/* octic bench: how fast the engine runs a published architecture on this
 * machine, against what the linked BLAS's sgemm does in the same process. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend.h"
#include "blas.h"
#include "cli.h"
#include "commands.h"

static const char bench_usage[] =
    "usage: octic bench --arch NAME [--batch B] [--threads T] [--size S] [--runs R]\n"
    "                   [--compare ARCH] [--reference] [--no-sgemm] [--no-prepack]\n"
    "                   [--device D] [--precision P] [--json]\n"
    "\n"
    "Runs the forward pass of a published architecture (random weights, random\n"
    "images) and reports images per second, the effective GFLOP/s (2 x multiply-adds of\n"
    "the model / time) and, measured in the same process with the same threads, the best\n"
    "sgemm GFLOP/s of the linked BLAS on a 4096 x 4096 x 1024 product and the ratio of the\n"
    "two; then where the time goes, per kind of operation. Times are medians of R timed\n"
    "runs after one untimed warm-up run (the fastest run is shown as well). The sgemm figure\n"
    "is the best of 5 products before the runs and of one product timed before the first\n"
    "run and after each round of runs (the median of all these products is shown beside\n"
    "it: how far the best stands above the machine's usual speed); each run is also compared\n"
    "with the faster of the two products around it (the median of these ratios is shown),\n"
    "so that a machine whose speed drifts does not decide the figure. With --compare the\n"
    "two architectures' runs alternate and the time ratio is the median of the runs'\n"
    "ratios. Where Linux's /proc/stat tells, the share of the CPU time that the hypervisor\n"
    "gave to other guests during the timed runs (steal time) is shown: figures from a busy\n"
    "shared machine are low. On the fast CPU backend the dense products' weights are\n"
    "packed once, in the warm-up run, in the BLAS's own layout (batches of 2 or more;\n"
    "the memory they take is shown).\n"
    "\n"
    "options:\n"
    "  --arch NAME      a published architecture ('octic archs' lists them)\n"
    "  --batch B        images per forward pass (default 4)\n"
    "  --threads T      threads (default, or 0: every core)\n"
    "  --size S         image side (default 224)\n"
    "  --runs R         timed runs (default 3)\n"
    "  --compare ARCH   also run ARCH in the same process and report the ratio of the\n"
    "                   two times per image\n"
    "  --reference      run on the CPU reference backend (plain loops, one thread\n"
    "                   besides the BLAS's) instead of the fast one\n"
    "  --no-sgemm       skip the sgemm measurement (skipped on CUDA)\n"
    "  --no-prepack     leave the weights unpacked: every product packs its weight\n"
    "                   itself, as sgemm does (for comparison)\n"
    "  --device D       auto (default: CUDA when a usable GPU is present), cpu or cuda;\n"
    "                   on CUDA the peak device memory is reported\n"
    "  --precision P    float32 (default) or bfloat16 (CUDA: products and attention on\n"
    "                   tensor cores, float32 accumulation)\n"
    "  --json           print one JSON object (memory in MiB, as the text: the _mb keys)\n"
    "\n"
    "octic bench --data ROOT measures the data path instead ('octic bench --data x --help').\n";

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

/* The sgemm probe: C[4096,4096] = A[4096,1024] B[4096,1024]^T through
 * octic_sgemm, the product the figures are compared with. */
enum { PROBE_M = 4096, PROBE_N = 4096, PROBE_K = 1024 };

typedef struct {
    float *A, *B, *C;
} sgemm_probe;

static void probe_free(sgemm_probe *p) {
    free(p->A), free(p->B), free(p->C);
    memset(p, 0, sizeof *p);
}

static int probe_init(sgemm_probe *p) {
    p->A = malloc((size_t)PROBE_M * PROBE_K * sizeof(float));
    p->B = malloc((size_t)PROBE_N * PROBE_K * sizeof(float));
    p->C = malloc((size_t)PROBE_M * PROBE_N * sizeof(float));
    if (!p->A || !p->B || !p->C) {
        probe_free(p);
        return 0;
    }
    for (size_t i = 0; i < (size_t)PROBE_M * PROBE_K; i++) p->A[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
    for (size_t i = 0; i < (size_t)PROBE_N * PROBE_K; i++) p->B[i] = (float)((i * 5) % 11) / 11.0f - 0.5f;
    memset(p->C, 0, (size_t)PROBE_M * PROBE_N * sizeof(float));
    return 1;
}

/* GFLOP/s of one product. */
static double probe_gflops(sgemm_probe *p) {
    double t = now_seconds();
    octic_sgemm(1, PROBE_M, PROBE_N, PROBE_K, p->A, PROBE_K, p->B, PROBE_K, 0.0f, p->C, PROBE_N);
    t = now_seconds() - t;
    return 2.0 * PROBE_M * PROBE_N * PROBE_K / t / 1e9;
}

enum { PROBE_FIRST = 5 }; /* products timed before the models exist */

/* Best GFLOP/s of a warm-up and then PROBE_FIRST timed products (each
 * kept in g); -1 if out of memory. The buffers are freed before the models
 * exist. */
static double sgemm_gflops(double g[PROBE_FIRST]) {
    sgemm_probe p;
    if (!probe_init(&p)) return -1.0;
    double best = -1.0;
    probe_gflops(&p);
    for (int r = 0; r < PROBE_FIRST; r++)
        if ((g[r] = probe_gflops(&p)) > best) best = g[r];
    probe_free(&p);
    return best;
}

/* The CPU time counters of /proc/stat's first line (all CPUs, in clock
 * ticks): steal is the time a virtual machine's CPUs were ready to run
 * but the hypervisor ran other guests. */
typedef struct {
    unsigned long long steal, total;
    int ok;
} cpu_times;

static cpu_times read_cpu_times(void) {
    cpu_times c = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return c;
    unsigned long long v[8];
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
               &v[7]) == 8) {
        for (int i = 0; i < 8; i++) c.total += v[i];
        c.steal = v[7], c.ok = 1;
    }
    fclose(f);
    return c;
}

/* Percent of the CPU time between a and b that was stolen, or -1 when unknown. */
static double steal_percent(cpu_times a, cpu_times b) {
    if (!a.ok || !b.ok || b.total <= a.total || b.steal < a.steal) return -1.0;
    return 100.0 * (double)(b.steal - a.steal) / (double)(b.total - a.total);
}

typedef struct {
    const octic_arch *arch;
    double seconds;        /* median per forward pass */
    double best;           /* fastest forward pass */
    double paired;         /* median over runs of effective / sgemm around the run, or -1 */
    double macs_per_image; /* octic_config_cost */
    double weights_mb;
    double packed_mb;      /* weights packed for the products (fast CPU backend) */
    double device_peak_mb; /* device memory held at most (CUDA), else 0 */
    octic_profile prof;    /* per forward pass */
} bench_result;

/* One architecture being measured: its model, inputs and run times. */
typedef struct {
    octic_model *m;
    float *images;
    double *times; /* per timed run, in run order */
    octic_profile total;
    bench_result res;
} bench_arch;

static void arch_free(bench_arch *a) {
    free(a->images), free(a->times);
    octic_model_free(a->m);
    a->images = NULL, a->times = NULL, a->m = NULL;
}

/* Builds the model on random weights, random images and runs the untimed
 * warm-up pass (which sizes the activation arena once). */
static int arch_open(const char *name, const octic_backend *be, int batch, int size, int runs, bench_arch *a) {
    memset(a, 0, sizeof *a);
    const octic_arch *arch = octic_arch_find(name);
    if (!arch) return cli_unknown_arch(name);
    a->res.arch = arch;
    a->res.paired = -1.0;
    octic_config cfg = arch->config;
    octic_device_reset_peak(be);
    if (octic_model_random(&cfg, 1, be, &a->m) != OCTIC_OK) return cli_engine_error();
    if (octic_model_check_size(a->m, size) != OCTIC_OK) {
        arch_free(a);
        return cli_usage_error("bench", "--size %d: %s", size, octic_last_error());
    }
    octic_cost cost = octic_config_cost(&cfg, size);
    a->res.macs_per_image = (double)cost.macs;
    a->res.weights_mb = (double)cost.params * 4.0 / (1024.0 * 1024.0);
    size_t n_img = (size_t)batch * 3 * size * size;
    a->images = malloc(n_img * sizeof(float));
    a->times = malloc((size_t)runs * sizeof(double));
    if (!a->images || !a->times) {
        arch_free(a);
        return cli_error("out of memory for %d images of %d x %d", batch, size, size);
    }
    uint64_t s = 12345;
    for (size_t i = 0; i < n_img; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        a->images[i] = (float)((double)(s >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
    }
    octic_outputs warm = {0};
    if (octic_model_forward(a->m, a->images, batch, size, &warm) != OCTIC_OK) {
        arch_free(a);
        return cli_engine_error();
    }
    return CLI_OK;
}

/* Timed run r. A device queues its ops: the run ends when the queue is
 * done, and the per-op breakdown (which waits after every op) is its own
 * run, in arch_close. */
static octic_status arch_run(bench_arch *a, const octic_backend *be, int batch, int size, int r) {
    int queued = be->synchronize != NULL;
    octic_outputs o = {.profile = queued ? NULL : &a->total};
    double t = now_seconds();
    octic_status st = octic_model_forward(a->m, a->images, batch, size, &o);
    if (queued) be->synchronize(be);
    a->times[r] = now_seconds() - t;
    return st;
}

/* The medians and the per-op means; frees the model. */
static int arch_close(bench_arch *a, const octic_backend *be, int batch, int size, int runs) {
    octic_status st = OCTIC_OK;
    if (be->synchronize) {
        octic_outputs o = {.profile = &a->total};
        st = octic_model_forward(a->m, a->images, batch, size, &o);
        for (int k = 0; k < OCTIC_OP_KINDS; k++) a->total.seconds[k] *= runs, a->total.flops[k] *= runs;
    }
    if (!st) st = octic_device_status(be);
    a->res.device_peak_mb = (double)octic_device_peak_bytes(be) / (1024.0 * 1024.0);
    a->res.packed_mb = (double)octic_model_backend_bytes(a->m) / (1024.0 * 1024.0);
    if (!st) {
        a->res.seconds = median(a->times, runs); /* sorts times */
        a->res.best = a->times[0];
        for (int k = 0; k < OCTIC_OP_KINDS; k++) {
            a->res.prof.seconds[k] = a->total.seconds[k] / runs;
            a->res.prof.flops[k] = a->total.flops[k] / runs;
        }
        a->res.prof.gelu_in_mlp = a->total.gelu_in_mlp;
    }
    arch_free(a);
    return st ? cli_engine_error() : CLI_OK;
}

/* Median over runs of the run's effective GFLOP/s over the faster of the two
 * sgemm products measured just before and just after it (probe[r], probe[r+1]). */
static double paired_ratio(const bench_arch *a, const double *probe, int batch, int runs) {
    double *v = malloc((size_t)runs * sizeof *v);
    if (!v) return -1.0;
    for (int r = 0; r < runs; r++) {
        double g = probe[r] > probe[r + 1] ? probe[r] : probe[r + 1];
        v[r] = 2.0 * a->res.macs_per_image * batch / a->times[r] / 1e9 / g;
    }
    double m = median(v, runs);
    free(v);
    return m;
}

static double images_per_second(const bench_result *r, int batch) { return batch / r->seconds; }
static double effective_gflops(const bench_result *r, int batch) {
    return 2.0 * r->macs_per_image * batch / r->seconds / 1e9;
}

static void print_text(const bench_result *r, const octic_backend *be, int batch, int size, int threads,
                       double sgemm) {
    double eff = effective_gflops(r, batch);
    printf("%s (%s): batch %d, %d x %d, %d thread%s, BLAS %s, backend %s\n", r->arch->title, r->arch->name, batch,
           size, size, threads, threads == 1 ? "" : "s", octic_blas_name(), be->name);
    printf("  %.1f ms per batch, %.1f ms per image, %.2f images/s\n", 1e3 * r->seconds, 1e3 * r->seconds / batch,
           images_per_second(r, batch));
    if (r->device_peak_mb > 0) printf("  peak device memory %.0f MiB\n", r->device_peak_mb);
    printf("  %.1f GMACs per image, effective %.1f GFLOP/s", r->macs_per_image / 1e9, eff);
    if (sgemm > 0)
        printf(" = %.0f%% of sgemm (%.1f GFLOP/s)\n", 100.0 * eff / sgemm, sgemm);
    else
        printf("\n");
    if (r->paired > 0)
        printf("  run by run against the sgemm measured around each run: %.0f%% (median)\n", 100.0 * r->paired);
    printf("  fastest run: %.1f ms per image, effective %.1f GFLOP/s\n", 1e3 * r->best / batch,
           2.0 * r->macs_per_image * batch / r->best / 1e9);
    printf("  %-16s %10s %8s %10s\n", "op", "ms", "share", "GFLOP/s");
    double sum = 0.0;
    for (int k = 0; k < OCTIC_OP_KINDS; k++) sum += r->prof.seconds[k];
    for (int k = 0; k < OCTIC_OP_KINDS; k++) {
        double sec = r->prof.seconds[k];
        if (sec <= 0.0 && r->prof.flops[k] <= 0.0) continue;
        const char *name = octic_op_kind_name((octic_op_kind)k);
        if (k == OCTIC_OP_MLP && r->prof.gelu_in_mlp) name = "MLP (+ GELU)";
        printf("  %-16s %10.2f %7.1f%%", name, 1e3 * sec,
               sum > 0 ? 100.0 * sec / sum : 0.0);
        if (r->prof.flops[k] > 0 && sec > 0)
            printf(" %10.1f\n", r->prof.flops[k] / sec / 1e9);
        else
            printf(" %10s\n", "-");
    }
}

static void print_json_result(const bench_result *r, int batch, double sgemm) {
    double eff = effective_gflops(r, batch);
    printf("\"arch\": ");
    cli_json_string(stdout, r->arch->name);
    printf(", \"seconds_per_batch\": %.6f, \"ms_per_image\": %.3f, \"images_per_second\": %.4f, "
           "\"gmacs_per_image\": %.4f, \"effective_gflops\": %.4f, ",
           r->seconds, 1e3 * r->seconds / batch, images_per_second(r, batch), r->macs_per_image / 1e9, eff);
    if (sgemm > 0) printf("\"ratio_to_sgemm\": %.6f, ", eff / sgemm);
    if (r->paired > 0) printf("\"paired_ratio_to_sgemm\": %.6f, ", r->paired);
    printf("\"best_seconds_per_batch\": %.6f, \"best_effective_gflops\": %.2f, ", r->best,
           2.0 * r->macs_per_image * batch / r->best / 1e9);
    if (r->device_peak_mb > 0) printf("\"peak_device_mb\": %.1f, ", r->device_peak_mb);
    printf("\"weights_mb\": %.1f, \"packed_weights_mb\": %.1f, \"gelu_in_mlp\": %s, \"ops\": [", r->weights_mb,
           r->packed_mb, r->prof.gelu_in_mlp ? "true" : "false");
    for (int k = 0; k < OCTIC_OP_KINDS; k++) {
        double sec = r->prof.seconds[k];
        printf("%s{\"name\": \"%s\", \"ms\": %.3f, \"gflops\": %.2f}", k ? ", " : "",
               octic_op_kind_name((octic_op_kind)k), 1e3 * sec, sec > 0 ? r->prof.flops[k] / sec / 1e9 : 0.0);
    }
    printf("]");
}

int cmd_bench(int argc, char **argv) {
    /* the data path's benchmark is its own command (cmd_bench_data.c) */
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--data") || !strncmp(argv[i], "--data=", 7)) return cmd_bench_data(argc, argv);
    const char *arch = NULL, *batch_text = NULL, *threads_text = NULL, *size_text = NULL, *runs_text = NULL,
               *compare = NULL, *device = NULL, *precision_text = NULL;
    int json = 0, no_sgemm = 0, no_prepack = 0, reference = 0, help = 0, npos = 0;
    const cli_option opts[] = {
        {"--arch", &arch, NULL},       {"--batch", &batch_text, NULL}, {"--threads", &threads_text, NULL},
        {"--size", &size_text, NULL},  {"--runs", &runs_text, NULL},   {"--compare", &compare, NULL},
        {"--no-sgemm", NULL, &no_sgemm}, {"--json", NULL, &json}, {"--reference", NULL, &reference},
        {"--no-prepack", NULL, &no_prepack},
        {"--device", &device, NULL},   {"--precision", &precision_text, NULL},
    };
    int rc = cli_parse(argc, argv, "bench", opts, (int)(sizeof opts / sizeof opts[0]), NULL, 0, &npos, &help);
    if (rc != CLI_OK) return rc;
    if (help) {
        fputs(bench_usage, stdout);
        return CLI_OK;
    }
    if (!arch) return cli_usage_error("bench", "missing --arch NAME");
    int batch = 4, threads = 0, size = 224, runs = 3;
    if (batch_text && (rc = cli_parse_int("bench", "--batch", batch_text, 1, 4096, &batch)) != CLI_OK) return rc;
    /* 0, as for eval: every core */
    if (threads_text && (rc = cli_parse_int("bench", "--threads", threads_text, 0, 1024, &threads)) != CLI_OK)
        return rc;
    if (size_text && (rc = cli_parse_int("bench", "--size", size_text, 1, 8192, &size)) != CLI_OK) return rc;
    if (runs_text && (rc = cli_parse_int("bench", "--runs", runs_text, 1, 1000, &runs)) != CLI_OK) return rc;
    if (!octic_arch_find(arch)) return cli_unknown_arch(arch);
    if (compare && !octic_arch_find(compare)) return cli_unknown_arch(compare);
    octic_precision precision = OCTIC_FLOAT32;
    if (precision_text && !strcmp(precision_text, "bfloat16"))
        precision = OCTIC_BFLOAT16;
    else if (precision_text && strcmp(precision_text, "float32"))
        return cli_usage_error("bench", "--precision expects float32 or bfloat16, got '%s'", precision_text);
    if (reference && device && strcmp(device, "cpu"))
        return cli_usage_error("bench", "--reference runs on the CPU: it takes no --device %s", device);
    threads = octic_cpu_set_threads(threads);
    if (no_prepack) octic_cpu_set_prepack(0);
    const octic_backend *be = octic_cpu_reference_backend();
    if (!reference) {
        if ((rc = cli_select_device("bench", device, precision)) != CLI_OK) return rc;
        be = cli_device();
    }
    int on_cuda = octic_backend_is_cuda(be);
    if (precision == OCTIC_BFLOAT16 && !on_cuda)
        return cli_error("--precision bfloat16 runs on the CUDA backend only (this run is on the CPU)");

    /* the sgemm first, its buffers freed before the models exist */
    double first[PROBE_FIRST];
    double sgemm = no_sgemm || on_cuda ? -1.0 : sgemm_gflops(first);
    double sgemm_median = -1.0; /* of every product timed, where the best is their top */
    int sgemm_products = 0;
    bench_arch a, b;
    if ((rc = arch_open(arch, be, batch, size, runs, &a)) != CLI_OK) return rc;
    if (compare && (rc = arch_open(compare, be, batch, size, runs, &b)) != CLI_OK) {
        arch_free(&a);
        return rc;
    }
    /* the models, their activations and inputs are all allocated by now */
    double rss = peak_rss_mb();
    /* The timed runs: the two architectures alternate, and one sgemm
     * product is timed before the first run and after each round, so that
     * a machine whose speed drifts (a shared VM) slows both models alike
     * and every run has the sgemm of its own moment beside it. */
    sgemm_probe probe = {0};
    double *probes = NULL;
    if (sgemm > 0 && probe_init(&probe)) probes = malloc((size_t)(runs + 1) * sizeof *probes);
    if (probes) probes[0] = probe_gflops(&probe);
    octic_status st = OCTIC_OK;
    cpu_times before = read_cpu_times();
    for (int r = 0; r < runs && !st; r++) {
        st = arch_run(&a, be, batch, size, r);
        if (!st && compare) st = arch_run(&b, be, batch, size, r);
        if (probes) probes[r + 1] = probe_gflops(&probe);
    }
    double steal = steal_percent(before, read_cpu_times());
    double *ratios = compare && !st ? malloc((size_t)runs * sizeof *ratios) : NULL;
    double time_ratio = -1.0;
    if (ratios) {
        for (int r = 0; r < runs; r++) ratios[r] = a.times[r] / b.times[r];
        time_ratio = median(ratios, runs);
        free(ratios);
    }
    if (probes && !st) {
        a.res.paired = paired_ratio(&a, probes, batch, runs);
        if (compare) b.res.paired = paired_ratio(&b, probes, batch, runs);
        for (int r = 0; r <= runs; r++)
            if (probes[r] > sgemm) sgemm = probes[r];
        double *all = malloc((size_t)(PROBE_FIRST + runs + 1) * sizeof *all);
        if (all) {
            memcpy(all, first, sizeof first);
            memcpy(all + PROBE_FIRST, probes, (size_t)(runs + 1) * sizeof *probes);
            sgemm_products = PROBE_FIRST + runs + 1;
            sgemm_median = median(all, sgemm_products);
            free(all);
        }
    }
    free(probes);
    probe_free(&probe);
    if (st) {
        arch_free(&a);
        if (compare) arch_free(&b);
        return cli_engine_error();
    }
    bench_result res, cmp;
    rc = arch_close(&a, be, batch, size, runs);
    res = a.res;
    if (compare) {
        int rc2 = arch_close(&b, be, batch, size, runs);
        if (rc == CLI_OK) rc = rc2;
        cmp = b.res;
    }
    if (rc != CLI_OK) return rc;

    if (json) {
        printf("{\"batch\": %d, \"size\": %d, \"threads\": %d, \"runs\": %d, \"blas\": \"%s\", \"backend\": \"%s\", ",
               batch, size, threads, runs, octic_blas_name(), be->name);
        printf("\"precision\": \"%s\", ", precision == OCTIC_BFLOAT16 ? "bfloat16" : "float32");
        if (sgemm > 0) printf("\"sgemm_gflops\": %.4f, ", sgemm);
        if (sgemm_median > 0)
            printf("\"sgemm_median_gflops\": %.4f, \"sgemm_products\": %d, ", sgemm_median, sgemm_products);
        print_json_result(&res, batch, sgemm);
        if (compare) {
            printf(", \"compare\": {");
            print_json_result(&cmp, batch, sgemm);
            printf("}, \"time_ratio\": %.6f", time_ratio);
        }
        if (steal >= 0) printf(", \"steal_percent\": %.2f", steal);
        printf(", \"peak_rss_mb\": %.1f}\n", rss);
        return CLI_OK;
    }
    if (sgemm > 0) {
        printf("sgemm 4096 x 4096 x 1024 (%s, %d thread%s): %.1f GFLOP/s", octic_blas_name(), threads,
               threads == 1 ? "" : "s", sgemm);
        if (sgemm_median > 0)
            printf(", the best of %d products (their median: %.1f, %.0f%% of it)", sgemm_products, sgemm_median,
                   100.0 * sgemm_median / sgemm);
        printf("\n\n");
    }
    print_text(&res, be, batch, size, threads, sgemm);
    if (compare) {
        printf("\n");
        print_text(&cmp, be, batch, size, threads, sgemm);
        printf("\ntime per image: %s / %s = %.3f (median of the runs' ratios; multiply-adds: %.3f)\n",
               res.arch->name, cmp.arch->name, time_ratio, res.macs_per_image / cmp.macs_per_image);
    }
    if (steal >= 0)
        printf("\nsteal time: %.1f%% of the CPU time during the timed runs went to other guests of the\n"
               "hypervisor (figures taken on a busy shared machine are low)\n",
               steal);
    printf("\npeak resident memory %.0f MiB (weights %.0f MiB", rss, res.weights_mb);
    if (compare) printf(" + %.0f MiB", cmp.weights_mb);
    if (res.packed_mb > 0 || (compare && cmp.packed_mb > 0)) {
        printf(", packed for the products %.0f MiB", res.packed_mb);
        if (compare) printf(" + %.0f MiB", cmp.packed_mb);
    }
    printf("; before the sgemm buffers)\n");
    return CLI_OK;
}
