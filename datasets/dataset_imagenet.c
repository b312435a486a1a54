/* ImageNet-1k in the DINOv2 layout (dinov2/data/datasets/image_net.py):
 *
 *   <root>/labels.txt                        "wnid,class name" (csv)
 *   <root>/train/<wnid>/<wnid>_<n>.JPEG
 *   <root>/val/<wnid>/ILSVRC2012_val_<8 digits>.JPEG
 *   <root>/test/ILSVRC2012_test_<8 digits>.JPEG
 *   <extra>/entries-{TRAIN,VAL,TEST}.npy      records (actual_index <u4, class_index <u4,
 *                                             class_id U<n>, class_name U<n>)
 *   <extra>/class-ids-{TRAIN,VAL}.npy         U<n>, indexed by class_index
 *   <extra>/class-names-{TRAIN,VAL}.npy
 *
 * The entries decide the items (their order, labels and file names), as in
 * DINOv2. When they are missing they are built from the folders as
 * ImageNet.dump_extra() builds them: torchvision's ImageFolder order and
 * class indices, the string widths taken from labels.txt rows by class
 * index, class ids and names truncated to those widths, then the class
 * arrays from the entries. Two deliberate differences, both where DINOv2
 * itself would fail or point to missing files: an image whose name does not
 * give back its own path (DINOv2 rebuilds the path from the class id and the
 * number), or in a nested folder, or of a class absent from labels.txt, is
 * skipped and reported; and the TEST entries list the files of test/ (DINOv2
 * writes 1..100000 whatever is there: the same on the full set). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset_internal.h"
#include "npy_records.h"

void ds_free_labels(ds_label_row *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(rows[i].id);
        free(rows[i].name);
    }
    free(rows);
}

/* labels.txt as Python's csv.reader reads it (excel dialect: ',' between
 * fields, '"' quotes, "" inside quotes for a quote). Blank lines are
 * skipped; every other row must have two fields. */
octic_status ds_parse_labels(const char *text, size_t len, const char *path, ds_label_row **out, size_t *nout) {
    *out = NULL;
    *nout = 0;
    if (memchr(text, '\0', len) || octic_utf8_length(text) < 0)
        return octic_fail(OCTIC_ERR_FORMAT, "%s: not UTF-8 text", path);
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) { /* a byte order mark (Windows editors): not a wnid's */
        text += 3;
        len -= 3;
    }
    ds_label_row *rows = NULL;
    size_t n = 0, cap = 0;
    char *field = malloc(len + 1);
    char *fields[2] = {NULL, NULL};
    int nf = 0, line = 1, row_line = 1;
    size_t flen = 0;
    enum { START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED } state = START;
    octic_status st = field ? OCTIC_OK : OCTIC_ERR_NOMEM;
    for (size_t i = 0; !st && i <= len; i++) {
        char c = i < len ? text[i] : '\n';
        if (c == '\r') {
            if (i + 1 < len && text[i + 1] == '\n') continue; /* universal newlines */
            c = '\n';
        }
        int end_field = 0, end_row = 0;
        switch (state) {
        case START:
            if (c == '"') state = QUOTED;
            else if (c == ',') end_field = 1;
            else if (c == '\n') end_row = 1;
            else {
                field[flen++] = c;
                state = UNQUOTED;
            }
            break;
        case UNQUOTED:
            if (c == ',') end_field = 1;
            else if (c == '\n') end_row = 1;
            else field[flen++] = c;
            break;
        case QUOTED:
            if (c == '"') state = QUOTE_IN_QUOTED;
            else field[flen++] = c;
            break;
        case QUOTE_IN_QUOTED:
            if (c == '"') {
                field[flen++] = '"';
                state = QUOTED;
            } else if (c == ',') end_field = 1;
            else if (c == '\n') end_row = 1;
            else {
                field[flen++] = c;
                state = UNQUOTED;
            }
            break;
        }
        if (c == '\n' && i < len) line++;
        if (state == QUOTED && i == len) {
            st = octic_fail(OCTIC_ERR_FORMAT, "%s: line %d: a quoted field is not closed", path, row_line);
            break;
        }
        if (end_row && nf == 0 && flen == 0 && state == START) { /* a blank line */
            row_line = line;
            continue;
        }
        if (end_field || end_row) {
            field[flen] = '\0';
            if (nf < 2 && !(fields[nf] = strdup(field))) st = OCTIC_ERR_NOMEM;
            nf++;
            flen = 0;
            state = START;
        }
        if (!st && end_row) {
            if (nf != 2) {
                st = octic_fail(OCTIC_ERR_FORMAT,
                                "%s: line %d has %d field%s: expected 2 (wnid,class name), as DINOv2's "
                                "ImageNet has them; a labels.txt makes the folder an ImageNet: for plain "
                                "class folders (train/<class>/...), remove or rename it",
                                path, row_line, nf, nf == 1 ? "" : "s");
            } else {
                if (n == cap) {
                    cap = cap ? 2 * cap : 1024;
                    ds_label_row *p = realloc(rows, cap * sizeof *p);
                    if (!p) st = OCTIC_ERR_NOMEM;
                    else rows = p;
                }
                if (!st) {
                    rows[n].id = fields[0];
                    rows[n].name = fields[1];
                    fields[0] = fields[1] = NULL;
                    n++;
                }
            }
            free(fields[0]);
            free(fields[1]);
            fields[0] = fields[1] = NULL;
            nf = 0;
            row_line = line;
        }
    }
    free(fields[0]);
    free(fields[1]);
    free(field);
    if (st) {
        if (st == OCTIC_ERR_NOMEM) octic_fail(st, "%s: out of memory", path);
        ds_free_labels(rows, n);
        return st;
    }
    *out = rows;
    *nout = n;
    return OCTIC_OK;
}

