/* The Octiscope application: settings, the shared model library, the
 * light/dark style, the app actions (preferences, about, quit) and the files
 * given on the command line. */
#pragma once

#include <adwaita.h>

#include "octiscope-dataset-store.h"
#include "octiscope-model-store.h"
#include "octiscope-window.h"

G_BEGIN_DECLS

#define OCTISCOPE_APP_ID "org.octiscope.Octiscope"

#define OCTISCOPE_TYPE_APPLICATION (octiscope_application_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeApplication, octiscope_application, OCTISCOPE, APPLICATION, AdwApplication)

/* Call first in main(): when the program runs from its build folder, points
 * GSettings at the schema compiled there and the demo files at the build
 * and source trees (environment variables already set win). */
void octiscope_prepare_environment(void);

OctiscopeApplication *octiscope_application_new(GApplicationFlags flags);
GSettings *octiscope_application_get_settings(OctiscopeApplication *self);
OctiscopeModelStore *octiscope_application_get_store(OctiscopeApplication *self);
OctiscopeDatasetStore *octiscope_application_get_datasets(OctiscopeApplication *self);
/* Creates the main window if there is none. */
OctiscopeWindow *octiscope_application_get_window(OctiscopeApplication *self);

/* Where the demo models and data sets are ($OCTISCOPE_DEMO_MODELS,
 * $OCTISCOPE_DEMO_DATA, else the installed copies). */
const char *octiscope_demo_models_dir(void);
const char *octiscope_demo_data_dir(void);

G_END_DECLS
