/* Inside the data set readers (dataset.c, dataset_imagenet.c,
 * dataset_seg.c): the octic_dataset being built, and the folder helpers
 * the layouts share. */
#ifndef OCTIC_DATASET_INTERNAL_H
#define OCTIC_DATASET_INTERNAL_H

#include <stddef.h>

#include "dataset.h"

#define DS_MAX_SPLITS 4
#define DS_NONE ((size_t)-1)

typedef struct {
    char name[16];
    size_t count, cap;
    size_t *image; /* [count] offsets of the image paths in the string arena */
    size_t *mask;  /* [count] offsets of the mask paths, or DS_NONE */
    int *label;    /* [count] */
} ds_split;

struct octic_dataset {
    octic_layout layout;
    char *root;
    int segmentation;
    int nsplits;
    ds_split splits[DS_MAX_SPLITS];
    int nclasses;
    size_t *class_name, *class_id; /* [nclasses] arena offsets */
    int nignored;
    int ignored[8];
    /* Every string (paths, names, problems) lives in one growing arena,
     * addressed by offset while the set is built. */
    char *strings;
    size_t slen, scap;
    size_t nproblems, pcap;
    size_t *problem_path, *problem_reason;
    size_t extra_dir; /* DS_NONE unless ImageNet */
    int extra_generated[DS_MAX_SPLITS];
};

/* The arena: returns the offset of a copy of s, or DS_NONE when out of
 * memory (then an error is set). */
size_t ds_string(octic_dataset *ds, const char *s);
const char *ds_str(const octic_dataset *ds, size_t off);
/* Records a skipped file or folder. Returns 0, or -1 when out of memory. */
int ds_problem(octic_dataset *ds, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A new split (returns its index) and its items. */
int ds_add_split(octic_dataset *ds, const char *name);
octic_status ds_add_item(octic_dataset *ds, int split, const char *image, const char *mask, int label);
/* Sets the classes (names and ids copied; ids may be NULL: same as names). */
octic_status ds_set_classes(octic_dataset *ds, int n, const char *const *names, const char *const *ids);

/* Paths. */
char *ds_join(const char *a, const char *b); /* "a/b", malloc'd; NULL when out of memory */
int ds_is_dir(const char *path);
int ds_is_file(const char *path);
/* The entries of a folder sorted by name (strcmp, i.e. Python's sorted() of
 * str on UTF-8 names): want = 'd' for folders, 'f' for files (symbolic
 * links followed). "." and ".." never. Returns 0 or -1 (error set). */
int ds_list(const char *dir, char want, char ***names, size_t *n);
void ds_free_list(char **names, size_t n);
/* torchvision's IMG_EXTENSIONS, case-insensitive: .jpg .jpeg .png .ppm
 * .bmp .pgm .tif .tiff .webp. */
int ds_image_name(const char *name);
/* Every file below dir, as torchvision's ImageFolder visits them:
 * sorted(os.walk(dir, followlinks=True)), each folder's files sorted.
 * Paths are full (dir/...). A symbolic link back to a folder above it (a
 * cycle, which os.walk would follow until the path is too long) is not
 * followed and is reported as a problem of ds. Returns 0 or -1 (error set). */
int ds_walk(octic_dataset *ds, const char *dir, char ***paths, size_t *n);
/* Reads a whole text file (NUL-terminated). NULL with an error set. */
char *ds_read_text(const char *path, size_t *len);

/* The parsers of the layouts' text files, over memory (the readers above
 * them read the file; tests/fuzz/fuzz_dataset_text.c calls them directly).
 * `path` names the file in messages only. */
typedef struct {
    char *id, *name;
} ds_label_row;
/* ImageNet's labels.txt: text[0..len), with text[len] == '\0'. Rows
 * malloc'd (ds_free_labels), or an error set naming path. */
octic_status ds_parse_labels(const char *text, size_t len, const char *path, ds_label_row **rows, size_t *n);
void ds_free_labels(ds_label_row *rows, size_t n);
/* ADE20K's objectInfo150.csv or .txt, NUL-terminated, cut up in place:
 * names[1..150] set (malloc'd; a name given again replaces the first). */
octic_status ds_parse_object_info(char *text, const char *path, char **names);
/* A VOC split list (`rel` under `voc`, read from `list`), NUL-terminated,
 * cut up in place: each listed id with its image and mask is added to
 * split `sp`; bad ids and missing files are problems. */
octic_status ds_parse_voc_list(octic_dataset *ds, int sp, const char *voc, const char *list, const char *rel,
                               char *text);

/* The layouts: each fills ds (splits, classes, problems) from `root`, the
 * folder where it was detected. */
octic_status ds_open_imagenet(octic_dataset *ds, const char *root, const octic_dataset_options *opts);
octic_status ds_open_ade20k(octic_dataset *ds, const char *root);
octic_status ds_open_voc(octic_dataset *ds, const char *root);

#endif
