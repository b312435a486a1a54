/* The logic under the studio's widgets (ui/analysis.c): PCA and colour
 * mapping, the pull-back, the equivariance curves, the energy shares per
 * irrep, class-token attention and top-k classes, CSV export. Runs on the
 * demo models the build generates ($OCTISCOPE_DEMO_MODELS). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "analysis.h"
#include "backend.h"
#include "background.h"
#include "equivariance.h"
#include "group.h"
#include "image.h"
#include "studio-device.h"
#include "test_util.h"

#define S 224

static octic_model *demo_model(const char *kind) {
    const char *dir = getenv("OCTISCOPE_DEMO_MODELS");
    ck_assert_msg(dir != NULL, "OCTISCOPE_DEMO_MODELS is not set");
    char path[4096];
    snprintf(path, sizeof path, "%s/demo-%s-deit3.safetensors", dir, kind);
    octic_model *m = NULL;
    ck_assert_msg(octic_model_load(path, 0, &m) == OCTIC_OK, "%s", octic_last_error());
    return m;
}

/* A 224 x 224 picture in [0, 1] with no symmetry of the square. */
static float *test_image(void) {
    float *img = malloc((size_t)3 * S * S * sizeof(float));
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                img[(c * S + y) * S + x] =
                    0.5f + 0.3f * sinf(0.05f * x * (c + 1) + 0.02f * y * y / S) + 0.2f * (x > 2 * y ? 1.0f : -0.5f) * (c == 1);
    return img;
}

static void run_analysis(const char *kind, octiscope_analysis *a) {
    octic_model *m = demo_model(kind);
    float *img = test_image();
    ck_assert_msg(octiscope_analysis_run(m, img, S, a, NULL, NULL, NULL) == OCTIC_OK, "%s", octic_last_error());
    free(img);
    octic_model_free(m);
}

/* ---- PCA and colour maps ------------------------------------------------------ */

START_TEST(pca_finds_known_axes) {
    // rows = 5 + 10 a u0 + 4 b u1 + 1.5 c u2 + small noise, u orthonormal in C = 16
    enum { R = 600, C = 16 };
    float *X = malloc((size_t)R * C * sizeof(float)), u[3][C] = {{0}}, noise[R * C];
    fill_random(noise, (size_t)R * C, 7, 0.01f);
    for (int j = 0; j < C; j++) {
        u[0][j] = (j < 4) ? 0.5f : 0.0f;                                  /* e0+e1+e2+e3 */
        u[1][j] = (j >= 4 && j < 8) ? ((j % 2) ? -0.5f : 0.5f) : 0.0f;   /* alternating on 4..7 */
        u[2][j] = (j == 9) ? 1.0f : 0.0f;
    }
    for (int r = 0; r < R; r++) {
        float a = sinf(r * 0.37f), b = cosf(r * 1.13f), c = sinf(r * 2.71f + 1.0f);
        for (int j = 0; j < C; j++)
            X[r * C + j] = 5.0f + 10 * a * u[0][j] + 4 * b * u[1][j] + 1.5f * c * u[2][j] + noise[r * C + j];
    }
    octiscope_pca p;
    ck_assert_msg(octiscope_pca_fit(&p, X, R, C) == OCTIC_OK, "%s", octic_last_error());
    for (int k = 0; k < 3; k++) {
        double d = 0.0, big = 0.0;
        int at = 0;
        for (int j = 0; j < C; j++) {
            d += p.basis[k * C + j] * u[k][j];
            if (fabs(p.basis[k * C + j]) > big) big = fabs(p.basis[k * C + j]), at = j;
        }
        ck_assert_msg(fabs(d) > 0.999, "axis %d: |cos| = %g with the true axis", k, fabs(d));
        ck_assert_msg(p.basis[k * C + at] > 0, "axis %d: its largest entry is negative", k);
        ck_assert(p.lo[k] < p.hi[k]);
    }
    ck_assert(p.var[0] > p.var[1] && p.var[1] > p.var[2] && p.var[2] > 0);
    ck_assert_msg(fabs(p.mean[0] - 5.0) < 0.2, "mean %g", p.mean[0]);
    // colours: every row in range, the extremes of the first axis at both ends
    uint8_t *rgb = malloc((size_t)R * 3);
    octiscope_pca_rgb(rgb, &p, X, R);
    int lo = 255, hi = 0;
    for (int r = 0; r < R; r++) lo = rgb[r * 3] < lo ? rgb[r * 3] : lo, hi = rgb[r * 3] > hi ? rgb[r * 3] : hi;
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 255);
    octiscope_pca_free(&p);
    ck_assert(octiscope_pca_fit(&p, X, R, 2) == OCTIC_ERR_ARG);
    free(X), free(rgb);
}
END_TEST

