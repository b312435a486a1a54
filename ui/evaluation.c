/* One evaluation as the studio launches it (see evaluation.h). */
#include "evaluation.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset.h"
#include "run_params.h"
#include "extract.h"
#include "protocols.h"
#include "results_db.h"

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

static octic_status record_model(octic_db *db, const char *path, const octic_model *m, int64_t *id, char sha[65]) {
    octic_status st = octic_db_hash_file(db, path, sha);
    if (st) return st;
    const octic_config *cfg = octic_model_config(m);
    const octic_arch *arch = octic_arch_match(cfg);
    char desc[128], real[PATH_MAX];
    snprintf(desc, sizeof desc, "%s %s depth %d dim %d patch %d", octic_family_name(cfg->family),
             octic_kind_name(cfg->kind), cfg->depth, cfg->dim, cfg->patch);
    octic_cost cost = octic_config_cost(cfg, 224);
    struct stat sb;
    if (stat(path, &sb) != 0) return octic_fail(OCTIC_ERR_IO, "%s: %s", path, strerror(errno));
    octic_db_model rec = {sha, arch ? arch->name : desc, octic_family_name(cfg->family), octic_kind_name(cfg->kind),
                          cfg->depth, cfg->dim, cfg->heads, cfg->patch, cost.params, (double)cost.macs / 1e9,
                          realpath(path, real) ? real : path, (int64_t)sb.st_size, (int64_t)sb.st_mtime};
    return octic_db_add_model(db, &rec, id);
}

