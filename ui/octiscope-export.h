/* Pictures out of the studio: any widget as the PNG of what it shows (on the
 * window's background colour), and engine errors as GErrors. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Renders the widget at its current size; FALSE with error set when it is
 * not shown or the file cannot be written. */
gboolean octiscope_widget_save_png(GtkWidget *widget, const char *path, GError **error);
/* Writes len bytes to path whole or not at all (a file beside it, then a
 * rename); FALSE with error set naming path and the system's reason. */
gboolean octiscope_write_file(const char *path, const void *data, size_t len, GError **error);
/* The widget rendered to a texture (NULL when it is not shown). */
GdkTexture *octiscope_widget_render(GtkWidget *widget);

G_END_DECLS
