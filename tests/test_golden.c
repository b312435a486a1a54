/* Every golden case (outputs of the published PyTorch code) reproduced by the
 * engine to a max absolute difference of 1e-4, block by block. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "group.h"
#include "model.h"
#include "test_util.h"

#define TOL 1e-4f

/* The cases: every folder of the golden directory with a case.json (a new
 * case is a new folder), in name order; found by main. */
#define MAX_CASES 64
static char *cases[MAX_CASES];
static int n_cases;

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void find_cases(void) {
    const char *dir = getenv("OCTIC_GOLDEN_DIR");
    DIR *d = opendir(dir ? dir : "tests/golden");
    for (struct dirent *e; d && (e = readdir(d)) && n_cases < MAX_CASES;) {
        char path[1024];
        if (e->d_name[0] == '.' || access(golden_path(path, sizeof path, e->d_name, "case.json"), R_OK) != 0) continue;
        cases[n_cases++] = strdup(e->d_name);
    }
    if (d) closedir(d);
    qsort(cases, (size_t)n_cases, sizeof cases[0], by_name);
}

/* The nine cases of the published code's families are there (a golden
 * directory not found gives no loop to run, which must not pass). */
START_TEST(test_cases_found) {
    static const char *const expected[] = {"deit_hybrid_p16",   "deit_hybrid_p14",    "deit_invariant_p16",
                                           "deit_invariant_poly", "deit_baseline_p16", "dino_hybrid_p16",
                                           "dino_invariant_p16", "dino_baseline_p16",  "dino_hybrid_interp"};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        int found = 0;
        for (int c = 0; c < n_cases; c++) found |= strcmp(cases[c], expected[i]) == 0;
        ck_assert_msg(found, "golden case %s not found (%d cases)", expected[i], n_cases);
    }
}
END_TEST

static octic_model *load_case(const char *name) {
    char path[1024];
    octic_model *m = NULL;
    golden_path(path, sizeof path, name, "model.pth");
    octic_status st = octic_model_load(path, golden_int(name, "num_heads"), &m);
    ck_assert_msg(st == OCTIC_OK, "%s: %s", name, octic_last_error());
    return m;
}

/* Collects every block output for comparison with blocks.npy / invariant.npy. */
typedef struct {
    float *blocks;    /* (depth+1, B, T, C) */
    float *invariant; /* (B, T, C) */
    int seen;
} capture;

static void on_block(void *user, int index, const float *tokens, int B, int T, int C) {
    capture *cap = user;
    size_t n = (size_t)B * T * C;
    if (index < 0) {
        memcpy(cap->invariant, tokens, n * sizeof(float));
    } else {
        memcpy(cap->blocks + (size_t)index * n, tokens, n * sizeof(float));
        cap->seen++;
    }
}

static void check_close(const char *name, const char *what, const float *got, const float *want, size_t n) {
    float d = max_abs_diff(got, want, n);
    if (getenv("OCTIC_TEST_VERBOSE")) fprintf(stderr, "%s %s: %g\n", name, what, d);
    ck_assert_msg(d < TOL, "%s: %s differs from the reference by %g (tolerance %g)", name, what, d, TOL);
}

/* Intermediate tokens: 1e-4 absolute, like the outputs, while that is a
 * meaningful float32 bound. The polynomial invariant raises features to the
 * 5th power: its golden case reaches 1.6e5 after invariant_proj, where one
 * float32 ulp is 0.016 and the reference itself cannot be matched to 1e-4.
 * Above a magnitude of 1000 (ulp 6e-5 to 1.2e-4) the bound becomes 1e-5
 * relative to the tensor's largest magnitude (about 80 ulp). */
static void check_close_block(const char *name, const char *what, const float *got, const float *want, size_t n) {
    float big = 0.0f;
    for (size_t i = 0; i < n; i++) big = fabsf(want[i]) > big ? fabsf(want[i]) : big;
    float tol = big > 1000.0f ? 1e-5f * big : TOL;
    float d = max_abs_diff(got, want, n);
    if (getenv("OCTIC_TEST_VERBOSE")) fprintf(stderr, "%s %s: %g (largest %g)\n", name, what, d, big);
    ck_assert_msg(d < tol, "%s: %s differs from the reference by %g (tolerance %g, largest magnitude %g)", name,
                  what, d, tol, big);
}

