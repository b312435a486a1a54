/* Data sets (datasets/dataset.h), the structured .npy reader/writer
 * (datasets/npy_records.h) and the batch loader (datasets/loader.h).
 *
 * Trees of every layout are written by the tests into a temporary folder;
 * the demo sets in resources/demo/data are read as committed. ImageNet's
 * extra files are compared byte for byte with the ones DINOv2's own
 * dump_extra() wrote (tests/fixtures/make_dataset_fixtures.py). */
#include <check.h>
#include <errno.h>
#include <png.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "image.h"
#include "loader.h"
#include "npy_records.h"

/* ---- helpers ---------------------------------------------------------------- */

static const char *env_or(const char *var, const char *fallback) {
    const char *d = getenv(var);
    return d && *d ? d : fallback;
}

/* A formatted path, kept until the end of the test (freed by teardown_tmp). */
static char **kept;
static size_t nkept, kept_cap;

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *b = NULL;
    ck_assert_int_ge(vasprintf(&b, fmt, ap), 0);
    va_end(ap);
    if (nkept == kept_cap) {
        kept_cap = kept_cap ? 2 * kept_cap : 256;
        kept = realloc(kept, kept_cap * sizeof *kept);
        ck_assert_ptr_nonnull(kept);
    }
    kept[nkept++] = b;
    return b;
}

static const char *fixtures(void) { return env_or("OCTIC_FIXTURES_DIR", "tests/fixtures"); }
static const char *demo(void) { return env_or("OCTIC_DEMO_DATA", "resources/demo/data"); }

static char tmp[256];

static void setup_tmp(void) {
    snprintf(tmp, sizeof tmp, "%s/octic-datasets-test.XXXXXX", env_or("TMPDIR", "/tmp"));
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void teardown_tmp(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
    for (size_t i = 0; i < nkept; i++) free(kept[i]);
    free(kept);
    kept = NULL;
    nkept = kept_cap = 0;
}

static void mkdirs(const char *path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        ck_assert_msg(mkdir(buf, 0777) == 0 || errno == EEXIST, "mkdir %s: %s", buf, strerror(errno));
        *p = '/';
    }
    ck_assert_msg(mkdir(buf, 0777) == 0 || errno == EEXIST, "mkdir %s: %s", buf, strerror(errno));
}

static void write_file(const char *path, const void *data, size_t len) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        mkdirs(dir);
    }
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    if (len) ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static void write_text(const char *path, const char *text) { write_file(path, text, strlen(text)); }

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void copy_file(const char *from, const char *to) {
    size_t n;
    uint8_t *b = read_all(from, &n);
    write_file(to, b, n);
    free(b);
}

static void assert_same_file(const char *a, const char *b) {
    size_t na, nb;
    uint8_t *x = read_all(a, &na), *y = read_all(b, &nb);
    ck_assert_msg(na == nb, "%s is %zu bytes, %s is %zu", a, na, b, nb);
    size_t i = 0;
    while (i < na && x[i] == y[i]) i++;
    ck_assert_msg(i == na, "%s and %s differ at byte %zu", a, b, i);
    free(x);
    free(y);
}

/* A PNG: color_type PNG_COLOR_TYPE_GRAY / _PALETTE / _RGB, bit depth 8 or 16. */
static void write_png(const char *path, int w, int h, int color_type, int depth, const uint8_t *pixels) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    mkdirs(dir);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert_int_eq(setjmp(png_jmpbuf(png)), 0);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        for (int i = 0; i < 256; i++) pal[i] = (png_color){(png_byte)i, (png_byte)(255 - i), (png_byte)(i * 7)};
        png_set_PLTE(png, info, pal, 256);
    }
    png_write_info(png, info);
    int channels = color_type == PNG_COLOR_TYPE_RGB ? 3 : 1;
    size_t row = (size_t)w * (size_t)channels * (size_t)(depth / 8);
    for (int y = 0; y < h; y++) png_write_row(png, pixels + (size_t)y * row);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    ck_assert_int_eq(fclose(f), 0);
}

/* A w x h 8-bit mask with values (x + y) % mod. */
static void write_mask(const char *path, int w, int h, int color_type, int mod) {
    uint8_t *m = malloc((size_t)w * (size_t)h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) m[y * w + x] = (uint8_t)((x + y) % mod);
    write_png(path, w, h, color_type, 8, m);
    free(m);
}

/* A small gray PNG that decodes (value v everywhere). */
static void write_gray_image(const char *path, int w, int h, int v) {
    uint8_t *m = malloc((size_t)w * (size_t)h);
    memset(m, v, (size_t)w * (size_t)h);
    write_png(path, w, h, PNG_COLOR_TYPE_GRAY, 8, m);
    free(m);
}

static const char *photo(const char *name) { return pathf("%s/images/%s", fixtures(), name); }

static octic_dataset *open_ok(const char *root, const octic_dataset_options *o) {
    octic_dataset *ds = NULL;
    octic_status st = octic_dataset_open(root, o, &ds);
    ck_assert_msg(st == OCTIC_OK, "open %s: %s", root, octic_last_error());
    return ds;
}

/* The problem about `path` (exact) or NULL. */
static const char *problem_for(const octic_dataset *ds, const char *path) {
    for (size_t i = 0; i < octic_dataset_problem_count(ds); i++) {
        const char *p, *r;
        octic_dataset_problem(ds, i, &p, &r);
        if (strcmp(p, path) == 0) return r;
    }
    return NULL;
}

static void assert_problem(const octic_dataset *ds, const char *path, const char *reason) {
    const char *r = problem_for(ds, path);
    if (!r) {
        for (size_t i = 0; i < octic_dataset_problem_count(ds); i++) {
            const char *p, *q;
            octic_dataset_problem(ds, i, &p, &q);
            fprintf(stderr, "  problem: %s: %s\n", p, q);
        }
    }
    ck_assert_msg(r != NULL, "no problem reported for %s", path);
    ck_assert_msg(strstr(r, reason) != NULL, "%s: reason '%s' does not say '%s'", path, r, reason);
}

static void assert_item(const octic_dataset *ds, int split, size_t i, const char *image, const char *mask, int label) {
    octic_dataset_item it;
    ck_assert_int_eq(octic_dataset_get_item(ds, split, i, &it), OCTIC_OK);
    ck_assert_str_eq(it.image, image);
    if (mask) ck_assert_str_eq(it.mask, mask);
    else ck_assert_ptr_null(it.mask);
    ck_assert_int_eq(it.label, label);
}

/* The error message contains each of the strings. */
static void assert_error_says(octic_status st, const char *a, const char *b) {
    ck_assert_int_ne(st, OCTIC_OK);
    const char *msg = octic_last_error();
    ck_assert_msg(strstr(msg, a) != NULL, "message does not say '%s': %s", a, msg);
    if (b) ck_assert_msg(strstr(msg, b) != NULL, "message does not say '%s': %s", b, msg);
    ck_assert_msg(strchr(msg, '\n') == NULL, "message is not one line: %s", msg);
}

/* ---- structured .npy ---------------------------------------------------------- */

static const char *record(const char *name) { return pathf("%s/datasets/records/%s", fixtures(), name); }

