/* The evaluation protocols (see protocols.h). Accuracies and mIoU are
 * recorded in percent, as the papers' tables give them. */
#include "protocols.h"
#include "run_params.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "segment.h"

/* ---- results -------------------------------------------------------------- */

void octic_eval_results_free(octic_eval_results *r) {
    for (int i = 0; i < r->n_metrics; i++) free((char *)r->metrics[i].name);
    for (int i = 0; i < r->n_trials; i++) {
        free((char *)r->trials[i].classifier);
        free((char *)r->trials[i].setting);
        free((char *)r->trials[i].metric);
    }
    for (int i = 0; i < r->n_classes; i++) {
        free((char *)r->classes[i].classifier);
        free((char *)r->classes[i].class_name);
        free((char *)r->classes[i].metric);
    }
    free(r->metrics), free(r->trials), free(r->classes);
    memset(r, 0, sizeof *r);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

#define GROW(arr, n, cap)                                                                  \
    do {                                                                                   \
        if ((n) == (cap)) {                                                                \
            int c2 = (cap) ? 2 * (cap) : 16;                                               \
            void *g = realloc((arr), (size_t)c2 * sizeof *(arr));                          \
            if (!g) return octic_fail(OCTIC_ERR_NOMEM, "results: out of memory");          \
            (arr) = g, (cap) = c2;                                                         \
        }                                                                                  \
    } while (0)

static octic_status add_metric(octic_eval_results *r, const char *name, double value) {
    GROW(r->metrics, r->n_metrics, r->cap_metrics);
    r->metrics[r->n_metrics++] = (octic_db_metric){strdup(name), value};
    return OCTIC_OK;
}

static octic_status add_trial(octic_eval_results *r, const char *classifier, const char *setting,
                              const char *metric, double value, int selected) {
    GROW(r->trials, r->n_trials, r->cap_trials);
    r->trials[r->n_trials++] = (octic_db_trial){strdup(classifier), strdup(setting), strdup(metric), value, selected};
    return OCTIC_OK;
}

static octic_status add_class(octic_eval_results *r, const char *classifier, int index, const char *name,
                              const char *metric, double value) {
    GROW(r->classes, r->n_classes, r->cap_classes);
    r->classes[r->n_classes++] =
        (octic_db_class_result){strdup(classifier), index, dup_or_null(name), strdup(metric), value};
    return OCTIC_OK;
}

/* ---- shared --------------------------------------------------------------------- */

static void announce(octic_eval_context *ctx, const char *phase) {
    if (ctx->phase) ctx->phase(ctx->user, phase);
}

void octic_eval_note(octic_eval_context *ctx, const char *fmt, ...) {
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (ctx->note) ctx->note(ctx->user, text);
    size_t len = strlen(ctx->notes);
    snprintf(ctx->notes + len, sizeof ctx->notes - len, "%s%s", len ? "; " : "", text);
}

static octic_status extract(octic_eval_context *ctx, int split, octic_feature_kind kind, octic_features *f) {
    char phase[96];
    snprintf(phase, sizeof phase, "extracting %s", octic_dataset_split_name(ctx->ds, split));
    announce(ctx, phase);
    octic_extract_spec s = {ctx->cache_dir, ctx->model_sha256, ctx->model, ctx->ds, split, ctx->subset,
                            ctx->subset_n, ctx->seed, kind, ctx->size, ctx->resize_to, ctx->batch_size,
                            ctx->threads, ctx->progress, ctx->user};
    octic_status st = octic_features_extract(&s, f);
    if (st == OCTIC_OK) {
        ctx->chunks_reused += f->chunks_reused;
        ctx->chunks_computed += f->chunks_computed;
        if (f->n == 0)
            st = octic_fail(OCTIC_ERR_ARG, "the %s split has no readable images%s%s",
                            octic_dataset_split_name(ctx->ds, split), f->skipped ? ": " : "", f->skipped_text);
        else if (f->skipped)
            octic_eval_note(ctx, "%lld of the %s split's %lld images skipped, unreadable: %s", (long long)f->skipped,
                 octic_dataset_split_name(ctx->ds, split), (long long)(f->n + f->skipped), f->skipped_text);
    }
    return st;
}

static octic_status check_labels(const octic_features *f, int classes, const char *split) {
    for (int64_t i = 0; i < f->n; i++)
        if (f->labels[i] < 0 || f->labels[i] >= classes)
            return octic_fail(OCTIC_ERR_ARG, "the %s split has an image without a class label (item %lld); "
                                             "classification needs labelled images",
                              split, (long long)f->items[i]);
    return OCTIC_OK;
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (splitmix(s) >> 11) / 9007199254740992.0; }

static void permute(int64_t *idx, int64_t n, uint64_t *s) {
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(splitmix(s) % (uint64_t)(i + 1));
        int64_t t = idx[i];
        idx[i] = idx[j], idx[j] = t;
    }
}

