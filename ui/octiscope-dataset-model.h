/* The items of one split of a data set as a GListModel for the browser's
 * grid, filtered by class and by a search in the file names. Items are made
 * when asked for (a split of 1.28 M entries costs one index array, or none
 * unfiltered); the filter runs in a worker thread and replaces the list when
 * done. */
#pragma once

#include <gio/gio.h>

#include "octiscope-dataset-entry.h"

G_BEGIN_DECLS

/* ---- one item -------------------------------------------------------------- */

#define OCTISCOPE_TYPE_DATASET_ITEM (octiscope_dataset_item_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeDatasetItem, octiscope_dataset_item, OCTISCOPE, DATASET_ITEM, GObject)

/* The item's position in its split. */
gsize octiscope_dataset_item_get_index(OctiscopeDatasetItem *self);
const char *octiscope_dataset_item_get_image(OctiscopeDatasetItem *self);
const char *octiscope_dataset_item_get_mask(OctiscopeDatasetItem *self); /* NULL: none */
int octiscope_dataset_item_get_label(OctiscopeDatasetItem *self);         /* -1: none */
const char *octiscope_dataset_item_get_name(OctiscopeDatasetItem *self);  /* the file name */

/* ---- the list ---------------------------------------------------------------- */

#define OCTISCOPE_TYPE_DATASET_MODEL (octiscope_dataset_model_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeDatasetModel, octiscope_dataset_model, OCTISCOPE, DATASET_MODEL, GObject)

/* entry must be READY. */
OctiscopeDatasetModel *octiscope_dataset_model_new(OctiscopeDatasetEntry *entry, int split);
/* Shows another split (of this or another READY entry), unfiltered. */
void octiscope_dataset_model_set_split(OctiscopeDatasetModel *self, OctiscopeDatasetEntry *entry, int split);
OctiscopeDatasetEntry *octiscope_dataset_model_get_entry(OctiscopeDatasetModel *self);
int octiscope_dataset_model_get_split(OctiscopeDatasetModel *self);
/* cls -1: every class; search NULL or "": every name (case-insensitive
 * substring of the file name). "filtered" is emitted when the list shows it.
 * A new list replaces the old one in two changes: the new items are added
 * in front, "replacing" is emitted, then the old items are removed (a grid
 * that moves to the top on "replacing" rebinds its cells to the new items
 * instead of making new ones). */
void octiscope_dataset_model_set_filter(OctiscopeDatasetModel *self, int cls, const char *search);
gboolean octiscope_dataset_model_is_filtering(OctiscopeDatasetModel *self);
gsize octiscope_dataset_model_get_total(OctiscopeDatasetModel *self);

G_END_DECLS
