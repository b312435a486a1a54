/* File choosers as the studio shows them. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Shows the chooser modal to its parent, with on_response (a "response"
 * handler) bound to owner: not called once owner is gone (a window closed
 * while its chooser was open). The chooser is freed after its response
 * either way; the handler must not free it. */
void octiscope_chooser_show(GtkFileChooserNative *chooser, GCallback on_response, gpointer owner);

G_END_DECLS
