/* Data sets: detecting the layout, plain folders, the shared helpers and
 * the public accessors (see dataset.h). ImageNet lives in
 * dataset_imagenet.c, ADE20K and VOC in dataset_seg.c. */

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dataset_internal.h"

/* ---- the string arena, problems, splits, classes ---- */

size_t ds_string(octic_dataset *ds, const char *s) {
    size_t n = strlen(s) + 1;
    if (ds->slen + n > ds->scap) {
        size_t cap = ds->scap ? ds->scap : 4096;
        while (cap < ds->slen + n) cap *= 2;
        char *p = realloc(ds->strings, cap);
        if (!p) {
            octic_fail(OCTIC_ERR_NOMEM, "out of memory for the data set's paths");
            return DS_NONE;
        }
        ds->strings = p;
        ds->scap = cap;
    }
    size_t off = ds->slen;
    memcpy(ds->strings + off, s, n);
    ds->slen += n;
    return off;
}

const char *ds_str(const octic_dataset *ds, size_t off) { return off == DS_NONE ? NULL : ds->strings + off; }

int ds_problem(octic_dataset *ds, const char *path, const char *fmt, ...) {
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (ds->nproblems == ds->pcap) {
        size_t cap = ds->pcap ? 2 * ds->pcap : 16;
        size_t *a = realloc(ds->problem_path, cap * sizeof *a);
        if (!a) return -1;
        ds->problem_path = a;
        size_t *b = realloc(ds->problem_reason, cap * sizeof *b);
        if (!b) return -1;
        ds->problem_reason = b;
        ds->pcap = cap;
    }
    size_t p = ds_string(ds, path), r = ds_string(ds, reason);
    if (p == DS_NONE || r == DS_NONE) return -1;
    ds->problem_path[ds->nproblems] = p;
    ds->problem_reason[ds->nproblems] = r;
    ds->nproblems++;
    return 0;
}

int ds_add_split(octic_dataset *ds, const char *name) {
    if (ds->nsplits == DS_MAX_SPLITS) return -1;
    ds_split *s = &ds->splits[ds->nsplits];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    return ds->nsplits++;
}

octic_status ds_add_item(octic_dataset *ds, int split, const char *image, const char *mask, int label) {
    ds_split *s = &ds->splits[split];
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        size_t *a = realloc(s->image, cap * sizeof *a);
        if (!a) return octic_fail(OCTIC_ERR_NOMEM, "out of memory for the data set's items");
        s->image = a;
        size_t *b = realloc(s->mask, cap * sizeof *b);
        if (!b) return octic_fail(OCTIC_ERR_NOMEM, "out of memory for the data set's items");
        s->mask = b;
        int *c = realloc(s->label, cap * sizeof *c);
        if (!c) return octic_fail(OCTIC_ERR_NOMEM, "out of memory for the data set's items");
        s->label = c;
        s->cap = cap;
    }
    size_t im = ds_string(ds, image);
    size_t mk = mask ? ds_string(ds, mask) : DS_NONE;
    if (im == DS_NONE || (mask && mk == DS_NONE)) return OCTIC_ERR_NOMEM;
    s->image[s->count] = im;
    s->mask[s->count] = mk;
    s->label[s->count] = label;
    s->count++;
    return OCTIC_OK;
}

octic_status ds_set_classes(octic_dataset *ds, int n, const char *const *names, const char *const *ids) {
    free(ds->class_name);
    free(ds->class_id);
    ds->nclasses = 0;
    ds->class_name = malloc((size_t)(n ? n : 1) * sizeof *ds->class_name);
    ds->class_id = malloc((size_t)(n ? n : 1) * sizeof *ds->class_id);
    if (!ds->class_name || !ds->class_id) return octic_fail(OCTIC_ERR_NOMEM, "out of memory for class names");
    for (int i = 0; i < n; i++) {
        ds->class_name[i] = ds_string(ds, names[i]);
        ds->class_id[i] = ids ? ds_string(ds, ids[i]) : ds->class_name[i];
        if (ds->class_name[i] == DS_NONE || ds->class_id[i] == DS_NONE) return OCTIC_ERR_NOMEM;
    }
    ds->nclasses = n;
    return OCTIC_OK;
}

/* ---- paths and folders ---- */

