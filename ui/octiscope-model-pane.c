/* One model's column of the inspector (see octiscope-model-pane.h). */
#include "octiscope-model-pane.h"

#include "background.h"
#include <math.h>

#include "group.h"
#include "octiscope-export.h"
#include "octiscope-image-strip.h"
#include "octiscope-plot.h"

/* Feature and attention maps are shown at about this many pixels. */
#define MAP_PIXELS 112

static const char *const copy_captions[8] = {"e", "r", "r²", "r³", "m", "mr", "mr²", "mr³"};

/* What a worker hands back: the analysis and every block's maps. */
typedef struct {
    octiscope_analysis a;
    guint8 *computed, *pulled; /* (nblocks, 8, n*n*3) */
} pane_result;

static void pane_result_free(pane_result *r) {
    if (!r) return;
    octiscope_analysis_free(&r->a);
    g_free(r->computed), g_free(r->pulled);
    g_free(r);
}

struct _OctiscopeModelPane {
    AdwBin parent_instance;

    GtkLabel *kind_badge, *title_label, *subtitle_label, *status_label, *computed_heading, *pulled_verdict,
        *attention_heading;
    GtkSpinner *spinner;
    GtkWidget *results_box, *energy_box, *top5_box;
    GtkGrid *top5_grid;
    OctiscopeImageStrip *computed_strip, *pulled_strip, *attention_strip;
    OctiscopePlot *eq_plot, *energy_plot;

    OctiscopeModelEntry *entry;
    GCancellable *cancellable;
    pane_result *result;
    char *error;
    int block, copy;
    octiscope_cmap cmap;
};

G_DEFINE_TYPE(OctiscopeModelPane, octiscope_model_pane, ADW_TYPE_BIN)