static octic_status read_labels(const char *path, ds_label_row **out, size_t *nout) {
    *out = NULL;
    *nout = 0;
    size_t len;
    char *text = ds_read_text(path, &len);
    if (!text) return OCTIC_ERR_IO;
    octic_status st = ds_parse_labels(text, len, path, out, nout);
    free(text);
    return st;
}

/* ---- one split's entries, in memory ---- */

typedef struct {
    uint32_t actual_index, class_index;
    char *class_id, *class_name; /* already truncated to the widths */
} entry;

typedef struct {
    entry *e;
    size_t n, cap;
    int id_width, name_width; /* U<n> of the entries file */
} entries;

static void free_entries(entries *es) {
    for (size_t i = 0; i < es->n; i++) {
        free(es->e[i].class_id);
        free(es->e[i].class_name);
    }
    free(es->e);
    memset(es, 0, sizeof *es);
}

/* s cut to `width` code points, as numpy stores it in a U<width> field. */
static char *truncated(const char *s, int width) {
    const unsigned char *p = (const unsigned char *)s;
    int k = 0;
    while (*p && k < width) {
        p++;
        while ((*p & 0xC0) == 0x80) p++;
        k++;
    }
    return strndup(s, (size_t)((const char *)p - s));
}

static int push_entry(entries *es, uint32_t actual, uint32_t cls, const char *id, const char *name) {
    if (es->n == es->cap) {
        size_t cap = es->cap ? 2 * es->cap : 256;
        entry *p = realloc(es->e, cap * sizeof *p);
        if (!p) return -1;
        es->e = p;
        es->cap = cap;
    }
    entry *e = &es->e[es->n];
    e->actual_index = actual;
    e->class_index = cls;
    e->class_id = strdup(id);
    e->class_name = strdup(name);
    if (!e->class_id || !e->class_name) {
        free(e->class_id);
        free(e->class_name);
        return -1;
    }
    es->n++;
    return 0;
}

/* "123" -> 123 if it fits a uint32 (Python's int() then np.uint32). */
static int parse_index(const char *s, size_t n, uint32_t *out) {
    if (n == 0 || n > 10) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX) return 0;
    *out = (uint32_t)v;
    return 1;
}

