/* octic eval: the evaluation protocols on a model and a data set, recorded in
 * the results database; and the k-NN / logistic-regression benchmarks. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blas.h"
#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "extract.h"
#include "knn.h"
#include "logreg.h"
#include "protocols.h"
#include "results_db.h"
#include "runner.h"

static const char eval_usage[] =
    "usage: octic eval knn|linear|seg MODEL --data ROOT [options]\n"
    "       octic eval bench-knn [--train N] [--queries M] [--dim D] [--classes K]\n"
    "       octic eval bench-logreg [--rows N] [--dim D] [--classes K] [--max-iter N]\n"
    "\n"
    "Evaluates a model (.pth or .safetensors) on a data set with the published protocols\n"
    "and records the run, every parameter and every number in the results database:\n"
    "  knn     DINOv2 weighted k-NN on the class token (k 10, 20, 100, 200; T 0.07; top-1/5;\n"
    "          a k past the train split's size is left out, or, where none is left, is that size)\n"
    "  linear  DINOv2 linear probe: 52 heads (last 1 or 4 class tokens, with or without the\n"
    "          pooled patch tokens, 13 learning rates), SGD momentum 0.9, cosine schedule,\n"
    "          10 x 1250 iterations at batch 128; training images augmented, so the backbone\n"
    "          runs every step (protocol linear-dinov2). --cached trains the same heads on\n"
    "          cached features without augmentation (protocol linear-cached)\n"
    "  seg     capi segmentation protocol: patch features, labels by mode, ignored labels,\n"
    "          standardization, settings chosen on 10% of train; k-NN (k 1, 3, 10, 30;\n"
    "          cosine, L2) and logistic regression (L-BFGS, 8 values of C); mIoU, pixel\n"
    "          accuracy and per-class IoU\n"
    "Features are cached by the checkpoint's content hash and the rest of the key, and an\n"
    "interrupted extraction resumes where it stopped. Progress and ETA go to stderr.\n"
    "\n"
    "options:\n"
    "  --data ROOT          the data set (ImageNet, ADE20K, VOC 2012 or a folder per class)\n"
    "  --split TRAIN:VAL    splits to train and score on (default: the set's first two)\n"
    "  --subset SPEC        first:N, per-class:N or random:N images of each split\n"
    "  --db FILE            results database (default: $XDG_DATA_HOME/octiscope/results.sqlite)\n"
    "  --cache DIR          feature cache (default: $XDG_CACHE_HOME/octiscope/features)\n"
    "  --heads N            attention heads (see 'octic info --help')\n"
    "  --device D           auto (default: CUDA when a usable GPU is present), cpu or cuda\n"
    "  --size N             image side (224); --resize N: shorter side before the crop (256)\n"
    "  --batch-size N       images per forward pass (32)\n"
    "  --threads N          image decoding threads (all CPUs)\n"
    "  --seed N             sampling, held-out split and head initialization (0)\n"
    "  knn:    --ks 10,20,100,200  --temperature 0.07\n"
    "  linear: --cached  --epochs 10  --epoch-length 1250  --train-batch 128\n"
    "          --lrs 1e-5,...,0.1  --momentum 0.9\n"
    "  seg:    --cs C1,C2,..  --max-iter 1000  --tol 1e-12  --memory 5\n"
    "          --seg-ks 1,3,10,30  --classifiers knn,logreg  --holdout 0.1\n"
    "bench-knn and bench-logreg time the classifiers on synthetic clustered features\n"
    "(GFLOP/s, peak memory; k-NN beside a plain sgemm): bench-knn --train 100000 --queries 10000\n"
    "--dim 1024 --classes 1000 (k 10, 20, 100, 200); bench-logreg --rows 200000 --dim 1024\n"
    "--classes 150 --max-iter 100.\n";

/* ---- progress line ------------------------------------------------------------- */

typedef struct {
    char phase[128];
    double phase_start, last_print;
    const char *model; /* as given, for the run's first line */
    int tty;
    int printed;
    int tenth; /* not a terminal: the last tenth of the phase reported */
} progress_state;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void format_eta(char *buf, size_t len, double s) {
    if (!isfinite(s) || s < 0) snprintf(buf, len, "--:--");
    else if (s >= 3600) snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else snprintf(buf, len, "%02d:%02d", (int)(s / 60), (int)fmod(s, 60));
}

