/* octic results: list, show, compare and export the runs of the results
 * database. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fileio.h"
#include "commands.h"
#include "results_db.h"

static const char results_usage[] =
    "usage: octic results list [--protocol P] [--format text|csv|markdown] [--db FILE]\n"
    "       octic results show RUN [--db FILE]\n"
    "       octic results compare RUN RUN... [--baseline RUN] [--metrics M1,M2,..]\n"
    "                             [--format text|csv|markdown] [--db FILE]\n"
    "       octic results export [--protocol P] [--format csv|markdown] [--output FILE] [--db FILE]\n"
    "       octic results check [--db FILE]\n"
    "\n"
    "The runs of the results database (default $XDG_DATA_HOME/octiscope/results.sqlite;\n"
    "see the README's \"Evaluations and the results database\" for querying it with sqlite3).\n"
    "  list     one line per run: id, protocol, state, model, data set, headline metric\n"
    "  show     a run's parameters, metrics, hyper-parameter trials and per-class results\n"
    "  compare  the chosen runs as the papers' tables: models as rows, metrics as\n"
    "           columns, each value with its difference to the baseline run (default:\n"
    "           the first one given); as CSV, the values alone, every digit\n"
    "  export   every metric of every run, one row each (CSV or Markdown)\n"
    "  check    SQLite's integrity check of the file, and the schema version\n"
    "Opening the database marks runs whose process has died as interrupted. These actions\n"
    "read: a database that does not exist, or an empty file, is reported and left as it\n"
    "is (octic eval creates one); one this user may not write is read as it is.\n";

typedef enum { FMT_TEXT, FMT_CSV, FMT_MARKDOWN } out_format;

static int parse_format(const char *text, out_format *f) {
    if (!text || strcmp(text, "text") == 0) *f = FMT_TEXT;
    else if (strcmp(text, "csv") == 0) *f = FMT_CSV;
    else if (strcmp(text, "markdown") == 0 || strcmp(text, "md") == 0) *f = FMT_MARKDOWN;
    else return cli_usage_error("results", "--format expects text, csv or markdown, got '%s'", text);
    return CLI_OK;
}

/* A CSV field, quoted when it needs to be. */
static void csv_field(FILE *f, const char *s) {
    if (strpbrk(s, ",\"\n\r") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A Markdown table cell: pipes escaped. */
static void md_field(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static void row(FILE *f, out_format fmt, const char *const *cells, int n, const int *widths) {
    for (int i = 0; i < n; i++) {
        if (fmt == FMT_CSV) {
            if (i) fputc(',', f);
            csv_field(f, cells[i]);
        } else if (fmt == FMT_MARKDOWN) {
            fputs(i ? " | " : "| ", f);
            md_field(f, cells[i]);
        } else {
            fprintf(f, "%s%-*s", i ? "  " : "", widths && i + 1 < n ? widths[i] : 0, cells[i]); /* no trailing blanks */
        }
    }
    fputs(fmt == FMT_MARKDOWN ? " |\n" : "\n", f);
}

/* The rule under a Markdown table's head: the first n_left columns (text)
 * aligned left, the others (numbers) right. */
static void md_rule(FILE *f, int n, int n_left) {
    for (int i = 0; i < n; i++) fputs(i < n_left ? "| --- " : "| ---: ", f);
    fputs("|\n", f);
}

/* The actions read: a path that names no file, or an empty one, is
 * reported, not made a database (nor are folders created). Where the
 * default database does not exist yet, `list` says there are no runs. */
#define NO_DATABASE (-1) /* open_db: nothing to read, said already */
static int open_db(const char *path, int is_list, octic_db **db) {
    char buf[4096];
    int is_default = !path;
    if (is_default) {
        if (octic_db_default_path(buf, sizeof buf) != OCTIC_OK) return cli_engine_error();
        path = buf;
    }
    octic_status st = octic_db_open_read(path, db);
    if (st == OCTIC_ERR_MISSING && is_default && access(path, F_OK) != 0) {
        if (!is_list) return cli_error("no results database yet: %s does not exist (octic eval records its runs there)", path);
        printf("no runs yet: %s does not exist (octic eval records its runs there)\n", path);
        return NO_DATABASE;
    }
    if (st != OCTIC_OK) return cli_engine_error();
    return CLI_OK;
}

static int parse_run_id(const char *text, int64_t *id) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || errno || v < 1)
        return cli_usage_error("results", "expects a run id (a positive integer, see 'octic results list'), got '%s'", text);
    *id = v;
    return CLI_OK;
}

/* The headline metric of a run (mIoU for segmentation, top1 otherwise). */
static int headline(octic_db *db, const octic_db_run_info *r, char *buf, size_t len) {
    octic_db_row *rows = NULL;
    int n = 0;
    buf[0] = '\0';
    if (octic_db_run_rows(db, r->id, OCTIC_DB_METRICS, &rows, &n) != OCTIC_OK) return 0;
    const char *want = strncmp(r->protocol, "seg", 3) == 0 ? "mIoU" : "top1";
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].name, want) == 0) snprintf(buf, len, "%s %.2f", want, rows[i].value);
    free(rows);
    return 1;
}

