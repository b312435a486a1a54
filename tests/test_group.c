/* The group D8: composition, inverses, and that every action is a
 * homomorphism (acting with g*h is acting with h, then g). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"
#include "octic_math.h"
#include "test_util.h"

/* Products worked out by hand from r^4 = m^2 = e and r m = m r^-1. */
START_TEST(test_known_products) {
    struct { const char *g, *h, *gh; } t[] = {
        {"r", "r", "rr"},      {"r", "rrr", "e"},   {"r", "m", "mrrr"}, {"m", "r", "mr"},
        {"m", "m", "e"},       {"rr", "mr", "mrrr"}, {"mr", "mr", "e"},   {"mrr", "r", "mrrr"},
        {"mrrr", "mrrr", "e"}, {"rrr", "m", "mr"},   {"mr", "rrr", "m"},  {"r", "mr", "m"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int g = octic_group_parse(t[i].g), h = octic_group_parse(t[i].h), gh = octic_group_parse(t[i].gh);
        ck_assert_msg(octic_group_mul(g, h) == gh, "%s * %s should be %s, got %s", t[i].g, t[i].h, t[i].gh,
                      octic_group_names[octic_group_mul(g, h)]);
    }
}
END_TEST

START_TEST(test_group_axioms) {
    for (int g = 0; g < 8; g++) {
        ck_assert_int_eq(octic_group_mul(g, 0), g);
        ck_assert_int_eq(octic_group_mul(0, g), g);
        ck_assert_int_eq(octic_group_mul(g, octic_group_inv(g)), 0);
        ck_assert_int_eq(octic_group_mul(octic_group_inv(g), g), 0);
        int seen = 0; /* each row of the table is a permutation */
        for (int h = 0; h < 8; h++) seen |= 1 << octic_group_mul(g, h);
        ck_assert_int_eq(seen, 0xff);
        for (int h = 0; h < 8; h++)
            for (int k = 0; k < 8; k++)
                ck_assert_int_eq(octic_group_mul(octic_group_mul(g, h), k), octic_group_mul(g, octic_group_mul(h, k)));
    }
    ck_assert_int_eq(octic_group_parse("nope"), -1);
    ck_assert_int_eq(octic_group_parse("r2"), 2);
}
END_TEST

/* r is torch.rot90(k=1, dims=(-2,-1)) and m is flip(-1) on a 3x3 image. */
START_TEST(test_image_action_matches_torch) {
    float in[9] = {0, 1, 2, 3, 4, 5, 6, 7, 8}, out[9];
    const float rot[9] = {2, 5, 8, 1, 4, 7, 0, 3, 6};  /* torch.rot90 of arange(9).view(3,3) */
    const float flip[9] = {2, 1, 0, 5, 4, 3, 8, 7, 6};
    const float mr[9] = {8, 5, 2, 7, 4, 1, 6, 3, 0};   /* rot90 then flip(-1) */
    octic_group_act_image(out, in, 1, 1, 3);
    ck_assert_mem_eq(out, rot, sizeof rot);
    octic_group_act_image(out, in, 4, 1, 3);
    ck_assert_mem_eq(out, flip, sizeof flip);
    octic_group_act_image(out, in, 5, 1, 3);
    ck_assert_mem_eq(out, mr, sizeof mr);
}
END_TEST

START_TEST(test_image_action_is_homomorphism) {
    int S = 6, C = 2;
    size_t n = (size_t)C * S * S;
    float *x = malloc(n * sizeof(float)), *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float)),
          *c = malloc(n * sizeof(float));
    fill_random(x, n, 1, 1.0f);
    for (int g = 0; g < 8; g++)
        for (int h = 0; h < 8; h++) {
            octic_group_act_image(a, x, h, C, S);
            octic_group_act_image(b, a, g, C, S);
            octic_group_act_image(c, x, octic_group_mul(g, h), C, S);
            ck_assert_msg(!memcmp(b, c, n * sizeof(float)), "image action: %s(%s(x)) != (%s%s)(x)",
                          octic_group_names[g], octic_group_names[h], octic_group_names[g], octic_group_names[h]);
        }
    free(x), free(a), free(b), free(c);
}
END_TEST

