/* Helpers shared by the engine tests: golden case files, comparisons. */
#ifndef OCTIC_TEST_UTIL_H
#define OCTIC_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"

/* $OCTIC_GOLDEN_DIR/<case>/<file> into buf. */
const char *golden_path(char *buf, size_t len, const char *name, const char *file);
/* An integer field of a case.json ("num_heads", "depth", ...); -1 when absent or null. */
int golden_int(const char *name, const char *field);
/* Loads <case>/<file>.npy; aborts the test (ck_assert) when it cannot. */
void golden_npy(const char *name, const char *file, octic_array *out);

float max_abs_diff(const float *a, const float *b, size_t n);
/* |a - b| / |b| in the Frobenius norm. */
double rel_error(const float *a, const float *b, size_t n);
/* Deterministic normal-ish values in [-scale, scale] from a seed. */
void fill_random(float *x, size_t n, unsigned seed, float scale);
/* n such values in a new allocation (at least one float; aborts the test when out of memory). */
float *randv(size_t n, unsigned seed, float scale);
/* A deterministic draw from 0..n-1 that advances *state (an LCG): the same
 * sequence on every machine. */
unsigned random_pick(unsigned *state, unsigned n);
/* A deterministic random permutation of 0..n-1 from a seed, malloc'd. */
int32_t *random_perm(int n, unsigned seed);

#endif