/* ---- k-NN ------------------------------------------------------------------------- */

void octic_knn_protocol_defaults(octic_knn_protocol *p) {
    memset(p, 0, sizeof *p);
    p->n_k = 4;
    p->ks[0] = 10, p->ks[1] = 20, p->ks[2] = 100, p->ks[3] = 200;
    p->temperature = 0.07f;
}

int octic_knn_fit_ks(octic_knn_protocol *p, int64_t n, char *told, size_t len) {
    int kept = 0;
    for (int i = 0; i < p->n_k; i++)
        if (p->ks[i] <= n) p->ks[kept++] = p->ks[i];
    if (kept == p->n_k) return 0;
    if (kept == 0) {
        p->ks[kept++] = (int)n; /* below every k asked for, so an int */
        snprintf(told, len, "k = %lld, every train image: the train split has fewer images than any k asked for",
                 (long long)n);
    } else {
        char used[96];
        octic_join_ints(used, sizeof used, p->ks, kept);
        snprintf(told, len, "k %s: the larger ks exceed the train split's %lld images", used, (long long)n);
    }
    p->n_k = kept;
    return 1;
}

octic_status octic_eval_knn(octic_eval_context *ctx, const octic_knn_protocol *p, octic_eval_results *out) {
    octic_features tr, va;
    memset(&va, 0, sizeof va);
    const int classes = octic_dataset_class_count(ctx->ds);
    octic_status st = extract(ctx, ctx->train_split, OCTIC_FEATURES_CLASSIFY, &tr);
    if (st != OCTIC_OK) return st;
    float *xt = NULL, *xv = NULL;
    if ((st = extract(ctx, ctx->val_split, OCTIC_FEATURES_CLASSIFY, &va)) != OCTIC_OK ||
        (st = check_labels(&tr, classes, "train")) != OCTIC_OK || (st = check_labels(&va, classes, "val")) != OCTIC_OK)
        goto done;
    /* the last block's class token after the final norm, L2-normalized */
    xt = octic_features_slice(&tr, (int64_t)(tr.blocks - 1) * tr.dim, tr.dim);
    xv = octic_features_slice(&va, (int64_t)(va.blocks - 1) * va.dim, va.dim);
    if (!xt || !xv) {
        st = octic_fail(OCTIC_ERR_NOMEM, "k-NN: out of memory");
        goto done;
    }
    octic_l2_normalize(xt, tr.n, tr.dim);
    octic_l2_normalize(xv, va.n, va.dim);
    octic_knn_params kp;
    memset(&kp, 0, sizeof kp);
    kp.temperature = p->temperature;
    kp.classes = classes;
    /* the runner fitted the ks to the split; images skipped as unreadable
     * may leave fewer: fitted again, with a note */
    octic_knn_protocol fitted = *p;
    char told[200];
    if (octic_knn_fit_ks(&fitted, tr.n, told, sizeof told)) {
        octic_eval_note(ctx, "%s", told);
        ctx->n_ks_refit = fitted.n_k;
        memcpy(ctx->ks_refit, fitted.ks, sizeof ctx->ks_refit);
    }
    kp.n_k = fitted.n_k;
    memcpy(kp.ks, fitted.ks, sizeof kp.ks);
    announce(ctx, "k-NN");
    octic_knn_result res;
    if ((st = octic_knn_dinov2(xt, tr.labels, tr.n, xv, va.labels, va.n, tr.dim, &kp, NULL, &res, ctx->progress,
                               ctx->user)) != OCTIC_OK)
        goto done;
    int best = 0;
    for (int i = 1; i < kp.n_k; i++)
        if (res.top1[i] > res.top1[best]) best = i;
    char name[64], setting[64];
    for (int i = 0; i < kp.n_k && st == OCTIC_OK; i++) {
        double t1 = 100.0 * res.top1[i] / res.queries, t5 = 100.0 * res.top5[i] / res.queries;
        snprintf(name, sizeof name, "top1_k%d", kp.ks[i]);
        st = add_metric(out, name, t1);
        snprintf(name, sizeof name, "top5_k%d", kp.ks[i]);
        if (st == OCTIC_OK) st = add_metric(out, name, t5);
        snprintf(setting, sizeof setting, "k=%d T=%g", kp.ks[i], (double)kp.temperature);
        if (st == OCTIC_OK) st = add_trial(out, "knn", setting, "top1", t1, i == best);
    }
    if (st == OCTIC_OK) st = add_metric(out, "top1", 100.0 * res.top1[best] / res.queries);
    if (st == OCTIC_OK) st = add_metric(out, "top5", 100.0 * res.top5[best] / res.queries);
    if (st == OCTIC_OK) st = add_metric(out, "best_k", kp.ks[best]);
    if (st == OCTIC_OK) st = add_metric(out, "train_images", (double)tr.n);
    if (st == OCTIC_OK) st = add_metric(out, "val_images", (double)va.n);
done:
    free(xt), free(xv);
    octic_features_free(&tr);
    octic_features_free(&va);
    return st;
}

