/* The results database: every evaluation Octiscope runs, in one SQLite file.
 *
 * Tables (schema version OCTIC_DB_SCHEMA_VERSION, kept in PRAGMA user_version;
 * the README's "Results database" section documents them for sqlite3 users):
 *   models        one row per checkpoint content (SHA-256), its architecture,
 *                 parameters and GFLOPs at 224
 *   checkpoints   the paths a model was seen at (path, size, mtime): also the
 *                 cache that spares re-hashing an unchanged file
 *   datasets      data set roots and their kind
 *   runs          one evaluation: protocol, state, start/end, machine, engine
 *   run_params    every parameter of a run, as text
 *   metrics       the run's numbers (name, value)
 *   trials        hyper-parameter trials (classifier, setting, metric, value)
 *   class_results per-class numbers (IoU per class, ...)
 *
 * The file is opened in WAL mode with foreign keys on and a busy timeout, so
 * several processes can write it at once; every logical write (a new run, a
 * finished run with all its numbers) is one IMMEDIATE transaction, so a
 * failure (read-only file, full disk, killed process) leaves no partial rows.
 * Runs left "running" by a process that no longer exists are marked
 * "interrupted" when the database is opened.
 *
 * Errors go through engine/error.h: one line naming the database file. */
#ifndef OCTIC_RESULTS_DB_H
#define OCTIC_RESULTS_DB_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define OCTIC_DB_SCHEMA_VERSION 1

typedef struct octic_db octic_db;

/* $XDG_DATA_HOME/octiscope/results.sqlite, or ~/.local/share/octiscope/... */
octic_status octic_db_default_path(char *buf, size_t len);

/* Opens (creating the file and the schema when absent, and the folders of
 * the default database; another path's folder must exist; applying
 * migrations when older). A database written by a newer schema is refused.
 * Marks stale running runs interrupted. */
octic_status octic_db_open(const char *path, octic_db **out);
/* Whether the folder that would hold the database at path exists. */
int octic_db_folder_exists(const char *path);
/* For reading: a database that exists and holds tables (else
 * OCTIC_ERR_MISSING: no file, or an empty one, which is left as it is),
 * opened as octic_db_open does, or where this process may not write the
 * file or its folder (another user's database, a read-only mount),
 * read-only, as it is (no upgrade, no runs marked interrupted). */
octic_status octic_db_open_read(const char *path, octic_db **out);
void octic_db_close(octic_db *db);
const char *octic_db_path(const octic_db *db);
/* "ok" from PRAGMA integrity_check, else the first problem, into buf. */
octic_status octic_db_integrity(octic_db *db, char *buf, size_t len);
/* PRAGMA user_version of the open file. */
int octic_db_schema_version(octic_db *db);

/* ---- models ---------------------------------------------------------------- */

/* SHA-256 of a file's content as 64 lowercase hex digits. */
octic_status octic_sha256_file(const char *path, char hex[65]);

typedef struct {
    const char *sha256;       /* content hash */
    const char *architecture; /* published name or a description */
    const char *family, *kind;
    int depth, dim, heads, patch;
    int64_t params;
    double gflops;            /* at 224 x 224 */
    const char *path;         /* where it was seen */
    int64_t size, mtime;      /* of that file */
} octic_db_model;

/* Inserts or finds the model by hash and records the path; *id its row. */
octic_status octic_db_add_model(octic_db *db, const octic_db_model *m, int64_t *id);
/* The hash recorded for (path, size, mtime), if any: returns 1 and fills hex. */
int octic_db_cached_hash(octic_db *db, const char *path, int64_t size, int64_t mtime, char hex[65]);
/* Hashes path (or takes the cached hash when size and mtime are unchanged). */
octic_status octic_db_hash_file(octic_db *db, const char *path, char hex[65]);

octic_status octic_db_add_dataset(octic_db *db, const char *name, const char *root, const char *kind,
                                  int classes, int64_t *id);