START_TEST(test_golden_case) {
    const char *name = cases[_i];
    octic_model *m = load_case(name);
    const octic_config *cf = octic_model_config(m);
    octic_array in, blocks;
    golden_npy(name, "input.npy", &in);
    golden_npy(name, "blocks.npy", &blocks);
    int B = (int)in.shape[0], S = (int)in.shape[3], C = cf->dim, T = octic_model_tokens(m, S);
    ck_assert_int_eq(blocks.shape[0], cf->depth + 1);
    ck_assert_int_eq(blocks.shape[2], T);
    size_t bt = (size_t)B * T * C;

    capture cap = {calloc(blocks.shape[0] * bt, sizeof(float)), calloc(bt, sizeof(float)), 0};
    float *logits = cf->classes ? calloc((size_t)B * cf->classes, sizeof(float)) : NULL;
    float *cls = calloc((size_t)B * C, sizeof(float));
    float *patch = calloc(bt, sizeof(float));
    float *prenorm = calloc(bt, sizeof(float));
    octic_outputs out = {.logits = logits, .cls = cls, .patch = patch, .prenorm = prenorm,
                         .on_block = on_block, .user = &cap};
    octic_status st = octic_model_forward(m, in.data, B, S, &out);
    ck_assert_msg(st == OCTIC_OK, "%s: %s", name, octic_last_error());
    ck_assert_int_eq(cap.seen, cf->depth + 1);

    /* block by block first: the first one that goes wrong is the message */
    for (int i = 0; i <= cf->depth; i++) {
        char what[64];
        snprintf(what, sizeof what, i ? "the output of block %d" : "the embedded tokens (block 0 input)", i - 1);
        check_close_block(name, what, cap.blocks + (size_t)i * bt, blocks.data + (size_t)i * bt, bt);
    }
    if (cf->kind == OCTIC_KIND_INVARIANT) {
        octic_array inv;
        golden_npy(name, "invariant.npy", &inv);
        check_close_block(name, "invariant_proj", cap.invariant, inv.data, bt);
        octic_array_free(&inv);
    }
    if (cf->family == OCTIC_FAMILY_DEIT) {
        octic_array want;
        golden_npy(name, "logits.npy", &want);
        check_close(name, "logits", logits, want.data, (size_t)B * cf->classes);
        octic_array_free(&want);
        golden_npy(name, "features.npy", &want);
        check_close(name, "features (class token)", cls, want.data, (size_t)B * C);
        octic_array_free(&want);
    } else {
        octic_array want;
        golden_npy(name, "cls.npy", &want);
        check_close(name, "class token", cls, want.data, (size_t)B * C);
        octic_array_free(&want);
        golden_npy(name, "patch.npy", &want);
        check_close(name, "patch tokens", patch, want.data, (size_t)B * (T - 1 - cf->registers) * C);
        octic_array_free(&want);
        golden_npy(name, "prenorm.npy", &want);
        check_close(name, "prenorm tokens", prenorm, want.data, bt);
        octic_array_free(&want);
    }
    free(cap.blocks), free(cap.invariant), free(logits), free(cls), free(patch), free(prenorm);
    octic_array_free(&in);
    octic_array_free(&blocks);
    octic_model_free(m);
}
END_TEST

/* DeiT III cases also carry the logits of the rotated, mirrored and
 * rotated-then-mirrored input. */
START_TEST(test_golden_transformed_logits) {
    static const char *const deit[] = {"deit_hybrid_p16", "deit_hybrid_p14", "deit_invariant_p16",
                                       "deit_invariant_poly", "deit_baseline_p16"};
    static const struct { const char *file; const char *g; } tr[] = {
        {"logits_r.npy", "r"}, {"logits_m.npy", "m"}, {"logits_mr.npy", "mr"}};
    const char *name = deit[_i];
    octic_model *m = load_case(name);
    const octic_config *cf = octic_model_config(m);
    octic_array in;
    golden_npy(name, "input.npy", &in);
    int B = (int)in.shape[0], S = (int)in.shape[3];
    float *x = malloc((size_t)B * 3 * S * S * sizeof(float));
    float *logits = malloc((size_t)B * cf->classes * sizeof(float));
    for (int k = 0; k < 3; k++) {
        int g = octic_group_parse(tr[k].g);
        for (int b = 0; b < B; b++)
            octic_group_act_image(x + (size_t)b * 3 * S * S, in.data + (size_t)b * 3 * S * S, g, 3, S);
        octic_outputs out = {.logits = logits};
        ck_assert_msg(octic_model_forward(m, x, B, S, &out) == OCTIC_OK, "%s", octic_last_error());
        octic_array want;
        golden_npy(name, tr[k].file, &want);
        check_close(name, tr[k].file, logits, want.data, (size_t)B * cf->classes);
        octic_array_free(&want);
    }
    free(x), free(logits);
    octic_array_free(&in);
    octic_model_free(m);
}
END_TEST