/* ---- linear probe ------------------------------------------------------------------- */

void octic_linear_protocol_defaults(octic_linear_protocol *p) {
    octic_linear_params lp;
    octic_linear_defaults(&lp, 1, 1, 2);
    memset(p, 0, sizeof *p);
    p->augment = 1;
    p->n_lr = lp.n_lr;
    memcpy(p->lrs, lp.lrs, sizeof p->lrs);
    p->epochs = 10;
    p->epoch_length = 1250;
    p->batch_size = 128;
    p->momentum = 0.9;
}

/* torchvision RandomResizedCrop(scale=(0.08, 1), ratio=(3/4, 4/3)) parameters. */
static void random_resized_crop(int width, int height, uint64_t *s, int *x, int *y, int *w, int *h) {
    const double area = (double)width * height, lr0 = log(3.0 / 4.0), lr1 = log(4.0 / 3.0);
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * (0.08 + uniform(s) * (1.0 - 0.08));
        double aspect = exp(lr0 + uniform(s) * (lr1 - lr0));
        int cw = (int)lround(sqrt(target * aspect)), ch = (int)lround(sqrt(target / aspect));
        if (cw > 0 && cw <= width && ch > 0 && ch <= height) {
            *y = (int)(splitmix(s) % (uint64_t)(height - ch + 1));
            *x = (int)(splitmix(s) % (uint64_t)(width - cw + 1));
            *w = cw, *h = ch;
            return;
        }
    }
    /* fallback: a center crop clamped to the ratio range */
    double ratio = (double)width / height;
    if (ratio < 3.0 / 4.0) *w = width, *h = (int)lround(width / (3.0 / 4.0));
    else if (ratio > 4.0 / 3.0) *h = height, *w = (int)lround(height * (4.0 / 3.0));
    else *w = width, *h = height;
    if (*h > height) *h = height;
    if (*w > width) *w = width;
    *y = (height - *h) / 2, *x = (width - *w) / 2;
}

/* One augmented training image: decode, random resized crop, resize to S x S
 * (PIL bicubic), horizontal flip with p = 0.5, normalize. 0 when the file
 * cannot be read (another item is drawn). */
static int augmented_image(const octic_dataset *ds, int split, int64_t item, int S, uint64_t *s, float *out) {
    octic_dataset_item it;
    octic_image img, crop;
    if (octic_dataset_get_item(ds, split, (size_t)item, &it) != OCTIC_OK) return 0;
    if (octic_image_load(it.image, &img) != OCTIC_OK) return 0;
    int x, y, w, h;
    random_resized_crop(img.width, img.height, s, &x, &y, &w, &h);
    crop.width = w, crop.height = h, crop.channels = 3;
    crop.pixels = malloc((size_t)w * h * 3);
    int ok = crop.pixels != NULL;
    if (ok) {
        for (int r = 0; r < h; r++)
            memcpy(crop.pixels + (size_t)r * w * 3, img.pixels + ((size_t)(y + r) * img.width + x) * 3, (size_t)w * 3);
        ok = octic_preprocess(&crop, OCTIC_TRANSFORM_SEGMENT, S, S, 1, out) == OCTIC_OK;
    }
    if (ok && uniform(s) < 0.5)
        for (int c = 0; c < 3; c++)
            for (int r = 0; r < S; r++) {
                float *row = out + ((size_t)c * S + r) * S;
                for (int i = 0; i < S / 2; i++) {
                    float t = row[i];
                    row[i] = row[S - 1 - i], row[S - 1 - i] = t;
                }
            }
    free(crop.pixels);
    octic_image_free(&img);
    return ok;
}