START_TEST(colour_maps) {
    uint8_t c[3];
    octiscope_cmap_rgb(c, OCTISCOPE_CMAP_VIRIDIS, 0.0f);
    ck_assert(c[0] == 68 && c[1] == 1 && c[2] == 84);
    octiscope_cmap_rgb(c, OCTISCOPE_CMAP_VIRIDIS, 2.0f); /* clamped */
    ck_assert(c[0] == 253 && c[1] == 231 && c[2] == 37);
    octiscope_cmap_rgb(c, OCTISCOPE_CMAP_GRAY, 0.5f);
    ck_assert(c[0] == 128 && c[1] == 128 && c[2] == 128);
    octiscope_cmap_rgb(c, OCTISCOPE_CMAP_MAGMA, NAN);
    ck_assert(c[0] == 0 && c[1] == 0 && c[2] == 4);
    for (int cm = 0; cm < OCTISCOPE_NCMAPS; cm++) {
        ck_assert_int_eq(octiscope_cmap_parse(octiscope_cmap_name(cm)), cm);
        double last = -1.0;
        for (int i = 0; i <= 256; i++) {
            octiscope_cmap_rgb(c, cm, i / 256.0f);
            double luma = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
            ck_assert_msg(luma >= last - 0.75, "%s is not monotone in lightness at %d", octiscope_cmap_name(cm), i);
            last = luma;
        }
    }
    ck_assert_int_eq(octiscope_cmap_parse("jet"), -1);
    float v[3] = {2.0f, -1.0f, 0.5f};
    uint8_t rgb[9];
    octiscope_cmap_apply(rgb, OCTISCOPE_CMAP_GRAY, v, 3);
    ck_assert(rgb[0] == 255 && rgb[3] == 0 && rgb[6] == 128);
    // label colours: 0 black, the VOC classes as the devkit shows them, all 256 distinct
    uint8_t l[3];
    octiscope_label_rgb(l, 0);
    ck_assert(l[0] == 0 && l[1] == 0 && l[2] == 0);
    octiscope_label_rgb(l, 1); /* aeroplane */
    ck_assert(l[0] == 128 && l[1] == 0 && l[2] == 0);
    octiscope_label_rgb(l, 13); /* horse */
    ck_assert(l[0] == 192 && l[1] == 0 && l[2] == 128);
    octiscope_label_rgb(l, 15); /* person */
    ck_assert(l[0] == 192 && l[1] == 128 && l[2] == 128);
    static uint8_t seen[1 << 24 >> 3];
    for (int k = 0; k < 256; k++) {
        octiscope_label_rgb(l, k);
        int key = l[0] << 16 | l[1] << 8 | l[2];
        ck_assert_msg(!(seen[key >> 3] & (1 << (key & 7))), "label %d repeats a colour", k);
        seen[key >> 3] |= (uint8_t)(1 << (key & 7));
    }
    // masks over photos: background untouched, a class at half opacity, borders towards white
    uint8_t photo[4 * 3] = {10, 20, 30, 10, 20, 30, 10, 20, 30, 10, 20, 30}, labels[4] = {0, 15, 255, 15}, mixed[12];
    octiscope_blend_labels(mixed, photo, labels, 2, 2, 0.5f);
    ck_assert(mixed[0] == 10 && mixed[1] == 20 && mixed[2] == 30);
    ck_assert(mixed[3] == 101 && mixed[4] == 74 && mixed[5] == 79); /* (10+192)/2, (20+128)/2, (30+128)/2 */
    ck_assert(mixed[6] == 133 && mixed[7] == 138 && mixed[8] == 143);
    octiscope_blend_labels(mixed, photo, labels, 2, 2, 0.0f);
    ck_assert(memcmp(mixed, photo, sizeof photo) == 0);
    uint8_t img[2 * 1 * 3] = {1, 2, 3, 4, 5, 6}, big[4 * 2 * 3];
    octiscope_rgb_upscale(big, img, 2, 1, 2);
    ck_assert(big[0] == 1 && big[3] == 1 && big[6] == 4 && big[12] == 1 && big[21] == 4);
}
END_TEST