/* Invariant models: logits and class tokens do not change under any of the
 * 8 elements (to 1e-4). */
START_TEST(test_invariant_models_are_invariant) {
    static const char *const inv[] = {"deit_invariant_p16", "deit_invariant_poly", "dino_invariant_p16"};
    const char *name = inv[_i];
    octic_model *m = load_case(name);
    const octic_config *cf = octic_model_config(m);
    octic_array in;
    golden_npy(name, "input.npy", &in);
    int B = (int)in.shape[0], S = (int)in.shape[3], C = cf->dim, K = cf->classes;
    float *x = malloc((size_t)B * 3 * S * S * sizeof(float));
    float *cls0 = malloc((size_t)B * C * sizeof(float)), *cls = malloc((size_t)B * C * sizeof(float));
    float *lg0 = K ? malloc((size_t)B * K * sizeof(float)) : NULL, *lg = K ? malloc((size_t)B * K * sizeof(float)) : NULL;
    octic_outputs out0 = {.cls = cls0, .logits = lg0};
    ck_assert(octic_model_forward(m, in.data, B, S, &out0) == OCTIC_OK);
    for (int g = 1; g < OCTIC_GROUP_ORDER; g++) {
        for (int b = 0; b < B; b++)
            octic_group_act_image(x + (size_t)b * 3 * S * S, in.data + (size_t)b * 3 * S * S, g, 3, S);
        octic_outputs out = {.cls = cls, .logits = lg};
        ck_assert(octic_model_forward(m, x, B, S, &out) == OCTIC_OK);
        float d = max_abs_diff(cls, cls0, (size_t)B * C);
        ck_assert_msg(d < TOL, "%s: class token changes by %g under %s", name, d, octic_group_names[g]);
        if (K) {
            d = max_abs_diff(lg, lg0, (size_t)B * K);
            ck_assert_msg(d < TOL, "%s: logits change by %g under %s", name, d, octic_group_names[g]);
        }
    }
    free(x), free(cls0), free(cls), free(lg0), free(lg);
    octic_array_free(&in);
    octic_model_free(m);
}
END_TEST

/* Converting to safetensors and loading again gives identical outputs. */
START_TEST(test_safetensors_round_trip) {
    const char *name = cases[_i];
    octic_model *m = load_case(name);
    const octic_config *cf = octic_model_config(m);
    octic_tensor_set set;
    ck_assert_msg(octic_model_export(m, &set) == OCTIC_OK, "%s", octic_last_error());
    char path[] = "/tmp/octic-roundtrip-XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    ck_assert_msg(octic_safetensors_save(path, &set) == OCTIC_OK, "%s", octic_last_error());
    octic_tensor_set_free(&set);
    octic_model *m2 = NULL;
    /* heads come from the file's metadata: no --heads needed */
    ck_assert_msg(octic_model_load(path, 0, &m2) == OCTIC_OK, "%s", octic_last_error());
    unlink(path);
    const octic_config *c2 = octic_model_config(m2);
    ck_assert_int_eq(c2->heads, cf->heads);
    ck_assert_int_eq(c2->kind, cf->kind);
    ck_assert_int_eq(c2->family, cf->family);

    octic_array in;
    golden_npy(name, "input.npy", &in);
    int B = (int)in.shape[0], S = (int)in.shape[3], T = octic_model_tokens(m, S);
    size_t n = (size_t)B * T * cf->dim;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    octic_outputs oa = {.prenorm = a}, ob = {.prenorm = b};
    ck_assert(octic_model_forward(m, in.data, B, S, &oa) == OCTIC_OK);
    ck_assert(octic_model_forward(m2, in.data, B, S, &ob) == OCTIC_OK);
    ck_assert_msg(memcmp(a, b, n * sizeof(float)) == 0, "%s: outputs differ after the safetensors round trip", name);
    free(a), free(b);
    octic_array_free(&in);
    octic_model_free(m);
    octic_model_free(m2);
}
END_TEST

