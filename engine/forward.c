/* The forward pass of every family, written against the backend op table.
 *
 * Tokens live in one residual stream x (B*T, C): iso5 for the octic blocks,
 * plain channels after the break. Shapes: B images, T = 1 + R + N tokens,
 * N = n*n patches, C width, H heads, hd = C/H. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "octic_math.h"

/* ------------------------------------------------------------------------ */
/* Position embeddings at another resolution                                 */

/* PyTorch's cubic convolution weights (a = -0.75) for the four taps around a
 * source coordinate with fractional part t. */
static void cubic_weights(double w[4], double t) {
    const double A = -0.75;
    double x;
    x = t + 1.0;
    w[0] = ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    x = t;
    w[1] = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    x = 1.0 - t;
    w[2] = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    x = 2.0 - t;
    w[3] = ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
}

/* For each output index: the first tap (may be out of range: clamped when
 * read, as PyTorch does) and the 4 weights. align_corners False: the source
 * coordinate is (dst + 0.5) * step - 0.5, not clamped at 0 for cubic. */
static void cubic_taps(int *first, double (*w)[4], int n_in, int n_out, double step) {
    for (int o = 0; o < n_out; o++) {
        double real = (o + 0.5) * step - 0.5;
        int i0 = (int)floor(real);
        if (i0 > n_in - 1) i0 = n_in - 1;
        double t = real - i0;
        if (t < 0.0) t = 0.0;
        if (t > 1.0) t = 1.0;
        first[o] = i0 - 1;
        cubic_weights(w[o], t);
    }
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void octic_bicubic_resize(float *out, const float *in, int n_in, int n_out, int C, double scale) {
    // in: (n_in*n_in, C) -> out: (n_out*n_out, C), rows and columns resized alike
    double step = scale > 0.0 ? 1.0 / scale : (double)n_in / n_out;
    int *first = malloc((size_t)n_out * sizeof *first);
    double(*w)[4] = malloc((size_t)n_out * sizeof *w);
    double *acc = malloc((size_t)C * sizeof *acc);
    if (!first || !w || !acc) {
        free(first), free(w), free(acc);
        return;
    }
    cubic_taps(first, w, n_in, n_out, step);
    for (int oy = 0; oy < n_out; oy++)
        for (int ox = 0; ox < n_out; ox++) {
            for (int ch = 0; ch < C; ch++) acc[ch] = 0.0;
            for (int ky = 0; ky < 4; ky++) {
                int y = clampi(first[oy] + ky, 0, n_in - 1);
                for (int kx = 0; kx < 4; kx++) {
                    int x = clampi(first[ox] + kx, 0, n_in - 1);
                    double wk = w[oy][ky] * w[ox][kx];
                    const float *src = in + ((size_t)y * n_in + x) * C;
                    for (int ch = 0; ch < C; ch++) acc[ch] += wk * src[ch];
                }
            }
            float *dst = out + ((size_t)oy * n_out + ox) * C;
            for (int ch = 0; ch < C; ch++) dst[ch] = (float)acc[ch];
        }
    free(first), free(w), free(acc);
}

/* The patch position embeddings (n*n, C) for a grid of side n: the stored ones
 * at the training grid, else resized once and cached. Octic models and DeiT III
 * resize to the size; the DINOv2 baseline keeps DINOv2's scale factor
 * (n + 0.1) / grid. */
static const float *position_embeddings(octic_model *m, int n, octic_status *st) {
    const octic_backend *be = m->be;
    int g = m->cfg.grid, C = m->cfg.dim;
    *st = OCTIC_OK;
    if (n == g) return m->pos;
    if (m->pos_interp && m->pos_interp_n == n) return m->pos_interp;
    float *src = malloc((size_t)g * g * C * sizeof(float));
    float *dst = malloc((size_t)n * n * C * sizeof(float));
    float *dev = be->alloc(be, (size_t)n * n * C);
    if (!src || !dst || !dev) {
        free(src), free(dst);
        if (dev) be->free(be, dev);
        *st = octic_fail(OCTIC_ERR_NOMEM, "out of memory interpolating position embeddings");
        return NULL;
    }
    be->download(be, src, m->pos, (size_t)g * g * C);
    int dinov2_std = m->cfg.family == OCTIC_FAMILY_DINOV2 && m->cfg.kind == OCTIC_KIND_STANDARD;
    octic_bicubic_resize(dst, src, g, n, C, dinov2_std ? (n + 0.1) / g : 0.0);
    be->upload(be, dev, dst, (size_t)n * n * C);
    free(src), free(dst);
    if (m->pos_interp) be->free(be, m->pos_interp);
    m->pos_interp = dev;
    m->pos_interp_n = n;
    return dev;
}

/* ------------------------------------------------------------------------ */
/* Layers                                                                    */

/* LinearD8 on iso5 rows: out (M, l->out) = l(in (M, l->in)). Six products:
 * A1, A2, B1, B2 with their own weights, both E rows with the shared E one. */
void octic_linear8_forward(const octic_backend *be, float *out, const float *in, const octic_linear8 *l, int M) {
    int ci = l->in / 8, co = l->out / 8;
    for (int q = 0; q < 4; q++)
        be->linear(be, out + q * co, l->out, in + q * ci, l->in, l->w[q], q == 0 ? l->bias : NULL, M, co, ci);
    for (int row = 0; row < 2; row++)
        be->linear(be, out + (4 + 2 * row) * co, l->out, in + (4 + 2 * row) * ci, l->in, l->w[4], NULL, M, 2 * co,
                   2 * ci);
}

/* Activation buffers of one forward pass. */
typedef struct {
    float *images;  /* (B, 3, S, S) */
    float *patches; /* (B*N, 3*p*p) */
    float *emb;     /* (B*N, C) */
    float *x;       /* (B*T, C) residual stream */
    float *h;       /* (B*T, C) normalized */
    float *qkv;     /* (B*T, 3C) */
    float *qkv2;    /* (B*T, 3C) octic qkv in the per-head layout */
    float *att;     /* (B*T, C) */
    float *att2;    /* (B*T, C) */
    float *mlp;     /* (B*T, hidden) */
    float *inv;     /* (B*T, invariant width) */
    float *scratch; /* (T*T) attention scores */
    float *out8;    /* (B*T, C) tokens in the published layout */
    float *logits;  /* (B, classes) */
    float *host;    /* (B*T, C) host copy for callbacks */
} activations;

static void free_activations(const octic_backend *be, activations *a) {
    float **bufs[] = {&a->images, &a->patches, &a->emb, &a->x,  &a->h,       &a->qkv,  &a->qkv2,
                      &a->att,    &a->att2,    &a->mlp, &a->inv, &a->scratch, &a->out8, &a->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (*bufs[i]) be->free(be, *bufs[i]);
    free(a->host);
    memset(a, 0, sizeof *a);
}

static octic_status alloc_activations(const octic_model *m, activations *a, int B, int S) {
    const octic_backend *be = m->be;
    const octic_config *cf = &m->cfg;
    int p = cf->patch, n = S / p, N = n * n, T = 1 + cf->registers + N, C = cf->dim;
    size_t BT = (size_t)B * T;
    int invw = cf->kind == OCTIC_KIND_INVARIANT ? octic_invariant_width(cf->invariant, C) : 1;
    memset(a, 0, sizeof *a);
    a->images = be->alloc(be, (size_t)B * 3 * S * S);
    a->patches = be->alloc(be, (size_t)B * N * 3 * p * p);
    a->emb = be->alloc(be, (size_t)B * N * C);
    a->x = be->alloc(be, BT * C);
    a->h = be->alloc(be, BT * C);
    a->qkv = be->alloc(be, BT * 3 * C);
    a->qkv2 = be->alloc(be, BT * 3 * C);
    a->att = be->alloc(be, BT * C);
    a->att2 = be->alloc(be, BT * C);
    a->mlp = be->alloc(be, BT * cf->mlp_hidden);
    a->inv = be->alloc(be, BT * invw);
    a->scratch = be->alloc(be, (size_t)T * T);
    a->out8 = be->alloc(be, BT * C);
    a->logits = be->alloc(be, (size_t)B * (cf->classes > 0 ? cf->classes : 1));
    a->host = malloc(BT * C * sizeof(float));
    if (!a->images || !a->patches || !a->emb || !a->x || !a->h || !a->qkv || !a->qkv2 || !a->att || !a->att2 ||
        !a->mlp || !a->inv || !a->scratch || !a->out8 || !a->logits || !a->host) {
        free_activations(be, a);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for the activations of a batch of %d at %dx%d", B, S, S);
    }
    return OCTIC_OK;
}

void octic_attention8_forward(const octic_model *m, const octic_block8 *b, float *out, const float *in,
                              float *qkv, float *qkv2, float *att, float *att2, float *scratch, int B, int T) {
    const octic_backend *be = m->be;
    int C = m->cfg.dim, H = m->cfg.heads, rows = B * T;
    // LinearD8 qkv -> per-head softmax attention in the standard layout -> LinearD8 proj
    octic_linear8_forward(be, qkv, in, &b->qkv, rows);
    be->permute_cols(be, qkv2, qkv, rows, 3 * C, 3 * C, m->perm_qkv);
    be->attention(be, att, qkv2, scratch, B, T, H, C / H);
    be->permute_cols(be, att2, att, rows, C, C, m->perm_attn);
    octic_linear8_forward(be, out, att2, &b->proj, rows);
}

void octic_mlp8_forward(const octic_model *m, const octic_block8 *b, float *out, const float *in, float *hidden,
                        int rows) {
    const octic_backend *be = m->be;
    // LinearD8 -> octic GELU -> LinearD8
    octic_linear8_forward(be, hidden, in, &b->fc1, rows);
    be->gelu_d8(be, hidden, rows, m->cfg.mlp_hidden);
    octic_linear8_forward(be, out, hidden, &b->fc2, rows);
}

static void octic_block_forward(const octic_model *m, const octic_block8 *b, activations *a, int B, int T) {
    const octic_backend *be = m->be;
    int C = m->cfg.dim, rows = B * T;
    be->layernorm_d8(be, a->h, a->x, b->norm1_scale, b->norm1_shift, rows, C, 1e-5f);
    octic_attention8_forward(m, b, a->h, a->h, a->qkv, a->qkv2, a->att, a->att2, a->scratch, B, T);
    be->residual(be, a->x, a->h, b->ls1, rows, C);
    be->layernorm_d8(be, a->h, a->x, b->norm2_scale, b->norm2_shift, rows, C, 1e-5f);
    octic_mlp8_forward(m, b, a->h, a->h, a->mlp, rows);
    be->residual(be, a->x, a->h, b->ls2, rows, C);
}

static void block_forward(const octic_model *m, const octic_block *b, activations *a, int B, int T) {
    const octic_backend *be = m->be;
    int C = m->cfg.dim, H = m->cfg.heads, Hd = m->cfg.mlp_hidden, rows = B * T;
    be->layernorm(be, a->h, a->x, b->norm1_w, b->norm1_b, rows, C, 1e-6f);
    be->linear(be, a->qkv, 3 * C, a->h, C, b->qkv_w, b->qkv_b, rows, 3 * C, C);
    be->attention(be, a->att, a->qkv, a->scratch, B, T, H, C / H);
    be->linear(be, a->h, C, a->att, C, b->proj_w, b->proj_b, rows, C, C);
    be->residual(be, a->x, a->h, b->ls1, rows, C);
    be->layernorm(be, a->h, a->x, b->norm2_w, b->norm2_b, rows, C, 1e-6f);
    be->linear(be, a->mlp, Hd, a->h, C, b->fc1_w, b->fc1_b, rows, Hd, C);
    be->gelu(be, a->mlp, (size_t)rows * Hd);
    be->linear(be, a->h, C, a->mlp, Hd, b->fc2_w, b->fc2_b, rows, C, Hd);
    be->residual(be, a->x, a->h, b->ls2, rows, C);
}

/* attn (B, H, T) = the class token's softmax row per head, from qkv (B, T, 3, H, hd) in
 * backend memory (the per-head layout, also for octic blocks). */
static octic_status class_attention(const octic_model *m, float *attn, const float *qkv, int B, int T) {
    int C = m->cfg.dim, H = m->cfg.heads, hd = C / H;
    float *host = malloc((size_t)B * T * 3 * C * sizeof(float));
    if (!host) return octic_fail(OCTIC_ERR_NOMEM, "out of memory for the attention of %d tokens", T);
    m->be->download(m->be, host, qkv, (size_t)B * T * 3 * C);
    float scale = 1.0f / sqrtf((float)hd);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *q = host + (size_t)b * T * 3 * C + h * hd;
            float *row = attn + ((size_t)b * H + h) * T, mx = -INFINITY;
            for (int t = 0; t < T; t++) {
                const float *k = host + ((size_t)b * T + t) * 3 * C + C + h * hd;
                float s = 0.0f;
                for (int d = 0; d < hd; d++) s += q[d] * k[d];
                row[t] = s * scale;
                if (row[t] > mx) mx = row[t];
            }
            double sum = 0.0;
            for (int t = 0; t < T; t++) sum += row[t] = expf(row[t] - mx);
            for (int t = 0; t < T; t++) row[t] = (float)(row[t] / sum);
        }
    free(host);
    return OCTIC_OK;
}

/* Hands the residual stream to the caller's callback in the published layout. */
static void report(const octic_model *m, activations *a, const octic_outputs *o, int index, int B, int T, int iso5) {
    if (!o->on_block) return;
    const octic_backend *be = m->be;
    int C = m->cfg.dim;
    size_t n = (size_t)B * T * C;
    if (iso5) {
        be->permute_cols(be, a->out8, a->x, B * T, C, C, m->perm_to8);
        be->download(be, a->host, a->out8, n);
    } else {
        be->download(be, a->host, a->x, n);
    }
    o->on_block(o->user, index, a->host, B, T, C);
}

/* Patch embedding, position embeddings, class and register tokens -> a->x. */
static octic_status embed(octic_model *m, activations *a, const float *images, int B, int S) {
    const octic_backend *be = m->be;
    const octic_config *cf = &m->cfg;
    int p = cf->patch, n = S / p, N = n * n, R = cf->registers, T = 1 + R + N, C = cf->dim;
    octic_status st;
    const float *pos = position_embeddings(m, n, &st);
    if (!pos) return st;
    be->upload(be, a->images, images, (size_t)B * 3 * S * S);
    be->im2col(be, a->patches, a->images, B, S, p);
    be->linear(be, a->emb, C, a->patches, 3 * p * p, m->embed_w, m->embed_b, B * N, C, 3 * p * p);
    // patches go after the class token and the registers; the class token is
    // added after the position embeddings (DINOv2 baseline: with its own)
    be->set_rows(be, a->x, m->cls, B, T, 0, 1, C);
    if (m->pos_cls) be->add_rows(be, a->x, m->pos_cls, B, T, 0, 1, C);
    if (R) be->set_rows(be, a->x, m->registers, B, T, 1, R, C);
    for (int b = 0; b < B; b++)
        be->copy(be, a->x + ((size_t)b * T + 1 + R) * C, a->emb + (size_t)b * N * C, (size_t)N * C);
    be->add_rows(be, a->x, pos, B, T, 1 + R, N, C);
    return OCTIC_OK;
}

octic_status octic_model_forward(octic_model *m, const float *images, int B, int S, const octic_outputs *o) {
    const octic_config *cf = &m->cfg;
    const octic_backend *be = m->be;
    octic_status st = octic_model_check_size(m, S);
    if (st) return st;
    if (B <= 0) return octic_fail(OCTIC_ERR_ARG, "batch size %d: need at least one image", B);
    if (o->logits && cf->classes <= 0)
        return octic_fail(OCTIC_ERR_ARG, "this %s model has no classification head: no logits",
                          octic_family_name(cf->family));
    int n = S / cf->patch, R = cf->registers, T = 1 + R + n * n, C = cf->dim;
    activations a;
    if ((st = alloc_activations(m, &a, B, S))) return st;
    if ((st = embed(m, &a, images, B, S))) {
        free_activations(be, &a);
        return st;
    }
    int octic = cf->kind != OCTIC_KIND_STANDARD;
    report(m, &a, o, 0, B, T, octic);
    int rows = B * T;
    for (int i = 0; i < cf->depth; i++) {
        if (octic && i == cf->break_layer) {
            if (cf->kind == OCTIC_KIND_INVARIANT) {
                int w = octic_invariant_width(cf->invariant, C);
                be->invariant(be, a.inv, a.x, rows, C, (octic_invop)cf->invariant);
                be->linear(be, a.x, C, a.inv, w, m->inv_w, m->inv_b, rows, C, w);
                report(m, &a, o, -1, B, T, 0);
            } else { /* hybrid: concatenate x0..x7 */
                be->permute_cols(be, a.h, a.x, rows, C, C, m->perm_to8);
                be->copy(be, a.x, a.h, (size_t)rows * C);
            }
        }
        if (i < cf->break_layer)
            octic_block_forward(m, &m->oblocks[i], &a, B, T);
        else
            block_forward(m, &m->blocks[i], &a, B, T);
        if (o->attn && (st = class_attention(m, o->attn + (size_t)i * B * cf->heads * T,
                                             i < cf->break_layer ? a.qkv2 : a.qkv, B, T))) {
            free_activations(be, &a);
            return st;
        }
        report(m, &a, o, i + 1, B, T, i < cf->break_layer);
        if (o->stop_after > 0 && i + 1 >= o->stop_after) {
            free_activations(be, &a);
            return OCTIC_OK;
        }
    }
    if (o->prenorm) be->download(be, o->prenorm, a.x, (size_t)rows * C);
    be->layernorm(be, a.h, a.x, m->norm_w, m->norm_b, rows, C, 1e-6f);
    if (o->cls || o->logits) {
        be->get_rows(be, a.att, a.h, B, T, 0, 1, C);
        if (o->cls) be->download(be, o->cls, a.att, (size_t)B * C);
        if (o->logits) {
            be->linear(be, a.logits, cf->classes, a.att, C, m->head_w, m->head_b, B, cf->classes, C);
            be->download(be, o->logits, a.logits, (size_t)B * cf->classes);
        }
    }
    if (o->patch) {
        be->get_rows(be, a.qkv, a.h, B, T, 1 + R, n * n, C);
        be->download(be, o->patch, a.qkv, (size_t)B * n * n * C);
    }
    free_activations(be, &a);
    return OCTIC_OK;
}
