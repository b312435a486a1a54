/* One evaluation run from start to end, as `octic eval` and the studio's
 * evaluation queue both launch it: the data set opened and checked against
 * the protocol, the model loaded on the chosen device, the model (with the
 * SHA-256 of its file) and the data set recorded in the results database,
 * the run's row with every parameter, the protocol run with progress and
 * cancel through callbacks, and the run marked done, failed or cancelled
 * with its message. (A run whose process dies is marked interrupted by the
 * next octic_db_open.) */
#ifndef OCTIC_RUNNER_H
#define OCTIC_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "protocols.h"
#include "results_db.h"

typedef enum {
    OCTIC_EVAL_KNN = 0, /* knn-dinov2 */
    OCTIC_EVAL_LINEAR,  /* linear-dinov2, or linear-cached when linear.augment is 0 */
    OCTIC_EVAL_SEG,     /* seg-capi */
} octic_eval_kind;

typedef struct {
    const char *model;            /* checkpoint (.pth or .safetensors) */
    int heads;                    /* 0: known from the file */
    const octic_backend *backend; /* where the model runs; NULL: the CPU */
    const char *data;             /* data set root */
    const char *train_split, *val_split; /* NULL: the set's first two splits */
    octic_eval_kind kind;
    /* the protocol's settings: the one of kind is used */
    octic_knn_protocol knn;
    octic_linear_protocol linear;
    octic_seg_protocol seg;
    int size, resize, batch_size; /* 224, 256, 32 */
    int threads;                  /* image decoding threads; 0: all CPUs */
    int seed;
    octic_subset subset;          /* applied to both splits */
    size_t subset_n;
    const char *subset_text;      /* as recorded ("first:100"); NULL: "all" */
    const char *db;               /* results database; NULL: the default one */
    const char *cache;            /* feature cache; NULL: the default one */
    const char *launched_by;      /* recorded as the parameter launched_by when not NULL */
    /* how messages name the evaluation: "eval" makes them "eval knn ... (use
     * eval seg)", as the command line says; NULL names the protocol */
    const char *command;
    /* called once the run's row exists */
    void (*started)(void *user, int64_t run_id, const char *protocol, const char *root);
    /* progress: a phase name, then (done, total) within it; a nonzero return
     * from progress cancels the run (recorded as cancelled) */
    void (*phase)(void *user, const char *name);
    int (*progress)(void *user, int64_t done, int64_t total);
    /* what the user should know of the run, once each (images skipped as
     * unreadable, k values larger than the train split left out); they are
     * also recorded as the run's message. May be NULL. */
    void (*note)(void *user, const char *text);
    void *user;
} octic_eval_run_request;

typedef struct {
    int64_t run_id;          /* the run's row; 0 when the run failed before it was recorded */
    octic_run_state state;   /* OCTIC_RUN_DONE, OCTIC_RUN_FAILED or OCTIC_RUN_CANCELLED */
    char protocol[24];       /* octic_eval_run_protocol's name */
    int model_failed;        /* the failure was loading the model */
    octic_eval_results results; /* when done; free with octic_eval_results_free */
    int chunks_reused, chunks_computed; /* feature chunks found in the cache and computed */
    /* 1: the evaluation finished but its results could not be recorded (a
     * full disk): they are in results all the same, for the caller to show */
    int unsaved;
    char notes[1024];        /* what the note callback said, "; " between (also the run's message) */
} octic_eval_run_outcome;

/* The defaults of every field: the published protocols, 224 px crops of 256,
 * batches of 32, every image, the default database and cache, the CPU. */
void octic_eval_run_request_defaults(octic_eval_run_request *r, octic_eval_kind kind);

/* The name the run is recorded under: "knn-dinov2", "linear-cached",
 * "linear-dinov2" or "seg-capi" with the published settings (the papers'
 * protocols, whose numbers can stand beside theirs), the same with
 * "-custom" after it when a setting that changes the numbers differs (a
 * subset, another image size, other k, learning rates, epochs, C...), so
 * that the two are never mixed under one name. */
const char *octic_eval_run_protocol(const octic_eval_run_request *r);
/* 1 when every such setting is the published one. */
int octic_eval_run_is_reference(const octic_eval_run_request *r);

/* Runs the evaluation and records it. On failure the run (when it was
 * recorded) is marked failed or cancelled with the message; the status and
 * octic_last_error() say why, naming the file. The outcome's results are
 * filled when the run is done; free them also after a failure. */
octic_status octic_eval_run(const octic_eval_run_request *r, octic_eval_run_outcome *out);

#endif