enum { SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- showing a result ------------------------------------------------------------ */

static GdkTexture *map_texture(const guint8 *rgb, int n) {
    int f = MAX(1, (MAP_PIXELS + n - 1) / n);
    g_autofree guint8 *big = g_malloc((gsize)n * f * n * f * 3);
    octiscope_rgb_upscale(big, rgb, n, n, f);
    return octiscope_texture_from_rgb(big, n * f, n * f);
}

static void show_maps(OctiscopeModelPane *self) {
    const octiscope_analysis *a = &self->result->a;
    int N = a->n * a->n, b = self->block;
    GdkTexture *comp[8], *pull[8];
    const guint8 *pm = self->result->pulled + (size_t)b * 8 * N * 3;
    int worst = 0;
    double mean = 0;
    for (int g = 0; g < 8; g++) {
        comp[g] = map_texture(self->result->computed + ((size_t)b * 8 + g) * N * 3, a->n);
        pull[g] = map_texture(pm + (size_t)g * N * 3, a->n);
        for (int i = 0; g > 0 && i < N * 3; i++) {
            int d = abs(pm[g * N * 3 + i] - pm[i]);
            worst = MAX(worst, d);
            mean += d;
        }
    }
    mean /= 7.0 * N * 3;
    octiscope_image_strip_set_images(self->computed_strip, 8, comp, copy_captions);
    octiscope_image_strip_set_images(self->pulled_strip, 8, pull, copy_captions);
    for (int g = 0; g < 8; g++) g_object_unref(comp[g]), g_object_unref(pull[g]);

    g_autofree char *heading = b == 0 ? g_strdup("Features as computed, f(g·x), after the patch embedding")
                                      : g_strdup_printf("Features as computed, f(g·x), after block %d (%s)", b - 1,
                                                        octiscope_block_is_octic(a, b) ? "octic" : "standard");
    gtk_label_set_label(self->computed_heading, heading);
    g_autofree char *verdict = NULL;
    if (worst <= 1)
        verdict = g_strdup_printf("The eight pulled-back maps agree (largest difference %d/255): equivariant here.", worst);
    else
        verdict = g_strdup_printf("The pulled-back maps differ: up to %d/255, %.1f/255 on average.", worst, mean);
    gtk_label_set_label(self->pulled_verdict, verdict);
    octiscope_plot_set_current(self->eq_plot, b);
    octiscope_plot_set_current(self->energy_plot, octiscope_block_is_octic(a, b) ? b : -1);
}

static void show_attention(OctiscopeModelPane *self) {
    const octiscope_analysis *a = &self->result->a;
    int N = a->n * a->n, blk = MAX(self->block, 1) - 1;
    GdkTexture **tex = g_new(GdkTexture *, a->H);
    char **captions = g_new0(char *, a->H + 1);
    g_autofree guint8 *rgb = g_malloc((gsize)N * 3);
    for (int h = 0; h < a->H; h++) {
        octiscope_cmap_apply(rgb, self->cmap, octiscope_attention_row(a, blk, self->copy, h), N);
        tex[h] = map_texture(rgb, a->n);
        captions[h] = g_strdup_printf("head %d", h); /* from 0, as the blocks */
    }
    octiscope_image_strip_set_images(self->attention_strip, a->H, tex, (const char *const *)captions);
    octiscope_image_strip_set_columns(self->attention_strip, 8);
    for (int h = 0; h < a->H; h++) g_object_unref(tex[h]);
    g_free(tex);
    g_strfreev(captions);
    g_autofree char *heading =
        g_strdup_printf("Class-token attention per head in block %d, copy %s", blk, copy_captions[self->copy]);
    gtk_label_set_label(self->attention_heading, heading);
}

static void show_plots(OctiscopeModelPane *self) {
    const octiscope_analysis *a = &self->result->a;
    int nb = a->nblocks;
    // equivariance: the seven elements other than e (whose error is 0 by definition)
    double *v = g_new(double, 7 * nb);
    const char *labels[7];
    char **xl = g_new0(char *, nb + 1);
    for (int g = 1; g < 8; g++) {
        labels[g - 1] = copy_captions[g];
        for (int i = 0; i < nb; i++) v[(g - 1) * nb + i] = a->eq_err[i * 8 + g];
    }
    for (int i = 0; i < nb; i++) xl[i] = i == 0 ? g_strdup("emb") : g_strdup_printf("%d", i - 1); /* after blocks.N */
    octiscope_plot_set_data(self->eq_plot, OCTISCOPE_PLOT_LINES_LOG, 7, nb, v, labels, (const char *const *)xl);
    octiscope_plot_set_axis_labels(self->eq_plot, "block output", "relative error");
    octiscope_plot_set_marker(self->eq_plot, a->kind == OCTIC_KIND_STANDARD ? -1 : a->break_layer,
                              a->kind == OCTIC_KIND_STANDARD ? NULL : "break");
    g_free(v);
    // energy: octic outputs 0..break_layer
    gtk_widget_set_visible(self->energy_box, a->kind != OCTIC_KIND_STANDARD);
    if (a->kind != OCTIC_KIND_STANDARD) {
        int no = a->break_layer + 1;
        double *e = g_new(double, OCTISCOPE_NIRREPS * no);
        for (int k = 0; k < OCTISCOPE_NIRREPS; k++)
            for (int i = 0; i < no; i++) e[k * no + i] = a->energy[i * OCTISCOPE_NIRREPS + k];
        octiscope_plot_set_data(self->energy_plot, OCTISCOPE_PLOT_STACKED, OCTISCOPE_NIRREPS, no, e,
                                (const char *const *)octiscope_irrep_names, (const char *const *)xl);
        octiscope_plot_set_axis_labels(self->energy_plot, "octic block output", "share of energy");
        g_free(e);
    }
    g_strfreev(xl);
}

static void show_top5(OctiscopeModelPane *self) {
    const octiscope_analysis *a = &self->result->a;
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->top5_grid)))) gtk_grid_remove(self->top5_grid, child);
    gtk_widget_set_visible(self->top5_box, a->probs != NULL);
    if (!a->probs) return;
    for (int g = 0; g < 8; g++) {
        int idx[5];
        float p[5];
        octiscope_top_k(a, g, 5, idx, p);
        GtkWidget *name = gtk_label_new(copy_captions[g]);
        gtk_label_set_xalign(GTK_LABEL(name), 0);
        gtk_widget_add_css_class(name, "dim-label");
        gtk_grid_attach(self->top5_grid, name, 0, g, 1, 1);
        for (int r = 0; r < 5 && idx[r] >= 0; r++) {
            g_autofree char *text = g_strdup_printf("#%d %.1f%%", idx[r], 100.0 * p[r]);
            GtkWidget *l = gtk_label_new(text);
            gtk_label_set_xalign(GTK_LABEL(l), 0);
            gtk_widget_add_css_class(l, "numeric");
            gtk_grid_attach(self->top5_grid, l, 1 + r, g, 1, 1);
        }
    }
}