START_TEST(npyrec_reads_numpy_records) {
    octic_npyrec r;
    ck_assert_msg(octic_npyrec_load(record("mixed.npy"), &r) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_int_eq(r.structured, 1);
    ck_assert_int_eq(r.nfields, 5);
    ck_assert_uint_eq(r.count, 2);
    ck_assert_uint_eq(r.itemsize, 1 + 4 + 8 + 8 + 20);
    int u1 = octic_npyrec_find(&r, "u1"), i4 = octic_npyrec_find(&r, "i4"), u8 = octic_npyrec_find(&r, "u8");
    int i8 = octic_npyrec_find(&r, "i8"), s = octic_npyrec_find(&r, "s");
    ck_assert_int_eq(octic_npyrec_find(&r, "nope"), -1);
    ck_assert_uint_eq(octic_npyrec_uint(&r, 0, u1), 255);
    ck_assert_int_eq((int64_t)octic_npyrec_uint(&r, 0, i4), -7);
    ck_assert_uint_eq(octic_npyrec_uint(&r, 0, u8), UINT64_MAX);
    ck_assert_int_eq((int64_t)octic_npyrec_uint(&r, 0, i8), -((int64_t)1 << 40));
    ck_assert_int_eq((int64_t)octic_npyrec_uint(&r, 1, i4), 2147483647);
    ck_assert_uint_eq(octic_npyrec_uint(&r, 1, i8), 5);
    char buf[32];
    ck_assert_int_eq(octic_npyrec_string(&r, 0, s, buf, sizeof buf), OCTIC_OK);
    ck_assert_str_eq(buf, "a");
    ck_assert_int_eq(octic_npyrec_string(&r, 1, s, buf, sizeof buf), OCTIC_OK);
    ck_assert_str_eq(buf, "é€𝄞x");
    /* Too small a buffer is an error, not a cut string. */
    ck_assert_int_ne(octic_npyrec_string(&r, 1, s, buf, 4), OCTIC_OK);
    octic_npyrec_free(&r);

    ck_assert_int_eq(octic_npyrec_load(record("strings.npy"), &r), OCTIC_OK);
    ck_assert_int_eq(r.structured, 0);
    ck_assert_uint_eq(r.count, 3);
    const char *want[] = {"", "tench", "日本語"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(octic_npyrec_string(&r, (size_t)i, 0, buf, sizeof buf), OCTIC_OK);
        ck_assert_str_eq(buf, want[i]);
    }
    octic_npyrec_free(&r);

    ck_assert_int_eq(octic_npyrec_load(record("empty.npy"), &r), OCTIC_OK);
    ck_assert_uint_eq(r.count, 0);
    ck_assert_int_eq(r.nfields, 2);
    octic_npyrec_free(&r);
}
END_TEST

START_TEST(npyrec_writes_what_numpy_writes) {
    /* The records of mixed.npy, written by us, give numpy's bytes. */
    octic_npyrec r;
    ck_assert_int_eq(octic_npyrec_load(record("mixed.npy"), &r), OCTIC_OK);
    const char *out = pathf("%s/mixed.npy", tmp);
    ck_assert_msg(octic_npyrec_write(out, 1, r.fields, r.nfields, r.count, r.data) == OCTIC_OK, "%s",
                  octic_last_error());
    assert_same_file(out, record("mixed.npy"));
    octic_npyrec_free(&r);

    /* Strings from UTF-8, through the record-at-a-time writer. */
    octic_npyrec_field f = {"", 'U', 5, 0};
    uint32_t s[3][5];
    ck_assert_int_eq(octic_utf8_to_utf32("", s[0], 5), 0);
    ck_assert_int_eq(octic_utf8_to_utf32("tench", s[1], 5), 5);
    ck_assert_int_eq(octic_utf8_to_utf32("日本語", s[2], 5), 3);
    out = pathf("%s/strings.npy", tmp);
    ck_assert_int_eq(octic_npyrec_write(out, 0, &f, 1, 3, s), OCTIC_OK);
    assert_same_file(out, record("strings.npy"));

    octic_npyrec_field e[2] = {{"actual_index", 'u', 4, 0}, {"class_id", 'U', 3, 0}};
    out = pathf("%s/empty.npy", tmp);
    ck_assert_int_eq(octic_npyrec_write(out, 1, e, 2, 0, NULL), OCTIC_OK);
    assert_same_file(out, record("empty.npy"));

    /* Truncation to the width, and invalid UTF-8. */
    uint32_t t[2];
    ck_assert_int_eq(octic_utf8_to_utf32("abc", t, 2), 3);
    ck_assert_uint_eq(t[0], 'a');
    ck_assert_uint_eq(t[1], 'b');
    ck_assert_int_eq(octic_utf8_length("\xff"), -1);
    ck_assert_int_eq(octic_utf8_length("\xc3"), -1);
    ck_assert_int_eq(octic_utf8_length("\xed\xa0\x80"), -1); /* a surrogate */
    ck_assert_int_eq(octic_utf8_length("é🐟"), 2);
}
END_TEST

START_TEST(npyrec_rejects_what_it_cannot_read) {
    octic_npyrec r;
    const char *p = record("big_endian.npy");
    assert_error_says(octic_npyrec_load(p, &r), p, "little-endian");
    p = record("two_dims.npy");
    assert_error_says(octic_npyrec_load(p, &r), p, "2-dimensional");
    p = record("float_field.npy");
    assert_error_says(octic_npyrec_load(p, &r), p, "'<f4' is not supported");
    p = pathf("%s/none.npy", tmp);
    assert_error_says(octic_npyrec_load(p, &r), p, NULL);

    /* Every prefix of a good file fails cleanly (or, for the full file, reads). */
    size_t n;
    uint8_t *buf = read_all(record("mixed.npy"), &n);
    for (size_t k = 0; k < n; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        memcpy(copy, buf, k);
        octic_status st = octic_npyrec_parse(copy, k, "cut.npy", &r);
        ck_assert_msg(st != OCTIC_OK, "a %zu-byte prefix of %zu parsed", k, n);
        ck_assert_msg(strstr(octic_last_error(), "cut.npy") != NULL, "%s", octic_last_error());
        free(copy);
    }
    /* A code point that is not Unicode. */
    uint8_t *bad = malloc(n);
    memcpy(bad, buf, n);
    ck_assert_int_eq(octic_npyrec_parse(bad, n, "bad.npy", &r), OCTIC_OK);
    int s = octic_npyrec_find(&r, "s");
    uint8_t *cell = (uint8_t *)(uintptr_t)(r.data + r.fields[s].offset);
    cell[0] = 0x00, cell[1] = 0xD8, cell[2] = 0, cell[3] = 0; /* U+D800 */
    char out[64];
    assert_error_says(octic_npyrec_string(&r, 0, s, out, sizeof out), "U+D800", "field 's'");
    free(bad);
    free(buf);
}
END_TEST

/* ---- ImageNet ----------------------------------------------------------------- */

/* Builds tests/fixtures/datasets/<tree> (labels.txt, files.txt: empty files) in
 * <tmp>/<tree>; returns the root. */
static const char *build_tree(const char *tree) {
    const char *src = pathf("%s/datasets/%s", fixtures(), tree);
    const char *root = pathf("%s/%s", tmp, tree);
    mkdirs(root);
    copy_file(pathf("%s/labels.txt", src), pathf("%s/labels.txt", root));
    size_t n;
    char *list = (char *)read_all(pathf("%s/files.txt", src), &n);
    list = realloc(list, n + 1);
    list[n] = '\0';
    char *save;
    for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        write_file(pathf("%s/%s", root, line), "", 0);
    free(list);
    return root;
}

static const char *const extra_files[] = {"entries-TRAIN.npy", "class-ids-TRAIN.npy", "class-names-TRAIN.npy",
                                          "entries-VAL.npy",   "class-ids-VAL.npy",   "class-names-VAL.npy",
                                          "entries-TEST.npy"};

/* Every extra file in `expected` exists in `got` with the same bytes, and
 * `got` has no other. */
static void assert_same_extra(const char *got, const char *expected) {
    for (size_t i = 0; i < sizeof extra_files / sizeof extra_files[0]; i++) {
        const char *e = pathf("%s/%s", expected, extra_files[i]), *g = pathf("%s/%s", got, extra_files[i]);
        struct stat st;
        int have_e = stat(e, &st) == 0, have_g = stat(g, &st) == 0;
        ck_assert_msg(have_e == have_g, "%s %s but %s %s", e, have_e ? "exists" : "does not exist", g,
                      have_g ? "does" : "does not");
        if (have_e) assert_same_file(g, e);
    }
}

START_TEST(imagenet_extra_as_dinov2_writes_it) {
    const char *trees[] = {"imagenet-tree", "imagenet-quirk"};
    for (int t = 0; t < 2; t++) {
        const char *root = build_tree(trees[t]);
        const char *extra = pathf("%s/extra-%d", tmp, t);
        octic_dataset_options o = {extra, 1};
        octic_dataset *ds = open_ok(root, &o);
        ck_assert_int_eq(octic_dataset_layout(ds), OCTIC_LAYOUT_IMAGENET);
        ck_assert_str_eq(octic_dataset_extra_dir(ds), extra);
        ck_assert_int_eq(octic_dataset_extra_generated(ds, 0), 1);
        assert_same_extra(extra, pathf("%s/datasets/%s/extra", fixtures(), trees[t]));
        octic_dataset_close(ds);
    }
}
END_TEST

START_TEST(imagenet_items_and_classes) {
    const char *root = build_tree("imagenet-tree");
    /* Read from the files numpy wrote, and generated in memory: the same set. */
    octic_dataset_options from_numpy = {pathf("%s/datasets/imagenet-tree/extra", fixtures()), 0};
    octic_dataset_options generated = {pathf("%s/no-extra", tmp), 0};
    for (int pass = 0; pass < 2; pass++) {
        octic_dataset *ds = open_ok(root, pass ? &generated : &from_numpy);
        ck_assert_int_eq(octic_dataset_extra_generated(ds, 0), pass);
        ck_assert_int_eq(octic_dataset_split_count(ds), 2);
        int train = octic_dataset_find_split(ds, "train"), val = octic_dataset_find_split(ds, "val");
        ck_assert_int_eq(train, 0);
        ck_assert_int_eq(val, 1);
        ck_assert_int_eq(octic_dataset_find_split(ds, "test"), -1);
        ck_assert_int_eq(octic_dataset_is_segmentation(ds), 0);
        ck_assert_int_eq(octic_dataset_class_count(ds), 4);
        ck_assert_str_eq(octic_dataset_class_id(ds, 0), "n01440764");
        ck_assert_str_eq(octic_dataset_class_name(ds, 0), "tench, Tinca tinca");
        ck_assert_str_eq(octic_dataset_class_name(ds, 2), "café \"crème\" 🐟");
        ck_assert_str_eq(octic_dataset_class_name(ds, 3), "日本語");
        ck_assert_ptr_null(octic_dataset_class_name(ds, 4));
        /* ImageFolder's order: "..._10026" sorts before "..._9". */
        ck_assert_uint_eq(octic_dataset_item_count(ds, train), 5);
        assert_item(ds, train, 0, pathf("%s/train/n01440764/n01440764_10026.JPEG", root), NULL, 0);
        assert_item(ds, train, 1, pathf("%s/train/n01440764/n01440764_9.JPEG", root), NULL, 0);
        assert_item(ds, train, 2, pathf("%s/train/n01443537/n01443537_1.JPEG", root), NULL, 1);
        assert_item(ds, train, 3, pathf("%s/train/n02123045/n02123045_77.JPEG", root), NULL, 2);
        assert_item(ds, train, 4, pathf("%s/train/n09999999/n09999999_4294967295.JPEG", root), NULL, 3);
        /* val's class indices follow its own two class folders (DINOv2 does
         * the same), which is reported. */
        ck_assert_uint_eq(octic_dataset_item_count(ds, val), 2);
        assert_item(ds, val, 0, pathf("%s/val/n01440764/ILSVRC2012_val_00000003.JPEG", root), NULL, 0);
        assert_item(ds, val, 1, pathf("%s/val/n02123045/ILSVRC2012_val_00000001.JPEG", root), NULL, 1);
        assert_problem(ds, pathf("%s/class-ids-VAL.npy", pass ? generated.extra : from_numpy.extra),
                       "not those of train");
        if (pass) assert_problem(ds, pathf("%s/train/n01440764/notes.txt", root), "not an image file name");
        octic_dataset_item it;
        assert_error_says(octic_dataset_get_item(ds, train, 5, &it), "item 5", "train");
        assert_error_says(octic_dataset_get_item(ds, 7, 0, &it), "no split 7", NULL);
        octic_dataset_close(ds);
        /* Generating without write_extra writes nothing. */
        struct stat st;
        ck_assert_int_ne(stat(generated.extra, &st), 0);
    }
}
END_TEST

START_TEST(imagenet_demo_set) {
    const char *root = pathf("%s/imagenet", demo());
    octic_dataset *ds = open_ok(root, NULL);
    ck_assert_int_eq(octic_dataset_layout(ds), OCTIC_LAYOUT_IMAGENET);
    ck_assert_str_eq(octic_dataset_extra_dir(ds), pathf("%s/extra", root));
    ck_assert_int_eq(octic_dataset_split_count(ds), 3);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 4);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 1), 3);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 2), 3);
    for (int s = 0; s < 3; s++) ck_assert_int_eq(octic_dataset_extra_generated(ds, s), 0);
    ck_assert_uint_eq(octic_dataset_problem_count(ds), 0);
    ck_assert_int_eq(octic_dataset_class_count(ds), 3);
    ck_assert_str_eq(octic_dataset_class_name(ds, 0), "tabby, tabby cat");
    ck_assert_str_eq(octic_dataset_class_id(ds, 2), "n03773504");
    assert_item(ds, 0, 2, pathf("%s/train/n03063599/n03063599_2.JPEG", root), NULL, 1);
    assert_item(ds, 1, 0, pathf("%s/val/n02123045/ILSVRC2012_val_00000002.JPEG", root), NULL, 0);
    assert_item(ds, 2, 1, pathf("%s/test/ILSVRC2012_test_00000002.JPEG", root), NULL, -1);
    for (int s = 0; s < 3; s++)
        for (size_t i = 0; i < octic_dataset_item_count(ds, s); i++) {
            octic_dataset_item it;
            ck_assert_int_eq(octic_dataset_get_item(ds, s, i, &it), OCTIC_OK);
            struct stat st;
            ck_assert_msg(stat(it.image, &st) == 0, "%s does not exist", it.image);
        }
    octic_dataset_close(ds);

    /* Without its extra folder, the demo set regenerates the same files. */
    const char *copy = pathf("%s/imagenet", tmp);
    const char *rel[] = {"labels.txt", "train/n02123045/n02123045_1.JPEG", "train/n03063599/n03063599_1.JPEG",
                         "train/n03063599/n03063599_2.JPEG", "train/n03773504/n03773504_1.JPEG",
                         "val/n02123045/ILSVRC2012_val_00000002.JPEG", "val/n03063599/ILSVRC2012_val_00000003.JPEG",
                         "val/n03773504/ILSVRC2012_val_00000001.JPEG", "test/ILSVRC2012_test_00000001.JPEG",
                         "test/ILSVRC2012_test_00000002.JPEG", "test/ILSVRC2012_test_00000003.JPEG"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
        copy_file(pathf("%s/%s", root, rel[i]), pathf("%s/%s", copy, rel[i]));
    octic_dataset_options o = {NULL, 1};
    ds = open_ok(copy, &o);
    ck_assert_str_eq(octic_dataset_extra_dir(ds), pathf("%s/extra", copy));
    ck_assert_int_eq(octic_dataset_extra_generated(ds, 2), 1);
    octic_dataset_close(ds);
    assert_same_extra(pathf("%s/extra", copy), pathf("%s/extra", root));
    /* Now they are there, they are read. */
    ds = open_ok(copy, &o);
    ck_assert_int_eq(octic_dataset_extra_generated(ds, 0), 0);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 4);
    octic_dataset_close(ds);
}
END_TEST

