/* A small chart drawn with cairo (see octiscope-plot.h). */
#include "octiscope-plot.h"

#include <math.h>

struct _OctiscopePlot {
    GtkWidget parent_instance;
    OctiscopePlotKind kind;
    int nseries, nx, current;
    double *values;
    GPtrArray *series_labels, *x_labels;
    double marker;
    char *marker_label, *x_label, *y_label;
    double span_lo, span_hi; /* LINES_LOG: decades shown when span_hi > span_lo, else the data's */
};

G_DEFINE_TYPE(OctiscopePlot, octiscope_plot, GTK_TYPE_WIDGET)

/* Distinct hues that read on light and dark backgrounds (GNOME palette). */
static const guint32 palette[] = {0x3584e4, 0xe66100, 0x2ec27e, 0xc01c28, 0x9141ac,
                                  0xf5c211, 0x865e3c, 0x1c71d8, 0x63452c, 0x77767b};

void octiscope_series_color(int i, GdkRGBA *out) {
    guint32 c = palette[(guint)i % G_N_ELEMENTS(palette)];
    *out = (GdkRGBA){((c >> 16) & 255) / 255.0f, ((c >> 8) & 255) / 255.0f, (c & 255) / 255.0f, 1.0f};
}

static void measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                    int *minimum_baseline, int *natural_baseline) {
    if (orientation == GTK_ORIENTATION_HORIZONTAL)
        *minimum = 240, *natural = 420;
    else
        *minimum = 160, *natural = 200;
}

static void show_text(cairo_t *cr, PangoLayout *layout, const char *text, double x, double y, double ax, double ay) {
    int w, h;
    pango_layout_set_text(layout, text, -1);
    pango_layout_get_pixel_size(layout, &w, &h);
    cairo_move_to(cr, x - ax * w, y - ay * h);
    pango_cairo_show_layout(cr, layout);
}

