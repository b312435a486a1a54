/* The batch loader (see loader.h).
 *
 * The items to visit (after subset and shard) are positions 0..n-1. A ring
 * of Q slots holds decoded items: position p lives in slot p % Q. Workers
 * claim positions in increasing order and may run ahead of the consumer by
 * at most Q positions; the consumer takes positions strictly in order, so
 * the order of what it hands out never depends on the threads. */

#include "loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    float *image;  /* [3, S, S] */
    uint8_t *mask; /* [S, S] or NULL */
    int label;
    int ready;     /* filled by a worker, not yet taken by the consumer */
    int failed;
    const char *bad_path; /* the file that failed (the item's strings) */
    char reason[512];
} slot;

typedef struct {
    size_t index;
    const char *path;
    char *reason;
} skipped_item;

struct octic_loader {
    const octic_dataset *ds;
    octic_loader_options o;
    int masks;
    size_t *sel; /* [nsel] item indices in the split */
    size_t nsel;
    size_t n;    /* positions: nsel * epochs; position p is item sel[p % nsel] */
    size_t Q;
    slot *slots;
    float *slot_images; /* one allocation for all slots: [Q, 3, S, S] */
    uint8_t *slot_masks; /* [Q, S, S] */

    pthread_mutex_t mu;
    pthread_cond_t room, filled;
    size_t next_claim, consumed;
    int stop;
    int sync_ready; /* the mutex and conditions are initialized */
    pthread_t *threads;
    int nthreads;

    /* The batch handed out last: [B, 3, S, S], [B, S, S], [B], [B]. */
    float *b_images;
    uint8_t *b_masks;
    int *b_labels;
    size_t *b_indices;

    skipped_item *skipped;
    size_t nskipped, skipped_cap;
    size_t delivered;
    double consumer_wait, worker_wait;
};