START_TEST(imagenet_bad_names_and_missing_splits) {
    const char *root = pathf("%s/in", tmp);
    write_text(pathf("%s/labels.txt", root), "n01,one\n\nn02,\"two, with \"\"quotes\"\"\"\r\n");
    const char *good = pathf("%s/train/n01/n01_5.JPEG", root);
    write_file(good, "", 0);
    write_file(pathf("%s/train/n01/n01_x.JPEG", root), "", 0);
    write_file(pathf("%s/train/n01/n01_007.JPEG", root), "", 0);
    write_file(pathf("%s/train/n01/n01_8.jpeg", root), "", 0);
    write_file(pathf("%s/train/n01/deeper/n01_9.JPEG", root), "", 0);
    write_file(pathf("%s/train/n02/n02_1.JPEG", root), "", 0);
    write_file(pathf("%s/train/n03/n03_1.JPEG", root), "", 0); /* no row for it in labels.txt... */
    write_file(pathf("%s/train/ILSVRC2012_val_00000001.JPEG", root), "", 0); /* flat, in no class */
    write_file(pathf("%s/train/ILSVRC2012_val_00000002.JPEG", root), "", 0);
    mkdirs(pathf("%s/test", root));
    write_file(pathf("%s/test/ILSVRC2012_test_00000001.JPEG", root), "", 0);
    write_file(pathf("%s/test/photo.JPEG", root), "", 0);
    /* ...but labels.txt has only two rows for three class folders: DINOv2
     * fails there, and so do we, saying why. */
    octic_dataset *ds = NULL;
    assert_error_says(octic_dataset_open(root, NULL, &ds), "labels.txt has 2 rows", "n03");
    ck_assert_ptr_null(ds);

    write_text(pathf("%s/labels.txt", root), "n01,one\n\nn02,\"two, with \"\"quotes\"\"\"\r\nn04,four\n");
    ds = open_ok(root, NULL);
    ck_assert_int_eq(octic_dataset_split_count(ds), 2); /* train, test; val is missing */
    ck_assert_str_eq(octic_dataset_class_name(ds, 1), "two, with \"quotes\"");
    assert_problem(ds, pathf("%s/val", root), "missing split folder");
    assert_problem(ds, pathf("%s/train/n01/n01_x.JPEG", root), "not an ImageNet file name");
    assert_problem(ds, pathf("%s/train/n01/n01_007.JPEG", root), "DINOv2 would look for n01_7.JPEG");
    assert_problem(ds, pathf("%s/train/n01/n01_8.jpeg", root), "DINOv2 would look for n01_8.JPEG");
    assert_problem(ds, pathf("%s/train/n01/deeper/n01_9.JPEG", root), "subfolder");
    assert_problem(ds, pathf("%s/train/n03/n03_1.JPEG", root), "no row in labels.txt");
    assert_problem(ds, pathf("%s/test/photo.JPEG", root), "not a test image name");
    assert_problem(ds, pathf("%s/train", root), "2 images directly in train/: expected train/<wnid>/<image>");
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 2);
    assert_item(ds, 0, 0, good, NULL, 0);
    assert_item(ds, 0, 1, pathf("%s/train/n02/n02_1.JPEG", root), NULL, 1);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 1), 1);
    assert_item(ds, 1, 0, pathf("%s/test/ILSVRC2012_test_00000001.JPEG", root), NULL, -1);
    octic_dataset_close(ds);
    /* A byte order mark before the first wnid is not part of it. */
    write_text(pathf("%s/labels.txt", root), "\xef\xbb\xbfn01,one\nn02,two\nn04,four\n");
    ds = open_ok(root, NULL);
    ck_assert_str_eq(octic_dataset_class_id(ds, 0), "n01");
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 2);
    assert_item(ds, 0, 0, good, NULL, 0);
    octic_dataset_close(ds);

    /* A broken labels.txt. */
    write_text(pathf("%s/labels.txt", root), "n01,one\nn02,two,three\n");
    assert_error_says(octic_dataset_open(root, NULL, &ds), "labels.txt: line 2 has 3 fields",
                      "for plain class folders (train/<class>/...), remove or rename it");
    write_text(pathf("%s/labels.txt", root), "n01,\"one\n");
    assert_error_says(octic_dataset_open(root, NULL, &ds), "labels.txt: line 1", "not closed");
    /* An entries file that is not one. */
    write_text(pathf("%s/labels.txt", root), "n01,one\nn02,two\nn03,three\n");
    mkdirs(pathf("%s/extra", root));
    copy_file(record("strings.npy"), pathf("%s/extra/entries-TRAIN.npy", root));
    assert_error_says(octic_dataset_open(root, NULL, &ds), "entries-TRAIN.npy", "expected DINOv2 entries");
    /* Entries whose class_index no class array could have: said, not "out
     * of memory" after trying to make 4e9 rows */
    octic_npyrec_field f[4] = {{"actual_index", 'u', 4, 0}, {"class_index", 'u', 4, 0}, {"class_id", 'U', 3, 0},
                               {"class_name", 'U', 3, 0}};
    ck_assert_uint_eq(octic_npyrec_pack(f, 4), 32);
    uint32_t rec[2][8] = {{1, 0, 'n', '0', '1', 'o', 'n', 'e'}, {1, 4000000000u, 'n', '0', '2', 't', 'w', 'o'}};
    ck_assert_int_eq(octic_npyrec_write(pathf("%s/extra/entries-TRAIN.npy", root), 1, f, 4, 2, rec), OCTIC_OK);
    assert_error_says(octic_dataset_open(root, NULL, &ds), "entries-TRAIN.npy: record 1: class_index 4000000000",
                      "expected the index of a class folder");
    /* An extra folder that cannot be made (a file is in the way): the
     * entries are generated in memory and the failure reported. */
    unlink(pathf("%s/extra/entries-TRAIN.npy", root));
    const char *blocked = pathf("%s/labels.txt/extra", root);
    octic_dataset_options o = {blocked, 1};
    ds = open_ok(root, &o);
    assert_problem(ds, pathf("%s/entries-TRAIN.npy", blocked), "could not write the extra file");
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 3);
    ck_assert_int_eq(octic_dataset_extra_generated(ds, 0), 1);
    octic_dataset_close(ds);
}
END_TEST