/* ---- energy shares ------------------------------------------------------------------ */

START_TEST(energy_shares_per_irrep) {
    enum { T = 5, t0 = 1, C = 16 }; /* c = 2 channels per component */
    float tok[T * C];
    double share[OCTISCOPE_NIRREPS];
    memset(tok, 0, sizeof tok);
    for (int t = 0; t < T; t++) tok[t * C + 2] = 3.0f; /* x1 = A2 */
    tok[0 * C + 0] = 100.0f;                              /* the class token does not count */
    octiscope_energy_shares(share, tok, T, t0, C);
    ck_assert(share[OCTISCOPE_A2] == 1.0 && share[OCTISCOPE_A1] == 0.0 && share[OCTISCOPE_E] == 0.0);
    // A1 energy 4 per token, each E component 1: A1 1/2, E 1/2
    memset(tok, 0, sizeof tok);
    for (int t = t0; t < T; t++) {
        tok[t * C + 0] = 2.0f;
        for (int j = 4; j < 8; j++) tok[t * C + j * 2 + 1] = 1.0f;
    }
    octiscope_energy_shares(share, tok, T, t0, C);
    ck_assert(fabs(share[OCTISCOPE_A1] - 0.5) < 1e-12 && fabs(share[OCTISCOPE_E] - 0.5) < 1e-12);
    ck_assert(share[OCTISCOPE_B1] == 0.0 && share[OCTISCOPE_B2] == 0.0);
    memset(tok, 0, sizeof tok);
    octiscope_energy_shares(share, tok, T, t0, C);
    for (int k = 0; k < OCTISCOPE_NIRREPS; k++) ck_assert(share[k] == 0.0);
}
END_TEST

START_TEST(energy_shares_of_a_model) {
    octiscope_analysis a;
    run_analysis("hybrid", &a);
    for (int i = 0; i < a.nblocks; i++) {
        const double *s = a.energy + i * OCTISCOPE_NIRREPS;
        if (i <= a.break_layer) {
            double sum = 0.0;
            for (int k = 0; k < OCTISCOPE_NIRREPS; k++) ck_assert(s[k] >= 0.0), sum += s[k];
            ck_assert_msg(fabs(sum - 1.0) < 1e-9, "block %d: shares sum to %g", i, sum);
            // the random octic layers put energy in every irrep
            ck_assert_msg(s[OCTISCOPE_A1] > 0.01 && s[OCTISCOPE_E] > 0.01, "block %d", i);
        } else {
            ck_assert(s[0] == -1.0);
        }
    }
    octiscope_analysis_free(&a);
}
END_TEST

/* ---- pull-back and feature maps -------------------------------------------------------- */

static double pulled_spread(const octiscope_analysis *a, int block) {
    // max over g of |g^-1 f(g.x) - f(x)| / |f(x)|
    size_t TC = (size_t)a->T * a->C;
    float *pb = malloc(TC * sizeof(float));
    const float *fx = octiscope_block_tokens(a, block, 0);
    double worst = 0.0;
    for (int g = 0; g < 8; g++) {
        octiscope_pull_back(pb, a, block, g);
        worst = fmax(worst, rel_error(pb, fx, TC));
    }
    free(pb);
    return worst;
}