/* Sizes the model cannot take are refused with a message. */
START_TEST(test_bad_image_size) {
    octic_model *m = load_case("deit_hybrid_p16");
    float x[3 * 48 * 48] = {0};
    octic_outputs out = {0};
    octic_status st = octic_model_forward(m, x, 1, 48, &out); /* 48 = 3 patches: not a multiple of 32 */
    ck_assert_int_eq(st, OCTIC_ERR_ARG);
    ck_assert_msg(strstr(octic_last_error(), "48x48") && strstr(octic_last_error(), "multiple of 32"), "%s",
                  octic_last_error());
    octic_model_free(m);
    m = load_case("dino_baseline_p16");
    st = octic_model_forward(m, x, 1, 40, &out);
    ck_assert_int_eq(st, OCTIC_ERR_ARG);
    ck_assert_msg(strstr(octic_last_error(), "multiple of 16"), "%s", octic_last_error());
    float lg[10];
    octic_outputs want_logits = {.logits = lg};
    st = octic_model_forward(m, x, 1, 48, &want_logits);
    ck_assert_int_eq(st, OCTIC_ERR_ARG);
    ck_assert_msg(strstr(octic_last_error(), "no classification head"), "%s", octic_last_error());
    octic_model_free(m);
}
END_TEST

/* The baseline at another resolution runs (positions interpolated). */
START_TEST(test_other_resolutions_run) {
    static const char *const names[] = {"deit_baseline_p16", "dino_baseline_p16", "deit_hybrid_p16"};
    for (int k = 0; k < 3; k++) {
        octic_model *m = load_case(names[k]);
        int S = 128;
        float *x = malloc((size_t)3 * S * S * sizeof(float));
        fill_random(x, (size_t)3 * S * S, 7, 1.0f);
        float cls[64];
        octic_outputs out = {.cls = cls};
        ck_assert_msg(octic_model_forward(m, x, 1, S, &out) == OCTIC_OK, "%s", octic_last_error());
        for (int i = 0; i < 64; i++) ck_assert(cls[i] == cls[i]);
        free(x);
        octic_model_free(m);
    }
}
END_TEST

/* A tensor missing, of the wrong shape, or unexpected: an error naming it. */
START_TEST(test_build_errors) {
    char path[1024];
    golden_path(path, sizeof path, "deit_hybrid_p16", "model.pth");
    octic_tensor_set set;
    ck_assert(octic_checkpoint_load(path, &set) == OCTIC_OK);
    octic_config cfg;
    ck_assert(octic_config_infer(&set, 2, &cfg) == OCTIC_OK);
    octic_model *m = NULL;

    /* wrong shape: claim fc2's E weight is (16, 32) instead of (16, 64) */
    octic_tensor *t = NULL;
    for (int i = 0; i < set.count; i++)
        if (!strcmp(set.tensors[i].name, "blocks.1.mlp.fc2.lin_E.weight")) t = &set.tensors[i];
    ck_assert(t != NULL);
    t->shape[1] = 32;
    ck_assert_int_eq(octic_model_build(&set, &cfg, NULL, &m), OCTIC_ERR_SHAPE);
    ck_assert_str_eq(octic_last_error(), "tensor 'blocks.1.mlp.fc2.lin_E.weight' has shape [16, 32], expected [16, 64]");
    t->shape[1] = 64;

    /* missing: rename it away */
    char *saved = t->name;
    t->name = strdup("blocks.1.mlp.fc2.lin_X.weight");
    ck_assert_int_eq(octic_model_build(&set, &cfg, NULL, &m), OCTIC_ERR_MISSING);
    ck_assert_str_eq(octic_last_error(), "missing tensor 'blocks.1.mlp.fc2.lin_E.weight' (expected shape [16, 64])");
    free(t->name);
    t->name = saved;

    /* unexpected: one tensor more than a DeiT III hybrid has */
    int64_t shape[1] = {4};
    ck_assert(octic_tensor_set_add(&set, "extra.weight", 1, shape, calloc(4, sizeof(float)), 1) == OCTIC_OK);
    ck_assert_int_eq(octic_model_build(&set, &cfg, NULL, &m), OCTIC_ERR_FORMAT);
    ck_assert_str_eq(octic_last_error(), "unexpected tensor 'extra.weight' [4] for a deit3 hybrid model");
    ck_assert(m == NULL);
    octic_tensor_set_free(&set);
}
END_TEST

/* A DINOv2 standard ViT built without LayerScale (vit_large() with its
 * default init_values=None) has no ls1/ls2 tensors: it loads, and computes
 * exactly what the same model with every layer scale at one computes. */