/* The file name DINOv2 rebuilds from an entry (split.get_image_relpath). */
static void image_name(char *buf, size_t cap, const char *split, uint32_t actual, const char *class_id) {
    if (strcmp(split, "train") == 0) snprintf(buf, cap, "%s_%u.JPEG", class_id, actual);
    else snprintf(buf, cap, "ILSVRC2012_%s_%08u.JPEG", split, actual);
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* _dump_entries for train or val: ImageFolder over <root>/<split>. */
static octic_status build_entries(octic_dataset *ds, const char *root, const char *split, const ds_label_row *labels,
                                  size_t nlabels, entries *es) {
    memset(es, 0, sizeof *es);
    char *dir = ds_join(root, split);
    if (!dir) return OCTIC_ERR_NOMEM;
    char **classes;
    size_t nclasses;
    if (ds_list(dir, 'd', &classes, &nclasses) < 0) {
        free(dir);
        return OCTIC_ERR_IO;
    }
    octic_status st = OCTIC_OK;
    int id_width = -1, name_width = -1;
    typedef struct {
        uint32_t actual, cls;
        const char *id;
        const char *name;
    } sample;
    sample *samples = NULL;
    size_t ns = 0, scap = 0;
    for (size_t c = 0; !st && c < nclasses; c++) {
        char *cdir = ds_join(dir, classes[c]);
        char **files;
        size_t nfiles;
        if (!cdir || ds_walk(ds, cdir, &files, &nfiles) < 0) {
            free(cdir);
            st = OCTIC_ERR_NOMEM;
            break;
        }
        /* The class name DINOv2 looks up by the folder's wnid. */
        const char *cname = NULL;
        for (size_t k = 0; k < nlabels; k++)
            if (strcmp(labels[k].id, classes[c]) == 0) cname = labels[k].name; /* last one wins, as a dict */
        size_t images = 0;
        for (size_t i = 0; !st && i < nfiles; i++) {
            const char *f = files[i];
            const char *b = base_name(f);
            if (!ds_image_name(b)) {
                if (b[0] != '.' && ds_problem(ds, f, "skipped: not an image file name (expected <wnid>_<n>.JPEG or ILSVRC2012_val_<8 digits>.JPEG)") < 0)
                    st = OCTIC_ERR_NOMEM;
                continue;
            }
            images++;
            if ((size_t)(b - f) != strlen(cdir) + 1) {
                if (ds_problem(ds, f, "skipped: in a subfolder of the class folder %s (DINOv2 takes the innermost folder as the class)", classes[c]) < 0)
                    st = OCTIC_ERR_NOMEM;
                continue;
            }
            if (c >= nlabels) {
                st = octic_fail(OCTIC_ERR_FORMAT, "%s/labels.txt has %zu rows but %s has class folder number %zu (%s)",
                                root, nlabels, dir, c + 1, classes[c]);
                break;
            }
            if (!cname) {
                if (ds_problem(ds, f, "skipped: class %s has no row in labels.txt", classes[c]) < 0) st = OCTIC_ERR_NOMEM;
                continue;
            }
            /* actual_index = int(basename.split("_")[-1]) */
            const char *dot = strrchr(b, '.');
            size_t stem = dot && dot != b ? (size_t)(dot - b) : strlen(b);
            const char *us = memrchr(b, '_', stem);
            const char *num = us ? us + 1 : b;
            uint32_t actual;
            char expected[512];
            if (!parse_index(num, stem - (size_t)(num - b), &actual)) {
                image_name(expected, sizeof expected, split, 1, classes[c]);
                if (ds_problem(ds, f, "skipped: not an ImageNet file name (like %s)", expected) < 0) st = OCTIC_ERR_NOMEM;
                continue;
            }
            image_name(expected, sizeof expected, split, actual, classes[c]);
            if (strcmp(expected, b) != 0) {
                if (ds_problem(ds, f, "skipped: DINOv2 would look for %s under this name", expected) < 0) st = OCTIC_ERR_NOMEM;
                continue;
            }
            long lid = octic_utf8_length(labels[c].id), lname = octic_utf8_length(labels[c].name);
            if (lid > id_width) id_width = (int)lid;
            if (lname > name_width) name_width = (int)lname;
            if (ns == scap) {
                scap = scap ? 2 * scap : 1024;
                sample *p = realloc(samples, scap * sizeof *p);
                if (!p) {
                    st = OCTIC_ERR_NOMEM;
                    break;
                }
                samples = p;
            }
            samples[ns++] = (sample){actual, (uint32_t)c, classes[c], cname};
        }
        if (!st && images == 0 && ds_problem(ds, cdir, "class folder without images") < 0) st = OCTIC_ERR_NOMEM;
        ds_free_list(files, nfiles);
        free(cdir);
    }
    /* Images directly in the split folder (the official validation tarball
     * unpacks flat) belong to no class: one problem says how many. */
    char **loose;
    size_t nloose = 0, images = 0;
    if (!st && ds_list(dir, 'f', &loose, &nloose) == 0) {
        for (size_t i = 0; i < nloose; i++) images += ds_image_name(loose[i]) != 0;
        ds_free_list(loose, nloose);
        if (images &&
            ds_problem(ds, dir,
                       "skipped: %zu image%s directly in %s/: expected %s/<wnid>/<image> (one folder per class, as "
                       "DINOv2 reads ImageNet)",
                       images, images == 1 ? "" : "s", split, split) < 0)
            st = OCTIC_ERR_NOMEM;
    }
    es->id_width = id_width;
    es->name_width = name_width;
    for (size_t i = 0; !st && i < ns; i++) {
        char *id = truncated(samples[i].id, id_width);
        char *name = truncated(samples[i].name, name_width);
        if (!id || !name || push_entry(es, samples[i].actual, samples[i].cls, id, name) < 0) st = OCTIC_ERR_NOMEM;
        free(id);
        free(name);
    }
    free(samples);
    ds_free_list(classes, nclasses);
    free(dir);
    if (st) {
        if (st == OCTIC_ERR_NOMEM) octic_fail(st, "%s/%s: out of memory", root, split);
        free_entries(es);
    }
    return st;
}

/* _dump_entries for test: the files of <root>/test. */
static octic_status build_test_entries(octic_dataset *ds, const char *root, entries *es) {
    memset(es, 0, sizeof *es);
    char *dir = ds_join(root, "test");
    char **files;
    size_t n;
    if (!dir) return OCTIC_ERR_NOMEM;
    if (ds_list(dir, 'f', &files, &n) < 0) {
        free(dir);
        return OCTIC_ERR_IO;
    }
    octic_status st = OCTIC_OK;
    for (size_t i = 0; !st && i < n; i++) {
        uint32_t actual;
        char expected[64];
        const char *b = files[i];
        int ok = strncmp(b, "ILSVRC2012_test_", 16) == 0 && parse_index(b + 16, 8, &actual);
        if (ok) {
            image_name(expected, sizeof expected, "test", actual, "");
            ok = strcmp(expected, b) == 0;
        }
        if (!ok) {
            if (b[0] == '.') continue;
            char *p = ds_join(dir, b);
            if (!p || ds_problem(ds, p, "skipped: not a test image name (ILSVRC2012_test_<8 digits>.JPEG)") < 0)
                st = OCTIC_ERR_NOMEM;
            free(p);
            continue;
        }
        if (push_entry(es, actual, UINT32_MAX, "", "") < 0) st = OCTIC_ERR_NOMEM;
    }
    es->id_width = es->name_width = 0;
    ds_free_list(files, n);
    free(dir);
    if (st) {
        if (st == OCTIC_ERR_NOMEM) octic_fail(st, "%s/test: out of memory", root);
        free_entries(es);
    }
    return st;
}

/* ---- the extra files ---- */

typedef struct {
    const entries *es;
    octic_npyrec_field f[4];
} entries_writer;

static void fill_entry(void *ctx, size_t i, uint8_t *rec) {
    const entries_writer *w = ctx;
    const entry *e = &w->es->e[i];
    memcpy(rec + w->f[0].offset, &e->actual_index, 4); /* little-endian host */
    memcpy(rec + w->f[1].offset, &e->class_index, 4);
    octic_utf8_to_utf32(e->class_id, (uint32_t *)(void *)(rec + w->f[2].offset), (size_t)w->f[2].size);
    octic_utf8_to_utf32(e->class_name, (uint32_t *)(void *)(rec + w->f[3].offset), (size_t)w->f[3].size);
}

static octic_status write_entries(const char *path, const entries *es) {
    entries_writer w = {es, {{"actual_index", 'u', 4, 0}, {"class_index", 'u', 4, 0},
                             {"class_id", 'U', es->id_width, 0}, {"class_name", 'U', es->name_width, 0}}};
    octic_npyrec_pack(w.f, 4);
    return octic_npyrec_write_fn(path, 1, w.f, 4, es->n, fill_entry, &w);
}

typedef struct {
    char **s;
    int width;
} strings_writer;

static void fill_string(void *ctx, size_t i, uint8_t *rec) {
    const strings_writer *w = ctx;
    if (w->s[i]) octic_utf8_to_utf32(w->s[i], (uint32_t *)(void *)rec, (size_t)w->width);
}

static octic_status write_strings(const char *path, char **s, size_t n, int width) {
    octic_npyrec_field f = {"", 'U', width, 0};
    strings_writer w = {s, width};
    return octic_npyrec_write_fn(path, 0, &f, 1, n, fill_string, &w);
}

/* More classes than any data set of this layout has (ImageNet-21k: 21,841). */
#define MAX_CLASSES (1 << 20)

static octic_status read_entries(const char *path, entries *es) {
    memset(es, 0, sizeof *es);
    octic_npyrec r;
    octic_status st = octic_npyrec_load(path, &r);
    if (st) return st;
    int fa = octic_npyrec_find(&r, "actual_index"), fc = octic_npyrec_find(&r, "class_index");
    int fi = octic_npyrec_find(&r, "class_id"), fn = octic_npyrec_find(&r, "class_name");
    if (!r.structured || fa < 0 || fc < 0 || fi < 0 || fn < 0 || r.fields[fa].kind == 'U' ||
        r.fields[fc].kind == 'U' || r.fields[fi].kind != 'U' || r.fields[fn].kind != 'U') {
        octic_npyrec_free(&r);
        return octic_fail(OCTIC_ERR_FORMAT,
                          "%s: expected DINOv2 entries: records of actual_index <u4, class_index <u4, class_id "
                          "U<n>, class_name U<n>",
                          path);
    }
    es->id_width = r.fields[fi].size;
    es->name_width = r.fields[fn].size;
    size_t cap_id = 4 * (size_t)r.fields[fi].size + 1, cap_name = 4 * (size_t)r.fields[fn].size + 1;
    char *id = malloc(cap_id), *name = malloc(cap_name);
    if (!id || !name) st = octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; !st && i < r.count; i++) {
        uint64_t a = octic_npyrec_uint(&r, i, fa), c = octic_npyrec_uint(&r, i, fc);
        st = octic_npyrec_string(&r, i, fi, id, cap_id);
        if (!st) st = octic_npyrec_string(&r, i, fn, name, cap_name);
        if (st) {
            octic_fail_prefix(st, path);
            break;
        }
        if (a > UINT32_MAX) {
            st = octic_fail(OCTIC_ERR_FORMAT, "%s: record %zu: actual_index %llu does not fit 32 bits", path, i,
                            (unsigned long long)a);
            break;
        }
        if (c >= MAX_CLASSES && c != UINT32_MAX) { /* the class arrays have max + 1 rows; test: uint32(-1) */
            st = octic_fail(OCTIC_ERR_FORMAT,
                            "%s: record %zu: class_index %llu: expected the index of a class folder (below %d)", path,
                            i, (unsigned long long)c, MAX_CLASSES);
            break;
        }
        if (push_entry(es, (uint32_t)a, (uint32_t)c, id, name) < 0)
            st = octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
    }
    free(id);
    free(name);
    octic_npyrec_free(&r);
    if (st) free_entries(es);
    return st;
}

