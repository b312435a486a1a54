/* Decoding and preprocessing (datasets/image.h) against PIL.
 *
 * The fixtures in tests/fixtures/images/ are written by
 * tests/fixtures/make_image_fixtures.py with Debian's python3-pil: the demo
 * photos, what the reference pipeline (PIL + torchvision's transforms) makes
 * of each, and small decoding and mask cases with PIL's decode. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image.h"

static const char *fixtures(void) {
    const char *d = getenv("OCTIC_FIXTURES_DIR");
    return d && *d ? d : "tests/fixtures";
}

static const char *fx(char *buf, size_t len, const char *file) {
    snprintf(buf, len, "%s/images/%s", fixtures(), file);
    return buf;
}

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
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

static void write_all(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static char tmpdir[256];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "%s/octic-image-test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The error message names the file and contains `reason`. */
static void assert_error(octic_status st, const char *path, const char *reason) {
    ck_assert_int_ne(st, OCTIC_OK);
    const char *msg = octic_last_error();
    ck_assert_msg(strstr(msg, path) != NULL, "message does not name %s: %s", path, msg);
    ck_assert_msg(strstr(msg, reason) != NULL, "message does not say '%s': %s", reason, msg);
    ck_assert_msg(strchr(msg, '\n') == NULL, "message is not one line: %s", msg);
}

/* ---- decoding: every kind against PIL's decode --------------------------- */

static const char *small_cases[] = {
    "small.png",         "small_rgba.png",        "small_gray.png",        "small_gray_alpha.png",
    "small_palette.png", "small_palette_trns.png", "small_interlaced.png", "small_progressive.jpg",
    "small_444.jpg",     "small_gray.jpg",        "small_ycck.jpg",
};
enum { N_SMALL = sizeof small_cases / sizeof small_cases[0], SMALL_W = 40, SMALL_H = 30 };

START_TEST(decode_matches_pil) {
    const char *name = small_cases[_i];
    char path[512], expected_path[512];
    snprintf(expected_path, sizeof expected_path, "%s/images/%s.rgb", fixtures(), name);
    size_t n;
    uint8_t *expected = read_all(expected_path, &n);
    ck_assert_uint_eq(n, SMALL_W * SMALL_H * 3);
    octic_image img;
    ck_assert_msg(octic_image_load(fx(path, sizeof path, name), &img) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_int_eq(img.width, SMALL_W);
    ck_assert_int_eq(img.height, SMALL_H);
    ck_assert_int_eq(img.channels, 3);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) differ += img.pixels[i] != expected[i];
    ck_assert_msg(differ == 0, "%s: %zu of %zu values differ from PIL's decode", name, differ, n);
    if (strstr(name, "gray"))
        for (size_t i = 0; i < n; i += 3)
            ck_assert(img.pixels[i] == img.pixels[i + 1] && img.pixels[i] == img.pixels[i + 2]);
    octic_image_free(&img);
    free(expected);
}
END_TEST