/* ---- ADE20K, VOC ---------------------------------------------------------------- */

static const char *make_ade(int csv) {
    const char *ade = pathf("%s/ade%d/ADEChallengeData2016", tmp, csv);
    const char *img = pathf("%s/images/training", ade), *ann = pathf("%s/annotations/training", ade);
    copy_file(photo("chelsea.jpg"), pathf("%s/ADE_train_00000002.jpg", img));
    copy_file(photo("coffee.jpg"), pathf("%s/ADE_train_00000001.jpg", img));
    write_mask(pathf("%s/ADE_train_00000001.png", ann), 600, 400, PNG_COLOR_TYPE_GRAY, 151);
    write_mask(pathf("%s/ADE_train_00000002.png", ann), 451, 300, PNG_COLOR_TYPE_GRAY, 151);
    /* validation: one image without its annotation, one annotation without its image */
    copy_file(photo("rocket.jpg"), pathf("%s/images/validation/ADE_val_00000001.jpg", ade));
    write_mask(pathf("%s/annotations/validation/ADE_val_00000002.png", ade), 10, 10, PNG_COLOR_TYPE_GRAY, 151);
    if (csv)
        write_text(pathf("%s/objectInfo150.csv", ade),
                   "Idx,Ratio,Train,Val,Stuff,Name\n1,0.1576,11664,1172,1,wall\n"
                   "2,0.1072,6046,612,1,\"building, edifice\"\n13,0.0101,1,1,0,person;individual;someone\n");
    else
        write_text(pathf("%s/objectInfo150.txt", ade),
                   "Idx\tRatio\tTrain\tVal\tName\n1\t0.1576\t11664\t1172\twall\n"
                   "2\t0.1072\t6046\t612\tbuilding;edifice\n13\t0.0101\t1\t1\tperson;individual;someone\n");
    return ade;
}

START_TEST(ade20k_layout) {
    for (int csv = 0; csv < 2; csv++) {
        const char *ade = make_ade(csv);
        /* Found from the folder above it, and from itself. */
        for (int from_parent = 0; from_parent < 2; from_parent++) {
            octic_dataset *ds = open_ok(from_parent ? pathf("%s/ade%d", tmp, csv) : ade, NULL);
            ck_assert_int_eq(octic_dataset_layout(ds), OCTIC_LAYOUT_ADE20K);
            ck_assert_str_eq(octic_dataset_root(ds), ade);
            ck_assert_int_eq(octic_dataset_is_segmentation(ds), 1);
            int ignored[8];
            ck_assert_int_eq(octic_dataset_ignored_labels(ds, ignored), 2);
            ck_assert_int_eq(ignored[0], 0);
            ck_assert_int_eq(ignored[1], 255);
            ck_assert_int_eq(octic_dataset_class_count(ds), 151);
            ck_assert_str_eq(octic_dataset_class_name(ds, 0), "other");
            ck_assert_str_eq(octic_dataset_class_name(ds, 1), "wall");
            ck_assert_str_eq(octic_dataset_class_name(ds, 2), csv ? "building, edifice" : "building;edifice");
            ck_assert_str_eq(octic_dataset_class_name(ds, 13), "person;individual;someone");
            ck_assert_str_eq(octic_dataset_class_name(ds, 150), "class 150");
            ck_assert_int_eq(octic_dataset_split_count(ds), 2);
            ck_assert_str_eq(octic_dataset_split_name(ds, 0), "training");
            ck_assert_str_eq(octic_dataset_split_name(ds, 1), "validation");
            ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 2);
            assert_item(ds, 0, 0, pathf("%s/images/training/ADE_train_00000001.jpg", ade),
                        pathf("%s/annotations/training/ADE_train_00000001.png", ade), -1);
            assert_item(ds, 0, 1, pathf("%s/images/training/ADE_train_00000002.jpg", ade),
                        pathf("%s/annotations/training/ADE_train_00000002.png", ade), -1);
            ck_assert_uint_eq(octic_dataset_item_count(ds, 1), 0);
            assert_problem(ds, pathf("%s/images/validation/ADE_val_00000001.jpg", ade), "no annotation");
            assert_problem(ds, pathf("%s/annotations/validation/ADE_val_00000002.png", ade), "without its image");
            octic_dataset_close(ds);
        }
    }
    /* Without objectInfo150 the classes are numbered, and that is said;
     * without a validation folder, that too. */
    const char *ade = make_ade(0);
    unlink(pathf("%s/objectInfo150.txt", ade));
    ck_assert_int_eq(system(pathf("rm -rf '%s/images/validation'", ade)), 0);
    octic_dataset *ds = open_ok(ade, NULL);
    ck_assert_str_eq(octic_dataset_class_name(ds, 1), "class 1");
    assert_problem(ds, ade, "no objectInfo150");
    assert_problem(ds, pathf("%s/images/validation", ade), "missing split folder");
    ck_assert_int_eq(octic_dataset_split_count(ds), 1);
    octic_dataset_close(ds);
    /* A broken objectInfo150; its line numbers count blank lines too. */
    write_text(pathf("%s/objectInfo150.txt", ade), "Idx\tName\n151\tnope\n");
    assert_error_says(octic_dataset_open(ade, NULL, &ds), "objectInfo150.txt: line 2", "expected 1..150");
    write_text(pathf("%s/objectInfo150.txt", ade), "Idx\tName\n\n1\twall\r\n\r\n151\tnope\n");
    assert_error_says(octic_dataset_open(ade, NULL, &ds), "objectInfo150.txt: line 5", "expected 1..150");
    unlink(pathf("%s/objectInfo150.txt", ade));
    /* An image named .JPG is its annotation's image: no orphan reported. */
    const char *img = pathf("%s/images/training", ade), *ann = pathf("%s/annotations/training", ade);
    ck_assert_int_eq(rename(pathf("%s/ADE_train_00000002.jpg", img), pathf("%s/ADE_train_00000002.JPG", img)), 0);
    ds = open_ok(ade, NULL);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 2);
    assert_item(ds, 0, 0, pathf("%s/ADE_train_00000001.jpg", img), pathf("%s/ADE_train_00000001.png", ann), -1);
    assert_item(ds, 0, 1, pathf("%s/ADE_train_00000002.JPG", img), pathf("%s/ADE_train_00000002.png", ann), -1);
    ck_assert_ptr_null(problem_for(ds, pathf("%s/ADE_train_00000002.png", ann)));
    octic_dataset_close(ds);
}
END_TEST