/* The mean absolute difference in levels between the maps of copies 1..7 and copy e. */
static double map_spread(const uint8_t *maps, int N) {
    long diff = 0;
    for (int g = 1; g < 8; g++)
        for (int i = 0; i < N * 3; i++) diff += abs(maps[g * N * 3 + i] - maps[i]);
    return diff / (7.0 * N * 3);
}

START_TEST(pull_back_hybrid) {
    octiscope_analysis a;
    run_analysis("hybrid", &a);
    ck_assert_int_eq(a.break_layer, 2);
    for (int i = 0; i <= a.break_layer; i++) {
        double s = pulled_spread(&a, i);
        ck_assert_msg(s < 1e-5, "octic block output %d: pulled back copies differ by %g", i, s);
    }
    for (int i = a.break_layer + 1; i < a.nblocks; i++) {
        double s = pulled_spread(&a, i);
        ck_assert_msg(s > 1e-2, "standard block output %d of a hybrid: pulled back copies agree (%g)", i, s);
    }
    // the maps: pulled back maps of an octic block agree pixel for pixel (up
    // to a rounding step), computed ones are moved around by g
    int N = a.n * a.n;
    uint8_t *comp = malloc((size_t)8 * N * 3), *pull = malloc((size_t)8 * N * 3);
    ck_assert(octiscope_block_maps(&a, 2, comp, pull) == OCTIC_OK);
    int worst = 0, moved = 0;
    for (int g = 1; g < 8; g++)
        for (int i = 0; i < N * 3; i++) {
            worst = abs(pull[g * N * 3 + i] - pull[i]) > worst ? abs(pull[g * N * 3 + i] - pull[i]) : worst;
            moved += comp[g * N * 3 + i] != comp[i];
        }
    ck_assert_msg(worst <= 1, "pulled back maps of octic block 2 differ by %d levels", worst);
    ck_assert_msg(moved > N, "computed maps of the copies are all alike (%d differing values)", moved);
    // the hybrid's standard blocks: the pulled back maps no longer agree
    // (with random weights the standard blocks change the features little, so
    // the difference is small; the standard model below shows a large one)
    ck_assert(octiscope_block_maps(&a, a.nblocks - 1, comp, pull) == OCTIC_OK);
    ck_assert_msg(map_spread(pull, N) > 0.1, "standard block of a hybrid: pulled back maps agree (%g levels)",
                  map_spread(pull, N));
    ck_assert(octiscope_block_maps(&a, a.nblocks, comp, pull) == OCTIC_ERR_ARG);
    free(comp), free(pull);
    octiscope_analysis_free(&a);
}
END_TEST

START_TEST(pull_back_standard) {
    // a standard ViT: the pulled back maps of its last block differ
    octiscope_analysis a;
    run_analysis("standard", &a);
    int N = a.n * a.n;
    uint8_t *pull = malloc((size_t)8 * N * 3);
    ck_assert(octiscope_block_maps(&a, a.nblocks - 1, NULL, pull) == OCTIC_OK);
    // (the leading PCA axes of an untrained ViT follow the mean colour of a
    // patch, which a rotation inside the patch keeps; the features differ far more)
    double rel = pulled_spread(&a, a.nblocks - 1);
    ck_assert_msg(rel > 0.3, "standard model: pulled back features differ by only %g", rel);
    ck_assert_msg(map_spread(pull, N) > 2.0, "standard model: pulled back maps differ by only %g levels",
                  map_spread(pull, N));
    free(pull);
    octiscope_analysis_free(&a);
}
END_TEST

START_TEST(pull_back_invariant) {
    // after the invariant map the features are invariant per token: every
    // block's pulled back copies agree, and the classes are the same 8 times
    octiscope_analysis a;
    run_analysis("invariant", &a);
    for (int i = 0; i < a.nblocks; i++) {
        double s = pulled_spread(&a, i);
        ck_assert_msg(s < 1e-4, "invariant model, block output %d: pulled back copies differ by %g", i, s);
    }
    int idx0[5], idx[5];
    float p0[5], p[5];
    octiscope_top_k(&a, 0, 5, idx0, p0);
    for (int g = 1; g < 8; g++) {
        octiscope_top_k(&a, g, 5, idx, p);
        for (int r = 0; r < 5; r++) {
            ck_assert_int_eq(idx[r], idx0[r]);
            ck_assert(fabsf(p[r] - p0[r]) < 1e-5f);
        }
    }
    octiscope_analysis_free(&a);
}
END_TEST