static void show_entry(OctiscopeModelPane *self) {
    if (!self->entry) {
        gtk_label_set_label(self->title_label, "No model");
        gtk_label_set_label(self->subtitle_label, "");
        gtk_label_set_label(self->kind_badge, "—");
        return;
    }
    const octic_config *c = octiscope_model_entry_get_config(self->entry);
    gtk_label_set_label(self->title_label, octiscope_model_entry_get_title(self->entry));
    const char *kinds[] = {"standard", "hybrid", "invariant"};
    if (octiscope_model_entry_get_state(self->entry) != OCTISCOPE_MODEL_READY) {
        /* not read (yet, or at all): no kind or size to show, only what is known */
        for (int k = 0; k < 3; k++) gtk_widget_remove_css_class(GTK_WIDGET(self->kind_badge), kinds[k]);
        gtk_label_set_label(self->kind_badge, "—");
        gtk_label_set_label(self->subtitle_label, octiscope_model_entry_get_state(self->entry) == OCTISCOPE_MODEL_FAILED
                                                      ? "not a model that could be read"
                                                      : "reading…");
        return;
    }
    const char *kind = octic_kind_name(c->kind);
    gtk_label_set_label(self->kind_badge, kind);
    for (int k = 0; k < 3; k++) gtk_widget_remove_css_class(GTK_WIDGET(self->kind_badge), kinds[k]);
    gtk_widget_add_css_class(GTK_WIDGET(self->kind_badge), kind);
    g_autofree char *sub = NULL;
    if (c->kind == OCTIC_KIND_STANDARD)
        sub = g_strdup_printf("%s · %d blocks · width %d · %.2f M parameters", c->family == OCTIC_FAMILY_DEIT ? "DeiT III" : "DINOv2",
                              c->depth, c->dim, octiscope_model_entry_get_params(self->entry) / 1e6);
    else
        sub = g_strdup_printf("%s · %d blocks, the first %d octic · width %d · %.2f M parameters",
                              c->family == OCTIC_FAMILY_DEIT ? "DeiT III" : "DINOv2", c->depth, c->break_layer, c->dim,
                              octiscope_model_entry_get_params(self->entry) / 1e6);
    gtk_label_set_label(self->subtitle_label, sub);
}

static void show_status(OctiscopeModelPane *self, const char *text, gboolean error) {
    gtk_widget_set_visible(GTK_WIDGET(self->status_label), text != NULL);
    gtk_label_set_label(self->status_label, text ? text : "");
    if (error)
        gtk_widget_add_css_class(GTK_WIDGET(self->status_label), "error");
    else
        gtk_widget_remove_css_class(GTK_WIDGET(self->status_label), "error");
}

/* ---- running ----------------------------------------------------------------------- */

typedef struct {
    OctiscopeModelEntry *entry;
    GBytes *image;
    int S;
    volatile int cancel;
} run_job;

static void run_job_free(run_job *job) {
    g_object_unref(job->entry);
    g_bytes_unref(job->image);
    g_free(job);
}