octic_loader_options octic_loader_defaults(void) {
    octic_loader_options o;
    memset(&o, 0, sizeof o);
    o.transform = OCTIC_TRANSFORM_CLASSIFY;
    o.size = 224;
    o.resize_to = 256;
    o.normalize = 1;
    o.batch_size = 32;
    o.masks = 1;
    o.world_size = 1;
    o.epochs = 1;
    return o;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- choosing the items ---- */

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) without modulo bias. */
static uint64_t below(uint64_t *s, uint64_t bound) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = splitmix64(s);
    while (r >= limit);
    return r % bound;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static octic_status select_items(octic_loader *ld) {
    const octic_dataset *ds = ld->ds;
    const octic_loader_options *o = &ld->o;
    size_t total = octic_dataset_item_count(ds, o->split);
    size_t *all = malloc((total ? total : 1) * sizeof *all);
    if (!all) return octic_fail(OCTIC_ERR_NOMEM, "out of memory for %zu items", total);
    size_t m = 0;
    switch (o->subset) {
    case OCTIC_SUBSET_ALL:
        for (size_t i = 0; i < total; i++) all[m++] = i;
        break;
    case OCTIC_SUBSET_FIRST:
        for (size_t i = 0; i < total && i < o->subset_n; i++) all[m++] = i;
        break;
    case OCTIC_SUBSET_PER_CLASS: {
        int nc = octic_dataset_class_count(ds);
        size_t *taken = calloc((size_t)(nc ? nc : 1), sizeof *taken);
        if (!taken) {
            free(all);
            return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < total; i++) {
            octic_dataset_item it;
            octic_dataset_get_item(ds, o->split, i, &it);
            if (it.label < 0 || it.label >= nc) continue;
            if (taken[it.label] < o->subset_n) {
                taken[it.label]++;
                all[m++] = i;
            }
        }
        free(taken);
        break;
    }
    case OCTIC_SUBSET_RANDOM: {
        for (size_t i = 0; i < total; i++) all[i] = i;
        size_t k = o->subset_n < total ? o->subset_n : total;
        uint64_t state = o->seed;
        /* Partial Fisher-Yates: the first k are a uniform sample. */
        for (size_t i = 0; i < k; i++) {
            size_t j = i + (size_t)below(&state, total - i);
            size_t t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        m = k;
        qsort(all, m, sizeof *all, cmp_size);
        break;
    }
    }
    /* This rank's shard: every world_size-th item from position rank. */
    size_t n = 0;
    for (size_t k = 0; k < m; k++)
        if (k % (size_t)o->world_size == (size_t)o->rank) all[n++] = all[k];
    ld->sel = all;
    ld->nsel = n;
    ld->n = n * (size_t)o->epochs;
    return OCTIC_OK;
}

/* ---- workers ---- */

/* Drops a leading "<path>: " from an error message, the path being said
 * separately. */
static void set_reason(slot *s, const char *path, const char *msg) {
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') msg += n + 2;
    snprintf(s->reason, sizeof s->reason, "%s", msg);
}

static void load_item(octic_loader *ld, size_t pos, slot *s) {
    const octic_loader_options *o = &ld->o;
    octic_dataset_item it;
    s->failed = 0;
    s->reason[0] = '\0';
    if (octic_dataset_get_item(ld->ds, o->split, ld->sel[pos % ld->nsel], &it) != OCTIC_OK) {
        s->failed = 1;
        s->bad_path = octic_dataset_root(ld->ds);
        set_reason(s, "", octic_last_error());
        return;
    }
    s->label = it.label;
    s->bad_path = it.image;
    octic_image img = {0}, mask = {0};
    if (octic_image_load(it.image, &img) != OCTIC_OK) {
        s->failed = 1;
        set_reason(s, it.image, octic_last_error());
        return;
    }
    if (ld->masks) {
        if (!it.mask) {
            s->failed = 1;
            set_reason(s, "", "no mask for this image");
        } else if (octic_mask_load(it.mask, &mask) != OCTIC_OK) {
            s->failed = 1;
            s->bad_path = it.mask;
            set_reason(s, it.mask, octic_last_error());
        } else if (mask.width != img.width || mask.height != img.height) {
            s->failed = 1;
            s->bad_path = it.mask;
            snprintf(s->reason, sizeof s->reason, "the mask is %dx%d but its image %s is %dx%d", mask.width,
                     mask.height, it.image, img.width, img.height);
        } else if (octic_preprocess_mask(&mask, o->size, s->mask) != OCTIC_OK) {
            s->failed = 1;
            s->bad_path = it.mask;
            set_reason(s, it.mask, octic_last_error());
        }
    }
    if (!s->failed && octic_preprocess(&img, o->transform, o->size, o->resize_to, o->normalize, s->image) != OCTIC_OK) {
        s->failed = 1;
        set_reason(s, it.image, octic_last_error());
    }
    octic_image_free(&img);
    octic_image_free(&mask);
}

static void *worker(void *arg) {
    octic_loader *ld = arg;
    for (;;) {
        pthread_mutex_lock(&ld->mu);
        double t0 = 0;
        int waited = 0;
        while (!ld->stop && ld->next_claim < ld->n && ld->next_claim - ld->consumed >= ld->Q) {
            if (!waited) t0 = now_s();
            waited = 1;
            pthread_cond_wait(&ld->room, &ld->mu);
        }
        if (waited) ld->worker_wait += now_s() - t0;
        if (ld->stop || ld->next_claim >= ld->n) {
            pthread_mutex_unlock(&ld->mu);
            return NULL;
        }
        size_t pos = ld->next_claim++;
        pthread_mutex_unlock(&ld->mu);

        slot *s = &ld->slots[pos % ld->Q];
        load_item(ld, pos, s);

        pthread_mutex_lock(&ld->mu);
        s->ready = 1;
        pthread_cond_broadcast(&ld->filled);
        pthread_mutex_unlock(&ld->mu);
    }
}

/* ---- the consumer ---- */

/* The options checked, with their defaults filled in, into *out. */
static octic_status check_options(const octic_dataset *ds, const octic_loader_options *opts, octic_loader_options *out) {
    octic_loader_options o = opts ? *opts : octic_loader_defaults();
    const char *root = octic_dataset_root(ds);
    if (o.split < 0 || o.split >= octic_dataset_split_count(ds))
        return octic_fail(OCTIC_ERR_ARG, "%s: no split number %d (the set has %d)", root, o.split,
                          octic_dataset_split_count(ds));
    if (o.size < 1 || o.size > 4096) return octic_fail(OCTIC_ERR_ARG, "image size %d: expected 1..4096", o.size);
    if (o.transform == OCTIC_TRANSFORM_CLASSIFY && (o.resize_to < o.size || o.resize_to > 8192))
        return octic_fail(OCTIC_ERR_ARG, "resize to %d: expected %d..8192 (at least the crop)", o.resize_to, o.size);
    if (o.transform != OCTIC_TRANSFORM_CLASSIFY && o.transform != OCTIC_TRANSFORM_SEGMENT)
        return octic_fail(OCTIC_ERR_ARG, "unknown transform %d", (int)o.transform);
    if (o.batch_size < 1 || o.batch_size > 65536)
        return octic_fail(OCTIC_ERR_ARG, "batch size %d: expected 1..65536", o.batch_size);
    if (o.threads < 0 || o.threads > 256) return octic_fail(OCTIC_ERR_ARG, "%d threads: expected 0..256", o.threads);
    if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size)
        return octic_fail(OCTIC_ERR_ARG, "rank %d of world size %d: expected 0 <= rank < world size", o.rank,
                          o.world_size);
    if (o.subset == OCTIC_SUBSET_PER_CLASS &&
        (octic_dataset_is_segmentation(ds) || octic_dataset_class_count(ds) == 0))
        return octic_fail(OCTIC_ERR_ARG, "%s: a subset of N per class needs a set labelled by class (this one is %s)",
                          root, octic_layout_name(octic_dataset_layout(ds)));
    if (o.epochs == 0) o.epochs = 1;
    if (o.epochs < 1 || o.epochs > 1000000) return octic_fail(OCTIC_ERR_ARG, "%d epochs: expected 1..1000000", o.epochs);
    if (o.subset < OCTIC_SUBSET_ALL || o.subset > OCTIC_SUBSET_RANDOM)
        return octic_fail(OCTIC_ERR_ARG, "unknown subset kind %d", (int)o.subset);
    int masks = o.masks && octic_dataset_is_segmentation(ds);
    if (masks && o.transform != OCTIC_TRANSFORM_SEGMENT)
        return octic_fail(OCTIC_ERR_ARG, "%s: masks are resized by the segment transform: use it, or masks = 0", root);
    if (o.threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = c < 1 ? 1 : c > 64 ? 64 : (int)c;
    }
    if (o.queue_items <= 0) o.queue_items = 2 * o.batch_size + 2 * o.threads;
    *out = o;
    return OCTIC_OK;
}

