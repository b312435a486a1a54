/* The browser: a thumbnail grid (GtkGridView) over a split of a data set,
 * with a class filter, a search in file names, lazily decoded thumbnails,
 * and, for segmentation sets, the label masks over the photos with an
 * adjustable opacity and a legend. "inspect" (path) asks for the selected
 * image in the inspector. */
#pragma once

#include <adwaita.h>

#include "octiscope-dataset-store.h"

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_BROWSER (octiscope_browser_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeBrowser, octiscope_browser, OCTISCOPE, BROWSER, AdwBin)

void octiscope_browser_set_store(OctiscopeBrowser *self, OctiscopeDatasetStore *store);
/* Shows a data set of the store (the default split: val when there is one). */
void octiscope_browser_show_dataset(OctiscopeBrowser *self, OctiscopeDatasetEntry *entry);
gboolean octiscope_browser_show_split(OctiscopeBrowser *self, const char *split);
/* The items shown (after the filter). */
GListModel *octiscope_browser_get_items(OctiscopeBrowser *self);
void octiscope_browser_set_filter(OctiscopeBrowser *self, int cls, const char *search);
void octiscope_browser_select(OctiscopeBrowser *self, guint position);
/* The selected image's path, or NULL. */
const char *octiscope_browser_get_selected_path(OctiscopeBrowser *self);
/* Emits "inspect" for the selected image. */
void octiscope_browser_inspect_selected(OctiscopeBrowser *self);
/* Thumbnails decoded so far (cached). */
guint octiscope_browser_get_thumbnails_cached(OctiscopeBrowser *self);
gboolean octiscope_browser_is_busy(OctiscopeBrowser *self);
/* The mask opacity (0..1). */
GtkAdjustment *octiscope_browser_get_opacity(OctiscopeBrowser *self);

G_END_DECLS
