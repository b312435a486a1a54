/* One evaluation as the studio launches it (see evaluation.h). */
#include "evaluation.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static const char *const protocol_names[OCTISCOPE_EVAL_NPROTOCOLS] = {"knn-dinov2", "linear-cached", "seg-capi",
                                                                          "linear-dinov2"};

const char *octiscope_eval_protocol_name(octiscope_eval_protocol p) {
    return p >= 0 && p < OCTISCOPE_EVAL_NPROTOCOLS ? protocol_names[p] : "?";
}

const char *octiscope_eval_main_metric(octiscope_eval_protocol p) {
    return p == OCTISCOPE_EVAL_SEG ? "mIoU" : "top1";
}

int octiscope_parse_numbers(const char *text, double lo, double hi, int whole, double *out, int max, char *err,
                            size_t err_len) {
    int n = 0;
    const char *p = text ? text : "";
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        while (len && (*p == ' ' || *p == '\t')) p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
        if (len == 0 || len >= sizeof item) {
            snprintf(err, err_len, "%s: expected a comma-separated list of numbers", len ? "an entry is too long" : "an entry is empty");
            return -1;
        }
        memcpy(item, p, len), item[len] = '\0';
        char *end;
        errno = 0;
        double v = strtod(item, &end);
        if (*end || errno || !(v >= lo && v <= hi) || (whole && v != (double)(long long)v)) {
            snprintf(err, err_len, "'%s': expected %s between %g and %g", item, whole ? "a whole number" : "a number", lo, hi);
            return -1;
        }
        if (n == max) {
            snprintf(err, err_len, "more than %d values", max);
            return -1;
        }
        out[n++] = v;
        if (!comma) break;
        p = comma + 1;
    }
    return n;
}

void octiscope_format_numbers(char *buf, size_t len, const double *v, int n, int whole) {
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && at < len; i++) {
        int w = snprintf(buf + at, len - at, whole ? "%s%.0f" : "%s%g", i ? ", " : "", v[i]);
        if (w < 0) break;
        at += (size_t)w;
    }
}

void octiscope_snap_numbers(double *v, int n, const double *ref, int n_ref) {
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n_ref; k++)
            if (fabs(v[i] - ref[k]) <= 1e-5 * fabs(ref[k])) v[i] = ref[k];
}

/* The studio's request as a run of app/eval/runner.c: the same set-up,
 * records and bookkeeping as `octic eval`. */
octic_status octiscope_eval_run(const octiscope_eval_request *r, octiscope_eval_outcome *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->state, sizeof out->state, "failed");
    if (r->protocol < 0 || r->protocol >= OCTISCOPE_EVAL_NPROTOCOLS)
        return octic_fail(OCTIC_ERR_ARG, "unknown evaluation protocol %d", (int)r->protocol);
    static const octic_eval_kind kinds[OCTISCOPE_EVAL_NPROTOCOLS] = {OCTIC_EVAL_KNN, OCTIC_EVAL_LINEAR, OCTIC_EVAL_SEG,
                                                                     OCTIC_EVAL_LINEAR};
    octic_eval_run_request run;
    octic_eval_run_request_defaults(&run, kinds[r->protocol]);
    run.model = r->model, run.heads = r->heads, run.backend = r->backend, run.data = r->data;
    run.db = r->db, run.cache = r->cache, run.threads = r->threads;
    run.launched_by = "octiscope";
    char subset[32] = "all";
    if (r->subset) {
        run.subset = OCTIC_SUBSET_FIRST, run.subset_n = r->subset;
        snprintf(subset, sizeof subset, "first:%zu", r->subset);
    }
    run.subset_text = subset;
    /* linear-cached: heads trained on cached features; linear-dinov2: augmented, the backbone every step */
    run.linear.augment = r->protocol == OCTISCOPE_EVAL_LINEAR_DINOV2;
    if (r->n_ks > 0) {
        run.knn.n_k = r->n_ks < OCTIC_KNN_MAX_K ? r->n_ks : OCTIC_KNN_MAX_K;
        run.knn.n_k = run.knn.n_k < 8 ? run.knn.n_k : 8;
        memcpy(run.knn.ks, r->ks, (size_t)run.knn.n_k * sizeof(int));
    }
    if (r->temperature > 0) run.knn.temperature = r->temperature;
    if (r->n_lrs > 0) {
        run.linear.n_lr = r->n_lrs < 16 ? r->n_lrs : 16;
        run.linear.n_lr = run.linear.n_lr < OCTIC_LINEAR_MAX_LR ? run.linear.n_lr : OCTIC_LINEAR_MAX_LR;
        memcpy(run.linear.lrs, r->lrs, (size_t)run.linear.n_lr * sizeof(double));
    }
    if (r->epochs > 0) run.linear.epochs = r->epochs;
    if (r->epoch_length > 0) run.linear.epoch_length = r->epoch_length;
    if (r->train_batch > 0) run.linear.batch_size = r->train_batch;
    if (r->n_cs > 0) {
        run.seg.n_c = r->n_cs < 16 ? r->n_cs : 16;
        memcpy(run.seg.cs, r->cs, (size_t)run.seg.n_c * sizeof(double));
    }
    if (r->n_seg_ks > 0) {
        run.seg.n_k = r->n_seg_ks < 8 ? r->n_seg_ks : 8;
        memcpy(run.seg.ks, r->seg_ks, (size_t)run.seg.n_k * sizeof(int));
    }
    run.phase = r->phase, run.progress = r->progress, run.started = r->started, run.user = r->user;

    octic_eval_run_outcome res;
    octic_status st = octic_eval_run(&run, &res);
    out->run_id = res.run_id;
    out->cancelled = res.state == OCTIC_RUN_CANCELLED;
    out->unsaved = res.unsaved;
    snprintf(out->notes, sizeof out->notes, "%s", res.notes);
    snprintf(out->state, sizeof out->state, "%s",
             res.state == OCTIC_RUN_DONE ? "done" : out->cancelled ? "cancelled" : "failed");
    for (int i = 0; i < res.results.n_metrics; i++)
        if (strcmp(res.results.metrics[i].name, octiscope_eval_main_metric(r->protocol)) == 0)
            out->main_value = res.results.metrics[i].value;
    octic_eval_results_free(&res.results);
    return st;
}
