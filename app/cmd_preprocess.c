/* octic preprocess: decode an image and write the model's input as .npy,
 * exactly as the reference evaluation prepares it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "image.h"

static const char preprocess_usage[] =
    "usage: octic preprocess IMAGE --output X.npy [--transform classify|segment] [--size S]\n"
    "\n"
    "Decodes IMAGE (JPEG or PNG, recognised by its content; grayscale and CMYK are converted\n"
    "to RGB as PIL does) and writes float32 X.npy [1, 3, S, S], normalized with the ImageNet\n"
    "mean and std, ready for 'octic forward'. The values equal those of the reference code\n"
    "(torchvision's transforms on a PIL image), with one exception: a 16-bit grayscale PNG\n"
    "is cut to its high byte, as PIL does for 16-bit color, where PIL clips its values to\n"
    "255 (most of such an image white).\n"
    "\n"
    "transforms:\n"
    "  classify   the classification eval transform (default): shorter side to S/0.875\n"
    "             (256 for S = 224) with PIL's antialiased bicubic, center crop S x S\n"
    "  segment    the segmentation transform: bicubic resize to S x S (aspect not kept)\n"
    "\n"
    "options:\n"
    "  --output X.npy       where to write the input tensor\n"
    "  --transform NAME     classify or segment\n"
    "  --size S             the crop size (default 224)\n";

int cmd_preprocess(int argc, char **argv) {
    const char *image_path = NULL, *output = NULL, *transform_text = NULL, *size_text = NULL;
    int help = 0, npos = 0, size = 224;
    const cli_option opts[] = {
        {"--output", &output, NULL},
        {"--transform", &transform_text, NULL},
        {"--size", &size_text, NULL},
    };
    int rc = cli_parse(argc, argv, "preprocess", opts, 3, &image_path, 1, &npos, &help);
    if (rc != CLI_OK) return rc;
    if (help) {
        fputs(preprocess_usage, stdout);
        return CLI_OK;
    }
    if (!image_path) return cli_usage_error("preprocess", "missing IMAGE");
    if (!output) return cli_usage_error("preprocess", "missing --output X.npy");
    octic_transform t = OCTIC_TRANSFORM_CLASSIFY;
    if (transform_text) {
        if (strcmp(transform_text, "classify") == 0)
            t = OCTIC_TRANSFORM_CLASSIFY;
        else if (strcmp(transform_text, "segment") == 0)
            t = OCTIC_TRANSFORM_SEGMENT;
        else
            return cli_usage_error("preprocess", "--transform expects classify or segment, got '%s'",
                                   transform_text);
    }
    if (size_text && (rc = cli_parse_int("preprocess", "--size", size_text, 1, 4096, &size)) != CLI_OK)
        return rc;

    octic_image img;
    if (octic_image_load(image_path, &img) != OCTIC_OK) return cli_engine_error();
    float *x = malloc(sizeof(float) * 3 * (size_t)size * size);
    if (!x) {
        octic_image_free(&img);
        return cli_error("out of memory for a %d x %d input", size, size);
    }
    rc = CLI_OK;
    if (octic_preprocess(&img, t, size, octic_classify_resize(size), 1, x) != OCTIC_OK) {
        rc = cli_error("%s: %s", image_path, octic_last_error());
    } else {
        const int64_t shape[4] = {1, 3, size, size};
        if (octic_npy_save(output, x, 4, shape) != OCTIC_OK)
            rc = cli_engine_error();
        else
            printf("%s: %s [1, 3, %d, %d] from %s (%d x %d)\n", output,
                   t == OCTIC_TRANSFORM_CLASSIFY ? "classify" : "segment", size, size, image_path,
                   img.width, img.height);
    }
    free(x);
    octic_image_free(&img);
    return rc;
}
