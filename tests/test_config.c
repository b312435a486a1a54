/* The model description: published architectures and their parameter and
 * FLOP counts (model.md is the spec), inference from the golden cases'
 * state dicts, heads, errors, metadata. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static const char *golden_dir(void) {
    const char *d = getenv("OCTIC_GOLDEN_DIR");
    return d ? d : "tests/golden";
}

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) s[n] = '\0';
    fclose(f);
    return s;
}

/* The value after "key": in a flat JSON object, or NULL. */
static const char *json_value(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    return p;
}

/* An integer field; `absent` when missing or null. */
static long json_int(const char *json, const char *key, long absent) {
    const char *v = json_value(json, key);
    if (!v || strncmp(v, "null", 4) == 0) return absent;
    return strtol(v, NULL, 10);
}

/* The tensors of a golden case (names and shapes from tensors.txt, data
 * zero-filled). */
static void load_case(const char *name, octic_tensor_set *set, char **json) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/tensors.txt", golden_dir(), name);
    char *text = read_text(path);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    octic_tensor_set_init(set);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || line[0] == '\0') continue;
        char *tab = strchr(line, '\t');
        ck_assert_msg(tab != NULL, "bad line in %s: %s", path, line);
        *tab = '\0';
        char *p = strchr(tab + 1, '[');
        ck_assert_ptr_nonnull(p);
        p++;
        int64_t shape[OCTIC_MAX_DIMS];
        int ndim = 0;
        while (*p && *p != ']') {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p) break;
            ck_assert_int_lt(ndim, OCTIC_MAX_DIMS);
            shape[ndim++] = v;
            p = end;
            while (*p == ',' || *p == ' ') p++;
        }
        int64_t n = octic_numel(shape, ndim);
        float *data = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
        ck_assert_ptr_nonnull(data);
        ck_assert_int_eq(octic_tensor_set_add(set, line, ndim, shape, data, 1), OCTIC_OK);
    }
    free(text);
    if (json) {
        snprintf(path, sizeof path, "%s/%s/case.json", golden_dir(), name);
        *json = read_text(path);
        ck_assert_msg(*json != NULL, "cannot read %s", path);
    }
}

static octic_tensor *find_mut(octic_tensor_set *set, const char *name) {
    for (int i = 0; i < set->count; i++)
        if (strcmp(set->tensors[i].name, name) == 0) return &set->tensors[i];
    return NULL;
}

/* Hides a tensor from the set (renames it). */
static void hide(octic_tensor_set *set, const char *name) {
    octic_tensor *t = find_mut(set, name);
    ck_assert_msg(t != NULL, "no tensor %s", name);
    t->name[0] = '_';
}

static void assert_error(octic_status got, octic_status want, const char *needle) {
    ck_assert_msg(got == want, "status %s (%s), expected %s", octic_status_name(got),
                  octic_last_error(), octic_status_name(want));
    if (needle)
        ck_assert_msg(strstr(octic_last_error(), needle) != NULL,
                      "message \"%s\" does not mention \"%s\"", octic_last_error(), needle);
}

/* ------------------------------------------------------------------------ */
/* A state dict with the published layout for a description (names and
 * shapes only), written here from the reference code independently of the
 * engine, to check inference and the parameter count against each other. */

static int64_t sum_numel;

