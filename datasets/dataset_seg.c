/* Segmentation sets: ADE20K (SceneParsing 2016) and PASCAL VOC 2012.
 *
 *   ADEChallengeData2016/images/{training,validation}/<stem>.jpg
 *   ADEChallengeData2016/annotations/{training,validation}/<stem>.png   8-bit, 0 other, 1..150
 *   ADEChallengeData2016/objectInfo150.{csv,txt}                        class names
 *
 *   VOCdevkit/VOC2012/JPEGImages/<id>.jpg
 *   VOCdevkit/VOC2012/SegmentationClass/<id>.png                        palette: 0..20, 255 ignore
 *   VOCdevkit/VOC2012/ImageSets/Segmentation/{train,val}.txt            one <id> per line
 *
 * Items are (image, mask) pairs; labels are -1. An image without its mask,
 * a split-list id without its files, a missing split folder or list are
 * reported as problems and skipped. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataset_internal.h"

#define ADE_CLASSES 150

/* Replaces ds->root by the folder the layout lives in. */
static octic_status set_root(octic_dataset *ds, const char *root) {
    char *r = strdup(root);
    if (!r) return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
    free(ds->root);
    ds->root = r;
    return OCTIC_OK;
}

/* Splits a line of objectInfo150 into at most `max` fields on `sep`,
 * dropping surrounding quotes and spaces. Returns the count. */