START_TEST(decode_from_memory_and_by_content) {
    /* the same bytes through memory, and a PNG named .jpg: content decides */
    char path[512];
    size_t n;
    uint8_t *png = read_all(fx(path, sizeof path, "small.png"), &n);
    octic_image a, b, c;
    ck_assert_int_eq(octic_image_load(path, &a), OCTIC_OK);
    ck_assert_int_eq(octic_image_load_memory(png, n, "mem.png", &b), OCTIC_OK);
    make_tmpdir();
    char renamed[512];
    snprintf(renamed, sizeof renamed, "%s/actually_a_png.jpg", tmpdir);
    write_all(renamed, png, n);
    ck_assert_msg(octic_image_load(renamed, &c) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_int_eq(memcmp(a.pixels, b.pixels, SMALL_W * SMALL_H * 3), 0);
    ck_assert_int_eq(memcmp(a.pixels, c.pixels, SMALL_W * SMALL_H * 3), 0);
    ck_assert_int_eq(octic_image_detect(png, n), OCTIC_IMAGE_PNG);
    ck_assert_int_eq(octic_image_detect(png, 7), OCTIC_IMAGE_UNKNOWN);
    const uint8_t jpeg_start[] = {0xff, 0xd8, 0xff, 0xe0};
    ck_assert_int_eq(octic_image_detect(jpeg_start, 4), OCTIC_IMAGE_JPEG);
    octic_image_free(&a), octic_image_free(&b), octic_image_free(&c);
    free(png);
    remove_tmpdir();
}
END_TEST

static const struct {
    const char *name;
    int width, height, gray;
} photos[] = {
    {"astronaut", 512, 512, 0},  {"brick_gray", 512, 512, 1},
    {"chelsea", 451, 300, 0},    {"coffee", 600, 400, 0},
    {"coffee_cmyk", 600, 400, 0}, {"gravel_gray", 512, 512, 1},
    {"hubble_deep_field", 1000, 872, 0}, {"immunohistochemistry", 512, 512, 0},
    {"retina", 1411, 1411, 0},   {"rocket", 640, 427, 0},
};
enum { N_PHOTOS = sizeof photos / sizeof photos[0] };

START_TEST(decode_demo_photos) {
    char path[512], file[128];
    snprintf(file, sizeof file, "%s.jpg", photos[_i].name);
    octic_image img;
    ck_assert_msg(octic_image_load(fx(path, sizeof path, file), &img) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_int_eq(img.width, photos[_i].width);
    ck_assert_int_eq(img.height, photos[_i].height);
    ck_assert_int_eq(img.channels, 3);
    size_t n = (size_t)img.width * img.height, colored = 0;
    for (size_t i = 0; i < n; i++)
        colored += img.pixels[3 * i] != img.pixels[3 * i + 1] || img.pixels[3 * i] != img.pixels[3 * i + 2];
    if (photos[_i].gray)
        ck_assert_uint_eq(colored, 0);
    else
        ck_assert_uint_gt(colored, n / 10);
    octic_image_free(&img);
}
END_TEST

START_TEST(cmyk_close_to_rgb_original) {
    /* coffee_cmyk.jpg is coffee.jpg stored as CMYK: after PIL's conversion
     * both are the same photo up to the two JPEG encodings and the color
     * conversion (a polarity or channel mix-up is off by ~100) */
    char p1[512], p2[512];
    octic_image rgb, cmyk;
    ck_assert_int_eq(octic_image_load(fx(p1, sizeof p1, "coffee.jpg"), &rgb), OCTIC_OK);
    ck_assert_int_eq(octic_image_load(fx(p2, sizeof p2, "coffee_cmyk.jpg"), &cmyk), OCTIC_OK);
    size_t n = (size_t)rgb.width * rgb.height * 3;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += fabs((double)rgb.pixels[i] - cmyk.pixels[i]);
    ck_assert_msg(sum / n < 8.0, "mean |RGB - CMYK->RGB| = %.2f", sum / n);
    octic_image_free(&rgb), octic_image_free(&cmyk);
}
END_TEST

/* ---- preprocessing against PIL -------------------------------------------- */

/* |ours - PIL| over [3, S, S] float in [0,1] vs S x S x 3 bytes. */
static void compare_to_pil(const float *ours, const octic_image *pil, double *mean, double *max) {
    int S = pil->width;
    size_t n = (size_t)S * S;
    double sum = 0, mx = 0;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)ours[c * n + i] - pil->pixels[3 * i + c] / 255.0);
            sum += d;
            if (d > mx) mx = d;
        }
    *mean = sum / (3.0 * n), *max = mx;
}

