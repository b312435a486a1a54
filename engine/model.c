/* Building a model from a tensor set: the expected tensors of every family,
 * shape checks with messages naming the tensor, one weight allocation, and
 * the tensors derived once at load time (the lift's unfolded kernels, the
 * unfolded position embeddings, the iso5-expanded affine vectors). */
#include "model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "model_internal.h"
#include "octic_math.h"

/* ------------------------------------------------------------------------ */
/* The list of published tensors a configuration needs                      */

typedef struct {
    octic_param *items;
    int count, cap;
    size_t total;
    octic_status status;
} param_list;

static void add_param(param_list *pl, int ndim, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_param(param_list *pl, int ndim, const int64_t *shape, const char *fmt, ...) {
    if (pl->status != OCTIC_OK) return;
    if (pl->count == pl->cap) {
        int cap = pl->cap ? 2 * pl->cap : 256;
        octic_param *p = realloc(pl->items, (size_t)cap * sizeof *p);
        if (!p) {
            pl->status = octic_fail(OCTIC_ERR_NOMEM, "out of memory listing the model's tensors");
            return;
        }
        pl->items = p;
        pl->cap = cap;
    }
    octic_param *p = &pl->items[pl->count++];
    memset(p, 0, sizeof *p);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->numel *= (size_t)shape[i];
    }
    p->offset = pl->total;
    pl->total += p->numel;
}

#define SHAPE(...) (sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

static const char *const irrep_names[5] = {"A1", "A2", "B1", "B2", "E"};

static void add_linear8(param_list *pl, const char *prefix, int in, int out, int bias) {
    for (int q = 0; q < 4; q++) add_param(pl, SHAPE(out / 8, in / 8), "%s.lin_%s.weight", prefix, irrep_names[q]);
    if (bias) add_param(pl, SHAPE(out / 8), "%s.lin_A1.bias", prefix);
    add_param(pl, SHAPE(out / 4, in / 4), "%s.lin_E.weight", prefix);
}

static void add_affine8(param_list *pl, const char *prefix, int C, int beta) {
    for (int q = 0; q < 4; q++) add_param(pl, SHAPE(C / 8), "%s.alpha_%s", prefix, irrep_names[q]);
    add_param(pl, SHAPE(C / 4), "%s.alpha_E", prefix);
    if (beta) add_param(pl, SHAPE(C / 8), "%s.beta", prefix);
}

static void add_octic_block(param_list *pl, const octic_config *cfg, int i) {
    int C = cfg->dim, Hd = cfg->mlp_hidden;
    char pre[64];
    const char *ls1 = cfg->family == OCTIC_FAMILY_DEIT ? "gamma_1" : "ls1";
    const char *ls2 = cfg->family == OCTIC_FAMILY_DEIT ? "gamma_2" : "ls2";
    snprintf(pre, sizeof pre, "blocks.%d.norm1.scaling", i);
    add_affine8(pl, pre, C, 1);
    snprintf(pre, sizeof pre, "blocks.%d.attn.qkv", i);
    add_linear8(pl, pre, C, 3 * C, 1);
    snprintf(pre, sizeof pre, "blocks.%d.attn.proj", i);
    add_linear8(pl, pre, C, C, 1);
    snprintf(pre, sizeof pre, "blocks.%d.%s", i, ls1);
    add_affine8(pl, pre, C, 0);
    snprintf(pre, sizeof pre, "blocks.%d.norm2.scaling", i);
    add_affine8(pl, pre, C, 1);
    snprintf(pre, sizeof pre, "blocks.%d.mlp.fc1", i);
    add_linear8(pl, pre, C, Hd, 1);
    snprintf(pre, sizeof pre, "blocks.%d.mlp.fc2", i);
    add_linear8(pl, pre, Hd, C, 1);
    snprintf(pre, sizeof pre, "blocks.%d.%s", i, ls2);
    add_affine8(pl, pre, C, 0);
}

static void add_block(param_list *pl, const octic_config *cfg, int i) {
    int C = cfg->dim, Hd = cfg->mlp_hidden;
    int deit = cfg->family == OCTIC_FAMILY_DEIT;
    add_param(pl, SHAPE(C), "blocks.%d.norm1.weight", i);
    add_param(pl, SHAPE(C), "blocks.%d.norm1.bias", i);
    add_param(pl, SHAPE(3 * C, C), "blocks.%d.attn.qkv.weight", i);
    add_param(pl, SHAPE(3 * C), "blocks.%d.attn.qkv.bias", i);
    add_param(pl, SHAPE(C, C), "blocks.%d.attn.proj.weight", i);
    add_param(pl, SHAPE(C), "blocks.%d.attn.proj.bias", i);
    int ls = deit || !cfg->no_layer_scale;
    if (ls) add_param(pl, SHAPE(C), deit ? "blocks.%d.gamma_1" : "blocks.%d.ls1.gamma", i);
    add_param(pl, SHAPE(C), "blocks.%d.norm2.weight", i);
    add_param(pl, SHAPE(C), "blocks.%d.norm2.bias", i);
    add_param(pl, SHAPE(Hd, C), "blocks.%d.mlp.fc1.weight", i);
    add_param(pl, SHAPE(Hd), "blocks.%d.mlp.fc1.bias", i);
    add_param(pl, SHAPE(C, Hd), "blocks.%d.mlp.fc2.weight", i);
    add_param(pl, SHAPE(C), "blocks.%d.mlp.fc2.bias", i);
    if (ls) add_param(pl, SHAPE(C), deit ? "blocks.%d.gamma_2" : "blocks.%d.ls2.gamma", i);
}