/* ---- equivariance curves ------------------------------------------------------------------ */

static void curves_match_engine(const char *kind) {
    octiscope_analysis a;
    run_analysis(kind, &a);
    octic_model *m = demo_model(kind);
    float *img = test_image(), *norm = malloc((size_t)3 * S * S * sizeof(float));
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < S * S; i++)
            norm[c * S * S + i] = (img[c * S * S + i] - octic_imagenet_mean[c]) / octic_imagenet_std[c];
    octic_equivariance_report rep;
    ck_assert_msg(octic_equivariance_measure(m, norm, 1, S, &rep) == OCTIC_OK, "%s", octic_last_error());
    ck_assert_int_eq(rep.nblocks, a.nblocks);
    for (int i = 0; i < a.nblocks; i++)
        for (int g = 0; g < 8; g++) {
            double mine = a.eq_err[i * 8 + g], ref = rep.block_err[i * 8 + g];
            ck_assert_msg(fabs(mine - ref) <= 1e-5 + 1e-3 * ref, "%s block %d %s: %g vs the engine's %g", kind, i,
                          octic_group_names[g], mine, ref);
        }
    ck_assert(a.eq_err[0] == 0.0); /* e */
    octic_equivariance_report_free(&rep);
    octic_model_free(m);
    free(img), free(norm);
    octiscope_analysis_free(&a);
}

START_TEST(curves_hybrid) {
    curves_match_engine("hybrid");
}
END_TEST

START_TEST(curves_standard) {
    curves_match_engine("standard");
    octiscope_analysis a;
    run_analysis("standard", &a);
    // a standard ViT is not equivariant to rotations: the last block shows it
    for (int g = 1; g < 8; g++) ck_assert_msg(a.eq_err[(a.nblocks - 1) * 8 + g] > 1e-2, "g = %d", g);
    octiscope_analysis_free(&a);
}
END_TEST

/* ---- class-token attention (the engine's attn output) ---------------------------------------- */

START_TEST(attention_rows_and_symmetry) {
    octiscope_analysis a;
    run_analysis("hybrid", &a);
    int N = a.n * a.n, *cell = malloc((size_t)N * sizeof(int));
    for (int i = 0; i < a.depth; i++)
        for (int g = 0; g < 8; g++)
            for (int h = 0; h < a.H; h++) {
                const float *row = a.attn + (((size_t)i * 8 + g) * a.H + h) * a.T;
                double sum = 0.0;
                for (int t = 0; t < a.T; t++) ck_assert(row[t] >= 0.0f), sum += row[t];
                ck_assert_msg(fabs(sum - 1.0) < 1e-5, "block %d: class attention sums to %g", i, sum);
            }
    // octic blocks: the map of copy g is the map of x moved by g
    for (int i = 0; i < a.break_layer; i++)
        for (int g = 1; g < 8; g++) {
            octic_group_grid_perm(cell, g, a.n);
            for (int h = 0; h < a.H; h++) {
                const float *mg = octiscope_attention_row(&a, i, g, h), *m0 = octiscope_attention_row(&a, i, 0, h);
                for (int p = 0; p < N; p++)
                    ck_assert_msg(fabsf(mg[p] - m0[cell[p]]) < 1e-5f, "octic block %d, %s, head %d", i,
                                  octic_group_names[g], h);
            }
        }
    free(cell);
    octiscope_analysis_free(&a);
}
END_TEST

