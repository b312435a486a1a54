/* The model description: names, the published architectures, inference of
 * the description from a state dict's names and shapes, parameter and
 * multiply-add counts, and the description as string metadata. */
#include "model.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* Names                                                                    */

const char *octic_family_name(octic_family f) {
    switch (f) {
    case OCTIC_FAMILY_DEIT: return "deit3";
    case OCTIC_FAMILY_DINOV2: return "dinov2";
    }
    return "unknown";
}

const char *octic_kind_name(octic_kind k) {
    switch (k) {
    case OCTIC_KIND_STANDARD: return "standard";
    case OCTIC_KIND_HYBRID: return "hybrid";
    case OCTIC_KIND_INVARIANT: return "invariant";
    }
    return "unknown";
}

const char *octic_invariant_name(octic_invariant inv) {
    switch (inv) {
    case OCTIC_INV_NONE: return "none";
    case OCTIC_INV_POWER_SPECTRUM: return "power_spectrum";
    case OCTIC_INV_POLYNOMIAL: return "polynomial";
    case OCTIC_INV_THIRD_ORDER: return "third_order";
    case OCTIC_INV_LINEAR: return "linear";
    }
    return "unknown";
}

int octic_invariant_width(octic_invariant inv, int dim) {
    int c = dim / 8;
    switch (inv) {
    case OCTIC_INV_NONE: return 0;
    case OCTIC_INV_POWER_SPECTRUM: return 6 * c;
    case OCTIC_INV_POLYNOMIAL: return 32 * c;
    case OCTIC_INV_THIRD_ORDER: return 15 * c;
    case OCTIC_INV_LINEAR: return c;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The published architectures (model.md). All have 16 heads, an MLP of 4C
 * and no registers; the octic ones break after depth/2 blocks. DeiT III is
 * trained at 224 with 1000 classes; DINOv2 (global crops of 224, patch 16)
 * has no head. The invariant ones are listed with the invariant of their
 * released checkpoints: polynomial for DeiT III (the README's 362 M / 104
 * GFLOPs and 175 M / 39), power spectrum (the published code's default) for
 * DINOv2 (355.76 M and 171.08 M). */

#define ARCH(nm, ttl, fam, knd, dep, d, p, cls, inv)                                  \
    {nm, ttl,                                                                         \
     {.family = fam, .kind = knd, .depth = dep, .dim = d, .heads = 16, .patch = p,    \
      .grid = 224 / (p), .classes = cls, .registers = 0, .mlp_hidden = 4 * (d),       \
      .break_layer = (knd) == OCTIC_KIND_STANDARD ? 0 : (dep) / 2, .invariant = inv}}

#define DEIT OCTIC_FAMILY_DEIT
#define DINO OCTIC_FAMILY_DINOV2
#define STD OCTIC_KIND_STANDARD
#define HYB OCTIC_KIND_HYBRID
#define INV OCTIC_KIND_INVARIANT
#define PS OCTIC_INV_POWER_SPECTRUM
#define POLY OCTIC_INV_POLYNOMIAL
#define NOINV OCTIC_INV_NONE

static const octic_arch archs[] = {
    ARCH("hybrid_deit_huge_patch14", "DeiT III Hybrid ViT-H/14", DEIT, HYB, 32, 1280, 14, 1000, NOINV),
    ARCH("d8_inv_early_deit_huge_patch14", "DeiT III Invariant ViT-H/14", DEIT, INV, 32, 1280, 14, 1000, POLY),
    ARCH("hybrid_deit_large_patch16", "DeiT III Hybrid ViT-L/16", DEIT, HYB, 24, 1024, 16, 1000, NOINV),
    ARCH("d8_inv_early_deit_large_patch16", "DeiT III Invariant ViT-L/16", DEIT, INV, 24, 1024, 16, 1000, POLY),
    ARCH("deit_huge_patch14_LS", "DeiT III ViT-H/14", DEIT, STD, 32, 1280, 14, 1000, NOINV),
    ARCH("deit_large_patch16_LS", "DeiT III ViT-L/16", DEIT, STD, 24, 1024, 16, 1000, NOINV),
    ARCH("vit_huge", "DINOv2 ViT-H/16", DINO, STD, 32, 1280, 16, 0, NOINV),
    ARCH("hybrid_vit_huge", "DINOv2 Hybrid ViT-H/16", DINO, HYB, 32, 1280, 16, 0, NOINV),
    ARCH("vit_huge_inv_early", "DINOv2 Invariant ViT-H/16", DINO, INV, 32, 1280, 16, 0, PS),
    ARCH("vit_large", "DINOv2 ViT-L/16", DINO, STD, 24, 1024, 16, 0, NOINV),
    ARCH("hybrid_vit_large", "DINOv2 Hybrid ViT-L/16", DINO, HYB, 24, 1024, 16, 0, NOINV),
    ARCH("vit_large_inv_early", "DINOv2 Invariant ViT-L/16", DINO, INV, 24, 1024, 16, 0, PS),
};

#undef ARCH
#undef DEIT
#undef DINO
#undef STD
#undef HYB
#undef INV
#undef PS
#undef POLY
#undef NOINV

#define N_ARCHS ((int)(sizeof archs / sizeof archs[0]))

/* Other names the published code registers the DINOv2 models under (timm). */
static const struct {
    const char *alias, *name;
} arch_aliases[] = {
    {"hybrid_dinov2_vit_large_patch16", "hybrid_vit_large"},
    {"hybrid_dinov2_vit_huge_patch16", "hybrid_vit_huge"},
    {"d8_inv_early_dinov2_vit_large_patch16", "vit_large_inv_early"},
    {"d8_inv_early_dinov2_vit_huge_patch16", "vit_huge_inv_early"},
};

int octic_arch_count(void) { return N_ARCHS; }

const octic_arch *octic_arch_get(int i) { return i >= 0 && i < N_ARCHS ? &archs[i] : NULL; }

const octic_arch *octic_arch_find(const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < N_ARCHS; i++)
        if (strcmp(archs[i].name, name) == 0) return &archs[i];
    for (size_t i = 0; i < sizeof arch_aliases / sizeof arch_aliases[0]; i++)
        if (strcmp(arch_aliases[i].alias, name) == 0) return octic_arch_find(arch_aliases[i].name);
    return NULL;
}

/* Edits (a letter inserted, deleted or replaced; ASCII case ignored) that turn
 * a into b, or cap + 1 when more than cap or a name is over 63 letters. */
static int edit_distance(const char *a, const char *b, int cap) {
    int n = (int)strlen(a), m = (int)strlen(b), row[64], prev[64];
    if (n > 63 || m > 63 || abs(n - m) > cap) return cap + 1;
    for (int j = 0; j <= m; j++) prev[j] = j;
    for (int i = 1; i <= n; i++) {
        row[0] = i;
        int best = i;
        for (int j = 1; j <= m; j++) {
            int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            int d = prev[j - 1] + !same;
            if (prev[j] + 1 < d) d = prev[j] + 1;
            if (row[j - 1] + 1 < d) d = row[j - 1] + 1;
            row[j] = d;
            if (d < best) best = d;
        }
        if (best > cap) return cap + 1; /* a row's least only grows */
        memcpy(prev, row, (size_t)(m + 1) * sizeof(int));
    }
    return prev[m];
}

/* The one published name that begins with `name` (case ignored; `prefix`) or
 * contains it, or NULL where none or several do. */
static const octic_arch *only_arch(const char *name, int prefix) {
    const octic_arch *only = NULL;
    for (int i = 0; i < N_ARCHS; i++)
        if (prefix ? strncasecmp(archs[i].name, name, strlen(name)) == 0 : strstr(archs[i].name, name) != NULL) {
            if (only) return NULL;
            only = &archs[i];
        }
    return only;
}

const octic_arch *octic_arch_nearest(const char *name) {
    if (!name || !*name || octic_arch_find(name)) return NULL;
    int n_alias = (int)(sizeof arch_aliases / sizeof arch_aliases[0]), len = (int)strlen(name);
    const octic_arch *near = len >= 4 ? only_arch(name, 1) : NULL;
    if (near) return near;
    int cap = len / 5 > 2 ? len / 5 : 2, best = cap + 1;
    for (int i = 0; i < N_ARCHS + n_alias; i++) {
        const char *cand = i < N_ARCHS ? archs[i].name : arch_aliases[i - N_ARCHS].alias;
        int d = edit_distance(name, cand, best - 1);
        if (d < best) {
            best = d;
            near = i < N_ARCHS ? &archs[i] : octic_arch_find(arch_aliases[i - N_ARCHS].name);
        }
    }
    if (near) return near;
    return len >= 4 ? only_arch(name, 0) : NULL;
}

/* Shapes equal, ignoring heads and which invariant an invariant model uses
 * (the released DeiT III invariant checkpoints use the polynomial one). */
const octic_arch *octic_arch_match(const octic_config *cfg) {
    if (!cfg) return NULL;
    for (int i = 0; i < N_ARCHS; i++) {
        const octic_config *a = &archs[i].config;
        if (a->family == cfg->family && a->kind == cfg->kind && a->depth == cfg->depth &&
            a->dim == cfg->dim && a->patch == cfg->patch && a->grid == cfg->grid &&
            a->classes == cfg->classes && a->registers == cfg->registers &&
            a->mlp_hidden == cfg->mlp_hidden && a->break_layer == cfg->break_layer)
            return &archs[i];
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Block names                                                              */

/* Reads a decimal number followed by '.'; returns the number or -1, and the
 * position after the dot in *end. */
static long read_index(const char *s, const char **end) {
    if (*s < '0' || *s > '9') return -1;
    long v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (*s - '0');
        if (v > INT_MAX) return -1;
        s++;
    }
    if (*s != '.') return -1;
    *end = s + 1;
    return v;
}

int octic_block_index(const char *name, const char **rest) {
    if (!name || strncmp(name, "blocks.", 7) != 0) return -1;
    const char *p = name + 7, *q;
    long first = read_index(p, &q);
    if (first < 0) return -1;
    /* DINOv2 chunked blocks: blocks.<chunk>.<i>.<rest>, i counts globally. */
    const char *r;
    long second = read_index(q, &r);
    if (second >= 0) {
        q = r;
        first = second;
    }
    if (*q == '\0') return -1;
    if (rest) *rest = q;
    return (int)first;
}

const octic_tensor *octic_block_tensor(const octic_tensor_set *set, int i, const char *rest) {
    char name[256];
    snprintf(name, sizeof name, "blocks.%d.%s", i, rest);
    const octic_tensor *t = octic_tensor_set_find(set, name);
    if (t) return t;
    for (int k = 0; k < set->count; k++) {
        const char *r;
        if (octic_block_index(set->tensors[k].name, &r) == i && strcmp(r, rest) == 0)
            return &set->tensors[k];
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Inference from names and shapes                                          */

static octic_status shape_error(const octic_tensor *t, int ndim, const int64_t *expected) {
    char want[96], got[96];
    octic_shape_str(want, sizeof want, expected, ndim);
    octic_shape_str(got, sizeof got, t->shape, t->ndim);
    return octic_fail(OCTIC_ERR_SHAPE, "tensor %s: expected shape %s, found %s", t->name, want, got);
}

static octic_status need(const octic_tensor_set *set, const char *name, const char *why,
                         const octic_tensor **out) {
    *out = octic_tensor_set_find(set, name);
    if (!*out) return octic_fail(OCTIC_ERR_MISSING, "missing tensor %s (%s)", name, why);
    return OCTIC_OK;
}

static int is_square(int64_t n, int *side) {
    if (n <= 0 || n > ((int64_t)1 << 40)) return 0;
    int64_t s = (int64_t)sqrt((double)n);
    while (s * s > n) s--;
    while ((s + 1) * (s + 1) <= n) s++;
    *side = (int)s;
    return s * s == n;
}

/* Any block tensor whose rest starts with prefix. */
static int any_block_rest(const octic_tensor_set *set, const char *prefix) {
    size_t n = strlen(prefix);
    for (int k = 0; k < set->count; k++) {
        const char *r;
        if (octic_block_index(set->tensors[k].name, &r) >= 0 && strncmp(r, prefix, n) == 0) return 1;
    }
    return 0;
}

static int parse_positive(const char *s, int *out) {
    if (!s || !*s) return 0;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || *end || v <= 0 || v > INT_MAX) return 0;
    *out = (int)v;
    return 1;
}

static octic_status infer_family(const octic_tensor_set *set, int octic, octic_family *family) {
    int gamma = any_block_rest(set, "gamma_1") || any_block_rest(set, "gamma_2");
    int ls = any_block_rest(set, "ls1.") || any_block_rest(set, "ls2.");
    if (gamma && ls)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "blocks use both DeiT III layer scales (gamma_1/gamma_2) and DINOv2 "
                          "ones (ls1/ls2): not one of the known families");
    if (gamma) {
        *family = OCTIC_FAMILY_DEIT;
        return OCTIC_OK;
    }
    if (ls) {
        *family = OCTIC_FAMILY_DINOV2;
        return OCTIC_OK;
    }
    /* No layer scale: the head, the mask token and the class token tell. */
    if (octic_tensor_set_find(set, "head.weight")) {
        *family = OCTIC_FAMILY_DEIT;
        return OCTIC_OK;
    }
    if (octic_tensor_set_find(set, octic ? "mask_token.0" : "mask_token") ||
        (octic && octic_tensor_set_find(set, "cls_token.7"))) {
        *family = OCTIC_FAMILY_DINOV2;
        return OCTIC_OK;
    }
    if (octic && octic_tensor_set_find(set, "cls_token.4")) {
        *family = OCTIC_FAMILY_DEIT;
        return OCTIC_OK;
    }
    /* A standard ViT's position embedding: DeiT III's covers the patches, a
     * square; DINOv2's the class token too, a square plus one. */
    const octic_tensor *pos = octic ? NULL : octic_tensor_set_find(set, "pos_embed");
    int side;
    if (pos && pos->ndim == 3 && (is_square(pos->shape[1], &side) || is_square(pos->shape[1] - 1, &side))) {
        *family = is_square(pos->shape[1], &side) ? OCTIC_FAMILY_DEIT : OCTIC_FAMILY_DINOV2;
        return OCTIC_OK;
    }
    return octic_fail(OCTIC_ERR_FORMAT,
                      "cannot tell DeiT III from DINOv2: looked for block layer scales "
                      "(gamma_1/gamma_2 or ls1/ls2), head.weight, mask_token, the class token and the "
                      "length of pos_embed");
}

/* Far beyond any ViT (ViT-22B: depth 48, width 6144, MLP 24576), and small
 * enough that no count of parameters or operations overflows: a hostile
 * header cannot make a model of 2^31 blocks or of width 2^28. */
#define MAX_DEPTH 4096
#define MAX_DIM 65536
#define MAX_HIDDEN (1 << 20)

/* The block layout: how many blocks, and where the octic ones end. */
static octic_status infer_blocks(const octic_tensor_set *set, int octic, octic_config *cfg) {
    int depth = 0;
    for (int k = 0; k < set->count; k++) {
        int i = octic_block_index(set->tensors[k].name, NULL);
        if (i >= MAX_DEPTH)
            return octic_fail(OCTIC_ERR_FORMAT, "tensor %s: block index %d: expected fewer than %d blocks",
                              set->tensors[k].name, i, MAX_DEPTH);
        if (i >= depth) depth = i + 1;
    }
    if (depth == 0)
        return octic_fail(OCTIC_ERR_FORMAT, "no transformer blocks: no tensor named blocks.<i>.*");
    cfg->depth = depth;
    int break_layer = -1;
    for (int i = 0; i < depth; i++) {
        int is_std = octic_block_tensor(set, i, "norm1.weight") != NULL;
        int is_oct = octic_block_tensor(set, i, "norm1.scaling.alpha_A1") != NULL;
        if (is_std == is_oct)
            return octic_fail(OCTIC_ERR_FORMAT,
                              "block %d: expected exactly one of blocks.%d.norm1.weight (standard "
                              "block) and blocks.%d.norm1.scaling.alpha_A1 (octic block)",
                              i, i, i);
        if (is_std && break_layer < 0) break_layer = i;
        if (is_oct && break_layer >= 0)
            return octic_fail(OCTIC_ERR_FORMAT,
                              "block %d is octic but block %d before it is standard: octic blocks "
                              "must come first",
                              i, break_layer);
        if (is_oct && !octic)
            return octic_fail(OCTIC_ERR_FORMAT,
                              "block %d is octic (blocks.%d.norm1.scaling.alpha_A1) but the patch "
                              "embedding is standard (patch_embed.proj.weight)",
                              i, i);
    }
    cfg->break_layer = break_layer < 0 ? depth : break_layer;
    if (!octic) cfg->break_layer = 0;
    return OCTIC_OK;
}

static octic_status infer_mlp(const octic_tensor_set *set, octic_config *cfg) {
    int C = cfg->dim, c = C / 8;
    int hidden = 0;
    if (cfg->break_layer < cfg->depth) {
        int i = cfg->break_layer;
        const octic_tensor *t = octic_block_tensor(set, i, "mlp.fc1.weight");
        if (!t) return octic_fail(OCTIC_ERR_MISSING, "missing tensor blocks.%d.mlp.fc1.weight", i);
        if (t->ndim != 2 || t->shape[1] != C || t->shape[0] <= 0 || t->shape[0] > MAX_HIDDEN)
            return shape_error(t, 2, (const int64_t[]){4 * (int64_t)C, C});
        hidden = (int)t->shape[0];
    }
    if (cfg->break_layer > 0) {
        const octic_tensor *t = octic_block_tensor(set, 0, "mlp.fc1.lin_A1.weight");
        if (!t) return octic_fail(OCTIC_ERR_MISSING, "missing tensor blocks.0.mlp.fc1.lin_A1.weight");
        if (t->ndim != 2 || t->shape[1] != c || t->shape[0] <= 0 || t->shape[0] > MAX_HIDDEN / 8)
            return shape_error(t, 2, (const int64_t[]){4 * (int64_t)c, c});
        int h8 = (int)t->shape[0] * 8;
        if (hidden && hidden != h8)
            return octic_fail(OCTIC_ERR_SHAPE,
                              "MLP widths differ: octic blocks have %d (blocks.0.mlp.fc1.lin_A1.weight), "
                              "standard blocks %d (blocks.%d.mlp.fc1.weight)",
                              h8, hidden, cfg->break_layer);
        hidden = h8;
    }
    cfg->mlp_hidden = hidden;
    return OCTIC_OK;
}

static octic_status infer_invariant(const octic_tensor_set *set, octic_config *cfg) {
    const octic_tensor *t = octic_tensor_set_find(set, "invariant_proj.weight");
    cfg->invariant = OCTIC_INV_NONE;
    if (!t) return OCTIC_OK;
    int C = cfg->dim, c = C / 8;
    if (cfg->kind == OCTIC_KIND_STANDARD)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "invariant_proj.weight in a model with a standard patch embedding");
    if (t->ndim != 2 || t->shape[0] != C)
        return shape_error(t, 2, (const int64_t[]){C, 6 * (int64_t)c});
    static const octic_invariant kinds[] = {OCTIC_INV_POWER_SPECTRUM, OCTIC_INV_POLYNOMIAL,
                                            OCTIC_INV_THIRD_ORDER, OCTIC_INV_LINEAR};
    for (int k = 0; k < 4; k++) {
        if (t->shape[1] == octic_invariant_width(kinds[k], C)) {
            cfg->invariant = kinds[k];
            cfg->kind = OCTIC_KIND_INVARIANT;
            return OCTIC_OK;
        }
    }
    return octic_fail(OCTIC_ERR_FORMAT,
                      "invariant_proj.weight has input width %lld; for dim %d expected %d (power "
                      "spectrum, 6C/8), %d (polynomial, 32C/8), %d (third order, 15C/8) or %d "
                      "(linear, C/8)",
                      (long long)t->shape[1], C, 6 * c, 32 * c, 15 * c, c);
}

/* Checks the description written by octic_config_to_meta, if any, against
 * what the tensors say. */
static octic_status check_meta(const octic_tensor_set *set, const octic_config *cfg) {
    const char *fmt = octic_tensor_set_get_meta(set, "format");
    if (!fmt || strcmp(fmt, "octiscope") != 0) return OCTIC_OK;
    const struct {
        const char *key, *value;
    } names[] = {
        {"family", octic_family_name(cfg->family)},
        {"kind", octic_kind_name(cfg->kind)},
        {"invariant", octic_invariant_name(cfg->invariant)},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = octic_tensor_set_get_meta(set, names[i].key);
        if (v && strcmp(v, names[i].value) != 0)
            return octic_fail(OCTIC_ERR_FORMAT, "metadata says %s = %s but the tensors say %s",
                              names[i].key, v, names[i].value);
    }
    const struct {
        const char *key;
        int value;
    } ints[] = {
        {"depth", cfg->depth},     {"dim", cfg->dim},         {"patch", cfg->patch},
        {"grid", cfg->grid},       {"classes", cfg->classes}, {"registers", cfg->registers},
        {"break_layer", cfg->break_layer}, {"mlp_hidden", cfg->mlp_hidden},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        const char *v = octic_tensor_set_get_meta(set, ints[i].key);
        char buf[32];
        snprintf(buf, sizeof buf, "%d", ints[i].value);
        if (v && strcmp(v, buf) != 0)
            return octic_fail(OCTIC_ERR_FORMAT, "metadata says %s = %s but the tensors say %d",
                              ints[i].key, v, ints[i].value);
    }
    return OCTIC_OK;
}

octic_status octic_config_check_heads(const octic_config *cfg, int heads) {
    if (heads <= 0) return octic_fail(OCTIC_ERR_ARG, "number of heads must be positive, got %d", heads);
    if (cfg->dim % heads != 0)
        return octic_fail(OCTIC_ERR_ARG, "%d heads do not divide the width %d", heads, cfg->dim);
    if (cfg->kind != OCTIC_KIND_STANDARD && (cfg->dim / heads) % 8 != 0)
        return octic_fail(OCTIC_ERR_ARG,
                          "%d heads give a head width of %d, which an octic model needs to be a "
                          "multiple of 8",
                          heads, cfg->dim / heads);
    if (cfg->stored_heads > 0 && heads != cfg->stored_heads)
        return octic_fail(OCTIC_ERR_ARG, "the file stores its number of heads, %d", cfg->stored_heads);
    return OCTIC_OK;
}

octic_status octic_config_infer(const octic_tensor_set *set, int heads, octic_config *cfg) {
    octic_status st;
    const octic_tensor *t;
    memset(cfg, 0, sizeof *cfg);
    if (!set) return octic_fail(OCTIC_ERR_ARG, "no tensor set");
    if (heads < 0) return octic_fail(OCTIC_ERR_ARG, "number of heads must be positive, got %d", heads);

    /* Patch embedding: standard conv, or the octic lift of quarter kernels. */
    const octic_tensor *proj = octic_tensor_set_find(set, "patch_embed.proj.weight");
    const octic_tensor *lift = octic_tensor_set_find(set, "patch_embed.lift8.conv_A1.weight");
    if (proj && lift)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "both patch_embed.proj.weight and patch_embed.lift8.conv_A1.weight: not "
                          "one of the known families");
    if (!proj && !lift)
        return octic_fail(OCTIC_ERR_FORMAT,
                          "no patch embedding: expected patch_embed.proj.weight (standard ViT) or "
                          "patch_embed.lift8.conv_A1.weight (octic ViT)");
    int octic = lift != NULL;
    t = octic ? lift : proj;
    if (t->ndim != 4 || t->shape[1] != 3 || t->shape[2] != t->shape[3] || t->shape[0] <= 0 ||
        t->shape[2] <= 0 || t->shape[0] > (octic ? MAX_DIM / 8 : MAX_DIM) || t->shape[2] > 4096)
        return octic_fail(OCTIC_ERR_SHAPE,
                          "tensor %s: expected [%s, 3, k, k], found %s", t->name,
                          octic ? "C/8" : "C",
                          octic_shape_str((char[96]){0}, 96, t->shape, t->ndim));
    cfg->kind = octic ? OCTIC_KIND_HYBRID : OCTIC_KIND_STANDARD;
    cfg->dim = (int)t->shape[0] * (octic ? 8 : 1);
    cfg->patch = (int)t->shape[2] * (octic ? 2 : 1);
    int C = cfg->dim, c = C / 8;

    if ((st = infer_family(set, octic, &cfg->family)) != OCTIC_OK) return st;
    if ((st = infer_blocks(set, octic, cfg)) != OCTIC_OK) return st;

    /* Training grid from the position embedding. */
    if (octic) {
        if ((st = need(set, "pos_embed.0", "octic position embedding", &t)) != OCTIC_OK) return st;
        if (t->ndim != 3 || t->shape[0] != t->shape[1] || t->shape[2] != c || t->shape[0] <= 0 ||
            t->shape[0] > 4096)
            return shape_error(t, 3, (const int64_t[]){t->ndim >= 1 ? t->shape[0] : 1,
                                                       t->ndim >= 1 ? t->shape[0] : 1, c});
        cfg->grid = 2 * (int)t->shape[0];
    } else {
        if ((st = need(set, "pos_embed", "position embedding", &t)) != OCTIC_OK) return st;
        int extra = cfg->family == OCTIC_FAMILY_DINOV2 ? 1 : 0;
        int side;
        if (t->ndim != 3 || t->shape[0] != 1 || t->shape[2] != C || !is_square(t->shape[1] - extra, &side))
            return octic_fail(OCTIC_ERR_SHAPE, "tensor pos_embed: expected [1, %sg*g, %d], found %s",
                              extra ? "1 + " : "", C,
                              octic_shape_str((char[96]){0}, 96, t->shape, t->ndim));
        cfg->grid = side;
    }

    /* Head, registers, MLP width, invariant. */
    t = octic_tensor_set_find(set, "head.weight");
    if (t) {
        if (t->ndim != 2 || t->shape[1] != C || t->shape[0] <= 0 || t->shape[0] > INT_MAX)
            return shape_error(t, 2, (const int64_t[]){1000, C});
        cfg->classes = (int)t->shape[0];
    }
    t = octic_tensor_set_find(set, octic ? "register_tokens.0" : "register_tokens");
    if (t) {
        if (t->ndim != 3 || t->shape[0] != 1 || t->shape[2] != (octic ? c : C) || t->shape[1] <= 0 ||
            t->shape[1] > 4096)
            return shape_error(t, 3, (const int64_t[]){1, 4, octic ? c : C});
        cfg->registers = (int)t->shape[1];
    }
    if ((st = infer_mlp(set, cfg)) != OCTIC_OK) return st;
    if ((st = infer_invariant(set, cfg)) != OCTIC_OK) return st;
    /* DINOv2 standard blocks built without LayerScale: none of them has ls1 or ls2 */
    if (cfg->family == OCTIC_FAMILY_DINOV2 && cfg->break_layer < cfg->depth) {
        int any = 0;
        for (int i = cfg->break_layer; i < cfg->depth && !any; i++)
            any = octic_block_tensor(set, i, "ls1.gamma") || octic_block_tensor(set, i, "ls2.gamma");
        cfg->no_layer_scale = !any;
    }
    if (octic && cfg->patch % 2 != 0)
        return octic_fail(OCTIC_ERR_SHAPE, "octic patch size %d is odd", cfg->patch);
    if ((st = check_meta(set, cfg)) != OCTIC_OK) return st;

    /* Heads: given, stored by us, or those of a published architecture. A
     * file that stores them is believed: a number given that differs, or a
     * stored value that is not a number, is an error. */
    const char *stored = octic_tensor_set_get_meta(set, "heads");
    int h = 0;
    if (stored && !parse_positive(stored, &h))
        return octic_fail(OCTIC_ERR_FORMAT, "the file's metadata gives heads = \"%.40s\", which is not a positive "
                          "whole number", stored);
    cfg->stored_heads = h;
    if (heads > 0 && h > 0 && heads != h)
        return octic_fail(OCTIC_ERR_ARG, "%d heads were asked for, but the file's metadata says heads = %d (leave "
                          "the number out to use it)", heads, h);
    if (heads == 0) {
        if (h > 0)
            heads = h;
        else if (octic_arch_match(cfg))
            heads = octic_arch_match(cfg)->config.heads;
    }
    if (heads == 0)
        return octic_fail(OCTIC_ERR_MISSING,
                          "the number of attention heads is not stored in a .pth checkpoint and "
                          "this is not a published architecture (%s %s, depth %d, dim %d): give it "
                          "with --heads N",
                          octic_family_name(cfg->family), octic_kind_name(cfg->kind), cfg->depth, C);
    if ((st = octic_config_check_heads(cfg, heads)) != OCTIC_OK) return st;
    cfg->heads = heads;
    return OCTIC_OK;
}

/* ------------------------------------------------------------------------ */
/* Parameters and multiply-adds                                              */
/*
 * Parameters: every nn.Parameter of the PyTorch module, as
 * sum(p.numel() for p in model.parameters()) counts them, including the
 * frozen zero irreps of octic class/register/mask tokens.
 *
 * Multiply-adds: what fvcore's FlopCountAnalysis reports for these models
 * with the extra handles of the published utils/fvcore.py (one multiply-add
 * = one FLOP), for one image. With T tokens of width C, c = C/8, hidden
 * width H, N patches:
 *   - linear layers: T*in*out (bias not counted); an octic LinearD8 is four
 *     Linear(in/8, out/8) and one Linear(in/4, out/4) on both E rows, i.e.
 *     3/16 of the dense count;
 *   - patch embedding: N*C*3*p*p (the lift's eight p x p convolutions add up
 *     to the dense one), plus the lift's kernel expansion (mul, rot90, neg,
 *     add on the quarter kernels: 50 quarter-kernel sizes in all);
 *   - attention: scaled_dot_product_attention (DeiT III blocks and octic
 *     blocks) 2*T*T*C; DINOv2 blocks' explicit q@k^T and attn@v matmuls the
 *     same, plus q*scale (T*C) and softmax (5 per score, heads*T*T);
 *   - LayerNorm: 5 per element; exact GELU: 8 per element; layer scale
 *     multiplies and residual adds: 1 per element;
 *   - LayerNormD8: means (C per token), subtraction, division, the affine
 *     multiply (1 per element each), beta add (c per token), the variance sum,
 *     sqrt (4), scale and mean over E rows (12 per token) and the var handle's
 *     2 x reduced width per call (12c);
 *   - octic GELU: counted as the PyTorch GeluD8 (iso->regular butterfly,
 *     8-per-element GELU, regular->iso: 16 per hidden element); the Triton
 *     kernel the published code uses is invisible to fvcore, but the math is
 *     this;
 *   - invariants: power spectrum and linear use abs/norm, which fvcore does
 *     not count; the polynomial one costs 294 per c-element per token (37
 *     pow at 5, 86 mul, 23 add/sub), the third-order one 98 (12 pow, 30 mul,
 *     8 add/sub); then invariant_proj;
 *   - position embedding adds (N*C for DeiT III and octic models, T*C for
 *     DINOv2 standard), the final LayerNorm over all T tokens, the DeiT head.
 * Not counted (as fvcore does not, or below 0.01%): reshapes, concatenation,
 * dropout in eval, abs/norm, the octic position embedding's unfolding and
 * bicubic resizing of position embeddings.
 */

typedef struct {
    int64_t params, macs;
} counter;

/* A standard transformer block. */
static void count_std_block(const octic_config *cfg, int64_t T, int layer_scale, counter *n) {
    int64_t C = cfg->dim, H = cfg->mlp_hidden, heads = cfg->heads;
    int dino = cfg->family == OCTIC_FAMILY_DINOV2;
    n->params += 2 * 2 * C;                          /* norm1, norm2 */
    n->params += 3 * C * C + 3 * C + C * C + C;      /* qkv, proj */
    n->params += C * H + H + H * C + C;              /* fc1, fc2 */
    if (layer_scale) n->params += 2 * C;             /* gamma_1/2 or ls1/2.gamma */

    n->macs += 2 * 5 * T * C;                        /* layer norms */
    n->macs += T * C * 3 * C + T * C * C;            /* qkv, proj */
    n->macs += 2 * T * T * C;                        /* q k^T, attn v */
    if (dino) n->macs += T * C + 5 * heads * T * T;  /* q * scale, softmax */
    n->macs += T * C * H + T * H * C + 8 * T * H;    /* fc1, fc2, GELU */
    if (layer_scale) n->macs += 2 * T * C;           /* layer scale */
    n->macs += 2 * T * C;                            /* residual adds */
}

/* LinearD8(in, out): params and per-token multiply-adds. */
static void count_linear8(int64_t in, int64_t out, int64_t T, counter *n) {
    n->params += 4 * (in / 8) * (out / 8) + (in / 4) * (out / 4) + out / 8;
    n->macs += T * (4 * (in / 8) * (out / 8) + 2 * (in / 4) * (out / 4));
}

/* An octic block (both families: AffineD8 layer scales without beta). */
static void count_octic_block(const octic_config *cfg, int64_t T, counter *n) {
    int64_t C = cfg->dim, c = C / 8, H = cfg->mlp_hidden;
    n->params += 2 * (7 * c);                       /* LayerNormD8: alphas + beta */
    n->params += 2 * (6 * c);                       /* gamma_1/2 or ls1/2 */
    count_linear8(C, 3 * C, T, n);
    count_linear8(C, C, T, n);
    count_linear8(C, H, T, n);
    count_linear8(H, C, T, n);

    n->macs += 2 * (4 * T * C + T * c + 12 * T + 12 * c); /* LayerNormD8 */
    n->macs += 2 * T * T * C;                             /* attention */
    n->macs += 16 * T * H;                                /* octic GELU */
    n->macs += 2 * T * C + 2 * T * C;                     /* layer scale, residual */
}

static void count_model(const octic_config *cfg, int img, int dino_layer_scale, counter *n) {
    int64_t C = cfg->dim, c = C / 8, p = cfg->patch, g = cfg->grid, R = cfg->registers;
    int dino = cfg->family == OCTIC_FAMILY_DINOV2;
    int octic = cfg->kind != OCTIC_KIND_STANDARD;
    int64_t side = p > 0 ? img / p : 0;
    int64_t N = side * side, T = 1 + R + N;
    memset(n, 0, sizeof *n);

    /* Embedding: patches, class/register/mask tokens, position embedding. */
    if (octic) {
        int64_t quarter = c * 3 * (p / 2) * (p / 2);
        n->params += 6 * quarter + c;
        n->params += C + R * C + (dino ? C : 0);
        n->params += 6 * (g / 2) * (g / 2) * c;
        n->macs += N * C * 3 * p * p + 50 * quarter;
        n->macs += N * C;
    } else {
        n->params += C * 3 * p * p + C;
        n->params += C + R * C + (dino ? C : 0);
        n->params += (g * g + (dino ? 1 : 0)) * C;
        n->macs += N * C * 3 * p * p;
        n->macs += (dino ? T : N) * C;
    }

    int layer_scale = octic || !dino || dino_layer_scale;
    for (int i = 0; i < cfg->depth; i++) {
        if (i < cfg->break_layer)
            count_octic_block(cfg, T, n);
        else
            count_std_block(cfg, T, layer_scale, n);
    }

    if (cfg->kind == OCTIC_KIND_INVARIANT) {
        int64_t W = octic_invariant_width(cfg->invariant, cfg->dim);
        n->params += W * C + C;
        n->macs += T * W * C;
        if (cfg->invariant == OCTIC_INV_POLYNOMIAL) n->macs += 294 * T * c;
        if (cfg->invariant == OCTIC_INV_THIRD_ORDER) n->macs += 98 * T * c;
    }

    n->params += 2 * C;
    n->macs += 5 * T * C;
    if (cfg->classes > 0) {
        n->params += C * cfg->classes + cfg->classes;
        n->macs += C * cfg->classes;
    }
}

octic_cost octic_config_cost(const octic_config *cfg, int img) {
    counter n;
    count_model(cfg, img, !cfg->no_layer_scale, &n);
    return (octic_cost){n.params, n.macs};
}

octic_cost octic_arch_cost(const octic_arch *arch, int img) {
    counter n;
    /* vit_large()/vit_huge() default to init_values=None: no LayerScale. */
    count_model(&arch->config, img, 0, &n);
    return (octic_cost){n.params, n.macs};
}

/* ------------------------------------------------------------------------ */
/* Metadata                                                                 */

octic_status octic_config_to_meta(const octic_config *cfg, octic_tensor_set *set) {
    octic_status st;
    const struct {
        const char *key, *value;
    } strs[] = {
        {"format", "octiscope"},
        {"family", octic_family_name(cfg->family)},
        {"kind", octic_kind_name(cfg->kind)},
        {"invariant", octic_invariant_name(cfg->invariant)},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if ((st = octic_tensor_set_set_meta(set, strs[i].key, strs[i].value)) != OCTIC_OK) return st;
    const struct {
        const char *key;
        int value;
    } ints[] = {
        {"depth", cfg->depth},     {"dim", cfg->dim},           {"heads", cfg->heads},
        {"patch", cfg->patch},     {"grid", cfg->grid},         {"classes", cfg->classes},
        {"registers", cfg->registers}, {"break_layer", cfg->break_layer},
        {"mlp_hidden", cfg->mlp_hidden},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d", ints[i].value);
        if ((st = octic_tensor_set_set_meta(set, ints[i].key, buf)) != OCTIC_OK) return st;
    }
    return OCTIC_OK;
}