/* Every tensor of the published state dict for cfg, in the order of the
 * reference's state dict. */
static octic_status list_params(const octic_config *cfg, param_list *pl) {
    int C = cfg->dim, c = C / 8, p = cfg->patch, g = cfg->grid, R = cfg->registers;
    int deit = cfg->family == OCTIC_FAMILY_DEIT;
    memset(pl, 0, sizeof *pl);
    if (cfg->kind == OCTIC_KIND_STANDARD) {
        add_param(pl, SHAPE(1, 1, C), "cls_token");
        add_param(pl, SHAPE(1, (int64_t)g * g + (deit ? 0 : 1), C), "pos_embed");
        if (R) add_param(pl, SHAPE(1, R, C), "register_tokens");
        add_param(pl, SHAPE(C, 3, p, p), "patch_embed.proj.weight");
        add_param(pl, SHAPE(C), "patch_embed.proj.bias");
    } else {
        add_param(pl, SHAPE(c), "patch_embed.lift8.conv_A1.bias");
        const char *convs[6] = {"A1", "A2", "B1", "B2", "E_left", "E_right"};
        for (int k = 0; k < 6; k++)
            add_param(pl, SHAPE(c, 3, p / 2, p / 2), "patch_embed.lift8.conv_%s.weight", convs[k]);
        if (deit) {
            for (int k = 0; k < 4; k++) add_param(pl, SHAPE(1, 1, c), "cls_token.%d", k);
            add_param(pl, SHAPE(1, 1, 2, 2 * c), "cls_token.4");
        } else {
            for (int k = 0; k < 8; k++) add_param(pl, SHAPE(1, 1, c), "cls_token.%d", k);
        }
        if (R)
            for (int k = 0; k < 8; k++) add_param(pl, SHAPE(1, R, c), "register_tokens.%d", k);
        for (int k = 0; k < 6; k++) add_param(pl, SHAPE(g / 2, g / 2, c), "pos_embed.%d", k);
    }
    for (int i = 0; i < cfg->depth; i++) {
        if (i < cfg->break_layer)
            add_octic_block(pl, cfg, i);
        else
            add_block(pl, cfg, i);
    }
    if (cfg->kind == OCTIC_KIND_INVARIANT) {
        add_param(pl, SHAPE(C, octic_invariant_width(cfg->invariant, C)), "invariant_proj.weight");
        add_param(pl, SHAPE(C), "invariant_proj.bias");
    }
    add_param(pl, SHAPE(C), "norm.weight");
    add_param(pl, SHAPE(C), "norm.bias");
    if (cfg->classes > 0) {
        add_param(pl, SHAPE(cfg->classes, C), "head.weight");
        add_param(pl, SHAPE(cfg->classes), "head.bias");
    }
    if (pl->status != OCTIC_OK) free(pl->items);
    return pl->status;
}

/* ------------------------------------------------------------------------ */
/* Checking a tensor set against the list                                    */

/* DINOv2 baselines saved with block chunks name block i "blocks.<chunk>.<i>.":
 * the canonical name drops the chunk. */
static void canonical_name(char *out, size_t len, const char *name) {
    const char *rest;
    int i = octic_block_index(name, &rest);
    if (i >= 0)
        snprintf(out, len, "blocks.%d.%s", i, rest);
    else
        snprintf(out, len, "%s", name);
}

static const octic_tensor *find_tensor(const octic_tensor_set *set, const char *name) {
    const octic_tensor *t = octic_tensor_set_find(set, name);
    if (t) return t;
    char canon[128];
    for (int i = 0; i < set->count; i++) {
        canonical_name(canon, sizeof canon, set->tensors[i].name);
        if (!strcmp(canon, name)) return &set->tensors[i];
    }
    return NULL;
}

static octic_status check_tensors(const octic_tensor_set *set, const param_list *pl, const octic_config *cfg) {
    char want[96], got[96], canon[128];
    for (int i = 0; i < pl->count; i++) {
        const octic_param *p = &pl->items[i];
        const octic_tensor *t = find_tensor(set, p->name);
        octic_shape_str(want, sizeof want, p->shape, p->ndim);
        if (!t) return octic_fail(OCTIC_ERR_MISSING, "missing tensor '%s' (expected shape %s)", p->name, want);
        int same = t->ndim == p->ndim;
        for (int d = 0; same && d < p->ndim; d++) same = t->shape[d] == p->shape[d];
        if (!same)
            return octic_fail(OCTIC_ERR_SHAPE, "tensor '%s' has shape %s, expected %s", p->name,
                              octic_shape_str(got, sizeof got, t->shape, t->ndim), want);
    }
    for (int i = 0; i < set->count; i++) {
        canonical_name(canon, sizeof canon, set->tensors[i].name);
        int known = 0;
        for (int k = 0; k < pl->count && !known; k++) known = !strcmp(canon, pl->items[k].name);
        if (!known)
            return octic_fail(OCTIC_ERR_FORMAT, "unexpected tensor '%s' %s for a %s %s model",
                              set->tensors[i].name,
                              octic_shape_str(got, sizeof got, set->tensors[i].shape, set->tensors[i].ndim),
                              octic_family_name(cfg->family), octic_kind_name(cfg->kind));
    }
    return OCTIC_OK;
}

/* ------------------------------------------------------------------------ */
/* Derived tensors                                                           */

