/* One data set in the studio's library: its root folder and, once opened in
 * a worker thread (datasets/dataset.h), its layout, splits, classes and
 * counts. The opened octic_dataset is immutable: any thread may read it. */
#pragma once

#include <gio/gio.h>

#include "dataset.h"

G_BEGIN_DECLS

typedef enum {
    OCTISCOPE_DATASET_OPENING,
    OCTISCOPE_DATASET_READY,
    OCTISCOPE_DATASET_FAILED,
} OctiscopeDatasetState;

#define OCTISCOPE_TYPE_DATASET_ENTRY (octiscope_dataset_entry_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeDatasetEntry, octiscope_dataset_entry, OCTISCOPE, DATASET_ENTRY, GObject)

/* Starts opening the folder in a worker; "state" changes on the main loop. */
OctiscopeDatasetEntry *octiscope_dataset_entry_new(const char *root, gboolean demo);
/* Whether it is one of the bundled demo sets. */
gboolean octiscope_dataset_entry_get_demo(OctiscopeDatasetEntry *self);
const char *octiscope_dataset_entry_get_root(OctiscopeDatasetEntry *self);
const char *octiscope_dataset_entry_get_title(OctiscopeDatasetEntry *self);
OctiscopeDatasetState octiscope_dataset_entry_get_state(OctiscopeDatasetEntry *self);
const char *octiscope_dataset_entry_get_error(OctiscopeDatasetEntry *self);
/* "ImageNet · train 4, val 3, test 3 · 3 classes" (or the state). */
const char *octiscope_dataset_entry_get_summary(OctiscopeDatasetEntry *self);
/* The opened data set (READY), else NULL; owned by the entry. */
const octic_dataset *octiscope_dataset_entry_get_dataset(OctiscopeDatasetEntry *self);

G_END_DECLS