octic_status octic_eval_linear(octic_eval_context *ctx, const octic_linear_protocol *p, octic_eval_results *out) {
    const int classes = octic_dataset_class_count(ctx->ds);
    octic_features tr, va;
    memset(&tr, 0, sizeof tr);
    memset(&va, 0, sizeof va);
    octic_linear_heads *heads = NULL;
    float *batch = NULL, *images = NULL;
    int32_t *labels = NULL;
    int64_t *order = NULL, *pool = NULL;
    int64_t pool_n = 0;
    octic_status st = OCTIC_OK;
    /* train: cached records, or (augmented) the items to draw from */
    if (!p->augment) {
        if ((st = extract(ctx, ctx->train_split, OCTIC_FEATURES_CLASSIFY, &tr)) != OCTIC_OK ||
            (st = check_labels(&tr, classes, "train")) != OCTIC_OK)
            goto done;
        pool_n = tr.n;
    } else {
        size_t count = octic_dataset_item_count(ctx->ds, ctx->train_split);
        pool = malloc((count ? count : 1) * sizeof(int64_t));
        if (!pool) { st = octic_fail(OCTIC_ERR_NOMEM, "linear probe: out of memory"); goto done; }
        int *per_class = calloc((size_t)(classes > 0 ? classes : 1), sizeof(int));
        for (size_t i = 0; i < count; i++) {
            octic_dataset_item it;
            if (octic_dataset_get_item(ctx->ds, ctx->train_split, i, &it) != OCTIC_OK || it.label < 0 ||
                it.label >= classes)
                continue;
            if (ctx->subset == OCTIC_SUBSET_FIRST && (size_t)pool_n >= ctx->subset_n) break;
            if (ctx->subset == OCTIC_SUBSET_PER_CLASS && per_class && (size_t)per_class[it.label]++ >= ctx->subset_n)
                continue;
            pool[pool_n++] = (int64_t)i;
        }
        free(per_class);
        if (ctx->subset == OCTIC_SUBSET_RANDOM && (size_t)pool_n > ctx->subset_n) {
            uint64_t s = ctx->seed ^ 0x5eedULL;
            for (int64_t i = 0; i < (int64_t)ctx->subset_n; i++) { /* partial shuffle, then keep the set's order */
                int64_t j = i + (int64_t)(splitmix(&s) % (uint64_t)(pool_n - i));
                int64_t t = pool[i];
                pool[i] = pool[j], pool[j] = t;
            }
            pool_n = (int64_t)ctx->subset_n;
        }
        if (pool_n == 0) { st = octic_fail(OCTIC_ERR_ARG, "linear probe: the train split has no labelled images"); goto done; }
    }
    if ((st = extract(ctx, ctx->val_split, OCTIC_FEATURES_CLASSIFY, &va)) != OCTIC_OK ||
        (st = check_labels(&va, classes, "val")) != OCTIC_OK)
        goto done;

    octic_linear_params lp;
    octic_linear_defaults(&lp, va.dim, va.blocks, classes);
    lp.n_lr = p->n_lr;
    memcpy(lp.lrs, p->lrs, sizeof lp.lrs);
    lp.batch_size = p->batch_size;
    lp.iterations = (int64_t)p->epochs * p->epoch_length;
    lp.momentum = p->momentum;
    lp.seed = ctx->seed;
    if ((st = octic_linear_create(&lp, &heads)) != OCTIC_OK) goto done;
    const int B = p->batch_size, S = ctx->size;
    const int64_t rec = va.record;
    batch = malloc((size_t)B * rec * sizeof(float));
    labels = malloc((size_t)B * sizeof(int32_t));
    order = malloc((size_t)pool_n * sizeof(int64_t));
    if (p->augment) images = malloc((size_t)B * 3 * S * S * sizeof(float));
    if (!batch || !labels || !order || (p->augment && !images)) {
        st = octic_fail(OCTIC_ERR_NOMEM, "linear probe: out of memory for a batch of %d", B);
        goto done;
    }
    /* an endless shuffled sampler, as DINOv2's InfiniteSampler */
    uint64_t rng = ctx->seed ^ 0x11ea7ULL;
    int64_t pos = pool_n;
    announce(ctx, p->augment ? "training (augmented, backbone every step)" : "training on cached features");
    for (int64_t t = 0; t < lp.iterations; t++) {
        for (int i = 0; i < B; i++) {
            for (int tries = 0;; tries++) {
                if (pos == pool_n) permute(order, pool_n, &rng), pos = 0;
                int64_t j = order[pos++];
                if (!p->augment) {
                    memcpy(batch + (size_t)i * rec, tr.features + j * rec, (size_t)rec * sizeof(float));
                    labels[i] = tr.labels[j];
                    break;
                }
                octic_dataset_item it;
                if (augmented_image(ctx->ds, ctx->train_split, pool[j], S, &rng, images + (size_t)i * 3 * S * S) &&
                    octic_dataset_get_item(ctx->ds, ctx->train_split, (size_t)pool[j], &it) == OCTIC_OK) {
                    labels[i] = it.label;
                    break;
                }
                if (tries > 1000) { st = octic_fail(OCTIC_ERR_IO, "linear probe: no train image can be read"); goto done; }
            }
        }
        if (p->augment && (st = octic_forward_records(ctx->model, images, B, S, batch, NULL)) != OCTIC_OK) goto done;
        if ((st = octic_linear_step(heads, batch, labels, B, t, NULL)) != OCTIC_OK) goto done;
        octic_eval_test_pause();
        if (ctx->progress && ctx->progress(ctx->user, t + 1, lp.iterations)) {
            st = octic_fail(OCTIC_ERR_ARG, "cancelled during training");
            goto done;
        }
    }
    announce(ctx, "scoring the heads");
    int H = octic_linear_head_count(heads);
    int64_t *top1 = calloc((size_t)H * 2, sizeof(int64_t));
    if (!top1) { st = octic_fail(OCTIC_ERR_NOMEM, "linear probe: out of memory"); goto done; }
    int64_t *top5 = top1 + H;
    if ((st = octic_linear_score(heads, va.features, va.labels, va.n, top1, top5)) != OCTIC_OK) {
        free(top1);
        goto done;
    }
    int best = 0;
    for (int h = 1; h < H; h++)
        if (top1[h] > top1[best]) best = h;
    char setting[96];
    for (int h = 0; h < H && st == OCTIC_OK; h++) {
        octic_linear_head_name(heads, h, setting, sizeof setting);
        st = add_trial(out, "linear", setting, "top1", 100.0 * top1[h] / va.n, h == best);
    }
    if (st == OCTIC_OK) st = add_metric(out, "top1", 100.0 * top1[best] / va.n);
    if (st == OCTIC_OK) st = add_metric(out, "top5", 100.0 * top5[best] / va.n);
    if (st == OCTIC_OK) st = add_metric(out, "iterations", (double)lp.iterations);
    if (st == OCTIC_OK) st = add_metric(out, "train_images", (double)pool_n);
    if (st == OCTIC_OK) st = add_metric(out, "val_images", (double)va.n);
    free(top1);
done:
    octic_linear_free(heads);
    free(batch), free(images), free(labels), free(order), free(pool);
    octic_features_free(&tr);
    octic_features_free(&va);
    return st;
}