/* The isotypic action of the reference, element by element (model.md). */
START_TEST(test_isotypic_action) {
    int src[8], sign[8];
    octic_group_isotypic(1, src, sign); /* r: (x0, x1, -x2, -x3, -x5, x4, -x7, x6) */
    const int r_src[8] = {0, 1, 2, 3, 5, 4, 7, 6}, r_sign[8] = {1, 1, -1, -1, -1, 1, -1, 1};
    ck_assert_mem_eq(src, r_src, sizeof src);
    ck_assert_mem_eq(sign, r_sign, sizeof sign);
    octic_group_isotypic(4, src, sign); /* m: (x0, -x1, x2, -x3, -x4, x5, -x6, x7) */
    const int m_src[8] = {0, 1, 2, 3, 4, 5, 6, 7}, m_sign[8] = {1, -1, 1, -1, -1, 1, -1, 1};
    ck_assert_mem_eq(src, m_src, sizeof src);
    ck_assert_mem_eq(sign, m_sign, sizeof sign);
    octic_group_isotypic(5, src, sign); /* mr: (x0, -x1, -x2, x3, x5, x4, x7, x6) */
    const int mr_src[8] = {0, 1, 2, 3, 5, 4, 7, 6}, mr_sign[8] = {1, -1, -1, 1, 1, 1, 1, 1};
    ck_assert_mem_eq(src, mr_src, sizeof src);
    ck_assert_mem_eq(sign, mr_sign, sizeof sign);
}
END_TEST

/* Tokens: act(g, act(h, t)) == act(g*h, t), the class token stays. */
START_TEST(test_token_action_is_homomorphism) {
    int B = 2, n = 4, t0 = 2, T = t0 + n * n, C = 16;
    size_t sz = (size_t)B * T * C;
    float *x = malloc(sz * sizeof(float)), *a = malloc(sz * sizeof(float)), *b = malloc(sz * sizeof(float)),
          *c = malloc(sz * sizeof(float));
    fill_random(x, sz, 2, 1.0f);
    for (int g = 0; g < 8; g++)
        for (int h = 0; h < 8; h++) {
            octic_group_act_tokens(a, x, h, B, T, t0, n, C, 1);
            octic_group_act_tokens(b, a, g, B, T, t0, n, C, 1);
            octic_group_act_tokens(c, x, octic_group_mul(g, h), B, T, t0, n, C, 1);
            ck_assert_msg(!memcmp(b, c, sz * sizeof(float)), "token action is not a homomorphism at %s, %s",
                          octic_group_names[g], octic_group_names[h]);
        }
    /* the spatial part matches the image action on the grid */
    octic_group_act_tokens(a, x, 5, B, T, t0, n, C, 0);
    for (int b0 = 0; b0 < B; b0++)
        for (int t = 0; t < t0; t++)
            ck_assert(!memcmp(a + ((size_t)b0 * T + t) * C, x + ((size_t)b0 * T + t) * C, C * sizeof(float)));
    float grid[16], moved[16];
    for (int i = 0; i < 16; i++) grid[i] = x[(size_t)(t0 + i) * C];
    octic_group_act_image(moved, grid, 5, 1, n);
    for (int i = 0; i < 16; i++) ck_assert(a[(size_t)(t0 + i) * C] == moved[i]);
    free(x), free(a), free(b), free(c);
}
END_TEST

/* The isotypic <-> regular change of basis is orthogonal, and the regular
 * representation permutes channels: GELU there commutes with the group. */
START_TEST(test_regular_basis) {
    float x[8], r[8], back[8];
    fill_random(x, 8, 3, 1.0f);
    octic_isotypic_to_regular(r, x);
    octic_regular_to_isotypic(back, r);
    for (int k = 0; k < 8; k++) ck_assert_float_eq_tol(back[k], x[k], 1e-6f);
    double nx = 0, nr = 0;
    for (int k = 0; k < 8; k++) nx += x[k] * x[k], nr += r[k] * r[k];
    ck_assert_double_eq_tol(nx, nr, 1e-5);
    /* g in the isotypic basis is a signed permutation; in the regular one a permutation */
    for (int g = 0; g < 8; g++) {
        int src[8], sign[8];
        octic_group_isotypic(g, src, sign);
        float gx[8], gr[8];
        for (int k = 0; k < 8; k++) gx[k] = sign[k] * x[src[k]];
        octic_isotypic_to_regular(gr, gx);
        for (int k = 0; k < 8; k++) {
            int found = 0;
            for (int j = 0; j < 8; j++) found |= fabsf(gr[k] - r[j]) < 1e-6f;
            ck_assert_msg(found, "%s is not a permutation in the regular basis", octic_group_names[g]);
        }
    }
}
END_TEST

static Suite *group_suite(void) {
    Suite *s = suite_create("group");
    TCase *tc = tcase_create("D8");
    tcase_add_test(tc, test_known_products);
    tcase_add_test(tc, test_group_axioms);
    tcase_add_test(tc, test_image_action_matches_torch);
    tcase_add_test(tc, test_image_action_is_homomorphism);
    tcase_add_test(tc, test_isotypic_action);
    tcase_add_test(tc, test_token_action_is_homomorphism);
    tcase_add_test(tc, test_regular_basis);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(group_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
