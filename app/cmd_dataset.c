/* octic dataset info|check: what a data set folder holds, and whether every
 * file of it decodes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "loader.h"

static const char dataset_usage[] =
    "usage: octic dataset info ROOT [--extra DIR] [--write-extra] [--json]\n"
    "       octic dataset check ROOT [--split NAME] [--threads T] [--extra DIR] [--json]\n"
    "\n"
    "Data sets in the layouts of the published evaluations, detected from the folder:\n"
    "ImageNet-1k as DINOv2 reads it (labels.txt, train/, val/, test/ and the extra .npy\n"
    "files), ADE20K (ADEChallengeData2016), PASCAL VOC 2012 (VOCdevkit/VOC2012), a\n"
    "folder with one subfolder per class, or a folder of images.\n"
    "\n"
    "  info    the layout, the splits and their item counts, the classes, and the files\n"
    "          skipped while reading the folder (with the reason)\n"
    "  check   decodes and preprocesses every image (and mask) as an evaluation would;\n"
    "          lists every unreadable or skipped file with the reason and exits non-zero\n"
    "          when there is any\n"
    "\n"
    "options:\n"
    "  --extra DIR     ImageNet: the folder of the extra files (default ROOT/extra, or ROOT\n"
    "                  when it holds them)\n"
    "  --write-extra   ImageNet: write the extra files that are missing (as DINOv2's\n"
    "                  dump_extra would) instead of building them in memory each time\n"
    "  --split NAME    check only this split\n"
    "  --threads T     decoding threads (default: every core)\n"
    "  --json          print one JSON object\n";

static int open_dataset(const char *root, const char *extra, int write_extra, octic_dataset **ds) {
    struct stat sb;
    if (extra && !write_extra) { /* the extra files are read from it */
        if (stat(extra, &sb) != 0) return cli_error("--extra %s: %s", extra, strerror(errno));
        if (!S_ISDIR(sb.st_mode)) return cli_error("--extra %s: not a folder", extra);
    }
    octic_dataset_options o = {extra, write_extra};
    if (octic_dataset_open(root, &o, ds) != OCTIC_OK) return cli_engine_error();
    if ((extra || write_extra) && octic_dataset_layout(*ds) != OCTIC_LAYOUT_IMAGENET) {
        int rc = cli_error("%s: %s applies to an ImageNet (its extra files); this is %s", root,
                           extra ? "--extra" : "--write-extra", octic_layout_name(octic_dataset_layout(*ds)));
        octic_dataset_close(*ds);
        *ds = NULL;
        return rc;
    }
    return CLI_OK;
}

/* ---- info ---- */

#define MAX_LISTED 20 /* classes and problems printed in text mode */

static void print_problems_text(const octic_dataset *ds) {
    size_t n = octic_dataset_problem_count(ds);
    if (!n) return;
    printf("skipped while reading the folder: %zu\n", n);
    for (size_t i = 0; i < n && i < MAX_LISTED; i++) {
        const char *p, *r;
        octic_dataset_problem(ds, i, &p, &r);
        printf("  %s: %s\n", p, r);
    }
    if (n > MAX_LISTED) printf("  ... %zu more (--json lists all)\n", n - MAX_LISTED);
}

static void print_problems_json(const octic_dataset *ds) {
    printf("\"skipped\": [");
    for (size_t i = 0; i < octic_dataset_problem_count(ds); i++) {
        const char *p, *r;
        octic_dataset_problem(ds, i, &p, &r);
        printf("%s{\"path\": ", i ? ", " : "");
        cli_json_string(stdout, p);
        printf(", \"reason\": ");
        cli_json_string(stdout, r);
        printf("}");
    }
    printf("]");
}