/* ---- segmentation ----------------------------------------------------------------- */

void octic_seg_protocol_defaults(octic_seg_protocol *p) {
    memset(p, 0, sizeof *p);
    p->n_c = 8;
    for (int i = 0; i < 8; i++) p->cs[i] = pow(10.0, -6.0 + 11.0 * i / 7.0);
    p->max_iter = 1000;
    p->tol = 1e-12;
    p->linesearch_max_iter = 50;
    p->memory = 5;
    p->n_k = 4;
    p->ks[0] = 1, p->ks[1] = 3, p->ks[2] = 10, p->ks[3] = 30;
    p->n_dist = 2;
    p->dists[0] = OCTIC_DIST_COSINE, p->dists[1] = OCTIC_DIST_L2;
    p->holdout = 0.1;
    p->knn = p->logreg = 1;
}

/* Patch rows of a set of images: features [rows, C], pixels [rows, pp]. */
typedef struct {
    float *x;
    uint8_t *pix;
    int32_t *mode;  /* patch label by mode, -1 when ignored */
    int64_t rows;
} patch_rows;

static void patch_rows_free(patch_rows *r) {
    free(r->x), free(r->pix), free(r->mode);
    memset(r, 0, sizeof *r);
}

/* The rows of images imgs[n] of f. keep_ignored = 0 drops patches whose mode
 * is ignored (training), 1 keeps every patch (scoring). */
static octic_status gather(const octic_features *f, const int64_t *imgs, int64_t n, const octic_label_set *ign,
                           int keep_ignored, patch_rows *out) {
    const int N = f->patches, C = f->dim, pp = f->patch * f->patch;
    memset(out, 0, sizeof *out);
    int64_t cap = n * N;
    out->x = malloc((size_t)(cap ? cap : 1) * C * sizeof(float));
    out->pix = malloc((size_t)(cap ? cap : 1) * pp);
    out->mode = malloc((size_t)(cap ? cap : 1) * sizeof(int32_t));
    if (!out->x || !out->pix || !out->mode) {
        patch_rows_free(out);
        return octic_fail(OCTIC_ERR_NOMEM, "segmentation: out of memory for %lld patches", (long long)cap);
    }
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < N; j++) {
            const uint8_t *pix = f->pixels + ((size_t)imgs[i] * N + j) * pp;
            int mode = octic_label_mode(pix, pp);
            if (ign->ignored[mode] && !keep_ignored) continue;
            memcpy(out->x + out->rows * C, f->features + (size_t)imgs[i] * f->record + (size_t)j * C, C * sizeof(float));
            memcpy(out->pix + out->rows * pp, pix, (size_t)pp);
            out->mode[out->rows] = ign->ignored[mode] ? -1 : mode;
            out->rows++;
        }
    return OCTIC_OK;
}

/* Per-pixel predictions of the k-NN: for each query patch and pixel, the
 * most frequent label among the k nearest train patches' same pixel. */
