/* libFuzzer target: the text files of the data set layouts (datasets/),
 * each input given to the three parsers in turn:
 *   ImageNet's labels.txt (ds_parse_labels, a csv read as Python's csv.reader),
 *   ADE20K's objectInfo150.csv/.txt (ds_parse_object_info),
 *   a VOC split list ImageSets/Segmentation/<split>.txt (ds_parse_voc_list),
 * over memory, on private copies of exactly the input (NUL-terminated, as
 * ds_read_text hands them over). The VOC list is resolved against a small
 * VOC tree made once under /dev/shm (ids "a": image and mask, "b": image
 * only), so ids reach every branch: item, missing mask, missing image, bad id.
 *
 * Checked beyond the sanitizers: an error always has a message that starts
 * with the file's name; labels.txt rows written back as csv (every field
 * quoted, quotes doubled) parse to the same rows; every VOC item is a pair
 * of files of the tree and every problem names the list or the tree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LABELS "fuzz/labels.txt"
#define OBJECT_INFO "fuzz/objectInfo150.csv"
#define VOC_REL "ImageSets/Segmentation/train.txt"

static char voc[64];

static void check(int ok) {
    if (!ok) __builtin_trap();
}

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static void touch(const char *dir, const char *rel) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "wb");
    check(f != NULL);
    fclose(f);
}

static void remove_tree(void) {
    static const char *const files[] = {"JPEGImages/a.jpg", "JPEGImages/b.jpg", "SegmentationClass/a.png"};
    static const char *const dirs[] = {"JPEGImages", "SegmentationClass", ""};
    char p[256];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", voc, files[i]);
        unlink(p);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", voc, dirs[i]);
        rmdir(p);
    }
}

static void make_tree(void) {
    snprintf(voc, sizeof voc, "/dev/shm/fuzz_dataset_text.XXXXXX");
    if (!mkdtemp(voc)) {
        snprintf(voc, sizeof voc, "/tmp/fuzz_dataset_text.XXXXXX");
        check(mkdtemp(voc) != NULL);
    }
    char p[256];
    snprintf(p, sizeof p, "%s/JPEGImages", voc);
    check(mkdir(p, 0777) == 0);
    snprintf(p, sizeof p, "%s/SegmentationClass", voc);
    check(mkdir(p, 0777) == 0);
    touch(voc, "JPEGImages/a.jpg");
    touch(voc, "JPEGImages/b.jpg");
    touch(voc, "SegmentationClass/a.png");
    atexit(remove_tree);
}

static char *copy(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    check(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* A field as csv: quoted, a quote doubled. */
static size_t put_field(char *out, const char *s) {
    size_t n = 0;
    out[n++] = '"';
    for (; *s; s++) {
        if (*s == '"') out[n++] = '"';
        out[n++] = *s;
    }
    out[n++] = '"';
    return n;
}

static void fuzz_labels(const uint8_t *data, size_t size) {
    char *text = copy(data, size);
    ds_label_row *rows;
    size_t n;
    if (ds_parse_labels(text, size, LABELS, &rows, &n) != OCTIC_OK) {
        check(starts_with(octic_last_error(), LABELS ": "));
        free(text);
        return;
    }
    /* Written back: at most twice the characters of the fields, plus quotes,
     * a comma and a newline per row. */
    size_t cap = 1;
    for (size_t i = 0; i < n; i++) cap += 2 * (strlen(rows[i].id) + strlen(rows[i].name)) + 6;
    char *csv = malloc(cap);
    check(csv != NULL);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        len += put_field(csv + len, rows[i].id);
        csv[len++] = ',';
        len += put_field(csv + len, rows[i].name);
        csv[len++] = '\n';
    }
    csv[len] = '\0';
    ds_label_row *again;
    size_t m;
    check(ds_parse_labels(csv, len, LABELS, &again, &m) == OCTIC_OK);
    check(m == n);
    for (size_t i = 0; i < n; i++) {
        check(strcmp(again[i].id, rows[i].id) == 0);
        check(strcmp(again[i].name, rows[i].name) == 0);
    }
    ds_free_labels(again, m);
    ds_free_labels(rows, n);
    free(csv);
    free(text);
}

static void fuzz_object_info(const uint8_t *data, size_t size) {
    char *text = copy(data, size);
    char *names[151] = {0};
    if (ds_parse_object_info(text, OBJECT_INFO, names) != OCTIC_OK)
        check(starts_with(octic_last_error(), OBJECT_INFO ": "));
    check(names[0] == NULL);
    volatile size_t sink = 0;
    for (int i = 0; i < 151; i++) {
        if (names[i]) sink += strlen(names[i]);
        free(names[i]);
    }
    (void)sink;
    free(text);
}

static void fuzz_voc_list(const uint8_t *data, size_t size) {
    if (!voc[0]) make_tree();
    char list[128];
    snprintf(list, sizeof list, "%s/" VOC_REL, voc);
    octic_dataset *ds = calloc(1, sizeof *ds);
    check(ds != NULL);
    int sp = ds_add_split(ds, "train");
    char *text = copy(data, size);
    check(ds_parse_voc_list(ds, sp, voc, list, VOC_REL, text) == OCTIC_OK);
    /* Only "a" (or "a" with spaces, tabs and a "\r" around it) makes an item. */
    char img[128], mask[128];
    snprintf(img, sizeof img, "%s/JPEGImages/a.jpg", voc);
    snprintf(mask, sizeof mask, "%s/SegmentationClass/a.png", voc);
    for (size_t i = 0; i < octic_dataset_item_count(ds, sp); i++) {
        octic_dataset_item it;
        check(octic_dataset_get_item(ds, sp, i, &it) == OCTIC_OK);
        check(strcmp(it.image, img) == 0 && it.mask && strcmp(it.mask, mask) == 0);
    }
    for (size_t i = 0; i < octic_dataset_problem_count(ds); i++) {
        const char *path, *reason;
        octic_dataset_problem(ds, i, &path, &reason);
        check(starts_with(path, voc) && reason[0] != '\0');
    }
    free(text);
    octic_dataset_close(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_labels(data, size);
    fuzz_object_info(data, size);
    fuzz_voc_list(data, size);
    return 0;
}
