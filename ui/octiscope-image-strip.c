/* A row of square pictures with captions (see octiscope-image-strip.h). */
#include "octiscope-image-strip.h"

#define GAP 6
#define MAX_CELL 160
#define MIN_CELL 40

struct _OctiscopeImageStrip {
    GtkWidget parent_instance;
    GPtrArray *textures; /* GdkTexture */
    GPtrArray *captions; /* char* */
    int selected;
    guint columns;
};

G_DEFINE_TYPE(OctiscopeImageStrip, octiscope_image_strip, GTK_TYPE_WIDGET)

enum { SIGNAL_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

static guint columns_of(OctiscopeImageStrip *self) {
    guint n = self->textures->len;
    return self->columns && self->columns < n ? self->columns : (n ? n : 1);
}

static int caption_height(GtkWidget *widget) {
    PangoLayout *layout = gtk_widget_create_pango_layout(widget, "Mg");
    int h;
    pango_layout_get_pixel_size(layout, NULL, &h);
    g_object_unref(layout);
    return h + 2;
}

static int cell_for_width(OctiscopeImageStrip *self, int width) {
    guint cols = columns_of(self);
    int cell = (width - (int)(cols - 1) * GAP) / (int)cols;
    return CLAMP(cell, MIN_CELL, MAX_CELL);
}

static GtkSizeRequestMode get_request_mode(GtkWidget *widget) {
    return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                    int *minimum_baseline, int *natural_baseline) {
    OctiscopeImageStrip *self = OCTISCOPE_IMAGE_STRIP(widget);
    guint n = self->textures->len, cols = columns_of(self);
    if (orientation == GTK_ORIENTATION_HORIZONTAL) {
        *minimum = n ? (int)cols * MIN_CELL + (int)(cols - 1) * GAP : 0;
        *natural = n ? (int)cols * 112 + (int)(cols - 1) * GAP : 0;
    } else {
        if (!n) {
            *minimum = *natural = 0;
            return;
        }
        int cell = for_size > 0 ? cell_for_width(self, for_size) : 112;
        guint rows = (n + cols - 1) / cols;
        *minimum = *natural = (int)rows * (cell + caption_height(widget)) + (int)(rows - 1) * GAP;
    }
}

static void snapshot(GtkWidget *widget, GtkSnapshot *snap) {
    OctiscopeImageStrip *self = OCTISCOPE_IMAGE_STRIP(widget);
    guint n = self->textures->len, cols = columns_of(self);
    if (!n) return;
    int width = gtk_widget_get_width(widget), cell = cell_for_width(self, width), ch = caption_height(widget);
    GdkRGBA fg, accent = {0.21f, 0.52f, 0.89f, 1.0f};
    gtk_style_context_get_color(gtk_widget_get_style_context(widget), &fg);
    gtk_style_context_lookup_color(gtk_widget_get_style_context(widget), "accent_color", &accent);
    for (guint i = 0; i < n; i++) {
        int x = (int)(i % cols) * (cell + GAP), y = (int)(i / cols) * (cell + ch + GAP);
        graphene_rect_t r = GRAPHENE_RECT_INIT(x, y, cell, cell);
        gtk_snapshot_append_texture(snap, g_ptr_array_index(self->textures, i), &r);
        if ((int)i == self->selected) {
            GskRoundedRect outline;
            gsk_rounded_rect_init_from_rect(&outline, &GRAPHENE_RECT_INIT(x - 2, y - 2, cell + 4, cell + 4), 3);
            float widths[4] = {3, 3, 3, 3};
            GdkRGBA colors[4] = {accent, accent, accent, accent};
            gtk_snapshot_append_border(snap, &outline, widths, colors);
        }
        const char *caption = g_ptr_array_index(self->captions, i);
        if (caption && *caption) {
            PangoLayout *layout = gtk_widget_create_pango_layout(widget, caption);
            pango_layout_set_width(layout, cell * PANGO_SCALE);
            pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER);
            pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
            gtk_snapshot_save(snap);
            gtk_snapshot_translate(snap, &GRAPHENE_POINT_INIT(x, y + cell + 1));
            gtk_snapshot_append_layout(snap, layout, &fg);
            gtk_snapshot_restore(snap);
            g_object_unref(layout);
        }
    }
}