static int split_fields(char *line, char sep, char **fields, int max) {
    int n = 0;
    char *p = line;
    for (;;) {
        char *start = p;
        int quoted = 0;
        while (*p == ' ') p++;
        if (*p == '"') {
            quoted = 1;
            start = ++p;
            while (*p && *p != '"') p++;
            char *end = p;
            if (*p == '"') p++;
            while (*p && *p != sep) p++;
            *end = '\0';
        } else {
            start = p;
            while (*p && *p != sep) p++;
        }
        char next = *p;
        if (!quoted) {
            char *end = p;
            *end = '\0';
            while (end > start && (end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
        }
        if (n < max) fields[n] = start;
        n++;
        if (next != sep) break;
        p++;
    }
    return n;
}

/* objectInfo150.csv ("Idx,Ratio,Train,Val,[Stuff,]Name") or .txt (the same
 * columns separated by tabs). names[1..150] are filled. */
octic_status ds_parse_object_info(char *text, const char *path, char **names) {
    int name_col = -1, idx_col = -1, row = 0, line_no = 0;
    octic_status st = OCTIC_OK;
    char sep = strchr(text, '\t') ? '\t' : ',';
    for (char *line = text, *next; line && *line; line = next) {
        /* line by line, blank ones counted, so that messages give the line as an editor does */
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        line_no++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[--len] = '\0';
        if (len == 0) continue;
        char *f[16];
        int n = split_fields(line, sep, f, 16);
        if (n > 16) n = 16;
        if (name_col < 0) {
            /* The header names the columns. */
            for (int i = 0; i < n; i++) {
                if (strcasecmp(f[i], "Name") == 0) name_col = i;
                if (strcasecmp(f[i], "Idx") == 0) idx_col = i;
            }
            if (name_col < 0) {
                st = octic_fail(OCTIC_ERR_FORMAT,
                                "%s: line %d: expected a header with a 'Name' column (Idx, Ratio, Train, Val, Name)",
                                path, line_no);
                break;
            }
            continue;
        }
        row++;
        if (n <= name_col) {
            st = octic_fail(OCTIC_ERR_FORMAT, "%s: line %d has %d fields: expected %d", path, line_no, n, name_col + 1);
            break;
        }
        long idx = row;
        if (idx_col >= 0 && idx_col < n) {
            char *end;
            idx = strtol(f[idx_col], &end, 10);
            if (*end || end == f[idx_col]) idx = -1;
        }
        if (idx < 1 || idx > ADE_CLASSES) {
            st = octic_fail(OCTIC_ERR_FORMAT, "%s: line %d: class index '%s': expected 1..%d", path, line_no,
                            idx_col >= 0 && idx_col < n ? f[idx_col] : "?", ADE_CLASSES);
            break;
        }
        free(names[idx]);
        if (!(names[idx] = strdup(f[name_col]))) {
            st = octic_fail(OCTIC_ERR_NOMEM, "out of memory");
            break;
        }
    }
    return st;
}

/* names[1..150] from objectInfo150 at `path`: 0 if the file is not there,
 * 1 when read, -1 on an error (set). */
static int read_object_info(const char *path, char **names) {
    if (!ds_is_file(path)) return 0;
    char *text = ds_read_text(path, NULL);
    if (!text) return -1;
    octic_status st = ds_parse_object_info(text, path, names);
    free(text);
    return st ? -1 : 1;
}

static octic_status ade_classes(octic_dataset *ds, const char *ade, const char *given) {
    char *names[ADE_CLASSES + 1] = {0};
    octic_status st = OCTIC_OK;
    int found = 0;
    const char *dirs[2] = {ade, given};
    for (int d = 0; d < 2 && !found; d++) {
        static const char *const files[] = {"objectInfo150.csv", "objectInfo150.txt"};
        for (int f = 0; f < 2 && !found; f++) {
            char *p = ds_join(dirs[d], files[f]);
            if (!p) return OCTIC_ERR_NOMEM;
            int rc = read_object_info(p, names);
            if (rc < 0) st = OCTIC_ERR_FORMAT;
            found = rc != 0;
            free(p);
        }
    }
    if (!st && !found && ds_problem(ds, ade, "no objectInfo150.csv or objectInfo150.txt: classes named by number") < 0)
        st = OCTIC_ERR_NOMEM;
    char buf[ADE_CLASSES + 1][16];
    const char *n[ADE_CLASSES + 1];
    n[0] = "other";
    for (int i = 1; i <= ADE_CLASSES; i++) {
        snprintf(buf[i], sizeof buf[i], "class %d", i);
        n[i] = names[i] ? names[i] : buf[i];
    }
    if (!st) st = ds_set_classes(ds, ADE_CLASSES + 1, n, NULL);
    for (int i = 0; i <= ADE_CLASSES; i++) free(names[i]);
    return st;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int has_ext(const char *name, const char *ext) {
    size_t n = strlen(name), m = strlen(ext);
    return n > m && strcasecmp(name + n - m, ext) == 0;
}

octic_status ds_open_ade20k(octic_dataset *ds, const char *ade) {
    ds->layout = OCTIC_LAYOUT_ADE20K;
    ds->segmentation = 1;
    ds->nignored = 2;
    ds->ignored[0] = 0;
    ds->ignored[1] = 255;
    char *given = strdup(ds->root);
    octic_status st = given ? set_root(ds, ade) : OCTIC_ERR_NOMEM;
    if (!st) st = ade_classes(ds, ade, given);
    free(given);
    static const char *const splits[] = {"training", "validation"};
    for (int s = 0; !st && s < 2; s++) {
        char rel[64];
        snprintf(rel, sizeof rel, "images/%s", splits[s]);
        char *idir = ds_join(ade, rel);
        snprintf(rel, sizeof rel, "annotations/%s", splits[s]);
        char *adir = ds_join(ade, rel);
        if (!idir || !adir) st = OCTIC_ERR_NOMEM;
        else if (!ds_is_dir(idir)) {
            if (ds_problem(ds, idir, "missing split folder (expected images/%s/)", splits[s]) < 0) st = OCTIC_ERR_NOMEM;
        } else if (!ds_is_dir(adir)) {
            if (ds_problem(ds, adir, "missing annotation folder (expected annotations/%s/): split skipped", splits[s]) < 0)
                st = OCTIC_ERR_NOMEM;
        } else {
            int sp = ds_add_split(ds, splits[s]);
            char **files;
            size_t n;
            if (ds_list(idir, 'f', &files, &n) < 0) st = OCTIC_ERR_IO;
            for (size_t i = 0; !st && i < n; i++) {
                const char *f = files[i];
                char *img = ds_join(idir, f);
                if (!img) {
                    st = OCTIC_ERR_NOMEM;
                    break;
                }
                if (!ds_image_name(f)) {
                    if (f[0] != '.' && ds_problem(ds, img, "skipped: not an image file name (expected <name>.jpg)") < 0)
                        st = OCTIC_ERR_NOMEM;
                    free(img);
                    continue;
                }
                const char *dot = strrchr(f, '.');
                char mname[1024];
                snprintf(mname, sizeof mname, "%.*s.png", (int)(dot - f), f);
                char *mask = ds_join(adir, mname);
                if (!mask) st = OCTIC_ERR_NOMEM;
                else if (!ds_is_file(mask)) {
                    if (ds_problem(ds, img, "skipped: no annotation %s/%s", rel, mname) < 0) st = OCTIC_ERR_NOMEM;
                } else {
                    st = ds_add_item(ds, sp, img, mask, -1);
                }
                free(mask);
                free(img);
            }
            /* Masks without an image are worth a word too: the stems of the
             * images (any image extension), sorted, looked up by each mask's */
            char **stems = st ? NULL : malloc((n ? n : 1) * sizeof *stems);
            size_t nstems = 0;
            if (!st && !stems) st = OCTIC_ERR_NOMEM;
            for (size_t i = 0; !st && i < n; i++) {
                if (!ds_image_name(files[i])) continue;
                const char *dot = strrchr(files[i], '.');
                if (!(stems[nstems] = strndup(files[i], (size_t)(dot - files[i])))) st = OCTIC_ERR_NOMEM;
                else nstems++;
            }
            ds_free_list(files, n);
            if (!st) qsort(stems, nstems, sizeof *stems, cmp_names);
            if (!st && ds_list(adir, 'f', &files, &n) == 0) {
                for (size_t i = 0; !st && i < n; i++) {
                    if (!has_ext(files[i], ".png")) continue;
                    char *stem = strndup(files[i], strlen(files[i]) - 4);
                    if (!stem) {
                        st = OCTIC_ERR_NOMEM;
                        break;
                    }
                    if (!bsearch(&stem, stems, nstems, sizeof *stems, cmp_names)) {
                        char *m = ds_join(adir, files[i]);
                        if (!m || ds_problem(ds, m, "skipped: an annotation without its image images/%s/%s.jpg",
                                             splits[s], stem) < 0)
                            st = OCTIC_ERR_NOMEM;
                        free(m);
                    }
                    free(stem);
                }
                ds_free_list(files, n);
            }
            ds_free_list(stems, nstems);
        }
        free(idir);
        free(adir);
    }
    return st;
}

static const char *const voc_classes[21] = {
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
};

octic_status ds_open_voc(octic_dataset *ds, const char *voc) {
    ds->layout = OCTIC_LAYOUT_VOC;
    ds->segmentation = 1;
    ds->nignored = 1;
    ds->ignored[0] = 255;
    octic_status st = set_root(ds, voc);
    if (!st) st = ds_set_classes(ds, 21, voc_classes, NULL);
    static const char *const splits[] = {"train", "val"};
    for (int s = 0; !st && s < 2; s++) {
        char rel[64];
        snprintf(rel, sizeof rel, "ImageSets/Segmentation/%s.txt", splits[s]);
        char *list = ds_join(voc, rel);
        if (!list) return OCTIC_ERR_NOMEM;
        if (!ds_is_file(list)) {
            if (ds_problem(ds, list, "missing split list (expected %s)", rel) < 0) st = OCTIC_ERR_NOMEM;
            free(list);
            continue;
        }
        char *text = ds_read_text(list, NULL);
        if (!text) {
            free(list);
            return OCTIC_ERR_IO;
        }
        int sp = ds_add_split(ds, splits[s]);
        st = ds_parse_voc_list(ds, sp, voc, list, rel, text);
        free(text);
        free(list);
    }
    return st;
}

octic_status ds_parse_voc_list(octic_dataset *ds, int sp, const char *voc, const char *list, const char *rel,
                               char *text) {
    octic_status st = OCTIC_OK;
    int line_no = 0;
    for (char *line = text, *next; !st && line; line = next) {
        /* Line by line, blank ones counted, so that problems name the right line. */
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        line_no++;
        /* One id per line; spaces around it (and "\r") are not part of it. */
        while (*line == ' ' || *line == '\t') line++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t')) line[--len] = '\0';
        if (len == 0) continue;
        if (strchr(line, '/') || strcmp(line, "..") == 0 || strcmp(line, ".") == 0 || len > 255) {
            char where[1100];
            snprintf(where, sizeof where, "%s:%d", list, line_no);
            int shown = len > 80 ? 80 : (int)len; /* at most 80 bytes, not cutting a UTF-8 sequence */
            while (shown > 0 && shown < (int)len && ((unsigned char)line[shown] & 0xC0) == 0x80) shown--;
            if (ds_problem(ds, where, "skipped: '%.*s' is not an image id", shown, line) < 0) st = OCTIC_ERR_NOMEM;
            continue;
        }
        char img_rel[300], mask_rel[300];
        snprintf(img_rel, sizeof img_rel, "JPEGImages/%s.jpg", line);
        snprintf(mask_rel, sizeof mask_rel, "SegmentationClass/%s.png", line);
        char *img = ds_join(voc, img_rel), *mask = ds_join(voc, mask_rel);
        if (!img || !mask) st = OCTIC_ERR_NOMEM;
        else if (!ds_is_file(img)) {
            if (ds_problem(ds, img, "skipped: listed in %s but the image is missing", rel) < 0) st = OCTIC_ERR_NOMEM;
        } else if (!ds_is_file(mask)) {
            if (ds_problem(ds, mask, "skipped: listed in %s but the mask is missing", rel) < 0) st = OCTIC_ERR_NOMEM;
        } else {
            st = ds_add_item(ds, sp, img, mask, -1);
        }
        free(img);
        free(mask);
    }
    return st;
}