static void check_transform(const char *image, const char *expected, octic_transform t, int size) {
    char p1[512], p2[512];
    octic_image img, pil;
    ck_assert_msg(octic_image_load(fx(p1, sizeof p1, image), &img) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_msg(octic_image_load(fx(p2, sizeof p2, expected), &pil) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_int_eq(pil.width, size);
    ck_assert_int_eq(pil.height, size);
    float *x = malloc(sizeof(float) * 3 * size * size), *xn = malloc(sizeof(float) * 3 * size * size);
    ck_assert_msg(octic_preprocess(&img, t, size, 256, 0, x) == OCTIC_OK, "%s", octic_last_error());
    double mean, max;
    compare_to_pil(x, &pil, &mean, &max);
    printf("%-28s %s %d: mean |diff| %.4f/255, max %.1f/255\n", image,
           t == OCTIC_TRANSFORM_CLASSIFY ? "classify" : "segment", size, mean * 255, max * 255);
    ck_assert_msg(mean <= 0.5 / 255 && max <= 2.0 / 255, "%s: mean %.4f/255, max %.1f/255 vs PIL", image,
                  mean * 255, max * 255);
    /* normalized: (x - mean) / std per channel, as torchvision's Normalize */
    ck_assert_int_eq(octic_preprocess(&img, t, size, 256, 1, xn), OCTIC_OK);
    size_t n = (size_t)size * size;
    for (int c = 0; c < 3; c++)
        for (size_t i = 0; i < n; i += 97) {
            float want = (x[c * n + i] - octic_imagenet_mean[c]) / octic_imagenet_std[c];
            ck_assert_float_eq_tol(xn[c * n + i], want, 1e-6f);
        }
    free(x), free(xn);
    octic_image_free(&img), octic_image_free(&pil);
}

START_TEST(classify_transform_matches_pil) {
    char image[128], expected[128];
    snprintf(image, sizeof image, "%s.jpg", photos[_i].name);
    snprintf(expected, sizeof expected, "%s.classify.png", photos[_i].name);
    check_transform(image, expected, OCTIC_TRANSFORM_CLASSIFY, 224);
}
END_TEST

START_TEST(segment_transform_matches_pil) {
    check_transform("rocket.jpg", "rocket.segment.png", OCTIC_TRANSFORM_SEGMENT, 224); /* shrinking */
    check_transform("small.png", "small.segment112.png", OCTIC_TRANSFORM_SEGMENT, 112); /* enlarging */
}
END_TEST

START_TEST(center_crop_rounds_half_to_even) {
    /* 256 x 417: the shorter side is already 256, so no resize; the crop
     * starts at round((417 - 224) / 2) = round(96.5) = 96 (Python's round),
     * not 97. Rows hold their index. */
    octic_image img = {256, 417, 3, malloc(256 * 417 * 3)};
    for (int y = 0; y < 417; y++) memset(img.pixels + (size_t)y * 256 * 3, y % 256, 256 * 3);
    octic_image crop;
    ck_assert_int_eq(octic_preprocess_rgb(&img, OCTIC_TRANSFORM_CLASSIFY, 224, 256, &crop), OCTIC_OK);
    ck_assert_int_eq(crop.pixels[0], 96);
    ck_assert_int_eq(crop.pixels[(size_t)223 * 224 * 3], (96 + 223) % 256);
    octic_image_free(&crop);
    /* a crop larger than the image pads with zeros, as torchvision does */
    ck_assert_int_eq(octic_preprocess_rgb(&img, OCTIC_TRANSFORM_CLASSIFY, 300, 256, &crop), OCTIC_OK);
    ck_assert_int_eq(crop.pixels[0], 0);                       /* padding: (300 - 256) / 2 = 22 columns */
    ck_assert_int_eq(crop.pixels[(size_t)21 * 3], 0);
    ck_assert_int_eq(crop.pixels[(size_t)22 * 3], 58); /* row round(58.5) = 58 */
    octic_image_free(&crop);
    octic_image_free(&img);
}
END_TEST

START_TEST(preprocess_rejects_bad_arguments) {
    octic_image gray = {8, 8, 1, calloc(64, 1)};
    float out[3 * 4 * 4];
    ck_assert_int_eq(octic_preprocess(&gray, OCTIC_TRANSFORM_CLASSIFY, 4, 8, 0, out), OCTIC_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(octic_last_error(), "RGB"));
    octic_image rgb = {8, 8, 3, calloc(192, 1)};
    ck_assert_int_eq(octic_preprocess(&rgb, OCTIC_TRANSFORM_CLASSIFY, 0, 8, 0, out), OCTIC_ERR_ARG);
    ck_assert_int_eq(octic_preprocess(&rgb, OCTIC_TRANSFORM_CLASSIFY, 4, 0, 0, out), OCTIC_ERR_ARG);
    ck_assert_int_eq(octic_preprocess(&rgb, (octic_transform)7, 4, 8, 0, out), OCTIC_ERR_ARG);
    uint8_t labels[16];
    ck_assert_int_eq(octic_preprocess_mask(&rgb, 4, labels), OCTIC_ERR_ARG);
    octic_image_free(&gray), octic_image_free(&rgb);
}
END_TEST

/* ---- masks --------------------------------------------------------------- */

static void check_mask(const char *file, const char *labels_file, int expect_255) {
    char path[512], lpath[512];
    size_t n;
    uint8_t *expected = read_all(fx(lpath, sizeof lpath, labels_file), &n);
    octic_image m;
    ck_assert_msg(octic_mask_load(fx(path, sizeof path, file), &m) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_int_eq(m.channels, 1);
    ck_assert_uint_eq((size_t)m.width * m.height, n);
    ck_assert_int_eq(memcmp(m.pixels, expected, n), 0);
    int has_255 = 0;
    for (size_t i = 0; i < n; i++) has_255 |= m.pixels[i] == 255;
    ck_assert_int_eq(has_255, expect_255);
    octic_image_free(&m);
    free(expected);
}

START_TEST(masks_read_as_labels) {
    check_mask("mask_voc.png", "mask_voc.labels", 1); /* palette: indices, 255 kept */
    check_mask("mask_4bit.png", "mask_4bit.labels", 0);
    check_mask("mask_ade.png", "mask_ade.labels", 0); /* 8-bit grayscale */
}
END_TEST

START_TEST(masks_of_other_kinds_are_refused) {
    char path[512];
    octic_image m;
    assert_error(octic_mask_load(fx(path, sizeof path, "mask_rgb.png"), &m), path, "8-bit RGB");
    ck_assert_ptr_null(m.pixels);
    assert_error(octic_mask_load(fx(path, sizeof path, "mask_16bit.png"), &m), path, "16-bit grayscale");
    assert_error(octic_mask_load(fx(path, sizeof path, "chelsea.jpg"), &m), path, "JPEG");
    /* the same files are fine as images */
    ck_assert_int_eq(octic_image_load(fx(path, sizeof path, "mask_16bit.png"), &m), OCTIC_OK);
    octic_image_free(&m);
}
END_TEST

START_TEST(mask_nearest_resize_matches_pil) {
    char p1[512], p2[512];
    octic_image m, pil;
    ck_assert_int_eq(octic_mask_load(fx(p1, sizeof p1, "horse_mask.png"), &m), OCTIC_OK);
    ck_assert_int_eq(octic_mask_load(fx(p2, sizeof p2, "horse_mask.nearest.png"), &pil), OCTIC_OK);
    ck_assert_int_eq(m.width, 400);
    ck_assert_int_eq(m.height, 328);
    uint8_t out[224 * 224];
    ck_assert_int_eq(octic_preprocess_mask(&m, 224, out), OCTIC_OK);
    size_t differ = 0, horse = 0;
    for (size_t i = 0; i < sizeof out; i++) differ += out[i] != pil.pixels[i], horse += out[i] == 1;
    ck_assert_msg(differ == 0, "%zu labels differ from PIL's nearest resize", differ);
    ck_assert_uint_gt(horse, 1000);
    octic_image_free(&m), octic_image_free(&pil);
}
END_TEST

/* ---- bad input ------------------------------------------------------------- */

START_TEST(truncated_jpeg) {
    char path[512];
    octic_image img;
    assert_error(octic_image_load(fx(path, sizeof path, "truncated.jpg"), &img), path, "truncated");
    ck_assert_ptr_null(img.pixels);
    assert_error(octic_image_thumbnail(path, 64, &img), path, "truncated");
    /* a photo cut inside its image data: libjpeg's premature end */
    size_t n;
    uint8_t *jpg = read_all(fx(path, sizeof path, "coffee.jpg"), &n);
    assert_error(octic_image_load_memory(jpg, n / 2, "half.jpg", &img), "half.jpg", "truncated");
    /* cut in its header, before the frame gives the size: truncated too (it
     * was "a JPEG of 0 x 0 pixels") */
    for (size_t cut = 20; cut < 400 && cut < n; cut += 20)
        assert_error(octic_image_load_memory(jpg, cut, "head.jpg", &img), "head.jpg", "truncated JPEG");
    free(jpg);
}
END_TEST

START_TEST(empty_and_non_image_files) {
    make_tmpdir();
    char path[512];
    octic_image img;
    snprintf(path, sizeof path, "%s/empty.jpg", tmpdir);
    write_all(path, "", 0);
    assert_error(octic_image_load(path, &img), path, "empty file");
    assert_error(octic_mask_load(path, &img), path, "empty file");
    snprintf(path, sizeof path, "%s/n01440764_1.JPEG", tmpdir);
    const char text[] = "<html><body>404 Not Found</body></html>\n";
    write_all(path, text, sizeof text - 1);
    assert_error(octic_image_load(path, &img), path, "not a JPEG or PNG");
    assert_error(octic_image_thumbnail(path, 64, &img), path, "not a JPEG or PNG");
    snprintf(path, sizeof path, "%s/missing.jpg", tmpdir);
    ck_assert_int_eq(octic_image_load(path, &img), OCTIC_ERR_IO);
    assert_error(OCTIC_ERR_IO, path, "cannot open");
    assert_error(octic_image_load(tmpdir, &img), tmpdir, "not a regular file");
    remove_tmpdir();
}
END_TEST

START_TEST(corrupt_data) {
    char path[512];
    size_t n;
    octic_image img;
    uint8_t *png = read_all(fx(path, sizeof path, "small.png"), &n);
    /* a flipped byte inside IDAT: the chunk's CRC no longer matches */
    png[n - 30] ^= 0x55;
    assert_error(octic_image_load_memory(png, n, "flipped.png", &img), "flipped.png", "corrupt PNG");
    png[n - 30] ^= 0x55;
    /* an IHDR claiming a width of 0 */
    memset(png + 16, 0, 4);
    assert_error(octic_image_load_memory(png, n, "zero.png", &img), "zero.png", "PNG");
    free(png);
    uint8_t *jpg = read_all(fx(path, sizeof path, "small_444.jpg"), &n);
    /* SOF0's width set to 0 */
    for (size_t i = 2; i + 9 < n; i++)
        if (jpg[i] == 0xff && jpg[i + 1] == 0xc0) {
            jpg[i + 7] = jpg[i + 8] = 0;
            break;
        }
    assert_error(octic_image_load_memory(jpg, n, "sof.jpg", &img), "sof.jpg", "JPEG");
    free(jpg);
    const uint8_t junk[] = {0xff, 0xd8, 0xff, 0x00, 0x12, 0x34, 0x56};
    assert_error(octic_image_load_memory(junk, sizeof junk, "junk.jpg", &img), "junk.jpg", "JPEG");
}
END_TEST

START_TEST(every_prefix_fails_cleanly) {
    /* each cut of a JPEG (progressive and baseline) and of PNGs either decodes
     * or fails with a message naming the file; none crashes */
    static const char *files[] = {"small_progressive.jpg", "small_444.jpg", "small_interlaced.png",
                                  "small_palette.png", "mask_voc.png"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[512];
        size_t n;
        uint8_t *buf = read_all(fx(path, sizeof path, files[f]), &n);
        for (size_t len = 0; len < n; len++) {
            octic_image img;
            int mask = strncmp(files[f], "mask", 4) == 0;
            octic_status st = mask ? octic_mask_load_memory(buf, len, "cut", &img)
                                   : octic_image_load_memory(buf, len, "cut", &img);
            if (st == OCTIC_OK) {
                ck_assert_ptr_nonnull(img.pixels);
                octic_image_free(&img);
            } else {
                ck_assert_ptr_null(img.pixels);
                ck_assert_msg(strncmp(octic_last_error(), "cut: ", 5) == 0, "%s", octic_last_error());
            }
        }
        /* cut anywhere before the end, a PNG and a JPEG are refused */
        octic_image img;
        ck_assert_int_ne(octic_image_load_memory(buf, n - 1 - n / 3, "cut", &img), OCTIC_OK);
        free(buf);
    }
}
END_TEST

START_TEST(oversized_header_refused) {
    char path[512];
    size_t n;
    uint8_t *png = read_all(fx(path, sizeof path, "small.png"), &n);
    octic_image img;
    octic_image_set_max_pixels(40 * 29);
    assert_error(octic_image_load_memory(png, n, "big.png", &img), "big.png", "more than");
    octic_image_set_max_pixels(0);
    ck_assert_int_eq(octic_image_load_memory(png, n, "big.png", &img), OCTIC_OK);
    octic_image_free(&img);
    free(png);
}
END_TEST

/* ---- thumbnails ------------------------------------------------------------ */

static double mean_abs_diff(const octic_image *a, const octic_image *b) {
    size_t n = (size_t)a->width * a->height * a->channels;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += fabs((double)a->pixels[i] - b->pixels[i]);
    return s / n;
}

START_TEST(thumbnails) {
    char path[512];
    octic_image full, thumb, ref;
    /* 1411 x 1411 to at most 256: DCT scaling at 1/8 gives 177 */
    ck_assert_int_eq(octic_image_load(fx(path, sizeof path, "retina.jpg"), &full), OCTIC_OK);
    ck_assert_msg(octic_image_thumbnail(path, 256, &thumb) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_int_eq(thumb.width, 177);
    ck_assert_int_eq(thumb.height, 177);
    ck_assert_int_eq(octic_image_resize(&full, 177, 177, OCTIC_RESAMPLE_BICUBIC, &ref), OCTIC_OK);
    double d = mean_abs_diff(&thumb, &ref);
    ck_assert_msg(d < 3.0, "thumbnail vs bicubic reduction: mean |diff| %.2f", d);
    octic_image_free(&thumb), octic_image_free(&ref);
    /* to at most 100: 1/8 is still too large, the rest is a bicubic reduction */
    ck_assert_int_eq(octic_image_thumbnail(path, 100, &thumb), OCTIC_OK);
    ck_assert_int_eq(thumb.width, 100);
    ck_assert_int_eq(thumb.height, 100);
    octic_image_free(&thumb), octic_image_free(&full);
    /* 640 x 427 to at most 400: 5/8 (400 x 267) */
    ck_assert_int_eq(octic_image_thumbnail(fx(path, sizeof path, "rocket.jpg"), 400, &thumb), OCTIC_OK);
    ck_assert_int_eq(thumb.width, 400);
    ck_assert_int_eq(thumb.height, 267);
    octic_image_free(&thumb);
    /* the CMYK photo through DCT scaling still gets PIL's conversion */
    ck_assert_int_eq(octic_image_thumbnail(fx(path, sizeof path, "coffee_cmyk.jpg"), 150, &thumb), OCTIC_OK);
    ck_assert_int_eq(octic_image_thumbnail(fx(path, sizeof path, "coffee.jpg"), 150, &ref), OCTIC_OK);
    ck_assert_int_eq(thumb.width, 150);
    ck_assert_int_eq(ref.height, 100);
    ck_assert_msg(mean_abs_diff(&thumb, &ref) < 8.0, "%.2f", mean_abs_diff(&thumb, &ref));
    octic_image_free(&thumb), octic_image_free(&ref);
    /* smaller than asked: the image itself */
    ck_assert_int_eq(octic_image_thumbnail(fx(path, sizeof path, "small_444.jpg"), 64, &thumb), OCTIC_OK);
    ck_assert_int_eq(octic_image_load(path, &full), OCTIC_OK);
    ck_assert_int_eq(thumb.width, SMALL_W);
    ck_assert_int_eq(memcmp(thumb.pixels, full.pixels, SMALL_W * SMALL_H * 3), 0);
    octic_image_free(&thumb), octic_image_free(&full);
    /* a PNG is decoded, then reduced */
    ck_assert_int_eq(octic_image_thumbnail(fx(path, sizeof path, "small.png"), 20, &thumb), OCTIC_OK);
    ck_assert_int_eq(thumb.width, 20);
    ck_assert_int_eq(thumb.height, 15);
    octic_image_free(&thumb);
    ck_assert_int_eq(octic_image_thumbnail(path, 0, &thumb), OCTIC_ERR_ARG);
}
END_TEST

static Suite *image_suite(void) {
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("decode");
    tcase_add_loop_test(tc, decode_matches_pil, 0, N_SMALL);
    tcase_add_test(tc, decode_from_memory_and_by_content);
    tcase_add_loop_test(tc, decode_demo_photos, 0, N_PHOTOS);
    tcase_add_test(tc, cmyk_close_to_rgb_original);
    suite_add_tcase(s, tc);
    tc = tcase_create("preprocess");
    tcase_add_loop_test(tc, classify_transform_matches_pil, 0, N_PHOTOS);
    tcase_add_test(tc, segment_transform_matches_pil);
    tcase_add_test(tc, center_crop_rounds_half_to_even);
    tcase_add_test(tc, preprocess_rejects_bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("masks");
    tcase_add_test(tc, masks_read_as_labels);
    tcase_add_test(tc, masks_of_other_kinds_are_refused);
    tcase_add_test(tc, mask_nearest_resize_matches_pil);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad input");
    tcase_add_test(tc, truncated_jpeg);
    tcase_add_test(tc, empty_and_non_image_files);
    tcase_add_test(tc, corrupt_data);
    tcase_add_test(tc, every_prefix_fails_cleanly);
    tcase_add_test(tc, oversized_header_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("thumbnails");
    tcase_add_test(tc, thumbnails);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(image_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