octic_status octic_loader_count(const octic_dataset *ds, const octic_loader_options *opts, size_t *count) {
    *count = 0;
    octic_loader ld;
    memset(&ld, 0, sizeof ld);
    ld.ds = ds;
    octic_status st = check_options(ds, opts, &ld.o);
    if (st == OCTIC_OK && (st = select_items(&ld)) == OCTIC_OK) *count = ld.n;
    free(ld.sel);
    return st;
}

octic_status octic_loader_open(const octic_dataset *ds, const octic_loader_options *opts, octic_loader **out) {
    *out = NULL;
    octic_loader_options o;
    octic_status st = check_options(ds, opts, &o);
    if (st != OCTIC_OK) return st;
    int masks = o.masks && octic_dataset_is_segmentation(ds);
    octic_loader *ld = calloc(1, sizeof *ld);
    if (!ld) return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
    ld->ds = ds;
    ld->o = o;
    ld->masks = masks;
    st = select_items(ld);
    if (st) {
        free(ld);
        return st;
    }
    size_t S2 = (size_t)o.size * (size_t)o.size, B = (size_t)o.batch_size;
    ld->Q = (size_t)o.queue_items;
    ld->slots = calloc(ld->Q, sizeof *ld->slots);
    ld->slot_images = malloc(ld->Q * 3 * S2 * sizeof(float));
    ld->slot_masks = masks ? malloc(ld->Q * S2) : NULL;
    ld->b_images = malloc(B * 3 * S2 * sizeof(float));
    ld->b_masks = masks ? malloc(B * S2) : NULL;
    ld->b_labels = malloc(B * sizeof(int));
    ld->b_indices = malloc(B * sizeof(size_t));
    ld->threads = calloc((size_t)o.threads, sizeof *ld->threads);
    if (!ld->slots || !ld->slot_images || (masks && (!ld->slot_masks || !ld->b_masks)) || !ld->b_images ||
        !ld->b_labels || !ld->b_indices || !ld->threads) {
        octic_loader_close(ld);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for a queue of %zu images of %dx%d", ld->Q, o.size, o.size);
    }
    for (size_t q = 0; q < ld->Q; q++) {
        ld->slots[q].image = ld->slot_images + q * 3 * S2;
        ld->slots[q].mask = masks ? ld->slot_masks + q * S2 : NULL;
    }
    pthread_mutex_init(&ld->mu, NULL);
    pthread_cond_init(&ld->room, NULL);
    pthread_cond_init(&ld->filled, NULL);
    ld->sync_ready = 1;
    for (int t = 0; t < o.threads; t++) {
        if (pthread_create(&ld->threads[t], NULL, worker, ld) != 0) {
            octic_loader_close(ld);
            return octic_fail(OCTIC_ERR_NOMEM, "cannot start loader thread %d", t);
        }
        ld->nthreads++;
    }
    *out = ld;
    return OCTIC_OK;
}