static int results_list(octic_db *db, const char *protocol, out_format fmt) {
    octic_db_run_info *runs = NULL;
    int n = 0;
    if (octic_db_list_runs(db, protocol, &runs, &n) != OCTIC_OK) return cli_engine_error();
    const char *head[] = {"run", "protocol", "state", "model", "sha256", "data", "started", "result"};
    int widths[] = {4, 8, 11, 5, 12, 4, 20, 12};
    for (int i = 0; i < n; i++) { /* the columns as wide as their widest text */
        const char *text[] = {runs[i].protocol, runs[i].model, runs[i].dataset};
        int *w[] = {&widths[1], &widths[3], &widths[5]};
        for (int k = 0; k < 3; k++)
            if ((int)strlen(text[k]) > *w[k]) *w[k] = (int)strlen(text[k]);
    }
    if (fmt == FMT_TEXT && n == 0 && protocol) printf("no runs of protocol %s in %s\n", protocol, octic_db_path(db));
    if (fmt == FMT_TEXT && n == 0 && !protocol) printf("no runs in %s\n", octic_db_path(db));
    if (n > 0 || fmt != FMT_TEXT) {
        row(stdout, fmt, head, 8, widths);
        if (fmt == FMT_MARKDOWN) md_rule(stdout, 8, 8);
    }
    for (int i = 0; i < n; i++) {
        char id[32], sha[16], result[64];
        snprintf(id, sizeof id, "%lld", (long long)runs[i].id);
        snprintf(sha, sizeof sha, "%.12s", runs[i].sha256);
        headline(db, &runs[i], result, sizeof result);
        const char *cells[] = {id, runs[i].protocol, runs[i].state, runs[i].model, sha, runs[i].dataset, runs[i].started, result};
        row(stdout, fmt, cells, 8, widths);
    }
    free(runs);
    return CLI_OK;
}

static int results_show(octic_db *db, int64_t id) {
    octic_db_run_info r;
    if (octic_db_get_run(db, id, &r) != OCTIC_OK) return cli_engine_error();
    printf("run %lld: %s, %s\n", (long long)r.id, r.protocol, r.state);
    printf("  model      %s (sha256 %s)\n", r.model, r.sha256);
    printf("  checkpoint %s\n", r.checkpoint);
    printf("  data       %s\n", r.dataset);
    printf("  started    %s\n  ended      %s\n", r.started, r.ended[0] ? r.ended : "-");
    printf("  machine    %s, %s\n", r.machine, r.engine);
    if (r.message[0]) printf("  message    %s\n", r.message);
    static const char *const titles[] = {"parameters", "metrics", "hyper-parameter trials", "per-class results"};
    for (int t = 0; t < 4; t++) {
        octic_db_row *rows = NULL;
        int n = 0;
        if (octic_db_run_rows(db, id, (octic_db_table)t, &rows, &n) != OCTIC_OK) return cli_engine_error();
        if (n) printf("%s:\n", titles[t]);
        for (int i = 0; i < n; i++) {
            const octic_db_row *w = &rows[i];
            switch ((octic_db_table)t) {
            case OCTIC_DB_PARAMS: printf("  %-20s %s\n", w->name, w->text); break;
            case OCTIC_DB_METRICS: printf("  %-20s %.6g\n", w->name, w->value); break;
            case OCTIC_DB_TRIALS:
                printf("  %-8s %-30s %s %.4f%s\n", w->name, w->text, w->extra, w->value, w->index ? "  (selected)" : "");
                break;
            case OCTIC_DB_CLASSES:
                printf("  %-8s %4d %-24s %s %.2f\n", w->name, w->index, w->text[0] ? w->text : "-", w->extra, w->value);
                break;
            }
        }
        free(rows);
    }
    return CLI_OK;
}