static void draw(OctiscopePlot *self, cairo_t *cr, int width, int height) {
    GtkWidget *widget = GTK_WIDGET(self);
    GdkRGBA fg;
    gtk_style_context_get_color(gtk_widget_get_style_context(widget), &fg);
    PangoLayout *layout = gtk_widget_create_pango_layout(widget, NULL);
    PangoFontDescription *font = pango_font_description_from_string("Sans 8");
    pango_layout_set_font_description(layout, font);
    pango_font_description_free(font);

    int legend_w = 0;
    for (int s = 0; s < self->nseries; s++) {
        int w;
        pango_layout_set_text(layout, g_ptr_array_index(self->series_labels, s), -1);
        pango_layout_get_pixel_size(layout, &w, NULL);
        legend_w = MAX(legend_w, w + 18);
    }
    /* bars carry their value above them: room for a line of text over the tallest */
    double left = 46, right = width - legend_w - 10, top = self->kind == OCTISCOPE_PLOT_BARS ? 22 : 8,
           bottom = height - 34;
    if (right - left < 60 || bottom - top < 40 || self->nx == 0) {
        g_object_unref(layout);
        return;
    }
    double y_lo = 0, y_hi = 1;
    if (self->kind == OCTISCOPE_PLOT_LINES_LOG) octiscope_plot_get_log_span(self, TRUE, &y_lo, &y_hi);
    gboolean columns = self->kind != OCTISCOPE_PLOT_LINES_LOG; /* one column per x */
    double ymax = 1.0;
    if (self->kind == OCTISCOPE_PLOT_BARS) {
        for (int i = 0; i < self->nseries * self->nx; i++)
            if (!isnan(self->values[i])) ymax = fmax(ymax, self->values[i]);
        double step = pow(10.0, floor(log10(ymax)));
        ymax = ceil(ymax / step) * step;
        y_hi = ymax;
    }
    double xstep = (right - left) / (columns ? self->nx : MAX(self->nx - 1, 1));
#define XPOS(i) (columns ? left + ((i) + 0.5) * xstep : left + (i) * xstep)
#define YPOS(v) (bottom - ((v) - y_lo) / (y_hi - y_lo) * (bottom - top))

    // grid and y ticks
    cairo_set_line_width(cr, 1);
    int decades = (int)(y_hi - y_lo), ystep = self->kind == OCTISCOPE_PLOT_LINES_LOG ? MAX(1, decades / 5) : 1;
    int nticks = self->kind == OCTISCOPE_PLOT_LINES_LOG ? decades : 4;
    for (int t = 0; t <= nticks; t += self->kind == OCTISCOPE_PLOT_LINES_LOG ? ystep : 1) {
        double v = self->kind == OCTISCOPE_PLOT_LINES_LOG ? y_lo + t : t / 4.0 * ymax;
        double y = YPOS(v);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.12);
        cairo_move_to(cr, left, y + 0.5), cairo_line_to(cr, right, y + 0.5), cairo_stroke(cr);
        char label[32];
        if (self->kind == OCTISCOPE_PLOT_LINES_LOG)
            g_snprintf(label, sizeof label, "1e%d", (int)v);
        else if (self->kind == OCTISCOPE_PLOT_BARS)
            g_snprintf(label, sizeof label, "%g", v);
        else
            g_snprintf(label, sizeof label, "%d%%", (int)(v * 100));
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.7);
        show_text(cr, layout, label, left - 4, y, 1.0, 0.5);
    }
    // x labels
    int every = MAX(1, (int)ceil(28.0 / xstep));
    for (int i = 0; i < self->nx; i += every) {
        const char *xl = self->x_labels ? g_ptr_array_index(self->x_labels, i) : NULL;
        char buf[16];
        if (!xl) g_snprintf(buf, sizeof buf, "%d", i), xl = buf;
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, i == self->current ? 1.0 : 0.7);
        show_text(cr, layout, xl, XPOS(i), bottom + 3, 0.5, 0.0);
    }
    if (self->x_label) {
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.7);
        show_text(cr, layout, self->x_label, (left + right) / 2, height - 1, 0.5, 1.0);
    }
    // the block shown and the break
    if (self->current >= 0 && self->current < self->nx) {
        GdkRGBA accent = {0.21f, 0.52f, 0.89f, 1.0f};
        gtk_style_context_lookup_color(gtk_widget_get_style_context(widget), "accent_color", &accent);
        cairo_set_source_rgba(cr, accent.red, accent.green, accent.blue, 0.18);
        double w = columns ? xstep : 8;
        cairo_rectangle(cr, XPOS(self->current) - w / 2, top, w, bottom - top);
        cairo_fill(cr);
    }
    if (self->marker >= 0) {
        double x = columns ? XPOS(self->marker) + xstep / 2 : XPOS(self->marker);
        double dash[] = {4, 3};
        cairo_set_dash(cr, dash, 2, 0);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.6);
        cairo_move_to(cr, x + 0.5, top), cairo_line_to(cr, x + 0.5, bottom), cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        if (self->marker_label) show_text(cr, layout, self->marker_label, x + 3, top, 0.0, 0.0);
    }
    // data
    if (self->kind == OCTISCOPE_PLOT_LINES_LOG) {
        cairo_set_line_width(cr, 1.6);
        for (int s = 0; s < self->nseries; s++) {
            GdkRGBA c;
            octiscope_series_color(s, &c);
            gdk_cairo_set_source_rgba(cr, &c);
            gboolean pen = FALSE;
            for (int i = 0; i < self->nx; i++) {
                double v = self->values[s * self->nx + i];
                if (isnan(v)) {
                    pen = FALSE;
                    continue;
                }
                double y = YPOS(log10(fmax(v, 1e-12)));
                if (pen)
                    cairo_line_to(cr, XPOS(i), y);
                else
                    cairo_move_to(cr, XPOS(i), y);
                pen = TRUE;
            }
            cairo_stroke(cr);
            for (int i = 0; i < self->nx; i++) {
                double v = self->values[s * self->nx + i];
                if (isnan(v)) continue;
                cairo_arc(cr, XPOS(i), YPOS(log10(fmax(v, 1e-12))), 2.2, 0, 2 * G_PI);
                cairo_fill(cr);
            }
        }
    } else if (self->kind == OCTISCOPE_PLOT_BARS) {
        double bw = xstep * 0.8 / MAX(self->nseries, 1);
        for (int i = 0; i < self->nx; i++)
            for (int k = 0; k < self->nseries; k++) {
                double v = self->values[k * self->nx + i];
                if (isnan(v)) continue;
                GdkRGBA c;
                octiscope_series_color(k, &c);
                gdk_cairo_set_source_rgba(cr, &c);
                double x0 = XPOS(i) - xstep * 0.4 + k * bw, y1 = YPOS(fmax(v, 0.0));
                cairo_rectangle(cr, x0 + 1, y1, bw - 2, bottom - y1);
                cairo_fill(cr);
                char text[32];
                g_snprintf(text, sizeof text, "%.1f", v);
                cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.85);
                show_text(cr, layout, text, x0 + bw / 2, y1 - 1, 0.5, 1.0);
            }
    } else {
        for (int i = 0; i < self->nx; i++) {
            double acc = 0;
            for (int s = 0; s < self->nseries; s++) {
                double v = self->values[s * self->nx + i];
                if (isnan(v) || v <= 0) continue;
                GdkRGBA c;
                octiscope_series_color(s, &c);
                gdk_cairo_set_source_rgba(cr, &c);
                double y0 = YPOS(acc), y1 = YPOS(fmin(acc + v, 1.0));
                cairo_rectangle(cr, XPOS(i) - xstep * 0.35, y1, xstep * 0.7, y0 - y1);
                cairo_fill(cr);
                acc += v;
            }
        }
    }
    // axis and legend
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.5);
    cairo_move_to(cr, left + 0.5, top), cairo_line_to(cr, left + 0.5, bottom + 0.5), cairo_line_to(cr, right, bottom + 0.5);
    cairo_stroke(cr);
    for (int s = 0; s < self->nseries; s++) {
        GdkRGBA c;
        octiscope_series_color(s, &c);
        double y = top + s * 14;
        gdk_cairo_set_source_rgba(cr, &c);
        cairo_rectangle(cr, right + 12, y + 3, 10, 8);
        cairo_fill(cr);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.9);
        show_text(cr, layout, g_ptr_array_index(self->series_labels, s), right + 26, y, 0.0, 0.0);
    }
    if (self->y_label) {
        cairo_save(cr);
        cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.7);
        cairo_translate(cr, 0, (top + bottom) / 2);
        cairo_rotate(cr, -G_PI / 2);
        show_text(cr, layout, self->y_label, 0, 0, 0.5, 0.0);
        cairo_restore(cr);
    }
