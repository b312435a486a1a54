/* A small chart drawn with cairo: lines on a log scale (the equivariance
 * error per block for each group element) or stacked bars of shares (the
 * energy per irrep of each octic block). A vertical marker shows the break. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum {
    OCTISCOPE_PLOT_LINES_LOG, /* values[s][x] > 0 on a log10 axis; NaN: no point */
    OCTISCOPE_PLOT_STACKED,   /* values[s][x] shares in [0, 1] stacked per x */
    OCTISCOPE_PLOT_BARS,      /* values[s][x] >= 0 as bars side by side per x (NaN: none), values printed */
} OctiscopePlotKind;

#define OCTISCOPE_TYPE_PLOT (octiscope_plot_get_type())
G_DECLARE_FINAL_TYPE(OctiscopePlot, octiscope_plot, OCTISCOPE, PLOT, GtkWidget)

GtkWidget *octiscope_plot_new(void);
/* values: nseries x nx (copied); series and x labels (copied; x labels may be
 * NULL: the x index). nseries = 0 clears. */
void octiscope_plot_set_data(OctiscopePlot *self, OctiscopePlotKind kind, int nseries, int nx, const double *values,
                             const char *const *series_labels, const char *const *x_labels);
/* A vertical marker at x (-1: none), with a label. */
void octiscope_plot_set_marker(OctiscopePlot *self, double x, const char *label);
/* Highlights one x (the block shown), -1: none. */
void octiscope_plot_set_current(OctiscopePlot *self, int x);
void octiscope_plot_set_axis_labels(OctiscopePlot *self, const char *x_label, const char *y_label);
/* LINES_LOG: the decades on the y axis, [lo, hi] (log10): those set with
 * set_log_span when shown is TRUE and one is set, else those of the data;
 * FALSE when there is no data. */
gboolean octiscope_plot_get_log_span(OctiscopePlot *self, gboolean shown, double *lo, double *hi);
/* Shows the decades [lo, hi] (two charts side by side on one scale); lo >=
 * hi: the data's own. Reset by set_data. */
void octiscope_plot_set_log_span(OctiscopePlot *self, double lo, double hi);
/* The data as CSV (x label, then one column per series). */
char *octiscope_plot_to_csv(OctiscopePlot *self);

/* The colour of series i of n, shared by every chart and legend. */
void octiscope_series_color(int i, GdkRGBA *out);

G_END_DECLS