typedef struct {
    octic_db_run_info info;
    octic_db_row *metrics;
    int n;
} run_metrics;

static const double *find_metric(const run_metrics *r, const char *name) {
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->metrics[i].name, name) == 0) return &r->metrics[i].value;
    return NULL;
}

/* A metric in a table: two decimals as the papers print accuracies and mIoU,
 * three significant digits for what two decimals would show as 0.00 (a C of
 * 1e-06, a learning rate), counts (images, iterations, best_k) as whole
 * numbers; sign: with + or - always (a difference). */
static int is_count(const char *metric) {
    size_t n = strlen(metric);
    return strcmp(metric, "best_k") == 0 || strcmp(metric, "iterations") == 0 ||
           (n > 7 && strcmp(metric + n - 7, "_images") == 0);
}

static const char *table_value(char *buf, size_t len, const char *metric, double v, int sign) {
    if (is_count(metric) && fabs(v) < 1e15) snprintf(buf, len, sign ? "%+.0f" : "%.0f", v);
    else if (v != 0 && fabs(v) < 0.005) snprintf(buf, len, sign ? "%+.3g" : "%.3g", v);
    else snprintf(buf, len, sign ? "%+.2f" : "%.2f", v);
    return buf;
}

static int results_compare(octic_db *db, const int64_t *ids, int n_ids, int64_t baseline, const char *metrics_t,
                           out_format fmt) {
    run_metrics *runs = calloc((size_t)n_ids, sizeof *runs);
    if (!runs) return cli_error("out of memory");
    int rc = CLI_OK, base = 0;
    for (int i = 0; i < n_ids && rc == CLI_OK; i++) {
        if (octic_db_get_run(db, ids[i], &runs[i].info) != OCTIC_OK ||
            octic_db_run_rows(db, ids[i], OCTIC_DB_METRICS, &runs[i].metrics, &runs[i].n) != OCTIC_OK)
            rc = cli_engine_error();
        if (ids[i] == baseline) base = i;
    }
    if (rc == CLI_OK && baseline > 0 && ids[base] != baseline)
        rc = cli_usage_error("results", "--baseline %lld is not among the compared runs", (long long)baseline);
    /* columns: the chosen metrics, else every metric of the baseline run */
    char *names[64];
    int n_cols = 0;
    if (rc == CLI_OK && metrics_t) {
        char *copy = strdup(metrics_t), *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok && n_cols < 64; tok = strtok_r(NULL, ",", &save))
            names[n_cols++] = strdup(tok);
        free(copy);
        for (int c = 0; c < n_cols && rc == CLI_OK; c++) { /* a metric no run has: a typo, not a column of '-' */
            int any = 0;
            for (int i = 0; i < n_ids && !any; i++) any = find_metric(&runs[i], names[c]) != NULL;
            if (!any)
                rc = cli_error("--metrics: no run given has a metric '%s' (see 'octic results show %lld')",
                                     names[c], (long long)ids[base]);
        }
        if (rc != CLI_OK) {
            for (int c = 0; c < n_cols; c++) free(names[c]);
            n_cols = 0;
        }
    } else if (rc == CLI_OK) {
        for (int i = 0; i < runs[base].n && n_cols < 64; i++) names[n_cols++] = strdup(runs[base].metrics[i].name);
    }
    if (rc == CLI_OK) {
        const char *cells[68];
        char store[68][96];
        int widths[68];
        cells[0] = "model", cells[1] = "run", cells[2] = "protocol";
        widths[0] = 5, widths[1] = 4, widths[2] = 8;
        for (int i = 0; i < n_ids; i++) { /* as wide as their widest text */
            int lm = (int)strlen(runs[i].info.model), lp = (int)strlen(runs[i].info.protocol);
            if (lm > widths[0]) widths[0] = lm;
            if (lp > widths[2]) widths[2] = lp;
        }
        for (int c = 0; c < n_cols; c++) cells[3 + c] = names[c], widths[3 + c] = 18;
        row(stdout, fmt, cells, 3 + n_cols, widths);
        if (fmt == FMT_MARKDOWN) md_rule(stdout, 3 + n_cols, 3);
        for (int i = 0; i < n_ids; i++) {
            snprintf(store[0], sizeof store[0], "%s", runs[i].info.model);
            snprintf(store[1], sizeof store[1], "%lld", (long long)runs[i].info.id);
            snprintf(store[2], sizeof store[2], "%s", runs[i].info.protocol);
            for (int c = 0; c < n_cols; c++) {
                const double *v = find_metric(&runs[i], names[c]), *b = find_metric(&runs[base], names[c]);
                char val[40], diff[40];
                if (!v) {
                    snprintf(store[3 + c], sizeof store[3 + c], "%s", fmt == FMT_CSV ? "" : "-");
                } else if (fmt == FMT_CSV) { /* numbers, for a spreadsheet: no deltas, every digit */
                    snprintf(store[3 + c], sizeof store[3 + c], "%.10g", *v);
                } else if (i == base || !b) {
                    snprintf(store[3 + c], sizeof store[3 + c], "%s", table_value(val, sizeof val, names[c], *v, 0));
                } else {
                    snprintf(store[3 + c], sizeof store[3 + c], "%s (%s)", table_value(val, sizeof val, names[c], *v, 0),
                             table_value(diff, sizeof diff, names[c], *v - *b, 1));
                }
            }
            for (int c = 0; c < 3 + n_cols; c++) cells[c] = store[c];
            row(stdout, fmt, cells, 3 + n_cols, widths);
        }
        if (fmt != FMT_CSV)
            printf("%sdifferences to run %lld (%s)\n", fmt == FMT_MARKDOWN ? "\n" : "", (long long)runs[base].info.id,
                   runs[base].info.model);
    }
    for (int c = 0; c < n_cols; c++) free(names[c]);
    for (int i = 0; i < n_ids; i++) free(runs[i].metrics);
    free(runs);
    return rc;
}

