/* Writes the studio's demo models: three small DeiT III models (hybrid,
 * invariant, standard) with deterministic random weights, as safetensors.
 *
 * They are honestly untrained: their octic blocks are exactly equivariant
 * (that is a property of the architecture, not of training), their
 * classifications are meaningless. Width 128, 2 heads, depth 4 (break after
 * block 2), patch 16 on a 14 x 14 grid: 224 x 224 inputs, ImageNet's 1000
 * classes. Built by meson; about 4 MB each.
 *
 * usage: make_demo_models OUTDIR */
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "model.h"

typedef struct {
    const char *file, *title;
    octic_kind kind;
    octic_invariant invariant;
    unsigned seed;
} demo_model;

static const demo_model demos[] = {
    {"demo-hybrid-deit3.safetensors", "Demo hybrid DeiT III (untrained, random weights)", OCTIC_KIND_HYBRID,
     OCTIC_INV_NONE, 11},
    {"demo-invariant-deit3.safetensors", "Demo invariant DeiT III (untrained, random weights)", OCTIC_KIND_INVARIANT,
     OCTIC_INV_POWER_SPECTRUM, 12},
    {"demo-standard-deit3.safetensors", "Demo standard DeiT III (untrained, random weights)", OCTIC_KIND_STANDARD,
     OCTIC_INV_NONE, 13},
};

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_demo_models OUTDIR\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof demos / sizeof demos[0]; i++) {
        const demo_model *d = &demos[i];
        octic_config cfg = {.family = OCTIC_FAMILY_DEIT, .kind = d->kind, .depth = 4, .dim = 128, .heads = 2,
                            .patch = 16, .grid = 14, .classes = 1000, .mlp_hidden = 512,
                            .break_layer = d->kind == OCTIC_KIND_STANDARD ? 0 : 2, .invariant = d->invariant};
        octic_tensor_set set;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], d->file);
        octic_status st = octic_random_weights(&cfg, d->seed, &set);
        if (!st) st = octic_tensor_set_set_meta(&set, "title", d->title);
        if (!st) st = octic_tensor_set_set_meta(&set, "trained", "false");
        if (!st) st = octic_safetensors_save(path, &set);
        octic_tensor_set_free(&set);
        if (st) {
            fprintf(stderr, "make_demo_models: %s\n", octic_last_error());
            return 1;
        }
    }
    return 0;
}