/* ---- runs ------------------------------------------------------------------- */

typedef enum {
    OCTIC_RUN_QUEUED = 0,
    OCTIC_RUN_RUNNING,
    OCTIC_RUN_DONE,
    OCTIC_RUN_FAILED,
    OCTIC_RUN_INTERRUPTED,
    OCTIC_RUN_CANCELLED,
} octic_run_state;

const char *octic_run_state_name(octic_run_state s);

typedef struct {
    const char *name;
    const char *value;
} octic_db_param;

typedef struct {
    const char *name;
    double value;
} octic_db_metric;

typedef struct {
    const char *classifier; /* "knn", "logreg", "linear" */
    const char *setting;    /* "k=20 distance=cosine" */
    const char *metric;     /* what was measured: "mIoU", "top1" */
    double value;
    int selected;           /* the setting that was kept */
} octic_db_trial;

typedef struct {
    const char *classifier;
    int class_index;
    const char *class_name; /* may be NULL */
    const char *metric;     /* "IoU" */
    double value;
} octic_db_class_result;

/* A new run (state running, started now, this process and machine) with all
 * its parameters: one transaction. dataset_id 0 = none. */
octic_status octic_db_start_run(octic_db *db, int64_t model_id, int64_t dataset_id, const char *protocol,
                                const octic_db_param *params, int n_params, int64_t *run_id);
/* Every number of a finished run, its state done and its message (what
 * the user should know of it, such as images skipped; NULL: none): one
 * transaction. */
octic_status octic_db_finish_run(octic_db *db, int64_t run_id, const octic_db_metric *metrics, int n_metrics,
                                 const octic_db_trial *trials, int n_trials,
                                 const octic_db_class_result *classes, int n_classes, const char *message);
/* A setting that changed once the run had started (k-NN's ks, fitted to
 * the train images that could be read): its protocol name and one
 * parameter, set (or added): one transaction. */
octic_status octic_db_set_setting(octic_db *db, int64_t run_id, const char *protocol, const char *name,
                                  const char *value);
/* Sets a run's state (failed, cancelled, ...), its end time and message. */
octic_status octic_db_set_state(octic_db *db, int64_t run_id, octic_run_state state, const char *message);
/* Deletes a run and everything under it. */
octic_status octic_db_delete_run(octic_db *db, int64_t run_id);

/* ---- reading ---------------------------------------------------------------- */

typedef struct {
    int64_t id;
    char protocol[64];
    char state[16];
    char model[128];      /* architecture */
    char sha256[65];
    char checkpoint[512]; /* a path the model was seen at */
    char dataset[128];
    char started[32], ended[32];
    char machine[128], engine[64];
    char message[1200];
} octic_db_run_info;

/* Runs, newest first; protocol may be NULL (all). *out malloc'd. */
octic_status octic_db_list_runs(octic_db *db, const char *protocol, octic_db_run_info **out, int *n);
octic_status octic_db_get_run(octic_db *db, int64_t run_id, octic_db_run_info *out);

typedef struct {
    char name[64];
    char text[512];   /* parameters, settings, class names */
    char extra[64];   /* trial metric / per-class metric / classifier */
    double value;
    int index;        /* class index, or trial "selected" */
} octic_db_row;

typedef enum { OCTIC_DB_PARAMS, OCTIC_DB_METRICS, OCTIC_DB_TRIALS, OCTIC_DB_CLASSES } octic_db_table;
/* The rows of one table for a run, in insertion order. *out malloc'd.
 * PARAMS: name, text=value. METRICS: name, value. TRIALS: name=classifier,
 * text=setting, extra=metric, value, index=selected. CLASSES: name=classifier,
 * text=class name, extra=metric, index=class, value. */
octic_status octic_db_run_rows(octic_db *db, int64_t run_id, octic_db_table table, octic_db_row **out, int *n);

#endif