/* _dump_class_ids_and_names: class_count = max class_index + 1, widths the
 * longest strings of the entries. */
static octic_status class_arrays(const entries *es, char ***ids, char ***names, size_t *count, int *id_width,
                                 int *name_width) {
    long max_index = -1;
    int wi = -1, wn = -1;
    for (size_t i = 0; i < es->n; i++) {
        const entry *e = &es->e[i];
        if (e->class_index == UINT32_MAX) continue; /* no class (test entries) */
        if ((long)e->class_index > max_index) max_index = (long)e->class_index;
        long li = octic_utf8_length(e->class_id), ln = octic_utf8_length(e->class_name);
        if (li > wi) wi = (int)li;
        if (ln > wn) wn = (int)ln;
    }
    *count = (size_t)(max_index + 1);
    *ids = calloc(*count ? *count : 1, sizeof **ids);
    *names = calloc(*count ? *count : 1, sizeof **names);
    if (!*ids || !*names) {
        free(*ids);
        free(*names);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for the class arrays");
    }
    for (size_t i = 0; i < es->n; i++) {
        const entry *e = &es->e[i];
        if (e->class_index == UINT32_MAX) continue;
        (*ids)[e->class_index] = e->class_id; /* borrowed from the entries */
        (*names)[e->class_index] = e->class_name;
    }
    *id_width = wi;
    *name_width = wn;
    return OCTIC_OK;
}