char *ds_join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    while (la > 1 && a[la - 1] == '/') la--;
    char *p = malloc(la + lb + 2);
    if (!p) {
        octic_fail(OCTIC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

int ds_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ds_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ds_list(const char *dir, char want, char ***names, size_t *n) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        octic_fail(OCTIC_ERR_IO, "%s: cannot list the folder: %s", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        int is_dir, is_file;
        if (e->d_type == DT_DIR || e->d_type == DT_REG) {
            is_dir = e->d_type == DT_DIR;
            is_file = e->d_type == DT_REG;
        } else {
            char *p = ds_join(dir, e->d_name);
            if (!p) goto fail;
            struct stat st;
            int ok = stat(p, &st) == 0;
            free(p);
            is_dir = ok && S_ISDIR(st.st_mode);
            is_file = ok && S_ISREG(st.st_mode);
        }
        if (!(want == 'd' ? is_dir : is_file)) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **p = realloc(*names, cap * sizeof *p);
            if (!p) goto fail;
            *names = p;
        }
        if (!((*names)[*n] = strdup(e->d_name))) goto fail;
        (*n)++;
    }
    closedir(d);
    if (*n) qsort(*names, *n, sizeof **names, cmp_str);
    return 0;
fail:
    closedir(d);
    ds_free_list(*names, *n);
    *names = NULL;
    *n = 0;
    octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory while listing the folder", dir);
    return -1;
}

void ds_free_list(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

int ds_image_name(const char *name) {
    static const char *const ext[] = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t m = strlen(ext[i]);
        if (n >= m && strcasecmp(name + n - m, ext[i]) == 0) return 1;
    }
    return 0;
}

typedef struct {
    char **items;
    size_t n, cap;
} strvec;

static int strvec_push(strvec *v, char *s) {
    if (!s) return -1;
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        char **p = realloc(v->items, cap * sizeof *p);
        if (!p) {
            free(s);
            return -1;
        }
        v->items = p;
        v->cap = cap;
    }
    v->items[v->n++] = s;
    return 0;
}

/* Every folder below dir (dir included), at most 64 levels deep. `above`
 * holds the device and inode of dir's ancestors (depth of them): a folder
 * that is one of them, through a symbolic link, closes a cycle and is
 * reported instead of followed. */
typedef struct {
    dev_t dev;
    ino_t ino;
} dir_id;

static int collect_dirs(octic_dataset *ds, const char *dir, int depth, dir_id *above, strvec *dirs) {
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        for (int i = 0; i < depth; i++)
            if (above[i].dev == sb.st_dev && above[i].ino == sb.st_ino)
                return ds_problem(ds, dir, "skipped: a symbolic link back to a folder above it (a cycle)") < 0 ? -1 : 0;
        above[depth] = (dir_id){sb.st_dev, sb.st_ino};
    } else {
        above[depth] = (dir_id){0, 0};
    }
    char *copy = strdup(dir);
    if (strvec_push(dirs, copy) < 0) return -1;
    if (depth >= 64) return 0;
    char **names;
    size_t n;
    if (ds_list(dir, 'd', &names, &n) < 0) return 0; /* unreadable: os.walk skips it too */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *p = ds_join(dir, names[i]);
        rc = p ? collect_dirs(ds, p, depth + 1, above, dirs) : -1;
        free(p);
    }
    ds_free_list(names, n);
    return rc;
}

int ds_walk(octic_dataset *ds, const char *dir, char ***paths, size_t *n) {
    strvec dirs = {0}, files = {0};
    dir_id above[65];
    *paths = NULL;
    *n = 0;
    int rc = collect_dirs(ds, dir, 0, above, &dirs);
    /* sorted(os.walk(...)) orders the (root, dirs, files) tuples by root. */
    if (rc == 0 && dirs.n) qsort(dirs.items, dirs.n, sizeof *dirs.items, cmp_str);
    for (size_t d = 0; rc == 0 && d < dirs.n; d++) {
        char **names;
        size_t m;
        if (ds_list(dirs.items[d], 'f', &names, &m) < 0) continue;
        for (size_t i = 0; i < m && rc == 0; i++) rc = strvec_push(&files, ds_join(dirs.items[d], names[i]));
        ds_free_list(names, m);
    }
    ds_free_list(dirs.items, dirs.n);
    if (rc) {
        ds_free_list(files.items, files.n);
        octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory while listing the files", dir);
        return -1;
    }
    *paths = files.items;
    *n = files.n;
    return 0;
}