/* torch.rot90(k) of a square n x n plane; k = 1: out[i][j] = in[j][n-1-i]. */
static void rot90_plane(float *out, const float *in, int n, int k) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int si = i, sj = j;
            for (int r = 0; r < k; r++) {
                int t = si;
                si = sj;
                sj = n - 1 - t;
            }
            out[i * n + j] = in[si * n + sj];
        }
}

typedef enum { UNFOLD_A1, UNFOLD_A2, UNFOLD_B1, UNFOLD_B2, UNFOLD_E } unfold_kind;

/* The reference's symmetric tiling of a quarter plane x (n x n) into a full
 * plane (2n x 2n), used for the lift kernels and the position embeddings.
 * A1..B2: quadrants [x, s*rot3(x); s*rot1(x), rot2(x)] with s = -1 for B,
 * then plus (A1, B1) or minus (A2, B2) its left-right mirror. E: left half
 * [x; flipud(x)], right half minus the mirror of the left.
 * work: 4*n*n floats. */
static void unfold_quarter(float *out, const float *x, int n, unfold_kind kind, float scale, float *work) {
    int N = 2 * n;
    if (kind == UNFOLD_E) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < n; j++) {
                float v = scale * (i < n ? x[i * n + j] : x[(N - 1 - i) * n + j]);
                out[i * N + j] = v;
                out[i * N + (N - 1 - j)] = -v;
            }
        return;
    }
    float *tile = work; /* N x N */
    float s = (kind == UNFOLD_B1 || kind == UNFOLD_B2) ? -1.0f : 1.0f;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) tile[i * N + j] = x[i * n + j];
    /* the other quadrants: rotate x into them through out as scratch */
    const int quad_k[3] = {3, 1, 2};          /* top-right, bottom-left, bottom-right */
    const int quad_i[3] = {0, 1, 1}, quad_j[3] = {1, 0, 1};
    for (int q = 0; q < 3; q++) {
        rot90_plane(out, x, n, quad_k[q]);
        float sign = q < 2 ? s : 1.0f;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) tile[(quad_i[q] * n + i) * N + quad_j[q] * n + j] = sign * out[i * n + j];
    }
    float m = (kind == UNFOLD_A1 || kind == UNFOLD_B1) ? 1.0f : -1.0f;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) out[i * N + j] = scale * (tile[i * N + j] + m * tile[i * N + (N - 1 - j)]);
}

/* ------------------------------------------------------------------------ */
/* Building                                                                  */

static const float *param_ptr(const octic_model *m, const float *host, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Pointer (into host, laid out like m->weights) of a published tensor; the
 * list was checked against the configuration, so every name exists. */
static const float *param_ptr(const octic_model *m, const float *host, const char *fmt, ...) {
    char name[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name)) return host + m->params[i].offset;
    return NULL;
}

/* AffineD8 (alpha_A1..B2 of c, alpha_E of 2c shared by both E rows, beta on
 * A1) expanded to iso5 scale and shift vectors of C. */
static void expand_affine8(float *scale, float *shift, const octic_model *m, const float *host, const char *prefix) {
    int C = m->cfg.dim, c = C / 8;
    for (int q = 0; q < 4; q++)
        memcpy(scale + q * c, param_ptr(m, host, "%s.alpha_%s", prefix, irrep_names[q]), (size_t)c * sizeof(float));
    const float *aE = param_ptr(m, host, "%s.alpha_E", prefix);
    memcpy(scale + 4 * c, aE, (size_t)2 * c * sizeof(float));
    memcpy(scale + 6 * c, aE, (size_t)2 * c * sizeof(float));
    if (shift) {
        memset(shift, 0, (size_t)C * sizeof(float));
        memcpy(shift, param_ptr(m, host, "%s.beta", prefix), (size_t)c * sizeof(float));
    }
}

/* The six lift convolutions as one (C, 3*p*p) weight in iso5 row order:
 * A1, A2, B1, B2, E_left (x4), E_right (x6), rot90 E_left (x5), rot90 E_right (x7). */
static void expand_lift(float *w, float *b, const octic_model *m, const float *host, float *work) {
    int C = m->cfg.dim, c = C / 8, p = m->cfg.patch, h = p / 2;
    const char *convs[6] = {"A1", "A2", "B1", "B2", "E_left", "E_right"};
    const unfold_kind kinds[6] = {UNFOLD_A1, UNFOLD_A2, UNFOLD_B1, UNFOLD_B2, UNFOLD_E, UNFOLD_E};
    const int block_of[6] = {0, 1, 2, 3, 4, 5};
    float *full = work, *tmp = work + p * p; /* work: p*p + p*p floats */
    for (int k = 0; k < 6; k++) {
        const float *q = param_ptr(m, host, "patch_embed.lift8.conv_%s.weight", convs[k]);
        float scale = kinds[k] == UNFOLD_E ? 0.5f : (float)OCTIC_SQRT2_OVER_4;
        for (int o = 0; o < c; o++)
            for (int ch = 0; ch < 3; ch++) {
                unfold_quarter(full, q + ((size_t)o * 3 + ch) * h * h, h, kinds[k], scale, tmp);
                float *dst = w + ((size_t)(block_of[k] * c + o) * 3 + ch) * p * p;
                memcpy(dst, full, (size_t)p * p * sizeof(float));
                if (kinds[k] == UNFOLD_E) /* the second output of an E conv uses the rotated kernel */
                    rot90_plane(w + ((size_t)((block_of[k] + 2) * c + o) * 3 + ch) * p * p, full, p, 1);
            }
    }
    memset(b, 0, (size_t)C * sizeof(float));
    memcpy(b, param_ptr(m, host, "patch_embed.lift8.conv_A1.bias"), (size_t)c * sizeof(float));
}