START_TEST(voc_demo_set) {
    const char *given = pathf("%s/voc", demo());
    const char *root = pathf("%s/VOCdevkit/VOC2012", given);
    octic_dataset *ds = open_ok(given, NULL);
    ck_assert_int_eq(octic_dataset_layout(ds), OCTIC_LAYOUT_VOC);
    ck_assert_str_eq(octic_dataset_root(ds), root);
    ck_assert_int_eq(octic_dataset_class_count(ds), 21);
    ck_assert_str_eq(octic_dataset_class_name(ds, 0), "background");
    ck_assert_str_eq(octic_dataset_class_name(ds, 13), "horse");
    ck_assert_str_eq(octic_dataset_class_name(ds, 20), "tvmonitor");
    int ignored[8];
    ck_assert_int_eq(octic_dataset_ignored_labels(ds, ignored), 1);
    ck_assert_int_eq(ignored[0], 255);
    ck_assert_uint_eq(octic_dataset_problem_count(ds), 0);
    ck_assert_str_eq(octic_dataset_split_name(ds, 0), "train");
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 2);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 1), 2);
    assert_item(ds, 0, 0, pathf("%s/JPEGImages/demo_horse.jpg", root), pathf("%s/SegmentationClass/demo_horse.png", root), -1);
    assert_item(ds, 1, 1, pathf("%s/JPEGImages/demo_gravel.jpg", root), pathf("%s/SegmentationClass/demo_gravel.png", root), -1);
    octic_dataset_close(ds);
    /* The VOC2012 folder itself, and VOCdevkit, are found too. */
    ds = open_ok(root, NULL);
    ck_assert_int_eq(octic_dataset_layout(ds), OCTIC_LAYOUT_VOC);
    octic_dataset_close(ds);
    ds = open_ok(pathf("%s/VOCdevkit", given), NULL);
    ck_assert_str_eq(octic_dataset_root(ds), root);
    octic_dataset_close(ds);
}
END_TEST

START_TEST(voc_split_lists) {
    const char *voc = pathf("%s/v/VOCdevkit/VOC2012", tmp);
    copy_file(photo("chelsea.jpg"), pathf("%s/JPEGImages/b.jpg", voc));
    copy_file(photo("chelsea.jpg"), pathf("%s/JPEGImages/a.jpg", voc));
    copy_file(photo("chelsea.jpg"), pathf("%s/JPEGImages/nomask.jpg", voc));
    write_mask(pathf("%s/SegmentationClass/a.png", voc), 451, 300, PNG_COLOR_TYPE_PALETTE, 21);
    write_mask(pathf("%s/SegmentationClass/b.png", voc), 451, 300, PNG_COLOR_TYPE_PALETTE, 21);
    /* the list's order, not the folder's; blank lines and CRLF are fine */
    /* line 7: a long id with a '/' whose 80th and 81st bytes are one UTF-8
     * character: the message shows the 79 bytes before it, not half of it */
    write_text(pathf("%s/ImageSets/Segmentation/train.txt", voc),
               "b\r\n\n a \nnomask\nmissing\n../../etc\n"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9/x\n");
    octic_dataset *ds = open_ok(pathf("%s/v", tmp), NULL);
    ck_assert_int_eq(octic_dataset_split_count(ds), 1);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 2);
    assert_item(ds, 0, 0, pathf("%s/JPEGImages/b.jpg", voc), pathf("%s/SegmentationClass/b.png", voc), -1);
    assert_item(ds, 0, 1, pathf("%s/JPEGImages/a.jpg", voc), pathf("%s/SegmentationClass/a.png", voc), -1);
    assert_problem(ds, pathf("%s/ImageSets/Segmentation/val.txt", voc), "missing split list");
    assert_problem(ds, pathf("%s/SegmentationClass/nomask.png", voc), "the mask is missing");
    assert_problem(ds, pathf("%s/JPEGImages/missing.jpg", voc), "the image is missing");
    assert_problem(ds, pathf("%s/ImageSets/Segmentation/train.txt:6", voc), "not an image id");
    const char *cut = problem_for(ds, pathf("%s/ImageSets/Segmentation/train.txt:7", voc));
    ck_assert_ptr_nonnull(cut);
    ck_assert_msg(strstr(cut, "aaa' is not an image id") != NULL, "reason: %s", cut);
    ck_assert_int_ge(octic_utf8_length(cut), 0);
    octic_dataset_close(ds);
}
END_TEST

/* ---- plain folders, detection ------------------------------------------------- */

START_TEST(class_folders_as_imagefolder) {
    const char *root = pathf("%s/plain", tmp);
    write_file(pathf("%s/dog/b.jpg", root), "", 0);
    write_file(pathf("%s/dog/a.PNG", root), "", 0);
    write_file(pathf("%s/dog/a-b/c.jpeg", root), "", 0);
    write_file(pathf("%s/dog/a/z.jpg", root), "", 0);
    write_file(pathf("%s/dog/a/x/deep.jpg", root), "", 0);
    write_file(pathf("%s/dog/readme.txt", root), "", 0);
    write_file(pathf("%s/cat/1.webp", root), "", 0);
    mkdirs(pathf("%s/empty", root));
    write_file(pathf("%s/stray.jpg", root), "", 0);
    octic_dataset *ds = open_ok(root, NULL);
    ck_assert_int_eq(octic_dataset_layout(ds), OCTIC_LAYOUT_FOLDER);
    ck_assert_int_eq(octic_dataset_split_count(ds), 1);
    ck_assert_str_eq(octic_dataset_split_name(ds, 0), "all");
    ck_assert_int_eq(octic_dataset_class_count(ds), 3);
    ck_assert_str_eq(octic_dataset_class_name(ds, 0), "cat");
    ck_assert_str_eq(octic_dataset_class_id(ds, 1), "dog");
    ck_assert_str_eq(octic_dataset_class_name(ds, 2), "empty");
    /* sorted(os.walk()) orders the folders by their path as a string:
     * "dog" < "dog/a" < "dog/a-b" < "dog/a/x" ('-' is 0x2d, '/' 0x2f). */
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 6);
    assert_item(ds, 0, 0, pathf("%s/cat/1.webp", root), NULL, 0);
    assert_item(ds, 0, 1, pathf("%s/dog/a.PNG", root), NULL, 1);
    assert_item(ds, 0, 2, pathf("%s/dog/b.jpg", root), NULL, 1);
    assert_item(ds, 0, 3, pathf("%s/dog/a/z.jpg", root), NULL, 1);
    assert_item(ds, 0, 4, pathf("%s/dog/a-b/c.jpeg", root), NULL, 1);
    assert_item(ds, 0, 5, pathf("%s/dog/a/x/deep.jpg", root), NULL, 1);
    assert_problem(ds, pathf("%s/dog/readme.txt", root), "not an image file name");
    assert_problem(ds, pathf("%s/empty", root), "without images");
    assert_problem(ds, pathf("%s/stray.jpg", root), "outside the class folders");
    octic_dataset_close(ds);

    /* symbolic links back up (cycles) are reported, not followed: before,
     * each image came out once per lap, and two such links took
     * exponential time; a link across to another folder is followed, as
     * os.walk(followlinks=True) does */
    ck_assert_int_eq(symlink(".", pathf("%s/dog/self", root)), 0);
    ck_assert_int_eq(symlink("..", pathf("%s/dog/a/x/up", root)), 0);
    ck_assert_int_eq(symlink("../../cat", pathf("%s/dog/a/cats", root)), 0);
    ds = open_ok(root, NULL);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 7);
    assert_item(ds, 0, 5, pathf("%s/dog/a/cats/1.webp", root), NULL, 1);
    assert_item(ds, 0, 6, pathf("%s/dog/a/x/deep.jpg", root), NULL, 1);
    assert_problem(ds, pathf("%s/dog/self", root), "a cycle");
    assert_problem(ds, pathf("%s/dog/a/x/up", root), "a cycle");
    octic_dataset_close(ds);
}
END_TEST

