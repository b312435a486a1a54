/* The model's weights and buffers: shared by model.c (building), forward.c
 * and equivariance.c. Not part of the public API. */
#ifndef OCTIC_MODEL_INTERNAL_H
#define OCTIC_MODEL_INTERNAL_H

#include <stddef.h>

#include "model.h"

/* A published tensor of the checkpoint: name, shape, where it lives in the
 * model's single weight allocation. */
typedef struct {
    char name[96];
    int ndim;
    int64_t shape[4];
    size_t offset; /* in floats, into octic_model.weights */
    size_t numel;
} octic_param;

/* LinearD8(in, out): four Linear(in/8 -> out/8) for A1, A2, B1, B2 (bias on
 * A1 only) and one Linear(in/4 -> out/4) applied to each row of E. */
typedef struct {
    const float *w[5]; /* A1, A2, B1, B2: (out/8, in/8); E: (out/4, in/4) */
    const float *bias; /* (out/8) or NULL */
    int in, out;
} octic_linear8;

typedef struct {
    octic_linear8 qkv, proj, fc1, fc2;
    /* LayerNormD8's AffineD8 and the layer scales, expanded to iso5 (C) */
    const float *norm1_scale, *norm1_shift, *norm2_scale, *norm2_shift;
    const float *ls1, *ls2;
} octic_block8;

typedef struct {
    const float *norm1_w, *norm1_b;  /* (C) */
    const float *qkv_w, *qkv_b;      /* (3C, C), (3C) */
    const float *proj_w, *proj_b;    /* (C, C), (C) */
    const float *ls1;                /* (C): gamma_1 (DeiT III) or ls1.gamma (DINOv2) */
    const float *norm2_w, *norm2_b;  /* (C) */
    const float *fc1_w, *fc1_b;      /* (4C, C), (4C) */
    const float *fc2_w, *fc2_b;      /* (C, 4C), (C) */
    const float *ls2;                /* (C) */
} octic_block;

struct octic_model {
    octic_config cfg;
    const octic_backend *be;

    float *weights;       /* one allocation (backend memory): published tensors, then derived ones */
    size_t n_weights;
    octic_param *params;  /* the published tensors, in checkpoint order */
    int n_params;

    /* embedding: a stride-p convolution as a GEMM over im2col patches */
    const float *embed_w;   /* (C, 3*p*p); octic: the lift's six kernels unfolded, iso5 rows */
    const float *embed_b;   /* (C) */
    const float *cls;       /* (C) class token (iso5 for octic) */
    const float *registers; /* (R, C) or NULL */
    const float *pos;       /* (grid*grid, C) patch position embeddings at the training grid */
    const float *pos_cls;   /* (C) DINOv2 standard: the class token's position embedding; else NULL */

    octic_block8 *oblocks;  /* [break_layer] */
    octic_block *blocks;    /* [depth]; entries >= break_layer used */
    const float *inv_w, *inv_b; /* invariant_proj: (C, W), (C) */
    const float *norm_w, *norm_b;
    const float *head_w, *head_b; /* (classes, C), (classes) */

    /* column permutations (backend index memory) */
    int32_t *perm_qkv;   /* (3, H, hd): the iso5 qkv column of each standard one */
    int32_t *perm_attn;  /* (H, hd): the iso5 column of each standard attention output column */
    int32_t *perm_to8;   /* iso5 (C) -> published 8-tuple concat (C) */
    int32_t *perm_qkv_host; /* perm_qkv in host memory (the class-token attention output) */

    /* the backend's own state kept from pass to pass (begin_pass), or NULL */
    void *be_cache;

    /* position embeddings interpolated to another grid, cached */
    float *pos_interp;   /* (n*n, C) backend memory */
    int pos_interp_n;

    /* the activations of the last batch shape, reused while it stays (forward.c) */
    struct octic_arena *arena;
    int arena_builds;    /* how many times an arena was allocated (tests) */
};

/* Frees m->arena (forward.c). */
void octic_arena_free(octic_model *m);

/* PyTorch's bicubic resize (a = -0.75, align_corners False, no antialias) of
 * a (n_in*n_in, C) grid to (n_out*n_out, C). scale > 0: the source step is
 * 1/scale (interpolate(scale_factor=...)); else n_in/n_out (size=...). */
void octic_bicubic_resize(float *out, const float *in, int n_in, int n_out, int C, double scale);

/* The octic layers of forward.c, exposed for the equivariance tests. All
 * buffers are backend memory; tokens (B*T or rows, C) in iso5. in and out of
 * the attention may alias; out and in of linear8 must not. */
void octic_linear8_forward(const octic_backend *be, float *out, const float *in, const octic_linear8 *l, int M);
/* work: octic_attention8_work(m, B, T) floats of backend memory */
void octic_attention8_forward(const octic_model *m, const octic_block8 *b, float *out, const float *in,
                              float *work, int B, int T);
size_t octic_attention8_work(const octic_model *m, int B, int T);
/* hidden: (rows, mlp_hidden) */
void octic_mlp8_forward(const octic_model *m, const octic_block8 *b, float *out, const float *in, float *hidden,
                        int rows);

#endif
