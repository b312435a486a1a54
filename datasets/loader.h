/* The batch loader: worker threads decode and preprocess the items of one
 * split of a data set ahead of the consumer (a bounded queue), handing them
 * out in a deterministic order whatever the number of threads.
 *
 *   octic_loader_options o = octic_loader_defaults();
 *   o.split = octic_dataset_find_split(ds, "val");
 *   o.batch_size = 32;
 *   octic_loader *ld;
 *   octic_loader_open(ds, &o, &ld);
 *   octic_batch b;
 *   while (octic_loader_next(ld, &b) == OCTIC_OK && b.count > 0)
 *       run_model(b.images, b.count);      // [count, 3, size, size]
 *   for (size_t i = 0; i < octic_loader_skipped(ld); i++) ...   // path + reason
 *   octic_loader_close(ld);
 *
 * Order: the split's items in the data set's order, restricted to the subset,
 * then to this rank's shard. Unreadable items (truncated or non-image files,
 * a mask of another size than its image, ...) are skipped, counted and
 * recorded with the path and the reason; batches are filled with the next
 * good items, so every batch but the last is full. */
#ifndef OCTIC_LOADER_H
#define OCTIC_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "error.h"
#include "image.h"

typedef enum {
    OCTIC_SUBSET_ALL = 0,
    OCTIC_SUBSET_FIRST,     /* the first n items */
    OCTIC_SUBSET_PER_CLASS, /* the first n items of every class (labelled sets) */
    OCTIC_SUBSET_RANDOM,    /* n items drawn without replacement with `seed`, kept in the set's order */
} octic_subset;

typedef struct {
    int split;               /* index from octic_dataset_find_split */
    octic_transform transform; /* CLASSIFY (default) or SEGMENT */
    int size;                /* output side, 224 */
    int resize_to;           /* CLASSIFY: shorter side before the crop, 256 */
    int normalize;           /* 1: ImageNet mean/std (default); 0: [0, 1] */
    int batch_size;          /* items per batch, >= 1 (default 32) */
    int threads;             /* worker threads; 0: the number of online CPUs */
    int queue_items;         /* items decoded ahead at most; 0: 2 * batch_size + 2 * threads */
    int masks;               /* segmentation sets: also load masks (default 1) */
    octic_subset subset;
    size_t subset_n;
    uint64_t seed;
    int rank, world_size;    /* shard: items k with k % world_size == rank (default 0, 1) */
    int epochs;              /* passes over this selection, one after the other (default, and 0: 1); a
                              * bad file is reported once per pass */
} octic_loader_options;

octic_loader_options octic_loader_defaults(void);

typedef struct {
    int count;        /* items in this batch; 0 at the end */
    int size;         /* side of the images */
    float *images;    /* [count, 3, size, size] */
    uint8_t *masks;   /* [count, size, size] (nearest), or NULL without masks */
    int *labels;      /* [count] class index or -1 */
    size_t *indices;  /* [count] item index in the split (octic_dataset_get_item) */
} octic_batch;

typedef struct octic_loader octic_loader;

/* Checks the options (bad split, subset of a set without labels, rank out of
 * range) and starts the workers. ds must outlive the loader. */
octic_status octic_loader_open(const octic_dataset *ds, const octic_loader_options *opts, octic_loader **out);
/* The next batch, owned by the loader and valid until the next call. At the
 * end: OCTIC_OK with count 0. */
octic_status octic_loader_next(octic_loader *ld, octic_batch *out);
/* Stops the workers and frees everything (also before the end). */
void octic_loader_close(octic_loader *ld);

/* The items a loader with these options would visit (as
 * octic_loader_item_count), without opening one. */
octic_status octic_loader_count(const octic_dataset *ds, const octic_loader_options *opts, size_t *count);

/* Items this loader will visit (after subset and shard, times the epochs),
 * bad ones included. */
size_t octic_loader_item_count(const octic_loader *ld);

/* Items skipped so far, and why. */
size_t octic_loader_skipped(const octic_loader *ld);
void octic_loader_skipped_item(const octic_loader *ld, size_t i, size_t *index, const char **path,
                               const char **reason);

typedef struct {
    size_t delivered;      /* good items handed out */
    size_t skipped;
    double consumer_wait_s; /* time octic_loader_next spent waiting for a worker */
    double worker_wait_s;   /* time workers spent waiting for room in the queue (all workers) */
} octic_loader_stats;

void octic_loader_get_stats(const octic_loader *ld, octic_loader_stats *out);

#endif
