/* octic bench --data ROOT: how fast the data path of the classification
 * evaluation runs (decoding + the eval transform), and whether the loader
 * keeps a slower consumer busy. Reached through `octic bench` when --data is
 * among its arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "image.h"
#include "loader.h"

static const char bench_data_usage[] =
    "usage: octic bench --data ROOT [--split NAME] [--threads T] [--images N] [--batch B] [--json]\n"
    "\n"
    "Measures the data path of the classification evaluation on the images of a data set\n"
    "(ImageNet-sized JPEGs, about 500 x 375, are what the published evaluations read):\n"
    "decoding and the eval transform (shorter side to 256 with PIL's antialiased bicubic,\n"
    "center crop 224, normalize), exactly as the evaluations run it.\n"
    "\n"
    "  1. one thread, no loader: median milliseconds per image to decode and to transform\n"
    "  2. the loader with T worker threads, the consumer only taking the batches: images per\n"
    "     second, per worker thread, and per CPU-second the process used\n"
    "  3. the loader with T workers feeding a consumer that needs 1.25 times longer per batch\n"
    "     than the loader did in 2 (a stand-in for a slower engine: it sleeps): the share of\n"
    "     its time the consumer waited for data after the first batch (0 = always busy)\n"
    "\n"
    "options:\n"
    "  --data ROOT    the data set folder ('octic dataset info ROOT' describes it)\n"
    "  --split NAME   the split (default: val if there is one, else the first)\n"
    "  --threads T    loader worker threads (default: every core)\n"
    "  --images N     images per measurement, going over the split again if it is smaller\n"
    "                 (default 512)\n"
    "  --batch B      batch size (default 32)\n"
    "  --json         print one JSON object\n";

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void sleep_seconds(double s) {
    if (s <= 0) return;
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&t, &t) != 0) {
    }
}

typedef struct {
    size_t images;      /* delivered */
    size_t skipped;
    double seconds;     /* wall */
    double cpu;         /* process CPU seconds */
    double wait_after_first; /* consumer waits after the first batch */
    double after_first; /* wall time after the first batch */
} run_result;

/* One loader over the split, as many passes as it takes to deliver `images`
 * images; the consumer sleeps `consumer_s` per batch. */
static int run_loader(const octic_dataset *ds, int split, int threads, int batch, size_t images, double consumer_s,
                      run_result *r) {
    memset(r, 0, sizeof *r);
    size_t count = octic_dataset_item_count(ds, split);
    octic_loader_options o = octic_loader_defaults();
    o.split = split;
    o.threads = threads;
    o.batch_size = batch;
    o.epochs = (int)((images + count - 1) / count);
    double t0 = now_seconds(), c0 = cpu_seconds(), first_done = 0, wait_at_first = 0;
    octic_loader *ld;
    if (octic_loader_open(ds, &o, &ld) != OCTIC_OK) return cli_engine_error();
    octic_batch b;
    while (r->images < images && octic_loader_next(ld, &b) == OCTIC_OK && b.count > 0) {
        r->images += (size_t)b.count;
        if (first_done == 0) {
            /* The queue starts empty: waiting for the first batch is not
             * the loader falling behind. */
            octic_loader_stats st;
            octic_loader_get_stats(ld, &st);
            first_done = now_seconds();
            wait_at_first = st.consumer_wait_s;
        }
        sleep_seconds(consumer_s);
    }
    double t1 = now_seconds();
    octic_loader_stats st;
    octic_loader_get_stats(ld, &st);
    r->seconds = t1 - t0;
    r->cpu = cpu_seconds() - c0;
    r->after_first = t1 - first_done;
    r->wait_after_first = st.consumer_wait_s - wait_at_first;
    r->skipped = st.skipped;
    octic_loader_close(ld);
    if (r->images == 0)
        return cli_error("%s: no image of split '%s' could be decoded (see 'octic dataset check')",
                         octic_dataset_root(ds), octic_dataset_split_name(ds, split));
    return CLI_OK;
}