#undef XPOS
#undef YPOS
    g_object_unref(layout);
}

static void snapshot(GtkWidget *widget, GtkSnapshot *snap) {
    OctiscopePlot *self = OCTISCOPE_PLOT(widget);
    int w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
    if (!self->nseries || w <= 0 || h <= 0) return;
    cairo_t *cr = gtk_snapshot_append_cairo(snap, &GRAPHENE_RECT_INIT(0, 0, w, h));
    draw(self, cr, w, h);
    cairo_destroy(cr);
}

static void finalize(GObject *object) {
    OctiscopePlot *self = OCTISCOPE_PLOT(object);
    g_free(self->values);
    g_clear_pointer(&self->series_labels, g_ptr_array_unref);
    g_clear_pointer(&self->x_labels, g_ptr_array_unref);
    g_free(self->marker_label), g_free(self->x_label), g_free(self->y_label);
    G_OBJECT_CLASS(octiscope_plot_parent_class)->finalize(object);
}

static void octiscope_plot_class_init(OctiscopePlotClass *klass) {
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->finalize = finalize;
    widget_class->measure = measure;
    widget_class->snapshot = snapshot;
    gtk_widget_class_set_css_name(widget_class, "plot");
}

static void octiscope_plot_init(OctiscopePlot *self) {
    self->series_labels = g_ptr_array_new_with_free_func(g_free);
    self->marker = -1;
    self->current = -1;
}

