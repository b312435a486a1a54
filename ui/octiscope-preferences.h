/* The preferences window over the GSettings schema: style, colour map,
 * threads, device and the default results database. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_PREFERENCES (octiscope_preferences_get_type())
G_DECLARE_FINAL_TYPE(OctiscopePreferences, octiscope_preferences, OCTISCOPE, PREFERENCES, AdwPreferencesWindow)

OctiscopePreferences *octiscope_preferences_new(GtkWindow *parent, GSettings *settings);

G_END_DECLS