static octic_status knn_pixels(const int32_t *idx, int kmax, int k, const patch_rows *train, int64_t m, int pp,
                               uint8_t *pred) {
    uint8_t *vals = malloc((size_t)k);
    if (!vals) return octic_fail(OCTIC_ERR_NOMEM, "segmentation: out of memory for k = %d", k);
    for (int64_t q = 0; q < m; q++)
        for (int px = 0; px < pp; px++) {
            int n = 0;
            for (int j = 0; j < k; j++)
                if (idx[q * kmax + j] >= 0) vals[n++] = train->pix[(size_t)idx[q * kmax + j] * pp + px];
            pred[q * pp + px] = (uint8_t)octic_label_mode(vals, n);
        }
    free(vals);
    return OCTIC_OK;
}

static double score_pixels(const patch_rows *query, const uint8_t *pred, int pp, const octic_label_set *ign,
                           octic_seg_scores *s) {
    int64_t *conf = calloc(256 * 256, sizeof(int64_t));
    if (!conf) return NAN;
    octic_confusion_add(conf, query->pix, pred, query->rows * pp, ign);
    octic_seg_score(conf, s);
    free(conf);
    return 100.0 * s->miou;
}

static const char *dist_name(octic_distance d) { return d == OCTIC_DIST_L2 ? "L2" : "cosine"; }

static int logreg_progress(void *user, int64_t it, int64_t max_it) {
    octic_eval_context *ctx = user;
    return ctx->progress ? ctx->progress(ctx->user, it, max_it) : 0;
}

/* The protocol's logistic regression with inverse regularization c, fitted
 * on the rows fit (their patch modes), labels every pixel of the rows query
 * with its patch's class: pred[query->rows * pp] (pred32[query->rows] the
 * classes). */
static octic_status logreg_pixels(octic_eval_context *ctx, const octic_seg_protocol *p, double c, const patch_rows *fit,
                                  const patch_rows *query, int C, int pp, int32_t *pred32, uint8_t *pred) {
    octic_logreg_params lp;
    octic_logreg_defaults(&lp, c);
    lp.max_iter = p->max_iter, lp.tol = p->tol, lp.linesearch_max_iter = p->linesearch_max_iter;
    lp.memory = p->memory;
    octic_logreg_model m;
    octic_status st = octic_logreg_fit(fit->x, fit->mode, fit->rows, C, &lp, &m, logreg_progress, ctx);
    if (st != OCTIC_OK) return st;
    st = octic_logreg_predict(&m, query->x, query->rows, pred32);
    octic_logreg_free(&m);
    if (st != OCTIC_OK) return st;
    for (int64_t q = 0; q < query->rows; q++) memset(pred + q * pp, (uint8_t)pred32[q], (size_t)pp);
    return OCTIC_OK;
}

/* k-NN neighbours for a distance: copies normalized for cosine. */
static octic_status neighbors(const patch_rows *tr, const patch_rows *q, int C, int kmax, octic_distance d, int32_t *idx) {
    if (d != OCTIC_DIST_COSINE)
        return octic_knn_neighbors(tr->x, tr->rows, q->x, q->rows, C, kmax, d, 0, idx, NULL);
    float *a = malloc((size_t)(tr->rows ? tr->rows : 1) * C * sizeof(float));
    float *b = malloc((size_t)(q->rows ? q->rows : 1) * C * sizeof(float));
    if (!a || !b) {
        free(a), free(b);
        return octic_fail(OCTIC_ERR_NOMEM, "segmentation k-NN: out of memory");
    }
    memcpy(a, tr->x, (size_t)tr->rows * C * sizeof(float));
    memcpy(b, q->x, (size_t)q->rows * C * sizeof(float));
    octic_l2_normalize(a, tr->rows, C);
    octic_l2_normalize(b, q->rows, C);
    octic_status st = octic_knn_neighbors(a, tr->rows, b, q->rows, C, kmax, OCTIC_DIST_DOT, 0, idx, NULL);
    free(a), free(b);
    return st;
}

static octic_status record_scores(octic_eval_context *ctx, octic_eval_results *out, const char *cls,
                                  const octic_seg_scores *s) {
    char name[64];
    snprintf(name, sizeof name, "%s_mIoU", cls);
    octic_status st = add_metric(out, name, 100.0 * s->miou);
    snprintf(name, sizeof name, "%s_pixel_acc", cls);
    if (st == OCTIC_OK) st = add_metric(out, name, 100.0 * s->pixel_accuracy);
    const int classes = octic_dataset_class_count(ctx->ds);
    for (int c = 0; c < 256 && st == OCTIC_OK; c++)
        if (s->present[c]) {
            /* a label beyond the classes (VOC's 255, predicted by the k-NN's per-pixel vote) by its number */
            snprintf(name, sizeof name, "label %d", c);
            st = add_class(out, cls, c, c < classes ? octic_dataset_class_name(ctx->ds, c) : name, "IoU",
                           100.0 * s->iou[c]);
        }
    return st;
}

