/* The library: the models (a sortable table of what the engine inferred
 * about each checkpoint) and, below, the data sets. Signals:
 * "inspect" (entry, compare): open the model in the inspector, beside the
 * current one when compare; "ask-heads" (entry): the number of heads is
 * needed; "browse" (data set entry): show the data set in the browser;
 * "removed" (is_dataset, path or root, title): a model or a data set was
 * taken out of the library (the files stay); its store can put it back. */
#pragma once

#include <adwaita.h>

#include "octiscope-dataset-store.h"
#include "octiscope-model-store.h"

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_LIBRARY_PAGE (octiscope_library_page_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeLibraryPage, octiscope_library_page, OCTISCOPE, LIBRARY_PAGE, AdwBin)

void octiscope_library_page_set_store(OctiscopeLibraryPage *self, OctiscopeModelStore *store);
/* The selected entry, or NULL. */
OctiscopeModelEntry *octiscope_library_page_get_selected(OctiscopeLibraryPage *self);
/* Selects the entry's row (nothing when it is not listed). */
void octiscope_library_page_select(OctiscopeLibraryPage *self, OctiscopeModelEntry *entry);
void octiscope_library_page_set_dataset_store(OctiscopeLibraryPage *self, OctiscopeDatasetStore *store);

G_END_DECLS