static void on_click(GtkGestureClick *gesture, int n_press, double px, double py, OctiscopeImageStrip *self) {
    GtkWidget *widget = GTK_WIDGET(self);
    guint n = self->textures->len, cols = columns_of(self);
    int cell = cell_for_width(self, gtk_widget_get_width(widget)), ch = caption_height(widget);
    int col = (int)px / (cell + GAP), row = (int)py / (cell + ch + GAP);
    guint i = (guint)row * cols + (guint)col;
    if (col < (int)cols && i < n) {
        octiscope_image_strip_set_selected(self, (int)i);
        g_signal_emit(self, signals[SIGNAL_ACTIVATED], 0, (int)i);
    }
}

static void dispose(GObject *object) {
    OctiscopeImageStrip *self = OCTISCOPE_IMAGE_STRIP(object);
    g_clear_pointer(&self->textures, g_ptr_array_unref);
    g_clear_pointer(&self->captions, g_ptr_array_unref);
    G_OBJECT_CLASS(octiscope_image_strip_parent_class)->dispose(object);
}

static void octiscope_image_strip_class_init(OctiscopeImageStripClass *klass) {
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dispose;
    widget_class->get_request_mode = get_request_mode;
    widget_class->measure = measure;
    widget_class->snapshot = snapshot;
    signals[SIGNAL_ACTIVATED] = g_signal_new("activated", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                             NULL, G_TYPE_NONE, 1, G_TYPE_INT);
    gtk_widget_class_set_css_name(widget_class, "imagestrip");
}

static void octiscope_image_strip_init(OctiscopeImageStrip *self) {
    self->textures = g_ptr_array_new_with_free_func(g_object_unref);
    self->captions = g_ptr_array_new_with_free_func(g_free);
    self->selected = -1;
    GtkGesture *click = gtk_gesture_click_new();
    g_signal_connect(click, "released", G_CALLBACK(on_click), self);
    gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(click));
}

GtkWidget *octiscope_image_strip_new(void) {
    return g_object_new(OCTISCOPE_TYPE_IMAGE_STRIP, NULL);
}

void octiscope_image_strip_set_images(OctiscopeImageStrip *self, guint n, GdkTexture *const *textures,
                                      const char *const *captions) {
    g_return_if_fail(OCTISCOPE_IS_IMAGE_STRIP(self));
    g_ptr_array_set_size(self->textures, 0);
    g_ptr_array_set_size(self->captions, 0);
    for (guint i = 0; i < n; i++) {
        g_ptr_array_add(self->textures, g_object_ref(textures[i]));
        g_ptr_array_add(self->captions, g_strdup(captions ? captions[i] : NULL));
    }
    if (self->selected >= (int)n) self->selected = -1;
    gtk_widget_queue_resize(GTK_WIDGET(self));
}

guint octiscope_image_strip_get_n_images(OctiscopeImageStrip *self) {
    g_return_val_if_fail(OCTISCOPE_IS_IMAGE_STRIP(self), 0);
    return self->textures->len;
}

GdkTexture *octiscope_image_strip_get_texture(OctiscopeImageStrip *self, guint i) {
    g_return_val_if_fail(OCTISCOPE_IS_IMAGE_STRIP(self), NULL);
    return i < self->textures->len ? g_ptr_array_index(self->textures, i) : NULL;
}

void octiscope_image_strip_set_selected(OctiscopeImageStrip *self, int i) {
    g_return_if_fail(OCTISCOPE_IS_IMAGE_STRIP(self));
    self->selected = i;
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

int octiscope_image_strip_get_selected(OctiscopeImageStrip *self) {
    g_return_val_if_fail(OCTISCOPE_IS_IMAGE_STRIP(self), -1);
    return self->selected;
}

void octiscope_image_strip_set_columns(OctiscopeImageStrip *self, guint columns) {
    g_return_if_fail(OCTISCOPE_IS_IMAGE_STRIP(self));
    self->columns = columns;
    gtk_widget_queue_resize(GTK_WIDGET(self));
}

GdkTexture *octiscope_texture_from_rgb(const guint8 *rgb, int w, int h) {
    g_autoptr(GBytes) bytes = g_bytes_new(rgb, (gsize)w * h * 3);
    return gdk_memory_texture_new(w, h, GDK_MEMORY_R8G8B8, bytes, (gsize)w * 3);
}
