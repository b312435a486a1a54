/* The numbers behind the inspector: one image through one model, as the
 * eight transformed copies g.x for g in D8 (e, r, r², r³, m, mr, mr², mr³).
 *
 * Plain C over float*, without GTK, so that the unit tests exercise exactly
 * what the widgets show: the block outputs of the eight copies, the
 * equivariance error per block and element, the share of feature energy per
 * irrep of the octic blocks, the pull-back g⁻¹.f(g.x), one PCA basis per
 * block mapped to RGB, colour maps, class-token attention and top-k classes.
 *
 * Block indices follow engine/model.h: 0 = the embedded tokens, i = the
 * output of block i-1; outputs 0..break_layer of an octic model are octic
 * (8-tuple concat layout x0..x7, C/8 channels each). */
#ifndef OCTISCOPE_ANALYSIS_H
#define OCTISCOPE_ANALYSIS_H

#include <stdint.h>

#include "model.h"

/* Irreps of D8 in the order the energy shares are given. */
enum { OCTISCOPE_A1, OCTISCOPE_A2, OCTISCOPE_B1, OCTISCOPE_B2, OCTISCOPE_E, OCTISCOPE_NIRREPS };
extern const char *const octiscope_irrep_names[OCTISCOPE_NIRREPS]; /* "A1", "A2", "B1", "B2", "E" */

typedef struct {
    int S;           /* input side */
    int n;           /* patch grid side S / patch */
    int T, t0, C, H; /* tokens, index of the first patch token, width, heads */
    int depth, nblocks, break_layer, classes;
    octic_kind kind;
    float *images;  /* (8, 3, S, S) the transformed copies in [0, 1], for display */
    float *blocks;  /* (nblocks, 8, T, C) block outputs of the eight copies */
    float *attn;    /* (depth, 8, H, T) class-token attention of every block */
    float *probs;   /* (8, classes) softmax of the logits, or NULL (no head) */
    double *eq_err; /* (nblocks, 8) |f(g.x) - g.f(x)| / |f(x)| */
    double *energy; /* (nblocks, 5) energy share per irrep; -1 for blocks that are not octic */
} octiscope_analysis;

/* Whether block output `block` is octic (carries the isotypic channel action). */
int octiscope_block_is_octic(const octiscope_analysis *a, int block);

/* Runs the model on the eight copies of image (3, S, S) in [0, 1] (it is
 * normalized with the ImageNet mean and std here) and fills every field.
 * cancel (may be NULL) is polled between the eight forward passes; when it
 * becomes non-zero the run stops with OCTIC_ERR_ARG "cancelled". progress
 * (may be NULL) is called with a fraction in [0, 1]. */
octic_status octiscope_analysis_run(octic_model *m, const float *image, int S, octiscope_analysis *a,
                                    const volatile int *cancel, void (*progress)(void *user, double frac),
                                    void *user);
void octiscope_analysis_free(octiscope_analysis *a);

/* The tokens (T, C) of copy g at a block: f(g.x). */
const float *octiscope_block_tokens(const octiscope_analysis *a, int block, int g);

/* out (T, C) = g⁻¹ . f(g.x): the copy's features moved back onto the
 * original image (token permutation, plus the isotypic action for an octic
 * block). Equal to f(x) for every g when the block is equivariant. */
void octiscope_pull_back(float *out, const octiscope_analysis *a, int block, int g);

/* eq_err from the stored block outputs (the engine's definition in
 * engine/equivariance.h, all tokens, Frobenius norms). */
void octiscope_equivariance_curves(octiscope_analysis *a);

/* share[5]: the fraction of sum x² over the patch tokens tokens[t0..T) that
 * lies in A1 (x0), A2 (x1), B1 (x2), B2 (x3) and E (x4..x7); tokens in the
 * 8-tuple concat layout. All zero for zero features. */
void octiscope_energy_shares(double share[OCTISCOPE_NIRREPS], const float *tokens, int T, int t0, int C);