static int record_skip(octic_loader *ld, size_t index, const slot *s) {
    if (ld->nskipped == ld->skipped_cap) {
        size_t cap = ld->skipped_cap ? 2 * ld->skipped_cap : 16;
        skipped_item *p = realloc(ld->skipped, cap * sizeof *p);
        if (!p) return -1;
        ld->skipped = p;
        ld->skipped_cap = cap;
    }
    char *r = strdup(s->reason);
    if (!r) return -1;
    ld->skipped[ld->nskipped++] = (skipped_item){index, s->bad_path, r};
    return 0;
}

octic_status octic_loader_next(octic_loader *ld, octic_batch *out) {
    const size_t S2 = (size_t)ld->o.size * (size_t)ld->o.size;
    int count = 0;
    octic_status st = OCTIC_OK;
    while (count < ld->o.batch_size && ld->consumed < ld->n) {
        size_t pos = ld->consumed;
        slot *s = &ld->slots[pos % ld->Q];
        pthread_mutex_lock(&ld->mu);
        if (!s->ready) {
            double t0 = now_s();
            while (!s->ready) pthread_cond_wait(&ld->filled, &ld->mu);
            ld->consumer_wait += now_s() - t0;
        }
        pthread_mutex_unlock(&ld->mu);
        /* The slot is ours until `consumed` moves past it. */
        if (s->failed) {
            if (record_skip(ld, ld->sel[pos % ld->nsel], s) < 0) st = octic_fail(OCTIC_ERR_NOMEM, "out of memory");
        } else {
            memcpy(ld->b_images + (size_t)count * 3 * S2, s->image, 3 * S2 * sizeof(float));
            if (ld->masks) memcpy(ld->b_masks + (size_t)count * S2, s->mask, S2);
            ld->b_labels[count] = s->label;
            ld->b_indices[count] = ld->sel[pos % ld->nsel];
            count++;
            ld->delivered++;
        }
        pthread_mutex_lock(&ld->mu);
        s->ready = 0;
        ld->consumed++;
        pthread_cond_broadcast(&ld->room);
        pthread_mutex_unlock(&ld->mu);
        if (st) break;
    }
    out->count = count;
    out->size = ld->o.size;
    out->images = ld->b_images;
    out->masks = ld->masks ? ld->b_masks : NULL;
    out->labels = ld->b_labels;
    out->indices = ld->b_indices;
    return st;
}

void octic_loader_close(octic_loader *ld) {
    if (!ld) return;
    if (ld->nthreads) {
        pthread_mutex_lock(&ld->mu);
        ld->stop = 1;
        pthread_cond_broadcast(&ld->room);
        pthread_mutex_unlock(&ld->mu);
        for (int t = 0; t < ld->nthreads; t++) pthread_join(ld->threads[t], NULL);
    }
    if (ld->sync_ready) {
        pthread_mutex_destroy(&ld->mu);
        pthread_cond_destroy(&ld->room);
        pthread_cond_destroy(&ld->filled);
    }
    for (size_t i = 0; i < ld->nskipped; i++) free(ld->skipped[i].reason);
    free(ld->skipped);
    free(ld->threads);
    free(ld->slots);
    free(ld->slot_images);
    free(ld->slot_masks);
    free(ld->b_images);
    free(ld->b_masks);
    free(ld->b_labels);
    free(ld->b_indices);
    free(ld->sel);
    free(ld);
}

size_t octic_loader_item_count(const octic_loader *ld) { return ld->n; }
size_t octic_loader_skipped(const octic_loader *ld) { return ld->nskipped; }

void octic_loader_skipped_item(const octic_loader *ld, size_t i, size_t *index, const char **path,
                               const char **reason) {
    if (i >= ld->nskipped) {
        if (index) *index = 0;
        if (path) *path = NULL;
        if (reason) *reason = NULL;
        return;
    }
    if (index) *index = ld->skipped[i].index;
    if (path) *path = ld->skipped[i].path;
    if (reason) *reason = ld->skipped[i].reason;
}

void octic_loader_get_stats(const octic_loader *ld, octic_loader_stats *out) {
    pthread_mutex_t *mu = (pthread_mutex_t *)&ld->mu;
    pthread_mutex_lock(mu);
    out->delivered = ld->delivered;
    out->skipped = ld->nskipped;
    out->consumer_wait_s = ld->consumer_wait;
    out->worker_wait_s = ld->worker_wait;
    pthread_mutex_unlock(mu);
}