static void add(octic_tensor_set *set, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(octic_tensor_set *set, int ndim, const int64_t *shape, const char *fmt, ...) {
    char name[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    ck_assert_int_eq(octic_tensor_set_add(set, name, ndim, shape, NULL, 0), OCTIC_OK);
    sum_numel += octic_numel(shape, ndim);
}

#define S(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

static const char *irreps[5] = {"A1", "A2", "B1", "B2", "E"};

static void add_lin8(octic_tensor_set *set, const char *pre, int64_t in, int64_t out) {
    for (int q = 0; q < 4; q++) add(set, S(out / 8, in / 8), "%s.lin_%s.weight", pre, irreps[q]);
    add(set, S(out / 8), "%s.lin_A1.bias", pre);
    add(set, S(out / 4, in / 4), "%s.lin_E.weight", pre);
}

static void add_aff8(octic_tensor_set *set, const char *pre, int64_t C, int beta) {
    for (int q = 0; q < 5; q++) add(set, S(q == 4 ? C / 4 : C / 8), "%s.alpha_%s", pre, irreps[q]);
    if (beta) add(set, S(C / 8), "%s.beta", pre);
}

/* chunk >= 0: DINOv2 chunked names blocks.<chunk>.<i>. */
static void make_set(const octic_config *cfg, int chunk, int layer_scale, octic_tensor_set *set) {
    int64_t C = cfg->dim, c = C / 8, p = cfg->patch, g = cfg->grid, H = cfg->mlp_hidden;
    int64_t R = cfg->registers;
    int deit = cfg->family == OCTIC_FAMILY_DEIT;
    char pre[128];
    octic_tensor_set_init(set);
    sum_numel = 0;
    if (cfg->kind == OCTIC_KIND_STANDARD) {
        add(set, S(1, 1, C), "cls_token");
        add(set, S(1, g * g + (deit ? 0 : 1), C), "pos_embed");
        if (R) add(set, S(1, R, C), "register_tokens");
        if (!deit) add(set, S(1, C), "mask_token");
        add(set, S(C, 3, p, p), "patch_embed.proj.weight");
        add(set, S(C), "patch_embed.proj.bias");
    } else {
        const char *convs[6] = {"A1", "A2", "B1", "B2", "E_left", "E_right"};
        add(set, S(c), "patch_embed.lift8.conv_A1.bias");
        for (int k = 0; k < 6; k++) add(set, S(c, 3, p / 2, p / 2), "patch_embed.lift8.conv_%s.weight", convs[k]);
        for (int k = 0; k < (deit ? 4 : 8); k++) add(set, S(1, 1, c), "cls_token.%d", k);
        if (deit) add(set, S(1, 1, 2, 2 * c), "cls_token.4");
        if (R)
            for (int k = 0; k < 8; k++) add(set, S(1, R, c), "register_tokens.%d", k);
        for (int k = 0; k < 6; k++) add(set, S(g / 2, g / 2, c), "pos_embed.%d", k);
        if (!deit)
            for (int k = 0; k < 8; k++) add(set, S(1, c), "mask_token.%d", k);
        if (cfg->kind == OCTIC_KIND_INVARIANT) {
            add(set, S(C, octic_invariant_width(cfg->invariant, cfg->dim)), "invariant_proj.weight");
            add(set, S(C), "invariant_proj.bias");
        }
    }
    for (int i = 0; i < cfg->depth; i++) {
        char b[32];
        if (chunk >= 0)
            snprintf(b, sizeof b, "blocks.%d.%d", chunk, i);
        else
            snprintf(b, sizeof b, "blocks.%d", i);
        if (i < cfg->break_layer) {
            snprintf(pre, sizeof pre, "%s.norm1.scaling", b), add_aff8(set, pre, C, 1);
            snprintf(pre, sizeof pre, "%s.attn.qkv", b), add_lin8(set, pre, C, 3 * C);
            snprintf(pre, sizeof pre, "%s.attn.proj", b), add_lin8(set, pre, C, C);
            snprintf(pre, sizeof pre, "%s.%s", b, deit ? "gamma_1" : "ls1"), add_aff8(set, pre, C, 0);
            snprintf(pre, sizeof pre, "%s.norm2.scaling", b), add_aff8(set, pre, C, 1);
            snprintf(pre, sizeof pre, "%s.mlp.fc1", b), add_lin8(set, pre, C, H);
            snprintf(pre, sizeof pre, "%s.mlp.fc2", b), add_lin8(set, pre, H, C);
            snprintf(pre, sizeof pre, "%s.%s", b, deit ? "gamma_2" : "ls2"), add_aff8(set, pre, C, 0);
        } else {
            if (layer_scale) add(set, S(C), deit ? "%s.gamma_1" : "%s.ls1.gamma", b);
            if (layer_scale) add(set, S(C), deit ? "%s.gamma_2" : "%s.ls2.gamma", b);
            add(set, S(C), "%s.norm1.weight", b);
            add(set, S(C), "%s.norm1.bias", b);
            add(set, S(3 * C, C), "%s.attn.qkv.weight", b);
            add(set, S(3 * C), "%s.attn.qkv.bias", b);
            add(set, S(C, C), "%s.attn.proj.weight", b);
            add(set, S(C), "%s.attn.proj.bias", b);
            add(set, S(C), "%s.norm2.weight", b);
            add(set, S(C), "%s.norm2.bias", b);
            add(set, S(H, C), "%s.mlp.fc1.weight", b);
            add(set, S(H), "%s.mlp.fc1.bias", b);
            add(set, S(C, H), "%s.mlp.fc2.weight", b);
            add(set, S(C), "%s.mlp.fc2.bias", b);
        }
    }
    add(set, S(C), "norm.weight");
    add(set, S(C), "norm.bias");
    if (cfg->classes) {
        add(set, S(cfg->classes, C), "head.weight");
        add(set, S(cfg->classes), "head.bias");
    }
}

static void assert_same_config(const octic_config *a, const octic_config *b) {
    ck_assert_int_eq(a->family, b->family);
    ck_assert_int_eq(a->kind, b->kind);
    ck_assert_int_eq(a->depth, b->depth);
    ck_assert_int_eq(a->dim, b->dim);
    ck_assert_int_eq(a->heads, b->heads);
    ck_assert_int_eq(a->patch, b->patch);
    ck_assert_int_eq(a->grid, b->grid);
    ck_assert_int_eq(a->classes, b->classes);
    ck_assert_int_eq(a->registers, b->registers);
    ck_assert_int_eq(a->mlp_hidden, b->mlp_hidden);
    ck_assert_int_eq(a->break_layer, b->break_layer);
    ck_assert_int_eq(a->invariant, b->invariant);
}

/* ------------------------------------------------------------------------ */
/* Names and the table                                                       */

START_TEST(test_names) {
    ck_assert_str_eq(octic_family_name(OCTIC_FAMILY_DEIT), "deit3");
    ck_assert_str_eq(octic_family_name(OCTIC_FAMILY_DINOV2), "dinov2");
    ck_assert_str_eq(octic_kind_name(OCTIC_KIND_STANDARD), "standard");
    ck_assert_str_eq(octic_kind_name(OCTIC_KIND_HYBRID), "hybrid");
    ck_assert_str_eq(octic_kind_name(OCTIC_KIND_INVARIANT), "invariant");
    ck_assert_str_eq(octic_invariant_name(OCTIC_INV_NONE), "none");
    ck_assert_str_eq(octic_invariant_name(OCTIC_INV_POWER_SPECTRUM), "power_spectrum");
    ck_assert_str_eq(octic_invariant_name(OCTIC_INV_POLYNOMIAL), "polynomial");
    ck_assert_str_eq(octic_invariant_name(OCTIC_INV_THIRD_ORDER), "third_order");
    ck_assert_str_eq(octic_invariant_name(OCTIC_INV_LINEAR), "linear");
    ck_assert_int_eq(octic_invariant_width(OCTIC_INV_POWER_SPECTRUM, 64), 48);
    ck_assert_int_eq(octic_invariant_width(OCTIC_INV_POLYNOMIAL, 64), 256);
    ck_assert_int_eq(octic_invariant_width(OCTIC_INV_THIRD_ORDER, 64), 120);
    ck_assert_int_eq(octic_invariant_width(OCTIC_INV_LINEAR, 64), 8);
    ck_assert_int_eq(octic_invariant_width(OCTIC_INV_NONE, 64), 0);
}
END_TEST

/* model.md's table: the spec. */
static const struct {
    const char *name, *title;
    double params_m; /* params (code) */
    double gflops;   /* README */
} published[] = {
    {"hybrid_deit_huge_patch14", "DeiT III Hybrid ViT-H/14", 355.78, 102},
    {"d8_inv_early_deit_huge_patch14", "DeiT III Invariant ViT-H/14", 362.33, 104},
    {"hybrid_deit_large_patch16", "DeiT III Hybrid ViT-L/16", 171.32, 38},
    {"d8_inv_early_deit_large_patch16", "DeiT III Invariant ViT-L/16", 175.52, 39},
    {"deit_huge_patch14_LS", "DeiT III ViT-H/14", 632.13, 167},
    {"deit_large_patch16_LS", "DeiT III ViT-L/16", 304.37, 61.6},
    {"vit_huge", "DINOv2 ViT-H/16", 630.92, 128},
    {"hybrid_vit_huge", "DINOv2 Hybrid ViT-H/16", 354.53, 78},
    {"vit_huge_inv_early", "DINOv2 Invariant ViT-H/16", 355.76, 78},
    {"vit_large", "DINOv2 ViT-L/16", 303.30, 62},
    {"hybrid_vit_large", "DINOv2 Hybrid ViT-L/16", 170.30, 38},
    {"vit_large_inv_early", "DINOv2 Invariant ViT-L/16", 171.08, 38},
};
#define N_PUBLISHED ((int)(sizeof published / sizeof published[0]))

START_TEST(test_arch_table) {
    ck_assert_int_eq(octic_arch_count(), N_PUBLISHED);
    ck_assert_ptr_null(octic_arch_get(-1));
    ck_assert_ptr_null(octic_arch_get(N_PUBLISHED));
    ck_assert_ptr_null(octic_arch_find("vit_giant2"));
    ck_assert_ptr_null(octic_arch_find(NULL));
    for (int i = 0; i < N_PUBLISHED; i++) {
        const octic_arch *a = octic_arch_find(published[i].name);
        ck_assert_msg(a != NULL, "%s not found", published[i].name);
        ck_assert_str_eq(a->title, published[i].title);
        const octic_config *c = &a->config;
        ck_assert_int_eq(c->heads, 16);
        ck_assert_int_eq(c->mlp_hidden, 4 * c->dim);
        ck_assert_int_eq(c->registers, 0);
        ck_assert_int_eq(c->grid * c->patch, 224);
        ck_assert_int_eq(c->classes, c->family == OCTIC_FAMILY_DEIT ? 1000 : 0);
        ck_assert_int_eq(c->break_layer, c->kind == OCTIC_KIND_STANDARD ? 0 : c->depth / 2);
        /* the released checkpoints' invariants: polynomial (DeiT III), power spectrum (DINOv2) */
        ck_assert_int_eq(c->invariant, c->kind != OCTIC_KIND_INVARIANT      ? OCTIC_INV_NONE
                                       : c->family == OCTIC_FAMILY_DEIT ? OCTIC_INV_POLYNOMIAL
                                                                          : OCTIC_INV_POWER_SPECTRUM);
        ck_assert_ptr_eq(octic_arch_match(c), a);
        octic_config poly = *c; /* the other invariant: the same architecture */
        poly.heads = 0;
        if (poly.kind == OCTIC_KIND_INVARIANT)
            poly.invariant = c->invariant == OCTIC_INV_POLYNOMIAL ? OCTIC_INV_POWER_SPECTRUM : OCTIC_INV_POLYNOMIAL;
        ck_assert_ptr_eq(octic_arch_match(&poly), a);
        poly.grid = 24;
        ck_assert_ptr_null(octic_arch_match(&poly));
    }
    ck_assert_ptr_eq(octic_arch_find("hybrid_dinov2_vit_large_patch16"), octic_arch_find("hybrid_vit_large"));
    ck_assert_ptr_eq(octic_arch_find("d8_inv_early_dinov2_vit_huge_patch16"),
                     octic_arch_find("vit_huge_inv_early"));
    ck_assert_int_eq(octic_arch_find("hybrid_deit_huge_patch14")->config.patch, 14);
    ck_assert_int_eq(octic_arch_find("vit_huge")->config.depth, 32);
    ck_assert_int_eq(octic_arch_find("vit_large")->config.dim, 1024);
}
END_TEST

/* The name a mistyped one most likely means, for the command line's error. */
START_TEST(test_arch_nearest) {
    static const struct {
        const char *typed, *meant; /* meant NULL: no suggestion */
    } cases[] = {
        {"vit_larg", "vit_large"},                       /* a letter short; also begins vit_large_inv_early */
        {"VIT_LARGE", "vit_large"},                      /* case */
        {"deit_large_patch16_ls", "deit_large_patch16_LS"},
        {"hybrid_vit_largee", "hybrid_vit_large"},       /* a letter too many */
        {"vit_huge_inv_erly", "vit_huge_inv_early"},     /* a letter missing inside */
        {"hybird_deit_large_patch16", "hybrid_deit_large_patch16"},
        {"deit_huge", "deit_huge_patch14_LS"},           /* the only name it begins */
        {"vit_large_inv", "vit_large_inv_early"},
        {"inv_early_deit_large", "d8_inv_early_deit_large_patch16"}, /* inside one name only */
        {"dinov2_vit_huge_patch16", NULL},               /* inside two aliases */
        {"hybrid_dinov2_vit_large_patch17", "hybrid_vit_large"}, /* an alias, one edit away */
        {"d8_inv_early_deit_large_patch16", NULL},       /* found as it is: nothing to suggest */
        {"deit_small_patch16_LS", NULL},                 /* 5 edits: no small model */
        {"hybrid", NULL},                                /* begins and is inside several */
        {"large_patch16", NULL},
        {"vit", NULL},
        {"", NULL},
        {"a_name_of_more_than_sixty_three_letters_which_no_architecture_has_at_all", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const octic_arch *a = octic_arch_nearest(cases[i].typed);
        if (!cases[i].meant)
            ck_assert_msg(a == NULL, "'%s': suggested '%s'", cases[i].typed, a ? a->name : "");
        else
            ck_assert_msg(a && strcmp(a->name, cases[i].meant) == 0, "'%s': suggested '%s', expected '%s'",
                          cases[i].typed, a ? a->name : "(none)", cases[i].meant);
    }
    ck_assert_ptr_null(octic_arch_nearest(NULL));
    for (int i = 0; i < N_PUBLISHED; i++) ck_assert_ptr_null(octic_arch_nearest(published[i].name));
}
END_TEST

static void check_cost(const char *what, octic_cost cost, double params_m, double gflops) {
    long long want = llround(params_m * 100);
    long long got = llround((double)cost.params / 1e4);
    ck_assert_msg(got == want, "%s: %.4f M parameters, published %.2f M", what,
                  (double)cost.params / 1e6, params_m);
    double g = (double)cost.macs / 1e9;
    ck_assert_msg(fabs(g / gflops - 1) <= 0.03, "%s: %.2f GFLOPs, published %.1f (%+.2f%%)", what, g,
                  gflops, 100 * (g / gflops - 1));
}

START_TEST(test_published_costs) {
    for (int i = 0; i < N_PUBLISHED; i++) {
        const octic_arch *a = octic_arch_find(published[i].name);
        check_cost(a->name, octic_arch_cost(a, 224), published[i].params_m, published[i].gflops);
        /* The checkpoints' own layout: DINOv2 baselines were trained with LayerScale. */
        octic_cost ck = octic_config_cost(&a->config, 224);
        int64_t extra = a->config.family == OCTIC_FAMILY_DINOV2 && a->config.kind == OCTIC_KIND_STANDARD
                            ? 2 * (int64_t)a->config.dim * a->config.depth
                            : 0;
        ck_assert_int_eq(ck.params, octic_arch_cost(a, 224).params + extra);
        ck_assert_int_ge(ck.macs, octic_arch_cost(a, 224).macs);
    }
}
END_TEST

/* The released DeiT III invariant checkpoints use the polynomial invariant
 * (the table's entries); with the published code's default, the power
 * spectrum, the same architectures have model.md's other figures. */
START_TEST(test_polynomial_costs) {
    octic_config h = octic_arch_find("d8_inv_early_deit_huge_patch14")->config;
    octic_config l = octic_arch_find("d8_inv_early_deit_large_patch16")->config;
    ck_assert_int_eq(h.invariant, OCTIC_INV_POLYNOMIAL);
    ck_assert_int_eq(l.invariant, OCTIC_INV_POLYNOMIAL);
    h.invariant = l.invariant = OCTIC_INV_POWER_SPECTRUM;
    check_cost("DeiT III Invariant ViT-H/14 (power spectrum)", octic_config_cost(&h, 224), 357.01, 104);
    check_cost("DeiT III Invariant ViT-L/16 (power spectrum)", octic_config_cost(&l, 224), 172.11, 39);
    /* Third-order and linear: invariant_proj of 15C/8 and C/8 inputs. */
    octic_config t = l;
    t.invariant = OCTIC_INV_THIRD_ORDER;
    int64_t base = octic_config_cost(&octic_arch_find("hybrid_deit_large_patch16")->config, 224).params;
    ck_assert_int_eq(octic_config_cost(&t, 224).params - base, 15 * 128 * 1024 + 1024);
    t.invariant = OCTIC_INV_LINEAR;
    ck_assert_int_eq(octic_config_cost(&t, 224).params - base, 128 * 1024 + 1024);
}
END_TEST

/* FLOPs scale with the input: more tokens, more multiply-adds; the
 * parameter count does not depend on it. */
START_TEST(test_cost_resolution) {
    const octic_arch *a = octic_arch_find("hybrid_vit_large");
    octic_cost c224 = octic_config_cost(&a->config, 224), c448 = octic_config_cost(&a->config, 448);
    ck_assert_int_eq(c224.params, c448.params);
    ck_assert_int_gt(c448.macs, 4 * c224.macs);
}
END_TEST

/* Every published layout: inference gives back the description, and the
 * parameter count equals the number of stored floats. */
START_TEST(test_published_layouts) {
    for (int i = 0; i < octic_arch_count(); i++) {
        const octic_arch *a = octic_arch_get(i);
        for (int variant = 0; variant < 2; variant++) {
            octic_config want = a->config;
            if (variant == 1 && want.kind == OCTIC_KIND_INVARIANT) want.invariant = OCTIC_INV_POLYNOMIAL;
            octic_tensor_set set;
            make_set(&want, -1, 1, &set);
            octic_config got;
            octic_status st = octic_config_infer(&set, 0, &got);
            ck_assert_msg(st == OCTIC_OK, "%s: %s", a->name, octic_last_error());
            assert_same_config(&got, &want);
            ck_assert_int_eq(octic_config_cost(&got, 224).params, sum_numel);
            octic_tensor_set_free(&set);
        }
        if (a->config.family == OCTIC_FAMILY_DINOV2 && a->config.kind == OCTIC_KIND_STANDARD) {
            /* As vit_large()/vit_huge() build it: no LayerScale. */
            octic_tensor_set set;
            make_set(&a->config, -1, 0, &set);
            octic_config got;
            ck_assert_int_eq(octic_config_infer(&set, 0, &got), OCTIC_OK);
            ck_assert_int_eq(octic_arch_cost(a, 224).params, sum_numel);
            octic_tensor_set_free(&set);
        }
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Golden cases                                                              */

static const char *cases[] = {
    "deit_hybrid_p16",  "deit_hybrid_p14", "deit_invariant_p16", "deit_invariant_poly",
    "deit_baseline_p16", "dino_hybrid_p16", "dino_invariant_p16", "dino_baseline_p16",
    "dino_hybrid_interp",
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

START_TEST(test_golden_infer) {
    const char *name = cases[_i];
    octic_tensor_set set;
    char *json;
    load_case(name, &set, &json);
    int heads = (int)json_int(json, "num_heads", -1);
    octic_config cfg;
    octic_status st = octic_config_infer(&set, heads, &cfg);
    ck_assert_msg(st == OCTIC_OK, "%s: %s", name, octic_last_error());

    const char *fam = json_value(json, "family");
    ck_assert_int_eq(cfg.family, strncmp(fam, "\"deit\"", 6) == 0 ? OCTIC_FAMILY_DEIT : OCTIC_FAMILY_DINOV2);
    const char *inv = json_value(json, "invariant");
    octic_kind kind = strncmp(inv, "null", 4) == 0   ? OCTIC_KIND_STANDARD
                      : strncmp(inv, "true", 4) == 0 ? OCTIC_KIND_INVARIANT
                                                     : OCTIC_KIND_HYBRID;
    ck_assert_int_eq(cfg.kind, kind);
    ck_assert_int_eq(cfg.depth, json_int(json, "depth", -1));
    ck_assert_int_eq(cfg.dim, json_int(json, "embed_dim", -1));
    ck_assert_int_eq(cfg.heads, heads);
    ck_assert_int_eq(cfg.patch, json_int(json, "patch_size", -1));
    int img = (int)json_int(json, "img_size", -1);
    ck_assert_int_eq(cfg.grid, img / cfg.patch);
    ck_assert_int_eq(cfg.classes, json_int(json, "num_classes", 0));
    ck_assert_int_eq(cfg.registers, json_int(json, "num_register_tokens", 0));
    ck_assert_int_eq(cfg.break_layer, json_int(json, "octic_equi_break_layer", 0));
    ck_assert_int_eq(cfg.mlp_hidden, 4 * cfg.dim);
    octic_invariant want_inv = kind != OCTIC_KIND_INVARIANT ? OCTIC_INV_NONE
                               : strstr(name, "poly")      ? OCTIC_INV_POLYNOMIAL
                                                           : OCTIC_INV_POWER_SPECTRUM;
    ck_assert_int_eq(cfg.invariant, want_inv);
    ck_assert_int_eq(octic_config_cost(&cfg, img).params, json_int(json, "params", -1));
    ck_assert_ptr_null(octic_arch_match(&cfg));

    /* The same from metadata written by us. */
    ck_assert_int_eq(octic_config_to_meta(&cfg, &set), OCTIC_OK);
    octic_config again;
    ck_assert_int_eq(octic_config_infer(&set, 0, &again), OCTIC_OK);
    assert_same_config(&again, &cfg);

    free(json);
    octic_tensor_set_free(&set);
}
END_TEST

START_TEST(test_golden_heads_missing) {
    const char *name = cases[_i];
    octic_tensor_set set;
    load_case(name, &set, NULL);
    octic_config cfg;
    assert_error(octic_config_infer(&set, 0, &cfg), OCTIC_ERR_MISSING, "--heads");
    ck_assert_int_eq(cfg.heads, 0);
    ck_assert_int_eq(cfg.dim, 64); /* the rest is filled in */
    ck_assert_int_eq(cfg.depth, 4);
    octic_tensor_set_free(&set);
}
END_TEST

START_TEST(test_heads_checks) {
    octic_tensor_set set;
    octic_config cfg;
    load_case("deit_hybrid_p16", &set, NULL);
    assert_error(octic_config_infer(&set, 3, &cfg), OCTIC_ERR_ARG, "3 heads");
    /* 64 / 16 = 4 channels per head: not a multiple of 8 for an octic model. */
    assert_error(octic_config_infer(&set, 16, &cfg), OCTIC_ERR_ARG, "multiple of 8");
    ck_assert_int_eq(octic_config_infer(&set, 8, &cfg), OCTIC_OK);
    ck_assert_int_eq(cfg.heads, 8);
    assert_error(octic_config_infer(&set, -2, &cfg), OCTIC_ERR_ARG, NULL);
    /* Stored in metadata (a safetensors file written by us). */
    ck_assert_int_eq(octic_tensor_set_set_meta(&set, "heads", "4"), OCTIC_OK);
    ck_assert_int_eq(octic_config_infer(&set, 0, &cfg), OCTIC_OK);
    ck_assert_int_eq(cfg.heads, 4);
    /* a number given that contradicts it is an error, as every other
     * contradiction of the metadata is; the same number is fine */
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_ARG,
                 "2 heads were asked for, but the file's metadata says heads = 4");
    ck_assert_int_eq(octic_config_infer(&set, 4, &cfg), OCTIC_OK);
    ck_assert_int_eq(cfg.heads, 4);
    /* a stored value that is not a number is named */
    const char *bad[] = {"abc", "0", "-1", "4x"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(octic_tensor_set_set_meta(&set, "heads", bad[i]), OCTIC_OK);
        char want[120];
        snprintf(want, sizeof want, "metadata gives heads = \"%s\", which is not a positive whole number", bad[i]);
        assert_error(octic_config_infer(&set, 0, &cfg), OCTIC_ERR_FORMAT, want);
    }
    octic_tensor_set_free(&set);

    /* A standard model takes 16 heads of width 4. */
    load_case("deit_baseline_p16", &set, NULL);
    ck_assert_int_eq(octic_config_infer(&set, 16, &cfg), OCTIC_OK);
    assert_error(octic_config_infer(&set, 5, &cfg), OCTIC_ERR_ARG, "5 heads");
    octic_tensor_set_free(&set);
}
END_TEST

START_TEST(test_errors) {
    octic_tensor_set set;
    octic_config cfg;

    load_case("deit_hybrid_p16", &set, NULL);
    hide(&set, "pos_embed.0");
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_MISSING, "pos_embed.0");
    octic_tensor_set_free(&set);

    load_case("deit_baseline_p16", &set, NULL);
    find_mut(&set, "pos_embed")->shape[1] = 15;
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_SHAPE, "pos_embed");
    octic_tensor_set_free(&set);

    load_case("dino_hybrid_p16", &set, NULL);
    find_mut(&set, "pos_embed.0")->shape[2] = 9;
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_SHAPE, "pos_embed.0");
    octic_tensor_set_free(&set);

    load_case("deit_invariant_p16", &set, NULL);
    find_mut(&set, "invariant_proj.weight")->shape[1] = 50;
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_FORMAT, "invariant_proj.weight");
    ck_assert_msg(strstr(octic_last_error(), "48") && strstr(octic_last_error(), "256"),
                  "message should list the widths: %s", octic_last_error());
    octic_tensor_set_free(&set);

    load_case("dino_baseline_p16", &set, NULL);
    hide(&set, "patch_embed.proj.weight");
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_FORMAT, "patch_embed.lift8.conv_A1.weight");
    octic_tensor_set_free(&set);

    load_case("dino_baseline_p16", &set, NULL);
    find_mut(&set, "patch_embed.proj.weight")->shape[1] = 4;
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_SHAPE, "patch_embed.proj.weight");
    octic_tensor_set_free(&set);

    /* A block that is neither standard nor octic. */
    load_case("deit_hybrid_p16", &set, NULL);
    hide(&set, "blocks.2.norm1.weight");
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_FORMAT, "block 2");
    octic_tensor_set_free(&set);

    /* Octic block after a standard one. */
    load_case("deit_hybrid_p16", &set, NULL);
    hide(&set, "blocks.0.norm1.scaling.alpha_A1");
    int64_t shape[1] = {64};
    ck_assert_int_eq(octic_tensor_set_add(&set, "blocks.0.norm1.weight", 1, shape, NULL, 0), OCTIC_OK);
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_FORMAT, "octic blocks must come first");
    octic_tensor_set_free(&set);

    /* Standard patch embedding with octic blocks. */
    load_case("deit_hybrid_p16", &set, NULL);
    hide(&set, "patch_embed.lift8.conv_A1.weight");
    int64_t pshape[4] = {64, 3, 16, 16};
    ck_assert_int_eq(octic_tensor_set_add(&set, "patch_embed.proj.weight", 4, pshape, NULL, 0), OCTIC_OK);
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_FORMAT, "octic");
    octic_tensor_set_free(&set);

    /* MLP weights missing. */
    load_case("dino_baseline_p16", &set, NULL);
    hide(&set, "blocks.0.0.mlp.fc1.weight");
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_MISSING, "blocks.0.mlp.fc1.weight");
    octic_tensor_set_free(&set);

    /* Hostile sizes, which made counts overflow (undefined behaviour) or
     * loops of 2^31 blocks: a block index, a width, an MLP width. */
    load_case("deit_baseline_p16", &set, NULL);
    int64_t one[1] = {64};
    ck_assert_int_eq(octic_tensor_set_add(&set, "blocks.2147483647.norm1.weight", 1, one, NULL, 0), OCTIC_OK);
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_FORMAT, "block index 2147483647");
    octic_tensor_set_free(&set);
    load_case("deit_hybrid_p16", &set, NULL);
    find_mut(&set, "patch_embed.lift8.conv_A1.weight")->shape[0] = (1 << 28) - 1;
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_SHAPE, "patch_embed.lift8.conv_A1.weight");
    octic_tensor_set_free(&set);
    load_case("deit_baseline_p16", &set, NULL);
    find_mut(&set, "blocks.0.mlp.fc1.weight")->shape[0] = (int64_t)1 << 30;
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_SHAPE, "blocks.0.mlp.fc1.weight");
    octic_tensor_set_free(&set);

    /* Standard blocks without layer scales, a DINOv2 backbone without its
     * mask token (the .pth reader drops it), a DeiT III one without its head:
     * the length of pos_embed tells the family (square + 1: DINOv2) */
    for (int dino = 0; dino < 2; dino++) {
        load_case(dino ? "dino_baseline_p16" : "deit_baseline_p16", &set, NULL);
        for (int i = 0; i < set.count; i++)
            if (strstr(set.tensors[i].name, "ls1.") || strstr(set.tensors[i].name, "ls2.") ||
                strstr(set.tensors[i].name, "gamma_") || !strcmp(set.tensors[i].name, "head.weight") ||
                !strcmp(set.tensors[i].name, "mask_token"))
                set.tensors[i].name[0] = '_';
        ck_assert_msg(octic_config_infer(&set, 2, &cfg) == OCTIC_OK, "%s", octic_last_error());
        ck_assert_int_eq(cfg.family, dino ? OCTIC_FAMILY_DINOV2 : OCTIC_FAMILY_DEIT);
        octic_tensor_set_free(&set);
    }

    /* Head of the wrong width. */
    load_case("deit_baseline_p16", &set, NULL);
    find_mut(&set, "head.weight")->shape[1] = 32;
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_SHAPE, "head.weight");
    octic_tensor_set_free(&set);

    /* Not a ViT at all. */
    octic_tensor_set_init(&set);
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_FORMAT, "patch_embed.proj.weight");
    octic_tensor_set_free(&set);

    /* Metadata that contradicts the tensors. */
    load_case("dino_invariant_p16", &set, NULL);
    ck_assert_int_eq(octic_config_infer(&set, 2, &cfg), OCTIC_OK);
    ck_assert_int_eq(octic_config_to_meta(&cfg, &set), OCTIC_OK);
    ck_assert_int_eq(octic_tensor_set_set_meta(&set, "depth", "6"), OCTIC_OK);
    assert_error(octic_config_infer(&set, 2, &cfg), OCTIC_ERR_FORMAT, "depth");
    octic_tensor_set_free(&set);
}
END_TEST