/* ---- PCA to RGB ----------------------------------------------------------- */

typedef struct {
    int C;
    float *mean;   /* (C) */
    float *basis;  /* (3, C) orthonormal rows, the top three principal axes */
    double var[3]; /* variance along each axis */
    float lo[3], hi[3]; /* the 1st and 99th percentiles of the fitted projections */
} octiscope_pca;

/* Fits mean, the top three axes and the colour range on the rows X (R, C).
 * The sign of each axis is fixed (its largest-magnitude entry is positive) so
 * the colours do not depend on the starting vectors. */
octic_status octiscope_pca_fit(octiscope_pca *p, const float *X, int R, int C);
/* rgb (R, 3): each projection scaled from [lo, hi] to [0, 255], clamped. */
void octiscope_pca_rgb(uint8_t *rgb, const octiscope_pca *p, const float *X, int R);
void octiscope_pca_free(octiscope_pca *p);

/* The feature maps of a block: computed[8][n*n*3] is the PCA-RGB of the
 * patch tokens of f(g.x) and pulled[8][n*n*3] that of g⁻¹.f(g.x), with one
 * basis fitted on the patch tokens of all eight computed copies. Either
 * output may be NULL. */
octic_status octiscope_block_maps(const octiscope_analysis *a, int block, uint8_t *computed, uint8_t *pulled);

/* ---- colour maps, attention, classes --------------------------------------- */

typedef enum { OCTISCOPE_CMAP_VIRIDIS = 0, OCTISCOPE_CMAP_MAGMA, OCTISCOPE_CMAP_GRAY, OCTISCOPE_NCMAPS } octiscope_cmap;
/* "viridis", "magma", "gray"; parse returns -1 for an unknown name. */
const char *octiscope_cmap_name(octiscope_cmap cm);
int octiscope_cmap_parse(const char *name);
/* t in [0, 1] (clamped) -> rgb. Monotone in lightness for all three maps. */
void octiscope_cmap_rgb(uint8_t rgb[3], octiscope_cmap cm, float t);
/* rgb (count, 3) of values mapped linearly from [min, max] of values. */
void octiscope_cmap_apply(uint8_t *rgb, octiscope_cmap cm, const float *values, int count);

/* The class-token attention of a copy over the patch grid: map (n*n) of
 * block `block` (0..depth-1), head h, copy g. */
const float *octiscope_attention_row(const octiscope_analysis *a, int block, int g, int h);

/* The k most probable classes of copy g, most probable first. */
void octiscope_top_k(const octiscope_analysis *a, int g, int k, int *idx, float *prob);

/* The colour of a segmentation label: the bits of the label spread over the
 * high bits of R, G and B (the PASCAL VOC palette; distinct for 0..255,
 * 0 black). */
void octiscope_label_rgb(uint8_t rgb[3], int label);

/* out (w*h, 3) = rgb blended with the label colours at opacity (0..1):
 * label 0 (background, ADE20K "other") leaves the photo, 255 (ignored,
 * VOC's object borders) blends towards white, others towards their colour. */
void octiscope_blend_labels(uint8_t *out, const uint8_t *rgb, const uint8_t *labels, int w, int h, float opacity);

/* Nearest-neighbour upscale of an (h, w, 3) image by an integer factor. */
void octiscope_rgb_upscale(uint8_t *out, const uint8_t *in, int w, int h, int factor);

/* ---- CSV ------------------------------------------------------------------- */

/* The numbers of an analysis as CSV, one file per picture:
 * equivariance (block, kind, e, r, ..., mrrr), energy (block, A1..E),
 * top-5 (copy, rank, class, probability). Written to a temporary file and
 * renamed. */
octic_status octiscope_write_equivariance_csv(const octiscope_analysis *a, const char *path);
octic_status octiscope_write_energy_csv(const octiscope_analysis *a, const char *path);
octic_status octiscope_write_top5_csv(const octiscope_analysis *a, const char *path);

#endif