int cmd_bench_data(int argc, char **argv) {
    const char *root = NULL, *split_name = NULL, *threads_text = NULL, *images_text = NULL, *batch_text = NULL;
    int json = 0, help = 0, npos = 0;
    const cli_option opts[] = {{"--data", &root, NULL},       {"--split", &split_name, NULL},
                               {"--threads", &threads_text, NULL}, {"--images", &images_text, NULL},
                               {"--batch", &batch_text, NULL}, {"--json", NULL, &json}};
    int rc = cli_parse(argc, argv, "bench", opts, (int)(sizeof opts / sizeof opts[0]), NULL, 0, &npos, &help);
    if (rc != CLI_OK) return rc;
    if (help) {
        fputs(bench_data_usage, stdout);
        return CLI_OK;
    }
    if (!root) return cli_usage_error("bench", "missing --data ROOT");
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cores > 0 ? (int)cores : 1, images = 512, batch = 32;
    if (threads_text && (rc = cli_parse_int("bench", "--threads", threads_text, 1, 256, &threads)) != CLI_OK)
        return rc;
    if (images_text && (rc = cli_parse_int("bench", "--images", images_text, 1, 10000000, &images)) != CLI_OK)
        return rc;
    if (batch_text && (rc = cli_parse_int("bench", "--batch", batch_text, 1, 4096, &batch)) != CLI_OK) return rc;

    octic_dataset *ds;
    if (octic_dataset_open(root, NULL, &ds) != OCTIC_OK) return cli_engine_error();
    int split = split_name ? octic_dataset_find_split(ds, split_name) : octic_dataset_find_split(ds, "val");
    if (split < 0 && !split_name) split = 0;
    if (split < 0 || split >= octic_dataset_split_count(ds) || octic_dataset_item_count(ds, split) == 0) {
        rc = split_name ? cli_usage_error("bench", "%s has no split '%s'", octic_dataset_root(ds), split_name)
                        : cli_error("%s: no images to measure", octic_dataset_root(ds));
        octic_dataset_close(ds);
        return rc;
    }

    /* 1. One thread, no loader: decode and transform apart. */
    size_t count = octic_dataset_item_count(ds, split), n1 = count < 64 ? count : 64, ok = 0;
    double *dec = malloc(n1 * sizeof *dec), *tra = malloc(n1 * sizeof *tra);
    float *out = malloc(3 * 224 * 224 * sizeof *out);
    double pixels = 0;
    if (!dec || !tra || !out) {
        free(dec);
        free(tra);
        free(out);
        octic_dataset_close(ds);
        return cli_error("out of memory");
    }
    for (size_t i = 0; i < n1; i++) {
        octic_dataset_item it;
        octic_dataset_get_item(ds, split, i, &it);
        octic_image img;
        double t0 = now_seconds();
        if (octic_image_load(it.image, &img) != OCTIC_OK) continue;
        double t1 = now_seconds();
        octic_status st = octic_preprocess(&img, OCTIC_TRANSFORM_CLASSIFY, 224, 256, 1, out);
        double t2 = now_seconds();
        if (st == OCTIC_OK) {
            dec[ok] = t1 - t0;
            tra[ok] = t2 - t1;
            pixels += (double)img.width * img.height;
            ok++;
        }
        octic_image_free(&img);
    }
    free(out);
    double mean_pixels = ok ? pixels / (double)ok : 0;
    double dec_ms = 1e3 * median(dec, ok), tra_ms = 1e3 * median(tra, ok);
    free(dec);
    free(tra);
    if (!ok) {
        rc = cli_error("%s: no image of split '%s' could be decoded (see 'octic dataset check')", root,
                       octic_dataset_split_name(ds, split));
        octic_dataset_close(ds);
        return rc;
    }

    /* 2. The loader, the consumer only taking batches. */
    run_result fast, slow;
    if ((rc = run_loader(ds, split, threads, batch, (size_t)images, 0, &fast)) != CLI_OK) {
        octic_dataset_close(ds);
        return rc;
    }
    double ips = (double)fast.images / fast.seconds;
    /* 3. A consumer 1.25x slower than the loader. */
    double per_batch = 1.25 * (double)batch / ips;
    if ((rc = run_loader(ds, split, threads, batch, (size_t)images, per_batch, &slow)) != CLI_OK) {
        octic_dataset_close(ds);
        return rc;
    }
    double idle = slow.after_first > 0 ? slow.wait_after_first / slow.after_first : 0;

    if (json) {
        printf("{\"root\": ");
        cli_json_string(stdout, octic_dataset_root(ds));
        printf(", \"split\": ");
        cli_json_string(stdout, octic_dataset_split_name(ds, split));
        printf(", \"transform\": \"classify\", \"threads\": %d, \"cores\": %ld, \"batch\": %d, "
               "\"mean_megapixels\": %.4f, \"single_thread\": {\"images\": %zu, \"decode_ms\": %.3f, "
               "\"transform_ms\": %.3f, \"images_per_second\": %.1f}, "
               "\"loader\": {\"images\": %zu, \"skipped\": %zu, \"seconds\": %.3f, \"images_per_second\": %.1f, "
               "\"images_per_second_per_thread\": %.1f, \"images_per_cpu_second\": %.1f}, "
               "\"slow_consumer\": {\"seconds_per_batch\": %.4f, \"images\": %zu, \"idle_fraction\": %.4f, "
               "\"waited_seconds\": %.4f}}\n",
               threads, cores, batch, mean_pixels / 1e6, ok, dec_ms, tra_ms, 1e3 / (dec_ms + tra_ms), fast.images,
               fast.skipped, fast.seconds, ips, ips / threads, fast.cpu > 0 ? (double)fast.images / fast.cpu : 0,
               per_batch, slow.images, idle, slow.wait_after_first);
    } else {
        printf("data: %s, split %s (%zu items), classification eval transform (256, crop 224)\n",
               octic_dataset_root(ds), octic_dataset_split_name(ds, split), count);
        printf("images: %.3f megapixels on average\n", mean_pixels / 1e6);
        printf("one thread, no loader (%zu images): decode %.2f ms, transform %.2f ms per image (medians) = %.0f "
               "images/s\n",
               ok, dec_ms, tra_ms, 1e3 / (dec_ms + tra_ms));
        printf("loader, %d worker thread%s, batch %d (%zu images%s): %.0f images/s = %.0f per thread, %.0f per "
               "CPU-second\n",
               threads, threads == 1 ? "" : "s", batch, fast.images, fast.skipped ? ", some files skipped" : "", ips,
               ips / threads, fast.cpu > 0 ? (double)fast.images / fast.cpu : 0);
        printf("consumer taking %.1f ms per batch (1.25x the loader's time): waited %.1f%% of the time after the "
               "first batch\n",
               1e3 * per_batch, 100 * idle);
    }
    octic_dataset_close(ds);
    return CLI_OK;
}
