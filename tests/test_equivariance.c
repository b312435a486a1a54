/* Every octic layer commutes with all 8 elements of D8 (to 1e-5 relative),
 * on random inputs, with the weights of the golden models: the lift, the
 * position embedding, LayerNormD8, LinearD8, the octic GELU, AttentionD8,
 * MlpD8, whole blocks; the invariant maps are invariant. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "equivariance.h"
#include "group.h"
#include "model_internal.h"
#include "octic_math.h"
#include "test_util.h"

#define TOL 1e-5

static const char *const octic_cases[] = {"deit_hybrid_p16", "deit_hybrid_p14", "dino_hybrid_p16",
                                          "deit_invariant_poly"};

static octic_model *load_case(const char *name) {
    char path[1024];
    octic_model *m = NULL;
    golden_path(path, sizeof path, name, "model.pth");
    ck_assert_msg(octic_model_load(path, golden_int(name, "num_heads"), &m) == OCTIC_OK, "%s", octic_last_error());
    return m;
}

/* g on iso5 tokens (B, T, C) with the class token first and an n x n grid:
 * through the published 8-tuple layout (iso5 swaps blocks 5 and 6). */
static void swap56(float *x, size_t rows, int C) {
    int c = C / 8;
    for (size_t r = 0; r < rows; r++) {
        float *t = x + r * C;
        for (int i = 0; i < c; i++) {
            float v = t[5 * c + i];
            t[5 * c + i] = t[6 * c + i];
            t[6 * c + i] = v;
        }
    }
}

static void act_iso5(float *out, const float *in, int g, int B, int T, int n, int C) {
    size_t rows = (size_t)B * T;
    float *tmp = malloc(rows * C * sizeof(float));
    memcpy(tmp, in, rows * C * sizeof(float));
    swap56(tmp, rows, C);
    octic_group_act_tokens(out, tmp, g, B, T, 1, n, C, 1);
    swap56(out, rows, C);
    free(tmp);
}

/* A token-wise or token-mixing layer f: (B*T, Cin) -> (B*T, Cout). */
typedef void (*layer_fn)(void *ctx, float *out, const float *in, int B, int T);

/* max over g of |f(g.x) - g.f(x)| / |f(x)| */
static double equivariance_error(layer_fn f, void *ctx, int B, int n, int Cin, int Cout, unsigned seed) {
    int T = 1 + n * n;
    size_t ni = (size_t)B * T * Cin, no = (size_t)B * T * Cout;
    float *x = malloc(ni * sizeof(float)), *gx = malloc(ni * sizeof(float));
    float *fx = malloc(no * sizeof(float)), *fgx = malloc(no * sizeof(float)), *gfx = malloc(no * sizeof(float));
    fill_random(x, ni, seed, 2.0f);
    f(ctx, fx, x, B, T);
    double worst = 0.0;
    for (int g = 0; g < 8; g++) {
        act_iso5(gx, x, g, B, T, n, Cin);
        f(ctx, fgx, gx, B, T);
        act_iso5(gfx, fx, g, B, T, n, Cout);
        double e = rel_error(fgx, gfx, no);
        if (e > worst) worst = e;
    }
    free(x), free(gx), free(fx), free(fgx), free(gfx);
    return worst;
}

typedef struct {
    octic_model *m;
    const octic_block8 *b;
    const octic_linear8 *lin;
    int which; /* for LayerNormD8: 1 or 2 */
} layer_ctx;

static void f_layernorm(void *p, float *out, const float *in, int B, int T) {
    layer_ctx *c = p;
    const octic_backend *be = c->m->be;
    int C = c->m->cfg.dim;
    be->layernorm_d8(be, out, in, c->which == 1 ? c->b->norm1_scale : c->b->norm2_scale,
                     c->which == 1 ? c->b->norm1_shift : c->b->norm2_shift, B * T, C, 1e-5f);
}

static void f_linear(void *p, float *out, const float *in, int B, int T) {
    layer_ctx *c = p;
    octic_linear8_forward(c->m->be, out, in, c->lin, B * T);
}

static void f_gelu(void *p, float *out, const float *in, int B, int T) {
    layer_ctx *c = p;
    int C = c->m->cfg.dim;
    memcpy(out, in, (size_t)B * T * C * sizeof(float));
    c->m->be->gelu_d8(c->m->be, out, B * T, C);
}

static void f_attention(void *p, float *out, const float *in, int B, int T) {
    layer_ctx *c = p;
    float *work = malloc(octic_attention8_work(c->m, B, T) * sizeof(float));
    octic_attention8_forward(c->m, c->b, out, in, work, B, T);
    free(work);
}

static void f_mlp(void *p, float *out, const float *in, int B, int T) {
    layer_ctx *c = p;
    float *hidden = malloc((size_t)B * T * c->m->cfg.mlp_hidden * sizeof(float));
    octic_mlp8_forward(c->m, c->b, out, in, hidden, B * T);
    free(hidden);
}

