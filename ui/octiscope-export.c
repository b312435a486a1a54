/* Pictures out of the studio (see octiscope-export.h). */
#include "octiscope-export.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

GdkTexture *octiscope_widget_render(GtkWidget *widget) {
    g_return_val_if_fail(GTK_IS_WIDGET(widget), NULL);
    int w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
    GtkNative *native = gtk_widget_get_native(widget);
    if (w <= 0 || h <= 0 || !native || !gtk_widget_get_mapped(widget)) return NULL;
    GdkRGBA bg = {1, 1, 1, 1};
    gtk_style_context_lookup_color(gtk_widget_get_style_context(widget), "window_bg_color", &bg);
    g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new(widget);
    GtkSnapshot *snap = gtk_snapshot_new();
    gtk_snapshot_append_color(snap, &bg, &GRAPHENE_RECT_INIT(0, 0, w, h));
    gdk_paintable_snapshot(paintable, snap, w, h);
    GskRenderNode *node = gtk_snapshot_free_to_node(snap);
    if (!node) return NULL;
    GdkTexture *texture = gsk_renderer_render_texture(gtk_native_get_renderer(native), node,
                                                      &GRAPHENE_RECT_INIT(0, 0, w, h));
    gsk_render_node_unref(node);
    return texture;
}

gboolean octiscope_write_file(const char *path, const void *data, size_t len, GError **error) {
    g_autofree char *tmp = g_strconcat(path, ".part", NULL);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int e = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "%s: cannot write: %s", path, g_strerror(e));
        return FALSE;
    }
    size_t put = fwrite(data, 1, len, f);
    int e = put == len ? 0 : errno;
    if (fflush(f) != 0 && !e) e = errno;
    if (fsync(fileno(f)) != 0 && !e) e = errno;
    if (fclose(f) != 0 && !e) e = errno;
    if (!e && rename(tmp, path) != 0) e = errno;
    if (e) {
        remove(tmp);
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), "%s: cannot write: %s", path, g_strerror(e));
        return FALSE;
    }
    return TRUE;
}

gboolean octiscope_widget_save_png(GtkWidget *widget, const char *path, GError **error) {
    g_autoptr(GdkTexture) texture = octiscope_widget_render(widget);
    if (!texture) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED, "%s: nothing to export: the picture is not shown",
                    path);
        return FALSE;
    }
    g_autoptr(GBytes) png = gdk_texture_save_to_png_bytes(texture);
    gsize len = 0;
    const void *data = png ? g_bytes_get_data(png, &len) : NULL;
    if (!data) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot encode the picture as PNG", path);
        return FALSE;
    }
    return octiscope_write_file(path, data, len, error);
}