/* The six learned quarter grids (g/2, g/2, c) unfolded into the eight full
 * grids, stored (g*g, C) iso5: pos_embed.0..3 -> A1..B2, 4 -> E_left (x4,
 * and rotated x5), 5 -> E_right (x6, and rotated x7). */
static void expand_pos(float *pos, const octic_model *m, const float *host, float *work) {
    int C = m->cfg.dim, c = C / 8, g = m->cfg.grid, h = g / 2;
    const unfold_kind kinds[6] = {UNFOLD_A1, UNFOLD_A2, UNFOLD_B1, UNFOLD_B2, UNFOLD_E, UNFOLD_E};
    float *quarter = work, *full = work + g * g, *rot = full + g * g, *tmp = rot + g * g;
    for (int k = 0; k < 6; k++) {
        const float *src = param_ptr(m, host, "pos_embed.%d", k);
        for (int i = 0; i < c; i++) {
            for (int t = 0; t < h * h; t++) quarter[t] = src[(size_t)t * c + i];
            unfold_quarter(full, quarter, h, kinds[k], 1.0f, tmp);
            for (int t = 0; t < g * g; t++) pos[(size_t)t * C + k * c + i] = full[t];
            if (kinds[k] == UNFOLD_E) {
                rot90_plane(rot, full, g, 1);
                for (int t = 0; t < g * g; t++) pos[(size_t)t * C + (k + 2) * c + i] = rot[t];
            }
        }
    }
}

/* Octic class/register tokens into iso5. DeiT III stores the class token as
 * the 5-tuple (A1, A2, B1, B2 of c; E as (2, 2c)), which is iso5 already;
 * DINOv2 as the 8-tuple x0..x7 of c each. */
static void gather_tuple8(float *dst, const octic_model *m, const float *host, const char *prefix, int row, int rows) {
    int c = m->cfg.dim / 8;
    const int iso_block[8] = {0, 1, 2, 3, 4, 6, 5, 7}; /* x_k lives in iso5 block iso_block[k] */
    for (int k = 0; k < 8; k++)
        memcpy(dst + iso_block[k] * c, param_ptr(m, host, "%s.%d", prefix, k) + (size_t)row * c, (size_t)c * sizeof(float));
    (void)rows;
}

static void set_linear8(octic_linear8 *l, const octic_model *m, const float *base, const char *prefix, int in, int out) {
    for (int q = 0; q < 5; q++) l->w[q] = param_ptr(m, base, "%s.lin_%s.weight", prefix, irrep_names[q]);
    l->bias = param_ptr(m, base, "%s.lin_A1.bias", prefix);
    l->in = in;
    l->out = out;
}

/* Index maps between the octic attention's iso5 layout and the standard
 * per-head layout (model.md: per head, q/k/v concatenate the head's slice of
 * each 1-d irrep, then of E row 0, then of E row 1): qkv[(s*H + h)*hd + t]
 * is the iso5 qkv column of q/k/v (s) element t of head h, attn[h*hd + t]
 * the iso5 column where that element of the attention output goes. */
static void attention_perms(int32_t *qkv, int32_t *attn, int C, int H) {
    int c = C / 8, ch = c / H, hd = C / H;
    for (int s = 0; s < 3; s++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < hd; t++) {
                int32_t src;
                if (t < 4 * ch) /* A1, A2, B1, B2: irrep q occupies 3c columns (q, k, v) of the qkv output */
                    src = (t / ch) * 3 * c + s * c + h * ch + t % ch;
                else if (t < 6 * ch) /* E row 0: columns 12c.. of width 6c = (q, k, v) x 2c */
                    src = 12 * c + s * 2 * c + h * 2 * ch + (t - 4 * ch);
                else /* E row 1 */
                    src = 18 * c + s * 2 * c + h * 2 * ch + (t - 6 * ch);
                qkv[(s * H + h) * hd + t] = src;
            }
    for (int j = 0; j < C; j++) {
        int32_t src;
        if (j < 4 * c) {
            int q = j / c, r = j % c;
            src = (r / ch) * hd + q * ch + r % ch;
        } else if (j < 6 * c) {
            int r = j - 4 * c;
            src = (r / (2 * ch)) * hd + 4 * ch + r % (2 * ch);
        } else {
            int r = j - 6 * c;
            src = (r / (2 * ch)) * hd + 6 * ch + r % (2 * ch);
        }
        attn[src] = j;
    }
}

/* iso5 (x0 x1 x2 x3 x4 x6 x5 x7) -> 8-tuple concat (x0..x7): swap blocks 5, 6. */
static void to8_perm(int32_t *perm, int C) {
    int c = C / 8;
    const int iso_block[8] = {0, 1, 2, 3, 4, 6, 5, 7};
    for (int k = 0; k < 8; k++)
        for (int i = 0; i < c; i++) perm[k * c + i] = iso_block[k] * c + i;
}

