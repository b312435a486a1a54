/* The studio's data sets: a GListModel of OctiscopeDatasetEntry remembered
 * in GSettings ("datasets"), with the demo data sets (ImageNet and VOC
 * layouts) added on the first start ("demo-datasets-added"). */
#pragma once

#include <gio/gio.h>

#include "octiscope-dataset-entry.h"

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_DATASET_STORE (octiscope_dataset_store_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeDatasetStore, octiscope_dataset_store, OCTISCOPE, DATASET_STORE, GObject)

/* settings may be NULL; demo_dir: the folder holding the demo data sets, or NULL. */
OctiscopeDatasetStore *octiscope_dataset_store_new(GSettings *settings, const char *demo_dir);
/* Adds a root folder (an already listed one returns its entry). */
OctiscopeDatasetEntry *octiscope_dataset_store_add(OctiscopeDatasetStore *self, const char *root);
void octiscope_dataset_store_remove(OctiscopeDatasetStore *self, guint position);
/* Puts back the latest data set removed with that root, in its place, opened
 * again (a removed set's index of files is not kept), unless the root was
 * added again since; returns its entry (owned by the store), or NULL. */
OctiscopeDatasetEntry *octiscope_dataset_store_restore(OctiscopeDatasetStore *self, const char *root);
OctiscopeDatasetEntry *octiscope_dataset_store_find(OctiscopeDatasetStore *self, const char *root, guint *position);

G_END_DECLS