START_TEST(split_folders_as_imagefolder_per_split) {
    /* train/, val/ and test/ with class subfolders (ImageNet without
     * labels.txt, or a set of one's own): classes from train/ */
    const char *root = pathf("%s/splits", tmp);
    write_file(pathf("%s/train/dog/2.jpg", root), "", 0);
    write_file(pathf("%s/train/dog/sub/3.png", root), "", 0);
    write_file(pathf("%s/train/cat/1.jpg", root), "", 0);
    mkdirs(pathf("%s/train/empty", root));
    write_file(pathf("%s/train/stray.jpg", root), "", 0);
    write_file(pathf("%s/val/dog/4.jpg", root), "", 0);
    write_file(pathf("%s/val/cat/5.jpg", root), "", 0);
    write_file(pathf("%s/val/bird/6.jpg", root), "", 0);
    write_file(pathf("%s/test/7.jpg", root), "", 0);
    write_file(pathf("%s/test/notes.txt", root), "", 0);
    write_file(pathf("%s/README.md", root), "", 0);
    octic_dataset *ds = open_ok(root, NULL);
    ck_assert_int_eq(octic_dataset_layout(ds), OCTIC_LAYOUT_FOLDER);
    ck_assert_int_eq(octic_dataset_split_count(ds), 3);
    ck_assert_str_eq(octic_dataset_split_name(ds, 0), "train");
    ck_assert_str_eq(octic_dataset_split_name(ds, 1), "val");
    ck_assert_str_eq(octic_dataset_split_name(ds, 2), "test");
    ck_assert_int_eq(octic_dataset_class_count(ds), 3);
    ck_assert_str_eq(octic_dataset_class_name(ds, 0), "cat");
    ck_assert_str_eq(octic_dataset_class_name(ds, 1), "dog");
    ck_assert_str_eq(octic_dataset_class_name(ds, 2), "empty");
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 3);
    assert_item(ds, 0, 0, pathf("%s/train/cat/1.jpg", root), NULL, 0);
    assert_item(ds, 0, 1, pathf("%s/train/dog/2.jpg", root), NULL, 1);
    assert_item(ds, 0, 2, pathf("%s/train/dog/sub/3.png", root), NULL, 1);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 1), 2); /* bird is not a class of train */
    assert_item(ds, 1, 0, pathf("%s/val/cat/5.jpg", root), NULL, 0);
    assert_item(ds, 1, 1, pathf("%s/val/dog/4.jpg", root), NULL, 1);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 2), 1);
    assert_item(ds, 2, 0, pathf("%s/test/7.jpg", root), NULL, -1);
    assert_problem(ds, pathf("%s/val/bird", root), "not one of the classes of train/");
    assert_problem(ds, pathf("%s/train/empty", root), "without images");
    assert_problem(ds, pathf("%s/train/stray.jpg", root), "outside the class folders");
    assert_problem(ds, pathf("%s/test/notes.txt", root), "not an image file name");
    ck_assert_uint_eq(octic_dataset_problem_count(ds), 4);
    octic_dataset_close(ds);

    /* a class named train beside others that hold images: class folders */
    const char *vehicles = pathf("%s/vehicles", tmp);
    write_file(pathf("%s/train/steam/1.jpg", vehicles), "", 0);
    write_file(pathf("%s/bus/2.jpg", vehicles), "", 0);
    ds = open_ok(vehicles, NULL);
    ck_assert_int_eq(octic_dataset_split_count(ds), 1);
    ck_assert_str_eq(octic_dataset_split_name(ds, 0), "all");
    ck_assert_int_eq(octic_dataset_class_count(ds), 2);
    ck_assert_str_eq(octic_dataset_class_name(ds, 1), "train");
    octic_dataset_close(ds);

    /* val/ alone: its classes */
    const char *vonly = pathf("%s/valonly", tmp);
    write_file(pathf("%s/val/b/1.jpg", vonly), "", 0);
    write_file(pathf("%s/val/a/2.jpg", vonly), "", 0);
    ds = open_ok(vonly, NULL);
    ck_assert_int_eq(octic_dataset_split_count(ds), 1);
    ck_assert_str_eq(octic_dataset_split_name(ds, 0), "val");
    ck_assert_int_eq(octic_dataset_class_count(ds), 2);
    assert_item(ds, 0, 0, pathf("%s/val/a/2.jpg", vonly), NULL, 0);
    assert_item(ds, 0, 1, pathf("%s/val/b/1.jpg", vonly), NULL, 1);
    octic_dataset_close(ds);
}
END_TEST

START_TEST(flat_folder_and_no_layout) {
    const char *root = pathf("%s/flat", tmp);
    write_file(pathf("%s/b.JPG", root), "", 0);
    write_file(pathf("%s/a.png", root), "", 0);
    write_file(pathf("%s/notes.md", root), "", 0);
    write_file(pathf("%s/.hidden", root), "", 0);
    octic_dataset *ds = open_ok(root, NULL);
    ck_assert_int_eq(octic_dataset_layout(ds), OCTIC_LAYOUT_FLAT);
    ck_assert_int_eq(octic_dataset_class_count(ds), 0);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 2);
    assert_item(ds, 0, 0, pathf("%s/a.png", root), NULL, -1);
    assert_item(ds, 0, 1, pathf("%s/b.JPG", root), NULL, -1);
    assert_problem(ds, pathf("%s/notes.md", root), "not an image file name");
    ck_assert_uint_eq(octic_dataset_problem_count(ds), 1);
    ck_assert_str_eq(octic_layout_name(octic_dataset_layout(ds)), "flat");
    octic_dataset_close(ds);

    const char *none = pathf("%s/none", tmp);
    write_file(pathf("%s/doc/readme.txt", none), "", 0);
    write_file(pathf("%s/train/x.txt", none), "", 0); /* a split folder without labels.txt */
    assert_error_says(octic_dataset_open(none, NULL, &ds), none, "not a data set: looked for ImageNet (labels.txt");
    const char *msg = octic_last_error();
    ck_assert_ptr_nonnull(strstr(msg, "ADEChallengeData2016"));
    ck_assert_ptr_nonnull(strstr(msg, "VOCdevkit/VOC2012"));
    ck_assert_ptr_nonnull(strstr(msg, "class subfolders"));
    assert_error_says(octic_dataset_open(pathf("%s/nowhere", tmp), NULL, &ds), "nowhere", "No such file");
    assert_error_says(octic_dataset_open(pathf("%s/a.png", root), NULL, &ds), "a.png", "not a folder");
}
END_TEST

/* ---- the loader ------------------------------------------------------------------ */

/* Runs a loader to the end; returns the delivered item indices (malloc'd) and
 * optionally a copy of all images. */
static size_t *run_loader(const octic_dataset *ds, const octic_loader_options *o, size_t *n, float **images,
                          size_t *skipped) {
    octic_loader *ld;
    octic_status st = octic_loader_open(ds, o, &ld);
    ck_assert_msg(st == OCTIC_OK, "%s", octic_last_error());
    size_t cap = octic_loader_item_count(ld) + 1, per = 3 * (size_t)o->size * (size_t)o->size;
    size_t *idx = malloc(cap * sizeof *idx);
    if (images) *images = malloc(cap * per * sizeof(float));
    *n = 0;
    octic_batch b;
    int last = 0;
    for (;;) {
        ck_assert_int_eq(octic_loader_next(ld, &b), OCTIC_OK);
        if (b.count == 0) break;
        ck_assert_msg(!last, "a short batch before the end");
        if (b.count < o->batch_size) last = 1;
        for (int i = 0; i < b.count; i++) {
            ck_assert_uint_lt(*n, cap);
            idx[*n] = b.indices[i];
            octic_dataset_item it;
            octic_dataset_get_item(ds, o->split, b.indices[i], &it);
            ck_assert_int_eq(b.labels[i], it.label);
            if (images) memcpy(*images + *n * per, b.images + (size_t)i * per, per * sizeof(float));
            (*n)++;
        }
    }
    ck_assert_int_eq(octic_loader_next(ld, &b), OCTIC_OK); /* still the end */
    ck_assert_int_eq(b.count, 0);
    if (skipped) *skipped = octic_loader_skipped(ld);
    octic_loader_stats stats;
    octic_loader_get_stats(ld, &stats);
    ck_assert_uint_eq(stats.delivered, *n);
    ck_assert_uint_eq(stats.delivered + stats.skipped, octic_loader_item_count(ld));
    octic_loader_close(ld);
    return idx;
}