static octic_status read_strings(const char *path, char ***out, size_t *n) {
    octic_npyrec r;
    octic_status st = octic_npyrec_load(path, &r);
    if (st) return st;
    if (r.structured || r.fields[0].kind != 'U') {
        octic_npyrec_free(&r);
        return octic_fail(OCTIC_ERR_FORMAT, "%s: expected an array of strings (U<n>)", path);
    }
    char **s = calloc(r.count ? r.count : 1, sizeof *s);
    size_t cap = 4 * (size_t)r.fields[0].size + 1;
    char *buf = malloc(cap);
    if (!s || !buf) st = octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; !st && i < r.count; i++) {
        st = octic_npyrec_string(&r, i, 0, buf, cap);
        if (st) octic_fail_prefix(st, path);
        else if (!(s[i] = strdup(buf))) st = octic_fail(OCTIC_ERR_NOMEM, "%s: out of memory", path);
    }
    free(buf);
    size_t count = r.count;
    octic_npyrec_free(&r);
    if (st) {
        ds_free_list(s, count);
        return st;
    }
    *out = s;
    *n = count;
    return OCTIC_OK;
}

static int safe_component(const char *s) {
    return s[0] && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/');
}

static char *upper(const char *split) {
    char *u = strdup(split);
    for (char *p = u; p && *p; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
    return u;
}

static char *extra_path(const char *extra, const char *what, const char *split) {
    char *u = upper(split);
    char name[64];
    snprintf(name, sizeof name, "%s-%s.npy", what, u ? u : "");
    free(u);
    return ds_join(extra, name);
}

/* Where the extra files are: the option, else <root>/extra if it is there
 * or <root> holds them, else <root>/extra. */
static char *find_extra_dir(const char *root, const octic_dataset_options *opts) {
    if (opts->extra && opts->extra[0]) return strdup(opts->extra);
    char *e = ds_join(root, "extra");
    if (!e || ds_is_dir(e)) return e;
    static const char *const probes[] = {"entries-TRAIN.npy", "entries-VAL.npy", "entries-TEST.npy"};
    for (int i = 0; i < 3; i++) {
        char *p = ds_join(root, probes[i]);
        int there = p && ds_is_file(p);
        free(p);
        if (there) {
            free(e);
            return strdup(root);
        }
    }
    return e;
}

octic_status ds_open_imagenet(octic_dataset *ds, const char *root, const octic_dataset_options *opts) {
    ds->layout = OCTIC_LAYOUT_IMAGENET;
    char *extra = find_extra_dir(root, opts);
    char *labels_path = ds_join(root, "labels.txt");
    if (!extra || !labels_path) {
        free(extra);
        free(labels_path);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
    }
    ds->extra_dir = ds_string(ds, extra);
    ds_label_row *labels = NULL;
    size_t nlabels = 0;
    int labels_read = 0;
    octic_status st = OCTIC_OK;

    /* The class arrays of the first labelled split are the set's classes. */
    int have_classes = 0, write_failed = 0;

    static const char *const splits[] = {"train", "val", "test"};
    for (int s = 0; !st && s < 3; s++) {
        const char *split = splits[s];
        char *dir = ds_join(root, split);
        char *epath = extra_path(extra, "entries", split);
        if (!dir || !epath) {
            free(dir);
            free(epath);
            st = octic_fail(OCTIC_ERR_NOMEM, "out of memory");
            break;
        }
        int folder = ds_is_dir(dir), have_entries = ds_is_file(epath);
        if (!folder) {
            /* The test split is optional; train and val are expected. */
            if (s < 2 || have_entries)
                if (ds_problem(ds, dir, "missing split folder (expected %s/ with one folder per class)", split) < 0)
                    st = OCTIC_ERR_NOMEM;
            free(dir);
            free(epath);
            continue;
        }
        entries es = {0};
        int generated = 0;
        if (have_entries) {
            st = read_entries(epath, &es);
        } else {
            if (s < 2 && !labels_read) {
                st = read_labels(labels_path, &labels, &nlabels);
                labels_read = 1;
            }
            if (!st) st = s < 2 ? build_entries(ds, root, split, labels, nlabels, &es) : build_test_entries(ds, root, &es);
            generated = 1;
            if (!st && es.n == 0 && ds_problem(ds, dir, "no images: no extra files generated for this split") < 0)
                st = OCTIC_ERR_NOMEM;
            if (!st && es.n && opts->write_extra) {
                octic_status w = OCTIC_OK;
                if (!ds_is_dir(extra) && mkdir(extra, 0777) != 0 && errno != EEXIST)
                    w = octic_fail(OCTIC_ERR_IO, "%s: cannot make the folder: %s", extra, strerror(errno));
                if (!w) w = write_entries(epath, &es);
                if (w) {
                    write_failed = 1;
                    if (ds_problem(ds, epath, "could not write the extra file: %s", octic_last_error()) < 0)
                        st = OCTIC_ERR_NOMEM;
                }
            }
        }
        int sp = -1;
        if (!st) {
            sp = ds_add_split(ds, split);
            ds->extra_generated[sp] = generated;
        }
        /* The items, with the paths DINOv2 rebuilds from the entries. */
        for (size_t i = 0; !st && i < es.n; i++) {
            const entry *e = &es.e[i];
            char name[600], rel[1200];
            if (s < 2 && !safe_component(e->class_id)) {
                if (ds_problem(ds, epath, "entry %zu: class_id '%s' is not a folder name: skipped", i, e->class_id) < 0)
                    st = OCTIC_ERR_NOMEM;
                continue;
            }
            image_name(name, sizeof name, split, e->actual_index, e->class_id);
            if (s < 2) snprintf(rel, sizeof rel, "%s/%s/%s", split, e->class_id, name);
            else snprintf(rel, sizeof rel, "%s/%s", split, name);
            char *path = ds_join(root, rel);
            if (!path) st = OCTIC_ERR_NOMEM;
            else st = ds_add_item(ds, sp, path, NULL, s < 2 && e->class_index <= INT32_MAX ? (int)e->class_index : -1);
            free(path);
        }
        /* The class arrays (train and val). */
        if (!st && s < 2) {
            char *ipath = extra_path(extra, "class-ids", split), *npath = extra_path(extra, "class-names", split);
            char **ids = NULL, **names = NULL;
            size_t nids = 0, nnames = 0;
            int borrowed = 0;
            if (!ipath || !npath) st = octic_fail(OCTIC_ERR_NOMEM, "out of memory");
            else if (!generated && ds_is_file(ipath) && ds_is_file(npath)) {
                st = read_strings(ipath, &ids, &nids);
                if (!st) st = read_strings(npath, &names, &nnames);
                if (!st && nids != nnames)
                    st = octic_fail(OCTIC_ERR_FORMAT, "%s has %zu classes but %s has %zu", ipath, nids, npath, nnames);
            } else if (es.n) {
                int wi = 0, wn = 0;
                st = class_arrays(&es, &ids, &names, &nids, &wi, &wn);
                nnames = nids;
                borrowed = 1;
                if (!st && opts->write_extra && !write_failed) {
                    octic_status w = write_strings(ipath, ids, nids, wi);
                    if (!w) w = write_strings(npath, names, nnames, wn);
                    if (w) {
                        write_failed = 1;
                        if (ds_problem(ds, ipath, "could not write the extra file: %s", octic_last_error()) < 0)
                            st = OCTIC_ERR_NOMEM;
                    }
                }
            }
            if (!st && ids && !have_classes) {
                /* Strings borrowed from the entries are copied by ds_set_classes. */
                const char **cn = malloc((nids ? nids : 1) * sizeof *cn), **ci = malloc((nids ? nids : 1) * sizeof *ci);
                if (!cn || !ci) st = octic_fail(OCTIC_ERR_NOMEM, "out of memory");
                for (size_t k = 0; !st && k < nids; k++) {
                    ci[k] = ids[k] ? ids[k] : "";
                    cn[k] = names[k] ? names[k] : "";
                }
                if (!st) st = ds_set_classes(ds, (int)nids, cn, ci);
                free(cn);
                free(ci);
                have_classes = !st;
            } else if (!st && ids && have_classes) {
                /* DINOv2 indexes each split's own class folders: val's labels
                 * mean train's classes only when both have the same ones. */
                int same = (size_t)ds->nclasses == nids;
                for (size_t k = 0; same && k < nids; k++)
                    same = strcmp(ids[k] ? ids[k] : "", octic_dataset_class_id(ds, (int)k)) == 0;
                if (!same && ds_problem(ds, ipath,
                                        "the %s classes (%zu) are not those of train (%d): its class indices "
                                        "follow its own class folders, as in DINOv2",
                                        split, nids, ds->nclasses) < 0)
                    st = OCTIC_ERR_NOMEM;
            }
            if (borrowed) {
                free(ids);
                free(names);
            } else {
                ds_free_list(ids, nids);
                ds_free_list(names, nnames);
            }
            free(ipath);
            free(npath);
        }
        free_entries(&es);
        free(dir);
        free(epath);
    }
    /* No labelled split: the classes of labels.txt. */
    if (!st && !have_classes) {
        if (!labels_read) st = read_labels(labels_path, &labels, &nlabels);
        const char **cn = malloc((nlabels ? nlabels : 1) * sizeof *cn), **ci = malloc((nlabels ? nlabels : 1) * sizeof *ci);
        if (!st && (!cn || !ci)) st = octic_fail(OCTIC_ERR_NOMEM, "out of memory");
        for (size_t k = 0; !st && k < nlabels; k++) {
            ci[k] = labels[k].id;
            cn[k] = labels[k].name;
        }
        if (!st) st = ds_set_classes(ds, (int)nlabels, cn, ci);
        free(cn);
        free(ci);
    }
    ds_free_labels(labels, nlabels);
    free(labels_path);
    free(extra);
    if (st == OCTIC_ERR_NOMEM && !octic_last_error()[0]) octic_fail(st, "%s: out of memory", root);
    return st;
}
