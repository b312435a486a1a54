/* Decoding images and preprocessing them as the reference does.
 *
 * JPEG through libjpeg-turbo (RGB, grayscale, CMYK/YCCK converted to RGB the
 * way PIL does, progressive), PNG through libpng (RGB(A), gray, palette).
 * Errors name the file and the reason, through engine/error.h. */
#ifndef OCTIC_IMAGE_H
#define OCTIC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct {
    int width, height;
    int channels;    /* 3: RGB interleaved; 1: a label mask (class indices) or gray */
    uint8_t *pixels; /* height * width * channels bytes, row-major, malloc'd */
} octic_image;

void octic_image_free(octic_image *img);

/* Any JPEG or PNG (decided by content, not by name) as 8-bit RGB. */
octic_status octic_image_load(const char *path, octic_image *out);
octic_status octic_image_load_memory(const uint8_t *buf, size_t len, const char *name, octic_image *out);

/* A label mask: a palette PNG read as its indices (VOC: 0..20, 255 ignore) or
 * an 8-bit grayscale PNG (ADE20K: 0..150). channels = 1. Anything else (RGB,
 * 16-bit) is an error naming the file and what was found. */
octic_status octic_mask_load(const char *path, octic_image *out);
octic_status octic_mask_load_memory(const uint8_t *buf, size_t len, const char *name, octic_image *out);

/* A thumbnail whose longer side is at most max_side (and at least
 * max_side/2 when the image is larger), decoded through JPEG DCT scaling when
 * the file is a JPEG (fast), else decoded and reduced. RGB. */
octic_status octic_image_thumbnail(const char *path, int max_side, octic_image *out);

/* What the first bytes say a file is (the name is never consulted). */
typedef enum { OCTIC_IMAGE_UNKNOWN = 0, OCTIC_IMAGE_JPEG, OCTIC_IMAGE_PNG } octic_image_format;
octic_image_format octic_image_detect(const uint8_t *buf, size_t len);

/* The largest image (width * height) the decoders accept; larger headers are
 * an error rather than an allocation. 0 restores the default, 2^28. Set it
 * before loading starts (it is not synchronized). */
void octic_image_set_max_pixels(size_t n);

typedef enum {
    OCTIC_RESAMPLE_NEAREST = 0, /* PIL's Image.NEAREST (for masks) */
    OCTIC_RESAMPLE_BICUBIC = 1, /* PIL's Image.BICUBIC: a = -0.5, antialiased when shrinking */
} octic_resample;

/* Resizes img to width x height exactly as PIL's Image.resize does (same
 * filter support, coefficients and 8-bit rounding after each pass), for any
 * number of channels. out is allocated. */
octic_status octic_image_resize(const octic_image *img, int width, int height, octic_resample filter,
                                octic_image *out);

/* ImageNet mean and std, as used by DeiT III and DINOv2. */
extern const float octic_imagenet_mean[3], octic_imagenet_std[3];

typedef enum {
    OCTIC_TRANSFORM_CLASSIFY = 0, /* shorter side to 256 (PIL bicubic, antialiased), center crop 224 */
    OCTIC_TRANSFORM_SEGMENT = 1,  /* 224 x 224 bicubic, aspect not kept (masks: nearest) */
} octic_transform;

/* The shorter side of the classification transform for a crop of `size`:
 * size / 0.875, the reference's crop ratio (DeiT III's eval_crop_ratio), so
 * 256 for 224. */
static inline int octic_classify_resize(int size) { return (int)(size / 0.875); }

/* RGB image -> out[3, size, size] float32 in [0, 1] (normalize = 0) or
 * normalized with the ImageNet mean/std (normalize = 1). size is 224 for
 * the reference transforms; resize_to is the shorter side for CLASSIFY
 * (256 for the reference; other values scale the crop alike). */
octic_status octic_preprocess(const octic_image *img, octic_transform t, int size, int resize_to, int normalize,
                              float *out);
/* The same crop as octic_preprocess, before scaling: out = size x size RGB
 * (allocated), the values PIL's pipeline has before ToTensor. */
octic_status octic_preprocess_rgb(const octic_image *img, octic_transform t, int size, int resize_to,
                                  octic_image *out);
/* Mask -> out[size, size] labels, nearest-neighbour as PIL does (SEGMENT). */
octic_status octic_preprocess_mask(const octic_image *mask, int size, uint8_t *out);

#endif
