/* The forward pass of every family, written against the backend op table.
 *
 * Tokens live in one residual stream x (B*T, C): iso5 for the octic blocks,
 * plain channels after the break. Shapes: B images, T = 1 + R + N tokens,
 * N = n*n patches, C width, H heads, hd = C/H. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
/* Profiling (octic bench)                                                   */

const char *octic_op_kind_name(octic_op_kind k) {
    static const char *const names[OCTIC_OP_KINDS] = {
        "patch embedding", "norms", "qkv", "attention", "projection", "MLP", "GELU", "invariant", "head", "other",
    };
    return (unsigned)k < OCTIC_OP_KINDS ? names[k] : "?";
}

static double prof_now(const octic_backend *be) {
    if (be->synchronize) be->synchronize(be);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Runs the op (the arguments after work) and, when prof is set, adds its
 * time and work to kind. */
#define OP(prof, be, kind_, work_, ...)                                   \
    do {                                                                  \
        double t0_ = (prof) ? prof_now(be) : 0.0;                         \
        __VA_ARGS__;                                                      \
        if (prof) {                                                       \
            (prof)->seconds[kind_] += prof_now(be) - t0_;                 \
            (prof)->flops[kind_] += (double)(work_);                      \
        }                                                                 \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Layers                                                                    */

/* LinearD8 on iso5 rows: out (M, l->out) = l(in (M, l->in)). Six products:
 * A1, A2, B1, B2 with their own weights, both E rows with the shared E one. */
void octic_linear8_forward(const octic_backend *be, float *out, const float *in, const octic_linear8 *l, int M) {
    be->linear_d8(be, out, in, l->w, l->bias, M, l->in / 8, l->out / 8);
}

/* 2 x multiply-adds of a LinearD8 on M rows: 4 (in/8)(out/8) + 2 (in/4)(out/4) per row. */
static double linear8_flops(const octic_linear8 *l, int M) { return 2.0 * M * 12.0 * (l->in / 8) * (double)(l->out / 8); }

/* The activations of one batch shape: every buffer carved from one backend
 * allocation, kept in the model and reused by the next forward pass with the
 * same shape (and the same attention scratch need, which follows the thread
 * count). */
typedef struct octic_arena {
    int B, S;
    size_t floats;  /* of the one allocation */
    float *base;
    float *images;  /* (B, 3, S, S) */
    float *patches; /* (B*N, 3*p*p) */
    float *emb;     /* (B*N, C) */
    float *x;       /* (B*T, C) residual stream */
    float *h;       /* (B*T, C) normalized */
    float *y;       /* (B*T, C) a block's branch output */
    float *qkv;     /* (B*T, 3C) */
    float *att;     /* (B*T, C) */
    float *mlp;     /* (B*T, hidden) */
    float *inv;     /* (B*T, invariant width) */
    float *scratch; /* attention scratch */
    float *out8;    /* (B*T, C) tokens in the published layout */
    float *logits;  /* (B, classes) */
    float *host;    /* (B*T, C) host copy for callbacks, malloc'd on first need */
} octic_arena;

void octic_arena_free(octic_model *m) {
    octic_arena *a = m->arena;
    if (!a) return;
    if (a->base) m->be->free(m->be, a->base);
    free(a->host);
    free(a);
    m->arena = NULL;
}

/* Carves the buffers from base (NULL: only counts). Each buffer starts on a
 * 64-byte boundary. Returns the floats needed. */
static size_t carve(const octic_model *m, octic_arena *a, float *base, int B, int S, size_t scratch) {
    const octic_config *cf = &m->cfg;
    int p = cf->patch, n = S / p, N = n * n, T = 1 + cf->registers + N, C = cf->dim;
    size_t BT = (size_t)B * T;
    int invw = cf->kind == OCTIC_KIND_INVARIANT ? octic_invariant_width(cf->invariant, C) : 1;
    size_t off = 0;
#define CARVE(ptr, count)                                    \
    do {                                                     \
        (ptr) = base ? base + off : NULL;                    \
        off += ((size_t)(count) + 15) & ~(size_t)15;         \
    } while (0)
    CARVE(a->images, (size_t)B * 3 * S * S);
    CARVE(a->patches, (size_t)B * N * 3 * p * p);
    CARVE(a->emb, (size_t)B * N * C);
    CARVE(a->x, BT * C);
    CARVE(a->h, BT * C);
    CARVE(a->y, BT * C);
    CARVE(a->qkv, BT * 3 * C);
    CARVE(a->att, BT * C);
    CARVE(a->mlp, BT * cf->mlp_hidden);
    CARVE(a->inv, BT * invw);
    CARVE(a->scratch, scratch);
    CARVE(a->out8, BT * C);
    CARVE(a->logits, (size_t)B * (cf->classes > 0 ? cf->classes : 1));
#undef CARVE
    return off;
}

/* The arena for (B, S): the model's if it fits, else a new one. */
static octic_status get_arena(octic_model *m, int B, int S, octic_arena **out) {
    const octic_backend *be = m->be;
    const octic_config *cf = &m->cfg;
    int n = S / cf->patch, T = 1 + cf->registers + n * n, H = cf->heads, C = cf->dim;
    size_t scratch = be->attention_scratch(be, B, T, H, C / H);
    octic_arena want;
    memset(&want, 0, sizeof want);
    size_t floats = carve(m, &want, NULL, B, S, scratch);
    octic_arena *a = m->arena;
    if (a && a->B == B && a->S == S && a->floats >= floats) {
        *out = a;
        return OCTIC_OK;
    }
    octic_arena_free(m);
    a = calloc(1, sizeof *a);
    float *base = a ? be->alloc(be, floats) : NULL;
    if (!base) {
        free(a);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for the activations of a batch of %d at %dx%d (%.1f MB)", B,
                          S, S, floats * 4.0 / 1e6);
    }
    carve(m, a, base, B, S, scratch);
    a->base = base;
    a->floats = floats;
    a->B = B;
    a->S = S;
    m->arena = a;
    m->arena_builds++;
    *out = a;
    return OCTIC_OK;
}

size_t octic_attention8_work(const octic_model *m, int B, int T) {
    int C = m->cfg.dim, H = m->cfg.heads;
    return (size_t)B * T * 4 * C + m->be->attention_scratch(m->be, B, T, H, C / H);
}

/* qkv LinearD8 -> per-head softmax attention (read from and written to the
 * iso5 layout through the model's column maps) -> proj LinearD8. */
static void attention8(const octic_model *m, const octic_block8 *b, float *out, const float *in, float *qkv,
                       float *att, float *scratch, int B, int T, octic_profile *prof) {
    const octic_backend *be = m->be;
    int C = m->cfg.dim, H = m->cfg.heads, rows = B * T;
    OP(prof, be, OCTIC_OP_QKV, linear8_flops(&b->qkv, rows), octic_linear8_forward(be, qkv, in, &b->qkv, rows));
    OP(prof, be, OCTIC_OP_ATTENTION, 4.0 * rows * T * C,
       be->attention(be, att, qkv, m->perm_qkv, m->perm_attn, scratch, B, T, H, C / H));
    OP(prof, be, OCTIC_OP_PROJ, linear8_flops(&b->proj, rows), octic_linear8_forward(be, out, att, &b->proj, rows));
}

void octic_attention8_forward(const octic_model *m, const octic_block8 *b, float *out, const float *in, float *work,
                              int B, int T) {
    size_t rows = (size_t)B * T, C = (size_t)m->cfg.dim;
    attention8(m, b, out, in, work, work + rows * 3 * C, work + rows * 4 * C, B, T, NULL);
}

static void mlp8(const octic_model *m, const octic_block8 *b, float *out, const float *in, float *hidden, int rows,
                 octic_profile *prof) {
    const octic_backend *be = m->be;
    int Hd = m->cfg.mlp_hidden;
    // LinearD8 -> octic GELU -> LinearD8
    OP(prof, be, OCTIC_OP_MLP, linear8_flops(&b->fc1, rows), octic_linear8_forward(be, hidden, in, &b->fc1, rows));
    OP(prof, be, OCTIC_OP_GELU, 32.0 * rows * Hd, be->gelu_d8(be, hidden, rows, Hd));
    OP(prof, be, OCTIC_OP_MLP, linear8_flops(&b->fc2, rows), octic_linear8_forward(be, out, hidden, &b->fc2, rows));
}

void octic_mlp8_forward(const octic_model *m, const octic_block8 *b, float *out, const float *in, float *hidden,
                        int rows) {
    mlp8(m, b, out, in, hidden, rows, NULL);
}

static void octic_block_forward(const octic_model *m, const octic_block8 *b, octic_arena *a, int B, int T,
                                octic_profile *prof) {
    const octic_backend *be = m->be;
    int C = m->cfg.dim, rows = B * T;
    double ln = 2.0 * 5 * rows * (double)C;
    OP(prof, be, OCTIC_OP_NORM, ln, be->layernorm_d8(be, a->h, a->x, b->norm1_scale, b->norm1_shift, rows, C, 1e-5f));
    attention8(m, b, a->y, a->h, a->qkv, a->att, a->scratch, B, T, prof);
    OP(prof, be, OCTIC_OP_NORM, ln + 4.0 * rows * C,
       be->residual_layernorm_d8(be, a->x, a->y, b->ls1, a->h, b->norm2_scale, b->norm2_shift, rows, C, 1e-5f));
    mlp8(m, b, a->y, a->h, a->mlp, rows, prof);
    OP(prof, be, OCTIC_OP_OTHER, 4.0 * rows * C, be->residual(be, a->x, a->y, b->ls2, rows, C));
}

static void block_forward(const octic_model *m, const octic_block *b, octic_arena *a, int B, int T, int keep_qkv,
                          octic_profile *prof) {
    const octic_backend *be = m->be;
    int C = m->cfg.dim, H = m->cfg.heads, Hd = m->cfg.mlp_hidden, rows = B * T;
    double ln = 2.0 * 5 * rows * (double)C, mm = 2.0 * rows * (double)C;
    OP(prof, be, OCTIC_OP_NORM, ln, be->layernorm(be, a->h, a->x, b->norm1_w, b->norm1_b, rows, C, 1e-6f));
    /* A backend with the bias ops adds each product's bias in the op after it: qkv's as the
     * attention reads q, k, v (unless class_attention reads qkv after the block: keep_qkv) */
    int qkv_fused = be->attention_bias && !keep_qkv;
    OP(prof, be, OCTIC_OP_QKV, mm * 3 * C,
       be->linear(be, a->qkv, 3 * C, a->h, C, b->qkv_w, qkv_fused ? NULL : b->qkv_b, rows, 3 * C, C));
    OP(prof, be, OCTIC_OP_ATTENTION, 4.0 * rows * T * C,
       qkv_fused ? be->attention_bias(be, a->att, a->qkv, b->qkv_b, a->scratch, B, T, H, C / H)
                 : be->attention(be, a->att, a->qkv, NULL, NULL, a->scratch, B, T, H, C / H));
    int fused = be->gelu_bias && be->residual_bias && be->residual_bias_layernorm;
    OP(prof, be, OCTIC_OP_PROJ, mm * C,
       be->linear(be, a->y, C, a->att, C, b->proj_w, fused ? NULL : b->proj_b, rows, C, C));
    OP(prof, be, OCTIC_OP_NORM, ln + 5.0 * rows * C,
       fused ? be->residual_bias_layernorm(be, a->x, a->y, b->proj_b, b->ls1, a->h, b->norm2_w, b->norm2_b, rows, C,
                                           1e-6f)
             : be->residual_layernorm(be, a->x, a->y, b->ls1, a->h, b->norm2_w, b->norm2_b, rows, C, 1e-6f));
    if (be->linear_gelu) { /* fc1 and its GELU in one op (counted with the MLP) */
        OP(prof, be, OCTIC_OP_MLP, mm * Hd, be->linear_gelu(be, a->mlp, Hd, a->h, C, b->fc1_w, b->fc1_b, rows, Hd, C));
        if (prof) prof->gelu_in_mlp = 1;
    } else {
        OP(prof, be, OCTIC_OP_MLP, mm * Hd,
           be->linear(be, a->mlp, Hd, a->h, C, b->fc1_w, fused ? NULL : b->fc1_b, rows, Hd, C));
        OP(prof, be, OCTIC_OP_GELU, 17.0 * rows * Hd,
           fused ? be->gelu_bias(be, a->mlp, b->fc1_b, rows, Hd) : be->gelu(be, a->mlp, (size_t)rows * Hd));
    }
    OP(prof, be, OCTIC_OP_MLP, mm * Hd,
       be->linear(be, a->y, C, a->mlp, Hd, b->fc2_w, fused ? NULL : b->fc2_b, rows, C, Hd));
    OP(prof, be, OCTIC_OP_OTHER, 5.0 * rows * C,
       fused ? be->residual_bias(be, a->x, a->y, b->fc2_b, b->ls2, rows, C)
             : be->residual(be, a->x, a->y, b->ls2, rows, C));
}

/* attn (B, H, T) = the class token's softmax row per head, from qkv (B*T, 3C)
 * in backend memory: the per-head layout (3, H, hd), or for octic blocks iso5
 * with cols (host memory) the column of each per-head one. */
static octic_status class_attention(const octic_model *m, float *attn, const float *qkv, const int32_t *cols, int B,
                                    int T) {
    int C = m->cfg.dim, H = m->cfg.heads, hd = C / H;
    float *host = malloc((size_t)B * T * 3 * C * sizeof(float));
    if (!host) return octic_fail(OCTIC_ERR_NOMEM, "out of memory for the attention of %d tokens", T);
    m->be->download(m->be, host, qkv, (size_t)B * T * 3 * C);
    float scale = 1.0f / sqrtf((float)hd);
#define COL(s, h, d) (cols ? cols[((s) * H + (h)) * hd + (d)] : ((s) * H + (h)) * hd + (d))
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *q = host + (size_t)b * T * 3 * C;
            float *row = attn + ((size_t)b * H + h) * T, mx = -INFINITY;
            for (int t = 0; t < T; t++) {
                const float *k = host + ((size_t)b * T + t) * 3 * C;
                float s = 0.0f;
                for (int d = 0; d < hd; d++) s += q[COL(0, h, d)] * k[COL(1, h, d)];
                row[t] = s * scale;
                if (row[t] > mx) mx = row[t];
            }
            double sum = 0.0;
            for (int t = 0; t < T; t++) sum += row[t] = expf(row[t] - mx);
            for (int t = 0; t < T; t++) row[t] = (float)(row[t] / sum);
        }
#undef COL
    free(host);
    return OCTIC_OK;
}

