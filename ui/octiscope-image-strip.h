/* A row of equally sized square pictures with a caption under each: the
 * eight transformed copies, their feature maps, the attention maps of the
 * heads. Clicking a picture selects it ("activated"). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define OCTISCOPE_TYPE_IMAGE_STRIP (octiscope_image_strip_get_type())
G_DECLARE_FINAL_TYPE(OctiscopeImageStrip, octiscope_image_strip, OCTISCOPE, IMAGE_STRIP, GtkWidget)

GtkWidget *octiscope_image_strip_new(void);
/* Takes references to the n textures; captions may be NULL. n = 0 clears. */
void octiscope_image_strip_set_images(OctiscopeImageStrip *self, guint n, GdkTexture *const *textures,
                                      const char *const *captions);
guint octiscope_image_strip_get_n_images(OctiscopeImageStrip *self);
GdkTexture *octiscope_image_strip_get_texture(OctiscopeImageStrip *self, guint i);
/* -1: none. */
void octiscope_image_strip_set_selected(OctiscopeImageStrip *self, int i);
int octiscope_image_strip_get_selected(OctiscopeImageStrip *self);
/* Cells per row (0: all in one row). */
void octiscope_image_strip_set_columns(OctiscopeImageStrip *self, guint columns);

/* An RGB image (h, w, 3) as a texture. */
GdkTexture *octiscope_texture_from_rgb(const guint8 *rgb, int w, int h);

G_END_DECLS