static octic_status check_config(const octic_config *cfg) {
    if (cfg->dim <= 0 || cfg->depth <= 0 || cfg->patch <= 0 || cfg->grid <= 0 || cfg->mlp_hidden <= 0)
        return octic_fail(OCTIC_ERR_ARG, "invalid model description (dim %d, depth %d, patch %d, grid %d)",
                          cfg->dim, cfg->depth, cfg->patch, cfg->grid);
    if (cfg->heads <= 0)
        return octic_fail(OCTIC_ERR_MISSING, "the number of heads is not known: give it with --heads N");
    if (cfg->dim % cfg->heads)
        return octic_fail(OCTIC_ERR_ARG, "%d heads do not divide the width %d", cfg->heads, cfg->dim);
    if (cfg->kind != OCTIC_KIND_STANDARD) {
        if ((cfg->dim / cfg->heads) % 8 || cfg->patch % 2 || cfg->grid % 2 || cfg->mlp_hidden % 8)
            return octic_fail(OCTIC_ERR_ARG,
                              "an octic model needs a head width divisible by 8 (width %d, %d heads), an even patch "
                              "(%d) and an even grid (%d)", cfg->dim, cfg->heads, cfg->patch, cfg->grid);
        if (cfg->break_layer < 1 || cfg->break_layer > cfg->depth)
            return octic_fail(OCTIC_ERR_ARG, "break layer %d outside 1..%d", cfg->break_layer, cfg->depth);
        if (cfg->kind == OCTIC_KIND_INVARIANT && cfg->invariant == OCTIC_INV_NONE)
            return octic_fail(OCTIC_ERR_ARG, "an invariant model needs an invariant kind");
    }
    return OCTIC_OK;
}

/* Fills the published tensors into the model's host allocation: copied from
 * a tensor set, or generated (random weights built in place, so that a large
 * random model never exists twice in memory). */
typedef struct {
    const octic_tensor_set *set; /* copy from here, or */
    uint64_t seed;               /* generate with octic_random_weights' generator */
    octic_tensor_set *consume;   /* set itself when its caller is done with it: each tensor's
                                    memory is given back once copied, so that loading a
                                    checkpoint peaks near the model's size, not twice it */
} weight_source;

static void random_fill(const octic_param *p, float *data, uint64_t *s);

static void fill_published(float *host, const param_list *pl, const weight_source *src) {
    uint64_t s = src->seed;
    for (int i = 0; i < pl->count; i++) {
        const octic_param *p = &pl->items[i];
        if (src->set) {
            const octic_tensor *t = find_tensor(src->set, p->name);
            memcpy(host + p->offset, t->data, p->numel * sizeof(float));
            if (src->consume) octic_tensor_set_release(src->consume, (int)(t - src->set->tensors));
        } else
            random_fill(p, host + p->offset, &s);
    }
}

static octic_status build_model(param_list pl, const octic_config *cfg, const octic_backend *be,
                                const weight_source *src, octic_model **out);

static octic_status build_from_set(const octic_tensor_set *set, const octic_config *cfg, const octic_backend *be,
                                   octic_tensor_set *consume, octic_model **out) {
    *out = NULL;
    octic_status st = check_config(cfg);
    if (st) return st;
    octic_config cf = *cfg;
    if (cf.kind == OCTIC_KIND_STANDARD) cf.break_layer = 0;
    param_list pl;
    if ((st = list_params(&cf, &pl))) return st;
    if ((st = check_tensors(set, &pl, &cf))) {
        free(pl.items);
        return st;
    }
    weight_source src = {set, 0, consume};
    return build_model(pl, &cf, be, &src, out);
}

octic_status octic_model_build(const octic_tensor_set *set, const octic_config *cfg, const octic_backend *be,
                               octic_model **out) {
    return build_from_set(set, cfg, be, NULL, out);
}

octic_status octic_model_random(const octic_config *cfg, uint64_t seed, const octic_backend *be, octic_model **out) {
    *out = NULL;
    octic_status st = check_config(cfg);
    if (st) return st;
    octic_config cf = *cfg;
    if (cf.kind == OCTIC_KIND_STANDARD) cf.break_layer = 0;
    param_list pl;
    if ((st = list_params(&cf, &pl))) return st;
    weight_source src = {NULL, seed, NULL};
    return build_model(pl, &cf, be, &src, out);
}