START_TEST(test_layers_commute) {
    const char *name = octic_cases[_i];
    octic_model *m = load_case(name);
    int C = m->cfg.dim, Hd = m->cfg.mlp_hidden, B = 2, n = 4;
    for (int i = 0; i < m->cfg.break_layer; i++) {
        const octic_block8 *b = &m->oblocks[i];
        layer_ctx c = {m, b, NULL, 1};
        struct { const char *what; layer_fn f; const octic_linear8 *lin; int which, cin, cout; } layers[] = {
            {"LayerNormD8 (norm1)", f_layernorm, NULL, 1, C, C},
            {"LayerNormD8 (norm2)", f_layernorm, NULL, 2, C, C},
            {"LinearD8 (qkv)", f_linear, &b->qkv, 0, C, 3 * C},
            {"LinearD8 (proj)", f_linear, &b->proj, 0, C, C},
            {"LinearD8 (fc1)", f_linear, &b->fc1, 0, C, Hd},
            {"LinearD8 (fc2)", f_linear, &b->fc2, 0, Hd, C},
            {"octic GELU", f_gelu, NULL, 0, C, C},
            {"AttentionD8", f_attention, NULL, 0, C, C},
            {"MlpD8", f_mlp, NULL, 0, C, C},
        };
        for (size_t k = 0; k < sizeof layers / sizeof layers[0]; k++) {
            c.lin = layers[k].lin;
            c.which = layers[k].which;
            double e = equivariance_error(layers[k].f, &c, B, n, layers[k].cin, layers[k].cout, 10 + (unsigned)k);
            ck_assert_msg(e < TOL, "%s block %d: %s is not equivariant: relative error %g", name, i, layers[k].what, e);
        }
    }
    octic_model_free(m);
}
END_TEST

/* Whole model: the embedded tokens (lift + position embedding + class
 * token) and every octic block's output commute with the group; the
 * golden input, all 8 elements. */
START_TEST(test_blocks_commute) {
    const char *name = octic_cases[_i];
    octic_model *m = load_case(name);
    octic_array in;
    golden_npy(name, "input.npy", &in);
    octic_equivariance_report rep;
    ck_assert_msg(octic_equivariance_measure(m, in.data, (int)in.shape[0], (int)in.shape[3], &rep) == OCTIC_OK, "%s",
                  octic_last_error());
    ck_assert_int_eq(rep.break_layer, m->cfg.break_layer);
    for (int i = 0; i <= rep.break_layer; i++)
        for (int g = 0; g < 8; g++)
            ck_assert_msg(rep.block_err[i * 8 + g] < TOL, "%s: output %d is not equivariant under %s: %g", name, i,
                          octic_group_names[g], rep.block_err[i * 8 + g]);
    /* a hybrid model's standard blocks are not: the measure must see it */
    if (m->cfg.kind == OCTIC_KIND_HYBRID) {
        double worst = 0.0;
        for (int g = 1; g < 8; g++) worst = rep.block_err[rep.nblocks * 8 - 8 + g] > worst ? rep.block_err[rep.nblocks * 8 - 8 + g] : worst;
        ck_assert_msg(worst > 1e-3, "%s: the last standard block looks equivariant (%g): the measure is blind", name, worst);
    }
    for (int g = 0; g < 8; g++) ck_assert(rep.cls_err[g] >= 0.0);
    ck_assert(rep.cls_err[0] == 0.0);
    octic_equivariance_report_free(&rep);
    octic_array_free(&in);
    octic_model_free(m);
}
END_TEST

/* The lift alone (position embeddings zeroed) and the position embeddings
 * alone (lift zeroed) are each equivariant, on a random image. */
static void zero_tensors(octic_tensor_set *set, const char *prefix) {
    /* replaced, not written: loaded tensors may point into a read-only file mapping */
    for (int i = 0; i < set->count; i++) {
        octic_tensor *t = &set->tensors[i];
        if (strncmp(t->name, prefix, strlen(prefix))) continue;
        if (t->owns_data) free(t->data);
        t->data = calloc((size_t)octic_numel(t->shape, t->ndim), sizeof(float));
        t->owns_data = 1;
    }
}

static void check_embedding(const char *name, const char *zeroed, const char *what) {
    char path[1024];
    golden_path(path, sizeof path, name, "model.pth");
    octic_tensor_set set;
    ck_assert_msg(octic_checkpoint_load(path, &set) == OCTIC_OK, "%s", octic_last_error());
    zero_tensors(&set, zeroed);
    octic_config cfg;
    ck_assert(octic_config_infer(&set, golden_int(name, "num_heads"), &cfg) == OCTIC_OK);
    octic_model *m = NULL;
    ck_assert_msg(octic_model_build(&set, &cfg, NULL, &m) == OCTIC_OK, "%s", octic_last_error());
    octic_tensor_set_free(&set);
    int S = 2 * cfg.patch * 3; /* a 6x6 grid: also checks the interpolated position embeddings */
    float *x = malloc((size_t)3 * S * S * sizeof(float));
    fill_random(x, (size_t)3 * S * S, 5, 1.0f);
    octic_equivariance_report rep;
    ck_assert_msg(octic_equivariance_measure(m, x, 1, S, &rep) == OCTIC_OK, "%s", octic_last_error());
    for (int g = 0; g < 8; g++)
        ck_assert_msg(rep.block_err[g] < TOL, "%s: %s is not equivariant under %s: %g", name, what,
                      octic_group_names[g], rep.block_err[g]);
    octic_equivariance_report_free(&rep);
    free(x);
    octic_model_free(m);
}