START_TEST(attention_matches_recomputation) {
    // the standard demo model's block 0: LayerNorm (1e-6), qkv, q_cls . k_t / sqrt(hd), softmax
    octiscope_analysis a;
    run_analysis("standard", &a);
    octic_model *m = demo_model("standard");
    octic_tensor_set w;
    ck_assert(octic_model_export(m, &w) == OCTIC_OK);
    const octic_tensor *nw = octic_tensor_set_find(&w, "blocks.0.norm1.weight"),
                       *nb = octic_tensor_set_find(&w, "blocks.0.norm1.bias"),
                       *qw = octic_tensor_set_find(&w, "blocks.0.attn.qkv.weight"),
                       *qb = octic_tensor_set_find(&w, "blocks.0.attn.qkv.bias");
    ck_assert(nw && nb && qw && qb);
    int T = a.T, C = a.C, H = a.H, hd = C / H;
    const float *x = octiscope_block_tokens(&a, 0, 0);
    float *h = malloc((size_t)T * C * sizeof(float)), *qkv = malloc((size_t)T * 3 * C * sizeof(float));
    for (int t = 0; t < T; t++) {
        double mean = 0, var = 0;
        for (int j = 0; j < C; j++) mean += x[t * C + j];
        mean /= C;
        for (int j = 0; j < C; j++) var += (x[t * C + j] - mean) * (x[t * C + j] - mean);
        var /= C;
        for (int j = 0; j < C; j++)
            h[t * C + j] = (float)((x[t * C + j] - mean) / sqrt(var + 1e-6)) * nw->data[j] + nb->data[j];
        for (int o = 0; o < 3 * C; o++) {
            double s = qb->data[o];
            for (int j = 0; j < C; j++) s += (double)qw->data[(size_t)o * C + j] * h[t * C + j];
            qkv[(size_t)t * 3 * C + o] = (float)s;
        }
    }
    for (int hh = 0; hh < H; hh++) {
        double sc[1024], mx = -1e300, sum = 0;
        for (int t = 0; t < T; t++) {
            double s = 0;
            for (int d = 0; d < hd; d++) s += (double)qkv[hh * hd + d] * qkv[(size_t)t * 3 * C + C + hh * hd + d];
            sc[t] = s / sqrt(hd);
            mx = fmax(mx, sc[t]);
        }
        for (int t = 0; t < T; t++) sum += sc[t] = exp(sc[t] - mx);
        const float *row = a.attn + (size_t)hh * T; /* block 0, copy e */
        for (int t = 0; t < T; t++)
            ck_assert_msg(fabs(row[t] - sc[t] / sum) < 1e-5, "head %d token %d: %g vs %g", hh, t, row[t], sc[t] / sum);
    }
    free(h), free(qkv);
    octic_tensor_set_free(&w);
    octic_model_free(m);
    octiscope_analysis_free(&a);
}
END_TEST

/* ---- classes, cancel, CSV -------------------------------------------------------------------- */

START_TEST(top_k_order) {
    float probs[8 * 6] = {0.1f, 0.3f, 0.05f, 0.3f, 0.2f, 0.05f};
    octiscope_analysis a = {.classes = 6, .probs = probs};
    int idx[5];
    float p[5];
    octiscope_top_k(&a, 0, 5, idx, p);
    int want[5] = {1, 3, 4, 0, 2};
    for (int r = 0; r < 5; r++) ck_assert_int_eq(idx[r], want[r]);
    ck_assert(p[0] == 0.3f && p[4] == 0.05f);
    a.classes = 3;
    octiscope_top_k(&a, 0, 5, idx, p);
    ck_assert(idx[0] == 1 && idx[1] == 0 && idx[2] == 2 && idx[3] == -1 && idx[4] == -1);
}
END_TEST

START_TEST(cancel_stops) {
    octic_model *m = demo_model("hybrid");
    float *img = test_image();
    octiscope_analysis a;
    volatile int cancel = 1;
    ck_assert(octiscope_analysis_run(m, img, S, &a, &cancel, NULL, NULL) == OCTIC_ERR_ARG);
    ck_assert_str_eq(octic_last_error(), "cancelled");
    ck_assert(a.blocks == NULL && a.nblocks == 0);
    ck_assert(octiscope_analysis_run(m, img, 100, &a, NULL, NULL, NULL) != OCTIC_OK); /* not a multiple of 32 */
    free(img);
    octic_model_free(m);
}
END_TEST

