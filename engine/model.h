/* The octic ViT model: description, weights, forward pass.
 *
 * Six families: DeiT III and DINOv2, each standard, hybrid (octic blocks,
 * then the 8 isotypic components concatenated into standard blocks) and
 * invariant (octic blocks, an invariant map and a Linear back to the width,
 * then standard blocks).
 *
 * Octic activations inside the engine are stored per token in the "iso5"
 * channel order of the reference's 5-tuple: [A1 | A2 | B1 | B2 | E row 0 |
 * E row 1] with c = C/8 channels for each 1-d irrep and 2c for each E row,
 * i.e. x0 x1 x2 x3 x4 x6 x5 x7 in the 8-tuple naming of model.md. Every
 * tensor the engine hands out (block outputs, prenorm) is in the published
 * "8-tuple concat" order x0..x7, the layout of golden/blocks.npy. */
#ifndef OCTIC_MODEL_H
#define OCTIC_MODEL_H

#include <stdint.h>

#include "backend.h"
#include "tensor.h"

typedef enum { OCTIC_FAMILY_DEIT = 0, OCTIC_FAMILY_DINOV2 = 1 } octic_family;
typedef enum { OCTIC_KIND_STANDARD = 0, OCTIC_KIND_HYBRID = 1, OCTIC_KIND_INVARIANT = 2 } octic_kind;
typedef enum {
    OCTIC_INV_NONE = 0,
    OCTIC_INV_POWER_SPECTRUM, /* 6C/8 features */
    OCTIC_INV_POLYNOMIAL,     /* 32C/8 */
    OCTIC_INV_THIRD_ORDER,    /* 15C/8 */
    OCTIC_INV_LINEAR,         /* C/8 */
} octic_invariant;

typedef struct {
    octic_family family;
    octic_kind kind;
    int depth;        /* number of blocks */
    int dim;          /* C */
    int heads;        /* 0 = unknown */
    int stored_heads; /* the heads the file's metadata gives, or 0 */
    int patch;        /* patch size p */
    int grid;         /* training grid side (img_size / p) */
    int classes;      /* DeiT head outputs; 0 = no head */
    int registers;    /* register tokens */
    int mlp_hidden;   /* 4C for every published model */
    int break_layer;  /* octic blocks are 0..break_layer-1; 0 for standard */
    octic_invariant invariant;
    /* 1: DINOv2 standard blocks without LayerScale (vit_large() and
     * vit_huge() with their default init_values=None): no ls1/ls2 tensors,
     * the model multiplies by ones */
    int no_layer_scale;
} octic_config;

const char *octic_family_name(octic_family f);   /* "deit3", "dinov2" */
const char *octic_kind_name(octic_kind k);       /* "standard", "hybrid", "invariant" */
const char *octic_invariant_name(octic_invariant inv); /* "none", "power_spectrum", ... */
int octic_invariant_width(octic_invariant inv, int dim); /* input width of invariant_proj */

/* The 12 published architectures of model.md. */
typedef struct {
    const char *name;      /* e.g. "hybrid_deit_large_patch16" */
    const char *title;     /* e.g. "DeiT III Hybrid ViT-L/16" */
    octic_config config;
} octic_arch;

int octic_arch_count(void);
const octic_arch *octic_arch_get(int i);
const octic_arch *octic_arch_find(const char *name);
/* For a name octic_arch_find does not know: the published architecture it
 * most likely means, or NULL. In turn: the only name it begins (four letters
 * or more), the name or alias fewest edits away (at most max(2, length / 5),
 * case ignored), the only name that contains it. */
const octic_arch *octic_arch_nearest(const char *name);
/* The published architecture whose shapes equal cfg's (ignoring heads), or NULL. */
const octic_arch *octic_arch_match(const octic_config *cfg);

/* Infers the description from the tensor names and shapes. The state dict
 * keys are expected already normalized (prefixes stripped). heads: >0 to
 * force; 0 to take it from set metadata ("heads") or from a matching
 * published architecture; if still unknown, cfg->heads is left 0 and
 * OCTIC_ERR_MISSING is returned with a message asking for --heads. Also
 * returns an error for anything that is not one of the six families. */
octic_status octic_config_infer(const octic_tensor_set *set, int heads, octic_config *cfg);
/* Whether a model of cfg's shape can have that many heads: they divide the
 * width and, in an octic model, leave heads of a width divisible by 8; a
 * file that stores its heads takes no other number. */
octic_status octic_config_check_heads(const octic_config *cfg, int heads);

/* Parameters and multiply-adds of one forward pass at img x img
 * (fvcore convention: one multiply-add = one FLOP). */
typedef struct {
    int64_t params;
    int64_t macs;
} octic_cost;
octic_cost octic_config_cost(const octic_config *cfg, int img);

/* Writes the description into string metadata (for safetensors) and back. */
octic_status octic_config_to_meta(const octic_config *cfg, octic_tensor_set *set);

typedef struct octic_model octic_model;

/* Checks every tensor against cfg (missing, unexpected, wrong shape: an error
 * naming the tensor, the expected and the found shape), then copies the
 * weights into one allocation of the backend. be may be NULL for the CPU. */
octic_status octic_model_build(const octic_tensor_set *set, const octic_config *cfg,
                               const octic_backend *be, octic_model **out);
void octic_model_free(octic_model *m);
const octic_config *octic_model_config(const octic_model *m);
/* Memory the backend keeps for the model beyond its weights and activations
 * (the CPU backend's packed weights; see octic_cpu_set_prepack), in bytes. */