START_TEST(test_dinov2_without_layer_scale) {
    char path[1024];
    golden_path(path, sizeof path, "dino_baseline_p16", "model.pth");
    octic_tensor_set with, without;
    ck_assert(octic_checkpoint_load(path, &with) == OCTIC_OK);
    ck_assert(octic_checkpoint_load(path, &without) == OCTIC_OK);
    int removed = 0;
    for (int i = 0; i < with.count; i++)
        if (strstr(with.tensors[i].name, ".ls1.gamma") || strstr(with.tensors[i].name, ".ls2.gamma")) {
            octic_tensor *t = &with.tensors[i];
            if (!t->owns_data) { /* a view into the file: give it its own copy to write */
                float *own = malloc((size_t)octic_numel(t->shape, t->ndim) * sizeof(float));
                t->data = own, t->owns_data = 1;
            }
            for (int64_t k = 0; k < octic_numel(t->shape, t->ndim); k++) t->data[k] = 1.0f;
        }
    for (int i = 0; i < without.count;) /* drop them, keeping them past the end to be freed */
        if (strstr(without.tensors[i].name, ".ls1.gamma") || strstr(without.tensors[i].name, ".ls2.gamma")) {
            octic_tensor gone = without.tensors[i];
            memmove(&without.tensors[i], &without.tensors[i + 1], (size_t)(without.count - i - 1) * sizeof gone);
            without.tensors[--without.count] = gone;
            removed++;
        } else {
            i++;
        }
    ck_assert_int_eq(removed, 2 * 4); /* two per block, 4 blocks */
    int heads = golden_int("dino_baseline_p16", "num_heads");
    octic_config cw, cn;
    ck_assert(octic_config_infer(&with, heads, &cw) == OCTIC_OK);
    ck_assert_msg(octic_config_infer(&without, heads, &cn) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_int_eq(cw.no_layer_scale, 0);
    ck_assert_int_eq(cn.no_layer_scale, 1);
    ck_assert_int_eq(cn.family, OCTIC_FAMILY_DINOV2);
    ck_assert_int_eq(octic_config_cost(&cw, 224).params - octic_config_cost(&cn, 224).params,
                     (int64_t)2 * cw.dim * cw.depth);
    octic_model *a = NULL, *b = NULL;
    ck_assert(octic_model_build(&with, &cw, NULL, &a) == OCTIC_OK);
    ck_assert_msg(octic_model_build(&without, &cn, NULL, &b) == OCTIC_OK, "%s", octic_last_error());
    octic_array in;
    golden_npy("dino_baseline_p16", "input.npy", &in);
    int B = (int)in.shape[0], S = (int)in.shape[3], T = octic_model_tokens(a, S);
    size_t n = (size_t)B * T * cw.dim;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    octic_outputs ox = {.prenorm = x}, oy = {.prenorm = y};
    ck_assert(octic_model_forward(a, in.data, B, S, &ox) == OCTIC_OK);
    ck_assert(octic_model_forward(b, in.data, B, S, &oy) == OCTIC_OK);
    ck_assert_msg(memcmp(x, y, n * sizeof(float)) == 0, "outputs differ without the layer scales");
    /* and the safetensors it exports has none either */
    octic_tensor_set out;
    ck_assert(octic_model_export(b, &out) == OCTIC_OK);
    for (int i = 0; i < out.count; i++) ck_assert_ptr_null(strstr(out.tensors[i].name, ".ls1."));
    ck_assert_int_eq(out.count, without.count);
    octic_tensor_set_free(&out);
    free(x), free(y);
    octic_array_free(&in);
    octic_model_free(a);
    octic_model_free(b);
    without.count += removed;
    octic_tensor_set_free(&with);
    octic_tensor_set_free(&without);
}
END_TEST

static Suite *golden_suite(void) {
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_cases_found);
    tcase_add_loop_test(tc, test_golden_case, 0, n_cases);
    tcase_add_loop_test(tc, test_golden_transformed_logits, 0, 5);
    tcase_add_loop_test(tc, test_invariant_models_are_invariant, 0, 3);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("round trip and errors");
    tcase_set_timeout(tr, 600);
    tcase_add_loop_test(tr, test_safetensors_round_trip, 0, n_cases);
    tcase_add_test(tr, test_bad_image_size);
    tcase_add_test(tr, test_build_errors);
    tcase_add_test(tr, test_dinov2_without_layer_scale);
    tcase_add_test(tr, test_other_resolutions_run);
    suite_add_tcase(s, tr);
    return s;
}

int main(void) {
    find_cases();
    SRunner *sr = srunner_create(golden_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (int i = 0; i < n_cases; i++) free(cases[i]);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
