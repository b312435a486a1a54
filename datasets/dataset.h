/* Data sets on disk: ImageNet-1k (DINOv2 layout), ADE20K, PASCAL VOC 2012 and
 * plain folders, detected from the folder.
 *
 *   octic_dataset *ds;
 *   if (octic_dataset_open("/data/imagenet", NULL, &ds) != OCTIC_OK)
 *       puts(octic_last_error());      // names what was looked for
 *   int val = octic_dataset_find_split(ds, "val");
 *   for (size_t i = 0; i < octic_dataset_item_count(ds, val); i++) {
 *       octic_dataset_item it;
 *       octic_dataset_get_item(ds, val, i, &it);  // it.image, it.label, it.mask
 *   }
 *   octic_dataset_close(ds);
 *
 * Opening lists the files (or reads ImageNet's extra .npy files); it decodes
 * nothing. Files that cannot belong to the set (a name that does not follow
 * the layout, a VOC split entry without its image, a missing split folder)
 * are skipped and recorded as problems, each with its path and the reason;
 * the set still opens. Decoding errors are found by the loader (loader.h).
 *
 * An octic_dataset is immutable once opened: any number of threads may read
 * it at the same time. */
#ifndef OCTIC_DATASET_H
#define OCTIC_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum {
    OCTIC_LAYOUT_IMAGENET = 0, /* <root>/labels.txt, train/<wnid>/, val/<wnid>/, test/; extra .npy files */
    OCTIC_LAYOUT_ADE20K,       /* ADEChallengeData2016/images|annotations/{training,validation} */
    OCTIC_LAYOUT_VOC,          /* VOCdevkit/VOC2012/JPEGImages, SegmentationClass, ImageSets/Segmentation */
    OCTIC_LAYOUT_FOLDER,       /* <root>/<class>/... (split "all"), or <root>/{train,val,test}/<class>/... */
    OCTIC_LAYOUT_FLAT,         /* <root>/<image>.jpg: images without labels, split "all" */
} octic_layout;

/* "imagenet", "ade20k", "voc2012", "folder", "flat". */
const char *octic_layout_name(octic_layout layout);

typedef struct octic_dataset octic_dataset;

typedef struct {
    /* ImageNet: the folder of the extra files (entries-TRAIN.npy, class-ids-
     * TRAIN.npy, ...). NULL: <root>/extra if it exists or can be made, else
     * <root>. */
    const char *extra;
    /* ImageNet: when the extra files of a split are missing, they are built
     * from the folders with the content DINOv2's ImageNet.dump_extra() gives;
     * write_extra = 1 also writes them (atomically) for next time. A write
     * failure (read-only folder) is recorded as a problem, not an error. */
    int write_extra;
} octic_dataset_options;

/* Opens a data set. A root matching no layout fails with a message listing
 * what was looked for. opts may be NULL (defaults: extra NULL,
 * write_extra 0). */
octic_status octic_dataset_open(const char *root, const octic_dataset_options *opts, octic_dataset **out);
void octic_dataset_close(octic_dataset *ds);

octic_layout octic_dataset_layout(const octic_dataset *ds);
/* The root as given; for ADE20K/VOC the folder the layout was found in
 * (ADEChallengeData2016 or VOCdevkit/VOC2012), which may be below it. */
const char *octic_dataset_root(const octic_dataset *ds);
/* 1 for segmentation sets (ADE20K, VOC): items have masks, labels are -1. */
int octic_dataset_is_segmentation(const octic_dataset *ds);

/* Splits present on disk, in a fixed order: ImageNet train, val, test;
 * ADE20K training, validation; VOC train, val (the split lists); plain
 * folders "all". */
int octic_dataset_split_count(const octic_dataset *ds);
const char *octic_dataset_split_name(const octic_dataset *ds, int split);
/* Index of the split with that name, or -1. */
int octic_dataset_find_split(const octic_dataset *ds, const char *name);
size_t octic_dataset_item_count(const octic_dataset *ds, int split);

/* Classes. Classification sets: the label space (ImageNet: the class
 * indices of the entries; folder: sorted subfolder names, as torchvision's
 * ImageFolder). Segmentation sets: the mask values (ADE20K: 0 "other",
 * 1..150 from objectInfo150; VOC: 0 background .. 20 tvmonitor). Flat
 * folders have none. */
int octic_dataset_class_count(const octic_dataset *ds);
/* Human name ("tench, Tinca tinca", "wall", "aeroplane"). */
const char *octic_dataset_class_name(const octic_dataset *ds, int cls);
/* Short identifier: the wnid for ImageNet ("n01440764"), the folder name for
 * plain folders, the name otherwise. */
const char *octic_dataset_class_id(const octic_dataset *ds, int cls);

/* Mask values a segmentation evaluation ignores (ADE20K: 0 and 255; VOC:
 * 255). Returns their count (at most 8) and fills labels[]. */
int octic_dataset_ignored_labels(const octic_dataset *ds, int labels[8]);

typedef struct {
    const char *image; /* full path of the image file */
    const char *mask;  /* full path of the label mask (segmentation sets), else NULL */
    int label;         /* class index, or -1 (segmentation, flat folder, ImageNet test) */
} octic_dataset_item;

/* Item i of a split, in the set's own order (ImageNet: the entries order,
 * i.e. torchvision ImageFolder's; VOC: the split list's; others: sorted
 * paths). The strings belong to the data set. */
octic_status octic_dataset_get_item(const octic_dataset *ds, int split, size_t i, octic_dataset_item *out);

/* Files skipped while opening, and why. */
size_t octic_dataset_problem_count(const octic_dataset *ds);
/* path: the file or folder concerned; reason: one line ("missing split folder
 * (expected .../val)", "not an image name", ...). */
void octic_dataset_problem(const octic_dataset *ds, size_t i, const char **path, const char **reason);

/* ImageNet only: where the extra files were read from or written to, and
 * whether they were generated while opening (per split index). NULL / 0 for
 * other layouts. */
const char *octic_dataset_extra_dir(const octic_dataset *ds);
int octic_dataset_extra_generated(const octic_dataset *ds, int split);

#endif