static void on_cancelled(GCancellable *cancellable, gpointer flag) {
    *(volatile int *)flag = 1;
}

static void run_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable) {
    octiscope_background_lower_priority(); /* a pool thread of background work only */
    run_job *job = data;
    gulong handler = g_cancellable_connect(cancellable, G_CALLBACK(on_cancelled), (gpointer)&job->cancel, NULL);
    GError *error = NULL;
    pane_result *r = NULL;
    octic_model *m = octiscope_model_entry_lock_model(job->entry, &error);
    if (m) {
        r = g_new0(pane_result, 1);
        octic_status st = octiscope_analysis_run(m, g_bytes_get_data(job->image, NULL), job->S, &r->a, &job->cancel,
                                                 NULL, NULL);
        octiscope_model_entry_unlock_model(job->entry);
        if (!st) {
            // every block's maps now, so that the block slider only swaps pictures
            size_t per = (size_t)8 * r->a.n * r->a.n * 3;
            r->computed = g_malloc(per * r->a.nblocks);
            r->pulled = g_malloc(per * r->a.nblocks);
            for (int b = 0; b < r->a.nblocks && !st; b++) {
                if (job->cancel) st = octic_fail(OCTIC_ERR_ARG, "cancelled");
                if (!st) st = octiscope_block_maps(&r->a, b, r->computed + b * per, r->pulled + b * per);
            }
        }
        if (st) {
            g_set_error(&error, OCTISCOPE_ENGINE_ERROR, st, "%s: %s", octiscope_model_entry_get_path(job->entry),
                        octic_last_error());
            pane_result_free(r);
            r = NULL;
        }
    }
    g_cancellable_disconnect(cancellable, handler);
    if (r)
        g_task_return_pointer(task, r, (GDestroyNotify)pane_result_free);
    else
        g_task_return_error(task, error);
}

static void run_done(GObject *source, GAsyncResult *res, gpointer user_data) {
    GCancellable *cancellable = g_task_get_cancellable(G_TASK(res));
    g_autoptr(GError) error = NULL;
    pane_result *r = g_task_propagate_pointer(G_TASK(res), &error);
    OctiscopeModelPane *self = user_data; /* alive: the task holds a reference */
    if (g_cancellable_is_cancelled(cancellable) || cancellable != self->cancellable) {
        pane_result_free(r); /* replaced by a newer run */
        return;
    }
    g_clear_object(&self->cancellable);
    gtk_spinner_stop(self->spinner);
    g_clear_pointer(&self->error, g_free);
    show_entry(self); /* the model may have been read meanwhile, or failed */
    if (!r) {
        self->error = g_strdup(error->message);
        show_status(self, error->message, TRUE);
        gtk_widget_set_visible(self->results_box, FALSE);
    } else {
        self->result = r;
        self->block = CLAMP(self->block, 0, r->a.nblocks - 1);
        show_status(self, NULL, FALSE);
        show_plots(self);
        show_maps(self);
        show_attention(self);
        show_top5(self);
        gtk_widget_set_visible(self->results_box, TRUE);
    }
    g_signal_emit(self, signals[SIGNAL_FINISHED], 0);
}

/* Stops what runs, drops the results and shows entry's name; with a
 * message, that message in place of results (nothing to run). */
static void reset(OctiscopeModelPane *self, OctiscopeModelEntry *entry, const char *message) {
    if (self->cancellable) g_cancellable_cancel(self->cancellable);
    g_clear_object(&self->cancellable);
    g_clear_pointer(&self->result, pane_result_free);
    g_clear_pointer(&self->error, g_free);
    if (entry != self->entry) {
        g_clear_object(&self->entry);
        if (entry) self->entry = g_object_ref(entry);
    }
    show_entry(self);
    gtk_widget_set_visible(self->results_box, FALSE);
    if (message) {
        gtk_spinner_stop(self->spinner);
        show_status(self, message, FALSE);
    }
}

