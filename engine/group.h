/* The octic group D8: the 8 symmetries of the square and their actions.
 *
 * Elements are numbered e, r, r^2, r^3, m, mr, mr^2, mr^3 (0..7); element
 * g = 4*s + k is m^s r^k. On images r is a quarter turn counter-clockwise as
 * displayed (torch.rot90(x, 1, (-2, -1))) and m the left-right mirror
 * (flip(-1)); "mr" rotates first, then mirrors, so the product g*h acts as
 * "apply h, then g". */
#ifndef OCTIC_GROUP_H
#define OCTIC_GROUP_H

#include "error.h"

#define OCTIC_GROUP_ORDER 8

extern const char *const octic_group_names[OCTIC_GROUP_ORDER]; /* "e","r","rr","rrr","m","mr","mrr","mrrr" */

int octic_group_mul(int g, int h);   /* g*h */
int octic_group_inv(int g);
int octic_group_parse(const char *name); /* -1 if unknown; accepts "r2" for "rr" etc. */

/* out[C, S, S] = g . in[C, S, S] (square images or grids). out != in. */
void octic_group_act_image(float *out, const float *in, int g, int C, int S);

/* For a side-n grid, src[i] = the index of the cell that g moves to cell i:
 * (g.x)[i] = x[src[i]]. */
void octic_group_grid_perm(int *src, int g, int n);

/* Sign and source of the isotypic action on the 8 components x0..x7:
 * (g.x)_j = sign[j] * x_{src[j]}. */
void octic_group_isotypic(int g, int src[8], int sign[8]);

/* g acting on tokens in[B, T, C] (8-tuple concat layout when octic != 0):
 * the n*n patch tokens starting at t0 are permuted like the image, the first
 * t0 (class, registers) stay; channels get the isotypic action when octic. */
void octic_group_act_tokens(float *out, const float *in, int g, int B, int T, int t0, int n,
                            int C, int octic);

#endif
