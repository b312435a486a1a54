/* Thumbnails for the browser, decoded off the main thread (JPEG through DCT
 * scaling, datasets/image.h) and kept in a cache of the most recent few
 * thousand; label masks come as an RGBA overlay (class colours, background
 * and ignored pixels transparent or light). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_THUMBNAILER (octiscope_thumbnailer_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeThumbnailer, octiscope_thumbnailer, OCTISCOPE, THUMBNAILER, GObject)

/* A decoded thumbnail: RGB (h, w, 3) and, for an item with a label mask,
 * the labels resized to it (nearest), else NULL. */
typedef struct {
    int w, h;
    GBytes *rgb, *labels;
} OctiscopeThumb;

/* thumb is borrowed for the call (NULL on failure, with error the one-line reason). */
typedef void (*OctiscopeThumbnailFn)(const OctiscopeThumb *thumb, const char *error, gpointer user);

OctiscopeThumbnailer *octiscope_thumbnailer_new(int max_side, guint capacity);
/* Calls fn on the main loop (at once when cached). Cancelled requests call nothing. */
void octiscope_thumbnailer_request(OctiscopeThumbnailer *self, const char *image, const char *mask,
                                   GCancellable *cancellable, OctiscopeThumbnailFn fn, gpointer user);
guint octiscope_thumbnailer_cached(OctiscopeThumbnailer *self);

/* The thumbnail as shown: the photo with its labels blended at opacity. */
GdkTexture *octiscope_thumb_texture(const OctiscopeThumb *thumb, double opacity);

G_END_DECLS
