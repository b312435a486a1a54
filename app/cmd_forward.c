/* octic forward: run a model on images (a .npy file, or JPEG/PNG files
 * preprocessed as the reference does) and write one of its outputs as .npy. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "image.h"

static const char forward_usage[] =
    "usage: octic forward MODEL --input X.npy|IMAGE... --output OUT.npy --what WHAT [--heads N]\n"
    "                     [--size S] [--device D]\n"
    "\n"
    "Runs the model (.pth or .safetensors) on float32 images X.npy [B, 3, S, S], already\n"
    "normalized, or on image files (JPEG or PNG; --input once per image, batched in that\n"
    "order) prepared with the classification eval transform as 'octic preprocess' does, and\n"
    "writes one output as float32 .npy. S must be a multiple of the patch size (of twice the\n"
    "patch size for octic models).\n"
    "\n"
    "WHAT:\n"
    "  logits      [B, classes]  classification logits (DeiT III models with a head)\n"
    "  cls         [B, C]        class token after the final norm\n"
    "  patch       [B, N, C]     patch tokens after the final norm\n"
    "  prenorm     [B, T, C]     all tokens before the final norm\n"
    "  block:N     [B, T, C]     tokens entering block N: 0 = the embedded tokens,\n"
    "                            N = after block N-1, up to N = depth\n"
    "  (T = 1 + registers + N, N = (S/patch)^2; octic tokens in the published x0..x7 order)\n"
    "\n"
    "options:\n"
    "  --input X.npy     input images (.npy), or --input IMAGE, repeated for a batch\n"
    "  --size S          crop size for image files (default 224)\n"
    "  --output OUT.npy  where to write the output\n"
    "  --what WHAT       which output (see above)\n"
    "  --heads N         number of attention heads (see 'octic info --help')\n"
    CLI_DEVICE_HELP;

typedef enum { WHAT_LOGITS, WHAT_CLS, WHAT_PATCH, WHAT_PRENORM, WHAT_BLOCK } what_kind;

typedef struct {
    what_kind kind;
    int block;        /* for WHAT_BLOCK */
    const char *text; /* as the user wrote it */
} what_spec;

static int parse_what(const char *text, what_spec *w) {
    w->text = text;
    static const struct {
        const char *name;
        what_kind kind;
    } names[] = {
        {"logits", WHAT_LOGITS},
        {"cls", WHAT_CLS},
        {"patch", WHAT_PATCH},
        {"prenorm", WHAT_PRENORM},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(text, names[i].name) == 0) {
            w->kind = names[i].kind;
            w->block = 0;
            return CLI_OK;
        }
    }
    if (strncmp(text, "block:", 6) == 0) {
        char *end = NULL;
        long n = strtol(text + 6, &end, 10);
        if (end != text + 6 && *end == '\0' && n >= 0 && n <= 100000) {
            w->kind = WHAT_BLOCK;
            w->block = (int)n;
            return CLI_OK;
        }
    }
    return cli_usage_error("forward",
                           "--what expects logits, cls, patch, prenorm or block:N, got '%s'", text);
}

/* The output's shape for this model and input; checks that the model has it. */
static int output_shape(const octic_model *m, const char *model_path, const what_spec *w, int B,
                        int S, int64_t shape[3], int *ndim) {
    const octic_config *cfg = octic_model_config(m);
    int T = octic_model_tokens(m, S);
    int n_patches = (S / cfg->patch) * (S / cfg->patch);
    switch (w->kind) {
    case WHAT_LOGITS:
        if (cfg->classes <= 0)
            return cli_error("%s: this %s %s model has no classification head, so there are no "
                             "logits; use --what cls, patch, prenorm or block:N",
                             model_path, octic_family_name(cfg->family), octic_kind_name(cfg->kind));
        shape[0] = B, shape[1] = cfg->classes, *ndim = 2;
        return CLI_OK;
    case WHAT_CLS:
        shape[0] = B, shape[1] = cfg->dim, *ndim = 2;
        return CLI_OK;
    case WHAT_PATCH:
        shape[0] = B, shape[1] = n_patches, shape[2] = cfg->dim, *ndim = 3;
        return CLI_OK;
    case WHAT_PRENORM:
    case WHAT_BLOCK:
        if (w->kind == WHAT_BLOCK && w->block > cfg->depth)
            return cli_error("%s: --what block:%d is out of range: the model has %d blocks, so N "
                             "goes from 0 (embedded tokens) to %d (after the last block)",
                             model_path, w->block, cfg->depth, cfg->depth);
        shape[0] = B, shape[1] = T, shape[2] = cfg->dim, *ndim = 3;
        return CLI_OK;
    }
    return CLI_FAIL;
}