START_TEST(test_lift_commutes) {
    check_embedding(octic_cases[_i], "pos_embed", "the lift");
}
END_TEST

START_TEST(test_position_embedding_commutes) {
    check_embedding(octic_cases[_i], "patch_embed", "the position embedding");
}
END_TEST

/* Each invariant map gives the same features for g.x as for x, token by token. */
START_TEST(test_invariants_are_invariant) {
    const octic_backend *be = octic_cpu_backend();
    int C = 64, B = 1, n = 3, T = 1 + n * n;
    size_t sz = (size_t)B * T * C;
    float *x = malloc(sz * sizeof(float)), *gx = malloc(sz * sizeof(float));
    fill_random(x, sz, 9, 1.5f);
    for (octic_invop k = OCTIC_INVOP_POWER_SPECTRUM; k <= OCTIC_INVOP_LINEAR; k++) {
        int w = octic_invop_width(k, C);
        float *fx = malloc((size_t)B * T * w * sizeof(float)), *fgx = malloc((size_t)B * T * w * sizeof(float));
        be->invariant(be, fx, x, B * T, C, k);
        for (int g = 1; g < 8; g++) {
            /* only the channel action: compare token by token */
            float *tmp = malloc(sz * sizeof(float));
            memcpy(tmp, x, sz * sizeof(float));
            swap56(tmp, (size_t)B * T, C);
            octic_group_act_tokens(gx, tmp, g, B, T, T, 0, C, 1); /* t0 = T: no token moves */
            swap56(gx, (size_t)B * T, C);
            free(tmp);
            be->invariant(be, fgx, gx, B * T, C, k);
            double e = rel_error(fgx, fx, (size_t)B * T * w);
            ck_assert_msg(e < 1e-6, "invariant %d changes under %s: %g", (int)k, octic_group_names[g], e);
        }
        free(fx), free(fgx);
    }
    free(x), free(gx);
}
END_TEST

/* The published widths (16 heads: ViT-L 1024 with head width 64, ViT-H 1280
 * with 80) interleave heads and irreps differently from the small golden
 * models: two blocks of each, random weights, every octic output equivariant. */
START_TEST(test_published_widths_commute) {
    static const char *const archs[] = {"hybrid_deit_large_patch16", "d8_inv_early_deit_huge_patch14",
                                        "hybrid_vit_huge"};
    const octic_arch *a = octic_arch_find(archs[_i]);
    ck_assert(a != NULL);
    octic_config cfg = a->config;
    cfg.depth = 2;
    cfg.break_layer = 1;
    octic_tensor_set set;
    ck_assert_msg(octic_random_weights(&cfg, 42, &set) == OCTIC_OK, "%s", octic_last_error());
    octic_model *m = NULL;
    ck_assert_msg(octic_model_build(&set, &cfg, NULL, &m) == OCTIC_OK, "%s", octic_last_error());
    octic_tensor_set_free(&set);
    int S = 4 * cfg.patch; /* a 4x4 grid */
    float *x = malloc((size_t)3 * S * S * sizeof(float));
    fill_random(x, (size_t)3 * S * S, 11, 1.0f);
    octic_equivariance_report rep;
    ck_assert_msg(octic_equivariance_measure(m, x, 1, S, &rep) == OCTIC_OK, "%s", octic_last_error());
    for (int i = 0; i <= 1; i++)
        for (int g = 0; g < 8; g++)
            ck_assert_msg(rep.block_err[i * 8 + g] < TOL, "%s: output %d not equivariant under %s: %g", archs[_i], i,
                          octic_group_names[g], rep.block_err[i * 8 + g]);
    if (cfg.kind == OCTIC_KIND_INVARIANT)
        for (int g = 0; g < 8; g++) ck_assert_msg(rep.cls_err[g] < 1e-5, "class token not invariant: %g", rep.cls_err[g]);
    octic_equivariance_report_free(&rep);
    free(x);
    octic_model_free(m);
}
END_TEST

static Suite *equivariance_suite(void) {
    Suite *s = suite_create("equivariance");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 600);
    int n = (int)(sizeof octic_cases / sizeof octic_cases[0]);
    tcase_add_loop_test(tc, test_layers_commute, 0, n);
    tcase_add_loop_test(tc, test_blocks_commute, 0, n);
    tcase_add_loop_test(tc, test_lift_commutes, 0, n);
    tcase_add_loop_test(tc, test_position_embedding_commutes, 0, n);
    tcase_add_test(tc, test_invariants_are_invariant);
    tcase_add_loop_test(tc, test_published_widths_commute, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(equivariance_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