static void progress_phase(void *user, const char *name) {
    progress_state *p = user;
    if (p->tty && p->printed) fputc('\n', stderr);
    snprintf(p->phase, sizeof p->phase, "%s", name);
    p->phase_start = now_s();
    p->last_print = 0;
    p->printed = 0;
    p->tenth = 0;
    if (!p->tty) fprintf(stderr, "octic eval: %s\n", name);
}

static void progress_note(void *user, const char *text) {
    progress_state *p = user;
    if (p->tty && p->printed) fputc('\n', stderr), p->printed = 0; /* below the progress line */
    fprintf(stderr, "octic eval: note: %s\n", text);
}

static int progress_update(void *user, int64_t done, int64_t total) {
    progress_state *p = user;
    double t = now_s();
    if (!p->tty && total > 0) {
        /* a log (2>file, nohup, a batch job): a line at each tenth of the phase */
        int tenth = (int)(10 * done / total);
        if (tenth > p->tenth) {
            double el = t - p->phase_start;
            char e[32], spent[32];
            format_eta(e, sizeof e, done > 0 ? el * (double)(total - done) / (double)done : NAN);
            format_eta(spent, sizeof spent, el);
            fprintf(stderr, "octic eval: %s %lld/%lld (%d%%), %s elapsed, ETA %s\n", p->phase, (long long)done,
                    (long long)total, (int)(100 * done / total), spent, e);
            p->tenth = tenth;
        }
    }
    if (p->tty && (t - p->last_print > 0.2 || done == total)) {
        double el = t - p->phase_start;
        double eta = done > 0 ? el * (double)(total - done) / (double)done : NAN;
        char e[32], spent[32];
        format_eta(e, sizeof e, eta);
        format_eta(spent, sizeof spent, el);
        fprintf(stderr, "\r\033[K%s: %lld/%lld (%.0f%%) %s elapsed, ETA %s", p->phase, (long long)done,
                (long long)total, total ? 100.0 * done / total : 100.0, spent, e);
        fflush(stderr);
        p->last_print = t;
        p->printed = 1;
    }
    return cli_signals_caught() != 0;
}

static void run_started(void *user, int64_t run_id, const char *protocol, const char *root) {
    progress_state *p = user;
    fprintf(stderr, "octic eval: run %lld (%s) of %s on %s\n", (long long)run_id, protocol, p->model, root);
    if (strstr(protocol, "-custom"))
        fprintf(stderr, "octic eval: settings other than the published protocol's: recorded as %s, apart from "
                        "the papers' numbers\n", protocol);
    /* from now on SIGINT and SIGTERM cancel the run, recorded as cancelled */
    cli_signals_cancel(1);
}

static void progress_end(progress_state *p) {
    if (p->tty && p->printed) fputc('\n', stderr);
    p->printed = 0;
}

/* ---- option lists ----------------------------------------------------------------- */

/* "a,b,c" into out[max]; returns the count or -1. */
/* "a,b,c" into out[max]; returns the count or -1. Every item is a number
 * in decimal (no hexadecimal, no empty item: "1,,3" and "1,2," are refused);
 * with `whole`, digits only. */
