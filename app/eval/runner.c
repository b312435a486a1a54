/* One evaluation run from start to end (see runner.h). */
#include "runner.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset.h"
#include "extract.h"
#include "run_params.h"

void octic_eval_run_request_defaults(octic_eval_run_request *r, octic_eval_kind kind) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
    octic_knn_protocol_defaults(&r->knn);
    octic_linear_protocol_defaults(&r->linear);
    octic_seg_protocol_defaults(&r->seg);
    r->size = 224, r->resize = 256, r->batch_size = 32;
}

static int same_doubles(const double *a, int na, const double *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static int same_ints(const int *a, int na, const int *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

/* Whether every setting that changes the numbers is the published one: the
 * protocol's own, the image size (224, from 256) and the whole of each split.
 * (The seed, the batch of the extraction, the threads and the device change
 * no more than the reference's own runs do.) */
int octic_eval_run_is_reference(const octic_eval_run_request *r) {
    octic_eval_run_request d;
    octic_eval_run_request_defaults(&d, r->kind);
    if (r->size != d.size || r->resize != d.resize || r->subset != OCTIC_SUBSET_ALL) return 0;
    switch (r->kind) {
    case OCTIC_EVAL_KNN:
        return same_ints(r->knn.ks, r->knn.n_k, d.knn.ks, d.knn.n_k) && r->knn.temperature == d.knn.temperature;
    case OCTIC_EVAL_LINEAR: {
        const octic_linear_protocol *a = &r->linear, *b = &d.linear;
        return same_doubles(a->lrs, a->n_lr, b->lrs, b->n_lr) && a->epochs == b->epochs &&
               a->epoch_length == b->epoch_length && a->batch_size == b->batch_size && a->momentum == b->momentum;
    }
    case OCTIC_EVAL_SEG: {
        const octic_seg_protocol *a = &r->seg, *b = &d.seg;
        int dists = a->n_dist == b->n_dist;
        for (int i = 0; dists && i < a->n_dist; i++) dists = a->dists[i] == b->dists[i];
        return same_doubles(a->cs, a->n_c, b->cs, b->n_c) && a->max_iter == b->max_iter && a->tol == b->tol &&
               a->linesearch_max_iter == b->linesearch_max_iter && a->memory == b->memory &&
               same_ints(a->ks, a->n_k, b->ks, b->n_k) && dists && a->holdout == b->holdout && a->knn == b->knn &&
               a->logreg == b->logreg;
    }
    }
    return 0;
}

/* The protocol's published name, whatever the settings. */
static const char *base_protocol(const octic_eval_run_request *r) {
    switch (r->kind) {
    case OCTIC_EVAL_KNN: return "knn-dinov2";
    case OCTIC_EVAL_LINEAR: return r->linear.augment ? "linear-dinov2" : "linear-cached";
    case OCTIC_EVAL_SEG: return "seg-capi";
    }
    return "?";
}

const char *octic_eval_run_protocol(const octic_eval_run_request *r) {
    int ref = octic_eval_run_is_reference(r);
    switch (r->kind) {
    case OCTIC_EVAL_KNN: return ref ? "knn-dinov2" : "knn-dinov2-custom";
    case OCTIC_EVAL_LINEAR:
        if (r->linear.augment) return ref ? "linear-dinov2" : "linear-dinov2-custom";
        return ref ? "linear-cached" : "linear-cached-custom";
    case OCTIC_EVAL_SEG: return ref ? "seg-capi" : "seg-capi-custom";
    }
    return "?";
}

static const char *const kind_names[] = {"knn", "linear", "seg"};

/* Records the model (content hash, architecture, size) and returns its id. */
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

/* The data set against the protocol, and the splits by name (or the first two). */
static octic_status check_dataset(const octic_eval_run_request *r, const octic_dataset *ds, octic_eval_context *ctx) {
    char what[64];
    if (r->command) snprintf(what, sizeof what, "%s %s", r->command, kind_names[r->kind]);
    else snprintf(what, sizeof what, "%s", base_protocol(r));
    const int seg = r->kind == OCTIC_EVAL_SEG;
    if (seg && !octic_dataset_is_segmentation(ds))
        return octic_fail(OCTIC_ERR_ARG, "%s: %s needs a segmentation data set (ADE20K or VOC 2012), this is %s",
                          r->data, what, octic_layout_name(octic_dataset_layout(ds)));
    if (!seg && octic_dataset_is_segmentation(ds))
        return octic_fail(OCTIC_ERR_ARG, "%s: %s needs a classification data set, this is %s%s%s%s", r->data, what,
                          octic_layout_name(octic_dataset_layout(ds)), r->command ? " (use " : "",
                          r->command ? r->command : "", r->command ? " seg)" : "");
    if (r->train_split || r->val_split) {
        ctx->train_split = octic_dataset_find_split(ds, r->train_split ? r->train_split : "");
        ctx->val_split = octic_dataset_find_split(ds, r->val_split ? r->val_split : "");
    } else if (octic_dataset_split_count(ds) >= 2) {
        ctx->train_split = 0, ctx->val_split = 1;
    } else {
        int folder = octic_dataset_layout(ds) == OCTIC_LAYOUT_FOLDER;
        return octic_fail(OCTIC_ERR_ARG, "%s: the data set has a single split (%s); an evaluation needs a train and a val split%s%s",
                          r->data, octic_dataset_split_count(ds) ? octic_dataset_split_name(ds, 0) : "none",
                          folder ? ": put the class folders in train/ and val/" : "",
                          r->command ? (folder ? ", or choose with --split TRAIN:VAL" : "; choose with --split TRAIN:VAL") : "");
    }
    if (ctx->train_split < 0 || ctx->val_split < 0) {
        char names[256] = "";
        for (int i = 0; i < octic_dataset_split_count(ds); i++) {
            strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
            strncat(names, octic_dataset_split_name(ds, i), sizeof names - strlen(names) - 1);
        }
        return octic_fail(OCTIC_ERR_ARG, "%s: no split '%s' (the splits are %s)", r->data,
                          ctx->train_split < 0 ? r->train_split : r->val_split, names);
    }
    return OCTIC_OK;
}

/* The caller's progress, remembering whether it asked to cancel. */
typedef struct {
    const octic_eval_run_request *r;
    int cancelled;
} run_progress;

static void on_phase(void *user, const char *name) {
    run_progress *p = user;
    if (p->r->phase) p->r->phase(p->r->user, name);
}

static void on_note(void *user, const char *text) {
    run_progress *p = user;
    if (p->r->note) p->r->note(p->r->user, text);
}

/* k-NN's ks that the train split (with the subset) can take: those up to
 * its size, or that size where none is. Decided before the run is named
 * and recorded, so that its protocol and parameters are what ran. */
static octic_status fit_ks(const octic_eval_run_request *r, const octic_dataset *ds, int split,
                           octic_knn_protocol *knn, char *told, size_t len) {
    octic_loader_options lo = octic_loader_defaults();
    lo.split = split;
    lo.size = r->size, lo.resize_to = r->resize, lo.batch_size = r->batch_size, lo.threads = 1;
    lo.subset = r->subset, lo.subset_n = r->subset_n, lo.seed = (uint64_t)r->seed;
    size_t n = 0;
    octic_status st = octic_loader_count(ds, &lo, &n);
    if (st != OCTIC_OK || n == 0) return st; /* (an empty split is reported by the extraction) */
    octic_knn_fit_ks(knn, (int64_t)n, told, len);
    return OCTIC_OK;
}

static int on_progress(void *user, int64_t done, int64_t total) {
    run_progress *p = user;
    if (p->r->progress && p->r->progress(p->r->user, done, total)) p->cancelled = 1;
    return p->cancelled;
}

octic_status octic_eval_run(const octic_eval_run_request *r, octic_eval_run_outcome *out) {
    memset(out, 0, sizeof *out);
    out->state = OCTIC_RUN_FAILED;
    if (r->kind < OCTIC_EVAL_KNN || r->kind > OCTIC_EVAL_SEG)
        return octic_fail(OCTIC_ERR_ARG, "unknown evaluation kind %d", (int)r->kind);
    snprintf(out->protocol, sizeof out->protocol, "%s", octic_eval_run_protocol(r));
    octic_eval_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.size = r->size, ctx.resize_to = r->resize, ctx.batch_size = r->batch_size, ctx.threads = r->threads;
    ctx.seed = (uint64_t)r->seed, ctx.subset = r->subset, ctx.subset_n = r->subset_n;
    octic_dataset *ds = NULL;
    octic_model *m = NULL;
    octic_db *db = NULL;
    octic_status st = octic_dataset_open(r->data, NULL, &ds);
    if (st) return st;
    if ((st = check_dataset(r, ds, &ctx))) goto done;
    /* the settings that run: k-NN's ks fitted to the train split */
    octic_eval_run_request eff = *r;
    char told[200] = "";
    if (r->kind == OCTIC_EVAL_KNN) {
        if ((st = fit_ks(r, ds, ctx.train_split, &eff.knn, told, sizeof told))) goto done;
        snprintf(out->protocol, sizeof out->protocol, "%s", octic_eval_run_protocol(&eff));
    }
    if ((st = octic_model_load_on(r->model, r->heads, r->backend, &m))) {
        out->model_failed = 1;
        goto done;
    }
    if ((st = octic_model_check_size(m, ctx.size))) goto done;

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

    ctx.model = m;
    ctx.ds = ds;
    const int knn = r->kind == OCTIC_EVAL_KNN, linear = r->kind == OCTIC_EVAL_LINEAR;
    octic_run_params pl = {0};
    octic_run_params_fill(&pl, r->model, root, &ctx, r->subset_text ? r->subset_text : "all", r->seed,
                          knn ? &eff.knn : NULL, linear ? &r->linear : NULL, !knn && !linear ? &r->seg : NULL, cache);
    if (r->launched_by) octic_run_param(&pl, "launched_by", "%s", r->launched_by);
    if ((st = octic_db_start_run(db, model_id, dataset_id, out->protocol, pl.items, pl.n, &out->run_id))) goto done;
    if (r->started) r->started(r->user, out->run_id, out->protocol, root);

    run_progress prog = {r, 0};
    ctx.cache_dir = cache;
    ctx.model_sha256 = sha;
    ctx.phase = on_phase;
    ctx.progress = on_progress;
    ctx.note = on_note;
    ctx.user = &prog;
    if (*told) octic_eval_note(&ctx, "%s", told); /* said and recorded as the protocol's own notes are */
    if (ctx.train_split == ctx.val_split)
        octic_eval_note(&ctx, "trained and scored on the same split (%s): the figures measure the fit, not generalization",
                        octic_dataset_split_name(ds, ctx.train_split));
    st = knn ? octic_eval_knn(&ctx, &eff.knn, &out->results)
         : linear ? octic_eval_linear(&ctx, &r->linear, &out->results)
                  : octic_eval_seg(&ctx, &r->seg, &out->results);
    out->chunks_reused = ctx.chunks_reused, out->chunks_computed = ctx.chunks_computed;
    snprintf(out->notes, sizeof out->notes, "%s", ctx.notes);
    if (!st && ctx.n_ks_refit) { /* unreadable train images left fewer than a k: the ks that ran, recorded */
        eff.knn.n_k = ctx.n_ks_refit;
        memcpy(eff.knn.ks, ctx.ks_refit, sizeof eff.knn.ks);
        snprintf(out->protocol, sizeof out->protocol, "%s", octic_eval_run_protocol(&eff));
        char ks[96];
        octic_join_ints(ks, sizeof ks, eff.knn.ks, eff.knn.n_k);
        st = octic_db_set_setting(db, out->run_id, out->protocol, "ks", ks);
        out->unsaved = st != OCTIC_OK;
    }
    if (!st) {
        st = octic_db_finish_run(db, out->run_id, out->results.metrics, out->results.n_metrics, out->results.trials,
                                 out->results.n_trials, out->results.classes, out->results.n_classes, ctx.notes);
        out->unsaved = st != OCTIC_OK;
    }
    if (st) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", octic_last_error());
        out->state = prog.cancelled ? OCTIC_RUN_CANCELLED : OCTIC_RUN_FAILED;
        octic_db_set_state(db, out->run_id, out->state, msg);
        octic_fail(st, "%s", msg); /* the run's message, not the bookkeeping's */
        goto done;
    }
    out->state = OCTIC_RUN_DONE;
done:
    if (db) octic_db_close(db);
    octic_model_free(m);
    octic_dataset_close(ds);
    return st;
}