GtkWidget *octiscope_plot_new(void) {
    return g_object_new(OCTISCOPE_TYPE_PLOT, NULL);
}

gboolean octiscope_plot_get_log_span(OctiscopePlot *self, gboolean shown, double *lo_out, double *hi_out) {
    g_return_val_if_fail(OCTISCOPE_IS_PLOT(self), FALSE);
    if (shown && self->span_hi > self->span_lo) {
        *lo_out = self->span_lo, *hi_out = self->span_hi;
        return TRUE;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < self->nseries * self->nx; i++) {
        double v = self->values[i];
        if (isnan(v)) continue;
        double l = log10(fmax(v, 1e-12));
        lo = fmin(lo, l), hi = fmax(hi, l);
    }
    gboolean any = isfinite(lo);
    if (!any) lo = -8, hi = 0;
    *lo_out = floor(lo), *hi_out = ceil(hi);
    if (*hi_out - *lo_out < 1) *hi_out = *lo_out + 1;
    return any;
}

void octiscope_plot_set_log_span(OctiscopePlot *self, double lo, double hi) {
    g_return_if_fail(OCTISCOPE_IS_PLOT(self));
    self->span_lo = lo, self->span_hi = hi;
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

void octiscope_plot_set_data(OctiscopePlot *self, OctiscopePlotKind kind, int nseries, int nx, const double *values,
                             const char *const *series_labels, const char *const *x_labels) {
    g_return_if_fail(OCTISCOPE_IS_PLOT(self));
    self->kind = kind;
    self->span_lo = self->span_hi = 0; /* new data: its own span until told otherwise */
    self->nseries = nseries > 0 && nx > 0 ? nseries : 0;
    self->nx = self->nseries ? nx : 0;
    g_free(self->values);
    self->values = self->nseries ? g_memdup2(values, sizeof(double) * nseries * nx) : NULL;
    g_ptr_array_set_size(self->series_labels, 0);
    for (int s = 0; s < self->nseries; s++) g_ptr_array_add(self->series_labels, g_strdup(series_labels[s]));
    g_clear_pointer(&self->x_labels, g_ptr_array_unref);
    if (x_labels && self->nx) {
        self->x_labels = g_ptr_array_new_with_free_func(g_free);
        for (int i = 0; i < nx; i++) g_ptr_array_add(self->x_labels, g_strdup(x_labels[i]));
    }
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

void octiscope_plot_set_marker(OctiscopePlot *self, double x, const char *label) {
    g_return_if_fail(OCTISCOPE_IS_PLOT(self));
    self->marker = x;
    g_free(self->marker_label);
    self->marker_label = g_strdup(label);
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

void octiscope_plot_set_current(OctiscopePlot *self, int x) {
    g_return_if_fail(OCTISCOPE_IS_PLOT(self));
    self->current = x;
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

void octiscope_plot_set_axis_labels(OctiscopePlot *self, const char *x_label, const char *y_label) {
    g_return_if_fail(OCTISCOPE_IS_PLOT(self));
    g_free(self->x_label), g_free(self->y_label);
    self->x_label = g_strdup(x_label);
    self->y_label = g_strdup(y_label);
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

char *octiscope_plot_to_csv(OctiscopePlot *self) {
    g_return_val_if_fail(OCTISCOPE_IS_PLOT(self), NULL);
    GString *s = g_string_new("x");
    for (int k = 0; k < self->nseries; k++) g_string_append_printf(s, ",%s", (char *)g_ptr_array_index(self->series_labels, k));
    g_string_append_c(s, '\n');
    for (int i = 0; i < self->nx; i++) {
        if (self->x_labels)
            g_string_append(s, g_ptr_array_index(self->x_labels, i));
        else
            g_string_append_printf(s, "%d", i);
        for (int k = 0; k < self->nseries; k++) g_string_append_printf(s, ",%.9g", self->values[k * self->nx + i]);
        g_string_append_c(s, '\n');
    }
    return g_string_free(s, FALSE);
}