START_TEST(csv_files) {
    octiscope_analysis a;
    run_analysis("hybrid", &a);
    char dir[] = "/tmp/octiscope-csv-XXXXXX", path[256], line[512];
    ck_assert(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/eq.csv", dir);
    ck_assert(octiscope_write_equivariance_csv(&a, path) == OCTIC_OK);
    FILE *f = fopen(path, "r");
    ck_assert(f && fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "block,octic,e,r,rr,rrr,m,mr,mrr,mrrr\n");
    int rows = 0;
    /* rows named as the screen and octic equivariance name them: the
     * embedding, then blocks 0..depth-1 */
    while (fgets(line, sizeof line, f)) {
        char want[32];
        if (rows == 0) snprintf(want, sizeof want, "embedding,1,");
        else snprintf(want, sizeof want, "%d,%d,", rows - 1, rows <= a.break_layer);
        ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "row %d: %s (expected %s...)", rows, line, want);
        rows++;
    }
    fclose(f);
    ck_assert_int_eq(rows, a.nblocks);
    snprintf(path, sizeof path, "%s/energy.csv", dir);
    ck_assert(octiscope_write_energy_csv(&a, path) == OCTIC_OK);
    f = fopen(path, "r");
    rows = 0;
    while (fgets(line, sizeof line, f)) rows++;
    fclose(f);
    ck_assert_int_eq(rows, 1 + a.break_layer + 1); /* header, outputs 0..break */
    snprintf(path, sizeof path, "%s/top5.csv", dir);
    ck_assert(octiscope_write_top5_csv(&a, path) == OCTIC_OK);
    unlink(path);
    snprintf(path, sizeof path, "%s/energy.csv", dir), unlink(path);
    snprintf(path, sizeof path, "%s/eq.csv", dir), unlink(path);
    rmdir(dir);
    ck_assert(octiscope_write_equivariance_csv(&a, "/nonexistent-dir/eq.csv") == OCTIC_ERR_IO);
    ck_assert_msg(strstr(octic_last_error(), "/nonexistent-dir/eq.csv") != NULL, "%s", octic_last_error());
    octiscope_analysis_free(&a);
}
END_TEST

/* Background work leaves the window a core: every core but one unless the
 * preference says otherwise, applied to the engine; workers at a lower
 * priority without touching the thread that asked for nothing. */
START_TEST(background_threads_and_priority) {
    ck_assert_int_eq(octiscope_background_threads(0, 2), 1);
    ck_assert_int_eq(octiscope_background_threads(0, 1), 1);
    ck_assert_int_eq(octiscope_background_threads(0, 16), 15);
    ck_assert_int_eq(octiscope_background_threads(3, 2), 3);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    ck_assert_int_eq(octiscope_background_apply(0), cores > 1 ? (int)cores - 1 : 1);
    ck_assert_int_eq(octic_cpu_threads(), cores > 1 ? (int)cores - 1 : 1);
    ck_assert_int_eq(octiscope_background_apply(2), 2);
    ck_assert_int_eq(octic_cpu_threads(), 2);
    octic_cpu_set_threads(0);
}
END_TEST

static sigset_t worker_mask;

static void *lowered(void *out) {
    *(int *)out = octiscope_background_lower_priority();
    pthread_sigmask(SIG_BLOCK, NULL, &worker_mask);
    return NULL;
}

START_TEST(background_priority_per_thread) {
    int before = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    int worker = -100;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, lowered, &worker), 0);
    pthread_join(t, NULL);
    ck_assert_int_ge(worker, OCTISCOPE_WORKER_NICE);
    ck_assert_int_eq(getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)), before); /* this thread untouched */
    /* and no signal handler runs on it (an engine thread): faults still do */
    ck_assert(sigismember(&worker_mask, SIGCHLD) && sigismember(&worker_mask, SIGINT) &&
              sigismember(&worker_mask, SIGPROF) && sigismember(&worker_mask, SIGTERM));
    ck_assert(!sigismember(&worker_mask, SIGSEGV) && !sigismember(&worker_mask, SIGBUS));
    sigset_t mine;
    pthread_sigmask(SIG_BLOCK, NULL, &mine);
    ck_assert(!sigismember(&mine, SIGCHLD)); /* this thread untouched */
}
END_TEST

