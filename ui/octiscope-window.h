/* The main window: header bar with the main actions, the view switcher
 * (Library, Browser, Inspector, Evaluations), toasts for errors, and the
 * file choosers and drops that add models and open images. */
#pragma once

#include <adwaita.h>

#include "octiscope-browser.h"
#include "octiscope-dataset-store.h"
#include "octiscope-evaluations.h"
#include "octiscope-inspector.h"
#include "octiscope-library-page.h"
#include "octiscope-model-store.h"

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_WINDOW (octiscope_window_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeWindow, octiscope_window, OCTISCOPE, WINDOW, AdwApplicationWindow)

OctiscopeWindow *octiscope_window_new(GtkApplication *app, OctiscopeModelStore *store, OctiscopeDatasetStore *datasets,
                                     GSettings *settings);
/* A toast naming the problem (the message as the engine wrote it). */
void octiscope_window_show_error(OctiscopeWindow *self, const char *message);
/* Opens what a file is: a checkpoint goes to the library, an image to the inspector. */
void octiscope_window_open_file(OctiscopeWindow *self, GFile *file);
/* "library", "browser", "inspector" or "evaluations". */
void octiscope_window_show_page(OctiscopeWindow *self, const char *name);
OctiscopeInspector *octiscope_window_get_inspector(OctiscopeWindow *self);
OctiscopeLibraryPage *octiscope_window_get_library_page(OctiscopeWindow *self);
OctiscopeBrowser *octiscope_window_get_browser(OctiscopeWindow *self);
OctiscopeEvaluations *octiscope_window_get_evaluations(OctiscopeWindow *self);
/* The question shown when the window is closed while runs run or wait
 * (an AdwMessageDialog), or NULL. */
GtkWidget *octiscope_window_get_close_dialog(OctiscopeWindow *self);

G_END_DECLS