START_TEST(loader_matches_preprocess_in_order) {
    octic_dataset *ds = open_ok(pathf("%s/imagenet", demo()), NULL);
    octic_loader_options o = octic_loader_defaults();
    o.split = 0;
    o.batch_size = 3;
    o.threads = 1;
    size_t n1, n3;
    float *im1, *im3;
    size_t *a = run_loader(ds, &o, &n1, &im1, NULL);
    o.threads = 3;
    o.batch_size = 2;
    o.queue_items = 2; /* workers wait for the consumer */
    size_t *b = run_loader(ds, &o, &n3, &im3, NULL);
    ck_assert_uint_eq(n1, 4);
    ck_assert_uint_eq(n3, 4);
    const size_t per = 3 * 224 * 224;
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(a[i], i);
        ck_assert_uint_eq(b[i], i);
        /* What octic_preprocess makes of the file, bit for bit. */
        octic_dataset_item it;
        octic_dataset_get_item(ds, 0, i, &it);
        octic_image img;
        ck_assert_int_eq(octic_image_load(it.image, &img), OCTIC_OK);
        float *want = malloc(per * sizeof(float));
        ck_assert_int_eq(octic_preprocess(&img, OCTIC_TRANSFORM_CLASSIFY, 224, 256, 1, want), OCTIC_OK);
        ck_assert_msg(memcmp(want, im1 + i * per, per * sizeof(float)) == 0, "item %zu differs", i);
        ck_assert_msg(memcmp(want, im3 + i * per, per * sizeof(float)) == 0, "item %zu differs (3 threads)", i);
        free(want);
        octic_image_free(&img);
    }
    free(a);
    free(b);
    free(im1);
    free(im3);
    octic_dataset_close(ds);
}
END_TEST

START_TEST(loader_segmentation_masks) {
    octic_dataset *ds = open_ok(pathf("%s/voc", demo()), NULL);
    octic_loader_options o = octic_loader_defaults();
    o.split = 0;
    o.batch_size = 4;
    o.transform = OCTIC_TRANSFORM_SEGMENT;
    octic_loader *ld;
    ck_assert_int_eq(octic_loader_open(ds, &o, &ld), OCTIC_OK);
    octic_batch b;
    ck_assert_int_eq(octic_loader_next(ld, &b), OCTIC_OK);
    ck_assert_int_eq(b.count, 2);
    ck_assert_ptr_nonnull(b.masks);
    /* The horse: labels 0, 13 and 255 only, all three present; the cat: 0, 8, 255. */
    int seen[2][256] = {{0}};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 224 * 224; i++) seen[k][b.masks[k * 224 * 224 + i]]++;
    for (int v = 0; v < 256; v++) {
        ck_assert_msg((seen[0][v] > 0) == (v == 0 || v == 13 || v == 255), "horse mask value %d seen %d times", v, seen[0][v]);
        ck_assert_msg((seen[1][v] > 0) == (v == 0 || v == 8 || v == 255), "cat mask value %d seen %d times", v, seen[1][v]);
    }
    /* The same as octic_preprocess_mask. */
    octic_dataset_item it;
    octic_dataset_get_item(ds, 0, 0, &it);
    octic_image m;
    ck_assert_int_eq(octic_mask_load(it.mask, &m), OCTIC_OK);
    uint8_t want[224 * 224];
    ck_assert_int_eq(octic_preprocess_mask(&m, 224, want), OCTIC_OK);
    ck_assert_int_eq(memcmp(want, b.masks, sizeof want), 0);
    octic_image_free(&m);
    octic_loader_close(ld);
    /* Masks need the segment transform. */
    o.transform = OCTIC_TRANSFORM_CLASSIFY;
    assert_error_says(octic_loader_open(ds, &o, &ld), "segment transform", NULL);
    o.masks = 0;
    ck_assert_int_eq(octic_loader_open(ds, &o, &ld), OCTIC_OK);
    ck_assert_int_eq(octic_loader_next(ld, &b), OCTIC_OK);
    ck_assert_ptr_null(b.masks);
    octic_loader_close(ld);
    octic_dataset_close(ds);
}
END_TEST

/* A flat or class folder of n tiny PNGs, in classes of `per_class`. */
static const char *tiny_set(const char *name, int n, int per_class) {
    const char *root = pathf("%s/%s", tmp, name);
    for (int i = 0; i < n; i++) {
        const char *p = per_class ? pathf("%s/c%02d/%03d.png", root, i / per_class, i) : pathf("%s/%03d.png", root, i);
        write_gray_image(p, 8, 6, i);
    }
    return root;
}

START_TEST(loader_subsets_and_shards) {
    octic_dataset *ds = open_ok(tiny_set("tiny", 40, 10), NULL);
    ck_assert_int_eq(octic_dataset_class_count(ds), 4);
    octic_loader_options o = octic_loader_defaults();
    o.size = 4;
    o.resize_to = 4;
    o.batch_size = 7;
    o.threads = 2;
    size_t n, *idx;

    o.subset = OCTIC_SUBSET_FIRST;
    o.subset_n = 12;
    idx = run_loader(ds, &o, &n, NULL, NULL);
    ck_assert_uint_eq(n, 12);
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(idx[i], i);
    free(idx);

    o.subset = OCTIC_SUBSET_PER_CLASS;
    o.subset_n = 2;
    idx = run_loader(ds, &o, &n, NULL, NULL);
    ck_assert_uint_eq(n, 8);
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(idx[i], (i / 2) * 10 + i % 2);
    free(idx);

    o.subset = OCTIC_SUBSET_RANDOM;
    o.subset_n = 15;
    o.seed = 7;
    size_t n2, n3, *again, *other;
    idx = run_loader(ds, &o, &n, NULL, NULL);
    o.threads = 5;
    again = run_loader(ds, &o, &n2, NULL, NULL);
    o.seed = 8;
    other = run_loader(ds, &o, &n3, NULL, NULL);
    ck_assert_uint_eq(n, 15);
    ck_assert_uint_eq(n3, 15);
    ck_assert_int_eq(memcmp(idx, again, n * sizeof *idx), 0);
    ck_assert_int_ne(memcmp(idx, other, n * sizeof *idx), 0);
    for (size_t i = 1; i < n; i++) ck_assert_uint_lt(idx[i - 1], idx[i]); /* distinct, in the set's order */
    free(again);
    free(other);

    /* Two passes over the subset: the same items again, in the same order. */
    o.seed = 7;
    o.epochs = 2;
    size_t n4, *twice = run_loader(ds, &o, &n4, NULL, NULL);
    ck_assert_uint_eq(n4, 30);
    for (size_t i = 0; i < 15; i++) {
        ck_assert_uint_eq(twice[i], idx[i]);
        ck_assert_uint_eq(twice[15 + i], idx[i]);
    }
    free(twice);
    o.epochs = 1;

    /* Three shards of that subset: disjoint, together the whole, strided. */
    o.seed = 7;
    int seen[40] = {0};
    size_t total = 0;
    for (int r = 0; r < 3; r++) {
        o.rank = r;
        o.world_size = 3;
        size_t m, *s = run_loader(ds, &o, &m, NULL, NULL);
        ck_assert_uint_eq(m, 5);
        for (size_t i = 0; i < m; i++) {
            ck_assert_uint_eq(s[i], idx[3 * i + (size_t)r]);
            seen[s[i]]++;
        }
        total += m;
        free(s);
    }
    ck_assert_uint_eq(total, 15);
    for (size_t i = 0; i < n; i++) ck_assert_int_eq(seen[idx[i]], 1);
    free(idx);

    /* More than there is: everything. */
    o.rank = 0;
    o.world_size = 1;
    o.subset_n = 1000;
    idx = run_loader(ds, &o, &n, NULL, NULL);
    ck_assert_uint_eq(n, 40);
    free(idx);

    /* Bad options. */
    octic_loader *ld;
    o.rank = 3;
    o.world_size = 3;
    assert_error_says(octic_loader_open(ds, &o, &ld), "rank 3 of world size 3", NULL);
    o.rank = 0;
    o.world_size = 1;
    o.split = 1;
    assert_error_says(octic_loader_open(ds, &o, &ld), "no split number 1", NULL);
    o.split = 0;
    o.batch_size = 0;
    assert_error_says(octic_loader_open(ds, &o, &ld), "batch size 0", NULL);
    octic_dataset_close(ds);

    ds = open_ok(tiny_set("tinyflat", 5, 0), NULL);
    o = octic_loader_defaults();
    o.subset = OCTIC_SUBSET_PER_CLASS;
    o.subset_n = 1;
    assert_error_says(octic_loader_open(ds, &o, &ld), "per class needs a set labelled by class", "flat");
    octic_dataset_close(ds);
}
END_TEST