/* Copies the tokens reported for one block index into the output buffer. */
typedef struct {
    int index;
    float *dst;
    size_t count;
    int seen;
} block_capture;

static void capture_block(void *user, int index, const float *tokens, int B, int T, int C) {
    block_capture *cap = user;
    if (index != cap->index || (size_t)B * T * C != cap->count)
        return;
    memcpy(cap->dst, tokens, cap->count * sizeof(float));
    cap->seen = 1;
}

static int run_forward(octic_model *m, const what_spec *w, const octic_array *images, int B,
                       int S, float *result, size_t count) {
    octic_outputs out;
    memset(&out, 0, sizeof out);
    block_capture cap = {w->block, result, count, 0};
    switch (w->kind) {
    case WHAT_LOGITS: out.logits = result; break;
    case WHAT_CLS: out.cls = result; break;
    case WHAT_PATCH: out.patch = result; break;
    case WHAT_PRENORM: out.prenorm = result; break;
    case WHAT_BLOCK:
        out.on_block = capture_block;
        out.user = &cap;
        /* stop as soon as the block is out (block 0, the embedding, is
         * reported before the first block runs) */
        out.stop_after = w->block > 0 ? w->block : 1;
        break;
    }
    if (octic_model_forward(m, images->data, B, S, &out) != OCTIC_OK)
        return cli_engine_error();
    if (w->kind == WHAT_BLOCK && !cap.seen)
        return cli_error("the engine did not report the tokens of block:%d", w->block);
    return CLI_OK;
}

/* Image files -> float32 [n, 3, S, S]: the classification eval transform,
 * normalized, as 'octic preprocess' writes it. */
static int load_image_batch(const char **paths, int n, int S, octic_array *images) {
    memset(images, 0, sizeof *images);
    size_t per = (size_t)3 * S * S;
    if (!(images->data = malloc(sizeof(float) * per * n)))
        return cli_error("out of memory for %d images of %d x %d", n, S, S);
    images->ndim = 4;
    images->shape[0] = n, images->shape[1] = 3, images->shape[2] = images->shape[3] = S;
    for (int i = 0; i < n; i++) {
        octic_image img;
        if (octic_image_load(paths[i], &img) != OCTIC_OK) {
            octic_array_free(images);
            return cli_engine_error();
        }
        octic_status st = octic_preprocess(&img, OCTIC_TRANSFORM_CLASSIFY, S, octic_classify_resize(S), 1,
                                           images->data + per * i);
        octic_image_free(&img);
        if (st != OCTIC_OK) {
            octic_array_free(images);
            return cli_error("%s: %s", paths[i], octic_last_error());
        }
    }
    return CLI_OK;
}

/* A .npy (by its magic bytes, or by name when the file is no image either,
 * so that its reader explains what is wrong). */
static int is_npy_input(const char *path) {
    uint8_t head[8] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f) fclose(f);
    if (got >= 6 && memcmp(head, "\x93NUMPY", 6) == 0) return 1;
    if (octic_image_detect(head, got) != OCTIC_IMAGE_UNKNOWN) return 0;
    size_t len = strlen(path);
    return len >= 4 && strcmp(path + len - 4, ".npy") == 0;
}

/* One .npy, or image files (JPEG or PNG, decided by content); size_given:
 * --size was (it applies to image files only). */
static int load_inputs(const char **inputs, int n, int size, int size_given, octic_array *images, int *B, int *S) {
    int n_npy = 0;
    for (int i = 0; i < n; i++) n_npy += is_npy_input(inputs[i]);
    if (n_npy == 1 && n == 1 && size_given)
        return cli_usage_error("forward", "--size applies to image files; the images of %s keep their side "
                               "(give them at the size wanted)", inputs[0]);
    if (n == 1 && n_npy == 1) return cli_load_images(inputs[0], images, B, S);
    if (n_npy == n)
        return cli_usage_error("forward", "--input takes one .npy (a batch [B, 3, S, S]), got %d", n);
    if (n_npy > 0)
        return cli_usage_error("forward", "--input mixes .npy and image files: give one .npy, or only JPEG/PNG "
                               "images");
    *B = n, *S = size;
    return load_image_batch(inputs, n, size, images);
}

