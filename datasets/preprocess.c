/* Preprocessing as the reference does it: torchvision's transforms on a PIL
 * image, whose resize is PIL's (Pillow's Resample.c for bicubic, its affine
 * scale for nearest).
 *
 * PIL's bicubic resize is separable: a horizontal pass, then a vertical one.
 * Each output sample is a convolution with the bicubic kernel (a = -0.5),
 * whose support is stretched by the scale when shrinking (antialiasing).
 * The weights are normalized to sum 1 in double, then turned into 22-bit
 * fixed point; each pass rounds its result to 8 bits. We reproduce that
 * arithmetic, so the results equal PIL's, and compute only the outputs a
 * crop keeps (each output depends on its own weights only). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

const float octic_imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
const float octic_imagenet_std[3] = {0.229f, 0.224f, 0.225f};

enum { PRECISION_BITS = 32 - 8 - 2 }; /* PIL's: room for 8 bits and an overshoot */

static double bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* Support of the stretched kernel for in_size -> out_size, and the number of
 * weights per output (PIL's ksize). */
static int kernel_size(int in_size, int out_size, double *support, double *scale, double *filterscale) {
    *scale = *filterscale = (double)(float)in_size / out_size;
    if (*filterscale < 1.0) *filterscale = 1.0;
    *support = 2.0 * *filterscale;
    return (int)ceil(*support) * 2 + 1;
}

/* Weights of outputs o0 .. o0+n-1 of a resize from in_size (scale and
 * support from kernel_size):
 * first[i] (first input index), count[i], k[i * ksize + j] (22-bit fixed point). */
static void bicubic_weights(int in_size, int o0, int n, int ksize, double support,
                            double scale, double filterscale, int *first, int *count, int32_t *k) {
    double ss = 1.0 / filterscale;
    for (int i = 0; i < n; i++) {
        int xx = o0 + i;
        double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double ww = 0.0; /* the sum first, then each weight again (no buffer) */
        for (int x = 0; x < xmax; x++) ww += bicubic((x + xmin - center + 0.5) * ss);
        int32_t *kk = k + (size_t)i * ksize;
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax ? bicubic((x + xmin - center + 0.5) * ss) : 0.0;
            if (ww != 0.0) v /= ww;
            kk[x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                          : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        first[i] = xmin;
        count[i] = xmax;
    }
}

static inline uint8_t clip8(int32_t v) {
    v >>= PRECISION_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* out[rows][n][C] = horizontal pass over in[rows][iw][C] with n sets of
 * weights. RGB, the common case, keeps its three sums in registers. */
static void horizontal_pass(uint8_t *out, const uint8_t *in, int rows, int iw, int C, int n, int ksize,
                            const int *first, const int *count, const int32_t *k) {
    const int32_t half = 1 << (PRECISION_BITS - 1);
    for (int y = 0; y < rows; y++) {
        const uint8_t *row = in + (size_t)y * iw * C;
        uint8_t *o = out + (size_t)y * n * C;
        if (C == 3) {
            for (int i = 0; i < n; i++) {
                const int32_t *kk = k + (size_t)i * ksize;
                const uint8_t *p = row + (size_t)first[i] * 3;
                int32_t s0 = half, s1 = half, s2 = half;
                for (int x = 0; x < count[i]; x++) {
                    s0 += p[3 * x] * kk[x];
                    s1 += p[3 * x + 1] * kk[x];
                    s2 += p[3 * x + 2] * kk[x];
                }
                o[3 * i] = clip8(s0), o[3 * i + 1] = clip8(s1), o[3 * i + 2] = clip8(s2);
            }
            continue;
        }
        for (int i = 0; i < n; i++) {
            const int32_t *kk = k + (size_t)i * ksize;
            const uint8_t *p = row + (size_t)first[i] * C;
            for (int c = 0; c < C; c++) {
                int32_t s0 = half;
                for (int x = 0; x < count[i]; x++) s0 += p[x * C + c] * kk[x];
                o[i * C + c] = clip8(s0);
            }
        }
    }
}

/* out[n][width][C] = vertical pass over in[*][width][C] (rows from first[i]) */
static void vertical_pass(uint8_t *out, const uint8_t *in, int width, int C, int n, int ksize,
                          const int *first, const int *count, const int32_t *k) {
    size_t stride = (size_t)width * C;
    int32_t *acc = malloc(stride * sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        const int32_t *kk = k + (size_t)i * ksize;
        if (!acc) { /* same sums, column by column */
            for (size_t j = 0; j < stride; j++) {
                int32_t s = 1 << (PRECISION_BITS - 1);
                for (int y = 0; y < count[i]; y++) s += in[(size_t)(first[i] + y) * stride + j] * kk[y];
                out[(size_t)i * stride + j] = clip8(s);
            }
            continue;
        }
        for (size_t j = 0; j < stride; j++) acc[j] = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < count[i]; y++) {
            const uint8_t *row = in + (size_t)(first[i] + y) * stride;
            int32_t w = kk[y];
            for (size_t j = 0; j < stride; j++) acc[j] += row[j] * w;
        }
        for (size_t j = 0; j < stride; j++) out[(size_t)i * stride + j] = clip8(acc[j]);
    }
    free(acc);
}

/* The window [x0, x0+cw) x [y0, y0+ch) of PIL's bicubic resize of
 * in[ih][iw][C] to ow x oh, into out[ch][cw][C]. PIL skips a pass whose size
 * does not change (it would be the identity anyway). */
static octic_status resize_bicubic_window(uint8_t *out, const uint8_t *in, int iw, int ih, int C,
                                          int ow, int oh, int x0, int y0, int cw, int ch) {
    double hs, hscale, hfs, vs, vscale, vfs;
    int hk = kernel_size(iw, ow, &hs, &hscale, &hfs);
    int vk = kernel_size(ih, oh, &vs, &vscale, &vfs);
    int need_h = ow != iw, need_v = oh != ih;
    /* one allocation: weights and bounds of both passes */
    size_t bytes = (size_t)cw * (hk * sizeof(int32_t) + 2 * sizeof(int)) +
                   (size_t)ch * (vk * sizeof(int32_t) + 2 * sizeof(int));
    char *mem = malloc(bytes);
    if (!mem) return octic_fail(OCTIC_ERR_NOMEM, "out of memory resizing a %d x %d image", iw, ih);
    int32_t *hw = (int32_t *)mem, *vw = hw + (size_t)cw * hk;
    int *hfirst = (int *)(vw + (size_t)ch * vk), *hcount = hfirst + cw;
    int *vfirst = hcount + cw, *vcount = vfirst + ch;
    /* the input rows the kept output rows need */
    int r0 = y0, r1 = y0 + ch;
    if (need_v) {
        bicubic_weights(ih, y0, ch, vk, vs, vscale, vfs, vfirst, vcount, vw);
        r0 = vfirst[0], r1 = vfirst[ch - 1] + vcount[ch - 1];
        for (int i = 0; i < ch; i++) vfirst[i] -= r0;
    }
    uint8_t *tmp = NULL;
    const uint8_t *mid; /* [r1 - r0][cw][C] */
    if (need_h) {
        bicubic_weights(iw, x0, cw, hk, hs, hscale, hfs, hfirst, hcount, hw);
        uint8_t *dst = need_v ? (tmp = malloc((size_t)(r1 - r0) * cw * C)) : out;
        if (!dst) {
            free(mem);
            return octic_fail(OCTIC_ERR_NOMEM, "out of memory resizing a %d x %d image", iw, ih);
        }
        horizontal_pass(dst, in + (size_t)r0 * iw * C, r1 - r0, iw, C, cw, hk, hfirst, hcount, hw);
        mid = dst;
    } else {
        if (!(tmp = malloc((size_t)(r1 - r0) * cw * C))) {
            free(mem);
            return octic_fail(OCTIC_ERR_NOMEM, "out of memory resizing a %d x %d image", iw, ih);
        }
        for (int y = r0; y < r1; y++)
            memcpy(tmp + (size_t)(y - r0) * cw * C, in + ((size_t)y * iw + x0) * C, (size_t)cw * C);
        mid = tmp;
        if (!need_v) memcpy(out, tmp, (size_t)ch * cw * C);
    }
    if (need_v) vertical_pass(out, mid, cw, C, ch, vk, vfirst, vcount, vw);
    free(tmp);
    free(mem);
    return OCTIC_OK;
}

/* PIL's nearest resize (an affine scale): source index of output i is
 * floor(scale * 0.5 + i * scale), the position accumulated in double. */
static void nearest_indices(int in_size, int out_size, int *idx) {
    double scale = (double)(float)in_size / out_size, pos = scale * 0.5;
    for (int i = 0; i < out_size; i++) {
        int v = pos < 0.0 ? -1 : (int)pos;
        idx[i] = v < 0 ? 0 : v >= in_size ? in_size - 1 : v;
        pos += scale;
    }
}

static octic_status resize_nearest(uint8_t *out, const uint8_t *in, int iw, int ih, int C, int ow,
                                   int oh) {
    int *idx = malloc(sizeof(int) * ((size_t)ow + oh));
    if (!idx) return octic_fail(OCTIC_ERR_NOMEM, "out of memory resizing a %d x %d image", iw, ih);
    int *xi = idx, *yi = idx + ow;
    nearest_indices(iw, ow, xi);
    nearest_indices(ih, oh, yi);
    for (int y = 0; y < oh; y++) {
        const uint8_t *row = in + (size_t)yi[y] * iw * C;
        uint8_t *o = out + (size_t)y * ow * C;
        for (int x = 0; x < ow; x++)
            for (int c = 0; c < C; c++) o[x * C + c] = row[(size_t)xi[x] * C + c];
    }
    free(idx);
    return OCTIC_OK;
}

static octic_status check_image(const octic_image *img, const char *what) {
    if (!img || !img->pixels || img->width < 1 || img->height < 1 || img->channels < 1 ||
        img->channels > 4)
        return octic_fail(OCTIC_ERR_ARG, "%s: expected a decoded image, got %s", what,
                          !img || !img->pixels ? "none" : "one with a bad size or channel count");
    return OCTIC_OK;
}

octic_status octic_image_resize(const octic_image *img, int width, int height, octic_resample filter,
                                octic_image *out) {
    memset(out, 0, sizeof *out);
    octic_status st = check_image(img, "resize");
    if (st != OCTIC_OK) return st;
    if (width < 1 || height < 1 || width > 65535 || height > 65535)
        return octic_fail(OCTIC_ERR_ARG, "resize: target size %d x %d, expected 1 to 65535 each", width, height);
    int C = img->channels;
    if (!(out->pixels = malloc((size_t)width * height * C)))
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for a %d x %d image", width, height);
    out->width = width, out->height = height, out->channels = C;
    st = filter == OCTIC_RESAMPLE_NEAREST
             ? resize_nearest(out->pixels, img->pixels, img->width, img->height, C, width, height)
             : resize_bicubic_window(out->pixels, img->pixels, img->width, img->height, C, width,
                                     height, 0, 0, width, height);
    if (st != OCTIC_OK) octic_image_free(out);
    return st;
}

/* torchvision's CenterCrop offset along one axis: round((len - size) / 2)
 * with Python's round (half to even, as rint does by default). When the
 * image is smaller than the crop, torchvision pads with zeros on both sides
 * (the extra pixel after), which is a negative offset of (size - len) / 2. */
static int crop_offset(int len, int size) {
    if (len >= size) return (int)rint((len - size) / 2.0);
    return -((size - len) / 2);
}

octic_status octic_preprocess_rgb(const octic_image *img, octic_transform t, int size, int resize_to,
                                  octic_image *out) {
    memset(out, 0, sizeof *out);
    octic_status st = check_image(img, "preprocess");
    if (st != OCTIC_OK) return st;
    if (img->channels != 3)
        return octic_fail(OCTIC_ERR_ARG, "preprocess: expected an RGB image, got %d channel(s)", img->channels);
    if (size < 1 || size > 8192)
        return octic_fail(OCTIC_ERR_ARG, "preprocess: output size %d, expected 1 to 8192", size);
    int w = img->width, h = img->height, rw, rh;
    if (t == OCTIC_TRANSFORM_SEGMENT) {
        rw = rh = size;
    } else if (t == OCTIC_TRANSFORM_CLASSIFY) {
        if (resize_to < 1 || resize_to > 65535)
            return octic_fail(OCTIC_ERR_ARG, "preprocess: resize to %d, expected 1 to 65535", resize_to);
        /* torchvision Resize(int): the shorter side becomes resize_to, the
         * longer int(resize_to * long / short) */
        int shorter = w <= h ? w : h, longer = w <= h ? h : w;
        double l = (double)((long long)resize_to * longer) / shorter;
        if (l > 65535) return octic_fail(OCTIC_ERR_ARG, "preprocess: a %d x %d image is too elongated", w, h);
        int new_long = (int)l;
        rw = w <= h ? resize_to : new_long;
        rh = w <= h ? new_long : resize_to;
    } else {
        return octic_fail(OCTIC_ERR_ARG, "preprocess: unknown transform %d", (int)t);
    }
    int ox = crop_offset(rw, size), oy = crop_offset(rh, size);
    /* the part of the resized image inside the crop, and where it lands */
    int sx = ox > 0 ? ox : 0, sy = oy > 0 ? oy : 0;
    int dx = ox < 0 ? -ox : 0, dy = oy < 0 ? -oy : 0;
    int cw = rw - sx < size - dx ? rw - sx : size - dx;
    int ch = rh - sy < size - dy ? rh - sy : size - dy;
    if (!(out->pixels = calloc((size_t)size * size, 3)))
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for a %d x %d image", size, size);
    out->width = out->height = size, out->channels = 3;
    uint8_t *win = out->pixels;
    int direct = cw == size && ch == size;
    if (!direct && !(win = malloc((size_t)cw * ch * 3))) {
        octic_image_free(out);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for a %d x %d image", cw, ch);
    }
    if (rw == w && rh == h) { /* no resize (PIL copies) */
        for (int y = 0; y < ch; y++)
            memcpy(win + (size_t)y * cw * 3, img->pixels + ((size_t)(sy + y) * w + sx) * 3, (size_t)cw * 3);
    } else if ((st = resize_bicubic_window(win, img->pixels, w, h, 3, rw, rh, sx, sy, cw, ch)) != OCTIC_OK) {
        if (!direct) free(win);
        octic_image_free(out);
        return st;
    }
    if (!direct) {
        for (int y = 0; y < ch; y++)
            memcpy(out->pixels + ((size_t)(dy + y) * size + dx) * 3, win + (size_t)y * cw * 3, (size_t)cw * 3);
        free(win);
    }
    return OCTIC_OK;
}

octic_status octic_preprocess(const octic_image *img, octic_transform t, int size, int resize_to,
                              int normalize, float *out) {
    octic_image rgb;
    octic_status st = octic_preprocess_rgb(img, t, size, resize_to, &rgb);
    if (st != OCTIC_OK) return st;
    /* torchvision: ToTensor divides by 255 in float32, Normalize subtracts
     * the mean and divides by the std, both float32 */
    size_t n = (size_t)size * size;
    float lut[3][256]; /* the same float32 operations, once per value */
    for (int c = 0; c < 3; c++) {
        float m = normalize ? octic_imagenet_mean[c] : 0.0f, s = normalize ? octic_imagenet_std[c] : 1.0f;
        for (int v = 0; v < 256; v++) lut[c][v] = ((float)v / 255.0f - m) / s;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = rgb.pixels + 3 * i;
        out[i] = lut[0][p[0]], out[n + i] = lut[1][p[1]], out[2 * n + i] = lut[2][p[2]];
    }
    octic_image_free(&rgb);
    return OCTIC_OK;
}

octic_status octic_preprocess_mask(const octic_image *mask, int size, uint8_t *out) {
    octic_status st = check_image(mask, "preprocess mask");
    if (st != OCTIC_OK) return st;
    if (mask->channels != 1)
        return octic_fail(OCTIC_ERR_ARG, "preprocess mask: expected one channel of labels, got %d", mask->channels);
    if (size < 1 || size > 8192)
        return octic_fail(OCTIC_ERR_ARG, "preprocess mask: output size %d, expected 1 to 8192", size);
    return resize_nearest(out, mask->pixels, mask->width, mask->height, 1, size, size);
}