static int parse_numbers(const char *text, double *out, int max, int whole) {
    int n = 0;
    const char *s = text;
    while (*s) {
        char *end = NULL;
        errno = 0;
        const char *digits = s + (*s == '-' || *s == '+');
        if (!(isdigit((unsigned char)*digits) || (*digits == '.' && !whole)) ||
            (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')))
            return -1;
        double v = strtod(s, &end);
        if (end == s || errno || !isfinite(v) || n == max) return -1;
        if (whole)
            for (const char *c = digits; c < end; c++)
                if (!isdigit((unsigned char)*c)) return -1;
        out[n++] = v;
        if (*end == ',') {
            end++;
            while (*end == ' ') end++; /* "10, 20" as the studio writes lists */
            if (!*end) return -1;
        } else if (*end) {
            return -1;
        }
        s = end;
    }
    return n;
}

static int parse_doubles(const char *text, double *out, int max) { return parse_numbers(text, out, max, 0); }

static int parse_ints(const char *command, const char *option, const char *text, int *out, int max, int *n) {
    double v[64];
    int k = parse_numbers(text, v, max < 64 ? max : 64, 1);
    if (k <= 0)
        return cli_usage_error(command, "%s expects a comma-separated list of at most %d positive integers, got '%s'",
                               option, max, text);
    for (int i = 0; i < k; i++) {
        if (v[i] < 1 || v[i] > 1e6)
            return cli_usage_error(command, "%s expects positive integers up to 1000000, got '%s'", option, text);
        out[i] = (int)v[i];
    }
    *n = k;
    return CLI_OK;
}

static int parse_double(const char *option, const char *text, double lo, double hi, double *out) {
    double v;
    if (parse_doubles(text, &v, 1) != 1 || !(v >= lo && v <= hi))
        return cli_usage_error("eval", "%s expects a number in [%g, %g], got '%s'", option, lo, hi, text);
    *out = v;
    return CLI_OK;
}

static int parse_subset(const char *text, octic_subset *kind, size_t *n) {
    static const struct {
        const char *name;
        octic_subset kind;
    } names[] = {{"first:", OCTIC_SUBSET_FIRST}, {"per-class:", OCTIC_SUBSET_PER_CLASS}, {"random:", OCTIC_SUBSET_RANDOM}};
    for (size_t i = 0; i < 3; i++) {
        size_t len = strlen(names[i].name);
        if (strncmp(text, names[i].name, len) == 0) {
            char *end = NULL;
            errno = 0;
            long long v = strtoll(text + len, &end, 10);
            if (end != text + len && *end == '\0' && v >= 1 && errno == 0) {
                *kind = names[i].kind;
                *n = (size_t)v;
                return CLI_OK;
            }
        }
    }
    return cli_usage_error("eval", "--subset expects first:N, per-class:N or random:N, got '%s'", text);
}

/* ---- the run ------------------------------------------------------------------------- */

static void print_results(const char *protocol, int64_t run_id, const octic_eval_results *r, const char *state) {
    printf("run %lld (%s): %s\n", (long long)run_id, protocol, state);
    for (int i = 0; i < r->n_metrics; i++) printf("  %-18s %.4g\n", r->metrics[i].name, r->metrics[i].value);
}

static int run_eval(const char *what, int argc, char **argv) {
    const char *model_path = NULL, *data = NULL, *split = NULL, *subset = NULL, *db_path = NULL, *cache = NULL;
    const char *heads_t = NULL, *size_t_ = NULL, *resize_t = NULL, *batch_t = NULL, *threads_t = NULL, *seed_t = NULL;
    const char *ks_t = NULL, *temp_t = NULL, *epochs_t = NULL, *elen_t = NULL, *tbatch_t = NULL, *lrs_t = NULL;
    const char *mom_t = NULL, *cs_t = NULL, *maxit_t = NULL, *tol_t = NULL, *mem_t = NULL, *segks_t = NULL;
    const char *classifiers_t = NULL, *holdout_t = NULL, *device = NULL;
    int help = 0, cached = 0, npos = 0;
    const cli_option opts[] = {
        {"--data", &data, NULL},          {"--split", &split, NULL},         {"--subset", &subset, NULL},
        {"--db", &db_path, NULL},         {"--cache", &cache, NULL},         {"--heads", &heads_t, NULL},
        {"--size", &size_t_, NULL},       {"--resize", &resize_t, NULL},     {"--batch-size", &batch_t, NULL},
        {"--threads", &threads_t, NULL},  {"--seed", &seed_t, NULL},         {"--ks", &ks_t, NULL},
        {"--temperature", &temp_t, NULL}, {"--cached", NULL, &cached},       {"--epochs", &epochs_t, NULL},
        {"--epoch-length", &elen_t, NULL}, {"--train-batch", &tbatch_t, NULL}, {"--lrs", &lrs_t, NULL},
        {"--momentum", &mom_t, NULL},     {"--cs", &cs_t, NULL},             {"--max-iter", &maxit_t, NULL},
        {"--tol", &tol_t, NULL},          {"--memory", &mem_t, NULL},        {"--seg-ks", &segks_t, NULL},
        {"--classifiers", &classifiers_t, NULL}, {"--holdout", &holdout_t, NULL}, {"--device", &device, NULL},
    };
    int rc = cli_parse(argc, argv, "eval", opts, (int)(sizeof opts / sizeof opts[0]), &model_path, 1, &npos, &help);
    if (rc != CLI_OK) return rc;
    if (help) {
        fputs(eval_usage, stdout);
        return CLI_OK;
    }
    if (npos != 1) return cli_usage_error("eval", "eval %s takes one MODEL", what);
    if (!data) return cli_usage_error("eval", "eval %s needs --data ROOT", what);

    const int is_knn = strcmp(what, "knn") == 0, is_linear = strcmp(what, "linear") == 0;
    octic_eval_run_request req;
    octic_eval_run_request_defaults(&req, is_knn ? OCTIC_EVAL_KNN : is_linear ? OCTIC_EVAL_LINEAR : OCTIC_EVAL_SEG);
    if ((heads_t && (rc = cli_parse_int("eval", "--heads", heads_t, 1, 4096, &req.heads)) != CLI_OK) ||
        (size_t_ && (rc = cli_parse_int("eval", "--size", size_t_, 8, 4096, &req.size)) != CLI_OK) ||
        (resize_t && (rc = cli_parse_int("eval", "--resize", resize_t, 8, 8192, &req.resize)) != CLI_OK) ||
        (batch_t && (rc = cli_parse_int("eval", "--batch-size", batch_t, 1, 4096, &req.batch_size)) != CLI_OK) ||
        (threads_t && (rc = cli_parse_int("eval", "--threads", threads_t, 0, 1024, &req.threads)) != CLI_OK) ||
        (seed_t && (rc = cli_parse_int("eval", "--seed", seed_t, 0, 2147483647, &req.seed)) != CLI_OK))
        return rc;
    if (size_t_ && !resize_t) req.resize = req.size * 256 / 224;
    if (subset && (rc = parse_subset(subset, &req.subset, &req.subset_n)) != CLI_OK) return rc;

    octic_knn_protocol *kp = &req.knn;
    octic_linear_protocol *lp = &req.linear;
    octic_seg_protocol *sp = &req.seg;
    double d;
    if (ks_t && (rc = parse_ints("eval", "--ks", ks_t, kp->ks, OCTIC_KNN_MAX_K, &kp->n_k)) != CLI_OK) return rc;
    if (temp_t && (rc = parse_double("--temperature", temp_t, 1e-6, 1e6, &d)) != CLI_OK) return rc;
    if (temp_t) kp->temperature = (float)d;
    lp->augment = !cached;
    if ((epochs_t && (rc = cli_parse_int("eval", "--epochs", epochs_t, 1, 1000000, &lp->epochs)) != CLI_OK) ||
        (elen_t && (rc = cli_parse_int("eval", "--epoch-length", elen_t, 1, 100000000, &lp->epoch_length)) != CLI_OK) ||
        (tbatch_t && (rc = cli_parse_int("eval", "--train-batch", tbatch_t, 1, 65536, &lp->batch_size)) != CLI_OK))
        return rc;
    if (lrs_t && (lp->n_lr = parse_doubles(lrs_t, lp->lrs, OCTIC_LINEAR_MAX_LR)) <= 0)
        return cli_usage_error("eval", "--lrs expects a comma-separated list of learning rates, got '%s'", lrs_t);
    for (int i = 0; lrs_t && i < lp->n_lr; i++)
        if (!(lp->lrs[i] > 0 && lp->lrs[i] <= 100))
            return cli_usage_error("eval", "--lrs values must be above 0 and at most 100, got '%s'", lrs_t);
    if (mom_t && (rc = parse_double("--momentum", mom_t, 0.0, 1.0, &lp->momentum)) != CLI_OK) return rc;
    if (cs_t && (sp->n_c = parse_doubles(cs_t, sp->cs, 16)) <= 0)
        return cli_usage_error("eval", "--cs expects a comma-separated list of C values, got '%s'", cs_t);
    for (int i = 0; i < sp->n_c; i++)
        if (!(sp->cs[i] > 0)) return cli_usage_error("eval", "--cs values must be positive, got '%s'", cs_t);
    if ((maxit_t && (rc = cli_parse_int("eval", "--max-iter", maxit_t, 1, 100000000, &sp->max_iter)) != CLI_OK) ||
        (mem_t && (rc = cli_parse_int("eval", "--memory", mem_t, 1, 100, &sp->memory)) != CLI_OK) ||
        (tol_t && (rc = parse_double("--tol", tol_t, 0.0, 1.0, &sp->tol)) != CLI_OK) ||
        (holdout_t && (rc = parse_double("--holdout", holdout_t, 0.01, 0.9, &sp->holdout)) != CLI_OK) ||
        (segks_t && (rc = parse_ints("eval", "--seg-ks", segks_t, sp->ks, 8, &sp->n_k)) != CLI_OK))
        return rc;
    if (classifiers_t) {
        sp->knn = sp->logreg = 0;
        for (const char *c = classifiers_t; *c;) {
            size_t n = strcspn(c, ",");
            if (n == 3 && !strncmp(c, "knn", 3)) sp->knn = 1;
            else if (n == 6 && !strncmp(c, "logreg", 6)) sp->logreg = 1;
            else break;
            c += n + (c[n] == ',');
        }
        size_t len = strlen(classifiers_t);
        if ((!sp->knn && !sp->logreg) || len != (size_t)(sp->knn * 3 + sp->logreg * 6 + (sp->knn && sp->logreg)))
            return cli_usage_error("eval", "--classifiers expects knn, logreg or knn,logreg, got '%s'", classifiers_t);
    }
    /* an option of another protocol would be silently ignored: say so */
    const struct {
        const char *name, *value;
        int given_to;
    } own[] = {{"--ks", ks_t, 0},          {"--temperature", temp_t, 0}, {"--cached", cached ? "" : NULL, 1},
               {"--epochs", epochs_t, 1},  {"--epoch-length", elen_t, 1}, {"--train-batch", tbatch_t, 1},
               {"--lrs", lrs_t, 1},        {"--momentum", mom_t, 1},     {"--cs", cs_t, 2},
               {"--max-iter", maxit_t, 2}, {"--tol", tol_t, 2},          {"--memory", mem_t, 2},
               {"--seg-ks", segks_t, 2},   {"--classifiers", classifiers_t, 2}, {"--holdout", holdout_t, 2}};
    static const char *const protocol_of[] = {"knn", "linear", "seg"};
    const int mine = is_knn ? 0 : is_linear ? 1 : 2;
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (own[i].value && own[i].given_to != mine)
            return cli_usage_error("eval", "%s is an option of eval %s, not of eval %s", own[i].name,
                                   protocol_of[own[i].given_to], what);
    char train_name[64] = "", val_name[64] = "";
    if (split) {
        const char *colon = strchr(split, ':');
        if (!colon || colon == split || !colon[1] || (size_t)(colon - split) >= sizeof train_name)
            return cli_usage_error("eval", "--split expects TRAIN:VAL, got '%s'", split);
        memcpy(train_name, split, (size_t)(colon - split));
        snprintf(val_name, sizeof val_name, "%s", colon + 1);
        req.train_split = train_name, req.val_split = val_name;
    }
    if ((rc = cli_signals_start()) != CLI_OK) return rc;
    if ((rc = cli_select_device("eval", device, OCTIC_FLOAT32)) != CLI_OK) return rc;

    progress_state ps;
    memset(&ps, 0, sizeof ps);
    ps.tty = isatty(2);
    ps.model = model_path;
    req.model = model_path;
    req.backend = cli_device();
    req.data = data;
    req.subset_text = subset;
    req.db = db_path, req.cache = cache;
    req.command = "eval";
    req.started = run_started;
    req.phase = progress_phase;
    req.progress = progress_update;
    req.note = progress_note;
    req.user = &ps;
    octic_eval_run_outcome out;
    octic_status st = octic_eval_run(&req, &out);
    /* signals stay recorded until the process ends: the run is recorded, and
     * a late Ctrl-C must not turn its exit status into a kill's */
    progress_end(&ps);
    if (out.chunks_reused)
        fprintf(stderr, "octic eval: reused %d cached feature chunks, computed %d\n", out.chunks_reused,
                out.chunks_computed);
    if (st == OCTIC_OK) {
        print_results(out.protocol, out.run_id, &out.results, "done");
        rc = CLI_OK;
    } else if (out.unsaved) {
        /* hours of work are not thrown away with the database write */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", octic_last_error());
        print_results(out.protocol, out.run_id, &out.results, "finished, not recorded");
        fflush(stdout);
        rc = cli_error("run %lld finished but its results (above) could not be recorded: %s", (long long)out.run_id,
                       msg);
    } else if (out.state == OCTIC_RUN_CANCELLED) {
        rc = cli_error("run %lld cancelled (%s)", (long long)out.run_id, octic_last_error());
    } else if (out.model_failed) {
        rc = cli_model_error(model_path, req.heads, st);
    } else {
        rc = cli_engine_error();
    }
    octic_eval_results_free(&out.results);
    return rc;
}

/* ---- benchmarks ---------------------------------------------------------------------- */

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Uniform in [-0.5, 0.5) from two integers (a hash, so the class centres need no storage). */
static float hash_uniform(uint64_t a, uint64_t b) {
    uint64_t z = a * 0x9e3779b97f4a7c15ULL + b * 0xbf58476d1ce4e5b9ULL + 0x94d049bb133111ebULL;
    z = (z ^ (z >> 31)) * 0xd6e8feb86659fd93ULL;
    z ^= z >> 32;
    return (float)((z >> 40) & 0xffffff) / 16777216.0f - 0.5f;
}

/* Synthetic features: a random centre per class plus as much noise. */
static void fill_clusters(float *x, int32_t *y, int64_t n, int d, int classes, uint64_t seed) {
    for (int64_t i = 0; i < n; i++) {
        y[i] = (int32_t)((i * 7919) % classes);
        for (int j = 0; j < d; j++)
            x[i * d + j] = hash_uniform(1000 + (uint64_t)y[i], (uint64_t)j) +
                           hash_uniform(seed * 1000003ULL + (uint64_t)i, (uint64_t)j + 7);
    }
}

static int bench(const char *what, int argc, char **argv) {
    const char *a = NULL, *b = NULL, *dim_t = NULL, *cls_t = NULL, *it_t = NULL;
    int help = 0, npos = 0;
    const char *pos[1];
    const int is_knn = strcmp(what, "bench-knn") == 0;
    const cli_option opts[] = {{is_knn ? "--train" : "--rows", &a, NULL}, {"--queries", &b, NULL}, {"--dim", &dim_t, NULL},
                               {"--classes", &cls_t, NULL}, {"--max-iter", &it_t, NULL}};
    int rc = cli_parse(argc, argv, "eval", opts, 5, pos, 0, &npos, &help);
    if (rc != CLI_OK) return rc;
    if (help) {
        fputs(eval_usage, stdout);
        return CLI_OK;
    }
    int n = is_knn ? 100000 : 200000, q = 10000, dim = 1024, classes = is_knn ? 1000 : 150, max_iter = 100;
    if ((a && (rc = cli_parse_int("eval", is_knn ? "--train" : "--rows", a, 1, 100000000, &n)) != CLI_OK) ||
        (b && (rc = cli_parse_int("eval", "--queries", b, 1, 100000000, &q)) != CLI_OK) ||
        (dim_t && (rc = cli_parse_int("eval", "--dim", dim_t, 1, 65536, &dim)) != CLI_OK) ||
        (cls_t && (rc = cli_parse_int("eval", "--classes", cls_t, 2, 1000000, &classes)) != CLI_OK) ||
        (it_t && (rc = cli_parse_int("eval", "--max-iter", it_t, 1, 100000, &max_iter)) != CLI_OK))
        return rc;
    float *x = malloc((size_t)n * dim * sizeof(float));
    int32_t *y = malloc((size_t)n * sizeof(int32_t));
    float *xq = is_knn ? malloc((size_t)q * dim * sizeof(float)) : NULL;
    int32_t *yq = is_knn ? malloc((size_t)q * sizeof(int32_t)) : NULL;
    if (!x || !y || (is_knn && (!xq || !yq))) {
        free(x), free(y), free(xq), free(yq);
        return cli_error("out of memory for %d x %d synthetic features", n, dim);
    }
    fill_clusters(x, y, n, dim, classes, 1);
    double rss0 = peak_rss_mib();
    if (is_knn) {
        fill_clusters(xq, yq, q, dim, classes, 2);
        octic_l2_normalize(x, n, dim);
        octic_l2_normalize(xq, q, dim);
        octic_knn_params p = {4, {10, 20, 100, 200}, 0.07f, classes, 0, 0};
        octic_knn_result res;
        double t0 = now_s();
        if (octic_knn_dinov2(x, y, n, xq, yq, q, dim, &p, NULL, &res, NULL, NULL) != OCTIC_OK) {
            free(x), free(y), free(xq), free(yq);
            return cli_engine_error();
        }
        double t = now_s() - t0;
        /* the sgemm peak in the same process, for the ratio */
        int M = 4096, N = 4096, K = dim;
        float *A = calloc((size_t)M * K, sizeof(float)), *B = calloc((size_t)N * K, sizeof(float)),
              *Cm = malloc((size_t)M * N * sizeof(float));
        double best = 1e30;
        for (int r = 0; A && B && Cm && r < 3; r++) {
            double s0 = now_s();
            octic_sgemm(1, M, N, K, A, K, B, K, 0.0f, Cm, N);
            best = fmin(best, now_s() - s0);
        }
        double gemm_rate = 2.0 * M * N * K / best / 1e9;
        free(A), free(B), free(Cm);
        double flops = 2.0 * (double)n * q * dim;
        printf("k-NN (DINOv2, k 10/20/100/200): %d train x %d queries x %d dims, %d classes (%s)\n", n, q, dim,
               classes, octic_blas_name());
        printf("  time %.2f s, %.1f GFLOP/s for the similarities (sgemm %dx%dx%d alone: %.1f GFLOP/s, %.0f%%)\n", t,
               flops / t / 1e9, M, N, K, gemm_rate, 100.0 * flops / t / 1e9 / gemm_rate);
        printf("  peak memory %.0f MiB (features %.0f MiB; blocks add %.0f MiB)\n", peak_rss_mib(),
               ((double)n + q) * dim * 4 / 1048576.0, peak_rss_mib() - rss0);
        printf("  top-1 at k=20: %.2f%% (synthetic clusters)\n", 100.0 * res.top1[1] / q);
    } else {
        octic_logreg_params p;
        octic_logreg_defaults(&p, 1.0);
        p.max_iter = max_iter;
        octic_logreg_model mdl;
        double t0 = now_s();
        if (octic_logreg_fit(x, y, n, dim, &p, &mdl, NULL, NULL) != OCTIC_OK) {
            free(x), free(y);
            return cli_engine_error();
        }
        double t = now_s() - t0;
        printf("logistic regression (L-BFGS, C=1): %d rows x %d dims, %d classes (%s)\n", n, dim, classes,
               octic_blas_name());
        printf("  %.1f s: %d iterations, %d evaluations (%.2f s each), stop: %s, max|grad| %.3g\n", t, mdl.iterations,
               mdl.evaluations, t / mdl.evaluations, mdl.stop, mdl.grad_max);
        printf("  %.1f GFLOP/s in the two sgemms per evaluation; peak memory %.0f MiB (features %.0f MiB)\n",
               4.0 * n * dim * classes * mdl.evaluations / t / 1e9, peak_rss_mib(), (double)n * dim * 4 / 1048576.0);
        octic_logreg_free(&mdl);
    }
    free(x), free(y), free(xq), free(yq);
    return CLI_OK;
}

int cmd_eval(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2) return cli_usage_error("eval", "expects knn, linear, seg, bench-knn or bench-logreg");
        fputs(eval_usage, stdout);
        return CLI_OK;
    }
    const char *what = argv[1];
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is reported as an error, not a crash */
    if (strcmp(what, "knn") == 0 || strcmp(what, "linear") == 0 || strcmp(what, "seg") == 0)
        return run_eval(what, argc - 1, argv + 1);
    if (strcmp(what, "bench-knn") == 0 || strcmp(what, "bench-logreg") == 0) return bench(what, argc - 1, argv + 1);
    return cli_usage_error("eval", "unknown evaluation '%s' (knn, linear, seg, bench-knn, bench-logreg)", what);
}