static int forward(const char *model_path, int heads, const char **inputs, int n_inputs, int size, int size_given,
                   const char *output, const what_spec *w) {
    const char *input = inputs[0];
    octic_model *m = NULL;
    octic_array images;
    float *result = NULL;
    int B = 0, S = 0, ndim = 0;
    int64_t shape[3];
    int rc = cli_load_model(model_path, heads, &m);
    if (rc != CLI_OK)
        return rc;
    if ((rc = load_inputs(inputs, n_inputs, size, size_given, &images, &B, &S)) != CLI_OK)
        goto done_model;
    if (octic_model_check_size(m, S) != OCTIC_OK) {
        if (n_inputs == 1 && is_npy_input(input))
            rc = cli_error("%s: %s", input, octic_last_error());
        else /* image files are brought to --size */
            rc = cli_error("--size %d: %s", S, octic_last_error());
        goto done;
    }
    if ((rc = output_shape(m, model_path, w, B, S, shape, &ndim)) != CLI_OK)
        goto done;
    size_t count = (size_t)octic_numel(shape, ndim);
    if (!(result = calloc(count, sizeof(float)))) {
        rc = cli_error("out of memory for an output of %zu floats", count);
        goto done;
    }
    if ((rc = run_forward(m, w, &images, B, S, result, count)) != CLI_OK)
        goto done;
    if (octic_npy_save(output, result, ndim, shape) != OCTIC_OK) {
        rc = cli_engine_error();
        goto done;
    }
    char shape_text[96];
    octic_shape_str(shape_text, sizeof shape_text, shape, ndim);
    printf("%s: %s %s\n", output, w->text, shape_text);
done:
    free(result);
    octic_array_free(&images);
done_model:
    octic_model_free(m);
    return rc;
}

int cmd_forward(int argc, char **argv) {
    const char *heads_text = NULL, *input = NULL, *output = NULL, *what_text = NULL,
               *model = NULL, *size_text = NULL, *device = NULL;
    int help = 0, npos = 0, heads = 0, size = 224;
    const cli_option opts[] = {
        {"--heads", &heads_text, NULL},
        {"--input", &input, NULL},
        {"--output", &output, NULL},
        {"--what", &what_text, NULL},
        {"--size", &size_text, NULL},
        {"--device", &device, NULL},
    };
    int rc = cli_parse(argc, argv, "forward", opts, 6, &model, 1, &npos, &help);
    if (rc != CLI_OK)
        return rc;
    if (help) {
        fputs(forward_usage, stdout);
        return CLI_OK;
    }
    if (!model)
        return cli_usage_error("forward", "missing MODEL");
    if (!input)
        return cli_usage_error("forward", "missing --input X.npy or --input IMAGE");
    if (!output)
        return cli_usage_error("forward", "missing --output OUT.npy");
    if (!what_text)
        return cli_usage_error("forward", "missing --what (logits, cls, patch, prenorm or block:N)");
    what_spec what = {WHAT_LOGITS, 0, NULL};
    if ((rc = parse_what(what_text, &what)) != CLI_OK)
        return rc;
    /* --input may be repeated (images batched in order); cli_parse kept the
     * last, so collect them all here (argv is well-formed: it parsed) */
    const char **inputs = calloc((size_t)argc, sizeof *inputs);
    int n_inputs = 0;
    if (!inputs)
        return cli_error("out of memory");
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--input") == 0 && i + 1 < argc)
            inputs[n_inputs++] = argv[++i];
        else if (strncmp(argv[i], "--input=", 8) == 0)
            inputs[n_inputs++] = argv[i] + 8;
        else if (argv[i][0] == '-' && strchr(argv[i], '=') == NULL && i + 1 < argc &&
                 strcmp(argv[i], "--help") != 0)
            i++; /* the value of another option */
    }
    if (heads_text &&
        (rc = cli_parse_int("forward", "--heads", heads_text, 1, 4096, &heads)) != CLI_OK)
        goto done;
    if (size_text && (rc = cli_parse_int("forward", "--size", size_text, 1, 4096, &size)) != CLI_OK)
        goto done;
    if ((rc = cli_select_device("forward", device, OCTIC_FLOAT32)) != CLI_OK)
        goto done;
    rc = forward(model, heads, inputs, n_inputs, size, size_text != NULL, output, &what);
done:
    free(inputs);
    return rc;
}