/* The device preference: cpu is the CPU; cuda is the CUDA backend where it
 * can run, else the CPU with a notice naming the reason (this build, no GPU);
 * an unknown value is the CPU with a notice; the choice becomes the studio's. */
START_TEST(device_choice) {
    char notice[512], why[256], status[320];
    const octic_backend *cpu = octic_cpu_backend();
    ck_assert_ptr_eq(octiscope_device_current(), cpu); /* before any choice */
    ck_assert_ptr_eq(octiscope_device_choose("cpu", notice, sizeof notice), cpu);
    ck_assert_str_eq(notice, "");
    const octic_backend *cuda = octic_cuda_backend_for(OCTIC_FLOAT32, why, sizeof why);
    const octic_backend *be = octiscope_device_apply("cuda", notice, sizeof notice);
    int available = octiscope_device_cuda_status(status, sizeof status);
    if (cuda) { /* a usable GPU: the preference is honoured, silently */
        ck_assert_ptr_eq(be, cuda);
        ck_assert(octic_backend_is_cuda(be));
        ck_assert_str_eq(notice, "");
        ck_assert_int_eq(available, 1);
    } else { /* no GPU or no CUDA in the build: the CPU, and a notice that says why */
        ck_assert_ptr_eq(be, cpu);
        ck_assert_msg(strstr(notice, "CUDA") && strstr(notice, why) && strstr(notice, "CPU"), "%s", notice);
        ck_assert_int_eq(available, 0);
        ck_assert_msg(strstr(status, why) && strstr(status, "runs on the CPU"), "%s", status);
    }
    ck_assert_ptr_eq(octiscope_device_current(), be);
    ck_assert_ptr_eq(octiscope_device_apply("tpu", notice, sizeof notice), cpu);
    ck_assert_msg(strstr(notice, "'tpu'") && strstr(notice, "CPU"), "%s", notice);
    ck_assert_ptr_eq(octiscope_device_current(), cpu);
    ck_assert_ptr_eq(octiscope_device_choose(NULL, notice, sizeof notice), cpu);
    ck_assert(notice[0] != '\0');
}
END_TEST

static Suite *studio_suite(void) {
    Suite *s = suite_create("studio-logic");
    TCase *pca = tcase_create("pca-colours");
    tcase_add_test(pca, pca_finds_known_axes);
    tcase_add_test(pca, colour_maps);
    suite_add_tcase(s, pca);
    TCase *energy = tcase_create("energy");
    tcase_add_test(energy, energy_shares_per_irrep);
    tcase_add_test(energy, energy_shares_of_a_model);
    suite_add_tcase(s, energy);
    TCase *pull = tcase_create("pull-back");
    tcase_add_test(pull, pull_back_hybrid);
    tcase_add_test(pull, pull_back_standard);
    tcase_add_test(pull, pull_back_invariant);
    suite_add_tcase(s, pull);
    TCase *curves = tcase_create("curves");
    tcase_add_test(curves, curves_hybrid);
    tcase_add_test(curves, curves_standard);
    suite_add_tcase(s, curves);
    TCase *attn = tcase_create("attention");
    tcase_add_test(attn, attention_rows_and_symmetry);
    tcase_add_test(attn, attention_matches_recomputation);
    suite_add_tcase(s, attn);
    TCase *misc = tcase_create("classes-cancel-csv");
    tcase_add_test(misc, top_k_order);
    tcase_add_test(misc, cancel_stops);
    tcase_add_test(misc, csv_files);
    suite_add_tcase(s, misc);
    TCase *bg = tcase_create("background");
    tcase_add_test(bg, background_threads_and_priority);
    tcase_add_test(bg, background_priority_per_thread);
    suite_add_tcase(s, bg);
    TCase *device = tcase_create("device");
    tcase_add_test(device, device_choice);
    suite_add_tcase(s, device);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(studio_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