/* Hands the residual stream to the caller's callback in the published layout. */
static octic_status report(const octic_model *m, octic_arena *a, const octic_outputs *o, int index, int B, int T,
                           int iso5) {
    if (!o->on_block) return OCTIC_OK;
    const octic_backend *be = m->be;
    int C = m->cfg.dim;
    size_t n = (size_t)B * T * C;
    if (!a->host && !(a->host = malloc(n * sizeof(float))))
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for the block outputs of a batch of %d", B);
    if (iso5) {
        be->permute_cols(be, a->out8, a->x, B * T, C, C, m->perm_to8);
        be->download(be, a->host, a->out8, n);
    } else {
        be->download(be, a->host, a->x, n);
    }
    o->on_block(o->user, index, a->host, B, T, C);
    return OCTIC_OK;
}

/* Patch embedding, position embeddings, class and register tokens -> a->x. */
static octic_status embed(octic_model *m, octic_arena *a, const float *images, int B, int S) {
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

static octic_status forward_pass(octic_model *m, const float *images, int B, int S, const octic_outputs *o) {
    const octic_config *cf = &m->cfg;
    const octic_backend *be = m->be;
    octic_status st = octic_model_check_size(m, S);
    if (st) return st;
    if (B <= 0) return octic_fail(OCTIC_ERR_ARG, "batch size %d: need at least one image", B);
    if (o->logits && cf->classes <= 0)
        return octic_fail(OCTIC_ERR_ARG, "this %s model has no classification head: no logits",
                          octic_family_name(cf->family));
    int n = S / cf->patch, R = cf->registers, N = n * n, T = 1 + R + N, C = cf->dim, p = cf->patch;
    octic_profile *prof = o->profile;
    octic_arena *a = NULL;
    if ((st = get_arena(m, B, S, &a))) return st;
    OP(prof, be, OCTIC_OP_EMBED, 2.0 * B * N * C * 3.0 * p * p, st = embed(m, a, images, B, S));
    if (st) return st;
    int octic = cf->kind != OCTIC_KIND_STANDARD;
    OP(prof, be, OCTIC_OP_OTHER, 0, st = report(m, a, o, 0, B, T, octic));
    if (st) return st;
    int rows = B * T;
    for (int i = 0; i < cf->depth; i++) {
        if (octic && i == cf->break_layer) {
            if (cf->kind == OCTIC_KIND_INVARIANT) {
                int w = octic_invariant_width(cf->invariant, C);
                OP(prof, be, OCTIC_OP_INVARIANT, 2.0 * rows * (double)w * C,
                   be->invariant(be, a->inv, a->x, rows, C, (octic_invop)cf->invariant);
                   be->linear(be, a->x, C, a->inv, w, m->inv_w, m->inv_b, rows, C, w));
                OP(prof, be, OCTIC_OP_OTHER, 0, st = report(m, a, o, -1, B, T, 0));
                if (st) return st;
            } else { /* hybrid: concatenate x0..x7 */
                OP(prof, be, OCTIC_OP_INVARIANT, 0, be->permute_cols(be, a->h, a->x, rows, C, C, m->perm_to8);
                   be->copy(be, a->x, a->h, (size_t)rows * C));
            }
        }
        if (i < cf->break_layer)
            octic_block_forward(m, &m->oblocks[i], a, B, T, prof);
        else
            block_forward(m, &m->blocks[i], a, B, T, o->attn != NULL, prof);
        if (o->attn && (st = class_attention(m, o->attn + (size_t)i * B * cf->heads * T, a->qkv,
                                             i < cf->break_layer ? m->perm_qkv_host : NULL, B, T)))
            return st;
        OP(prof, be, OCTIC_OP_OTHER, 0, st = report(m, a, o, i + 1, B, T, i < cf->break_layer));
        if (st) return st;
        if (o->stop_after > 0 && i + 1 >= o->stop_after) return OCTIC_OK;
    }
    if (o->prenorm) be->download(be, o->prenorm, a->x, (size_t)rows * C);
    double head_flops = 2.0 * 5 * rows * C + 2.0 * B * C * (cf->classes > 0 ? cf->classes : 0);
    OP(prof, be, OCTIC_OP_HEAD, head_flops, {
        be->layernorm(be, a->h, a->x, m->norm_w, m->norm_b, rows, C, 1e-6f);
        if (o->cls || o->logits) {
            be->get_rows(be, a->att, a->h, B, T, 0, 1, C);
            if (o->cls) be->download(be, o->cls, a->att, (size_t)B * C);
            if (o->logits) {
                be->linear(be, a->logits, cf->classes, a->att, C, m->head_w, m->head_b, B, cf->classes, C);
                be->download(be, o->logits, a->logits, (size_t)B * cf->classes);
            }
        }
    });
    if (o->patch) {
        be->get_rows(be, a->qkv, a->h, B, T, 1 + R, N, C);
        be->download(be, o->patch, a->qkv, (size_t)B * N * C);
    }
    return OCTIC_OK;
}

octic_status octic_model_forward(octic_model *m, const float *images, int B, int S, const octic_outputs *o) {
    const octic_backend *be = m->be;
    if (be->begin_pass) be->begin_pass(be, &m->be_cache, B);
    octic_status st = forward_pass(m, images, B, S, o);
    if (be->end_pass) be->end_pass(be);
    return st;
}
