#include "run_params.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "extract.h"

void octic_run_param(octic_run_params *p, const char *name, const char *fmt, ...) {
    if (p->n == 64) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->store[p->n], sizeof p->store[p->n], fmt, ap);
    va_end(ap);
    p->items[p->n] = (octic_db_param){name, p->store[p->n]};
    p->n++;
}

void octic_join_ints(char *buf, size_t len, const int *v, int n) {
    buf[0] = '\0';
    for (int i = 0; i < n; i++) snprintf(buf + strlen(buf), len - strlen(buf), "%s%d", i ? "," : "", v[i]);
}

void octic_join_doubles(char *buf, size_t len, const double *v, int n) {
    buf[0] = '\0';
    for (int i = 0; i < n; i++) snprintf(buf + strlen(buf), len - strlen(buf), "%s%g", i ? "," : "", v[i]);
}

void octic_run_params_fill(octic_run_params *p, const char *model_path, const char *root, const octic_eval_context *ctx,
                           const char *subset, int seed, const octic_knn_protocol *knn,
                           const octic_linear_protocol *linear, const octic_seg_protocol *seg, const char *cache) {
    const octic_dataset *ds = ctx->ds;
    char buf[512], real[PATH_MAX];
    octic_run_param(p, "model", "%s", realpath(model_path, real) ? real : model_path);
    octic_run_param(p, "data", "%s", root);
    octic_run_param(p, "split_train", "%s", octic_dataset_split_name(ds, ctx->train_split));
    octic_run_param(p, "split_val", "%s", octic_dataset_split_name(ds, ctx->val_split));
    octic_run_param(p, "subset", "%s", subset);
    octic_run_param(p, "size", "%d", ctx->size);
    octic_run_param(p, "resize", "%d", ctx->resize_to);
    octic_run_param(p, "batch_size", "%d", ctx->batch_size);
    octic_run_param(p, "seed", "%d", seed);
    octic_run_param(p, "heads", "%d", octic_model_config(ctx->model)->heads);
    if (knn) {
        octic_join_ints(buf, sizeof buf, knn->ks, knn->n_k);
        octic_run_param(p, "ks", "%s", buf);
        octic_run_param(p, "temperature", "%g", (double)knn->temperature);
    } else if (linear) {
        octic_join_doubles(buf, sizeof buf, linear->lrs, linear->n_lr);
        octic_run_param(p, "lrs", "%s", buf);
        octic_run_param(p, "epochs", "%d", linear->epochs);
        octic_run_param(p, "epoch_length", "%d", linear->epoch_length);
        octic_run_param(p, "train_batch", "%d", linear->batch_size);
        octic_run_param(p, "momentum", "%g", linear->momentum);
        octic_run_param(p, "augment", "%s",
                        linear->augment ? "RandomResizedCrop(224, bicubic) + HorizontalFlip(0.5)" : "none");
        octic_run_param(p, "blocks", "%d", octic_features_blocks(ctx->model));
    } else if (seg) {
        octic_join_doubles(buf, sizeof buf, seg->cs, seg->n_c);
        octic_run_param(p, "cs", "%s", buf);
        octic_run_param(p, "max_iter", "%d", seg->max_iter);
        octic_run_param(p, "tol", "%g", seg->tol);
        octic_run_param(p, "linesearch_max_iter", "%d", seg->linesearch_max_iter);
        octic_run_param(p, "lbfgs_memory", "%d", seg->memory);
        octic_join_ints(buf, sizeof buf, seg->ks, seg->n_k);
        octic_run_param(p, "knn_ks", "%s", buf);
        octic_run_param(p, "knn_distances", "cosine,L2");
        octic_run_param(p, "classifiers", "%s%s%s", seg->knn ? "knn" : "", seg->knn && seg->logreg ? "," : "",
                        seg->logreg ? "logreg" : "");
        octic_run_param(p, "holdout", "%g", seg->holdout);
        int ign[8], n_ign = octic_dataset_ignored_labels(ds, ign);
        octic_join_ints(buf, sizeof buf, ign, n_ign);
        octic_run_param(p, "ignored_labels", "%s", buf);
        octic_run_param(p, "standardization", "StandardScaler");
    }
    octic_run_param(p, "cache", "%s", cache);
}
