/* The dialog that launches evaluations: models from the library (one run
 * each), a data set, a protocol (k-NN, linear on cached features or the
 * augmented DINOv2 linear protocol, segmentation), a subset size and the
 * protocol's settings.
 * "queue" hands the requests over (a GPtrArray of OctiscopeEvalJob). */
#pragma once

#include <adwaita.h>

#include "evaluation.h"
#include "octiscope-dataset-store.h"
#include "octiscope-model-store.h"

G_BEGIN_DECLS

/* One queued evaluation: the request and the strings it points to. */
typedef struct {
    octiscope_eval_request request;
    char *model, *data, *title; /* title: "k-NN · Demo hybrid … · imagenet" */
} OctiscopeEvalJob;

OctiscopeEvalJob *octiscope_eval_job_new(const char *model, int heads, const char *model_title, const char *data,
                                         octiscope_eval_protocol protocol, size_t subset, const int *ks, int n_ks);
/* Copies the protocol settings of `settings` (temperature, learning rates,
 * schedule, C grid, segmentation k values; 0: the default) into the job. */
void octiscope_eval_job_set_settings(OctiscopeEvalJob *job, const octiscope_eval_request *settings);
void octiscope_eval_job_free(OctiscopeEvalJob *job);

#define OCTISCOPE_TYPE_EVAL_DIALOG (octiscope_eval_dialog_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeEvalDialog, octiscope_eval_dialog, OCTISCOPE, EVAL_DIALOG, AdwWindow)

OctiscopeEvalDialog *octiscope_eval_dialog_new(GtkWindow *parent, OctiscopeModelStore *models,
                                               OctiscopeDatasetStore *datasets);
/* Chooses the protocol (and shows its settings), as the protocol row does. */
void octiscope_eval_dialog_set_protocol(OctiscopeEvalDialog *self, octiscope_eval_protocol protocol);

G_END_DECLS
