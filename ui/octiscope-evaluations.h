/* The evaluations view: a queue of evaluations run one after the other in a
 * worker thread (progress, ETA, cancel; a failed run says why), and the
 * results database as a sortable table with filters, the numbers of the
 * selected run (per-class IoU for segmentation), a compare mode laying out
 * hybrid, invariant and standard with deltas and bars, and CSV export.
 * Signals: "error" (message), "notice" (message: an export written),
 * "finished" (the queue is empty). */
#pragma once

#include <adwaita.h>

#include "octiscope-eval-dialog.h"

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_EVALUATIONS (octiscope_evaluations_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeEvaluations, octiscope_evaluations, OCTISCOPE, EVALUATIONS, AdwBin)

/* The results database (NULL or "": the default one). Reads it again. */
void octiscope_evaluations_set_database(OctiscopeEvaluations *self, const char *path);
const char *octiscope_evaluations_get_database(OctiscopeEvaluations *self);
/* Takes the jobs (steals them from the array) and runs them in turn. */
void octiscope_evaluations_queue(OctiscopeEvaluations *self, GPtrArray *jobs);
/* Reads the runs again (in a worker). */
void octiscope_evaluations_refresh(OctiscopeEvaluations *self);
/* Drops the queued runs and asks the running one to stop (it is recorded as
 * cancelled); TRUE while it has not stopped yet ("finished" is emitted when
 * it has). */
gboolean octiscope_evaluations_cancel_all(OctiscopeEvaluations *self);
gboolean octiscope_evaluations_is_busy(OctiscopeEvaluations *self);
/* The running and queued runs in words ("“k-NN · hybrid · demo” is running;
 * 2 more are queued"), or NULL when there are none; *n_queued: how many wait. */
char *octiscope_evaluations_describe_runs(OctiscopeEvaluations *self, guint *n_queued);
/* The runs shown (OctiscopeRunItem), after the filters. */
GListModel *octiscope_evaluations_get_runs(OctiscopeEvaluations *self);
void octiscope_evaluations_select(OctiscopeEvaluations *self, guint position);
void octiscope_evaluations_set_compare(OctiscopeEvaluations *self, gboolean compare);
/* The runs shown as CSV, in the table's order, with the checkpoint's path and sha256. */
gboolean octiscope_evaluations_export(OctiscopeEvaluations *self, const char *path, GError **error);

G_END_DECLS
