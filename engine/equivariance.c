/* Measured equivariance: f(g.x) against g.f(x) at every block. */
#include "equivariance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"

typedef struct {
    float *blocks; /* (nblocks, B, T, C) */
    size_t stride; /* B*T*C */
} collect;

static void on_block(void *user, int index, const float *tokens, int B, int T, int C) {
    collect *c = user;
    if (index >= 0) memcpy(c->blocks + (size_t)index * c->stride, tokens, (size_t)B * T * C * sizeof(float));
}

/* |a - b| / |b| */
static double rel_err(const float *a, const float *b, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0.0 ? sqrt(num / den) : sqrt(num);
}

octic_status octic_equivariance_measure(octic_model *m, const float *images, int B, int S,
                                        octic_equivariance_report *rep) {
    memset(rep, 0, sizeof *rep);
    const octic_config *cf = octic_model_config(m);
    octic_status st = octic_model_check_size(m, S);
    if (st) return st;
    int T = octic_model_tokens(m, S), C = cf->dim, n = S / cf->patch, t0 = 1 + cf->registers;
    int nb = cf->depth + 1;
    size_t stride = (size_t)B * T * C, img = (size_t)3 * S * S;
    collect ref = {malloc(nb * stride * sizeof(float)), stride};
    collect cur = {malloc(nb * stride * sizeof(float)), stride};
    float *moved = malloc(stride * sizeof(float)), *x = malloc(B * img * sizeof(float));
    float *cls0 = malloc((size_t)B * C * sizeof(float)), *cls = malloc((size_t)B * C * sizeof(float));
    rep->block_err = calloc((size_t)nb * 8, sizeof(double));
    if (!ref.blocks || !cur.blocks || !moved || !x || !cls0 || !cls || !rep->block_err) {
        st = octic_fail(OCTIC_ERR_NOMEM, "out of memory measuring equivariance");
        goto done;
    }
    rep->nblocks = nb;
    rep->break_layer = cf->kind == OCTIC_KIND_STANDARD ? 0 : cf->break_layer;

    octic_outputs o = {.cls = cls0, .on_block = on_block, .user = &ref};
    if ((st = octic_model_forward(m, images, B, S, &o))) goto done;
    for (int g = 0; g < 8; g++) {
        for (int b = 0; b < B; b++) octic_group_act_image(x + b * img, images + b * img, g, 3, S);
        octic_outputs og = {.cls = cls, .on_block = on_block, .user = &cur};
        if ((st = octic_model_forward(m, x, B, S, &og))) goto done;
        for (int i = 0; i < nb; i++) {
            /* outputs 0..break_layer carry the isotypic channel action */
            int octic = cf->kind != OCTIC_KIND_STANDARD && i <= cf->break_layer;
            octic_group_act_tokens(moved, ref.blocks + i * stride, g, B, T, t0, n, C, octic);
            /* g is orthogonal (a permutation with signs): |g.f(x)| = |f(x)| */
            rep->block_err[i * 8 + g] = rel_err(cur.blocks + i * stride, moved, stride);
        }
        rep->cls_err[g] = rel_err(cls, cls0, (size_t)B * C);
    }
done:
    free(ref.blocks), free(cur.blocks), free(moved), free(x), free(cls0), free(cls);
    if (st) octic_equivariance_report_free(rep);
    return st;
}

void octic_equivariance_report_free(octic_equivariance_report *rep) {
    free(rep->block_err);
    rep->block_err = NULL;
    rep->nblocks = 0;
}
