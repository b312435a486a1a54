/* libFuzzer target: the JPEG and PNG entry points (image and mask decoding
 * from memory), and the resize of whatever decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(octic_status st, octic_image *img) {
    if (st != OCTIC_OK) {
        /* a failure always explains itself and leaves nothing allocated */
        if (octic_last_error()[0] == '\0' || img->pixels) __builtin_trap();
        return;
    }
    size_t n = (size_t)img->width * img->height * img->channels;
    volatile uint8_t sink = img->pixels[0] ^ img->pixels[n - 1];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* half a megapixel: room for the seeds, not for tiny inputs whose
     * headers ask for gigabytes (refused: the path tested here) or for
     * megapixels of filler that make each run slow */
    octic_image_set_max_pixels((size_t)1 << 19);
    octic_image img, mask, crop;
    check(octic_image_load_memory(data, size, "fuzz", &img), &img);
    if (img.pixels) {
        if (img.channels != 3) __builtin_trap();
        /* both transforms at a small size: every scale factor of the resampler */
        if (octic_preprocess_rgb(&img, OCTIC_TRANSFORM_CLASSIFY, 24, 27, &crop) == OCTIC_OK)
            octic_image_free(&crop);
        if (octic_preprocess_rgb(&img, OCTIC_TRANSFORM_SEGMENT, 24, 27, &crop) == OCTIC_OK)
            octic_image_free(&crop);
        octic_image_free(&img);
    }
    check(octic_mask_load_memory(data, size, "fuzz", &mask), &mask);
    if (mask.pixels) {
        uint8_t labels[16 * 16];
        if (mask.channels != 1) __builtin_trap();
        octic_preprocess_mask(&mask, 16, labels);
        octic_image_free(&mask);
    }
    return 0;
}