size_t octic_model_backend_bytes(const octic_model *m);

/* Loads a checkpoint file (.pth or .safetensors), infers the description and
 * builds the model. heads as for octic_config_infer. */
octic_status octic_model_load(const char *path, int heads, octic_model **out);
/* The same on a chosen backend (NULL: the CPU). The checkpoint's memory is
 * given back tensor by tensor as the weights are copied, so loading peaks near
 * the model's size rather than twice it. */
octic_status octic_model_load_on(const char *path, int heads, const octic_backend *be, octic_model **out);

/* The model's weights back as a named tensor set in the published layout
 * (for conversion); the set references the model's memory. */
octic_status octic_model_export(const octic_model *m, octic_tensor_set *out);

/* Called after the embedding (index 0) and after every block i (index i+1)
 * with the tokens [B, T, C], T = 1 + registers + patches, in the published
 * layout (8-tuple concat for octic blocks). For invariant models the tokens
 * after invariant_proj are reported with index -1. */
typedef void (*octic_block_fn)(void *user, int index, const float *tokens, int B, int T, int C);

/* Where a forward pass spends its time (octic bench): seconds and floating-
 * point operations (2 per multiply-add) per kind of operation, added up over
 * the forward passes it is given to. */
typedef enum {
    OCTIC_OP_EMBED,     /* patch embedding, tokens, position embeddings */
    OCTIC_OP_NORM,      /* LayerNorm, LayerNormD8 (with the residual add before them) */
    OCTIC_OP_QKV,       /* the qkv products */
    OCTIC_OP_ATTENTION, /* softmax attention */
    OCTIC_OP_PROJ,      /* the attention output products */
    OCTIC_OP_MLP,       /* fc1, fc2 (and the GELU after fc1 where the backend runs them as one op) */
    OCTIC_OP_GELU,      /* GELU, GELU-D8 */
    OCTIC_OP_INVARIANT, /* the break: invariant map and projection, or the concatenation */
    OCTIC_OP_HEAD,      /* final norm, head */
    OCTIC_OP_OTHER,     /* residual adds, layout changes, handing out outputs */
    OCTIC_OP_KINDS
} octic_op_kind;

typedef struct {
    double seconds[OCTIC_OP_KINDS];
    double flops[OCTIC_OP_KINDS];
    int gelu_in_mlp; /* 1: the standard blocks' GELU ran inside OCTIC_OP_MLP (with fc1) */
} octic_profile;

/* "patch embedding", "norms", "qkv", ... */
const char *octic_op_kind_name(octic_op_kind k);

typedef struct {
    float *logits;   /* [B, classes] (DeiT III with a head) or NULL */
    float *cls;      /* [B, C] class token after the final norm, or NULL */
    float *patch;    /* [B, N, C] patch tokens after the final norm, or NULL */
    float *prenorm;  /* [B, T, C] tokens before the final norm, or NULL */
    float *attn;     /* [depth, B, H, T] class-token attention of every block (the class token's
                      * softmax row per head; hybrid and invariant octic blocks too), or NULL */
    octic_block_fn on_block;
    void *user;
    int stop_after;  /* >0: stop after this many blocks (on_block still called) */
    octic_profile *profile; /* adds each op's time and work here, or NULL */
} octic_outputs;

/* images: [B, 3, S, S] normalized float32. S must be a multiple of the patch
 * size (of twice the patch size for octic models). A model runs one pass at a
 * time: its activations and caches are its own. On the fast CPU backend the
 * pass, on_block included, reads subnormal floats as zero (values below
 * 1.2e-38; each would cost a microcode assist); the caller's mode is given
 * back at the end. */
octic_status octic_model_forward(octic_model *m, const float *images, int B, int S,
                                 const octic_outputs *out);

/* A tensor set in the published layout of cfg, with deterministic random
 * weights (for benchmarks and the untrained demo models; not a trained model).
 * Carries cfg as metadata. */
octic_status octic_random_weights(const octic_config *cfg, uint64_t seed, octic_tensor_set *out);

/* A model with the weights octic_random_weights(cfg, seed) would give, built
 * directly in the backend's allocation (the weights exist once in memory).
 * be may be NULL for the CPU. */
octic_status octic_model_random(const octic_config *cfg, uint64_t seed, const octic_backend *be,
                                octic_model **out);

/* Tokens: 1 + registers + (S/p)^2. */
int octic_model_tokens(const octic_model *m, int S);
/* Checks that S is a size the model can take; OCTIC_ERR_ARG with a message otherwise. */
octic_status octic_model_check_size(const octic_model *m, int S);

/* ---- Additions from engine/config.c ------------------------------------- */

/* The block index of a state-dict name "blocks.<i>.<rest>", or of a DINOv2
 * chunked name "blocks.<chunk>.<i>.<rest>" (i counts over all blocks); -1
 * when the name is not a block tensor. *rest (rest may be NULL) is set to
 * <rest>, e.g. "norm1.weight". */
int octic_block_index(const char *name, const char **rest);

/* The tensor <rest> of block i under either naming, or NULL. */
const octic_tensor *octic_block_tensor(const octic_tensor_set *set, int i, const char *rest);

/* Cost of a published architecture as the published code builds it by name:
 * octic_config_cost(&arch->config, img), except that the DINOv2 baselines
 * vit_large and vit_huge, whose builders default to no LayerScale, count no
 * ls1/ls2 (2*dim*depth parameters fewer than their trained checkpoints).
 * This is what model.md's "params (code)" column lists. */
octic_cost octic_arch_cost(const octic_arch *arch, int img);

#endif