/* Takes ownership of pl.items. */
static octic_status build_model(param_list pl, const octic_config *cfg, const octic_backend *be,
                                const weight_source *src, octic_model **out) {
    octic_config cf = *cfg;
    octic_model *m = calloc(1, sizeof *m);
    if (!m) {
        free(pl.items);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
    }
    m->cfg = cf;
    m->be = be ? be : octic_cpu_backend();
    m->params = pl.items;
    m->n_params = pl.count;

    /* derived tensors after the published ones, in the same allocation */
    int C = cf.dim, p = cf.patch, g = cf.grid, R = cf.registers, octic = cf.kind != OCTIC_KIND_STANDARD;
    size_t n_derived = 0;
    if (octic) {
        n_derived += (size_t)C * 3 * p * p + C;  /* lift weight, bias */
        n_derived += (size_t)C * (1 + R);        /* class, register tokens */
        n_derived += (size_t)g * g * C;          /* unfolded position embeddings */
        n_derived += (size_t)cf.break_layer * 6 * C; /* norm scale/shift x2, layer scales x2 */
    }
    int ones_scale = cf.family == OCTIC_FAMILY_DINOV2 && cf.no_layer_scale && cf.break_layer < cf.depth;
    if (ones_scale) n_derived += C; /* the layer scale of blocks without one: ones */
    m->n_weights = pl.total + n_derived;
    /* The weights are assembled in host memory: directly in the backend's
     * allocation when that is host memory, else in a staging copy uploaded
     * at the end. */
    const octic_backend *be_ = m->be;
    int direct = be_->host_memory;
#define FREE_HOST(h) (direct ? be_->free(be_, (h)) : free(h))
    float *host = direct ? be_->alloc(be_, m->n_weights) : malloc(m->n_weights * sizeof(float));
    size_t work_n = (size_t)4 * p * p + (size_t)4 * g * g + 64;
    float *work = malloc(work_n * sizeof(float));
    if (!host || !work) {
        if (host) FREE_HOST(host);
        free(work);
        octic_model_free(m);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory for %zu weights", m->n_weights);
    }
    fill_published(host, &pl, src);

    /* Pointers are computed relative to `host`, then rebased onto the
     * backend's allocation. */
    float *d = host + pl.total;
#define TAKE(n) (d += (n), d - (n))
    const float *embed_w, *embed_b, *cls, *regs = NULL, *pos, *pos_cls = NULL;
    if (octic) {
        float *w = TAKE((size_t)C * 3 * p * p), *b = TAKE(C);
        expand_lift(w, b, m, host, work);
        embed_w = w;
        embed_b = b;
        float *ct = TAKE(C);
        if (cf.family == OCTIC_FAMILY_DEIT) {
            int c = C / 8;
            for (int q = 0; q < 4; q++) memcpy(ct + q * c, param_ptr(m, host, "cls_token.%d", q), (size_t)c * sizeof(float));
            memcpy(ct + 4 * c, param_ptr(m, host, "cls_token.4"), (size_t)4 * c * sizeof(float));
        } else {
            gather_tuple8(ct, m, host, "cls_token", 0, 1);
        }
        cls = ct;
        if (R) {
            float *rt = TAKE((size_t)R * C);
            for (int r = 0; r < R; r++) gather_tuple8(rt + (size_t)r * C, m, host, "register_tokens", r, R);
            regs = rt;
        }
        float *pt = TAKE((size_t)g * g * C);
        expand_pos(pt, m, host, work);
        pos = pt;
    } else {
        embed_w = param_ptr(m, host, "patch_embed.proj.weight");
        embed_b = param_ptr(m, host, "patch_embed.proj.bias");
        cls = param_ptr(m, host, "cls_token");
        if (R) regs = param_ptr(m, host, "register_tokens");
        pos = param_ptr(m, host, "pos_embed");
        if (cf.family == OCTIC_FAMILY_DINOV2) { /* (1, 1 + g*g, C): the class token's comes first */
            pos_cls = pos;
            pos += C;
        }
    }

    m->oblocks = calloc((size_t)cf.break_layer + 1, sizeof *m->oblocks);
    m->blocks = calloc((size_t)cf.depth, sizeof *m->blocks);
    if (!m->oblocks || !m->blocks) {
        FREE_HOST(host);
        free(work);
        octic_model_free(m);
        return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
    }
    const char *ls1 = cf.family == OCTIC_FAMILY_DEIT ? "gamma_1" : "ls1";
    const char *ls2 = cf.family == OCTIC_FAMILY_DEIT ? "gamma_2" : "ls2";
    char pre[64];
    for (int i = 0; i < cf.break_layer; i++) {
        octic_block8 *b = &m->oblocks[i];
        float *n1s = TAKE(C), *n1b = TAKE(C), *n2s = TAKE(C), *n2b = TAKE(C), *l1 = TAKE(C), *l2 = TAKE(C);
        snprintf(pre, sizeof pre, "blocks.%d.norm1.scaling", i);
        expand_affine8(n1s, n1b, m, host, pre);
        snprintf(pre, sizeof pre, "blocks.%d.norm2.scaling", i);
        expand_affine8(n2s, n2b, m, host, pre);
        snprintf(pre, sizeof pre, "blocks.%d.%s", i, ls1);
        expand_affine8(l1, NULL, m, host, pre);
        snprintf(pre, sizeof pre, "blocks.%d.%s", i, ls2);
        expand_affine8(l2, NULL, m, host, pre);
        b->norm1_scale = n1s, b->norm1_shift = n1b, b->norm2_scale = n2s, b->norm2_shift = n2b;
        b->ls1 = l1, b->ls2 = l2;
        snprintf(pre, sizeof pre, "blocks.%d.attn.qkv", i);
        set_linear8(&b->qkv, m, host, pre, C, 3 * C);
        snprintf(pre, sizeof pre, "blocks.%d.attn.proj", i);
        set_linear8(&b->proj, m, host, pre, C, C);
        snprintf(pre, sizeof pre, "blocks.%d.mlp.fc1", i);
        set_linear8(&b->fc1, m, host, pre, C, cf.mlp_hidden);
        snprintf(pre, sizeof pre, "blocks.%d.mlp.fc2", i);
        set_linear8(&b->fc2, m, host, pre, cf.mlp_hidden, C);
    }
    float *ones = NULL;
    if (ones_scale) {
        ones = TAKE(C);
        for (int k = 0; k < C; k++) ones[k] = 1.0f;
    }
#undef TAKE
    int deit = cf.family == OCTIC_FAMILY_DEIT;
    for (int i = cf.break_layer; i < cf.depth; i++) {
        octic_block *b = &m->blocks[i];
        b->norm1_w = param_ptr(m, host, "blocks.%d.norm1.weight", i);
        b->norm1_b = param_ptr(m, host, "blocks.%d.norm1.bias", i);
        b->qkv_w = param_ptr(m, host, "blocks.%d.attn.qkv.weight", i);
        b->qkv_b = param_ptr(m, host, "blocks.%d.attn.qkv.bias", i);
        b->proj_w = param_ptr(m, host, "blocks.%d.attn.proj.weight", i);
        b->proj_b = param_ptr(m, host, "blocks.%d.attn.proj.bias", i);
        b->ls1 = ones ? ones : param_ptr(m, host, deit ? "blocks.%d.gamma_1" : "blocks.%d.ls1.gamma", i);
        b->norm2_w = param_ptr(m, host, "blocks.%d.norm2.weight", i);
        b->norm2_b = param_ptr(m, host, "blocks.%d.norm2.bias", i);
        b->fc1_w = param_ptr(m, host, "blocks.%d.mlp.fc1.weight", i);
        b->fc1_b = param_ptr(m, host, "blocks.%d.mlp.fc1.bias", i);
        b->fc2_w = param_ptr(m, host, "blocks.%d.mlp.fc2.weight", i);
        b->fc2_b = param_ptr(m, host, "blocks.%d.mlp.fc2.bias", i);
        b->ls2 = ones ? ones : param_ptr(m, host, deit ? "blocks.%d.gamma_2" : "blocks.%d.ls2.gamma", i);
    }
    if (cf.kind == OCTIC_KIND_INVARIANT) {
        m->inv_w = param_ptr(m, host, "invariant_proj.weight");
        m->inv_b = param_ptr(m, host, "invariant_proj.bias");
    }
    m->norm_w = param_ptr(m, host, "norm.weight");
    m->norm_b = param_ptr(m, host, "norm.bias");
    if (cf.classes > 0) {
        m->head_w = param_ptr(m, host, "head.weight");
        m->head_b = param_ptr(m, host, "head.bias");
    }
    free(work);

    /* Move the weights into backend memory and rebase every pointer. */
    float *dev = host;
    if (!direct) {
        dev = m->be->alloc(m->be, m->n_weights);
        if (!dev) {
            free(host);
            octic_model_free(m);
            return octic_fail(OCTIC_ERR_NOMEM, "out of memory for %zu weights on the %s backend", m->n_weights,
                              m->be->name);
        }
        m->be->upload(m->be, dev, host, m->n_weights);
    }
#define REBASE(ptr) ((ptr) = (ptr) ? dev + ((ptr) - host) : NULL)
    REBASE(embed_w), REBASE(embed_b), REBASE(cls), REBASE(regs), REBASE(pos), REBASE(pos_cls);
    m->embed_w = embed_w, m->embed_b = embed_b, m->cls = cls, m->registers = regs, m->pos = pos, m->pos_cls = pos_cls;
    for (int i = 0; i < cf.break_layer; i++) {
        octic_block8 *b = &m->oblocks[i];
        REBASE(b->norm1_scale), REBASE(b->norm1_shift), REBASE(b->norm2_scale), REBASE(b->norm2_shift);
        REBASE(b->ls1), REBASE(b->ls2);
        octic_linear8 *ls[4] = {&b->qkv, &b->proj, &b->fc1, &b->fc2};
        for (int k = 0; k < 4; k++) {
            for (int q = 0; q < 5; q++) REBASE(ls[k]->w[q]);
            REBASE(ls[k]->bias);
        }
    }
    for (int i = cf.break_layer; i < cf.depth; i++) {
        octic_block *b = &m->blocks[i];
        REBASE(b->norm1_w), REBASE(b->norm1_b), REBASE(b->qkv_w), REBASE(b->qkv_b), REBASE(b->proj_w);
        REBASE(b->proj_b), REBASE(b->ls1), REBASE(b->norm2_w), REBASE(b->norm2_b), REBASE(b->fc1_w);
        REBASE(b->fc1_b), REBASE(b->fc2_w), REBASE(b->fc2_b), REBASE(b->ls2);
    }
    REBASE(m->inv_w), REBASE(m->inv_b), REBASE(m->norm_w), REBASE(m->norm_b), REBASE(m->head_w), REBASE(m->head_b);
#undef REBASE
    if (!direct) free(host);
#undef FREE_HOST
    m->weights = dev;

    if (octic) {
        int H = cf.heads;
        int32_t *pq = malloc((size_t)3 * C * sizeof *pq), *pa = malloc((size_t)C * sizeof *pa),
                *p8 = malloc((size_t)C * sizeof *p8);
        if (pq && pa && p8) {
            attention_perms(pq, pa, C, H);
            to8_perm(p8, C);
            m->perm_qkv = m->be->upload_index(m->be, pq, (size_t)3 * C);
            m->perm_attn = m->be->upload_index(m->be, pa, (size_t)C);
            m->perm_to8 = m->be->upload_index(m->be, p8, (size_t)C);
            m->perm_qkv_host = pq;
            pq = NULL;
        }
        free(pq), free(pa), free(p8);
        if (!m->perm_qkv || !m->perm_attn || !m->perm_to8 || !m->perm_qkv_host) {
            octic_model_free(m);
            return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
        }
    }
    *out = m;
    return OCTIC_OK;
}

