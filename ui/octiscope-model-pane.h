/* One model's column of the inspector: the feature maps of the eight copies
 * at the chosen block (as computed and pulled back), the equivariance and
 * energy plots, the class-token attention per head and the top-5 classes.
 *
 * The model runs in a worker thread (GTask + GCancellable); a newer request
 * cancels the older one and stale results are dropped. "finished" is emitted
 * on the main loop when a run ends (successfully or not). */
#pragma once

#include <adwaita.h>

#include "analysis.h"
#include "octiscope-model-entry.h"
#include "octiscope-plot.h"

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_MODEL_PANE (octiscope_model_pane_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeModelPane, octiscope_model_pane, OCTISCOPE, MODEL_PANE, AdwBin)

/* image: (3, S, S) float32 in [0, 1] (GBytes of 3*S*S floats); entry or
 * image NULL clears. Starts a run when both are set. */
void octiscope_model_pane_run(OctiscopeModelPane *self, OctiscopeModelEntry *entry, GBytes *image, int S);
/* Stops any run and shows message under entry's name instead of results. */
void octiscope_model_pane_show_message(OctiscopeModelPane *self, OctiscopeModelEntry *entry, const char *message);
OctiscopeModelEntry *octiscope_model_pane_get_entry(OctiscopeModelPane *self);
gboolean octiscope_model_pane_is_running(OctiscopeModelPane *self);
/* The finished analysis, or NULL (running, failed, nothing to run). */
const octiscope_analysis *octiscope_model_pane_get_analysis(OctiscopeModelPane *self);
/* The error of the last run, or NULL. */
const char *octiscope_model_pane_get_error(OctiscopeModelPane *self);

/* Which block output is shown (clamped to the model's), which copy's
 * attention, the colour map of attention maps. */
void octiscope_model_pane_set_block(OctiscopeModelPane *self, int block);
void octiscope_model_pane_set_copy(OctiscopeModelPane *self, int g);
void octiscope_model_pane_set_cmap(OctiscopeModelPane *self, octiscope_cmap cmap);

/* The strips as shown (for tests and export). */
GtkWidget *octiscope_model_pane_get_pulled_strip(OctiscopeModelPane *self);
GtkWidget *octiscope_model_pane_get_computed_strip(OctiscopeModelPane *self);
/* The equivariance chart (the inspector puts two side by side on one scale). */
OctiscopePlot *octiscope_model_pane_get_equivariance_plot(OctiscopeModelPane *self);

/* Writes prefix-{computed,pulled,equivariance,energy,attention}.png and
 * prefix-{equivariance,energy,top5}.csv into dir (what the model has). */
gboolean octiscope_model_pane_export(OctiscopeModelPane *self, const char *dir, const char *prefix, GError **error);

G_END_DECLS