START_TEST(loader_closes_early) {
    octic_dataset *ds = open_ok(tiny_set("early", 30, 0), NULL);
    octic_loader_options o = octic_loader_defaults();
    o.size = 4;
    o.resize_to = 4;
    o.batch_size = 2;
    o.threads = 4;
    o.queue_items = 3;
    octic_loader *ld;
    ck_assert_int_eq(octic_loader_open(ds, &o, &ld), OCTIC_OK);
    octic_batch b;
    ck_assert_int_eq(octic_loader_next(ld, &b), OCTIC_OK);
    ck_assert_int_eq(b.count, 2);
    /* Pixel values: the gray level of each file, normalized. */
    ck_assert_float_eq_tol(b.images[0], (0 / 255.f - octic_imagenet_mean[0]) / octic_imagenet_std[0], 1e-6);
    ck_assert_float_eq_tol(b.images[3 * 16], (1 / 255.f - octic_imagenet_mean[0]) / octic_imagenet_std[0], 1e-6);
    octic_loader_close(ld); /* workers blocked on a full queue must stop */
    octic_dataset_close(ds);
}
END_TEST

START_TEST(loader_skips_bad_files) {
    const char *root = pathf("%s/bad", tmp);
    const char *good1 = pathf("%s/a_good.jpg", root), *trunc = pathf("%s/b_truncated.jpg", root);
    const char *text = pathf("%s/c_text.JPEG", root), *empty = pathf("%s/d_empty.jpg", root);
    const char *good2 = pathf("%s/e_good.png", root);
    copy_file(photo("chelsea.jpg"), good1);
    copy_file(photo("truncated.jpg"), trunc);
    write_text(text, "this is not an image, whatever its name says\n");
    write_file(empty, "", 0);
    write_gray_image(good2, 20, 10, 128);
    octic_dataset *ds = open_ok(root, NULL);
    ck_assert_uint_eq(octic_dataset_item_count(ds, 0), 5);
    octic_loader_options o = octic_loader_defaults();
    o.batch_size = 2;
    o.threads = 3;
    octic_loader *ld;
    ck_assert_int_eq(octic_loader_open(ds, &o, &ld), OCTIC_OK);
    ck_assert_uint_eq(octic_loader_item_count(ld), 5);
    octic_batch b;
    size_t got = 0, batches = 0;
    size_t indices[5];
    while (octic_loader_next(ld, &b) == OCTIC_OK && b.count > 0) {
        for (int i = 0; i < b.count; i++) indices[got++] = b.indices[i];
        batches++;
    }
    /* The truncated JPEG, the text and the empty file are skipped with the
     * reason; the batches are full with the good ones. */
    ck_assert_uint_eq(got, 2);
    ck_assert_uint_eq(batches, 1);
    ck_assert_uint_eq(indices[0], 0);
    ck_assert_uint_eq(indices[1], 4);
    const char *want_path[] = {trunc, text, empty};
    const char *want_reason[] = {"truncated", "not a JPEG or PNG", "empty"};
    ck_assert_uint_eq(octic_loader_skipped(ld), 3);
    for (size_t k = 0; k < 3; k++) {
        size_t index;
        const char *p, *r;
        octic_loader_skipped_item(ld, k, &index, &p, &r);
        ck_assert_uint_eq(index, k + 1);
        ck_assert_str_eq(p, want_path[k]);
        ck_assert_msg(strstr(r, want_reason[k]) != NULL, "%s: reason '%s' does not say '%s'", p, r, want_reason[k]);
        ck_assert_msg(strstr(r, p) == NULL, "the reason repeats the path: %s", r);
    }
    octic_loader_close(ld);
    octic_dataset_close(ds);
}
END_TEST

START_TEST(loader_bad_masks) {
    const char *ade = pathf("%s/badmask/ADEChallengeData2016", tmp);
    const char *img = pathf("%s/images/training", ade), *ann = pathf("%s/annotations/training", ade);
    copy_file(photo("chelsea.jpg"), pathf("%s/a.jpg", img));
    write_mask(pathf("%s/a.png", ann), 451, 300, PNG_COLOR_TYPE_GRAY, 151);
    copy_file(photo("chelsea.jpg"), pathf("%s/b.jpg", img));
    write_mask(pathf("%s/b.png", ann), 450, 300, PNG_COLOR_TYPE_GRAY, 151); /* a column short */
    copy_file(photo("chelsea.jpg"), pathf("%s/c.jpg", img));
    copy_file(pathf("%s/images/mask_16bit.png", fixtures()), pathf("%s/c.png", ann));
    copy_file(photo("chelsea.jpg"), pathf("%s/d.jpg", img));
    write_mask(pathf("%s/d.png", ann), 451, 300, PNG_COLOR_TYPE_PALETTE, 21);
    octic_dataset *ds = open_ok(ade, NULL);
    octic_loader_options o = octic_loader_defaults();
    o.transform = OCTIC_TRANSFORM_SEGMENT;
    o.batch_size = 8;
    octic_loader *ld;
    ck_assert_int_eq(octic_loader_open(ds, &o, &ld), OCTIC_OK);
    octic_batch b;
    ck_assert_int_eq(octic_loader_next(ld, &b), OCTIC_OK);
    ck_assert_int_eq(b.count, 2);
    ck_assert_uint_eq(b.indices[0], 0);
    ck_assert_uint_eq(b.indices[1], 3);
    ck_assert_uint_eq(octic_loader_skipped(ld), 2);
    size_t index;
    const char *p, *r;
    octic_loader_skipped_item(ld, 0, &index, &p, &r);
    ck_assert_uint_eq(index, 1);
    ck_assert_str_eq(p, pathf("%s/b.png", ann));
    ck_assert_msg(strstr(r, "the mask is 450x300 but its image") && strstr(r, "is 451x300"), "%s", r);
    octic_loader_skipped_item(ld, 1, &index, &p, &r);
    ck_assert_uint_eq(index, 2);
    ck_assert_str_eq(p, pathf("%s/c.png", ann));
    ck_assert_msg(strstr(r, "16-bit") != NULL, "%s", r);
    octic_loader_close(ld);
    octic_dataset_close(ds);
}
END_TEST

static Suite *datasets_suite(void) {
    Suite *s = suite_create("datasets");
    TCase *tc = tcase_create("npy_records");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, npyrec_reads_numpy_records);
    tcase_add_test(tc, npyrec_writes_what_numpy_writes);
    tcase_add_test(tc, npyrec_rejects_what_it_cannot_read);
    suite_add_tcase(s, tc);

    tc = tcase_create("layouts");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, imagenet_extra_as_dinov2_writes_it);
    tcase_add_test(tc, imagenet_items_and_classes);
    tcase_add_test(tc, imagenet_demo_set);
    tcase_add_test(tc, imagenet_bad_names_and_missing_splits);
    tcase_add_test(tc, ade20k_layout);
    tcase_add_test(tc, voc_demo_set);
    tcase_add_test(tc, voc_split_lists);
    tcase_add_test(tc, class_folders_as_imagefolder);
    tcase_add_test(tc, split_folders_as_imagefolder_per_split);
    tcase_add_test(tc, flat_folder_and_no_layout);
    suite_add_tcase(s, tc);

    tc = tcase_create("loader");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, loader_matches_preprocess_in_order);
    tcase_add_test(tc, loader_segmentation_masks);
    tcase_add_test(tc, loader_subsets_and_shards);
    tcase_add_test(tc, loader_closes_early);
    tcase_add_test(tc, loader_skips_bad_files);
    tcase_add_test(tc, loader_bad_masks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(datasets_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