void octic_model_free(octic_model *m) {
    if (!m) return;
    const octic_backend *be = m->be;
    if (m->be_cache && be->free_cache) be->free_cache(be, m->be_cache);
    if (m->weights) be->free(be, m->weights);
    if (m->pos_interp) be->free(be, m->pos_interp);
    octic_arena_free(m);
    if (m->perm_qkv) be->free_index(be, m->perm_qkv);
    if (m->perm_attn) be->free_index(be, m->perm_attn);
    if (m->perm_to8) be->free_index(be, m->perm_to8);
    free(m->perm_qkv_host);
    free(m->params);
    free(m->oblocks);
    free(m->blocks);
    free(m);
}

const octic_config *octic_model_config(const octic_model *m) { return &m->cfg; }

size_t octic_model_backend_bytes(const octic_model *m) {
    return m->be_cache && m->be->cache_bytes ? m->be->cache_bytes(m->be, m->be_cache) : 0;
}

octic_status octic_model_export(const octic_model *m, octic_tensor_set *out) {
    octic_tensor_set_init(out);
    float *host = malloc(m->n_weights * sizeof(float));
    if (!host) return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
    m->be->download(m->be, host, m->weights, m->n_weights);
    for (int i = 0; i < m->n_params; i++) {
        const octic_param *p = &m->params[i];
        float *data = malloc((p->numel ? p->numel : 1) * sizeof(float));
        if (!data) {
            free(host);
            octic_tensor_set_free(out);
            return octic_fail(OCTIC_ERR_NOMEM, "out of memory");
        }
        memcpy(data, host + p->offset, p->numel * sizeof(float));
        octic_status st = octic_tensor_set_add(out, p->name, p->ndim, p->shape, data, 1);
        if (st) {
            free(host);
            octic_tensor_set_free(out);
            return st;
        }
    }
    free(host);
    return octic_config_to_meta(&m->cfg, out);
}