char *ds_read_text(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        octic_fail(OCTIC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap > ((size_t)1 << 30)) {
                free(buf);
                fclose(f);
                octic_fail(OCTIC_ERR_FORMAT, "%s: larger than 1 GB: not a text file of this layout", path);
                return NULL;
            }
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) {
        octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (err) {
        free(buf);
        octic_fail(OCTIC_ERR_IO, "%s: read failed", path);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* ---- plain folders ---- */

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* The images below dir/<folders[c]>/ (any depth, in the order torchvision's
 * ImageFolder visits them) into split sp with label[c]; a folder whose label
 * is -1 is skipped and reported as not one of the classes of `classes_of`.
 * An image directly in dir belongs to no class and is reported. */
static octic_status add_class_folders(octic_dataset *ds, int sp, const char *dir, char **folders, size_t n,
                                      const int *label, const char *classes_of) {
    octic_status st = OCTIC_OK;
    for (size_t c = 0; !st && c < n; c++) {
        char *sub = ds_join(dir, folders[c]);
        if (!sub) return OCTIC_ERR_NOMEM;
        if (label[c] < 0) {
            if (ds_problem(ds, sub, "skipped: not one of the classes of %s/", classes_of) < 0) st = OCTIC_ERR_NOMEM;
            free(sub);
            continue;
        }
        char **files;
        size_t nf;
        if (ds_walk(ds, sub, &files, &nf) < 0) {
            free(sub);
            return OCTIC_ERR_NOMEM;
        }
        size_t images = 0;
        for (size_t i = 0; !st && i < nf; i++) {
            if (ds_image_name(files[i])) {
                st = ds_add_item(ds, sp, files[i], NULL, label[c]);
                images++;
            } else if (base_name(files[i])[0] != '.' && ds_problem(ds, files[i], "skipped: not an image file name (expected .jpg, .jpeg, .png, ...)") < 0) {
                st = OCTIC_ERR_NOMEM;
            }
        }
        if (!st && images == 0 && ds_problem(ds, sub, "class folder without images") < 0) st = OCTIC_ERR_NOMEM;
        ds_free_list(files, nf);
        free(sub);
    }
    /* Images beside the class folders belong to no class. */
    char **files;
    size_t nf;
    if (!st && ds_list(dir, 'f', &files, &nf) == 0) {
        for (size_t i = 0; !st && i < nf; i++) {
            if (!ds_image_name(files[i])) continue;
            char *p = ds_join(dir, files[i]);
            if (!p || ds_problem(ds, p, "skipped: an image outside the class folders") < 0) st = OCTIC_ERR_NOMEM;
            free(p);
        }
        ds_free_list(files, nf);
    }
    return st;
}

/* The image files dir/files[0..n) into split sp, without labels; other
 * files (not hidden ones) are reported. */
static octic_status add_images(octic_dataset *ds, int sp, const char *dir, char **files, size_t n) {
    octic_status st = OCTIC_OK;
    for (size_t i = 0; !st && i < n; i++) {
        char *p = ds_join(dir, files[i]);
        if (!p) return OCTIC_ERR_NOMEM;
        if (ds_image_name(files[i])) st = ds_add_item(ds, sp, p, NULL, -1);
        else if (files[i][0] != '.' && ds_problem(ds, p, "skipped: not an image file name (expected .jpg, .jpeg, .png, ...)") < 0)
            st = OCTIC_ERR_NOMEM;
        free(p);
    }
    return st;
}

/* One subfolder per class, as torchvision's ImageFolder: classes are the
 * sorted subfolders, items every image-named file below each. */
static octic_status open_class_folders(octic_dataset *ds, const char *root, char **classes, size_t nclasses) {
    ds->layout = OCTIC_LAYOUT_FOLDER;
    int split = ds_add_split(ds, "all");
    int *label = malloc((nclasses ? nclasses : 1) * sizeof *label);
    if (!label) return OCTIC_ERR_NOMEM;
    for (size_t c = 0; c < nclasses; c++) label[c] = (int)c;
    octic_status st = ds_set_classes(ds, (int)nclasses, (const char *const *)classes, NULL);
    if (!st) st = add_class_folders(ds, split, root, classes, nclasses, label, "");
    free(label);
    return st;
}

static const char *const split_folders[] = {"train", "val", "test"};

/* Split folders, each with one subfolder per class (torchvision's
 * ImageFolder on each): <root>/{train,val,test}/<class>/... The classes are
 * train's subfolders (val's where there is no train/); another split's
 * folder of a class not among them is skipped and reported. A split folder
 * without subfolders (like ImageNet's test/) holds images without labels. */
static octic_status open_split_folders(octic_dataset *ds, const char *root) {
    ds->layout = OCTIC_LAYOUT_FOLDER;
    char **classes = NULL;
    size_t ncl = 0;
    const char *from = NULL;
    octic_status st = OCTIC_OK;
    for (int s = 0; s < 2 && !from && !st; s++) {
        char *dir = ds_join(root, split_folders[s]);
        if (!dir) return OCTIC_ERR_NOMEM;
        if (ds_is_dir(dir)) {
            if (ds_list(dir, 'd', &classes, &ncl) < 0) st = OCTIC_ERR_IO;
            else if (ncl) from = split_folders[s];
            else ds_free_list(classes, ncl), classes = NULL;
        }
        free(dir);
    }
    if (!st) st = ds_set_classes(ds, (int)ncl, (const char *const *)classes, NULL);
    for (int s = 0; !st && s < 3; s++) {
        char *dir = ds_join(root, split_folders[s]);
        if (!dir) {
            st = OCTIC_ERR_NOMEM;
            break;
        }
        char **names;
        size_t n;
        if (!ds_is_dir(dir)) {
            free(dir);
            continue;
        }
        int sp = ds_add_split(ds, split_folders[s]);
        if (ds_list(dir, 'd', &names, &n) < 0) {
            st = OCTIC_ERR_IO;
        } else if (n) {
            int *label = malloc(n * sizeof *label);
            if (!label) st = OCTIC_ERR_NOMEM;
            for (size_t c = 0; !st && c < n; c++) {
                label[c] = -1;
                for (size_t k = 0; k < ncl && label[c] < 0; k++)
                    if (strcmp(names[c], classes[k]) == 0) label[c] = (int)k;
            }
            if (!st) st = add_class_folders(ds, sp, dir, names, n, label, from);
            free(label);
            ds_free_list(names, n);
        } else {
            ds_free_list(names, n);
            if (ds_list(dir, 'f', &names, &n) < 0) st = OCTIC_ERR_IO;
            else {
                st = add_images(ds, sp, dir, names, n);
                ds_free_list(names, n);
            }
        }
        free(dir);
    }
    ds_free_list(classes, ncl);
    return st;
}

static octic_status open_flat(octic_dataset *ds, const char *root, char **files, size_t n) {
    ds->layout = OCTIC_LAYOUT_FLAT;
    return add_images(ds, ds_add_split(ds, "all"), root, files, n);
}

/* Does any file below dir (at most a few levels) have an image name? */
static int has_images(const char *dir, int depth) {
    char **names;
    size_t n;
    if (ds_list(dir, 'f', &names, &n) < 0) return 0;
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) found = ds_image_name(names[i]);
    ds_free_list(names, n);
    if (found || depth >= 3) return found;
    if (ds_list(dir, 'd', &names, &n) < 0) return 0;
    for (size_t i = 0; i < n && !found; i++) {
        char *p = ds_join(dir, names[i]);
        found = p && has_images(p, depth + 1);
        free(p);
    }
    ds_free_list(names, n);
    return found;
}

/* ---- detection ---- */

static int is_split_folder(const char *name) {
    return !strcmp(name, "train") || !strcmp(name, "val") || !strcmp(name, "test");
}

/* Does a subfolder of dirs[0..n) of dir (split folders left out when asked)
 * hold images? */
static int any_folder_with_images(const char *dir, char **dirs, size_t n, int but_splits) {
    int found = 0;
    for (size_t i = 0; i < n && !found; i++) {
        if (but_splits && is_split_folder(dirs[i])) continue;
        char *p = ds_join(dir, dirs[i]);
        found = p && has_images(p, 1);
        free(p);
    }
    return found;
}

/* Does train/ or val/ have a subfolder with images (a class folder), with no
 * other folder of root (dirs) holding images? (Then train/ is more likely a
 * class of class folders, as in a set of vehicles.) */
static int has_split_folders(const char *root, char **dirs, size_t ndirs) {
    if (any_folder_with_images(root, dirs, ndirs, 1)) return 0;
    int found = 0;
    for (int s = 0; s < 2 && !found; s++) {
        char *dir = ds_join(root, split_folders[s]);
        char **sub;
        size_t n;
        if (dir && ds_is_dir(dir) && ds_list(dir, 'd', &sub, &n) == 0) {
            found = any_folder_with_images(dir, sub, n, 0);
            ds_free_list(sub, n);
        }
        free(dir);
    }
    return found;
}

static int has(const char *root, const char *rel, char want) {
    char *p = ds_join(root, rel);
    int ok = p && (want == 'd' ? ds_is_dir(p) : ds_is_file(p));
    free(p);
    return ok;
}

const char *octic_layout_name(octic_layout layout) {
    switch (layout) {
    case OCTIC_LAYOUT_IMAGENET: return "imagenet";
    case OCTIC_LAYOUT_ADE20K: return "ade20k";
    case OCTIC_LAYOUT_VOC: return "voc2012";
    case OCTIC_LAYOUT_FOLDER: return "folder";
    case OCTIC_LAYOUT_FLAT: return "flat";
    }
    return "unknown";
}

static octic_status detect(octic_dataset *ds, const char *root, const octic_dataset_options *opts) {
    if (has(root, "labels.txt", 'f') && (has(root, "train", 'd') || has(root, "val", 'd') || has(root, "test", 'd')))
        return ds_open_imagenet(ds, root, opts);

    static const char *const ade[] = {"", "ADEChallengeData2016"};
    for (int i = 0; i < 2; i++) {
        char *c = ade[i][0] ? ds_join(root, ade[i]) : strdup(root);
        if (!c) return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
        if (has(c, "images", 'd') && has(c, "annotations", 'd')) {
            octic_status st = ds_open_ade20k(ds, c);
            free(c);
            return st;
        }
        free(c);
    }

    static const char *const voc[] = {"", "VOC2012", "VOCdevkit/VOC2012"};
    for (int i = 0; i < 3; i++) {
        char *c = voc[i][0] ? ds_join(root, voc[i]) : strdup(root);
        if (!c) return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
        if (has(c, "JPEGImages", 'd') && (has(c, "SegmentationClass", 'd') || has(c, "ImageSets", 'd'))) {
            octic_status st = ds_open_voc(ds, c);
            free(c);
            return st;
        }
        free(c);
    }

    char **dirs;
    size_t ndirs;
    if (ds_list(root, 'd', &dirs, &ndirs) < 0) return OCTIC_ERR_IO;
    if (has_split_folders(root, dirs, ndirs)) {
        ds_free_list(dirs, ndirs);
        return open_split_folders(ds, root);
    }
    if (any_folder_with_images(root, dirs, ndirs, 0)) {
        octic_status st = open_class_folders(ds, root, dirs, ndirs);
        ds_free_list(dirs, ndirs);
        return st;
    }
    ds_free_list(dirs, ndirs);

    char **files;
    size_t nfiles;
    if (ds_list(root, 'f', &files, &nfiles) < 0) return OCTIC_ERR_IO;
    int images = 0;
    for (size_t i = 0; i < nfiles && !images; i++) images = ds_image_name(files[i]);
    if (images) {
        octic_status st = open_flat(ds, root, files, nfiles);
        ds_free_list(files, nfiles);
        return st;
    }
    ds_free_list(files, nfiles);
    return octic_fail(OCTIC_ERR_FORMAT,
                      "%s: not a data set: looked for ImageNet (labels.txt with train/, val/ or test/), "
                      "ADE20K (ADEChallengeData2016/ or images/ with annotations/), PASCAL VOC 2012 "
                      "(VOCdevkit/VOC2012/, VOC2012/ or JPEGImages/ with SegmentationClass/ or ImageSets/), "
                      "train/ or val/ holding class subfolders, class subfolders holding images (.jpg, .jpeg, "
                      ".png, ...), or images in the folder itself",
                      root);
}

octic_status octic_dataset_open(const char *root, const octic_dataset_options *opts, octic_dataset **out) {
    *out = NULL;
    if (!root || !*root) return octic_fail(OCTIC_ERR_ARG, "no data set folder given");
    struct stat st;
    if (stat(root, &st) != 0) return octic_fail(OCTIC_ERR_IO, "%s: %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return octic_fail(OCTIC_ERR_ARG, "%s: not a folder: a data set is a folder", root);
    octic_dataset_options defaults = {0};
    if (!opts) opts = &defaults;
    octic_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
    ds->extra_dir = DS_NONE;
    ds->root = strdup(root);
    if (!ds->root) {
        free(ds);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
    }
    octic_status s = detect(ds, root, opts);
    if (s) {
        if (s == OCTIC_ERR_NOMEM && !octic_last_error()[0]) octic_fail(s, "%s: out of memory", root);
        octic_dataset_close(ds);
        return s;
    }
    *out = ds;
    return OCTIC_OK;
}

void octic_dataset_close(octic_dataset *ds) {
    if (!ds) return;
    for (int i = 0; i < ds->nsplits; i++) {
        free(ds->splits[i].image);
        free(ds->splits[i].mask);
        free(ds->splits[i].label);
    }
    free(ds->class_name);
    free(ds->class_id);
    free(ds->strings);
    free(ds->problem_path);
    free(ds->problem_reason);
    free(ds->root);
    free(ds);
}

/* ---- accessors ---- */

octic_layout octic_dataset_layout(const octic_dataset *ds) { return ds->layout; }
const char *octic_dataset_root(const octic_dataset *ds) { return ds->root; }
int octic_dataset_is_segmentation(const octic_dataset *ds) { return ds->segmentation; }
int octic_dataset_split_count(const octic_dataset *ds) { return ds->nsplits; }

const char *octic_dataset_split_name(const octic_dataset *ds, int split) {
    return split >= 0 && split < ds->nsplits ? ds->splits[split].name : NULL;
}

int octic_dataset_find_split(const octic_dataset *ds, const char *name) {
    for (int i = 0; i < ds->nsplits; i++)
        if (strcmp(ds->splits[i].name, name) == 0) return i;
    return -1;
}

size_t octic_dataset_item_count(const octic_dataset *ds, int split) {
    return split >= 0 && split < ds->nsplits ? ds->splits[split].count : 0;
}

int octic_dataset_class_count(const octic_dataset *ds) { return ds->nclasses; }

const char *octic_dataset_class_name(const octic_dataset *ds, int cls) {
    return cls >= 0 && cls < ds->nclasses ? ds_str(ds, ds->class_name[cls]) : NULL;
}

const char *octic_dataset_class_id(const octic_dataset *ds, int cls) {
    return cls >= 0 && cls < ds->nclasses ? ds_str(ds, ds->class_id[cls]) : NULL;
}

int octic_dataset_ignored_labels(const octic_dataset *ds, int labels[8]) {
    for (int i = 0; i < ds->nignored; i++) labels[i] = ds->ignored[i];
    return ds->nignored;
}

octic_status octic_dataset_get_item(const octic_dataset *ds, int split, size_t i, octic_dataset_item *out) {
    if (split < 0 || split >= ds->nsplits)
        return octic_fail(OCTIC_ERR_ARG, "%s: no split %d (the set has %d)", ds->root, split, ds->nsplits);
    const ds_split *s = &ds->splits[split];
    if (i >= s->count)
        return octic_fail(OCTIC_ERR_ARG, "%s: item %zu of split '%s', which has %zu", ds->root, i, s->name, s->count);
    out->image = ds_str(ds, s->image[i]);
    out->mask = ds_str(ds, s->mask[i]);
    out->label = s->label[i];
    return OCTIC_OK;
}

size_t octic_dataset_problem_count(const octic_dataset *ds) { return ds->nproblems; }

void octic_dataset_problem(const octic_dataset *ds, size_t i, const char **path, const char **reason) {
    if (i >= ds->nproblems) {
        *path = *reason = NULL;
        return;
    }
    *path = ds_str(ds, ds->problem_path[i]);
    *reason = ds_str(ds, ds->problem_reason[i]);
}

const char *octic_dataset_extra_dir(const octic_dataset *ds) { return ds_str(ds, ds->extra_dir); }

int octic_dataset_extra_generated(const octic_dataset *ds, int split) {
    return split >= 0 && split < ds->nsplits ? ds->extra_generated[split] : 0;
}
