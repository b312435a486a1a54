/* One evaluation as the studio launches it: a model, a data set, a protocol
 * (DINOv2 k-NN, the linear heads on cached features, capi segmentation) with
 * its default settings and a subset size, run and recorded by the runner
 * `octic eval` uses (app/eval/runner.h). Plain C without GTK: the studio
 * calls it from a worker thread, the tests call it directly. */
#ifndef OCTISCOPE_EVALUATION_H
#define OCTISCOPE_EVALUATION_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "error.h"

typedef enum {
    OCTISCOPE_EVAL_KNN = 0,    /* knn-dinov2 */
    OCTISCOPE_EVAL_LINEAR,     /* linear-cached */
    OCTISCOPE_EVAL_SEG,        /* seg-capi */
    OCTISCOPE_EVAL_LINEAR_DINOV2, /* linear-dinov2: augmented training images, the backbone every step */
    OCTISCOPE_EVAL_NPROTOCOLS
} octiscope_eval_protocol;

/* "knn-dinov2", "linear-cached", "seg-capi", "linear-dinov2" (in the database with
 * "-custom" after them for a run with other settings than the published ones). */
const char *octiscope_eval_protocol_name(octiscope_eval_protocol p);
/* The headline metric of a protocol's runs: "top1" or "mIoU". */
const char *octiscope_eval_main_metric(octiscope_eval_protocol p);

typedef struct {
    const char *model;      /* checkpoint path */
    int heads;              /* 0: from the file */
    const octic_backend *backend; /* where the model runs (the device preference); NULL: the CPU */
    const char *data;       /* data set root */
    octiscope_eval_protocol protocol;
    size_t subset;          /* 0: every image; else the first n of each split */
    const char *db;         /* results database; NULL: the default one */
    const char *cache;      /* feature cache; NULL: the default one */
    int threads;            /* 0: all */
    int n_ks, ks[8];        /* k-NN: the k values (n_ks 0: DINOv2's 10, 20, 100, 200) */
    /* the protocol's settings; 0 (or a count of 0) keeps the protocol's default */
    float temperature;      /* k-NN: the softmax temperature (0.07) */
    int n_lrs;              /* linear: the learning-rate grid (DINOv2's 13 rates) */
    double lrs[16];
    int epochs, epoch_length, train_batch; /* linear: 10 x 1250 steps of 128 */
    int n_cs;               /* segmentation: logistic regression's C grid (10^linspace(-6, 5, 8)) */
    double cs[16];
    int n_seg_ks, seg_ks[8]; /* segmentation: the k-NN's k values (1, 3, 10, 30) */
    /* progress: a phase name, then (done, total) within it; a nonzero return
     * from progress cancels the run (recorded as cancelled) */
    void (*phase)(void *user, const char *name);
    int (*progress)(void *user, int64_t done, int64_t total);
    /* once the run is recorded (state "running"), with its number; or NULL */
    void (*started)(void *user, int64_t run_id, const char *protocol, const char *root);
    void *user;
} octiscope_eval_request;

typedef struct {
    int64_t run_id;        /* the run's row (also for a failed or cancelled run, when it was recorded) */
    char state[16];        /* "done", "failed", "cancelled" */
    double main_value;     /* the headline metric when done, or when unsaved */
    int cancelled;
    int unsaved;           /* finished, but the results could not be recorded (a full disk) */
    char notes[1024];      /* what the user should know of the run (images skipped, ks left out) */
} octiscope_eval_outcome;

/* Reads a comma-separated list of up to `max` numbers in [lo, hi] (whole
 * numbers when `whole`) into out; returns the count (at least 1), or -1
 * with a one-line reason in err naming the entry. */
int octiscope_parse_numbers(const char *text, double lo, double hi, int whole, double *out, int max, char *err,
                            size_t err_len);

/* "0.1, 0.2": numbers as the dialog shows them (%g: six digits), whole
 * numbers without decimals. */
void octiscope_format_numbers(char *buf, size_t len, const double *v, int n, int whole);
/* Each value within 1e-5 (relative) of one of ref becomes it: the published
 * settings shown in six digits (the C grid, 10^linspace(-6, 5, 8)) read back
 * exactly, so that a run with them is recorded as the published protocol. */
void octiscope_snap_numbers(double *v, int n, const double *ref, int n_ref);

/* Runs the evaluation and records it. On failure the run (if it was
 * started) is marked failed or cancelled with the message, and the status
 * and octic_last_error() say why (naming the file). */
octic_status octiscope_eval_run(const octiscope_eval_request *r, octiscope_eval_outcome *out);

#endif