octic_status octic_model_load_on(const char *path, int heads, const octic_backend *be, octic_model **out) {
    *out = NULL;
    octic_tensor_set set;
    octic_status st = octic_checkpoint_load(path, &set);
    if (st) return st;
    octic_config cfg;
    st = octic_config_infer(&set, heads, &cfg);
    if (!st) st = build_from_set(&set, &cfg, be, &set, out);
    if (st) octic_fail_prefix(st, path);
    octic_tensor_set_free(&set);
    return st;
}

octic_status octic_model_load(const char *path, int heads, octic_model **out) {
    return octic_model_load_on(path, heads, NULL, out);
}

int octic_model_tokens(const octic_model *m, int S) {
    int n = S / m->cfg.patch;
    return 1 + m->cfg.registers + n * n;
}

octic_status octic_model_check_size(const octic_model *m, int S) {
    int p = m->cfg.patch, octic = m->cfg.kind != OCTIC_KIND_STANDARD;
    int step = octic ? 2 * p : p;
    if (S <= 0 || S % step)
        return octic_fail(OCTIC_ERR_ARG,
                          "image size %dx%d cannot be taken by this model: it must be a multiple of %d (%s%d)", S, S,
                          step, octic ? "twice the patch size " : "the patch size ", p);
    return OCTIC_OK;
}

/* ------------------------------------------------------------------------ */
/* Random weights                                                            */

/* A deterministic generator (splitmix64): the same seed gives the same
 * weights on every machine. */
static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [-a, a). */
static float uniform(uint64_t *s, float a) { return a * (float)((double)(splitmix64(s) >> 11) / 4503599627370496.0 - 1.0); }

/* One published tensor's random values, drawing from the shared state s in
 * list order: the same seed gives the same model through
 * octic_random_weights and octic_model_random. */
static void random_fill(const octic_param *p, float *data, uint64_t *s) {
    /* norms' scales around 1, layer scales around 0.1, the rest small
     * and fan-in scaled, so activations stay of order 1 at any depth */
    const char *n = p->name;
    int norm_scale = strstr(n, "norm") && (strstr(n, ".weight") || strstr(n, ".alpha_"));
    int layer_scale = strstr(n, "gamma") || strstr(n, ".ls1") || strstr(n, ".ls2");
    /* as in the reference, an octic class or register token is learned
     * only in A1; its other irreps are fixed zeros (else it would not be
     * invariant) */
    int fixed_zero = (!strncmp(n, "cls_token.", 10) || !strncmp(n, "register_tokens.", 16)) &&
                     strcmp(strchr(n, '.'), ".0") != 0;
    int matrix = p->ndim >= 2 && strstr(n, "weight");
    float fan_in = p->ndim >= 2 ? (float)(p->numel / (size_t)p->shape[0]) : 1.0f;
    for (size_t k = 0; k < p->numel; k++) {
        if (fixed_zero)
            data[k] = 0.0f;
        else if (norm_scale)
            data[k] = 1.0f + uniform(s, 0.1f);
        else if (layer_scale)
            data[k] = 0.1f + uniform(s, 0.05f);
        else if (matrix)
            data[k] = uniform(s, 1.0f / sqrtf(fan_in));
        else
            data[k] = uniform(s, 0.1f);
    }
}

octic_status octic_random_weights(const octic_config *cfg, uint64_t seed, octic_tensor_set *out) {
    octic_tensor_set_init(out);
    octic_config cf = *cfg;
    if (cf.kind == OCTIC_KIND_STANDARD) cf.break_layer = 0;
    param_list pl;
    octic_status st = list_params(&cf, &pl);
    if (st) return st;
    uint64_t s = seed;
    for (int i = 0; i < pl.count && !st; i++) {
        const octic_param *p = &pl.items[i];
        float *data = malloc((p->numel ? p->numel : 1) * sizeof(float));
        if (!data) {
            st = octic_fail(OCTIC_ERR_NOMEM, "out of memory for random weights");
            break;
        }
        random_fill(p, data, &s);
        st = octic_tensor_set_add(out, p->name, p->ndim, p->shape, data, 1);
    }
    free(pl.items);
    if (!st) st = octic_config_to_meta(&cf, out);
    if (st) octic_tensor_set_free(out);
    return st;
}