static int dataset_info(int argc, char **argv) {
    const char *extra = NULL, *pos[1];
    int json = 0, write_extra = 0, help = 0, npos = 0;
    const cli_option opts[] = {
        {"--extra", &extra, NULL}, {"--write-extra", NULL, &write_extra}, {"--json", NULL, &json}};
    int rc = cli_parse(argc, argv, "dataset info", opts, 3, pos, 1, &npos, &help);
    if (rc != CLI_OK) return rc;
    if (help) {
        fputs(dataset_usage, stdout);
        return CLI_OK;
    }
    if (npos != 1) return cli_usage_error("dataset info", "expected one data set folder");
    octic_dataset *ds;
    if ((rc = open_dataset(pos[0], extra, write_extra, &ds)) != CLI_OK) return rc;
    int nsplits = octic_dataset_split_count(ds), nclasses = octic_dataset_class_count(ds);
    int ignored[8], nignored = octic_dataset_ignored_labels(ds, ignored);
    const char *extra_dir = octic_dataset_extra_dir(ds);
    if (json) {
        printf("{\"root\": ");
        cli_json_string(stdout, octic_dataset_root(ds));
        printf(", \"layout\": \"%s\", \"segmentation\": %s", octic_layout_name(octic_dataset_layout(ds)),
               octic_dataset_is_segmentation(ds) ? "true" : "false");
        if (extra_dir) {
            printf(", \"extra\": ");
            cli_json_string(stdout, extra_dir);
        }
        printf(", \"splits\": [");
        for (int s = 0; s < nsplits; s++) {
            printf("%s{\"name\": ", s ? ", " : "");
            cli_json_string(stdout, octic_dataset_split_name(ds, s));
            printf(", \"items\": %zu", octic_dataset_item_count(ds, s));
            if (extra_dir) printf(", \"extra_generated\": %s", octic_dataset_extra_generated(ds, s) ? "true" : "false");
            printf("}");
        }
        printf("], \"classes\": [");
        for (int c = 0; c < nclasses; c++) {
            printf("%s{\"id\": ", c ? ", " : "");
            cli_json_string(stdout, octic_dataset_class_id(ds, c));
            printf(", \"name\": ");
            cli_json_string(stdout, octic_dataset_class_name(ds, c));
            printf("}");
        }
        printf("], \"ignored_labels\": [");
        for (int i = 0; i < nignored; i++) printf("%s%d", i ? ", " : "", ignored[i]);
        printf("], ");
        print_problems_json(ds);
        printf("}\n");
    } else {
        printf("root: %s\n", octic_dataset_root(ds));
        printf("layout: %s%s\n", octic_layout_name(octic_dataset_layout(ds)),
               octic_dataset_is_segmentation(ds) ? " (segmentation)" : "");
        if (extra_dir) printf("extra files: %s\n", extra_dir);
        printf("splits:\n");
        for (int s = 0; s < nsplits; s++) {
            printf("  %-12s %zu items", octic_dataset_split_name(ds, s), octic_dataset_item_count(ds, s));
            if (extra_dir && octic_dataset_extra_generated(ds, s))
                printf(write_extra ? " (extra files generated and written)" : " (extra files missing: built from the folders)");
            printf("\n");
        }
        printf("classes: %d\n", nclasses);
        for (int c = 0; c < nclasses && c < MAX_LISTED; c++) {
            const char *id = octic_dataset_class_id(ds, c), *name = octic_dataset_class_name(ds, c);
            if (strcmp(id, name) == 0) printf("  %4d  %s\n", c, name);
            else printf("  %4d  %s  %s\n", c, id, name);
        }
        if (nclasses > MAX_LISTED) printf("  ... %d more (--json lists all)\n", nclasses - MAX_LISTED);
        if (nignored) {
            printf("ignored labels:");
            for (int i = 0; i < nignored; i++) printf(" %d", ignored[i]);
            printf("\n");
        }
        print_problems_text(ds);
    }
    octic_dataset_close(ds);
    return CLI_OK;
}