octic_status octic_eval_seg(octic_eval_context *ctx, const octic_seg_protocol *p, octic_eval_results *out) {
    octic_features tr, te;
    memset(&te, 0, sizeof te);
    patch_rows fit_rows = {0}, sel_rows = {0}, all_rows = {0}, test_rows = {0};
    int64_t *perm = NULL;
    int32_t *idx = NULL, *pred32 = NULL;
    uint8_t *pred = NULL;
    float *mean = NULL, *scale = NULL;
    octic_label_set ign;
    memset(&ign, 0, sizeof ign);
    int ignored[8];
    int n_ign = octic_dataset_ignored_labels(ctx->ds, ignored);
    for (int i = 0; i < n_ign; i++) ign.ignored[ignored[i] & 255] = 1;

    octic_status st = extract(ctx, ctx->train_split, OCTIC_FEATURES_PATCH, &tr);
    if (st != OCTIC_OK) return st;
    if ((st = extract(ctx, ctx->val_split, OCTIC_FEATURES_PATCH, &te)) != OCTIC_OK) goto done;
    const int C = tr.dim, pp = tr.patch * tr.patch;
    /* a random 10% of the train images held out for choosing hyper-parameters */
    perm = malloc((size_t)tr.n * sizeof(int64_t));
    if (!perm) { st = octic_fail(OCTIC_ERR_NOMEM, "segmentation: out of memory"); goto done; }
    uint64_t rng = ctx->seed ^ 0x5e9ULL;
    permute(perm, tr.n, &rng);
    int64_t n_sel = (int64_t)(tr.n * p->holdout);
    if (n_sel < 1 && tr.n > 1) n_sel = 1;
    if (n_sel >= tr.n) { st = octic_fail(OCTIC_ERR_ARG, "segmentation needs at least 2 train images, got %lld", (long long)tr.n); goto done; }
    /* standardization fitted on the train part only (not the held-out or val images) */
    announce(ctx, "standardizing");
    if ((st = gather(&tr, perm + n_sel, tr.n - n_sel, &ign, 1, &all_rows)) != OCTIC_OK) goto done;
    mean = malloc((size_t)C * sizeof(float));
    scale = malloc((size_t)C * sizeof(float));
    if (!mean || !scale) { st = octic_fail(OCTIC_ERR_NOMEM, "segmentation: out of memory"); goto done; }
    if ((st = octic_standardize_fit(all_rows.x, all_rows.rows, C, mean, scale)) != OCTIC_OK) goto done;
    patch_rows_free(&all_rows);
    octic_standardize_apply(tr.features, tr.n * tr.patches, C, mean, scale);
    octic_standardize_apply(te.features, te.n * te.patches, C, mean, scale);

    if ((st = gather(&tr, perm + n_sel, tr.n - n_sel, &ign, 0, &fit_rows)) != OCTIC_OK ||
        (st = gather(&tr, perm, n_sel, &ign, 1, &sel_rows)) != OCTIC_OK)
        goto done;
    for (int64_t i = 0; i < tr.n; i++) perm[i] = i; /* then: every train image, in order */
    if ((st = gather(&tr, perm, tr.n, &ign, 0, &all_rows)) != OCTIC_OK) goto done;
    int64_t *te_all = malloc((size_t)te.n * sizeof(int64_t));
    if (!te_all) { st = octic_fail(OCTIC_ERR_NOMEM, "segmentation: out of memory"); goto done; }
    for (int64_t i = 0; i < te.n; i++) te_all[i] = i;
    st = gather(&te, te_all, te.n, &ign, 1, &test_rows);
    free(te_all);
    if (st != OCTIC_OK) goto done;
    if (fit_rows.rows == 0 || all_rows.rows == 0) {
        st = octic_fail(OCTIC_ERR_ARG, "%s: segmentation: no patch of the %s split (apart from the held-out share) has "
                                       "a label that is not ignored: nothing to fit; are its masks right?",
                        octic_dataset_root(ctx->ds), octic_dataset_split_name(ctx->ds, ctx->train_split));
        goto done;
    }
    int64_t most = sel_rows.rows > test_rows.rows ? sel_rows.rows : test_rows.rows;
    pred = malloc((size_t)(most ? most : 1) * pp);
    pred32 = malloc((size_t)(most ? most : 1) * sizeof(int32_t));
    if (!pred || !pred32) { st = octic_fail(OCTIC_ERR_NOMEM, "segmentation: out of memory"); goto done; }
    octic_seg_scores s;
    char setting[96], phase[96];

    if (p->knn) {
        int kmax = 0;
        for (int i = 0; i < p->n_k; i++) kmax = p->ks[i] > kmax ? p->ks[i] : kmax;
        idx = malloc((size_t)(most ? most : 1) * kmax * sizeof(int32_t));
        if (!idx) { st = octic_fail(OCTIC_ERR_NOMEM, "segmentation: out of memory"); goto done; }
        double best = -1.0, grid[2][8]; /* mIoU by distance and k */
        int best_k = p->ks[0];
        octic_distance best_d = p->dists[0];
        int first_trial = out->n_trials;
        announce(ctx, "k-NN: choosing k and the distance on the held-out images");
        for (int di = 0; di < p->n_dist; di++) { /* the neighbours once per distance */
            if ((st = neighbors(&fit_rows, &sel_rows, C, kmax, p->dists[di], idx)) != OCTIC_OK) goto done;
            for (int ki = 0; ki < p->n_k; ki++) {
                if ((st = knn_pixels(idx, kmax, p->ks[ki], &fit_rows, sel_rows.rows, pp, pred)) != OCTIC_OK) goto done;
                double miou = score_pixels(&sel_rows, pred, pp, &ign, &s);
                snprintf(setting, sizeof setting, "k=%d distance=%s", p->ks[ki], dist_name(p->dists[di]));
                if ((st = add_trial(out, "knn", setting, "mIoU", miou, 0)) != OCTIC_OK) goto done;
                grid[di][ki] = miou;
            }
        }
        /* the first best in the reference's order, itertools.product(ks, distances): ties go as there */
        for (int ki = 0; ki < p->n_k; ki++)
            for (int di = 0; di < p->n_dist; di++)
                if (grid[di][ki] > best) best = grid[di][ki], best_k = p->ks[ki], best_d = p->dists[di];
        for (int i = first_trial; i < out->n_trials; i++) {
            snprintf(setting, sizeof setting, "k=%d distance=%s", best_k, dist_name(best_d));
            out->trials[i].selected = strcmp(out->trials[i].setting, setting) == 0;
        }
        snprintf(phase, sizeof phase, "k-NN: k=%d %s on every train image, scoring val", best_k, dist_name(best_d));
        announce(ctx, phase);
        if ((st = neighbors(&all_rows, &test_rows, C, kmax, best_d, idx)) != OCTIC_OK) goto done;
        if ((st = knn_pixels(idx, kmax, best_k, &all_rows, test_rows.rows, pp, pred)) != OCTIC_OK) goto done;
        score_pixels(&test_rows, pred, pp, &ign, &s);
        if ((st = record_scores(ctx, out, "knn", &s)) != OCTIC_OK) goto done;
    }
    if (p->logreg) {
        double best = -1.0;
        int best_c = 0;
        int first_trial = out->n_trials;
        for (int ci = 0; ci < p->n_c; ci++) {
            snprintf(phase, sizeof phase, "logistic regression C=%g (%d/%d) on the train part", p->cs[ci], ci + 1, p->n_c);
            announce(ctx, phase);
            if ((st = logreg_pixels(ctx, p, p->cs[ci], &fit_rows, &sel_rows, C, pp, pred32, pred)) != OCTIC_OK)
                goto done;
            double miou = score_pixels(&sel_rows, pred, pp, &ign, &s);
            snprintf(setting, sizeof setting, "C=%g", p->cs[ci]);
            if ((st = add_trial(out, "logreg", setting, "mIoU", miou, 0)) != OCTIC_OK) goto done;
            if (miou > best) best = miou, best_c = ci;
        }
        out->trials[first_trial + best_c].selected = 1;
        snprintf(phase, sizeof phase, "logistic regression C=%g on every train image", p->cs[best_c]);
        announce(ctx, phase);
        if ((st = logreg_pixels(ctx, p, p->cs[best_c], &all_rows, &test_rows, C, pp, pred32, pred)) != OCTIC_OK)
            goto done;
        score_pixels(&test_rows, pred, pp, &ign, &s);
        if ((st = record_scores(ctx, out, "logreg", &s)) != OCTIC_OK) goto done;
        if ((st = add_metric(out, "best_C", p->cs[best_c])) != OCTIC_OK) goto done;
    }
    /* the headline number: the linear (logistic regression) mIoU, else the k-NN's */
    for (int i = 0; i < out->n_metrics && st == OCTIC_OK; i++)
        if (strcmp(out->metrics[i].name, p->logreg ? "logreg_mIoU" : "knn_mIoU") == 0) {
            st = add_metric(out, "mIoU", out->metrics[i].value);
            break;
        }
    if (st == OCTIC_OK) st = add_metric(out, "train_images", (double)tr.n);
    if (st == OCTIC_OK) st = add_metric(out, "val_images", (double)te.n);
done:
    patch_rows_free(&fit_rows), patch_rows_free(&sel_rows), patch_rows_free(&all_rows), patch_rows_free(&test_rows);
    free(perm), free(idx), free(pred), free(pred32), free(mean), free(scale);
    octic_features_free(&tr);
    octic_features_free(&te);
    return st;
}