/* DINOv2 chunked block names: blocks.<chunk>.<i>.* */
START_TEST(test_block_names) {
    const char *rest = NULL;
    ck_assert_int_eq(octic_block_index("blocks.0.5.norm1.weight", &rest), 5);
    ck_assert_str_eq(rest, "norm1.weight");
    ck_assert_int_eq(octic_block_index("blocks.12.attn.qkv.lin_E.weight", &rest), 12);
    ck_assert_str_eq(rest, "attn.qkv.lin_E.weight");
    ck_assert_int_eq(octic_block_index("blocks.3.17.ls1.gamma", NULL), 17);
    ck_assert_int_eq(octic_block_index("blocks.3", NULL), -1);
    ck_assert_int_eq(octic_block_index("blocks.3.", NULL), -1);
    ck_assert_int_eq(octic_block_index("blocks.x.norm1.weight", NULL), -1);
    ck_assert_int_eq(octic_block_index("cls_token", NULL), -1);
    ck_assert_int_eq(octic_block_index("norm.weight", NULL), -1);

    octic_tensor_set set;
    load_case("dino_baseline_p16", &set, NULL);
    const octic_tensor *t = octic_block_tensor(&set, 3, "mlp.fc2.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->name, "blocks.0.3.mlp.fc2.weight");
    ck_assert_ptr_null(octic_block_tensor(&set, 4, "mlp.fc2.weight"));
    octic_tensor_set_free(&set);

    /* Chunked names for published layouts, octic blocks included. */
    const char *names[] = {"vit_large", "hybrid_vit_huge", "vit_large_inv_early"};
    for (int i = 0; i < 3; i++) {
        const octic_arch *a = octic_arch_find(names[i]);
        make_set(&a->config, 0, 1, &set);
        octic_config got;
        ck_assert_msg(octic_config_infer(&set, 0, &got) == OCTIC_OK, "%s", octic_last_error());
        assert_same_config(&got, &a->config);
        octic_tensor_set_free(&set);
    }
}
END_TEST

START_TEST(test_meta) {
    const octic_config *cfg = &octic_arch_find("vit_huge_inv_early")->config;
    octic_tensor_set set;
    octic_tensor_set_init(&set);
    ck_assert_int_eq(octic_config_to_meta(cfg, &set), OCTIC_OK);
    const struct {
        const char *key, *value;
    } want[] = {
        {"format", "octiscope"}, {"family", "dinov2"}, {"kind", "invariant"}, {"depth", "32"},
        {"dim", "1280"},         {"heads", "16"},      {"patch", "16"},       {"grid", "14"},
        {"classes", "0"},        {"registers", "0"},   {"break_layer", "16"}, {"invariant", "power_spectrum"},
        {"mlp_hidden", "5120"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *v = octic_tensor_set_get_meta(&set, want[i].key);
        ck_assert_msg(v != NULL, "no metadata %s", want[i].key);
        ck_assert_str_eq(v, want[i].value);
    }
    octic_tensor_set_free(&set);
}
END_TEST

static Suite *config_suite(void) {
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_arch_table);
    tcase_add_test(tc, test_arch_nearest);
    tcase_add_test(tc, test_published_costs);
    tcase_add_test(tc, test_polynomial_costs);
    tcase_add_test(tc, test_cost_resolution);
    tcase_add_test(tc, test_published_layouts);
    tcase_add_loop_test(tc, test_golden_infer, 0, N_CASES);
    tcase_add_loop_test(tc, test_golden_heads_missing, 0, N_CASES);
    tcase_add_test(tc, test_heads_checks);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_block_names);
    tcase_add_test(tc, test_meta);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