/* ---- check ---- */

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int dataset_check(int argc, char **argv) {
    const char *extra = NULL, *split_name = NULL, *threads_text = NULL, *pos[1];
    int json = 0, help = 0, npos = 0;
    const cli_option opts[] = {{"--extra", &extra, NULL},
                               {"--split", &split_name, NULL},
                               {"--threads", &threads_text, NULL},
                               {"--json", NULL, &json}};
    int rc = cli_parse(argc, argv, "dataset check", opts, 4, pos, 1, &npos, &help);
    if (rc != CLI_OK) return rc;
    if (help) {
        fputs(dataset_usage, stdout);
        return CLI_OK;
    }
    if (npos != 1) return cli_usage_error("dataset check", "expected one data set folder");
    int threads = 0;
    if (threads_text && (rc = cli_parse_int("dataset check", "--threads", threads_text, 1, 256, &threads)) != CLI_OK)
        return rc;
    octic_dataset *ds;
    if ((rc = open_dataset(pos[0], extra, 0, &ds)) != CLI_OK) return rc;
    int only = -1;
    if (split_name && (only = octic_dataset_find_split(ds, split_name)) < 0) {
        char names[256] = "";
        for (int s = 0; s < octic_dataset_split_count(ds); s++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", s ? ", " : "",
                     octic_dataset_split_name(ds, s));
        rc = cli_usage_error("dataset check", "%s has no split '%s' (it has: %s)", octic_dataset_root(ds), split_name,
                             names[0] ? names : "none");
        octic_dataset_close(ds);
        return rc;
    }
    int tty = isatty(2) && !json;
    double t0 = now_seconds();
    size_t total = 0, unreadable = 0, readable = 0;
    if (json) {
        printf("{\"root\": ");
        cli_json_string(stdout, octic_dataset_root(ds));
        printf(", \"layout\": \"%s\", \"splits\": [", octic_layout_name(octic_dataset_layout(ds)));
    } else {
        printf("root: %s (%s)\n", octic_dataset_root(ds), octic_layout_name(octic_dataset_layout(ds)));
    }
    int first_split = 1;
    for (int s = 0; s < octic_dataset_split_count(ds) && rc == CLI_OK; s++) {
        if (only >= 0 && s != only) continue;
        octic_loader_options o = octic_loader_defaults();
        o.split = s;
        o.threads = threads;
        o.batch_size = 16;
        o.transform = octic_dataset_is_segmentation(ds) ? OCTIC_TRANSFORM_SEGMENT : OCTIC_TRANSFORM_CLASSIFY;
        octic_loader *ld;
        if (octic_loader_open(ds, &o, &ld) != OCTIC_OK) {
            rc = cli_engine_error();
            break;
        }
        size_t n = octic_loader_item_count(ld), done = 0;
        octic_batch b;
        while (octic_loader_next(ld, &b) == OCTIC_OK && b.count > 0) {
            done += (size_t)b.count;
            if (tty)
                fprintf(stderr, "\r%s: %zu of %zu", octic_dataset_split_name(ds, s),
                        done + octic_loader_skipped(ld), n);
        }
        if (tty) fprintf(stderr, "\r\033[K");
        size_t bad = octic_loader_skipped(ld);
        total += n;
        unreadable += bad;
        readable += done;
        if (json) {
            printf("%s{\"name\": ", first_split ? "" : ", ");
            cli_json_string(stdout, octic_dataset_split_name(ds, s));
            printf(", \"items\": %zu, \"readable\": %zu, \"unreadable\": [", n, done);
        } else {
            printf("%-12s %zu items, %zu readable, %zu unreadable\n", octic_dataset_split_name(ds, s), n, done, bad);
        }
        for (size_t i = 0; i < bad; i++) {
            size_t index;
            const char *p, *r;
            octic_loader_skipped_item(ld, i, &index, &p, &r);
            if (json) {
                printf("%s{\"index\": %zu, \"path\": ", i ? ", " : "", index);
                cli_json_string(stdout, p);
                printf(", \"reason\": ");
                cli_json_string(stdout, r);
                printf("}");
            } else {
                printf("  unreadable: %s: %s\n", p, r);
            }
        }
        if (json) printf("]}");
        first_split = 0;
        octic_loader_close(ld);
    }
    size_t skipped = octic_dataset_problem_count(ds);
    double seconds = now_seconds() - t0;
    if (rc == CLI_OK) {
        if (json) {
            printf("], ");
            print_problems_json(ds);
            printf(", \"items\": %zu, \"readable\": %zu, \"unreadable_count\": %zu, \"skipped_count\": %zu, "
                   "\"seconds\": %.3f}\n",
                   total, readable, unreadable, skipped, seconds);
        } else {
            print_problems_text(ds);
            printf("%zu of %zu items readable in %.1f s\n", readable, total, seconds);
        }
        fflush(stdout);
        if (unreadable || skipped)
            rc = cli_error("%s: %zu unreadable file%s, %zu skipped while reading the folder", octic_dataset_root(ds),
                           unreadable, unreadable == 1 ? "" : "s", skipped);
    }
    octic_dataset_close(ds);
    return rc;
}

int cmd_dataset(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("dataset", "expected 'info' or 'check'");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(dataset_usage, stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "info") == 0) return dataset_info(argc - 1, argv + 1);
    if (strcmp(argv[1], "check") == 0) return dataset_check(argc - 1, argv + 1);
    return cli_usage_error("dataset", "unknown subcommand '%s': expected 'info' or 'check'", argv[1]);
}
