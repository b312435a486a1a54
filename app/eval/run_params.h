/* The parameters a run records in the results database, as text: the same
 * names and values whether `octic eval` or the studio launched the run. */
#ifndef OCTIC_RUN_PARAMS_H
#define OCTIC_RUN_PARAMS_H

#include <stddef.h>

#include "protocols.h"
#include "results_db.h"

typedef struct {
    octic_db_param items[64];
    char store[64][512];
    int n;
} octic_run_params;

/* Appends name = printf(fmt, ...); past 64 entries the rest is dropped. */
void octic_run_param(octic_run_params *p, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "1,2,3" into buf. */
void octic_join_ints(char *buf, size_t len, const int *v, int n);
void octic_join_doubles(char *buf, size_t len, const double *v, int n);

/* Everything a run of one protocol records: the model and data (paths as
 * given), splits, subset (text, e.g. "first:100" or "all"), sizes, seed, heads,
 * the protocol's settings (exactly one of knn, linear, seg non-NULL) and the
 * feature cache. */
void octic_run_params_fill(octic_run_params *p, const char *model_path, const char *root, const octic_eval_context *ctx,
                           const char *subset, int seed, const octic_knn_protocol *knn,
                           const octic_linear_protocol *linear, const octic_seg_protocol *seg, const char *cache);

#endif
