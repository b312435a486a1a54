/* The inspector: one image in its eight transformed copies, through one
 * model or two side by side (two OctiscopeModelPane), at a block chosen
 * with a slider on which the break is marked. */
#pragma once

#include <adwaita.h>

#include "octiscope-model-pane.h"
#include "octiscope-model-store.h"

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_INSPECTOR (octiscope_inspector_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeInspector, octiscope_inspector, OCTISCOPE, INSPECTOR, AdwBin)

/* The side of the square the models see (the reference's centre crop). */
#define OCTISCOPE_INPUT_SIZE 224

void octiscope_inspector_set_store(OctiscopeInspector *self, OctiscopeModelStore *store);
/* Loads and preprocesses the image off the main thread (resize the shorter
 * side to 256, centre crop 224), then runs the models. Failures are emitted
 * as "error" with a one-line message naming the file. */
void octiscope_inspector_open_image(OctiscopeInspector *self, const char *path);
const char *octiscope_inspector_get_image_path(OctiscopeInspector *self);
/* Chooses the models (b NULL: one model). */
void octiscope_inspector_set_models(OctiscopeInspector *self, OctiscopeModelEntry *a, OctiscopeModelEntry *b);
void octiscope_inspector_set_block(OctiscopeInspector *self, int block);
int octiscope_inspector_get_block(OctiscopeInspector *self);
void octiscope_inspector_step_block(OctiscopeInspector *self, int delta);
void octiscope_inspector_set_cmap(OctiscopeInspector *self, octiscope_cmap cmap);
/* 0: left, 1: right. */
OctiscopeModelPane *octiscope_inspector_get_pane(OctiscopeInspector *self, int i);
/* Whether a model run or the image load is under way. */
gboolean octiscope_inspector_is_busy(OctiscopeInspector *self);
/* What an export's file names begin with: the image's name without its
 * extension, then the block ("photo-block3", "photo-embedding"). */
char *octiscope_inspector_export_prefix(OctiscopeInspector *self);
/* Writes PREFIX-copies.png, and the pictures and CSVs of each model that
 * finished (PREFIX-A-hybrid-pulled.png...; *models of them: a model that
 * failed or still runs has none) into dir. */
gboolean octiscope_inspector_export(OctiscopeInspector *self, const char *dir, int *models, GError **error);

G_END_DECLS
