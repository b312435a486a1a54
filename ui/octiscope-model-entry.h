/* One checkpoint in the studio's library: its path, what the engine inferred
 * about it (family, kind, size, cost), and the model once loaded.
 *
 * The description is probed in the background when the entry is added
 * (octiscope_model_entry_probe_async); the weights are loaded on first use
 * by a worker thread (octiscope_model_entry_lock_model), and one analysis at
 * a time runs on them. */
#pragma once

#include <gio/gio.h>

#include "model.h"

G_BEGIN_DECLS

typedef enum {
    OCTISCOPE_MODEL_PROBING,     /* reading the description */
    OCTISCOPE_MODEL_READY,       /* the description is known */
    OCTISCOPE_MODEL_NEEDS_HEADS, /* a .pth of an unpublished shape: the number of heads must be given */
    OCTISCOPE_MODEL_FAILED,      /* the file cannot be used; see the error property */
} OctiscopeModelState;

#define OCTISCOPE_TYPE_MODEL_ENTRY (octiscope_model_entry_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeModelEntry, octiscope_model_entry, OCTISCOPE, MODEL_ENTRY, GObject)

OctiscopeModelEntry *octiscope_model_entry_new(const char *path, int heads, gboolean demo);

const char *octiscope_model_entry_get_path(OctiscopeModelEntry *self);
/* The title stored in the file's metadata, else the file name. */
const char *octiscope_model_entry_get_title(OctiscopeModelEntry *self);
OctiscopeModelState octiscope_model_entry_get_state(OctiscopeModelEntry *self);
/* The one-line reason when FAILED or NEEDS_HEADS, else NULL. */
const char *octiscope_model_entry_get_error(OctiscopeModelEntry *self);
/* 0 when the heads come from the file or a published architecture. */
int octiscope_model_entry_get_heads(OctiscopeModelEntry *self);
gboolean octiscope_model_entry_get_demo(OctiscopeModelEntry *self);
/* The inferred description (valid when READY). */
const octic_config *octiscope_model_entry_get_config(OctiscopeModelEntry *self);
gint64 octiscope_model_entry_get_params(OctiscopeModelEntry *self);
double octiscope_model_entry_get_gflops(OctiscopeModelEntry *self);

/* Reads the description in a worker thread; the entry's properties change on
 * the main loop when it is done. Setting heads (> 0) probes again. */
void octiscope_model_entry_probe_async(OctiscopeModelEntry *self);
void octiscope_model_entry_set_heads(OctiscopeModelEntry *self, int heads);

/* For worker threads: loads the weights if needed and returns the model with
 * the entry's lock held (NULL with error set on failure, the lock released).
 * Release with octiscope_model_entry_unlock_model. */
octic_model *octiscope_model_entry_lock_model(OctiscopeModelEntry *self, GError **error);
void octiscope_model_entry_unlock_model(OctiscopeModelEntry *self);
/* Frees the loaded weights (a model taken out of the library), now or, when
 * a worker uses them, as it unlocks; the next lock_model loads them again. */
void octiscope_model_entry_drop_weights(OctiscopeModelEntry *self);
/* Whether the weights are loaded (waits for a worker using them). */
gboolean octiscope_model_entry_has_weights(OctiscopeModelEntry *self);

/* GError domain for engine failures (the code is the octic_status). */
#define OCTISCOPE_ENGINE_ERROR (octiscope_engine_error_quark())
GQuark octiscope_engine_error_quark(void);

G_END_DECLS