static int results_export(octic_db *db, const char *protocol, out_format fmt, const char *output) {
    if (fmt == FMT_TEXT) fmt = FMT_CSV;
    octic_db_run_info *runs = NULL;
    int n = 0;
    if (octic_db_list_runs(db, protocol, &runs, &n) != OCTIC_OK) return cli_engine_error();
    /* a file gets the whole table or nothing (written at the end, as the
     * checkpoints are: octic_atomic_*) */
    FILE *f = stdout;
    char *text = NULL;
    size_t text_len = 0;
    if (output && !(f = open_memstream(&text, &text_len))) {
        free(runs);
        return cli_error("%s: cannot write: %s", output, strerror(errno));
    }
    const char *head[] = {"run", "protocol", "state", "model", "sha256", "checkpoint", "data", "started", "ended",
                          "metric", "value"};
    row(f, fmt, head, 11, NULL);
    if (fmt == FMT_MARKDOWN) md_rule(f, 11, 10);
    for (int i = 0; i < n; i++) {
        octic_db_row *rows = NULL;
        int nr = 0;
        if (octic_db_run_rows(db, runs[i].id, OCTIC_DB_METRICS, &rows, &nr) != OCTIC_OK) {
            if (output) fclose(f), free(text);
            free(runs);
            return cli_engine_error();
        }
        for (int j = 0; j < nr; j++) {
            char id[32], value[64];
            snprintf(id, sizeof id, "%lld", (long long)runs[i].id);
            snprintf(value, sizeof value, "%.17g", rows[j].value);
            const char *cells[] = {id, runs[i].protocol, runs[i].state, runs[i].model, runs[i].sha256, runs[i].checkpoint,
                                   runs[i].dataset, runs[i].started, runs[i].ended, rows[j].name, value};
            row(f, fmt, cells, 11, NULL);
        }
        free(rows);
    }
    free(runs);
    if (output) {
        int bad = ferror(f);
        if (fclose(f) != 0 || bad) {
            free(text);
            return cli_error("%s: out of memory for the table", output);
        }
        octic_atomic_file af;
        octic_status st = octic_atomic_open(&af, output);
        if (!st) st = octic_atomic_write(&af, text, text_len);
        if (!st) st = octic_atomic_commit(&af);
        free(text);
        if (st) return cli_engine_error();
    }
    return CLI_OK;
}

