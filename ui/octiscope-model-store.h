/* The studio's library of models: a GListModel of OctiscopeModelEntry,
 * remembered in GSettings ("models": paths and heads) and, on the first
 * start ("demo-added" false), filled with the bundled demo models. */
#pragma once

#include <gio/gio.h>

#include "octiscope-model-entry.h"

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_MODEL_STORE (octiscope_model_store_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeModelStore, octiscope_model_store, OCTISCOPE, MODEL_STORE, GObject)

/* settings: an org.octiscope.Octiscope GSettings (the store keeps a
 * reference); demo_dir: the folder of the demo models, or NULL. Every entry
 * is probed in the background. */
OctiscopeModelStore *octiscope_model_store_new(GSettings *settings, const char *demo_dir);

/* Adds a checkpoint (heads 0: from the file). Returns the entry (owned by
 * the store); an already listed path returns its entry and adds nothing. */
OctiscopeModelEntry *octiscope_model_store_add(OctiscopeModelStore *self, const char *path, int heads);
void octiscope_model_store_remove(OctiscopeModelStore *self, guint position);
/* Puts back the latest entry removed with that path, as it was (its state,
 * its place in the list), unless the path was added again since; returns it
 * (owned by the store), or NULL. */
OctiscopeModelEntry *octiscope_model_store_restore(OctiscopeModelStore *self, const char *path);
/* The entry of a path, or NULL; *position set when found (may be NULL). */
OctiscopeModelEntry *octiscope_model_store_find(OctiscopeModelStore *self, const char *path, guint *position);
/* The first READY entry of a kind, or NULL. */
OctiscopeModelEntry *octiscope_model_store_find_kind(OctiscopeModelStore *self, octic_kind kind);
/* Writes the list back to GSettings (done by add, remove and heads changes). */
void octiscope_model_store_save(OctiscopeModelStore *self);

/* The demo model files in the order hybrid, invariant, standard. */
extern const char *const octiscope_demo_model_files[3];

G_END_DECLS