void octiscope_model_pane_show_message(OctiscopeModelPane *self, OctiscopeModelEntry *entry, const char *message) {
    g_return_if_fail(OCTISCOPE_IS_MODEL_PANE(self) && message);
    reset(self, entry, message);
}

void octiscope_model_pane_run(OctiscopeModelPane *self, OctiscopeModelEntry *entry, GBytes *image, int S) {
    g_return_if_fail(OCTISCOPE_IS_MODEL_PANE(self));
    if (!entry || !image) {
        reset(self, entry, entry ? "Open an image to see this model's features." : "Choose a model.");
        return;
    }
    reset(self, entry, NULL);
    show_status(self, "Running the eight transformed copies through the model…", FALSE);
    gtk_spinner_start(self->spinner);
    self->cancellable = g_cancellable_new();
    run_job *job = g_new0(run_job, 1);
    job->entry = g_object_ref(entry);
    job->image = g_bytes_ref(image);
    job->S = S;
    GTask *task = g_task_new(self, self->cancellable, run_done, self);
    g_task_set_task_data(task, job, (GDestroyNotify)run_job_free);
    g_task_set_return_on_cancel(task, FALSE);
    g_task_run_in_thread(task, run_thread);
    g_object_unref(task);
}

OctiscopeModelEntry *octiscope_model_pane_get_entry(OctiscopeModelPane *self) {
    g_return_val_if_fail(OCTISCOPE_IS_MODEL_PANE(self), NULL);
    return self->entry;
}

gboolean octiscope_model_pane_is_running(OctiscopeModelPane *self) {
    g_return_val_if_fail(OCTISCOPE_IS_MODEL_PANE(self), FALSE);
    return self->cancellable != NULL;
}

const octiscope_analysis *octiscope_model_pane_get_analysis(OctiscopeModelPane *self) {
    g_return_val_if_fail(OCTISCOPE_IS_MODEL_PANE(self), NULL);
    return self->result ? &self->result->a : NULL;
}

const char *octiscope_model_pane_get_error(OctiscopeModelPane *self) {
    g_return_val_if_fail(OCTISCOPE_IS_MODEL_PANE(self), NULL);
    return self->error;
}

void octiscope_model_pane_set_block(OctiscopeModelPane *self, int block) {
    g_return_if_fail(OCTISCOPE_IS_MODEL_PANE(self));
    self->block = MAX(block, 0);
    if (!self->result) return;
    self->block = MIN(self->block, self->result->a.nblocks - 1);
    show_maps(self);
    show_attention(self);
}

void octiscope_model_pane_set_copy(OctiscopeModelPane *self, int g) {
    g_return_if_fail(OCTISCOPE_IS_MODEL_PANE(self));
    self->copy = CLAMP(g, 0, 7);
    if (self->result) show_attention(self);
}

void octiscope_model_pane_set_cmap(OctiscopeModelPane *self, octiscope_cmap cmap) {
    g_return_if_fail(OCTISCOPE_IS_MODEL_PANE(self));
    self->cmap = cmap;
    if (self->result) show_attention(self);
}

OctiscopePlot *octiscope_model_pane_get_equivariance_plot(OctiscopeModelPane *self) { return self->eq_plot; }

GtkWidget *octiscope_model_pane_get_pulled_strip(OctiscopeModelPane *self) {
    return GTK_WIDGET(self->pulled_strip);
}

GtkWidget *octiscope_model_pane_get_computed_strip(OctiscopeModelPane *self) {
    return GTK_WIDGET(self->computed_strip);
}

/* ---- export ------------------------------------------------------------------------ */

static gboolean engine_ok(octic_status st, GError **error) {
    if (!st) return TRUE;
    g_set_error(error, OCTISCOPE_ENGINE_ERROR, st, "%s", octic_last_error());
    return FALSE;
}