static int results_check(octic_db *db) {
    char verdict[512];
    if (octic_db_integrity(db, verdict, sizeof verdict) != OCTIC_OK) return cli_engine_error();
    printf("%s: integrity %s, schema version %d\n", octic_db_path(db), verdict, octic_db_schema_version(db));
    return strcmp(verdict, "ok") == 0 ? CLI_OK : cli_error("%s: integrity check failed: %s", octic_db_path(db), verdict);
}

int cmd_results(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("results", "expects list, show, compare, export or check");
    const char *what = argv[1];
    if (strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0) {
        fputs(results_usage, stdout);
        return CLI_OK;
    }
    const char *db_path = NULL, *protocol = NULL, *format = NULL, *baseline_t = NULL, *metrics_t = NULL, *output = NULL;
    int help = 0, npos = 0;
    const char *pos[64];
    const cli_option opts[] = {{"--db", &db_path, NULL},         {"--protocol", &protocol, NULL},
                               {"--format", &format, NULL},      {"--baseline", &baseline_t, NULL},
                               {"--metrics", &metrics_t, NULL},  {"--output", &output, NULL}};
    int rc = cli_parse(argc - 1, argv + 1, "results", opts, 6, pos, 64, &npos, &help);
    if (rc != CLI_OK) return rc;
    if (help) {
        fputs(results_usage, stdout);
        return CLI_OK;
    }
    out_format fmt = FMT_TEXT;
    if ((rc = parse_format(format, &fmt)) != CLI_OK) return rc;
    int64_t ids[64], baseline = 0;
    int is_list = strcmp(what, "list") == 0, is_show = strcmp(what, "show") == 0, is_cmp = strcmp(what, "compare") == 0,
        is_export = strcmp(what, "export") == 0, is_check = strcmp(what, "check") == 0;
    if (!is_list && !is_show && !is_cmp && !is_export && !is_check)
        return cli_usage_error("results", "unknown action '%s' (list, show, compare, export, check)", what);
    if ((is_list || is_export || is_check) && npos)
        return cli_usage_error("results", "results %s takes no positional argument, got '%s'", what, pos[0]);
    if (is_show && npos != 1) return cli_usage_error("results", "results show takes one RUN id");
    if ((is_export && fmt == FMT_TEXT && format) || ((is_show || is_check) && format))
        return cli_usage_error("results", "results %s does not take --format %s (%s)", what, format,
                               is_export ? "csv or markdown" : "it prints text");
    if (is_cmp && npos < 1) return cli_usage_error("results", "results compare takes one or more RUN ids");
    for (int i = 0; i < npos; i++)
        if ((rc = parse_run_id(pos[i], &ids[i])) != CLI_OK) return rc;
    if (baseline_t && (rc = parse_run_id(baseline_t, &baseline)) != CLI_OK) return rc;
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is reported as an error, not a crash */
    octic_db *db = NULL;
    if ((rc = open_db(db_path, is_list, &db)) != CLI_OK) return rc == NO_DATABASE ? CLI_OK : rc;
    if (is_list) rc = results_list(db, protocol, fmt);
    else if (is_show) rc = results_show(db, ids[0]);
    else if (is_cmp) rc = results_compare(db, ids, npos, baseline ? baseline : ids[0], metrics_t, fmt);
    else if (is_check) rc = results_check(db);
    else rc = results_export(db, protocol, fmt, output);
    octic_db_close(db);
    return rc;
}