octic_status octiscope_eval_run(const octiscope_eval_request *r, octiscope_eval_outcome *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->state, sizeof out->state, "failed");
    if (r->protocol < 0 || r->protocol >= OCTISCOPE_EVAL_NPROTOCOLS)
        return octic_fail(OCTIC_ERR_ARG, "unknown evaluation protocol %d", (int)r->protocol);
    const int seg = r->protocol == OCTISCOPE_EVAL_SEG;
    const int linear = r->protocol == OCTISCOPE_EVAL_LINEAR || r->protocol == OCTISCOPE_EVAL_LINEAR_DINOV2;
    octic_dataset *ds = NULL;
    octic_model *m = NULL;
    octic_db *db = NULL;
    octic_eval_results res;
    memset(&res, 0, sizeof res);
    octic_status st = octic_dataset_open(r->data, NULL, &ds);
    if (st) return st;
    if (seg != octic_dataset_is_segmentation(ds)) {
        st = octic_fail(OCTIC_ERR_ARG, "%s: %s needs a %s data set, this is %s", r->data,
                        octiscope_eval_protocol_name(r->protocol),
                        seg ? "segmentation (ADE20K or VOC 2012)" : "classification",
                        octic_layout_name(octic_dataset_layout(ds)));
        goto done;
    }
    if (octic_dataset_split_count(ds) < 2) {
        st = octic_fail(OCTIC_ERR_ARG, "%s: the data set has a single split; an evaluation needs train and val",
                        r->data);
        goto done;
    }
    if ((st = octic_model_load(r->model, r->heads, &m))) goto done;
    if ((st = octic_model_check_size(m, 224))) goto done;

    char dbfile[PATH_MAX], cachedir[PATH_MAX], sha[65], root_real[PATH_MAX];
    const char *db_path = r->db, *cache = r->cache;
    if (!db_path) {
        if ((st = octic_db_default_path(dbfile, sizeof dbfile))) goto done;
        db_path = dbfile;
    }
    if (!cache) {
        if ((st = octic_feature_cache_default(cachedir, sizeof cachedir))) goto done;
        cache = cachedir;
    }
    if ((st = octic_db_open(db_path, &db))) goto done;
    int64_t model_id = 0, dataset_id = 0;
    if ((st = record_model(db, r->model, m, &model_id, sha))) goto done;
    const char *root = realpath(octic_dataset_root(ds), root_real) ? root_real : octic_dataset_root(ds);
    const char *base = strrchr(root, '/');
    if ((st = octic_db_add_dataset(db, base && base[1] ? base + 1 : root, root,
                                   octic_layout_name(octic_dataset_layout(ds)), octic_dataset_class_count(ds),
                                   &dataset_id)))
        goto done;

    octic_eval_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.size = 224, ctx.resize_to = 256, ctx.batch_size = 32, ctx.threads = r->threads;
    ctx.train_split = 0, ctx.val_split = 1;
    if (r->subset) ctx.subset = OCTIC_SUBSET_FIRST, ctx.subset_n = r->subset;
    octic_knn_protocol kp;
    octic_linear_protocol lp;
    octic_seg_protocol sp;
    octic_knn_protocol_defaults(&kp);
    octic_linear_protocol_defaults(&lp);
    octic_seg_protocol_defaults(&sp);
    /* linear-cached: heads trained on cached features; linear-dinov2: augmented, the backbone every step */
    lp.augment = r->protocol == OCTISCOPE_EVAL_LINEAR_DINOV2;
    if (r->n_ks > 0) {
        kp.n_k = r->n_ks < OCTIC_KNN_MAX_K ? r->n_ks : OCTIC_KNN_MAX_K;
        kp.n_k = kp.n_k < 8 ? kp.n_k : 8;
        memcpy(kp.ks, r->ks, (size_t)kp.n_k * sizeof(int));
    }
    if (r->temperature > 0) kp.temperature = r->temperature;
    if (r->n_lrs > 0) {
        lp.n_lr = r->n_lrs < 16 ? r->n_lrs : 16;
        lp.n_lr = lp.n_lr < OCTIC_LINEAR_MAX_LR ? lp.n_lr : OCTIC_LINEAR_MAX_LR;
        memcpy(lp.lrs, r->lrs, (size_t)lp.n_lr * sizeof(double));
    }
    if (r->epochs > 0) lp.epochs = r->epochs;
    if (r->epoch_length > 0) lp.epoch_length = r->epoch_length;
    if (r->train_batch > 0) lp.batch_size = r->train_batch;
    if (r->n_cs > 0) {
        sp.n_c = r->n_cs < 16 ? r->n_cs : 16;
        memcpy(sp.cs, r->cs, (size_t)sp.n_c * sizeof(double));
    }
    if (r->n_seg_ks > 0) {
        sp.n_k = r->n_seg_ks < 8 ? r->n_seg_ks : 8;
        memcpy(sp.ks, r->seg_ks, (size_t)sp.n_k * sizeof(int));
    }

    ctx.model = m;
    ctx.ds = ds;
    char subset[32];
    if (r->subset)
        snprintf(subset, sizeof subset, "first:%zu", r->subset);
    else
        snprintf(subset, sizeof subset, "all");
    octic_run_params pl = {0};
    octic_run_params_fill(&pl, r->model, root, &ctx, subset, 0, r->protocol == OCTISCOPE_EVAL_KNN ? &kp : NULL,
                          linear ? &lp : NULL, seg ? &sp : NULL, cache);
    octic_run_param(&pl, "launched_by", "octiscope");
    if ((st = octic_db_start_run(db, model_id, dataset_id, octiscope_eval_protocol_name(r->protocol), pl.items, pl.n,
                                 &out->run_id)))
        goto done;

    ctx.cache_dir = cache;
    ctx.model_sha256 = sha;
    ctx.phase = r->phase;
    ctx.progress = r->progress;
    ctx.user = r->user;
    st = r->protocol == OCTISCOPE_EVAL_KNN      ? octic_eval_knn(&ctx, &kp, &res)
         : linear                               ? octic_eval_linear(&ctx, &lp, &res)
                                                : octic_eval_seg(&ctx, &sp, &res);
    if (!st)
        st = octic_db_finish_run(db, out->run_id, res.metrics, res.n_metrics, res.trials, res.n_trials, res.classes,
                                 res.n_classes);
    if (st) {
        // the progress callback's nonzero return is how a run is cancelled
        char msg[512];
        snprintf(msg, sizeof msg, "%s", octic_last_error());
        out->cancelled = strstr(msg, "cancel") != NULL;
        octic_db_set_state(db, out->run_id, out->cancelled ? OCTIC_RUN_CANCELLED : OCTIC_RUN_FAILED, msg);
        snprintf(out->state, sizeof out->state, "%s", out->cancelled ? "cancelled" : "failed");
        octic_fail(st, "%s", msg);
        goto done;
    }
    snprintf(out->state, sizeof out->state, "done");
    for (int i = 0; i < res.n_metrics; i++)
        if (strcmp(res.metrics[i].name, octiscope_eval_main_metric(r->protocol)) == 0) out->main_value = res.metrics[i].value;
done:
    octic_eval_results_free(&res);
    if (db) octic_db_close(db);
    if (m) octic_model_free(m);
    octic_dataset_close(ds);
    return st;
}