gboolean octiscope_model_pane_export(OctiscopeModelPane *self, const char *dir, const char *prefix, GError **error) {
    g_return_val_if_fail(OCTISCOPE_IS_MODEL_PANE(self), FALSE);
    if (!self->result) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED, "%s: nothing to export yet", prefix);
        return FALSE;
    }
    const octiscope_analysis *a = &self->result->a;
    struct {
        const char *name;
        GtkWidget *widget;
    } pictures[] = {{"computed", GTK_WIDGET(self->computed_strip)},
                    {"pulled", GTK_WIDGET(self->pulled_strip)},
                    {"equivariance", GTK_WIDGET(self->eq_plot)},
                    {"energy", a->kind != OCTIC_KIND_STANDARD ? GTK_WIDGET(self->energy_plot) : NULL},
                    {"attention", GTK_WIDGET(self->attention_strip)}};
    for (size_t i = 0; i < G_N_ELEMENTS(pictures); i++) {
        if (!pictures[i].widget) continue;
        g_autofree char *file = g_strdup_printf("%s-%s.png", prefix, pictures[i].name);
        g_autofree char *path = g_build_filename(dir, file, NULL);
        if (!octiscope_widget_save_png(pictures[i].widget, path, error)) return FALSE;
    }
    g_autofree char *eq = g_strdup_printf("%s/%s-equivariance.csv", dir, prefix);
    if (!engine_ok(octiscope_write_equivariance_csv(a, eq), error)) return FALSE;
    if (a->kind != OCTIC_KIND_STANDARD) {
        g_autofree char *en = g_strdup_printf("%s/%s-energy.csv", dir, prefix);
        if (!engine_ok(octiscope_write_energy_csv(a, en), error)) return FALSE;
    }
    if (a->probs) {
        g_autofree char *t5 = g_strdup_printf("%s/%s-top5.csv", dir, prefix);
        if (!engine_ok(octiscope_write_top5_csv(a, t5), error)) return FALSE;
    }
    return TRUE;
}

/* ---- class ------------------------------------------------------------------------- */

static void dispose(GObject *object) {
    OctiscopeModelPane *self = OCTISCOPE_MODEL_PANE(object);
    if (self->cancellable) g_cancellable_cancel(self->cancellable);
    g_clear_object(&self->cancellable);
    g_clear_object(&self->entry);
    g_clear_pointer(&self->result, pane_result_free);
    g_clear_pointer(&self->error, g_free);
    gtk_widget_dispose_template(GTK_WIDGET(self), OCTISCOPE_TYPE_MODEL_PANE);
    G_OBJECT_CLASS(octiscope_model_pane_parent_class)->dispose(object);
}

static void octiscope_model_pane_class_init(OctiscopeModelPaneClass *klass) {
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    G_OBJECT_CLASS(klass)->dispose = dispose;
    g_type_ensure(OCTISCOPE_TYPE_IMAGE_STRIP);
    g_type_ensure(OCTISCOPE_TYPE_PLOT);
    gtk_widget_class_set_template_from_resource(widget_class, "/org/octiscope/Octiscope/ui/octiscope-model-pane.ui");
#define CHILD(name) gtk_widget_class_bind_template_child(widget_class, OctiscopeModelPane, name)
    CHILD(kind_badge);
    CHILD(title_label);
    CHILD(subtitle_label);
    CHILD(status_label);
    CHILD(computed_heading);
    CHILD(pulled_verdict);
    CHILD(attention_heading);
    CHILD(spinner);
    CHILD(results_box);
    CHILD(energy_box);
    CHILD(top5_box);
    CHILD(top5_grid);
    CHILD(computed_strip);
    CHILD(pulled_strip);
    CHILD(attention_strip);
    CHILD(eq_plot);
    CHILD(energy_plot);
#undef CHILD
    signals[SIGNAL_FINISHED] =
        g_signal_new("finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void octiscope_model_pane_init(OctiscopeModelPane *self) {
    gtk_widget_init_template(GTK_WIDGET(self));
}
